// Fault injection in the store, SQLite style: for N = 1, 2, ... fail the Nth xWrite/xSync/
// xTruncate of an operation (once: an I/O error; or from N on: a full disk) until the operation
// runs without hitting a fault. After every failing attempt the database must pass
// PRAGMA integrity_check and hold either the state before or the state after the operation
// (nothing half-done), and a retry must reach exactly the state of a fault-free run: no lost or
// duplicated events, no gaps or repeats in the server's sequence or FF reference counters.
// Each attempt is checked twice: retrying on the same live connection (the server keeps running
// after an I/O error, so in-memory caches must not run ahead of the database) and after
// reopening the file with the normal VFS.
#include <gtest/gtest.h>

#include <functional>
#include <set>

#include "fault_common.h"
#include "faulty_vfs.h"
#include "store/gather_vfs.h"
#include "sync_harness.h"

using namespace cl;
using namespace cl::test;
namespace fv = cl::test::faulty_vfs;

namespace {

int64_t g_faults_injected = 0;  // reported at the end (docs/reliability.md figures)
int64_t g_attempts = 0;

struct Scenario {
    StoreOptions opts;
    int64_t now = kT0;
    bool tomb_seq_in_compare = true;
    int cache_pages = 0;  // > 0: a tiny page cache, so pages spill to disk mid-transaction
    // Runs the operation; returns true when it reported success.
    std::function<bool(Store&)> op;
    // Extra check of a state left by a failed attempt (default: before or after, exactly).
    std::function<::testing::AssertionResult(const Snapshot& before, const Snapshot& after, const Snapshot& got)> consistent;
};

// A WAL store runs on the gathering VFS (store/gather_vfs.h), as in production: faults are
// injected under it, into the writes it gathers.
std::unique_ptr<Store> open_store(const std::string& path, const Scenario& sc, bool faulty) {
    std::string uri = path;
    if (faulty) {
        fv::install();
        uri = "file:" + path + "?vfs=" + (sc.opts.wal ? sql::gather_vfs("faulty") : "faulty");
    }
    auto s = Store::open(uri, sc.opts);
    if (!s) {
        ADD_FAILURE() << "cannot open " << path << ": " << s.error().message;
        return nullptr;
    }
    int64_t now = sc.now;
    (*s)->set_clock([now] { return now; });
    if (sc.cache_pages > 0)
        sql::exec((*s)->db(), ("PRAGMA cache_size=" + std::to_string(sc.cache_pages)).c_str());
    return std::move(*s);
}

::testing::AssertionResult before_or_after(const Snapshot& before, const Snapshot& after, const Snapshot& got) {
    if (got == before || got == after) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "state is neither before nor after the operation.\n vs before:\n"
                                         << diff(before, got) << " vs after:\n" << diff(after, got);
}

// Runs the N-loop for one fault mode. `base` is a closed database holding the starting state.
void run_fault_loop(const std::string& label, const std::string& base, const Scenario& sc, const fv::Plan& mode) {
    fv::install();
    TempDir dir("fault-" + label);
    // Reference run without faults.
    Snapshot before, after;
    {
        std::string ref = dir.file("ref.db");
        copy_db(base, ref);
        auto s = open_store(ref, sc, false);
        ASSERT_TRUE(s);
        before = snapshot_of(*s, sc.tomb_seq_in_compare);
        ASSERT_TRUE(sc.op(*s)) << label << ": the operation fails even without faults";
        after = snapshot_of(*s, sc.tomb_seq_in_compare);
        ASSERT_NE(before, after) << label << ": the operation changed nothing";
    }
    const auto& check = sc.consistent ? sc.consistent : before_or_after;
    for (bool live : {true, false}) {
        int64_t n = 1;
        for (; n < 10000; ++n) {
            std::string work = dir.file("work.db");
            copy_db(base, work);
            auto s = open_store(work, sc, true);
            ASSERT_TRUE(s);
            fv::Plan plan = mode;
            plan.fail_at = n;
            fv::arm(plan);
            bool ok = sc.op(*s);
            int64_t hit = fv::injected();
            fv::disarm();
            ++g_attempts;
            std::string where = label + (live ? " (live retry)" : " (reopen)") + ", fault at operation " + std::to_string(n);
            if (hit == 0) {
                ASSERT_TRUE(ok) << where << ": no fault injected, yet the operation failed";
                EXPECT_EQ(snapshot_of(*s, sc.tomb_seq_in_compare), after) << where;
                break;
            }
            g_faults_injected += hit;
            if (std::getenv("FAULT_DEBUG")) std::printf("-- %s: ok=%d hit=%lld, retrying\n", where.c_str(), ok, (long long)hit);
            if (live) {
                // Same connection, same Store object, faults off: the retry must complete exactly.
                ASSERT_TRUE(sc.op(*s)) << where << ": retry on the live store failed";
                Snapshot got = snapshot_of(*s, sc.tomb_seq_in_compare);
                ASSERT_EQ(got, after) << where << ": retry on the live store differs from a fault-free run:\n" << diff(after, got);
                s.reset();
                auto r = open_store(work, sc, false);
                ASSERT_TRUE(r);
                ASSERT_EQ(integrity(*r), "ok") << where;
                ASSERT_EQ(snapshot_of(*r, sc.tomb_seq_in_compare), after) << where << ": not durable after reopen";
            } else {
                s.reset();
                auto r = open_store(work, sc, false);
                ASSERT_TRUE(r) << where;
                ASSERT_EQ(integrity(*r), "ok") << where;
                Snapshot got = snapshot_of(*r, sc.tomb_seq_in_compare);
                if (ok) {
                    ASSERT_EQ(got, after) << where << ": reported success but the state differs:\n" << diff(after, got);
                }
                ASSERT_TRUE(check(before, after, got)) << where;
                ASSERT_TRUE(sc.op(*r)) << where << ": retry after reopen failed";
                got = snapshot_of(*r, sc.tomb_seq_in_compare);
                ASSERT_EQ(got, after) << where << ": retry after reopen differs from a fault-free run:\n" << diff(after, got);
            }
        }
        ASSERT_LT(n, 10000) << label << ": the operation never completed";
        ASSERT_GT(n, 1) << label << ": the operation performed no counted I/O at all";
    }
}

void run_all_modes(const std::string& label, const std::string& base, const Scenario& sc) {
    fv::Plan ioerr;           // one failing write/sync/truncate, natural SQLITE_IOERR_* code
    fv::Plan full;            // disk full from the Nth write on
    full.persistent = true;
    full.error = SQLITE_FULL;
    full.ops = fv::kWrite;
    fv::Plan sync_only;       // only fsyncs fail, once
    sync_only.ops = fv::kSync;
    {
        SCOPED_TRACE(label + " / I/O error once");
        run_fault_loop(label + "-ioerr", base, sc, ioerr);
    }
    if (::testing::Test::HasFatalFailure()) return;
    {
        SCOPED_TRACE(label + " / disk full");
        run_fault_loop(label + "-full", base, sc, full);
    }
    if (::testing::Test::HasFatalFailure()) return;
    {
        SCOPED_TRACE(label + " / fsync error");
        run_fault_loop(label + "-sync", base, sc, sync_only);
    }
}

std::string created_body(const std::string& kind, const std::string& client) {
    json::Writer w;
    w.begin_object().kv("kind", kind).kv("description", "about " + client).key("client").begin_object().kv("name", client)
        .kv("channel", "email").end_object().end_object();
    return w.take();
}

StoreOptions server_opts() {
    StoreOptions o;
    o.server = true;
    o.wal = true;
    return o;
}
StoreOptions client_opts() {
    StoreOptions o;
    o.wal = false;
    return o;
}

// The server holds one case of a's ("Existing") with its row written (a read caught rows up, so
// its file opens with nothing pending); the clock then moves a minute on. Returns the case id.
std::string existing_case_caught_up(FakeClock& clock, ServerPeer& server, ClientPeer& a) {
    a.store->set_meta("device_id", "dalice");
    std::string first = a.create_case(created_body("feedback", "Existing"));
    synchronize(server, {&a});
    EXPECT_EQ(server.store->case_count(), 1);
    clock.now += 60000;
    return first;
}

// Closes a case: in progress, resolved, closed.
void close_case(ClientPeer& c, const std::string& id, FakeClock& clock) {
    clock.now += 3600000;
    ASSERT_TRUE(c.record(id, ev::kStatusChanged, R"({"to":"in_progress","from":"new"})"));
    clock.now += 3600000;
    ASSERT_TRUE(c.record(id, ev::kResolved, R"({"resolution":"done"})"));
    clock.now += 3600000;
    ASSERT_TRUE(c.record(id, ev::kStatusChanged, R"({"to":"closed","from":"resolved"})"));
}

}  // namespace

