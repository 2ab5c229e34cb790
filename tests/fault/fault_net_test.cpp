// Network faults with the in-memory transport (tests/sync/sync_harness.h), realm-core style:
// a server and several devices take seeded random steps — local edits, pushes, pulls, retention
// sweeps, days passing, a device going offline for weeks — while the transport drops,
// duplicates, delays (delivers late and out of order) and truncates messages. At the end the
// network heals and every replica must hold the same cases and tombstones as the server (for the
// teams it can read), every event the server acknowledged must still be there (or its case must
// carry a tombstone), and the server's sequence and FF reference counters have no gaps or repeats.
//
// Every run is replayable: the seed is printed on failure; CLOSELOOP_SEED=<n> runs just that
// seed. A few seeds run by default, many with CLOSELOOP_LONG=1 (CLOSELOOP_SEEDS=<count> to pick).
#include <gtest/gtest.h>

#include <deque>
#include <random>
#include <set>

#include "fault_common.h"
#include "sync_harness.h"

using namespace cl;
using namespace cl::test;

namespace {

std::string created_body(std::mt19937_64& rng, const std::string& who) {
    static const char* kinds[] = {"feedback", "aftercare", "follow_up"};
    static const char* cats[] = {"positive", "negative", "complaint", "suggestion"};
    json::Writer w;
    w.begin_object().kv("kind", kinds[rng() % 3]).kv("category", cats[rng() % 4]).kv("description", "from " + who)
        .key("client").begin_object().kv("name", "Client " + std::to_string(rng() % 1000)).kv("channel", "phone").end_object()
        .end_object();
    return w.take();
}

struct Counters {
    int64_t steps = 0, pushes = 0, pulls = 0, dropped = 0, duplicated = 0, delayed = 0, truncated = 0, stale_pages = 0,
            purged = 0, offline_days = 0;
};
Counters g_total;
int g_seeds_run = 0;

struct DelayedPush { PushRequest sent; std::string response; };

class Sim {
public:
    explicit Sim(uint64_t seed) : rng_(seed), server_(clock_) {
        const char* users[][2] = {{"alice", "north"}, {"bob", "north"}, {"carol", "north"}, {"dave", "south"}};
        for (auto& u : users) {
            devices_.push_back(std::make_unique<ClientPeer>(clock_, u[0], u[1]));
            devices_.back()->store->set_meta("device_id", std::string("d") + u[0]);
        }
        delayed_push_.resize(devices_.size());
        delayed_pull_.resize(devices_.size());
        offline_until_.assign(devices_.size(), 0);
    }

    double u() { return std::uniform_real_distribution<double>(0, 1)(rng_); }
    size_t pick(size_t n) { return static_cast<size_t>(rng_() % n); }

    // A random local action on a device: create a case, or edit one of the cases it holds.
    void local_edit(ClientPeer& d) {
        auto rows = d.store->all_cases({d.team});
        if (!rows || rows->empty() || u() < 0.25) {
            d.create_case(created_body(rng_, d.user));
            return;
        }
        const CaseState& c = (*rows)[pick(rows->size())];
        double r = u();
        Expected<Event> e = make_error("none", "");
        if (r < 0.3) {
            e = d.record(c.id, ev::kNoteAdded, R"({"text":"note )" + std::to_string(rng_() % 100000) + R"("})");
        } else if (r < 0.5) {
            json::Writer w;
            w.begin_object().kv("field", "description").kv("value", "edit " + std::to_string(rng_() % 1000)).kv("base", "").end_object();
            e = d.record(c.id, ev::kFieldSet, w.take());
        } else if (r < 0.85) {
            // Walk the case towards closed (so retention has work), sometimes reopen.
            std::string to = c.status == "new" ? "in_progress" : c.status == "in_progress" ? "resolved"
                           : c.status == "resolved" ? (u() < 0.9 ? "closed" : "in_progress") : c.status == "closed" ? "" : "in_progress";
            if (to == "resolved") e = d.record(c.id, ev::kResolved, R"({"resolution":"fixed"})");
            else if (!to.empty()) e = d.record(c.id, ev::kStatusChanged, R"({"to":")" + to + R"(","from":")" + c.status + R"("})");
        } else {
            e = d.record(c.id, ev::kContactLogged, R"({"step":"acknowledged","channel":"email"})");
        }
        if (!e && e.error().code != "none") ADD_FAILURE() << "local edit refused: " << e.error().message;
    }

