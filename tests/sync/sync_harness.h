// In-memory sync peers in the style of realm-core's sync tests: a SyncServer and several
// clients, each with a real SQLite store, talking through the JSON wire format with an
// in-memory transport that can drop, duplicate and reorder messages.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/json.h"
#include "store/store.h"
#include "sync/client_sync.h"
#include "sync/protocol.h"
#include "sync/server_core.h"

namespace cl::test {

inline int64_t kT0 = 1717200000000;  // 2024-06-01T00:00:00Z

struct FakeClock {
    int64_t now = kT0;
    std::function<int64_t()> fn() { return [this] { return now; }; }
};

struct ServerPeer {
    FakeClock* clock;
    std::unique_ptr<Store> store;
    std::unique_ptr<SyncServer> server;
    explicit ServerPeer(FakeClock& c, const std::string& path = ":memory:") : clock(&c) {
        StoreOptions o;
        o.server = true;
        o.wal = path != ":memory:";
        auto s = Store::open(path, o);
        if (!s) throw std::runtime_error(s.error().message);
        store = std::move(*s);
        store->set_clock(c.fn());
        server = std::make_unique<SyncServer>(*store, c.fn());
    }
};

struct ClientPeer {
    std::string user, team;
    Caller caller;
    FakeClock* clock;
    std::unique_ptr<Store> store;
    std::unique_ptr<SyncClient> sync;
    SyncStats stats;

    ClientPeer(FakeClock& c, std::string user_, std::string team_, std::string path = ":memory:")
        : user(std::move(user_)), team(std::move(team_)), clock(&c) {
        StoreOptions o;
        o.wal = false;
        auto s = Store::open(path, o);
        if (!s) throw std::runtime_error(s.error().message);
        store = std::move(*s);
        store->set_clock(c.fn());
        sync = std::make_unique<SyncClient>(*store);
        caller.user_id = user;
        caller.role = "agent";
        caller.teams = {team};
    }

    Expected<Event> record(const std::string& case_id, const std::string& type, const std::string& body) {
        return store->record_local(case_id, team, user, type, body, clock->now);
    }
    std::string create_case(const std::string& body) {
        std::string id = store->new_case_id();
        auto e = record(id, ev::kCaseCreated, body);
        if (!e) throw std::runtime_error(e.error().message);
        return id;
    }
};

// Faults applied by the transport.
struct Faults {
    double drop_request = 0;    // request lost before the server sees it
    double drop_response = 0;   // server applied it, the answer is lost
    double duplicate = 0;       // request delivered twice
    int max_batch = 1000;       // events per push
};

// One push round-trip through JSON. Returns false when the message was "lost".
inline bool push_once(ServerPeer& s, ClientPeer& c, std::mt19937_64* rng = nullptr, const Faults& f = {}) {
    auto req = c.sync->next_push(f.max_batch);
    if (!req) return true;
    std::uniform_real_distribution<double> u(0, 1);
    auto roll = [&](double p) { return rng && p > 0 && u(*rng) < p; };
    if (roll(f.drop_request)) return false;
    std::string wire = push_request_to_json(*req);
    auto parsed = push_request_from_json(wire);
    if (!parsed) throw std::runtime_error("push encode/decode failed: " + parsed.error().message);
    PushResponse resp = s.server->push(c.caller, parsed->request);
    if (roll(f.duplicate)) resp = s.server->push(c.caller, parsed->request);
    for (auto& m : parsed->malformed) resp.rejected.push_back(m);
    if (roll(f.drop_response)) return false;
    auto back = push_response_from_json(push_response_to_json(resp));
    if (!back) throw std::runtime_error("push response decode failed");
    Status st = c.sync->apply_push(*req, *back, &c.stats);
    if (!st) throw std::runtime_error(st.error().message);
    return true;
}

inline void pull_all(ServerPeer& s, ClientPeer& c, int page = 50) {
    for (int guard = 0; guard < 100000; ++guard) {
        PullResponse resp = s.server->pull(c.caller, c.sync->cursor(), page);
        auto back = pull_response_from_json(pull_response_to_json(resp));
        if (!back) throw std::runtime_error("pull decode failed: " + back.error().message);
        Status st = c.sync->apply_pull(*back, &c.stats);
        if (!st) throw std::runtime_error(st.error().message);
        if (!back->more) return;
    }
    throw std::runtime_error("pull did not finish");
}

// One sync's pushes, as the app makes them: batch after batch until every pending event was
// answered (acknowledged or refused) once.
inline void push_all(ServerPeer& s, ClientPeer& c, int max_batch = 1000) {
    c.sync->begin_sync();
    Faults f;
    f.max_batch = max_batch;
    for (int guard = 0; guard < 100000; ++guard) {
        if (!c.sync->next_push(max_batch)) return;
        push_once(s, c, nullptr, f);
    }
    throw std::runtime_error("push did not finish");
}

// Pushes everything each client has (retrying lost messages), then pulls everything, twice so
// every client sees every other client's events.
inline void synchronize(ServerPeer& s, const std::vector<ClientPeer*>& clients) {
    for (int round = 0; round < 2; ++round) {
        for (auto* c : clients) {
            push_all(s, *c);
            pull_all(s, *c);
        }
    }
}

// Canonical JSON of every case a store holds, keyed by case id.
inline std::map<std::string, std::string> snapshot(Store& store) {
    std::map<std::string, std::string> out;
    auto all = store.all_cases();
    if (!all) throw std::runtime_error(all.error().message);
    for (auto& c : *all) out[c.id] = case_to_json(c);
    return out;
}

}  // namespace cl::test