// (a) A push that creates cases: events get seqs, each new case gets its FF reference from the
// per-year counter, all in one transaction.
TEST(FaultStore, PushCreatingCasesIsAllOrNothing) {
    TempDir dir("push-base");
    std::string base = dir.file("server.db");
    FakeClock clock;
    PushRequest request;
    Caller caller;
    {
        ServerPeer server(clock, base);
        ClientPeer a(clock, "alice", "north");
        a.store->set_meta("device_id", "dalice");
        std::string first = a.create_case(created_body("feedback", "Existing"));
        a.create_case(created_body("aftercare", "Existing 2"));
        synchronize(server, {&a});
        // The batch under test: three new cases and an edit of an existing one.
        clock.now += 60000;
        for (int i = 0; i < 3; ++i) a.create_case(created_body(i % 2 ? "feedback" : "aftercare", "New " + std::to_string(i)));
        ASSERT_TRUE(a.record(first, ev::kNoteAdded, R"({"text":"called back"})"));
        auto req = a.sync->next_push(1000);
        ASSERT_TRUE(req);
        ASSERT_EQ(req->events.size(), 4u);
        request = *req;
        caller = a.caller;
    }
    Scenario sc;
    sc.opts = server_opts();
    sc.now = clock.now;
    sc.op = [&](Store& store) {
        SyncServer server(store, [&] { return sc.now; });
        PushResponse r = server.push(caller, request);
        if (!r.rejected.empty() && std::getenv("FAULT_DEBUG"))
            std::printf("push: %s %s\n", r.rejected[0].code.c_str(), r.rejected[0].reason.c_str());
        if (!r.rejected.empty()) return false;
        if (r.accepted + r.duplicates != static_cast<int>(request.events.size())) return false;
        for (const auto& e : request.events)
            if (e.type == ev::kCaseCreated && r.refs[e.case_id].rfind("FF-2024-", 0) != 0) return false;
        return true;
    };
    run_all_modes("push", base, sc);
    if (::testing::Test::HasFatalFailure()) return;
    // Again with a tiny page cache: writes now happen in the middle of statements too, not only
    // at COMMIT, so every error path inside the transaction is reached.
    sc.cache_pages = 2;
    run_all_modes("push-spill", base, sc);
}