    // One push through the faulty transport.
    void push(size_t i) {
        ClientPeer& d = *devices_[i];
        auto req = d.sync->next_push(1 + static_cast<int>(pick(40)));
        if (!req) return;
        ++c_.pushes;
        std::string wire = push_request_to_json(*req);
        if (u() < 0.05) {  // truncated request: must be refused by the parser, nothing applied
            ++c_.truncated;
            std::string cut = wire.substr(0, pick(wire.size()));
            int64_t before = server_.store->event_count();
            auto parsed = push_request_from_json(cut);
            ASSERT_FALSE(parsed.ok()) << "a truncated push body parsed: " << cut;
            ASSERT_EQ(server_.store->event_count(), before);
            return;
        }
        if (u() < 0.1) { ++c_.dropped; return; }  // request lost
        auto parsed = push_request_from_json(wire);
        ASSERT_TRUE(parsed.ok()) << parsed.error().message;
        PushResponse resp = server_.server->push(d.caller, parsed->request);
        if (u() < 0.1) { ++c_.duplicated; resp = server_.server->push(d.caller, parsed->request); }
        record_acks(resp);
        std::string back = push_response_to_json(resp);
        double r = u();
        if (r < 0.1) { ++c_.dropped; return; }  // response lost: the device will resend
        if (r < 0.15) {
            ++c_.truncated;
            auto bad = push_response_from_json(back.substr(0, pick(back.size())));
            ASSERT_FALSE(bad.ok());
            return;
        }
        if (r < 0.3) { ++c_.delayed; delayed_push_[i].push_back({*req, back}); return; }
        apply_push(i, *req, back);
    }

    void apply_push(size_t i, const PushRequest& sent, const std::string& wire) {
        auto resp = push_response_from_json(wire);
        ASSERT_TRUE(resp.ok());
        Status st = devices_[i]->sync->apply_push(sent, *resp, &devices_[i]->stats);
        ASSERT_TRUE(st.ok()) << st.error().message;
    }

    // One pull page through the faulty transport.
    void pull(size_t i) {
        ClientPeer& d = *devices_[i];
        ++c_.pulls;
        int64_t cursor = d.sync->cursor();
        PullResponse page = server_.server->pull(d.caller, cursor, 1 + static_cast<int>(pick(30)));
        std::string wire = pull_response_to_json(page);
        double r = u();
        if (r < 0.1) { ++c_.dropped; return; }
        if (r < 0.15) {
            ++c_.truncated;
            auto bad = pull_response_from_json(wire.substr(0, pick(wire.size())));
            ASSERT_FALSE(bad.ok());
            ASSERT_EQ(d.sync->cursor(), cursor);
            return;
        }
        if (r < 0.3) { ++c_.delayed; delayed_pull_[i].push_back(wire); return; }
        apply_pull(i, wire);
        if (u() < 0.1) { ++c_.duplicated; apply_pull(i, wire); }
    }

    void apply_pull(size_t i, const std::string& wire) {
        auto page = pull_response_from_json(wire);
        ASSERT_TRUE(page.ok());
        if (page->cursor < devices_[i]->sync->cursor()) ++c_.stale_pages;
        Status st = devices_[i]->sync->apply_pull(*page, &devices_[i]->stats);
        ASSERT_TRUE(st.ok()) << st.error().message;
    }

    // Late deliveries, in random order.
    void deliver_late(size_t i) {
        if (!delayed_push_[i].empty()) {
            size_t k = pick(delayed_push_[i].size());
            DelayedPush p = delayed_push_[i][k];
            delayed_push_[i].erase(delayed_push_[i].begin() + static_cast<long>(k));
            apply_push(i, p.sent, p.response);
        }
        if (!delayed_pull_[i].empty()) {
            size_t k = pick(delayed_pull_[i].size());
            std::string w = delayed_pull_[i][k];
            delayed_pull_[i].erase(delayed_pull_[i].begin() + static_cast<long>(k));
            apply_pull(i, w);
        }
    }

