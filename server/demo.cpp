#include "demo.h"

#include <cstdlib>
#include <map>
#include <random>

#include "core/json.h"

namespace cl::server {

Event make_event(const std::string& device, uint64_t counter, int64_t wall_ms, const std::string& case_id,
                 const std::string& team, const std::string& author, const std::string& type, const std::string& body) {
    Event e;
    e.device = device;
    e.counter = counter;
    e.clock = Hlc{wall_ms, 0};
    e.case_id = case_id;
    e.team = team;
    e.author = author;
    e.type = type;
    e.body = body;
    return e;
}

namespace {

struct Sample {
    const char* client;
    const char* service;
    const char* comment;
    int csat, nps;
    const char* category;
};

const Sample kSamples[] = {
    {"Hannah Becker", "boiler service", "Technician was on time and explained everything.", 5, 10, "positive"},
    {"Oliver Grant", "window replacement", "Installation fine but the crew left dust in the hallway.", 3, 6, "constructive"},
    {"Sofia Marin", "annual HVAC check", "Great service, would recommend.", 5, 9, "positive"},
    {"Lukas Weber", "roof repair", "Leak is back after two weeks. Very disappointed.", 1, 2, "complaint"},
    {"Amira Haddad", "kitchen plumbing", "Quick and friendly.", 4, 8, "positive"},
    {"Jonas Keller", "solar panel cleaning", "Could you send a reminder a day before the visit?", 4, 7, "suggestion"},
    {"Emma Laurent", "heat pump install", "The invoice was higher than the quote.", 2, 4, "negative"},
    {"Noah Fischer", "chimney sweep", "All good.", 5, 9, "positive"},
    {"Mia Novak", "gutter cleaning", "Arrived late without calling.", 2, 5, "negative"},
    {"Liam O'Connor", "electrical inspection", "Clear report, thanks. Online booking would help.", 4, 8, "suggestion"},
    {"Zoe Schmidt", "water heater repair", "Fixed on the first visit.", 5, 10, "positive"},
    {"Ethan Rossi", "garden irrigation", "Sprinkler zone 3 still not working.", 2, 3, "complaint"},
};

const char* kChannels[] = {"email", "sms", "phone", "in_person", "online_form"};

}  // namespace

Expected<DemoResult> seed_demo(App& app, const std::string& team, int count) {
    DemoResult result;
    const char* env = std::getenv("CLOSELOOP_DEMO_PASSWORD");
    result.password = (env && *env) ? env : random_hex(8);
    struct DemoUser { const char* name; const char* role; };
    const DemoUser demo_users[] = {{"alice", "agent"}, {"bob", "agent"}, {"maria", "manager"}, {"quinn", "analyst"}};
    bool any_new = false;
    for (auto& du : demo_users) {
        bool exists;
        {
            std::lock_guard<std::recursive_mutex> lk(app.db_mutex());
            exists = app.users().find(du.name).has_value();
        }
        if (exists) continue;
        User u;
        u.id = du.name;
        u.role = du.role;
        u.teams = {team};
        Status s = app.add_user(u, result.password, "demo");
        if (!s) return s.error();
        any_new = true;
    }
    if (!any_new) result.password.clear();

    std::mt19937 rng(42 + static_cast<unsigned>(app.now() / 86400000));
    const int64_t now = app.now();
    const int64_t day = 86400000LL, hour = 3600000LL;
    std::string device = "demo-" + random_hex(4);
    // Each user pushes from a device of their own (the server ties a device id to its first user).
    std::map<std::string, uint64_t> counters;
    auto device_of = [&](const std::string& author) { return device + "-" + author; };
    std::map<std::string, std::vector<Event>> by_author;
    for (int i = 0; i < count; ++i) {
        const Sample& s = kSamples[i % (sizeof kSamples / sizeof kSamples[0])];
        const char* agent = (i % 2) ? "bob" : "alice";
        std::string case_id = "c-" + device + "-" + std::to_string(i + 1);
        // Every event in the past: a device adopts the newest clock it has seen, and an event from the
        // future made the app stamp its own actions hours ahead (and the server refuses > 24 h).
        int64_t done = now - static_cast<int64_t>(rng() % 90) * day - static_cast<int64_t>(4 + rng() % 8) * hour;
        int64_t t = done + hour;
        const char* channel = kChannels[rng() % 5];
        std::string kind = (i % 5 == 4) ? "feedback" : "aftercare";
        bool negative = std::string(s.category) == "negative" || std::string(s.category) == "complaint";
        auto add = [&](const std::string& author, int64_t at, const char* type, const std::string& body) {
            by_author[author].push_back(make_event(device_of(author), ++counters[author], at, case_id, team, author, type, body));
        };
        json::Writer w;
        w.begin_object().kv("kind", kind).key("client").begin_object().kv("name", s.client)
            .kv("contact", std::string(s.client).substr(0, 1) + "." + std::to_string(1000 + i) + "@example.org")
            .kv("channel", channel).end_object()
            .kv("title", std::string(s.service) + " - " + s.client)
            .kv("description", std::string("Aftercare for ") + s.service)
            .kv("priority", negative ? "high" : "normal").kv("assignee", agent)
            .kv("service_completed_at", done).end_object();
        add(agent, t, ev::kCaseCreated, w.take());
        ++result.cases;
        int age_days = static_cast<int>((now - done) / day);
        if (age_days >= 1 || i % 3) add(agent, t + 2 * hour, ev::kContactLogged, R"({"step":"thank_you","channel":")" + std::string(channel) + "\"}");
        if (age_days < 2) continue;  // fresh cases still waiting for the thank-you / survey (steps up to 46 h on)
        add(agent, t + 20 * hour, ev::kContactLogged, R"({"step":"survey_sent","channel":"email"})");
        json::Writer sv;
        sv.begin_object().kv("csat", s.csat).kv("nps", s.nps).kv("comment", s.comment).kv("channel", "online_form").end_object();
        add(agent, t + 40 * hour, ev::kSurveyRecorded, sv.take());
        add(agent, t + 41 * hour, ev::kFieldSet, std::string(R"({"field":"category","value":")") + s.category + "\"}");
        add(agent, t + 42 * hour, ev::kStatusChanged, R"({"to":"in_progress","from":"new"})");
        if (negative) {
            add(agent, t + 43 * hour, ev::kEscalated, R"({"reason":"negative feedback with a low score","to":"maria"})");
            add("maria", t + 45 * hour, ev::kNoteAdded, R"({"text":"Called the client, scheduled a revisit."})");
        }
        if (age_days > 10 || (!negative && age_days > 4)) {
            add(agent, t + 60 * hour, ev::kResolved,
                negative ? R"({"resolution":"Revisit done, issue fixed, goodwill discount applied."})"
                         : R"({"resolution":"Thanked the client; no action needed."})");
            add(agent, t + 100 * hour, ev::kFollowUpDone, R"({"satisfied":true,"channel":"phone"})");
            if (age_days > 30) add(agent, t + 110 * hour, ev::kStatusChanged, R"({"to":"closed","from":"resolved"})");
        }
    }
    // One improvement action from the recurring themes.
    {
        std::string case_id = "c-" + device + "-imp";
        json::Writer w;
        w.begin_object().kv("kind", "improvement").kv("title", "Call clients when running late")
            .kv("description", "Recurring theme: late arrivals without notice. Dispatch calls ahead when a visit slips by 15 min.")
            .kv("assignee", "maria").kv("due_at", now + 14 * day).end_object();
        by_author["maria"].push_back(make_event(device_of("maria"), ++counters["maria"], now - day, case_id, team, "maria", ev::kCaseCreated, w.take()));
        ++result.cases;
    }
    for (auto& [author, events] : by_author) {
        Caller c;
        c.user_id = author;
        c.role = author == "maria" ? "manager" : "agent";
        c.teams = {team};
        for (size_t off = 0; off < events.size(); off += 1000) {
            PushRequest req;
            req.device = device_of(author);
            req.events.assign(events.begin() + static_cast<long>(off),
                              events.begin() + static_cast<long>(std::min(events.size(), off + 1000)));
            PushResponse resp;
            {
                std::lock_guard<std::recursive_mutex> lk(app.db_mutex());
                resp = app.sync().push(c, req);
            }
            result.events += resp.accepted;
            result.rejected += static_cast<int>(resp.rejected.size());
            if (!resp.rejected.empty() && result.first_rejection.empty())
                result.first_rejection = resp.rejected[0].code + ": " + resp.rejected[0].reason;
        }
    }
    return result;
}

}  // namespace cl::server