// (a2) The server writes case rows behind the events: materialize() folds every case with
// events above the folded_seq mark and moves the mark, all in one transaction.
TEST(FaultStore, MaterializingCaseRowsIsAllOrNothing) {
    TempDir dir("materialize-base");
    std::string base = dir.file("server.db");
    FakeClock clock;
    {
        ServerPeer server(clock, base);
        ClientPeer a(clock, "alice", "north");
        std::string first = existing_case_caught_up(clock, server, a);
        for (int i = 0; i < 4; ++i) a.create_case(created_body(i % 2 ? "feedback" : "aftercare", "New " + std::to_string(i)));
        ASSERT_TRUE(a.record(first, ev::kNoteAdded, R"({"text":"called back"})"));
        synchronize(server, {&a});  // pushed and pulled, not read: rows are behind
        ASSERT_GT(server.store->unmaterialized(), 0);
    }
    Scenario sc;
    sc.opts = server_opts();
    sc.now = clock.now;
    sc.op = [&](Store& store) {
        Status st = store.materialize();
        return st && store.unmaterialized() == 0;
    };
    run_all_modes("materialize", base, sc);
}

// (a3) A push that reaches materialize_lag writes every pending row inside its own transaction,
// including the rows of cases an earlier, committed push touched. When that transaction fails
// after writing them, those rows are pending again: the retry must write them too (the server's
// list of pending cases must not have forgotten them with the rolled-back rows).
TEST(FaultStore, RowsOfAnEarlierPushSurviveAFailedPushThatMaterialized) {
    TempDir dir("lag-base");
    std::string base = dir.file("server.db");
    FakeClock clock;
    PushRequest note_only, with_new_cases;
    Caller caller;
    {
        ServerPeer server(clock, base);
        ClientPeer a(clock, "alice", "north");
        std::string first = existing_case_caught_up(clock, server, a);
        ASSERT_TRUE(a.record(first, ev::kNoteAdded, R"({"text":"called back"})"));
        for (int i = 0; i < 3; ++i) a.create_case(created_body("aftercare", "New " + std::to_string(i)));
        auto one = a.sync->next_push(1);
        auto all = a.sync->next_push(1000);
        ASSERT_TRUE(one && all);
        ASSERT_EQ(one->events.size(), 1u);
        ASSERT_EQ(all->events.size(), 4u);
        note_only = *one;
        with_new_cases = *all;
        caller = a.caller;
    }
    Scenario sc;
    sc.opts = server_opts();
    sc.opts.materialize_lag = 3;  // the note alone stays pending; the second push writes rows
    sc.now = clock.now;
    auto push = [&](Store& store, const PushRequest& req) {
        SyncServer server(store, [&] { return sc.now; });
        return server.push(caller, req).rejected.empty();
    };
    sc.op = [&](Store& store) { return push(store, note_only) && push(store, with_new_cases); };
    // Two transactions: a fault in the second leaves the first's state.
    Snapshot first_only;
    {
        std::string ref = dir.file("first.db");
        copy_db(base, ref);
        auto s = open_store(ref, sc, false);
        ASSERT_TRUE(s && push(*s, note_only));
        first_only = snapshot_of(*s, sc.tomb_seq_in_compare);
    }
    sc.consistent = [&](const Snapshot& before, const Snapshot& after, const Snapshot& got) {
        if (got == first_only) return ::testing::AssertionSuccess();
        return before_or_after(before, after, got);
    };
    run_all_modes("lag", base, sc);
    if (::testing::Test::HasFatalFailure()) return;
    sc.cache_pages = 2;
    run_all_modes("lag-spill", base, sc);
}