    void record_acks(const PushResponse& r) {
        for (const auto& [id, seq] : r.acks) {
            if (seq <= 0) continue;
            auto it = acked_.find(id);
            if (it != acked_.end()) {
                ASSERT_EQ(it->second, seq) << "event " << id << " acknowledged with two seqs";
            }
            acked_[id] = seq;
        }
    }

    void run(int steps) {
        const int64_t day = 86400000;
        for (int s = 0; s < steps && !::testing::Test::HasFatalFailure(); ++s) {
            ++c_.steps;
            clock_.now += static_cast<int64_t>(pick(4 * 3600)) * 1000;
            double r = u();
            size_t i = pick(devices_.size());
            bool online = clock_.now >= offline_until_[i];
            if (r < 0.35) local_edit(*devices_[i]);
            else if (r < 0.6) { if (online) push(i); }
            else if (r < 0.8) { if (online) pull(i); }
            else if (r < 0.88) { if (online) deliver_late(i); }
            else if (r < 0.96) {
                clock_.now += day * static_cast<int64_t>(1 + pick(5));  // days pass; the nightly sweep runs
                auto out = server_.server->run_retention(RetentionPolicy{}, false);
                c_.purged += static_cast<int64_t>(out.purged.size());
            } else if (online && u() < 0.3) {
                int64_t weeks = 2 + static_cast<int64_t>(pick(6));  // a device goes offline for weeks
                offline_until_[i] = clock_.now + weeks * 7 * day;
                c_.offline_days += weeks * 7;
            }
        }
        // Jump ahead a year so the sweeps purge while a device is still offline, then heal.
        clock_.now += 380 * day;
        for (size_t i = 0; i < devices_.size(); ++i)
            if (u() < 0.5) local_edit(*devices_[i]);  // edits made offline, some to cases about to be purged
        c_.purged += static_cast<int64_t>(server_.server->run_retention(RetentionPolicy{}, false).purged.size());
    }

