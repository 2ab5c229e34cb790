#include <map>
#include <mutex>
#include <regex>
#include <set>

#include "demo.h"
#include "server_fixture.h"

namespace cl::server::test {
namespace {

using ServerSync = ServerTest;

std::string case_json_on(Device& d, const std::string& id) {
    auto c = d.store->load_case(id);
    return c ? case_to_json(*c) : std::string("<missing>");
}

TEST_F(ServerSync, TwoDevicesConvergeWithRetriesAndDuplicates) {
    std::string t1 = make_user("amy", "agent", {"ops"});
    std::string t2 = make_user("ben", "agent", {"ops"});
    Device a = make_device("a", "amy", t1), b = make_device("b", "ben", t2);
    int64_t now = wall_ms();
    std::string c1 = create_case(a, "ops", "Zoë Ångström 山田", now - 5000);
    record(a, c1, "ops", "note.added", R"({"text":"first note \u2713"})", now - 4000);
    ASSERT_TRUE(sync(a));
    ASSERT_TRUE(sync(b));
    // Concurrent edits of the same case on both devices, offline.
    std::string ea = record(a, c1, "ops", "field.set", R"({"field":"priority","value":"high"})", now - 3000);
    std::string eb = record(b, c1, "ops", "field.set", R"({"field":"priority","value":"urgent"})", now - 2990);
    auto sa_ev = a.store->find_event(ea), sb_ev = b.store->find_event(eb);
    ASSERT_TRUE(sa_ev && sb_ev);
    const std::string winner = event_before(sa_ev->event, sb_ev->event) ? "urgent" : "high";
    record(b, c1, "ops", "note.added", R"({"text":"from b"})", now - 2980);
    record(a, c1, "ops", "status.changed", R"({"to":"in_progress"})", now - 2970);
    std::string c2 = create_case(b, "ops", "Second client", now - 2000);

    // A push whose response was lost: send the same batch twice; the second is all duplicates.
    auto req = a.client->next_push(100);
    ASSERT_TRUE(req);
    auto first = client(t1).post("/api/v1/sync/push", push_request_to_json(*req));
    ASSERT_EQ(first.status, 200);
    auto again = client(t1).post("/api/v1/sync/push", push_request_to_json(*req));
    ASSERT_EQ(again.status, 200);
    auto r1 = push_response_from_json(first.body), r2 = push_response_from_json(again.body);
    ASSERT_TRUE(r1.ok() && r2.ok());
    EXPECT_EQ(r1->accepted, 2);
    EXPECT_EQ(r2->accepted, 0);
    EXPECT_EQ(r2->duplicates, 2);
    EXPECT_EQ(r1->cursor, r2->cursor) << "a retried push changes nothing";
    int64_t events_before = server_events();

    ASSERT_TRUE(sync(b));
    ASSERT_TRUE(sync(a));  // a's pending events are re-pushed (duplicates) and acknowledged
    ASSERT_TRUE(sync(b));
    EXPECT_EQ(server_events(), events_before + 4);  // b: 2 edits + 1 new case, + its ref.assigned
    EXPECT_EQ(a.store->pending_count(), 0);
    EXPECT_EQ(b.store->pending_count(), 0);

    for (const auto& id : {c1, c2}) {
        std::string sa = case_json_on(a, id), sb = case_json_on(b, id), ss = server_case_json(id);
        EXPECT_EQ(sa, sb) << id;
        EXPECT_EQ(sa, ss) << id;
    }
    auto ca = a.store->load_case(c1);
    ASSERT_TRUE(ca);
    EXPECT_EQ(ca->priority, winner) << case_json_on(a, c1);  // later (clock, device, counter) wins
    EXPECT_EQ(ca->client.name, "Zoë Ångström 山田");
    EXPECT_TRUE(std::regex_match(ca->reference, std::regex(R"(FF-\d{4}-\d{4,})"))) << ca->reference;
    // the case is reachable by id and by its canonical reference
    auto by_ref = client(t1).get("/api/v1/cases/" + ca->reference);
    EXPECT_EQ(by_ref.status, 200);
    auto by_id = client(t1).get("/api/v1/cases/" + c1);
    EXPECT_EQ(by_id.status, 200);
    EXPECT_EQ(by_ref.body, by_id.body);
    EXPECT_NE(by_id.body.find("\"sla\""), std::string::npos);
    EXPECT_NE(by_id.body.find("\"events\""), std::string::npos);
}

TEST_F(ServerSync, ThreeDevicesDifferentOrdersConverge) {
    std::vector<std::string> tokens = {make_user("u1", "agent", {"t"}), make_user("u2", "agent", {"t"}),
                                       make_user("u3", "manager", {"t"})};
    std::vector<Device> devs;
    for (int i = 0; i < 3; ++i) devs.push_back(make_device("d" + std::to_string(i), "u" + std::to_string(i + 1), tokens[i]));
    int64_t now = wall_ms();
    std::string c = create_case(devs[0], "t", "Shared client", now - 10000);
    ASSERT_TRUE(sync(devs[0]));
    ASSERT_TRUE(sync(devs[1]));
    ASSERT_TRUE(sync(devs[2]));
    for (int i = 0; i < 3; ++i) {
        record(devs[i], c, "t", "note.added", "{\"text\":\"note " + std::to_string(i) + "\"}", now - 5000 + i);
        record(devs[i], c, "t", "field.set", "{\"field\":\"title\",\"value\":\"title " + std::to_string(i) + "\"}", now - 4000 - i);
    }
    ASSERT_TRUE(sync(devs[2]));
    ASSERT_TRUE(sync(devs[0]));
    ASSERT_TRUE(sync(devs[1]));
    for (auto& d : devs) ASSERT_TRUE(sync(d));
    std::string s0 = case_json_on(devs[0], c);
    EXPECT_EQ(s0, case_json_on(devs[1], c));
    EXPECT_EQ(s0, case_json_on(devs[2], c));
    EXPECT_EQ(s0, server_case_json(c));
    auto cs = devs[0].store->load_case(c);
    ASSERT_TRUE(cs);
    EXPECT_EQ(cs->notes.size(), 3u);
    EXPECT_EQ(cs->title.rfind("title ", 0), 0u);  // one of the concurrent edits won, the same everywhere
}

TEST_F(ServerSync, CanonicalReferencesUniqueUnderConcurrentFirstPushes) {
    const int kThreads = 6, kCases = 5;
    std::vector<Device> devs;
    for (int i = 0; i < kThreads; ++i) {
        std::string name = "w" + std::to_string(i);
        devs.push_back(make_device(name, name, make_user(name, "agent", {"team"})));
        for (int k = 0; k < kCases; ++k) create_case(devs.back(), "team", "Client " + std::to_string(k), wall_ms() - 1000);
    }
    std::vector<std::thread> threads;
    std::mutex mu;
    std::vector<int> statuses;
    for (int i = 0; i < kThreads; ++i)
        threads.emplace_back([&, i] {
            auto req = devs[i].client->next_push(100);
            auto r = client(devs[i].token).post("/api/v1/sync/push", push_request_to_json(*req));
            std::lock_guard<std::mutex> lk(mu);
            statuses.push_back(r.status);
        });
    for (auto& t : threads) t.join();
    for (int s : statuses) EXPECT_EQ(s, 200);
    auto list = client(admin_token_).get("/api/v1/cases?limit=1000&sort=reference");
    ASSERT_EQ(list.status, 200);
    auto d = parse(list.body);
    const json::Value* cases = json::member(d.root(), "cases");
    ASSERT_TRUE(cases && cases->IsArray());
    ASSERT_EQ(cases->Size(), static_cast<rapidjson::SizeType>(kThreads * kCases));
    std::set<std::string> refs;
    std::set<int> numbers;
    for (auto& c : cases->GetArray()) {
        std::string ref;
        ASSERT_TRUE(json::get(c, "reference", ref));
        std::smatch m;
        ASSERT_TRUE(std::regex_match(ref, m, std::regex(R"(FF-(\d{4})-(\d{4,}))"))) << ref;
        refs.insert(ref);
        numbers.insert(std::stoi(m[2]));
    }
    EXPECT_EQ(refs.size(), static_cast<size_t>(kThreads * kCases)) << "duplicate FF references";
    EXPECT_EQ(*numbers.begin(), 1);
    EXPECT_EQ(*numbers.rbegin(), kThreads * kCases) << "gaps in the FF sequence";
}

class ServerRetention : public ServerTest {};

TEST_F(ServerRetention, PurgeTombstoneRefusalLegalHoldDryRunAudit) {
    std::string t = make_user("rita", "agent", {"ret"});
    Device d = make_device("r", "rita", t);
    Device other = make_device("o", "rita", login("rita"));
    int64_t old = wall_ms() - 2LL * 365 * 86400000;  // two years ago
    auto close_case = [&](const std::string& id, int64_t at) {
        record(d, id, "ret", "status.changed", R"({"to":"in_progress"})", at + 1000);
        record(d, id, "ret", "resolved", R"({"resolution":"done"})", at + 2000);
        record(d, id, "ret", "status.changed", R"({"to":"closed"})", at + 3000);
    };
    std::string expired = create_case(d, "ret", "Old Client", old);
    close_case(expired, old);
    std::string held = create_case(d, "ret", "Held Client", old + 10);
    close_case(held, old + 10);
    std::string open_case = create_case(d, "ret", "Open Client", old + 20);
    std::string recent = create_case(d, "ret", "New Client", wall_ms() - 1000);
    close_case(recent, wall_ms() - 1000);
    ASSERT_TRUE(sync(d));
    ASSERT_TRUE(sync(other));
    int64_t events_before = server_events();
    auto admin = client(admin_token_);

    // dry run: reports, changes nothing
    auto dry = admin.post("/api/v1/admin/retention/run?dry_run=1", "");
    ASSERT_EQ(dry.status, 200) << dry.body;
    EXPECT_NE(dry.body.find(expired), std::string::npos);
    EXPECT_NE(dry.body.find(held), std::string::npos);
    EXPECT_EQ(dry.body.find(open_case), std::string::npos);
    EXPECT_EQ(dry.body.find(recent), std::string::npos);
    EXPECT_EQ(server_events(), events_before);
    EXPECT_EQ(admin.get("/api/v1/cases/" + expired).status, 200);

    // legal hold keeps a case
    auto hold = admin.post("/api/v1/admin/cases/" + held + "/legal-hold", R"({"hold":true,"reason":"litigation"})");
    ASSERT_EQ(hold.status, 200) << hold.body;
    EXPECT_NE(hold.body.find("\"legal_hold\":true"), std::string::npos) << hold.body;
    EXPECT_EQ(admin.post("/api/v1/admin/cases/nope/legal-hold", R"({"hold":true})").status, 404);
    EXPECT_EQ(admin.post("/api/v1/admin/cases/" + held + "/legal-hold", R"({"hold":"yes"})").status, 400);

    auto run = admin.post("/api/v1/admin/retention/run", "");
    ASSERT_EQ(run.status, 200) << run.body;
    auto rd = parse(run.body);
    const json::Value* purged = json::member(rd.root(), "purged");
    const json::Value* kept = json::member(rd.root(), "held");
    ASSERT_TRUE(purged && purged->IsArray() && kept && kept->IsArray());
    EXPECT_EQ(purged->Size(), 1u);
    EXPECT_EQ(kept->Size(), 1u);
    EXPECT_EQ(admin.get("/api/v1/cases/" + expired).status, 404);
    EXPECT_EQ(admin.get("/api/v1/cases/" + held).status, 200);
    EXPECT_EQ(admin.get("/api/v1/cases/" + open_case).status, 200);
    EXPECT_EQ(admin.get("/api/v1/cases/" + recent).status, 200);

    // the tombstone reaches a pulling device, which drops the case
    auto pull = client(t).get("/api/v1/sync/pull?after=0");
    ASSERT_EQ(pull.status, 200);
    auto page = pull_response_from_json(pull.body);
    ASSERT_TRUE(page.ok());
    bool found = false;
    for (auto& ts : page->tombstones) found = found || ts.case_id == expired;
    EXPECT_TRUE(found);
    EXPECT_EQ(pull.body.find("Old Client"), std::string::npos) << "tombstones carry no personal data";
    ASSERT_TRUE(sync(other));
    EXPECT_FALSE(other.store->load_case(expired).has_value());
    EXPECT_TRUE(other.store->is_purged(expired));

    // a device that was offline pushes a late event for the purged case: refused "purged"
    Event late;
    late.device = "late-device";
    late.counter = 1;
    late.clock = Hlc{wall_ms(), 0};
    late.case_id = expired;
    late.team = "ret";
    late.author = "rita";
    late.type = "note.added";
    late.body = R"({"text":"late"})";
    PushRequest req;
    req.device = late.device;
    req.events = {late};
    auto pr = client(t).post("/api/v1/sync/push", push_request_to_json(req));
    ASSERT_EQ(pr.status, 200);
    auto presp = push_response_from_json(pr.body);
    ASSERT_TRUE(presp.ok());
    ASSERT_EQ(presp->rejected.size(), 1u);
    EXPECT_EQ(presp->rejected[0].code, "purged");
    EXPECT_EQ(admin.get("/api/v1/cases/" + expired).status, 404);

    // audit trail
    auto audit = admin.get("/api/v1/admin/audit?action=case.purge");
    EXPECT_NE(audit.body.find(expired), std::string::npos) << audit.body;
    EXPECT_EQ(audit.body.find(held), std::string::npos);
    EXPECT_EQ(audit.body.find("Old Client"), std::string::npos);
    auto runs = admin.get("/api/v1/admin/audit?action=retention.run");
    EXPECT_NE(runs.body.find("dry-run"), std::string::npos);
    EXPECT_NE(runs.body.find("\"purged\":1"), std::string::npos) << runs.body;
    EXPECT_NE(admin.get("/api/v1/admin/audit?action=case.legal_hold").body.find(held), std::string::npos);
}

// Files are stored by content, so two cases can hold the same one: a purge deletes the files
// only its case held and keeps the shared one.
TEST_F(ServerRetention, PurgeDeletesTheFilesNoOtherCaseHolds) {
    std::string t = make_user("fay", "agent", {"files"});
    Device d = make_device("f", "fay", t);
    auto upload = [&](const std::string& data) {
        auto up = client(t).post("/api/v1/attachments", data, "text/plain", {{"X-Filename", "note.txt"}});
        EXPECT_EQ(up.status, 201) << up.body;
        std::string sha;
        EXPECT_TRUE(json::get(parse(up.body).root(), "sha256", sha));
        return sha;
    };
    auto attach = [&](const std::string& id, const std::string& sha, int64_t at) {
        record(d, id, "files", "attachment.added", R"({"name":"note.txt","type":"text/plain","sha256":")" + sha + R"(","size":5})", at);
    };
    const std::string only = upload("only the old case holds this"), shared = upload("both cases hold this");
    int64_t old = wall_ms() - 2LL * 365 * 86400000;
    std::string gone = create_case(d, "files", "Old Client", old);
    attach(gone, only, old + 1000);
    attach(gone, shared, old + 2000);
    record(d, gone, "files", "status.changed", R"({"to":"closed"})", old + 3000);
    std::string kept = create_case(d, "files", "New Client", wall_ms() - 2000);
    attach(kept, shared, wall_ms() - 1000);
    ASSERT_TRUE(sync(d));
    auto admin = client(admin_token_);
    ASSERT_EQ(admin.get("/api/v1/attachments/" + only).status, 200);

    auto run = admin.post("/api/v1/admin/retention/run", "");
    ASSERT_EQ(run.status, 200) << run.body;
    EXPECT_NE(run.body.find(gone), std::string::npos) << run.body;
    EXPECT_EQ(run.body.find(kept), std::string::npos) << run.body;
    EXPECT_EQ(admin.get("/api/v1/cases/" + gone).status, 404);
    EXPECT_EQ(admin.get("/api/v1/attachments/" + only).status, 404);
    auto still = admin.get("/api/v1/attachments/" + shared);
    EXPECT_EQ(still.status, 200);
    EXPECT_EQ(still.body, "both cases hold this");
}

TEST_F(ServerRetention, SubjectExportAndErasure) {
    std::string t = make_user("sam", "agent", {"g"});
    Device d = make_device("s", "sam", t);
    std::string c1 = create_case(d, "g", "Jane Roe", wall_ms() - 5000);
    std::string c2 = create_case(d, "g", "jane roe", wall_ms() - 4000);
    std::string c3 = create_case(d, "g", "John Doe", wall_ms() - 3000);
    const int64_t resolved_at = wall_ms() - 2000;  // c1 resolved, not closed: its closure time is this
    record(d, c1, "g", "status.changed", R"({"to":"in_progress"})", resolved_at - 500);
    record(d, c1, "g", "status.changed", R"({"to":"resolved"})", resolved_at);
    ASSERT_TRUE(sync(d));
    auto admin = client(admin_token_);
    auto ex = admin.get("/api/v1/admin/subjects/export?client=Jane%20Roe");
    ASSERT_EQ(ex.status, 200) << ex.body;
    EXPECT_NE(ex.body.find(c1), std::string::npos);
    EXPECT_NE(ex.body.find(c2), std::string::npos);
    EXPECT_EQ(ex.body.find(c3), std::string::npos);
    EXPECT_EQ(admin.get("/api/v1/admin/subjects/export").status, 400);
    auto er = admin.post("/api/v1/admin/subjects/erase", R"({"client":"Jane Roe"})");
    ASSERT_EQ(er.status, 200) << er.body;
    {
        // each erased case is reported with the closure time its tombstone keeps
        auto doc = json::parse(er.body);
        ASSERT_TRUE(doc.ok()) << er.body;
        std::map<std::string, int64_t> closed;
        const json::Value* erased = json::member(doc->root(), "erased");
        ASSERT_TRUE(erased && erased->IsArray()) << er.body;
        for (const auto& item : erased->GetArray()) {
            std::string id;
            int64_t at = -1;
            ASSERT_TRUE(json::get(item, "case", id) && json::get(item, "closed_at", at)) << er.body;
            closed[id] = at;
        }
        EXPECT_EQ(closed, (std::map<std::string, int64_t>{{c1, resolved_at}, {c2, 0}})) << er.body;
    }
    EXPECT_EQ(admin.get("/api/v1/cases/" + c1).status, 404);
    EXPECT_EQ(admin.get("/api/v1/cases/" + c2).status, 404);
    EXPECT_EQ(admin.get("/api/v1/cases/" + c3).status, 200);
    ASSERT_TRUE(sync(d));
    EXPECT_FALSE(d.store->load_case(c1).has_value());
    auto audit = admin.get("/api/v1/admin/audit");
    EXPECT_NE(audit.body.find("subject.erase"), std::string::npos);
    EXPECT_NE(audit.body.find("subject.export"), std::string::npos);
    EXPECT_EQ(audit.body.find("Jane"), std::string::npos) << "no personal data in the audit log";
}

}  // namespace
// The demo's cases (scripts/run.sh --demo): every event in the past and none refused. Events
// from hours ahead made a device stamp its own actions in the future (it keeps the newest clock
// it has seen), and the server refused those over 24 h ahead as clock skew.
TEST_F(ServerSync, DemoDataIsAllInThePastAndFullyAccepted) {
    auto r = seed_demo(*app_, "demo", 300);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->rejected, 0) << r->first_rejection;
    EXPECT_EQ(r->cases, 301);
    Caller admin{"admin", "admin", {}};
    int64_t after = 0, seen = 0;
    const int64_t now = app_->now();
    for (;;) {
        PullResponse p = app_->sync().pull(admin, after, 1000);
        for (const auto& se : p.events) {
            ++seen;
            EXPECT_LE(se.event.clock.wall_ms, now) << se.event.id() << " " << se.event.type;
        }
        after = p.cursor;
        if (!p.more) break;
    }
    EXPECT_GE(seen, r->events);
}

}  // namespace cl::server::test