// (b) A retention sweep purging closed cases (each purge: delete events and row, write a
// tombstone with a new seq). The sweep purges case by case, so a failed attempt may leave some
// cases purged: each case must be either untouched or completely purged, and the tombstone seqs
// must follow the counter without gaps.
TEST(FaultStore, RetentionSweepPurgesEachCaseAtomically) {
    TempDir dir("retention-base");
    std::string base = dir.file("server.db");
    FakeClock clock;
    std::vector<std::string> due;
    {
        ServerPeer server(clock, base);
        ClientPeer a(clock, "alice", "north");
        a.store->set_meta("device_id", "dalice");
        for (int i = 0; i < 3; ++i) {
            std::string id = a.create_case(created_body("feedback", "Old " + std::to_string(i)));
            close_case(a, id, clock);
            if (i < 2) due.push_back(id);
        }
        std::string open_case = a.create_case(created_body("aftercare", "Still open"));
        synchronize(server, {&a});
        // The third closed case is on legal hold: due but kept.
        auto all = server.store->all_cases();
        ASSERT_TRUE(all);
        std::string hold_id;
        for (auto& c : *all)
            if (c.status == "closed" && std::find(due.begin(), due.end(), c.id) == due.end()) hold_id = c.id;
        ASSERT_FALSE(hold_id.empty());
        ASSERT_TRUE(server.server->write_server_event(hold_id, ev::kLegalHold, R"({"hold":true,"reason":"dispute"})", "admin"));
    }
    Scenario sc;
    sc.opts = server_opts();
    sc.now = clock.now + 400LL * 86400000;  // 13 months later
    sc.tomb_seq_in_compare = false;          // the order of purges may differ after a partial sweep
    sc.op = [&](Store& store) {
        SyncServer server(store, [&] { return sc.now; });
        RetentionOutcome out = server.run_retention(RetentionPolicy{}, false);
        if (out.held.size() != 1) return false;
        for (const auto& p : out.purged)
            if (!store.is_purged(p.case_id)) return false;  // reported purged but still there
        return store.all_tombstones().size() == due.size();
    };
    sc.consistent = [&](const Snapshot& before, const Snapshot& after, const Snapshot& got) -> ::testing::AssertionResult {
        for (const auto& [id, json] : before.cases) {
            bool purged = got.tombs.count(id) > 0;
            auto events_of = [&](const Snapshot& s) {
                std::map<std::string, std::string> out;
                for (const auto& [eid, v] : s.events)
                    if (v.rfind(id + "|", 0) == 0) out[eid] = v;
                return out;
            };
            if (purged) {
                if (got.cases.count(id) || !events_of(got).empty())
                    return ::testing::AssertionFailure() << "case " << id << " has a tombstone but still has data";
                if (got.tombs.at(id) != after.tombs.at(id))
                    return ::testing::AssertionFailure() << "tombstone of " << id << " differs";
            } else {
                if (!got.cases.count(id) || got.cases.at(id) != json || events_of(got) != events_of(before))
                    return ::testing::AssertionFailure() << "case " << id << " is neither intact nor purged";
            }
        }
        // The sequence counter: tombstones issued in this sweep take last_seq+1, +2, ... with no gap.
        int64_t last_before = std::stoll(before.meta.at("last_seq"));
        int64_t last_got = std::stoll(got.meta.at("last_seq"));
        std::set<int64_t> seqs;
        for (const auto& [id, seq] : got.tomb_seq) seqs.insert(seq);
        if (static_cast<int64_t>(seqs.size()) != last_got - last_before)
            return ::testing::AssertionFailure() << "last_seq moved by " << (last_got - last_before) << " for " << seqs.size()
                                                 << " tombstones";
        int64_t expect = last_before + 1;
        for (int64_t s : seqs)
            if (s != expect++) return ::testing::AssertionFailure() << "gap in tombstone seqs at " << s;
        // folded_seq (the write-behind mark of case rows) may move: the sweep first brings the rows
        // up to date in a transaction of its own. It must never pass the counter.
        for (const auto& [k, v] : before.meta)
            if (k != "last_seq" && k != "folded_seq" && got.meta.at(k) != v) return ::testing::AssertionFailure() << "meta " << k << " changed";
        if (got.meta.count("folded_seq") && std::stoll(got.meta.at("folded_seq")) > last_got)
            return ::testing::AssertionFailure() << "folded_seq is ahead of last_seq";
        return ::testing::AssertionSuccess();
    };
    run_all_modes("retention", base, sc);
}

