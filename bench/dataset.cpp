#include "dataset.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <tuple>

#include "core/json.h"

namespace clbench {
namespace {

struct Rng {  // splitmix64: identical sequence on every platform and compiler
    uint64_t s;
    uint64_t next() {
        uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    uint64_t below(uint64_t n) { return next() % n; }
    bool chance(int percent) { return below(100) < static_cast<uint64_t>(percent); }
    template <class T> const T& pick(const std::vector<T>& v) { return v[below(v.size())]; }
};

const std::vector<std::string> kWords = {
    "service", "delivery", "late",    "friendly", "staff",   "invoice", "refund",   "install", "follow",  "call",
    "quality", "repair",   "warranty", "booking", "online",  "form",    "waiting",  "helpful", "manager", "price",
    "clean",   "schedule", "missed",  "appointment", "parts", "replace", "survey",  "happy",   "unhappy", "issue"};

std::string words(Rng& r, int n) {
    std::string s;
    for (int i = 0; i < n; ++i) {
        if (i) s += ' ';
        s += r.pick(kWords);
    }
    return s;
}

constexpr int kTeams = 8, kDevicesPerTeam = 4, kAuthorsPerTeam = 3;
const std::vector<std::string> kKinds = {"aftercare", "feedback", "follow_up"};
const std::vector<std::string> kCategories = {"positive", "negative", "suggestion", "constructive", "complaint"};
const std::vector<std::string> kPriorities = {"low", "normal", "high", "urgent"};
const std::vector<std::string> kChannels = {"email", "sms", "phone", "in_person", "online_form"};
const std::vector<std::string> kSteps = {"thank_you", "survey_sent", "acknowledged", "responded", "follow_up_contact"};

struct Draft {
    int64_t at;
    int case_index;
    int seq;  // position within its case
    int team;
    std::string type, body;
};

std::string team_name(int t) { return "team-" + std::to_string(t); }
std::string author_name(Rng& r, int t) { return "u-" + std::to_string(t) + "-" + std::to_string(r.below(kAuthorsPerTeam)); }

}  // namespace

Dataset generate(const DatasetSpec& spec) {
    Dataset d;
    d.spec = spec;
    Rng r{spec.seed};
    const int n_cases = std::max(1, spec.cases);
    const int n_events = std::max(n_cases, spec.events);
    std::vector<int> extra(n_cases, 0);
    for (int i = n_cases; i < n_events; ++i) extra[r.below(n_cases)]++;

    std::vector<Draft> drafts;
    drafts.reserve(n_events);
    std::vector<std::string> authors_of_draft;
    authors_of_draft.reserve(n_events);
    const int64_t year_ms = 366LL * 24 * 3600 * 1000 - 31LL * 24 * 3600 * 1000;
    for (int c = 0; c < n_cases; ++c) {
        char id[32];
        std::snprintf(id, sizeof id, "c-%07d", c);
        d.case_ids.push_back(id);
        const int team = static_cast<int>(r.below(kTeams));
        int64_t t = kEpoch2024 + static_cast<int64_t>(r.below(static_cast<uint64_t>(year_ms)));
        int seq = 0;
        {
            cl::json::Writer w;
            int client = static_cast<int>(r.below(1000000));
            w.begin_object()
                .kv("kind", r.pick(kKinds))
                .key("client").begin_object()
                .kv("name", "Client " + std::to_string(client))
                .kv("contact", "client" + std::to_string(client) + "@example.org")
                .kv("channel", r.pick(kChannels))
                .end_object()
                .kv("title", words(r, 4))
                .kv("description", words(r, 12 + static_cast<int>(r.below(12))))
                .kv("category", r.pick(kCategories))
                .kv("priority", r.pick(kPriorities))
                .kv("service_completed_at", static_cast<int64_t>(t - 86400000))
                .end_object();
            drafts.push_back({t, c, seq++, team, cl::ev::kCaseCreated, w.take()});
            authors_of_draft.push_back(author_name(r, team));
        }
        std::string status = "new";
        bool resolved = false;
        for (int k = 0; k < extra[c]; ++k) {
            t += 60000 + static_cast<int64_t>(r.below(3LL * 24 * 3600 * 1000));  // 1 min .. 3 days later
            cl::json::Writer w;
            std::string type;
            int roll = static_cast<int>(r.below(100));
            if (roll < 25) {
                type = cl::ev::kNoteAdded;
                w.begin_object().kv("text", words(r, 8 + static_cast<int>(r.below(24)))).end_object();
            } else if (roll < 43) {
                type = cl::ev::kFieldSet;
                int f = static_cast<int>(r.below(4));
                w.begin_object();
                if (f == 0) w.kv("field", "priority").kv("value", r.pick(kPriorities));
                else if (f == 1) w.kv("field", "category").kv("value", r.pick(kCategories));
                else if (f == 2) w.kv("field", "title").kv("value", words(r, 4));
                else w.kv("field", "urgent").kv("value", r.chance(20));
                w.end_object();
            } else if (roll < 60) {
                type = cl::ev::kStatusChanged;
                std::string to;
                if (status == "new") to = "in_progress";
                else if (status == "in_progress") to = r.chance(40) ? "awaiting_client" : "resolved";
                else if (status == "awaiting_client") to = "in_progress";
                else if (status == "resolved") to = "closed";
                else to = "in_progress";  // reopen a closed case (rare: closed cases mostly stop here)
                if (status == "closed" && r.chance(85)) {  // closed cases mostly only get notes
                    type = cl::ev::kNoteAdded;
                    w.begin_object().kv("text", words(r, 10)).end_object();
                } else {
                    w.begin_object().kv("from", status).kv("to", to).end_object();
                    status = to;
                    if (to == "resolved") resolved = true;
                }
            } else if (roll < 68) {
                type = cl::ev::kAssigned;
                w.begin_object().kv("assignee", author_name(r, team)).end_object();
            } else if (roll < 80) {
                type = cl::ev::kContactLogged;
                w.begin_object().kv("step", r.pick(kSteps)).kv("channel", r.pick(kChannels)).end_object();
            } else if (roll < 90) {
                type = cl::ev::kSurveyRecorded;
                w.begin_object()
                    .kv("csat", static_cast<int64_t>(1 + r.below(5)))
                    .kv("nps", static_cast<int64_t>(r.below(11)))
                    .kv("comment", words(r, 6 + static_cast<int>(r.below(10))))
                    .end_object();
            } else if (roll < 93) {
                type = cl::ev::kEscalated;
                w.begin_object().kv("reason", words(r, 6)).kv("to", "manager-" + std::to_string(team)).end_object();
            } else if (roll < 97 && !resolved && status != "new") {
                type = cl::ev::kResolved;
                w.begin_object().kv("resolution", words(r, 10)).end_object();
                resolved = true;
                status = "resolved";
            } else {
                type = cl::ev::kFollowUpDone;
                w.begin_object().kv("satisfied", r.chance(80)).kv("channel", r.pick(kChannels)).end_object();
            }
            drafts.push_back({t, c, seq++, team, type, w.take()});
            authors_of_draft.push_back(author_name(r, team));
        }
    }
    // Clock order, then per-device counters and monotonic HLC stamps.
    std::vector<size_t> order(drafts.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return std::tie(drafts[a].at, drafts[a].case_index, drafts[a].seq) <
               std::tie(drafts[b].at, drafts[b].case_index, drafts[b].seq);
    });
    std::vector<uint64_t> counters(kTeams * kDevicesPerTeam, 0);
    std::vector<cl::Hlc> last(kTeams * kDevicesPerTeam);
    d.events.reserve(drafts.size());
    for (size_t i : order) {
        const Draft& x = drafts[i];
        int dev = x.team * kDevicesPerTeam + static_cast<int>(r.below(kDevicesPerTeam));
        cl::Event e;
        char dn[16];
        std::snprintf(dn, sizeof dn, "d%02d", dev);
        e.device = dn;
        e.counter = ++counters[dev];
        cl::Hlc h{x.at, 0};
        if (!(last[dev] < h)) h = cl::Hlc{last[dev].wall_ms, last[dev].logical + 1};
        last[dev] = h;
        e.clock = h;
        e.case_id = d.case_ids[x.case_index];
        e.team = team_name(x.team);
        e.author = authors_of_draft[i];
        e.type = x.type;
        e.body = x.body;
        d.events.push_back(std::move(e));
    }
    return d;
}

bool write_ndjson(const Dataset& d, const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) return false;
    for (const auto& e : d.events) {
        std::string line = cl::event_to_json(e);
        line += '\n';
        std::fwrite(line.data(), 1, line.size(), f);
    }
    return std::fclose(f) == 0;
}

MergeSplit merge_split(const Dataset& d, int replica, double overlap) {
    MergeSplit s;
    const size_t shared = static_cast<size_t>(replica * overlap);
    const size_t uni = std::min(d.events.size(), static_cast<size_t>(2 * replica) - shared);
    std::vector<char> in_base(uni, 0);
    size_t base_n = 0;
    for (size_t i = 0; i < uni; ++i)
        if (d.events[i].type == cl::ev::kCaseCreated) in_base[i] = 1, ++base_n;
    for (size_t i = 0; i < uni && base_n < shared; ++i)
        if (!in_base[i]) in_base[i] = 1, ++base_n;
    Rng r{d.spec.seed ^ 0x5eedULL};
    const size_t branch = (uni - base_n) / 2;
    for (size_t i = 0; i < uni; ++i) {
        if (in_base[i]) { s.base.push_back(d.events[i]); continue; }
        bool to_a = s.only_b.size() >= branch + 1 ? true : s.only_a.size() >= branch + 1 ? false : r.chance(50);
        (to_a ? s.only_a : s.only_b).push_back(d.events[i]);
    }
    return s;
}

}  // namespace clbench
