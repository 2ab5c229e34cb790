// Writes the seed corpora of the fuzz targets from valid examples produced by the real code
// (the sync harness of tests/sync): events of every type, push bodies, pull pages with events
// and tombstones, settings, and an export file. Usage: make_seeds <tests/fuzz/corpus>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "domain/report.h"
#include "domain/retention.h"
#include "domain/sla.h"
#include "sync_harness.h"

using namespace cl;
using namespace cl::test;

namespace {
std::string g_root;
void put(const std::string& target, const std::string& name, const std::string& text) {
    std::string dir = g_root + "/" + target;
    ::mkdir(g_root.c_str(), 0755);
    ::mkdir(dir.c_str(), 0755);
    std::ofstream(dir + "/seed-" + name + ".json", std::ios::binary) << text;
}
std::string must(const Expected<Event>& e) {
    if (!e) { std::fprintf(stderr, "seed setup: %s\n", e.error().message.c_str()); std::exit(1); }
    return e->id();
}
}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) { std::fprintf(stderr, "usage: make_seeds <corpus dir>\n"); return 2; }
    g_root = argv[1];
    FakeClock clock;
    ServerPeer server(clock);
    ClientPeer a(clock, "alice", "north");
    ClientPeer b(clock, "bob", "north");

    // One case that sees every event type a device may write.
    std::string c1 = a.create_case(R"({"kind":"feedback","client":{"name":"Ann Client","contact":"ann@example.com","channel":"email"},)"
                                   R"("description":"Late delivery","category":"complaint","priority":"high","urgent":true,"title":"Late"})");
    clock.now += 60000;
    must(a.record(c1, ev::kFieldSet, R"({"field":"priority","value":"urgent","base":""})"));
    must(a.record(c1, ev::kNoteAdded, R"({"text":"Called the client \u00e9 \"quoted\""})"));
    must(a.record(c1, ev::kStatusChanged, R"({"to":"in_progress","from":"new"})"));
    must(a.record(c1, ev::kAssigned, R"({"assignee":"alice","base":""})"));
    must(a.record(c1, ev::kContactLogged, R"({"step":"acknowledged","channel":"phone","note":"ok"})"));
    must(a.record(c1, ev::kSurveyRecorded, R"({"csat":2,"nps":3,"comment":"slow","suggestion":"faster","channel":"email","incentive":false,"tags":["delay","courier"]})"));
    must(a.record(c1, ev::kEscalated, R"({"reason":"complaint with low score","to":"manager"})"));
    must(a.record(c1, ev::kAttachmentAdded, R"({"name":"photo.jpg","type":"image/jpeg","size":1234,"sha256":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"})"));
    must(a.record(c1, ev::kResolved, R"({"resolution":"refund issued"})"));
    must(a.record(c1, ev::kFollowUpDone, R"({"satisfied":true,"note":"happy now","channel":"phone"})"));
    std::string c2 = a.create_case(R"({"kind":"improvement","title":"Better courier","description":"switch","due_at":1719792000000})");
    must(a.record(c2, ev::kImprovementLinked, json::Writer().begin_object().kv("case", c1).end_object().take()));
    std::string c3 = a.create_case(R"({"kind":"aftercare","client":{"name":"Bo"},"service_completed_at":1717100000000})");
    must(a.record(c3, ev::kContactLogged, R"({"step":"thank_you","channel":"sms"})"));

    // event: every event of alice's device, one file each.
    {
        auto pending = a.store->pending_events();
        int i = 0;
        for (const auto& e : *pending) put("fuzz_event", std::to_string(i++) + "-" + e.type, event_to_json(e));
    }
    // import: alice's export file (before anything is acknowledged), and an empty one.
    put("fuzz_import", "export", a.sync->export_pending());
    put("fuzz_import", "empty", R"({"format":"closeloop-pending","version":1,"device":"d1","events":[]})");
    // push: the whole batch, a single event, and a batch with a malformed event.
    {
        auto req = a.sync->next_push(1000);
        put("fuzz_push", "batch", push_request_to_json(*req));
        PushRequest one = *req;
        one.events.resize(1);
        put("fuzz_push", "one", push_request_to_json(one));
        std::string mixed = push_request_to_json(one);
        mixed.insert(mixed.find("\"events\":[") + 10, R"({"device":"x","counter":0},)");
        put("fuzz_push", "malformed-event", mixed);
    }
    synchronize(server, {&a, &b});
    // bob edits offline, then a conflicting field edit and a status change.
    must(b.record(c1, ev::kFieldSet, R"({"field":"category","value":"negative","base":"complaint"})"));
    must(b.record(c1, ev::kStatusChanged, R"({"to":"closed","from":"resolved"})"));
    put("fuzz_push", "bob", push_request_to_json(*b.sync->next_push(1000)));
    synchronize(server, {&a, &b});

    // pull: pages from the server as a fresh reader sees them, before and after retention.
    ClientPeer reader(clock, "carol", "north");
    {
        PullResponse p = server.server->pull(reader.caller, 0, 5);
        put("fuzz_pull", "page1", pull_response_to_json(p));
        PullResponse p2 = server.server->pull(reader.caller, p.cursor, 5000);
        put("fuzz_pull", "page2", pull_response_to_json(p2));
    }
    clock.now += 400LL * 86400000;  // > 12 months later: c1 (closed) is due
    RetentionPolicy policy;
    auto out = server.server->run_retention(policy, false);
    if (out.purged.empty()) { std::fprintf(stderr, "seed setup: nothing purged\n"); return 1; }
    {
        PullResponse p = server.server->pull(reader.caller, 0, 5000);
        put("fuzz_pull", "after-retention", pull_response_to_json(p));
    }
    put("fuzz_pull", "empty", R"({"events":[],"tombstones":[],"cursor":0,"more":false})");

    // settings: calendars, policies and retention policies.
    put("fuzz_settings", "calendar-default", calendar_to_json(BusinessCalendar{}));
    BusinessCalendar cet;
    cet.tz = "CET-1CEST,M3.5.0,M10.5.0/3";
    cet.holidays = {"2024-12-25", "2024-12-26", "2025-01-01"};
    cet.day_start_minute = 8 * 60;
    cet.day_end_minute = 16 * 60 + 30;
    put("fuzz_settings", "calendar-cet", calendar_to_json(cet));
    BusinessCalendar us;
    us.tz = "EST5EDT,M3.2.0,M11.1.0";
    us.work_days_mask = 0x7F;
    put("fuzz_settings", "calendar-us", calendar_to_json(us));
    put("fuzz_settings", "policy-default", policy_to_json(SlaPolicy{}));
    SlaPolicy tight;
    tight.respond_business_days = 1;
    tight.pause_when_awaiting_client = false;
    put("fuzz_settings", "policy-tight", policy_to_json(tight));
    put("fuzz_settings", "retention-default", retention_to_json(RetentionPolicy{}));
    RetentionPolicy anon;
    anon.action = "anonymise";
    anon.months_after_closure["improvement"] = 36;
    put("fuzz_settings", "retention-anonymise", retention_to_json(anon));
    std::printf("seeds written to %s\n", g_root.c_str());
    return 0;
}