// (c) A client applying a pulled page holding new events (with seqs), acknowledgements of its
// own pending events, and tombstones: events, purges and the cursor in one transaction.
TEST(FaultStore, ApplyPullOfEventsAndTombstonesIsAllOrNothing) {
    TempDir dir("pull-base");
    std::string base = dir.file("client.db");
    FakeClock clock;
    std::string page_json;
    {
        ServerPeer server(clock);
        ClientPeer a(clock, "alice", "north", base);
        a.store->set_meta("device_id", "dalice");
        ClientPeer b(clock, "bob", "north");
        b.store->set_meta("device_id", "dbob");
        std::vector<std::string> ids;
        for (int i = 0; i < 3; ++i) ids.push_back(b.create_case(created_body("feedback", "B " + std::to_string(i))));
        close_case(b, ids[0], clock);
        close_case(b, ids[1], clock);
        synchronize(server, {&a, &b});
        // Later: bob adds cases and notes, retention purges two closed cases, alice's device
        // has an unsent case it pushes (its ack comes back in the page as a seq).
        clock.now += 400LL * 86400000;
        server.store->set_clock(clock.fn());
        for (int i = 0; i < 3; ++i) b.create_case(created_body("aftercare", "B new " + std::to_string(i)));
        ASSERT_TRUE(b.record(ids[2], ev::kNoteAdded, R"({"text":"more"})"));
        synchronize(server, {&b});
        auto out = server.server->run_retention(RetentionPolicy{}, false);
        ASSERT_EQ(out.purged.size(), 2u);
        std::string mine = a.create_case(created_body("feedback", "A own"));
        auto req = a.sync->next_push(1000);
        ASSERT_TRUE(req);
        auto parsed = push_request_from_json(push_request_to_json(*req));
        server.server->push(a.caller, parsed->request);  // accepted, but the response is "lost"
        PullResponse page = server.server->pull(a.caller, a.sync->cursor(), 5000);
        ASSERT_FALSE(page.more);
        ASSERT_EQ(page.tombstones.size(), 2u);
        ASSERT_GE(page.events.size(), 5u);
        page_json = pull_response_to_json(page);
    }
    auto page = pull_response_from_json(page_json);
    ASSERT_TRUE(page);
    Scenario sc;
    sc.opts = client_opts();
    sc.now = clock.now;
    sc.op = [&](Store& store) {
        SyncClient client(store);
        Status st = client.apply_pull(*page);
        if (!st && std::getenv("FAULT_DEBUG")) std::printf("apply_pull: %s autocommit=%d ext=%d\n", st.error().message.c_str(), sqlite3_get_autocommit(store.db()), sqlite3_extended_errcode(store.db()));
        return st.ok() && client.cursor() == page->cursor;
    };
    run_all_modes("pull", base, sc);
}