    void heal_and_check() {
        if (::testing::Test::HasFatalFailure()) return;
        std::vector<ClientPeer*> all;
        for (auto& d : devices_) all.push_back(d.get());
        for (size_t i = 0; i < devices_.size(); ++i)
            while (!delayed_push_[i].empty() || !delayed_pull_[i].empty()) deliver_late(i);
        synchronize(server_, all);
        synchronize(server_, all);

        // Server invariants: seqs unique (enforced by an index) and the counter covers them;
        // FF references unique and gap-free per year across live cases and tombstones.
        int64_t last_seq = server_.store->max_seq();
        std::map<std::string, std::set<int>> refs;  // year -> numbers
        int ref_count = 0;
        auto note_ref = [&](const std::string& ref) {
            if (ref.rfind("FF-", 0) != 0) return;
            ++ref_count;
            refs[ref.substr(3, 4)].insert(std::stoi(ref.substr(8)));
        };
        auto server_cases = server_.store->all_cases();
        ASSERT_TRUE(server_cases);
        for (const auto& c : *server_cases) {
            note_ref(c.reference);
            EXPECT_EQ(c.reference.rfind("FF-", 0), 0u) << "case " << c.id << " has no canonical reference";
        }
        for (const auto& t : server_.store->all_tombstones()) {
            note_ref(t.reference);
            EXPECT_LE(t.seq, last_seq);
        }
        int distinct = 0;
        for (const auto& [year, nums] : refs) {
            distinct += static_cast<int>(nums.size());
            EXPECT_EQ(*nums.rbegin(), static_cast<int>(nums.size())) << "gap in FF references of " << year;
            auto counter = server_.store->meta("ref_counter_" + year);
            ASSERT_TRUE(counter);
            EXPECT_EQ(std::stoi(*counter), static_cast<int>(nums.size())) << "reference counter of " << year;
        }
        EXPECT_EQ(distinct, ref_count) << "a FF reference was given twice";

        // Nothing acknowledged is lost: every acked event is on the server with its seq, or its
        // case was purged under retention.
        std::set<std::string> purged;
        for (const auto& t : server_.store->all_tombstones()) purged.insert(t.case_id);
        for (const auto& [id, seq] : acked_) {
            auto e = server_.store->find_event(id);
            if (e) EXPECT_EQ(e->seq, seq) << id;
            else {
                bool in_purged = false;
                for (const auto& d : devices_)  // the event's case id is known to its author
                    if (auto le = d->store->find_event(id); le && purged.count(le->event.case_id)) in_purged = true;
                // Purged case: the event is gone everywhere by design (tombstone), otherwise lost.
                if (!in_purged) {
                    // Devices drop purged events too; check the id's device/counter against tombstones via the server log.
                    bool any_store_has = false;
                    for (const auto& d : devices_) any_store_has |= d->store->find_event(id).has_value();
                    EXPECT_FALSE(any_store_has) << "acknowledged event " << id << " is missing on the server";
                }
            }
        }

        // Convergence: every device holds exactly the server's cases of its team, the same
        // tombstones of its team, and nothing pending.
        for (auto& d : devices_) {
            EXPECT_EQ(d->store->pending_count(), 0) << d->user << " still has pending events";
            std::map<std::string, std::string> want;
            for (const auto& c : *server_cases)
                if (c.team == d->team) want[c.id] = case_to_json(c);
            EXPECT_EQ(snapshot(*d->store), want) << d->user << " did not converge";
            std::set<std::string> want_t, got_t;
            for (const auto& t : server_.store->all_tombstones())
                if (t.team == d->team) want_t.insert(t.case_id);
            for (const auto& t : d->store->all_tombstones()) got_t.insert(t.case_id);
            EXPECT_EQ(got_t, want_t) << d->user << " tombstones differ";
            EXPECT_EQ(integrity(*d->store), "ok");
        }
        EXPECT_EQ(integrity(*server_.store), "ok");
    }

    const Counters& counters() const { return c_; }

private:
    std::mt19937_64 rng_;
    FakeClock clock_;
    ServerPeer server_;
    std::vector<std::unique_ptr<ClientPeer>> devices_;
    std::vector<std::deque<DelayedPush>> delayed_push_;
    std::vector<std::deque<std::string>> delayed_pull_;
    std::vector<int64_t> offline_until_;
    std::map<std::string, int64_t> acked_;
    Counters c_;
};

std::vector<uint64_t> seeds_to_run() {
    if (const char* s = std::getenv("CLOSELOOP_SEED")) return {std::stoull(s)};
    int count = long_mode() ? 200 : 3;
    if (const char* n = std::getenv("CLOSELOOP_SEEDS")) count = std::atoi(n);
    std::vector<uint64_t> out;
    for (int i = 0; i < count; ++i) out.push_back(1000 + static_cast<uint64_t>(i) * 7919);
    return out;
}

}  // namespace

TEST(FaultNet, RandomFaultsConvergeAndLoseNothing) {
    for (uint64_t seed : seeds_to_run()) {
        SCOPED_TRACE("replay with CLOSELOOP_SEED=" + std::to_string(seed));
        Sim sim(seed);
        sim.run(long_mode() ? 1200 : 500);
        sim.heal_and_check();
        const Counters& c = sim.counters();
        g_total.steps += c.steps; g_total.pushes += c.pushes; g_total.pulls += c.pulls; g_total.dropped += c.dropped;
        g_total.duplicated += c.duplicated; g_total.delayed += c.delayed; g_total.truncated += c.truncated;
        g_total.stale_pages += c.stale_pages; g_total.purged += c.purged; g_total.offline_days += c.offline_days;
        ++g_seeds_run;
        if (::testing::Test::HasFailure()) {
            std::printf("FaultNet failed with seed %llu (replay: CLOSELOOP_SEED=%llu)\n", static_cast<unsigned long long>(seed),
                        static_cast<unsigned long long>(seed));
            return;
        }
    }
    std::printf("[fault figures] seeds=%d steps=%lld pushes=%lld pulls=%lld dropped=%lld duplicated=%lld delayed=%lld "
                "truncated=%lld stale_pages=%lld purged=%lld offline_days=%lld\n",
                g_seeds_run, (long long)g_total.steps, (long long)g_total.pushes, (long long)g_total.pulls,
                (long long)g_total.dropped, (long long)g_total.duplicated, (long long)g_total.delayed,
                (long long)g_total.truncated, (long long)g_total.stale_pages, (long long)g_total.purged,
                (long long)g_total.offline_days);
}