// The browser store (rollback journal) after a full disk during COMMIT: SQLite cannot roll the
// database file back either, and its pager stays in the error state while any statement of the
// connection is still active. Once space is back the same Store must work again without a restart
// (the client keeps its unsent events in it).
TEST(FaultStore, ClientStoreRecoversAfterDiskFullDuringCommit) {
    fv::install();
    TempDir dir("recover");
    FakeClock clock;
    std::string path = dir.file("client.db");
    {
        ClientPeer a(clock, "alice", "north", path);
        a.store->set_meta("device_id", "dalice");
        a.create_case(created_body("feedback", "First"));
    }
    int failures = 0;
    for (int64_t n = 1; n < 200; ++n) {
        auto s = Store::open("file:" + path + "?vfs=faulty", client_opts());
        ASSERT_TRUE(s);
        Store& store = **s;
        store.set_clock(clock.fn());
        fv::Plan full;
        full.persistent = true;
        full.error = SQLITE_FULL;
        full.ops = fv::kWrite;
        full.fail_at = n;
        fv::arm(full);
        auto first = store.record_local(store.new_case_id(), "north", "alice", ev::kCaseCreated,
                                        created_body("feedback", "N" + std::to_string(n)), clock.now);
        int64_t hit = fv::injected();
        fv::disarm();
        if (hit == 0) break;
        ++failures;
        g_faults_injected += hit;
        ++g_attempts;
        auto again = store.record_local(store.new_case_id(), "north", "alice", ev::kCaseCreated,
                                        created_body("feedback", "retry " + std::to_string(n)), clock.now);
        ASSERT_TRUE(again.ok()) << "disk full at write " << n << (first.ok() ? "" : " (" + first.error().message + ")")
                                << ": the store stays broken after space is back: " << again.error().message;
        ASSERT_EQ(integrity(store), "ok");
    }
    EXPECT_GT(failures, 0);
}

// Prints the figures for docs/reliability.md.
TEST(FaultStore, ZzReportFigures) {
    std::printf("[fault figures] attempts=%lld faults_injected=%lld\n", static_cast<long long>(g_attempts),
                static_cast<long long>(g_faults_injected));
}