// A page that arrives late (after a newer one was applied) must not lose or corrupt anything:
// it moves the cursor back at worst, and the next pulls catch up again.
TEST(FaultNet, StalePullPageIsHarmless) {
    FakeClock clock;
    ServerPeer server(clock);
    ClientPeer a(clock, "alice", "north"), b(clock, "bob", "north");
    for (int i = 0; i < 6; ++i) a.create_case(R"({"kind":"feedback","description":"x"})");
    synchronize(server, {&a});
    PullResponse p1 = server.server->pull(b.caller, 0, 5);
    ASSERT_TRUE(p1.more);
    ASSERT_TRUE(b.sync->apply_pull(p1));
    PullResponse p2 = server.server->pull(b.caller, b.sync->cursor(), 5000);
    ASSERT_TRUE(b.sync->apply_pull(p2));
    auto after_p2 = snapshot(*b.store);
    int64_t cursor2 = b.sync->cursor();
    ASSERT_TRUE(b.sync->apply_pull(p1));  // the stale page, late
    EXPECT_EQ(snapshot(*b.store), after_p2) << "a stale page changed the cases";
    EXPECT_LE(b.sync->cursor(), cursor2) << "a stale page moved the cursor forward";
    pull_all(server, b);
    EXPECT_EQ(b.sync->cursor(), cursor2);
    EXPECT_EQ(snapshot(*b.store), snapshot(*server.store));
}

// Every prefix of every wire message is an error (never a crash, never applied).
TEST(FaultNet, EveryTruncationOfEveryMessageIsAnError) {
    FakeClock clock;
    ServerPeer server(clock);
    ClientPeer a(clock, "alice", "north"), b(clock, "bob", "north");
    std::string id = a.create_case(R"({"kind":"feedback","description":"Caf\u00e9 \"quoted\"","client":{"name":"Zo\u00eb"}})");
    ASSERT_TRUE(a.record(id, ev::kNoteAdded, R"({"text":"multi-byte \u2713 and \\ escapes"})"));
    std::string export_file = a.sync->export_pending();
    auto req = a.sync->next_push(1000);
    ASSERT_TRUE(req);
    std::string push_wire = push_request_to_json(*req);
    PushResponse resp = server.server->push(a.caller, *req);
    std::string resp_wire = push_response_to_json(resp);
    std::string pull_wire = pull_response_to_json(server.server->pull(b.caller, 0, 100));
    int64_t server_events = server.store->event_count();
    for (size_t n = 0; n < push_wire.size(); ++n) ASSERT_FALSE(push_request_from_json(push_wire.substr(0, n)).ok()) << n;
    for (size_t n = 0; n < resp_wire.size(); ++n) ASSERT_FALSE(push_response_from_json(resp_wire.substr(0, n)).ok()) << n;
    for (size_t n = 0; n < pull_wire.size(); ++n) ASSERT_FALSE(pull_response_from_json(pull_wire.substr(0, n)).ok()) << n;
    for (size_t n = 0; n < export_file.size(); ++n) {
        auto r = b.sync->import_events(export_file.substr(0, n));
        ASSERT_FALSE(r.ok()) << n;
    }
    EXPECT_EQ(b.store->event_count(), 0);
    EXPECT_EQ(server.store->event_count(), server_events);
    EXPECT_TRUE(push_request_from_json(push_wire).ok());
    EXPECT_TRUE(b.sync->import_events(export_file).ok());
}
