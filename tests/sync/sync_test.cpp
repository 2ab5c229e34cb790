#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <random>
#include <set>

#include "store/report_builder.h"
#include "store/sqlite_util.h"
#include "sync_harness.h"

using namespace cl;
using namespace cl::test;

namespace {

std::string body_created(const std::string& kind, const std::string& client, const std::string& desc) {
    json::Writer w;
    w.begin_object().kv("kind", kind).kv("description", desc).key("client").begin_object().kv("name", client).kv("channel", "email")
        .end_object().end_object();
    return w.take();
}

std::string body_field(const std::string& field, const std::string& value, const std::string& base) {
    json::Writer w;
    w.begin_object().kv("field", field).kv("value", value).kv("base", base).end_object();
    return w.take();
}

int scale() {
    const char* s = std::getenv("CLOSELOOP_TEST_SCALE");
    return (s && std::string(s) == "small") ? 1 : 3;
}

// n cases created alternately on a and b, a second apart.
std::vector<std::string> create_cases(FakeClock& clock, ClientPeer& a, ClientPeer& b, int n) {
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) {
        ClientPeer& p = i % 2 ? b : a;
        ids.push_back(p.create_case(body_created("feedback", "Client " + std::to_string(i), "case " + std::to_string(i))));
        clock.now += 1000;
    }
    return ids;
}

// The ids of a case's events, in fold order, as the store finds them.
std::vector<std::string> case_event_ids(Store& st, const std::string& case_id) {
    auto got = st.case_events(case_id);
    EXPECT_TRUE(got.ok());
    std::vector<std::string> out;
    if (got.ok())
        for (const auto& e : *got) out.push_back(e.id());
    return out;
}

}  // namespace

TEST(SyncStore, ApplyingTwiceChangesNothing) {
    FakeClock clock;
    ClientPeer a(clock, "alice", "north");
    std::string id = a.create_case(body_created("feedback", "Client A", "Late delivery"));
    auto before = snapshot(*a.store);
    auto evs = a.store->case_events(id);
    ASSERT_TRUE(evs.ok());
    auto r = a.store->apply_events(*evs);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->inserted, 0);
    EXPECT_EQ(r->duplicates, 1);
    EXPECT_EQ(snapshot(*a.store), before);
}

TEST(SyncStore, DuplicateIdWithDifferentBodyIsRefused) {
    FakeClock clock;
    ClientPeer a(clock, "alice", "north");
    std::string id = a.create_case(body_created("feedback", "Client A", "x"));
    auto evs = a.store->case_events(id);
    Event forged = (*evs)[0];
    forged.body = body_created("feedback", "Client B", "y");
    auto r = a.store->apply_events({forged});
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->rejected.size(), 1u);
    EXPECT_EQ(r->rejected[0].error.code, "conflict");
    EXPECT_EQ(a.store->load_case(id)->client.name, "Client A");
}

TEST(SyncStore, QueryFiltersAndSearch) {
    FakeClock clock;
    ClientPeer a(clock, "alice", "north");
    for (int i = 0; i < 30; ++i) {
        clock.now += 60000;
        a.create_case(body_created(i % 2 ? "feedback" : "aftercare", "Client " + std::to_string(i), i == 7 ? "Broken boiler" : "ok"));
    }
    CaseQuery q;
    q.kind = "feedback";
    EXPECT_EQ(a.store->count_cases(q), 15);
    q = CaseQuery{};
    q.text = "BOILER";
    auto rows = a.store->query_cases(q);
    ASSERT_TRUE(rows.ok());
    ASSERT_EQ(rows->size(), 1u);
    EXPECT_EQ(rows->at(0).client_name, "Client 7");
    // The search text holds the case's texts apart: a term runs within one of them, or across
    // the space between two, not across their joint.
    const std::string noted = a.create_case(body_created("feedback", "Client N", "kettle"));
    ASSERT_TRUE(a.record(noted, ev::kNoteAdded, R"({"text":"new tap"})").ok());
    ASSERT_TRUE(a.record(noted, ev::kNoteAdded, R"({"text":"washer fitted"})").ok());
    for (const auto& [term, hits] : std::vector<std::pair<const char*, size_t>>{{"tap washer", 1}, {"tapwasher", 0}}) {
        q = CaseQuery{};
        q.text = term;
        rows = a.store->query_cases(q);
        ASSERT_TRUE(rows.ok());
        EXPECT_EQ(rows->size(), hits) << term;
    }
    q = CaseQuery{};
    q.sort = "created";
    q.descending = true;
    q.limit = 5;
    rows = a.store->query_cases(q);
    ASSERT_EQ(rows->size(), 5u);
    EXPECT_EQ(rows->at(0).client_name, "Client N");
    q.teams = {"south"};
    EXPECT_EQ(a.store->count_cases(q), 0);
}

// The inbox's sorts walk an index in order and stop after the page, whatever the page's size:
// no statement of query_cases() may sort (SQLite's sort counter). A tie-breaking id missing from
// an index made SQLite sort each run of equal keys, and for a page of one or two rows sort the
// whole table instead (the planner's estimate does not depend on the table's size).
TEST(SyncStore, InboxSortsWalkAnIndexAtEveryPageSize) {
    FakeClock clock;
    ClientPeer a(clock, "alice", "north");
    for (int i = 0; i < 40; ++i) {
        clock.now += 60000;
        a.create_case(body_created(i % 2 ? "feedback" : "aftercare", "Client " + std::to_string(i % 7), "ok"));
    }
    sqlite3* db = a.store->db();
    auto sorts_since_last = [db] {
        int n = 0;
        for (sqlite3_stmt* st = sqlite3_next_stmt(db, nullptr); st; st = sqlite3_next_stmt(db, st))
            n += sqlite3_stmt_status(st, SQLITE_STMTSTATUS_SORT, 1);  // and reset
        return n;
    };
    struct Case { const char* sort; const char* team; };
    for (const Case& c : {Case{"due", ""}, Case{"due", "north"}, Case{"updated", ""}, Case{"reference", ""}, Case{"client", ""}})
        for (bool descending : {false, true})
            for (int limit : {1, 2, 50}) {
                CaseQuery q;
                q.status = "open";
                q.sort = c.sort;
                q.team = c.team;
                q.descending = descending;
                q.limit = limit;
                (void)sorts_since_last();
                auto rows = a.store->query_cases(q);
                ASSERT_TRUE(rows.ok());
                EXPECT_EQ(rows->size(), static_cast<size_t>(std::min(limit, 40)));
                EXPECT_EQ(sorts_since_last(), 0) << "sort " << c.sort << " team '" << c.team << "' "
                                                 << (descending ? "descending" : "ascending") << " limit " << limit;
            }
    // The sorts that are not walkable do sort (the counter sees a sort when there is one).
    CaseQuery q;
    q.sort = "created";
    q.limit = 1;
    (void)sorts_since_last();
    ASSERT_TRUE(a.store->query_cases(q).ok());
    EXPECT_GT(sorts_since_last(), 0);
}

// The inbox refills one vector of rows in place (its strings reused): every page must come out
// exactly as a fresh query's, whether the vector held more rows, fewer, longer or shorter texts,
// and through both steps of a text search (the walk interrupted on its budget, then the index).
TEST(SyncStore, AQueryIntoAKeptVectorGivesTheFreshQuerysRows) {
    FakeClock clock;
    ClientPeer a(clock, "alice", "north");
    for (int i = 0; i < 60; ++i) {
        clock.now += 60000;
        std::string desc = (i % 3 ? "short" : std::string(40 + i * 7, 'x')) + (i % 4 == 0 ? " boiler" : "");
        const std::string id = a.create_case(body_created(i % 2 ? "feedback" : "aftercare", "Client " + std::to_string(i), desc));
        if (i % 5 == 0) {
            ASSERT_TRUE(a.record(id, ev::kAssigned, R"({"assignee":"agent-)" + std::to_string(i) + R"(","base":""})").ok());
        }
        if (i % 7 == 3) {
            ASSERT_TRUE(a.record(id, ev::kEscalated, R"({"reason":"complaint","to":"manager"})").ok());
        }
    }
    a.store->set_search_walk_rows(10);  // a rare word runs out of the walk's budget: second step
    auto fields = [](const CaseRow& x) {  // every field of a row, in one comparable tuple
        return std::tie(x.id, x.reference, x.kind, x.team, x.status, x.priority, x.category, x.assignee, x.client_name,
                        x.title, x.description, x.created_at, x.updated_at, x.next_due, x.closed_at, x.overdue_steps,
                        x.needs_escalation, x.escalated, x.legal_hold, x.conflicts);
    };
    auto same = [&](const CaseRow& x, const CaseRow& y) { return fields(x) == fields(y); };
    // Each row as the cases table holds it, read on its own.
    auto row_of = [&](const std::string& id) {
        sql::Stmt r(a.store->db(),
                    "SELECT reference, kind, team, status, priority, category, assignee, client_name, title, description,"
                    " created_at, updated_at, next_due, closed_at, overdue_steps, needs_escalation, escalated, legal_hold,"
                    " conflicts FROM cases WHERE id = ?1");
        r.bind(1, id);
        CaseRow x;
        if (!r.step()) return x;
        x.id = id;
        std::string* texts[] = {&x.reference, &x.kind, &x.team, &x.status, &x.priority, &x.category,
                                &x.assignee, &x.client_name, &x.title, &x.description};
        for (int c = 0; c < 10; ++c) *texts[c] = r.text(c);
        x.created_at = r.i64(10), x.updated_at = r.i64(11), x.next_due = r.i64(12), x.closed_at = r.i64(13);
        x.overdue_steps = static_cast<int>(r.i64(14));
        x.needs_escalation = r.i64(15) != 0, x.escalated = r.i64(16) != 0, x.legal_hold = r.i64(17) != 0;
        x.conflicts = static_cast<int>(r.i64(18));
        return x;
    };
    std::vector<CaseRow> kept;
    struct Step { const char* sort; bool descending; int limit; int offset; const char* kind; const char* text; };
    const Step steps[] = {
        {"created", false, 50, 0, "", ""},    {"created", true, 50, 0, "", ""},  {"updated", false, 3, 10, "", ""},
        {"due", false, 40, 0, "feedback", ""}, {"client", true, 7, 0, "", ""},   {"due", false, 50, 0, "", "boiler"},
        {"created", false, 20, 0, "", "client 17"}, {"due", false, 10, 0, "", "nothing-here"}, {"updated", true, 60, 5, "", ""},
        {"created", false, 0, 0, "", ""},     {"client", false, 25, 30, "", ""}};
    for (const Step& st : steps) {
        CaseQuery q;
        q.sort = st.sort;
        q.descending = st.descending;
        q.limit = st.limit;
        q.offset = st.offset;
        q.kind = st.kind;
        q.text = st.text;
        q.now = clock.now;
        auto fresh = a.store->query_cases(q);
        ASSERT_TRUE(fresh.ok());
        ASSERT_TRUE(a.store->query_cases(q, kept).ok());
        ASSERT_EQ(kept.size(), fresh->size()) << st.sort << " limit " << st.limit << " text '" << st.text << "'";
        for (size_t i = 0; i < kept.size(); ++i) {
            EXPECT_TRUE(same(kept[i], fresh->at(i))) << st.sort << " limit " << st.limit << " text '" << st.text << "' row " << i;
            EXPECT_TRUE(same(kept[i], row_of(kept[i].id))) << "row " << i << " is not the case's row: " << kept[i].id;
        }
    }
}

// The browser's store (StoreOptions::exclusive) keeps its lock while it is open: another
// connection is refused with "database is locked" instead of writing under a page cache that no
// longer checks the file. Its journal stays empty between transactions (it is saved to IndexedDB
// with the database), and everything is there after a reopen.
TEST(SyncStore, AnExclusiveDeviceStoreKeepsItsFileToItself) {
    const std::string path = ::testing::TempDir() + "closeloop_exclusive_test.db";
    for (const char* suffix : {"", "-journal"}) std::remove((path + suffix).c_str());
    FakeClock clock;
    auto open = [&](bool exclusive, int busy_ms) {
        StoreOptions o;
        o.server = false;
        o.wal = false;
        o.exclusive = exclusive;
        o.busy_timeout_ms = busy_ms;
        return Store::open(path, o);
    };
    auto file_size = [](const std::string& p) -> long {
        FILE* f = std::fopen(p.c_str(), "rb");
        if (!f) return -1;
        std::fseek(f, 0, SEEK_END);
        long n = std::ftell(f);
        std::fclose(f);
        return n;
    };
    std::vector<std::string> ids;
    {
        auto s = open(true, 5000);
        ASSERT_TRUE(s.ok()) << s.error().message;
        (*s)->set_clock(clock.fn());
        for (int i = 0; i < 20; ++i) {
            clock.now += 1000;
            const std::string id = (*s)->new_case_id();
            auto e = (*s)->record_local(id, "north", "alice", ev::kCaseCreated,
                                        body_created("feedback", "Client " + std::to_string(i), std::string(3000, 'x')), clock.now);
            ASSERT_TRUE(e.ok()) << e.error().message;
            ids.push_back(id);
        }
        EXPECT_LE(file_size(path + "-journal"), 0) << "the journal keeps its pages after the commit";
        auto other = open(false, 50);
        ASSERT_FALSE(other.ok()) << "a second connection opened a store that keeps its file to itself";
        EXPECT_NE(other.error().message.find("locked"), std::string::npos) << other.error().message;
    }
    auto again = open(true, 5000);
    ASSERT_TRUE(again.ok()) << again.error().message;
    EXPECT_EQ((*again)->case_count(), 20);
    for (const auto& id : ids) EXPECT_TRUE((*again)->load_case(id).has_value()) << id;
    again->reset();
    auto shared = open(false, 5000);  // closed: the lock went with it
    ASSERT_TRUE(shared.ok()) << shared.error().message;
    EXPECT_EQ((*shared)->case_count(), 20);
    shared->reset();
    for (const char* suffix : {"", "-journal"}) std::remove((path + suffix).c_str());
}

// The inbox's counts (Store::inbox_counts) are exact whatever the number of cases, agree with the
// lists the Overdue and Escalations filters show, and are read from indexes alone: every
// statement's plan is a covering index search, never a walk of the case rows.
TEST(SyncStore, InboxCountsAreExactAndReadFromIndexes) {
    FakeClock clock;
    ClientPeer a(clock, "alice", "north");
    std::mt19937 rng(5);
    for (int i = 0; i < 240; ++i) {
        clock.now += 17 * 60000 + static_cast<int64_t>(rng() % 600000);  // spread over days: some overdue later
        const int kind = static_cast<int>(rng() % 6);
        json::Writer w;
        w.begin_object().kv("kind", kind == 0 ? "aftercare" : "feedback").kv("description", "case " + std::to_string(i));
        if (kind == 1) w.kv("priority", "urgent");  // needs escalation at once
        w.key("client").begin_object().kv("name", "Client " + std::to_string(i)).kv("channel", "email").end_object().end_object();
        const std::string id = a.create_case(w.take());
        if (kind == 2) {
            ASSERT_TRUE(a.record(id, ev::kEscalated, R"({"reason":"complaint","to":"manager"})").ok());
        } else if (kind == 3) {
            ASSERT_TRUE(a.record(id, ev::kResolved, R"({"resolution":"done"})").ok());
        }
    }
    auto open_rows = [&] {
        CaseQuery q;
        q.status = "open";
        q.limit = 100000;
        auto rows = a.store->query_cases(q);
        EXPECT_TRUE(rows.ok());
        return rows ? *rows : std::vector<CaseRow>{};
    };
    int nonzero = 0;
    for (int64_t later : {int64_t(0), int64_t(3600000), int64_t(86400000), int64_t(5 * 86400000LL), int64_t(60 * 86400000LL)}) {
        const int64_t now = clock.now + later, eod = now + 6 * 3600000;
        Store::InboxCounts want;
        for (const CaseRow& r : open_rows()) {
            const bool overdue = r.next_due > 0 && r.next_due < now, flagged = r.needs_escalation || r.escalated;
            want.due_by_end_of_day += r.next_due > 0 && r.next_due <= eod;
            want.overdue += overdue;
            want.escalations += flagged;
            want.attention += overdue || flagged;
        }
        auto got = a.store->inbox_counts(now, eod);
        ASSERT_TRUE(got.ok()) << got.error().message;
        const std::string at = "at +" + std::to_string(later / 3600000) + " h";
        EXPECT_EQ(got->due_by_end_of_day, want.due_by_end_of_day) << at;
        EXPECT_EQ(got->overdue, want.overdue) << at;
        EXPECT_EQ(got->escalations, want.escalations) << at;
        EXPECT_EQ(got->attention, want.attention) << at;
        nonzero += want.overdue > 0 && want.overdue < want.attention && want.due_by_end_of_day > want.overdue;
        // the filters' lists hold the same cases
        CaseQuery q;
        q.status = "open";
        q.overdue_only = true;
        q.now = now;
        EXPECT_EQ(a.store->count_cases(q), got->overdue) << at;
        q = CaseQuery{};
        q.escalation_only = true;
        EXPECT_EQ(a.store->count_cases(q), got->escalations) << at;
    }
    EXPECT_GT(nonzero, 0) << "no clock reading had overdue, due-today and flagged cases apart: the data tests too little";
    // Every statement that counts reads an index alone.
    sqlite3* db = a.store->db();
    std::string counting;
    for (sqlite3_stmt* st = sqlite3_next_stmt(db, nullptr); st; st = sqlite3_next_stmt(db, st))
        if (std::string text = sqlite3_sql(st); text.find("next_due >= ?1 AND next_due <= ?2") != std::string::npos) counting = text;
    ASSERT_FALSE(counting.empty());
    sql::Stmt plan(db, "EXPLAIN QUERY PLAN " + counting);
    int reads = 0;
    while (plan.step()) {
        const std::string detail = plan.text(3);
        if (detail.find(" cases") == std::string::npos) continue;
        ++reads;
        EXPECT_NE(detail.find("USING COVERING INDEX"), std::string::npos) << detail;
        EXPECT_EQ(detail.rfind("SEARCH", 0), 0u) << "a walk of a whole table or index: " << detail;
    }
    EXPECT_EQ(reads, 5);
}

TEST(SyncStore, PersistsAcrossReopenOnDisk) {
    std::string path = ::testing::TempDir() + "closeloop_reopen_test.db";
    std::remove(path.c_str());
    FakeClock clock;
    std::string id, device;
    {
        ClientPeer a(clock, "alice", "north", path);
        id = a.create_case(body_created("feedback", "Client A", "persist me"));
        device = a.store->device_id();
        ASSERT_TRUE(a.record(id, ev::kNoteAdded, R"({"text":"a note"})").ok());
    }
    ClientPeer again(clock, "alice", "north", path);
    EXPECT_EQ(again.store->device_id(), device);
    auto c = again.store->load_case(id);
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->notes.size(), 1u);
    EXPECT_EQ(again.store->pending_count(), 2);
    // counters continue: the next event never reuses an id
    auto e = again.record(id, ev::kNoteAdded, R"({"text":"another"})");
    ASSERT_TRUE(e.ok());
    EXPECT_EQ(e->counter, 3u);
    std::remove(path.c_str());
}

TEST(Sync, TwoDevicesConvergeWithCanonicalReferences) {
    FakeClock clock;
    ServerPeer s(clock);
    ClientPeer a(clock, "alice", "north"), b(clock, "bob", "north");
    std::string ca = a.create_case(body_created("feedback", "Client A", "from alice"));
    clock.now += 1000;
    std::string cb = b.create_case(body_created("aftercare", "Client B", "from bob"));
    synchronize(s, {&a, &b});
    auto sa = snapshot(*a.store), sb = snapshot(*b.store), ss = snapshot(*s.store);
    EXPECT_EQ(sa, sb);
    EXPECT_EQ(sa, ss);
    ASSERT_EQ(sa.size(), 2u);
    EXPECT_EQ(a.store->load_case(ca)->reference, "FF-2024-0001");
    EXPECT_EQ(a.store->load_case(cb)->reference, "FF-2024-0002");
    EXPECT_TRUE(a.store->load_case("FF-2024-0002").has_value());  // searchable by either
    EXPECT_EQ(a.store->pending_count(), 0);
    EXPECT_EQ(b.store->pending_count(), 0);
}

TEST(Sync, ConcurrentEditsMergeAndShowTheConflict) {
    FakeClock clock;
    ServerPeer s(clock);
    ClientPeer a(clock, "alice", "north"), b(clock, "bob", "north");
    std::string id = a.create_case(body_created("feedback", "Client A", "original"));
    synchronize(s, {&a, &b});
    auto created = a.store->case_events(id)->front().id();
    clock.now += 60000;
    ASSERT_TRUE(a.record(id, ev::kFieldSet, body_field("description", "alice's version", created)).ok());
    clock.now += 1000;
    ASSERT_TRUE(b.record(id, ev::kFieldSet, body_field("description", "bob's version", created)).ok());
    ASSERT_TRUE(b.record(id, ev::kNoteAdded, R"({"text":"bob's note"})").ok());
    synchronize(s, {&a, &b});
    auto ca = a.store->load_case(id), cbx = b.store->load_case(id);
    EXPECT_EQ(case_to_json(*ca), case_to_json(*cbx));
    EXPECT_EQ(ca->description, "bob's version");
    ASSERT_EQ(ca->conflicts.size(), 1u);
    EXPECT_EQ(ca->conflicts[0].other_value, "alice's version");
    EXPECT_EQ(ca->notes.size(), 1u);
}

TEST(Sync, RetriesAndDuplicatesAreHarmless) {
    FakeClock clock;
    ServerPeer s(clock);
    ClientPeer a(clock, "alice", "north");
    std::string id = a.create_case(body_created("feedback", "Client A", "x"));
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(a.record(id, ev::kNoteAdded, "{\"text\":\"n" + std::to_string(i) + "\"}").ok());
    auto req = a.sync->next_push();
    ASSERT_TRUE(req.has_value());
    PushResponse first = s.server->push(a.caller, *req);
    EXPECT_EQ(first.accepted, 6);
    PushResponse retry = s.server->push(a.caller, *req);  // the answer to the first was "lost"
    EXPECT_EQ(retry.accepted, 0);
    EXPECT_EQ(retry.duplicates, 6);
    EXPECT_EQ(retry.refs.at(id), first.refs.at(id));
    EXPECT_EQ(s.store->event_count(), 7);  // 6 + the server's ref.assigned
    ASSERT_TRUE(a.sync->apply_push(*req, retry).ok());
    EXPECT_EQ(a.store->pending_count(), 0);
}

TEST(Sync, ForgedAuthorAndForeignTeamAreRefused) {
    FakeClock clock;
    ServerPeer s(clock);
    ClientPeer a(clock, "alice", "north");
    std::string id = a.create_case(body_created("feedback", "Client A", "x"));
    auto req = *a.sync->next_push();
    Caller mallory{"mallory", "agent", {"north"}};
    PushResponse r = s.server->push(mallory, req);
    ASSERT_EQ(r.rejected.size(), 1u);
    EXPECT_EQ(r.rejected[0].code, "forbidden");
    Caller alice_south{"alice", "agent", {"south"}};
    r = s.server->push(alice_south, req);
    ASSERT_EQ(r.rejected.size(), 1u);
    EXPECT_EQ(r.rejected[0].code, "forbidden");
    EXPECT_EQ(s.store->event_count(), 0);
    Caller analyst{"alice", "analyst", {"north"}};  // analysts read, never write
    EXPECT_EQ(s.server->push(analyst, req).rejected.size(), 1u);
    // and a pull by another team sees nothing of north
    EXPECT_EQ(s.server->push(a.caller, req).accepted, 1);
    PullResponse p = s.server->pull(Caller{"carol", "agent", {"south"}}, 0, 100);
    EXPECT_TRUE(p.events.empty());
    EXPECT_GT(p.cursor, 0);
}

TEST(Sync, AnIdRepeatedInOneBatchWithOtherContentIsAConflict) {
    FakeClock clock;
    ServerPeer s(clock);
    ClientPeer a(clock, "alice", "north");
    a.create_case(body_created("feedback", "Client A", "x"));
    auto req = *a.sync->next_push();
    Event same = req.events[0], other = req.events[0];
    other.clock.logical += 1;
    req.events.push_back(same);
    req.events.push_back(other);
    PushResponse r = s.server->push(a.caller, req);
    EXPECT_EQ(r.accepted, 1);
    EXPECT_EQ(r.duplicates, 1);
    ASSERT_EQ(r.rejected.size(), 1u);
    EXPECT_EQ(r.rejected[0].code, "conflict");
    EXPECT_EQ(r.rejected[0].id, same.id());
}

// Device ids are visible to teammates (in pulled events and provisional case ids) and counters
// are sequential: a user who pushed events under a colleague's device id and next counters made
// the colleague's real events conflicts, refused for good. A device belongs to its first user.
TEST(Sync, ADeviceBelongsToTheUserWhoFirstPushedFromIt) {
    const std::string path = ::testing::TempDir() + "closeloop_device_owner_test.db";
    for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
    FakeClock clock;
    ClientPeer a(clock, "alice", "north"), m(clock, "mallory", "north");
    const std::string device = a.store->device_id();
    {
        ServerPeer s(clock, path);
        std::string id = a.create_case(body_created("feedback", "Client A", "x"));
        synchronize(s, {&a, &m});
        // Mallory forges alice's next two events on a case of her own.
        std::string own = m.create_case(body_created("feedback", "Client M", "y"));
        auto req = *m.sync->next_push();
        for (uint64_t counter : {2, 3}) {
            Event forged = req.events[0];
            forged.device = device;
            forged.counter = counter;
            req.events.push_back(forged);
        }
        PushResponse r = s.server->push(m.caller, req);
        EXPECT_EQ(r.accepted, 1) << "mallory's own event";
        ASSERT_EQ(r.rejected.size(), 2u);
        for (const auto& x : r.rejected) {
            EXPECT_EQ(x.code, "forbidden");
            EXPECT_EQ(x.reason, "device '" + device + "' belongs to another user");
        }
        // Alice's real events 2 and 3 arrive.
        ASSERT_TRUE(a.record(id, ev::kNoteAdded, R"({"text":"first"})").ok());
        ASSERT_TRUE(a.record(id, ev::kNoteAdded, R"({"text":"second"})").ok());
        a.stats = SyncStats{};
        push_all(s, a);
        EXPECT_EQ(a.stats.pushed, 2);
        EXPECT_TRUE(a.stats.rejections.empty());
        EXPECT_EQ(a.store->pending_count(), 0);
        // A file from before the devices table: the upgrade fills it from the stored events.
        ASSERT_TRUE(sql::exec(s.store->db(), "DROP TABLE devices; PRAGMA user_version=11;").ok());
    }
    ServerPeer s(clock, path);
    EXPECT_EQ(s.store->device_owner(device), "alice");
    EXPECT_EQ(s.store->device_owner(m.store->device_id()), "mallory");
    EXPECT_EQ(s.store->device_owner("no-such-device"), "");
    for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
}

// An agent who worked offline for a team she has since left: the server refuses those changes,
// and the ones she recorded after them, for her new team, must still get through in the same
// sync (the app used to stop pushing after a batch in which everything was refused).
TEST(Sync, RefusedChangesDoNotHoldBackTheOnesRecordedAfterThem) {
    FakeClock clock;
    ServerPeer s(clock);
    ClientPeer a(clock, "alice", "north");
    for (int i = 0; i < 25; ++i) a.create_case(body_created("feedback", "North client " + std::to_string(i), "x"));
    a.caller.teams = {"south"};  // an admin moved her while she was offline
    a.team = "south";
    std::vector<std::string> south;
    for (int i = 0; i < 5; ++i) south.push_back(a.create_case(body_created("feedback", "South client " + std::to_string(i), "x")));

    // A batch whose answer is lost is asked for again unchanged.
    a.sync->begin_sync();
    auto lost = a.sync->next_push(10);
    auto again = a.sync->next_push(10);
    ASSERT_TRUE(lost && again);
    ASSERT_EQ(lost->events.size(), 10u);
    EXPECT_EQ(lost->events.front().id(), again->events.front().id());
    EXPECT_EQ(lost->events.back().id(), again->events.back().id());

    for (int sync = 0; sync < 2; ++sync) {
        a.stats = SyncStats{};
        push_all(s, a, 10);
        EXPECT_EQ(a.stats.pushed, sync == 0 ? 5 : 0) << "sync " << sync;
        ASSERT_EQ(a.stats.rejections.size(), 25u) << "each refused change reported once per sync";
        for (const auto& r : a.stats.rejections) EXPECT_EQ(r.code, "forbidden") << r.reason;
        EXPECT_EQ(a.store->pending_count(), 25) << "refused changes stay on the device";
    }
    for (const auto& id : south) {
        Store::CaseFacts f = s.store->case_facts(id);
        EXPECT_EQ(f.team, "south") << id << " did not reach the server";
    }
}

TEST(Sync, RetentionPurgeReachesDevicesAndLaterPushesAreRefused) {
    FakeClock clock;
    ServerPeer s(clock);
    ClientPeer a(clock, "alice", "north"), b(clock, "bob", "north");
    std::string id = a.create_case(body_created("feedback", "Client A", "old case"));
    std::string keep = a.create_case(body_created("feedback", "Client K", "open case"));
    ASSERT_TRUE(a.record(id, ev::kResolved, R"({"resolution":"fixed"})").ok());
    ASSERT_TRUE(a.record(id, ev::kStatusChanged, R"({"to":"closed","from":"resolved"})").ok());
    synchronize(s, {&a, &b});
    ASSERT_TRUE(b.store->load_case(id).has_value());
    // b goes offline and edits the case; a year and a bit passes
    ASSERT_TRUE(b.record(id, ev::kNoteAdded, R"({"text":"offline note"})").ok());
    clock.now += 400LL * 24 * 3600 * 1000;
    RetentionPolicy policy;
    auto dry = s.server->run_retention(policy, true);
    EXPECT_EQ(dry.purged.size(), 1u);
    EXPECT_TRUE(s.store->load_case(id).has_value());  // dry run changed nothing
    auto real = s.server->run_retention(policy, false);
    ASSERT_EQ(real.purged.size(), 1u);
    EXPECT_FALSE(s.store->load_case(id).has_value());
    EXPECT_TRUE(s.store->load_case(keep).has_value());
    synchronize(s, {&a, &b});
    EXPECT_FALSE(a.store->load_case(id).has_value());
    EXPECT_FALSE(b.store->load_case(id).has_value());
    EXPECT_TRUE(b.store->load_case(keep).has_value());
    EXPECT_EQ(b.stats.dropped + (b.store->is_purged(id) ? 0 : 1), 1);  // the offline note was refused and dropped
    EXPECT_EQ(b.store->pending_count(), 0);
    auto tombs = b.store->all_tombstones();
    ASSERT_EQ(tombs.size(), 1u);
    EXPECT_EQ(tombs[0].case_id, id);
    EXPECT_EQ(tombs[0].reason, "retention");
}

// An admin runs the retention sweep from the command line beside a live server: the command has
// its own connection to the file. The server's memory of the case (not purged, its team, its
// fold) must not let a late device's note in afterwards, and the server must not list the case.
TEST(Sync, APurgeByAnotherConnectionIsSeenByTheLiveServer) {
    const std::string path = ::testing::TempDir() + "closeloop_two_connections_test.db";
    for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
    FakeClock clock;
    ClientPeer a(clock, "alice", "north"), b(clock, "bob", "north");
    std::string id, keep;
    {
        ServerPeer live(clock, path);
        id = a.create_case(body_created("feedback", "Client A", "old case"));
        keep = a.create_case(body_created("feedback", "Client K", "open case"));
        ASSERT_TRUE(a.record(id, ev::kResolved, R"({"resolution":"fixed"})").ok());
        ASSERT_TRUE(a.record(id, ev::kStatusChanged, R"({"to":"closed","from":"resolved"})").ok());
        synchronize(live, {&a, &b});
        ASSERT_TRUE(live.store->load_case(id).has_value());  // folded and its facts cached
        clock.now += 400LL * 24 * 3600 * 1000;
        {
            ServerPeer command(clock, path);  // closeloop-server retention run --data ...
            auto swept = command.server->run_retention(RetentionPolicy{}, false);
            ASSERT_EQ(swept.purged.size(), 1u);
        }
        ASSERT_TRUE(b.record(id, ev::kNoteAdded, R"({"text":"late note"})").ok());
        b.stats = SyncStats{};
        push_all(live, b);
        EXPECT_EQ(b.stats.pushed, 0) << "a note for a purged case was let in";
        EXPECT_EQ(b.stats.dropped, 1);
        EXPECT_FALSE(live.store->load_case(id).has_value());
        EXPECT_TRUE(live.store->load_case(keep).has_value());
        pull_all(live, b);
        EXPECT_FALSE(b.store->load_case(id).has_value());
        // New work after the sweep still gets a seq above the command's tombstone and a reference.
        std::string fresh = a.create_case(body_created("feedback", "Client N", "new case"));
        synchronize(live, {&a, &b});
        ASSERT_TRUE(b.store->load_case(fresh).has_value());
        EXPECT_EQ(a.store->pending_count(), 0);
    }
    for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
}

// A sweep decides from the case rows (their closure time, kind and legal hold) and learns the
// files from the events it deletes. Rows written before they kept the closure time are folded
// instead: both ways must reach the same outcome, on a dry run and for real.
TEST(Sync, RetentionDecidesFromCaseRowsAsAFoldWould) {
    FakeClock clock;
    ServerPeer s1(clock), s2(clock);
    ClientPeer a(clock, "alice", "north");
    const std::string sha1(64, 'a'), sha2(64, 'b');
    auto attach = [&](const std::string& id, const std::string& sha) {
        ASSERT_TRUE(a.record(id, ev::kAttachmentAdded, R"({"name":"photo.png","type":"image/png","sha256":")" + sha + R"(","size":10})").ok());
    };
    std::string closed = a.create_case(body_created("feedback", "Client A", "closed, two files"));
    attach(closed, sha1);
    attach(closed, sha2);
    clock.now += 3600 * 1000;  // closed and resolved an hour after creation
    ASSERT_TRUE(a.record(closed, ev::kStatusChanged, R"({"to":"closed","from":"new"})").ok());
    std::string resolved = a.create_case(body_created("aftercare", "Client B", "resolved only"));
    ASSERT_TRUE(a.record(resolved, ev::kResolved, R"({"resolution":"fixed"})").ok());
    std::string held = a.create_case(body_created("feedback", "Client C", "held"));
    ASSERT_TRUE(a.record(held, ev::kStatusChanged, R"({"to":"closed","from":"new"})").ok());
    std::string open = a.create_case(body_created("feedback", "Client D", "still open"));
    clock.now += 200LL * 24 * 3600 * 1000;
    std::string recent = a.create_case(body_created("feedback", "Client E", "closed later"));
    ASSERT_TRUE(a.record(recent, ev::kStatusChanged, R"({"to":"closed","from":"new"})").ok());
    synchronize(s1, {&a});
    ASSERT_TRUE(s1.server->write_server_event(held, ev::kLegalHold, R"({"hold":true,"reason":"dispute"})", "admin").ok());
    // s2 holds the same events, with rows as a store from before the closure column wrote them
    auto all = s1.store->events_after(0, 1000);
    ASSERT_TRUE(all.ok());
    std::vector<Event> evs;
    for (auto& se : *all) evs.push_back(se.event);
    ASSERT_TRUE(s2.store->apply_events(evs).ok());
    ASSERT_TRUE(s2.store->materialize().ok());
    ASSERT_TRUE(sql::exec(s2.store->db(), "UPDATE cases SET retention_from=-1").ok());

    clock.now = kT0 + 400LL * 24 * 3600 * 1000;
    auto summary = [](const RetentionOutcome& o) {
        std::set<std::string> out;
        for (const auto* list : {&o.purged, &o.held})
            for (auto i : *list) {
                std::sort(i.attachments.begin(), i.attachments.end());
                std::string line = (list == &o.purged ? "purged " : "held ") + i.case_id + " " + i.reference + " " + i.kind + " " +
                                   i.team + " " + std::to_string(i.closed_at);
                for (auto& sha : i.attachments) line += " " + sha.substr(0, 4);
                out.insert(line);
            }
        return out;
    };
    RetentionPolicy policy;
    auto dry1 = s1.server->run_retention(policy, true), dry2 = s2.server->run_retention(policy, true);
    EXPECT_EQ(summary(dry1), summary(dry2));
    auto real1 = s1.server->run_retention(policy, false), real2 = s2.server->run_retention(policy, false);
    EXPECT_EQ(summary(real1), summary(real2));

    std::set<std::string> purged;
    for (auto& i : real1.purged) purged.insert(i.case_id);
    EXPECT_EQ(purged, (std::set<std::string>{closed, resolved}));
    ASSERT_EQ(real1.held.size(), 1u);
    EXPECT_EQ(real1.held[0].case_id, held);
    for (auto& i : real1.purged) {
        auto files = i.attachments;
        std::sort(files.begin(), files.end());
        const std::vector<std::string> expected = i.case_id == closed ? std::vector<std::string>{sha1, sha2} : std::vector<std::string>{};
        EXPECT_EQ(files, expected) << i.case_id;
        EXPECT_EQ(i.closed_at, kT0 + 3600 * 1000);
    }
    for (ServerPeer* s : {&s1, &s2}) {
        EXPECT_TRUE(s->store->is_purged(closed) && s->store->is_purged(resolved));
        EXPECT_FALSE(s->store->is_purged(held) || s->store->is_purged(open) || s->store->is_purged(recent));
        auto tombs = s->store->all_tombstones();
        ASSERT_EQ(tombs.size(), 2u);
        for (auto& t : tombs) {
            auto it = std::find_if(real1.purged.begin(), real1.purged.end(), [&](auto& i) { return i.case_id == t.case_id; });
            ASSERT_NE(it, real1.purged.end());
            EXPECT_EQ(t.closed_at, it->closed_at);
        }
    }
}

// Migration 7 moves the case rows to a rowid table (a store from before kept them WITHOUT ROWID,
// without the closure column): the rows come across unchanged, marked for a fold by the sweep.
TEST(SyncStore, CaseRowsOfASchema6StoreAreMigratedAndSwept) {
    std::string path = ::testing::TempDir() + "closeloop_schema6_test.db";
    std::remove(path.c_str());
    FakeClock clock;
    ClientPeer a(clock, "alice", "north");
    std::string old_case = a.create_case(body_created("feedback", "Client A", "closed long ago"));
    ASSERT_TRUE(a.record(old_case, ev::kAttachmentAdded, R"({"name":"f","type":"text/plain","sha256":")" + std::string(64, 'c') + R"(","size":1})").ok());
    ASSERT_TRUE(a.record(old_case, ev::kStatusChanged, R"({"to":"closed","from":"new"})").ok());
    std::string open_case = a.create_case(body_created("aftercare", "Client B", "open"));
    std::vector<std::pair<std::string, std::string>> rows_before;
    const char* kRowColumns = "id, reference, kind, team, status, priority, category, assignee, client_name, title, description,"
                              " created_at, updated_at, closed_at, next_due, overdue_steps, needs_escalation, escalated,"
                              " legal_hold, conflicts, search, json";
    auto rows_of = [&](sqlite3* db) {
        std::vector<std::pair<std::string, std::string>> out;
        sql::Stmt q(db, (std::string("SELECT id, json_array(") + kRowColumns + ") FROM cases ORDER BY id").c_str());
        while (q.step()) out.emplace_back(q.text(0), q.text(1));
        return out;
    };
    {
        ServerPeer s(clock, path);
        synchronize(s, {&a});
        ASSERT_TRUE(s.store->materialize().ok());
        rows_before = rows_of(s.store->db());
        ASSERT_EQ(rows_before.size(), 2u);
        // back to the schema 6 shape
        std::string sql = std::string("BEGIN; CREATE TABLE cases_v6(id TEXT PRIMARY KEY, reference TEXT NOT NULL, kind TEXT NOT NULL,"
                          " team TEXT NOT NULL, status TEXT NOT NULL, priority TEXT NOT NULL, category TEXT NOT NULL,"
                          " assignee TEXT NOT NULL, client_name TEXT NOT NULL, title TEXT NOT NULL, description TEXT NOT NULL,"
                          " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, closed_at INTEGER NOT NULL,"
                          " next_due INTEGER NOT NULL, overdue_steps INTEGER NOT NULL, needs_escalation INTEGER NOT NULL,"
                          " escalated INTEGER NOT NULL, legal_hold INTEGER NOT NULL, conflicts INTEGER NOT NULL,"
                          " search TEXT NOT NULL, json TEXT NOT NULL) WITHOUT ROWID;"
                          " INSERT INTO cases_v6 SELECT ") + kRowColumns + " FROM cases;"
                          " DROP TABLE cases; ALTER TABLE cases_v6 RENAME TO cases;"
                          " CREATE INDEX cases_team ON cases(team, status);"
                          " DROP TABLE events_of_case; DROP TABLE case_numbers; CREATE INDEX events_by_case_id ON events(case_id);"
                          " PRAGMA user_version=6; COMMIT;";
        ASSERT_TRUE(sql::exec(s.store->db(), sql.c_str()).ok());
    }
    ServerPeer s(clock, path);
    EXPECT_EQ(rows_of(s.store->db()), rows_before);
    {
        sql::Stmt q(s.store->db(), "SELECT count(*), min(retention_from), max(retention_from), max(rowid) FROM cases");
        ASSERT_TRUE(q.step());
        EXPECT_EQ(q.i64(0), 2);
        EXPECT_EQ(q.i64(1), -1);
        EXPECT_EQ(q.i64(2), -1);
        EXPECT_EQ(q.i64(3), 2);  // a rowid table now
    }
    clock.now += 400LL * 24 * 3600 * 1000;
    auto out = s.server->run_retention(RetentionPolicy{}, false);
    ASSERT_EQ(out.purged.size(), 1u);
    EXPECT_EQ(out.purged[0].case_id, old_case);
    EXPECT_EQ(out.purged[0].attachments, std::vector<std::string>{std::string(64, 'c')});
    EXPECT_TRUE(s.store->load_case(open_case).has_value());
    s.store.reset();
    std::remove(path.c_str());
}

TEST(Sync, LegalHoldKeepsACase) {
    FakeClock clock;
    ServerPeer s(clock);
    ClientPeer a(clock, "alice", "north");
    std::string id = a.create_case(body_created("feedback", "Client A", "held"));
    ASSERT_TRUE(a.record(id, ev::kStatusChanged, R"({"to":"closed","from":"new"})").ok());
    synchronize(s, {&a});
    ASSERT_TRUE(s.server->write_server_event(id, ev::kLegalHold, R"({"hold":true,"reason":"litigation"})", "admin").ok());
    clock.now += 800LL * 24 * 3600 * 1000;
    auto out = s.server->run_retention(RetentionPolicy{}, false);
    EXPECT_TRUE(out.purged.empty());
    ASSERT_EQ(out.held.size(), 1u);
    EXPECT_TRUE(s.store->load_case(id).has_value());
    synchronize(s, {&a});
    EXPECT_TRUE(a.store->load_case(id)->legal_hold);
}

// Property test in realm-core's fuzzer shape: seeded random modify/upload/download steps over
// several clients with lost, duplicated and partial messages; at the end every replica holds
// byte-identical cases. Each seed is replayable.
TEST(SyncProperty, RandomSessionsConverge) {
    const int seeds = 8 * scale();
    for (int seed = 1; seed <= seeds; ++seed) {
        SCOPED_TRACE("seed " + std::to_string(seed));
        std::mt19937_64 rng(seed);
        FakeClock clock;
        ServerPeer s(clock);
        const int n_clients = 2 + seed % 4;  // 2-5 replicas
        std::vector<std::unique_ptr<ClientPeer>> clients;
        for (int i = 0; i < n_clients; ++i)
            clients.push_back(std::make_unique<ClientPeer>(clock, "user" + std::to_string(i), "north"));
        std::vector<ClientPeer*> raw;
        for (auto& c : clients) raw.push_back(c.get());
        Faults faults{0.15, 0.15, 0.2, 3};
        const char* statuses[] = {"new", "in_progress", "awaiting_client", "resolved", "closed"};
        for (int step = 0; step < 120; ++step) {
            clock.now += std::uniform_int_distribution<int>(0, 120000)(rng);
            ClientPeer& c = *clients[rng() % clients.size()];
            int action = static_cast<int>(rng() % 10);
            auto rows = c.store->query_cases(CaseQuery{});
            ASSERT_TRUE(rows.ok()) << rows.error().message;
            std::vector<std::string> known;
            for (auto& r : *rows) known.push_back(r.id);
            if (action == 0 || known.empty()) {
                c.create_case(body_created(rng() % 2 ? "feedback" : "aftercare", "Client " + std::to_string(rng() % 50), "d"));
            } else if (action <= 5) {
                const std::string& id = known[rng() % known.size()];
                auto evs = c.store->case_events(id);
                std::string base = evs->empty() ? "" : evs->back().id();
                int kind = static_cast<int>(rng() % 4);
                if (kind == 0) c.record(id, ev::kFieldSet, body_field("description", "v" + std::to_string(rng() % 1000), base));
                else if (kind == 1) c.record(id, ev::kNoteAdded, "{\"text\":\"note " + std::to_string(step) + "\"}");
                else if (kind == 2) c.record(id, ev::kStatusChanged, std::string("{\"to\":\"") + statuses[rng() % 5] + "\"}");
                else c.record(id, ev::kSurveyRecorded, "{\"csat\":" + std::to_string(1 + rng() % 5) + ",\"nps\":" + std::to_string(rng() % 11) + "}");
            } else if (action <= 7) {
                push_once(s, c, &rng, faults);
            } else {
                PullResponse resp = s.server->pull(c.caller, c.sync->cursor(), 1 + static_cast<int>(rng() % 7));
                ASSERT_TRUE(c.sync->apply_pull(resp).ok());
            }
        }
        synchronize(s, raw);
        auto expect = snapshot(*s.store);
        EXPECT_FALSE(expect.empty());
        for (auto* c : raw) {
            EXPECT_EQ(c->store->pending_count(), 0);
            EXPECT_EQ(snapshot(*c->store), expect) << "client " << c->user;
        }
    }
}

// Fold alone: any split of an event set across replicas, delivered in any order with
// duplicates, folds to identical bytes; merge is commutative, associative and idempotent.
TEST(SyncProperty, FoldIsOrderInsensitive) {
    std::mt19937_64 rng(42);
    FakeClock clock;
    ClientPeer origin(clock, "alice", "north"), other(clock, "bob", "north");
    std::string id = origin.create_case(body_created("feedback", "Client A", "x"));
    auto first = origin.store->case_events(id);
    ASSERT_TRUE(other.store->apply_events(*first).ok());
    for (int i = 0; i < 60; ++i) {
        clock.now += static_cast<int64_t>(rng() % 5000);
        ClientPeer& c = (rng() % 2) ? origin : other;
        auto evs = c.store->case_events(id);
        std::string base = evs->back().id();
        switch (rng() % 3) {
            case 0: c.record(id, ev::kFieldSet, body_field("category", rng() % 2 ? "negative" : "positive", base)); break;
            case 1: c.record(id, ev::kNoteAdded, "{\"text\":\"n" + std::to_string(i) + "\"}"); break;
            default: c.record(id, ev::kStatusChanged, rng() % 2 ? R"({"to":"in_progress"})" : R"({"to":"resolved"})"); break;
        }
    }
    std::vector<Event> all = *origin.store->case_events(id);
    auto theirs = other.store->case_events(id);
    for (auto& e : *theirs) all.push_back(e);
    const std::string expected = case_to_json(fold(all));
    for (int trial = 0; trial < 20; ++trial) {
        std::vector<Event> shuffled = all;
        std::shuffle(shuffled.begin(), shuffled.end(), rng);
        for (int d = 0; d < 10; ++d) {
            Event dup = shuffled[rng() % shuffled.size()];  // copy: push_back may reallocate
            shuffled.push_back(std::move(dup));
        }
        EXPECT_EQ(case_to_json(fold(shuffled)), expected);
        // through a store, in random batches
        ClientPeer replica(clock, "zed", "north");
        size_t pos = 0;
        while (pos < shuffled.size()) {
            size_t n = 1 + rng() % 8;
            std::vector<Event> batch(shuffled.begin() + pos, shuffled.begin() + std::min(shuffled.size(), pos + n));
            ASSERT_TRUE(replica.store->apply_events(batch).ok());
            pos += n;
        }
        EXPECT_EQ(case_to_json(*replica.store->load_case(id)), expected);
    }
}

TEST(SyncClientFile, ExportAndImportPendingChanges) {
    FakeClock clock;
    ServerPeer s(clock);
    ClientPeer a(clock, "alice", "north"), a2(clock, "alice", "north");
    std::string id = a.create_case(body_created("feedback", "Client A", "stuck"));
    ASSERT_TRUE(a.record(id, ev::kNoteAdded, R"({"text":"n"})").ok());
    std::string file = a.sync->export_pending();
    auto n = a2.sync->import_events(file);
    ASSERT_TRUE(n.ok()) << n.error().message;
    EXPECT_EQ(*n, 2);
    EXPECT_EQ(a2.store->pending_count(), 2);
    synchronize(s, {&a2});
    EXPECT_EQ(s.store->load_case(id)->notes.size(), 1u);
    EXPECT_FALSE(a2.sync->import_events("{\"format\":\"other\"}").ok());
    EXPECT_FALSE(a2.sync->import_events("not json").ok());
}

TEST(SyncProtocol, RejectsBadPushEnvelopes) {
    EXPECT_EQ(push_request_from_json("[").error().code, "bad_json");
    EXPECT_EQ(push_request_from_json(R"({"device":"d","events":{}})").error().code, "bad_request");
    EXPECT_EQ(push_request_from_json(R"({"protocol":9,"device":"d","events":[]})").error().code, "unknown_version");
    EXPECT_EQ(push_request_from_json(R"({"device":"d","events":[],"x":1})").error().code, "bad_request");
    auto p = push_request_from_json(R"({"device":"d","events":[{"device":"d"},42]})");
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->malformed.size(), 2u);
    EXPECT_TRUE(p->request.events.empty());
}

// A parsed push carries its bodies' checks (PushRequest::body_checks), so the server does not
// parse each body again: its answer must be exactly the one for the same push built in code,
// where the server checks every body itself (validate_event).
TEST(SyncProtocol, ParsedPushChecksBodiesAsValidateEventDoes) {
    const std::vector<std::pair<std::string, std::string>> typed_bodies = {
        {ev::kCaseCreated, body_created("feedback", "Client A", "first")},
        {ev::kNoteAdded, R"({"text":"fine"})"},
        {ev::kNoteAdded, R"({"text":"x","extra":1})"},         // unknown field
        {ev::kNoteAdded, R"({})"},                             // required field missing
        {ev::kNoteAdded, R"({"text":""})"},                    // empty required text
        {ev::kNoteAdded, R"({"text":7})"},                     // wrong type
        {ev::kNoteAdded, "{\"text\":\"" + std::string(20001, 'x') + "\"}"},  // too long
        {ev::kSurveyRecorded, R"({"csat":6})"},                 // out of range
        {ev::kSurveyRecorded, R"({"csat":5,"nps":10,"comment":"great"})"},
        {ev::kSurveyRecorded, R"({"csat":4.5})"},               // not an integer
        {ev::kSurveyRecorded, R"({})"},                         // none of its fields
        {ev::kFieldSet, body_field("priority", "urgent", "")},
        {ev::kFieldSet, body_field("priority", "whenever", "")},  // not a priority
        {ev::kFieldSet, R"({"field":"urgent","value":"yes"})"},    // not a bool
        {ev::kStatusChanged, R"({"to":"in_progress","from":"new"})"},
        {ev::kStatusChanged, R"({"to":"sideways"})"},
        {ev::kEscalated, R"({"reason":"late","to":"manager"})"},
        {ev::kEscalated, R"({"to":"manager"})"},
        {ev::kResolved, R"({"resolution":"fixed \u00e9 \"quoted\""})"},
        {ev::kFollowUpDone, R"({"satisfied":"yes"})"},
        {ev::kAttachmentAdded, R"({"name":"a.pdf","size":10,"sha256":"xyz"})"},
        {"case.exploded", R"({"text":"x"})"},                   // unknown type: refused before its body
        {ev::kLegalHold, R"({"hold":true})"},                   // server-only type
        {ev::kNoteAdded, R"({"text":  "spaced" , "x":[1, 2.50]})"},  // not in canonical form, and bad
    };
    PushRequest request;
    request.device = "dev-1";
    uint64_t counter = 0;
    for (const auto& [type, body] : typed_bodies) {
        Event e;
        e.device = "dev-1";
        e.counter = ++counter;
        e.clock.wall_ms = kT0 + static_cast<int64_t>(counter);
        e.case_id = "c-dev-1-1";
        e.team = "north";
        e.author = "alice";
        e.type = type;
        e.body = body;
        request.events.push_back(e);
    }
    // Envelope problems ahead of a bad body: the envelope's refusal is the one reported.
    Event skewed = request.events[2];
    skewed.counter = ++counter;
    skewed.clock.wall_ms = kT0 + 10LL * 24 * 3600 * 1000;
    request.events.push_back(skewed);
    Event old_schema = request.events[3];
    old_schema.counter = ++counter;
    old_schema.schema = 99;
    request.events.push_back(old_schema);
    request.events.push_back(request.events[1]);  // repeated inside the batch

    FakeClock clock;
    ServerPeer in_code(clock), parsed_peer(clock);
    Caller alice{"alice", "agent", {"north"}};
    auto parsed = push_request_from_json(push_request_to_json(request));
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    ASSERT_TRUE(parsed->malformed.empty());
    ASSERT_EQ(parsed->request.body_checks.size(), request.events.size());  // the checks came with it
    ASSERT_TRUE(request.body_checks.empty());
    const PushResponse expected = in_code.server->push(alice, request);
    const PushResponse got = parsed_peer.server->push(alice, parsed->request);

    EXPECT_EQ(got.accepted, expected.accepted);
    EXPECT_EQ(got.duplicates, expected.duplicates);
    EXPECT_EQ(got.acks, expected.acks);
    ASSERT_EQ(got.rejected.size(), expected.rejected.size());
    for (size_t i = 0; i < got.rejected.size(); ++i) {
        EXPECT_EQ(got.rejected[i].id, expected.rejected[i].id);
        EXPECT_EQ(got.rejected[i].code, expected.rejected[i].code) << expected.rejected[i].id;
        EXPECT_EQ(got.rejected[i].reason, expected.rejected[i].reason) << expected.rejected[i].id;
    }
    // The push exercised every path: accepted events, refused bodies, refused envelopes.
    auto count = [&](const std::string& code) {
        return std::count_if(expected.rejected.begin(), expected.rejected.end(), [&](const Rejection& r) { return r.code == code; });
    };
    EXPECT_EQ(expected.accepted, 7);
    EXPECT_EQ(count("bad_body"), 15);
    EXPECT_EQ(count("unknown_type"), 1);
    EXPECT_EQ(count("clock_skew"), 1);
    EXPECT_EQ(count("unknown_version"), 1);
    EXPECT_EQ(count("forbidden"), 1);
    EXPECT_EQ(expected.duplicates, 1);
    EXPECT_EQ(in_code.store->event_count(), parsed_peer.store->event_count());
}

// A body is kept in its canonical form, however the request spelt it: the same event sent again
// with spaces and escapes in its body is a duplicate, not a conflicting event.
TEST(SyncProtocol, AnEventSentAgainWithItsBodySpeltDifferentlyIsADuplicate) {
    FakeClock clock;
    ServerPeer s(clock);
    Caller alice{"alice", "agent", {"north"}};
    auto push = [&](const std::string& body) {
        const std::string text = R"({"protocol":1,"device":"dev-1","events":[{"id":"dev-1:1","device":"dev-1","counter":1,"hlc":)" +
                                 std::to_string(kT0) + R"(,"lc":0,"case":"c-dev-1-1","team":"north","author":"alice","type":"note.added","v":1,"body":)" +
                                 body + "}]}";
        auto parsed = push_request_from_json(text);
        EXPECT_TRUE(parsed.ok());
        return s.server->push(alice, parsed->request);
    };
    PushResponse first = push(R"({"text":"A b"})");
    EXPECT_EQ(first.accepted, 1);
    PushResponse again = push("{ \"text\" :\n \"\\u0041 b\" }");
    EXPECT_EQ(again.accepted, 0);
    EXPECT_EQ(again.duplicates, 1);
    EXPECT_TRUE(again.rejected.empty());
    PushResponse changed = push(R"({"text":"A c"})");  // the same id with another body is refused
    ASSERT_EQ(changed.rejected.size(), 1u);
    EXPECT_EQ(changed.rejected[0].code, "conflict");
    EXPECT_EQ(s.store->case_events("c-dev-1-1")->at(0).body, R"({"text":"A b"})");
}

TEST(SyncStore, LocalClockMovesPastPulledEventsAfterRestart) {
    std::string path = ::testing::TempDir() + "closeloop_hlc_test.db";
    std::remove(path.c_str());
    FakeClock clock;
    ServerPeer s(clock);
    ClientPeer a(clock, "alice", "north");
    std::string id = a.create_case(body_created("feedback", "Client A", "x"));
    clock.now += 3600 * 1000;  // alice's edit is an hour "later" than bob's wall clock below
    ASSERT_TRUE(a.record(id, ev::kFieldSet, body_field("description", "alice", "")).ok());
    synchronize(s, {&a});
    Hlc newest;
    {
        ClientPeer b(clock, "bob", "north", path);
        synchronize(s, {&b});
        newest = b.store->case_events(id)->back().clock;
    }
    clock.now -= 2 * 3600 * 1000;  // bob's device clock is behind; he restarts the app and edits
    ClientPeer b(clock, "bob", "north", path);
    auto e = b.record(id, ev::kFieldSet, body_field("description", "bob, after seeing alice", ""));
    ASSERT_TRUE(e.ok());
    EXPECT_TRUE(newest < e->clock);
    EXPECT_EQ(b.store->load_case(id)->description, "bob, after seeing alice");
    std::remove(path.c_str());
}

namespace {

// Every case row a query returns matches a fresh fold of the case's events.
void expect_rows_match_folds(Store& st, const std::string& when) {
    CaseQuery q;
    q.limit = 1000;
    auto rows = st.query_cases(q);  // a reader: catches the rows up first
    ASSERT_TRUE(rows.ok());
    for (const auto& r : *rows) {
        auto evs = st.case_events(r.id);
        ASSERT_TRUE(evs.ok());
        CaseState c = fold(*evs);
        const std::string where = when + ", case " + r.id;
        EXPECT_EQ(r.reference, c.reference) << where;
        EXPECT_EQ(r.kind, c.kind) << where;
        EXPECT_EQ(r.team, c.team) << where;
        EXPECT_EQ(r.status, c.status) << where;
        EXPECT_EQ(r.priority, c.priority) << where;
        EXPECT_EQ(r.category, c.category) << where;
        EXPECT_EQ(r.assignee, c.assignee) << where;
        EXPECT_EQ(r.client_name, c.client.name) << where;
        EXPECT_EQ(r.title, c.title) << where;
        EXPECT_EQ(r.description, c.description) << where;
        EXPECT_EQ(r.created_at, c.created_at) << where;
        EXPECT_EQ(r.updated_at, c.updated_at) << where;
        EXPECT_EQ(r.legal_hold, c.legal_hold) << where;
        EXPECT_EQ(r.conflicts, static_cast<int>(c.conflicts.size())) << where;
    }
}

// Case rows as stored, without the catch-up a reader does first.
int64_t stored_row_count(Store& st) {
    sql::Stmt& q = st.stmt("SELECT count(*) FROM cases");
    int64_t n = q.step() ? q.i64(0) : -1;
    q.reset();
    return n;
}

}  // namespace

// The server's idle thread folds a backlog in steps, letting pushes in between: each step moves
// the mark by at most its size, and after the last one every row is that of a full fold.
TEST(SyncStore, MaterializeInStepsMovesTheMarkAndEndsWithEveryRow) {
    FakeClock clock;
    ClientPeer a(clock, "alice", "north");
    std::vector<std::string> ids;
    std::mt19937 rng(9);
    for (int i = 0; i < 12; ++i) {
        ids.push_back(a.create_case(body_created("feedback", "Client " + std::to_string(i), "case")));
        clock.now += 1000;
    }
    for (int k = 0; k < 60; ++k) {
        clock.now += 500;
        ASSERT_TRUE(a.record(ids[rng() % ids.size()], ev::kNoteAdded, R"({"text":"note )" + std::to_string(k) + R"("})").ok());
    }
    auto evs = a.store->pending_events();
    ASSERT_TRUE(evs.ok());
    StoreOptions o;
    o.server = true;
    o.materialize_lag = 0;  // rows only by the steps below
    auto opened = Store::open(":memory:", o);
    ASSERT_TRUE(opened.ok());
    Store& server = **opened;
    server.set_clock(clock.fn());
    ASSERT_TRUE(server.apply_events(*evs).ok());
    int64_t left = server.unmaterialized();
    ASSERT_EQ(left, static_cast<int64_t>(evs->size()));
    EXPECT_EQ(stored_row_count(server), 0);
    int steps = 0;
    while (left > 0) {
        ASSERT_TRUE(server.materialize(13).ok());
        const int64_t now = server.unmaterialized();
        EXPECT_EQ(now, std::max<int64_t>(0, left - 13));
        if (steps++ == 0) {
            EXPECT_GT(stored_row_count(server), 0);
        }
        left = now;
    }
    EXPECT_EQ(steps, static_cast<int>((evs->size() + 12) / 13));
    EXPECT_EQ(stored_row_count(server), static_cast<int64_t>(ids.size()));
    expect_rows_match_folds(server, "after the last step");
}

// A device writes the rows of pulled pages behind them (Store::Rows::behind): a case spread over
// many pages is folded once. The rows must catch up on the next read, after the app is closed
// mid-sync and reopened, and by themselves at the end of the pull.
TEST(SyncStore, PulledPagesWriteRowsBehindAndCatchUpAfterARestart) {
    std::string path = ::testing::TempDir() + "closeloop_rows_behind_test.db";
    std::remove(path.c_str());
    FakeClock clock;
    ServerPeer s(clock);
    ClientPeer a(clock, "alice", "north"), b(clock, "bob", "north");
    std::vector<std::string> ids;
    std::mt19937 rng(5);
    for (int i = 0; i < 40; ++i) {
        ClientPeer& p = i % 2 ? b : a;
        ids.push_back(p.create_case(body_created("feedback", "Client " + std::to_string(i), "case " + std::to_string(i))));
        clock.now += 1000;
    }
    synchronize(s, {&a, &b});
    for (int k = 0; k < 200; ++k) {  // edits spread each case over many pull pages
        ClientPeer& p = rng() % 2 ? a : b;
        clock.now += 700;
        ASSERT_TRUE(p.record(ids[rng() % ids.size()], ev::kFieldSet, body_field("title", "title " + std::to_string(k), "")).ok());
    }
    synchronize(s, {&a, &b});
    auto rows_match_folds = [](Store& st, const char* when) {
        expect_rows_match_folds(st, when);
        sql::Stmt& n = st.stmt("SELECT count(DISTINCT case_id) FROM events");
        ASSERT_TRUE(n.step());
        EXPECT_EQ(stored_row_count(st), n.i64(0)) << when << ": a case with events has no row";
        n.reset();
        EXPECT_EQ(st.unmaterialized(), 0) << when;
    };
    Caller carol_caller{"carol", "agent", {"north"}};
    auto pull_pages = [&](ClientPeer& c, int pages) {
        for (int i = 0; i < pages; ++i) {
            PullResponse resp = s.server->pull(carol_caller, c.sync->cursor(), 9);
            ASSERT_TRUE(c.sync->apply_pull(resp).ok());
            if (!resp.more) return;
        }
    };
    {
        ClientPeer c(clock, "carol", "north", path);
        pull_pages(c, 12);
        EXPECT_GT(c.store->unmaterialized(), 0);
        EXPECT_EQ(stored_row_count(*c.store), 0) << "rows were written page by page";
    }  // the tab is closed mid-sync
    {
        ClientPeer c(clock, "carol", "north", path);
        EXPECT_GT(c.store->unmaterialized(), 0);
        rows_match_folds(*c.store, "after a restart mid-sync");
        pull_pages(c, 15);
        EXPECT_GT(c.store->unmaterialized(), 0);
    }
    ClientPeer c(clock, "carol", "north", path);
    pull_pages(c, 100000);
    EXPECT_EQ(c.store->unmaterialized(), 0) << "the last page brings every row up to date";
    EXPECT_EQ(stored_row_count(*c.store), static_cast<int64_t>(ids.size()));
    rows_match_folds(*c.store, "after the pull");
    EXPECT_EQ(snapshot(*c.store), snapshot(*a.store));
    std::remove(path.c_str());
}

// The store folds incrementally (a cache of per-case folds) and, on a server, writes case rows
// behind the events. Whatever the arrival order, batch split, cache size and rollbacks, every
// case it returns must equal a fresh fold of the events it holds, and every row must match.
TEST(SyncStore, IncrementalFoldAndWriteBehindRowsMatchAFreshFold) {
    FakeClock clock;
    ClientPeer a(clock, "alice", "north"), b(clock, "bob", "north");
    std::vector<std::string> ids = create_cases(clock, a, b, 6);
    // Both devices see every case, then edit concurrently.
    std::vector<Event> all;
    for (ClientPeer* p : {&a, &b}) {
        auto evs = p->store->pending_events();
        ASSERT_TRUE(evs.ok());
        all.insert(all.end(), evs->begin(), evs->end());
    }
    ASSERT_TRUE(a.store->apply_events(all).ok());
    ASSERT_TRUE(b.store->apply_events(all).ok());
    std::mt19937 rng(7);
    for (int k = 0; k < 60; ++k) {
        ClientPeer& p = rng() % 2 ? a : b;
        const std::string& id = ids[rng() % ids.size()];
        clock.now += 500;
        auto e = (k % 3 == 0) ? p.record(id, ev::kNoteAdded, R"({"text":"note )" + std::to_string(k) + R"("})")
                              : p.record(id, ev::kFieldSet, body_field("title", "title " + std::to_string(k), ""));
        ASSERT_TRUE(e.ok());
        all.push_back(*e);
    }
    // The server's reference assignments: stamped when a case reached it, often later than
    // edits a device uploads afterwards (they commute with everything; see CaseFolder).
    for (size_t i = 0; i < ids.size(); ++i) {
        Event r;
        r.device = kServerDevice;
        r.counter = i + 1;
        r.clock = Hlc{clock.now + (i % 2 ? 100000 : -20000), 0};
        r.case_id = ids[i];
        r.team = "north";
        r.author = kServerAuthor;
        r.type = ev::kRefAssigned;
        r.body = R"({"ref":"FF-2024-000)" + std::to_string(i + 1) + R"("})";
        all.push_back(r);
    }
    for (int round = 0; round < 4; ++round) {
        std::shuffle(all.begin(), all.end(), rng);
        StoreOptions o;
        o.server = round % 2 == 0;
        o.fold_cache_cases = round < 2 ? 2 : 64;  // tiny cache: evictions on every batch
        o.materialize_lag = 7;
        o.case_index_tail = round == 1 || round == 2 ? 3 : 0;  // merges of the case index on every few batches
        if (round == 3) o.materialize_read_events = 4;  // cases past the read cap fold from their own events
        auto s = Store::open(":memory:", o);
        ASSERT_TRUE(s.ok());
        Store& store = **s;
        store.set_clock(clock.fn());
        size_t i = 0;
        while (i < all.size()) {
            size_t n = 1 + rng() % 9;
            std::vector<Event> batch(all.begin() + i, all.begin() + std::min(all.size(), i + n));
            if (rng() % 4 == 0 && i + n < all.size()) {
                // Later events applied, then rolled back: nothing of them may stay in a fold.
                std::vector<Event> later(all.begin() + i + n, all.begin() + std::min(all.size(), i + 2 * n));
                ASSERT_TRUE(store.begin().ok());
                ASSERT_TRUE(store.apply_events(later).ok());
                store.rollback();
            }
            ASSERT_TRUE(store.apply_events(batch).ok());
            i += n;
            for (const auto& id : ids) {
                auto evs = store.case_events(id);
                ASSERT_TRUE(evs.ok());
                // The push checks' facts (kept apart from the fold cache) match the events.
                Store::CaseFacts want;
                for (const auto& e : *evs) {
                    want.team = e.team;
                    if (e.type == ev::kCaseCreated) want.created = true;
                    if (e.type == ev::kRefAssigned) want.ref = e.body.substr(8, e.body.size() - 10);  // {"ref":"…"}
                }
                Store::CaseFacts facts = store.case_facts(id);
                EXPECT_FALSE(facts.purged) << id;
                EXPECT_EQ(facts.created, want.created) << "round " << round << ", case " << id;
                EXPECT_EQ(facts.team, want.team) << "round " << round << ", case " << id;
                EXPECT_EQ(facts.ref, want.ref) << "round " << round << ", case " << id;
                auto got = store.load_case(id);
                if (evs->empty()) {
                    EXPECT_FALSE(got.has_value()) << id;
                    continue;
                }
                if (!got) {
                    // the row is written once the case's first event is in
                    ADD_FAILURE() << "round " << round << ": no case " << id << " after " << i << " events";
                    continue;
                }
                EXPECT_EQ(case_to_json(*got), case_to_json(fold(*evs))) << "round " << round << ", case " << id;
            }
            expect_rows_match_folds(store, "round " + std::to_string(round));
        }
        EXPECT_EQ(store.unmaterialized(), 0);
    }
}

// A case's events are found through events_of_case (merged in bulk) plus the newest events
// kept in memory (Store::CaseTail). With a tail of 3 events every few steps merge; in between
// events are added, rolled back, purged, dropped, written by another connection and the store
// is reopened. After every step each case's events must be exactly what a scan of the table
// finds, and the merged index may only name events that exist, under their own case.
TEST(SyncStore, EventsOfACaseAreFoundAcrossMergesPurgesDropsAndRestarts) {
    enum class Mode { Client, ExclusiveClient, Server };
    for (Mode mode : {Mode::Client, Mode::ExclusiveClient, Mode::Server}) {
        const bool server = mode == Mode::Server, exclusive = mode == Mode::ExclusiveClient;
        SCOPED_TRACE(server ? "server store" : exclusive ? "client store, exclusive (the browser's)" : "client store");
        const std::string path = ::testing::TempDir() + "closeloop_case_index_test.db";
        for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::remove((path + suffix).c_str());
        FakeClock clock;
        auto open = [&] {
            StoreOptions o;
            o.server = server;
            o.wal = server;
            o.exclusive = exclusive;
            o.case_index_tail = 3;
            o.materialize_lag = 5;
            o.fold_cache_cases = 2;
            auto s = Store::open(path, o);
            if (!s) throw std::runtime_error(s.error().message);
            (*s)->set_clock(clock.fn());
            return std::move(*s);
        };
        auto store = open();
        std::mt19937 rng(server ? 23 : 17);
        std::vector<std::string> live;  // cases not purged
        std::set<std::string> every_case;
        uint64_t counter = 0;
        auto next_case = [&] {
            live.push_back("c-test-" + std::to_string(every_case.size() + 1));
            every_case.insert(live.back());
        };
        auto batch = [&](size_t n) {
            std::vector<Event> out;
            for (size_t i = 0; i < n; ++i) {
                if (live.empty() || rng() % 5 == 0) next_case();
                Event e;
                e.device = rng() % 2 ? "dev-a" : "dev-b";
                e.counter = ++counter;
                clock.now += 1000;
                e.clock = Hlc{clock.now - static_cast<int64_t>(rng() % 5000), 0};  // not in arrival order
                e.case_id = live[rng() % live.size()];
                e.team = "north";
                e.author = "alice";
                e.type = rng() % 3 ? ev::kNoteAdded : ev::kCaseCreated;
                e.body = e.type == ev::kNoteAdded ? R"({"text":"note )" + std::to_string(counter) + R"("})"
                                                  : body_created("feedback", "Client", "case");
                out.push_back(e);
            }
            return out;
        };
        auto scan = [&](Store& st, const std::string& case_id) {
            std::vector<Event> out;
            sql::Stmt q(st.db(), "SELECT device, counter, hlc, lc, case_id, team, author, type, v, body FROM events WHERE case_id=?1");
            q.bind(1, case_id);
            while (q.step()) {
                Event e;
                e.device = q.text(0);
                e.counter = static_cast<uint64_t>(q.i64(1));
                e.clock = Hlc{q.i64(2), static_cast<uint32_t>(q.i64(3))};
                e.case_id = q.text(4);
                out.push_back(e);
            }
            std::sort(out.begin(), out.end(), event_before);
            std::vector<std::string> ids;
            for (const auto& e : out) ids.push_back(e.id());
            return ids;
        };
        int merged_max = 0;
        for (int step = 0; step < 160; ++step) {
            const int action = static_cast<int>(rng() % 10);
            std::string what;
            if (action <= 3) {
                what = "apply";
                auto r = store->apply_events(batch(1 + rng() % 5));
                ASSERT_TRUE(r.ok()) << r.error().message;
            } else if (action == 4) {
                what = "apply, rolled back";
                ASSERT_TRUE(store->begin().ok());
                ASSERT_TRUE(store->apply_events(batch(1 + rng() % 5)).ok());
                store->rollback();
                // nothing to drop, but the merge mark is checked against what the rollback left
                ASSERT_TRUE(store->drop_events({"no-such-device:1"}).ok());
            } else if (action == 5 && !live.empty()) {
                what = "purge";
                // the newest case most often: its events are the newest rows (rowids are reused)
                size_t k = rng() % 2 ? live.size() - 1 : rng() % live.size();
                Tombstone t;
                t.case_id = live[k];
                t.purged_at = clock.now;
                ASSERT_TRUE(store->purge_case(live[k], t).ok());
                live.erase(live.begin() + static_cast<long>(k));
            } else if (action == 6 && !server) {
                what = "drop pending";
                auto pending = store->pending_events(1000);
                ASSERT_TRUE(pending.ok());
                std::vector<std::string> drop;
                for (const auto& e : *pending)
                    if (rng() % 3 == 0) drop.push_back(e.id());
                ASSERT_TRUE(store->drop_events(drop).ok());
            } else if (action == 7) {
                what = "reopen";
                store.reset();
                store = open();
            } else if (action == 8 && !server && !exclusive) {  // a server's seq counter allows one writer per file
                what = "another connection";
                auto other = open();
                ASSERT_TRUE(other->apply_events(batch(1 + rng() % 5)).ok());
            } else {
                continue;
            }
            SCOPED_TRACE("step " + std::to_string(step) + ": " + what);
            for (const auto& id : every_case) {
                auto got = store->case_events(id);
                ASSERT_TRUE(got.ok()) << got.error().message;
                std::vector<std::string> got_ids;
                for (const auto& e : *got) got_ids.push_back(e.id());
                ASSERT_EQ(got_ids, scan(*store, id)) << "case " << id;
            }
            sql::Stmt stray(store->db(), "SELECT count(*) FROM events_of_case k LEFT JOIN events e ON e.rowid = k.ev"
                                         " LEFT JOIN case_numbers c ON c.n = k.case_no"
                                         " WHERE e.rowid IS NULL OR c.n IS NULL OR e.case_id <> c.case_id");
            ASSERT_TRUE(stray.step());
            ASSERT_EQ(stray.i64(0), 0);
            sql::Stmt merged(store->db(), "SELECT count(*) FROM events_of_case");
            ASSERT_TRUE(merged.step());
            merged_max = std::max(merged_max, static_cast<int>(merged.i64(0)));
        }
        EXPECT_GT(merged_max, 20);  // the merges ran
        ASSERT_TRUE(store->materialize().ok());
        expect_rows_match_folds(*store, "after the last step");
        store.reset();
        for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::remove((path + suffix).c_str());
    }
}

// Text search: a client store answers through a walk of the first rows in order, then its trigram
// index; a server store through the walk, then a scan. Both must give exactly what a plain scan
// of every row's search text gives, for frequent, rare, short, quoted and non-ASCII terms, every
// sort and page, and after edits and purges change the text.
TEST(SyncStore, TextSearchMatchesAPlainScanOnClientAndServer) {
    FakeClock clock;
    ServerPeer server(clock);
    ClientPeer a(clock, "alice", "north");
    // A short walk, so both steps run: frequent words within it, rare ones past it.
    for (Store* s : {a.store.get(), server.store.get()}) s->set_search_walk_rows(40);
    std::mt19937 rng(11);
    const char* names[] = {"Acme Ltd", "Müller GmbH", "O'Brien & Sons", "Zebra Foods", "Said \"hi\" Inc"};
    std::vector<std::string> ids;
    for (int i = 0; i < 240; ++i) {
        std::string desc = std::string(rng() % 10 < 6 ? "late delivery" : "kind staff") + (rng() % 40 == 0 ? " refundable" : "");
        ids.push_back(a.create_case(body_created(rng() % 2 ? "feedback" : "aftercare", names[rng() % 5], desc)));
        clock.now += 60000;
        if (rng() % 7 == 0) {
            ASSERT_TRUE(a.record(ids.back(), ev::kNoteAdded, R"({"text":"Called back, ZZ top"})"));
        }
    }
    synchronize(server, {&a});
    auto reference = [](Store& s, const CaseQuery& q) {
        // the plain scan, on the same rows
        const char* dir = q.descending ? " DESC" : " ASC";
        std::string order = q.sort == "updated" ? "updated_at" : q.sort == "client" ? "client_name"
                                                              : "CASE WHEN next_due = 0 THEN 1 ELSE 0 END" + std::string(dir) + ", next_due";
        std::string t = q.text;
        for (char& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        sql::Stmt st(s.db(), "SELECT id FROM cases WHERE instr(search, ?1) > 0 ORDER BY " + order + dir + ", id" + dir +
                                 " LIMIT " + std::to_string(q.limit) + " OFFSET " + std::to_string(q.offset));
        st.bind(1, t);
        std::vector<std::string> out;
        while (st.step()) out.push_back(st.text(0));
        sql::Stmt n(s.db(), "SELECT count(*) FROM cases WHERE instr(search, ?1) > 0");
        n.bind(1, t);
        return std::make_pair(out, n.step() ? n.i64(0) : -1);
    };
    auto check_all = [&](const std::string& when) {
        for (Store* s : {a.store.get(), server.store.get()}) {
            for (std::string term : {"late", "LATE", "refund", "müller", "o'brien", "\"hi\"", "zz", "z", "zebra foods", "nothing-here"}) {
                for (const char* sort : {"due", "updated", "client"}) {
                    for (int offset : {0, 7, 150}) {
                        CaseQuery q;
                        q.text = term;
                        q.sort = sort;
                        q.descending = offset == 7;
                        q.limit = 25;
                        q.offset = offset;
                        q.now = clock.now;
                        auto got = s->query_cases(q);
                        ASSERT_TRUE(got.ok()) << got.error().message;
                        std::vector<std::string> got_ids;
                        for (auto& r : *got) got_ids.push_back(r.id);
                        auto [want, count] = reference(*s, q);
                        EXPECT_EQ(got_ids, want) << when << ": '" << term << "' sort " << sort << " offset " << offset
                                                 << (s == a.store.get() ? " (client)" : " (server)");
                        EXPECT_EQ(s->count_cases(q), count) << when << ": count of '" << term << "'";
                    }
                }
            }
        }
    };
    check_all("after sync");
    // Edits change the text (a note with a rare word), a purge removes a case: the index follows.
    ASSERT_TRUE(a.record(ids[3], ev::kNoteAdded, R"({"text":"zebra crossing refund"})"));
    Tombstone t;
    t.case_id = ids[5];
    t.reason = "test";
    ASSERT_TRUE(a.store->purge_case(ids[5], t).ok());
    ASSERT_TRUE(server.store->purge_case(ids[5], t).ok());
    synchronize(server, {&a});
    check_all("after edits");
}

// What a report reads (report_reads_since): cases touched since the instant, and improvement
// actions of any age.
TEST(SyncStore, AllCasesTouchedSinceKeepsImprovementActions) {
    FakeClock clock;
    ClientPeer a(clock, "alice", "north");
    std::string old_feedback = a.create_case(body_created("feedback", "Client A", "old"));
    std::string old_action = a.create_case(R"({"kind":"improvement","title":"Call ahead"})");
    clock.now += 90LL * 24 * 3600 * 1000;
    const int64_t since = clock.now;
    std::string recent = a.create_case(body_created("feedback", "Client B", "new"));
    ASSERT_TRUE(a.record(old_feedback, ev::kNoteAdded, R"({"text":"touched again"})").ok());
    std::string untouched = a.create_case(body_created("feedback", "Client C", "old too"));
    ASSERT_TRUE(sql::exec(a.store->db(), ("UPDATE cases SET updated_at=1 WHERE id='" + untouched + "'").c_str()).ok());
    auto ids = [](const Expected<std::vector<CaseState>>& cs) {
        std::set<std::string> out;
        for (auto& c : *cs) out.insert(c.id);
        return out;
    };
    auto read = a.store->all_cases({}, since);
    ASSERT_TRUE(read.ok());
    EXPECT_EQ(ids(read), (std::set<std::string>{old_feedback, old_action, recent}));
    auto every = a.store->all_cases();
    ASSERT_TRUE(every.ok());
    EXPECT_EQ(every->size(), 4u);
}

// The reports view builds a report a few cases per frame (ReportBuilder): in any slice size the
// result is the report of all_cases() at once, also when a listed case is purged mid-build.
TEST(SyncStore, ReportBuiltInSlicesEqualsTheReportBuiltAtOnce) {
    FakeClock clock;
    ClientPeer a(clock, "alice", "north");
    std::vector<std::string> ids;
    for (int i = 0; i < 23; ++i) {
        ids.push_back(a.create_case(body_created(i % 3 ? "feedback" : "aftercare", "Client " + std::to_string(i), "case " + std::to_string(i))));
        clock.now += 3600000;
        ASSERT_TRUE(a.record(ids.back(), ev::kSurveyRecorded,
                             R"({"csat":)" + std::to_string(1 + i % 5) + R"(,"nps":)" + std::to_string(i % 11) + R"(,"comment":"late parts"})").ok());
        if (i % 4 == 0) {
            ASSERT_TRUE(a.record(ids.back(), ev::kEscalated, R"({"reason":"unhappy","to":"manager"})").ok());
        }
    }
    const ReportQuery q = PeriodFromName::make("month", clock.now, a.store->calendar());
    auto at_once = [&] {
        auto cases = a.store->all_cases({}, report_reads_since(q));
        if (!cases) throw std::runtime_error(cases.error().message);
        return report_to_json(build_report(*cases, q, a.store->sla_policy(), a.store->calendar(), clock.now));
    };
    const std::string want = at_once();
    ASSERT_NE(want.find("\"csat\""), std::string::npos) << want;
    for (size_t slice : {1, 4, 100}) {
        ReportBuilder b;
        ASSERT_TRUE(b.start(*a.store, q).ok());
        EXPECT_EQ(b.total(), ids.size());
        size_t steps = 0;
        for (;;) {
            auto r = b.step(*a.store, slice, clock.now);
            ASSERT_TRUE(r.ok()) << r.error().message;
            ++steps;
            if (*r) break;
            EXPECT_TRUE(b.active());
            EXPECT_EQ(b.folded(), std::min(ids.size(), steps * slice)) << "slice " << slice;
        }
        EXPECT_EQ(steps, (ids.size() + slice - 1) / slice) << "slice " << slice;
        EXPECT_TRUE(b.done());
        EXPECT_FALSE(b.active());
        EXPECT_EQ(report_to_json(b.take_report()), want) << "slice " << slice;
    }
    // A case purged between the listing and its fold: left out, like a later report leaves it.
    ReportBuilder b;
    ASSERT_TRUE(b.start(*a.store, q).ok());
    ASSERT_FALSE(*b.step(*a.store, 5, clock.now));
    Tombstone t;
    t.case_id = ids.back();
    t.reason = "test";
    ASSERT_TRUE(a.store->purge_case(ids.back(), t).ok());
    while (!*b.step(*a.store, 5, clock.now)) {}
    const std::string after = at_once();
    EXPECT_NE(after, want);
    EXPECT_EQ(report_to_json(b.take_report()), after);

    // The documentation log's sweep over every case: the same log as all_cases() at once.
    auto every = a.store->all_cases();
    ASSERT_TRUE(every.ok());
    CaseSweep sweep;
    ASSERT_TRUE(sweep.start(*a.store).ok());
    EXPECT_EQ(sweep.total(), every->size());
    size_t steps = 0;
    while (!*sweep.step(*a.store, 7)) ++steps;
    EXPECT_EQ(steps, (every->size() - 1) / 7);
    EXPECT_FALSE(sweep.active());
    EXPECT_EQ(documentation_log_csv(sweep.take_cases()), documentation_log_csv(*every));
}

// A rewritten case row names only the columns whose values changed: SQLite rewrites every index
// that holds a column named in an UPDATE, changed or not, and the row has 8 indexes. Temporary
// "AFTER UPDATE OF col" triggers fire only for the columns an UPDATE names, so they show which
// were written; after each event they must be exactly the columns whose values differ.
TEST(SyncStore, CaseRowUpdatesNameOnlyTheColumnsThatChanged) {
    FakeClock clock;
    ClientPeer a(clock, "alice", "north");
    const std::string id = a.create_case(body_created("feedback", "Client A", "first words"));
    const std::vector<std::string> columns = {
        "reference", "kind", "team", "status", "priority", "category", "assignee", "client_name", "title", "description",
        "created_at", "updated_at", "closed_at", "next_due", "overdue_steps", "needs_escalation", "escalated",
        "legal_hold", "conflicts", "search", "retention_from"};
    auto exec = [&](const std::string& sql) { ASSERT_TRUE(a.store->stmt(sql.c_str()).run()) << sql; };
    exec("CREATE TEMP TABLE col_writes(col TEXT NOT NULL)");
    for (const auto& col : columns)
        exec("CREATE TEMP TRIGGER watch_" + col + " AFTER UPDATE OF " + col + " ON main.cases BEGIN"
             " INSERT INTO temp.col_writes(col) VALUES('" + col + "'); END");
    exec("CREATE TEMP TRIGGER watch_row AFTER UPDATE ON main.cases BEGIN INSERT INTO temp.col_writes(col) VALUES('*'); END");
    auto row = [&] {
        std::map<std::string, std::string> r;
        for (const auto& col : columns) {
            sql::Stmt& s = a.store->stmt(("SELECT CAST(" + col + " AS TEXT) FROM cases WHERE id=?1").c_str());
            s.bind(1, id);
            EXPECT_TRUE(s.step()) << col;
            r[col] = s.text(0);
            s.reset();
        }
        return r;
    };
    auto written = [&] {
        std::set<std::string> w;
        sql::Stmt& s = a.store->stmt("SELECT col FROM temp.col_writes");
        while (s.step()) w.insert(s.text(0));
        s.reset();
        exec("DELETE FROM temp.col_writes");
        return w;
    };
    // Runs one change and checks that the columns written are exactly those that differ.
    auto expect_only_changes = [&](const std::string& what, const std::function<void()>& change) {
        auto before = row();
        change();
        auto after = row();
        std::set<std::string> differ;
        for (const auto& col : columns)
            if (before[col] != after[col]) differ.insert(col);
        std::set<std::string> got = written();
        std::set<std::string> want = differ;
        if (!want.empty()) want.insert("*");
        EXPECT_EQ(got, want) << what;
        return differ;
    };
    auto record = [&](const char* type, const std::string& body) {
        clock.now += 60000;
        ASSERT_TRUE(a.record(id, type, body).ok()) << type;
    };
    auto d = expect_only_changes("a note", [&] { record(ev::kNoteAdded, R"({"text":"called the client back"})"); });
    EXPECT_TRUE(d.count("updated_at") && d.count("search")) << "a note moves the row's time and its search text";
    EXPECT_FALSE(d.count("team") || d.count("title") || d.count("status")) << "nothing else";
    d = expect_only_changes("a title", [&] { record(ev::kFieldSet, body_field("title", "Broken hinge", "")); });
    EXPECT_TRUE(d.count("title"));
    d = expect_only_changes("an assignment", [&] { record(ev::kAssigned, R"({"assignee":"bob","base":""})"); });
    EXPECT_TRUE(d.count("assignee"));
    expect_only_changes("a survey", [&] { record(ev::kSurveyRecorded, R"({"csat":2,"nps":3,"comment":"slow"})"); });
    expect_only_changes("an escalation", [&] { record(ev::kEscalated, R"({"reason":"unhappy","to":"manager"})"); });
    d = expect_only_changes("a resolution", [&] { record(ev::kResolved, R"({"resolution":"hinge replaced"})"); });
    EXPECT_TRUE(d.count("status") && d.count("closed_at"));
    d = expect_only_changes("the same SLA clock", [&] { ASSERT_TRUE(a.store->refresh_sla(clock.now).ok()); });
    EXPECT_TRUE(d.empty()) << "nothing changed, so nothing is written";
    d = expect_only_changes("a clock a month later", [&] {
        clock.now += 31LL * 24 * 3600 * 1000;
        ASSERT_TRUE(a.store->refresh_sla(clock.now).ok());
    });
    EXPECT_FALSE(d.count("title") || d.count("search")) << "a later clock moves only the due columns";
    expect_rows_match_folds(*a.store, "after the column writes");
}

// The store itself refuses events of a purged case (a device's late upload reaching a store by a
// path other than the server's push checks, e.g. an imported file), in the same batch as events
// of other cases it stores. A batch only looks for tombstones when the store has any.
TEST(SyncStore, EventsOfAPurgedCaseAreRefusedByTheStore) {
    FakeClock clock;
    ClientPeer a(clock, "alice", "north");
    const std::string gone = a.create_case(body_created("feedback", "Client A", "to be purged"));
    const std::string kept = a.create_case(body_created("feedback", "Client B", "kept"));
    auto first = a.store->pending_events();
    ASSERT_TRUE(first.ok());
    StoreOptions o;
    o.server = true;
    auto opened = Store::open(":memory:", o);
    ASSERT_TRUE(opened.ok());
    Store& server = **opened;
    server.set_clock(clock.fn());
    auto r = server.apply_events(*first);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->inserted, 2);
    auto c = server.load_case(gone);
    ASSERT_TRUE(c.has_value());
    ASSERT_TRUE(server.purge_case(gone, make_tombstone(*c, clock.now, "retention")).ok());
    clock.now += 1000;
    auto late = a.record(gone, ev::kNoteAdded, R"({"text":"written offline before the purge"})");
    auto other = a.record(kept, ev::kNoteAdded, R"({"text":"still here"})");
    ASSERT_TRUE(late.ok() && other.ok());
    r = server.apply_events({*late, *other});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->inserted, 1);
    ASSERT_EQ(r->rejected.size(), 1u);
    EXPECT_EQ(r->rejected[0].id, late->id());
    EXPECT_EQ(r->rejected[0].error.code, "purged");
    auto evs = server.case_events(gone);
    ASSERT_TRUE(evs.ok());
    EXPECT_TRUE(evs->empty()) << "nothing of the purged case is stored again";
    evs = server.case_events(kept);
    ASSERT_TRUE(evs.ok());
    EXPECT_EQ(evs->size(), 2u);
}

// Schema 9 keys events_of_case by case numbers given in order of each case's first merged event
// (merges then write near the end of the index). A store written at schema 8, keyed by case id,
// is renumbered when opened: every case's events are found as before, and merges go on.
TEST(SyncStore, EventsOfCaseOfASchema8StoreAreRenumbered) {
    std::string path = ::testing::TempDir() + "closeloop_schema8_test.db";
    for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
    FakeClock clock;
    ClientPeer a(clock, "alice", "north");
    std::vector<std::string> ids;
    for (int i = 0; i < 8; ++i) {
        ids.push_back(a.create_case(body_created("feedback", "Client " + std::to_string(i), "case " + std::to_string(i))));
        clock.now += 1000;
    }
    for (int k = 0; k < 40; ++k) {
        clock.now += 500;
        ASSERT_TRUE(a.record(ids[(k * 5) % ids.size()], ev::kNoteAdded, R"({"text":"note )" + std::to_string(k) + R"("})").ok());
    }
    auto evs = a.store->pending_events();
    ASSERT_TRUE(evs.ok());
    StoreOptions o;
    o.server = true;
    o.case_index_tail = 5;  // a merge after almost every batch
    std::map<std::string, std::vector<std::string>> before;
    {
        auto opened = Store::open(path, o);
        ASSERT_TRUE(opened.ok());
        Store& st = **opened;
        for (size_t i = 0; i < evs->size(); i += 7) {
            std::vector<Event> batch(evs->begin() + i, evs->begin() + std::min(evs->size(), i + 7));
            ASSERT_TRUE(st.apply_events(batch).ok());
        }
        for (const auto& id : ids) before[id] = case_event_ids(st, id);
        // Back to the schema 8 shape.
        ASSERT_TRUE(sql::exec(st.db(),
                              "BEGIN; CREATE TABLE v8(case_id TEXT NOT NULL, ev INTEGER NOT NULL, PRIMARY KEY(case_id, ev)) WITHOUT ROWID;"
                              " INSERT INTO v8 SELECT c.case_id, k.ev FROM events_of_case k JOIN case_numbers c ON c.n = k.case_no;"
                              " DROP TABLE events_of_case; DROP TABLE case_numbers; ALTER TABLE v8 RENAME TO events_of_case;"
                              " PRAGMA user_version=8; COMMIT;")
                        .ok());
        sql::Stmt n(st.db(), "SELECT count(*) FROM events_of_case");
        ASSERT_TRUE(n.step());
        EXPECT_GT(n.i64(0), 40) << "most events were merged before the downgrade";
    }
    auto opened = Store::open(path, o);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    Store& st = **opened;
    for (const auto& id : ids) EXPECT_EQ(case_event_ids(st, id), before[id]) << "case " << id;
    {
        sql::Stmt q(st.db(), "SELECT case_id FROM case_numbers ORDER BY n");
        std::vector<std::string> order;
        while (q.step()) order.push_back(q.text(0));
        EXPECT_EQ(order, ids) << "numbered in order of their first event";
    }
    // Merges go on from the renumbered index: a new case gets the next number.
    clock.now += 1000;
    const std::string late = a.create_case(body_created("feedback", "Client L", "after the upgrade"));
    for (int k = 0; k < 6; ++k) ASSERT_TRUE(a.record(k % 2 ? late : ids[0], ev::kNoteAdded, R"({"text":"later"})").ok());
    auto more = a.store->pending_events();
    ASSERT_TRUE(more.ok());
    ASSERT_TRUE(st.apply_events(*more).ok());
    EXPECT_EQ(case_event_ids(st, late).size(), 4u);
    EXPECT_EQ(case_event_ids(st, ids[0]).size(), before[ids[0]].size() + 3);
    sql::Stmt last(st.db(), "SELECT case_id FROM case_numbers ORDER BY n DESC LIMIT 1");
    ASSERT_TRUE(last.step());
    EXPECT_EQ(last.text(0), late);
    for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
}

// A server stores each event under its seq (rowid = seq, no index of seqs). A server file from
// before, whose rowids are not its seqs, is renumbered when it is opened: pulls, each case's
// events and its rows are what they were, and new events continue the sequence.
TEST(SyncStore, ServerEventsAreKeyedByTheirSeqAndAnOlderFileIsRenumbered) {
    std::string path = ::testing::TempDir() + "closeloop_keyed_by_seq_test.db";
    auto remove_files = [&] { for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str()); };
    remove_files();
    FakeClock clock;
    ClientPeer a(clock, "alice", "north"), b(clock, "bob", "north");
    std::vector<std::string> ids = create_cases(clock, a, b, 6);
    for (int k = 0; k < 30; ++k) {
        clock.now += 700;
        ClientPeer& p = k % 3 ? a : b;
        ASSERT_TRUE(p.record(ids[(k * 5) % ids.size()], ev::kNoteAdded, R"({"text":"note )" + std::to_string(k) + R"("})").ok());
    }
    auto all_pulled = [](Store& st) {
        std::vector<std::pair<int64_t, std::string>> out;
        for (int64_t after = 0;;) {
            auto page = st.events_after(after, 7);
            EXPECT_TRUE(page.ok());
            if (!page.ok() || page->empty()) return out;
            for (const auto& se : *page) out.emplace_back(se.seq, se.event.id());
            after = page->back().seq;
        }
    };
    auto scalar = [](Store& st, const char* q) {
        sql::Stmt s(st.db(), q);
        EXPECT_TRUE(s.step()) << q;
        return s.i64(0);
    };
    std::vector<std::pair<int64_t, std::string>> pulled;
    std::map<std::string, std::vector<std::string>> by_case;
    std::map<std::string, std::string> cases;
    {
        ServerPeer s(clock, path);
        synchronize(s, {&a, &b});
        pulled = all_pulled(*s.store);
        ASSERT_EQ(pulled.size(), 36u + 6u) << "36 events and the server's 6 reference assignments";
        EXPECT_EQ(scalar(*s.store, "SELECT count(*) FROM events WHERE rowid <> seq"), 0);
        EXPECT_EQ(scalar(*s.store, "SELECT count(*) FROM sqlite_master WHERE name='events_by_seq'"), 0);
        for (const auto& id : ids) by_case[id] = case_event_ids(*s.store, id);
        cases = snapshot(*s.store);
        // Back to the shape of a server file from before: rowids in another order than the seqs
        // (here 1000 + 2 * seq), events_of_case and its mark on those rowids, an index of seqs.
        ASSERT_TRUE(sql::exec(s.store->db(),
                              "BEGIN; UPDATE events SET rowid = -rowid; UPDATE events SET rowid = 1000 - 2 * rowid;"
                              " UPDATE events_of_case SET ev = 1000 + 2 * ev;"
                              " UPDATE meta SET value = 1000 + 2 * value WHERE key = 'case_index_upto';"
                              " CREATE UNIQUE INDEX events_by_seq ON events(seq) WHERE seq IS NOT NULL;"
                              " DELETE FROM meta WHERE key = 'events_keyed_by_seq'; COMMIT;")
                        .ok());
        EXPECT_EQ(scalar(*s.store, "SELECT count(*) FROM events WHERE rowid <> seq"), 42);
    }
    {
        ServerPeer s(clock, path);
        EXPECT_EQ(scalar(*s.store, "SELECT count(*) FROM events WHERE rowid <> seq"), 0);
        {
            sql::Stmt q(s.store->db(), "SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_master"
                                       " WHERE tbl_name = 'events' AND type = 'index' ORDER BY name)");
            ASSERT_TRUE(q.step());
            EXPECT_EQ(q.text(0), "events_pending sqlite_autoindex_events_1") << "the copy has the table's indexes but the one of seqs";
        }
        EXPECT_EQ(all_pulled(*s.store), pulled);
        for (const auto& id : ids) EXPECT_EQ(case_event_ids(*s.store, id), by_case[id]) << "case " << id;
        EXPECT_EQ(snapshot(*s.store), cases);
        // New events continue the sequence; a client pulls exactly them.
        clock.now += 1000;
        ASSERT_TRUE(a.record(ids[0], ev::kNoteAdded, R"({"text":"after the upgrade"})").ok());
        const std::string late = b.create_case(body_created("feedback", "Client L", "after the upgrade"));
        synchronize(s, {&a, &b});
        auto now_pulled = all_pulled(*s.store);
        ASSERT_EQ(now_pulled.size(), pulled.size() + 3);
        EXPECT_TRUE(std::equal(pulled.begin(), pulled.end(), now_pulled.begin()));
        for (size_t i = pulled.size(); i < now_pulled.size(); ++i) EXPECT_GT(now_pulled[i].first, pulled.back().first);
        EXPECT_EQ(case_event_ids(*s.store, ids[0]).size(), by_case[ids[0]].size() + 1);
        EXPECT_EQ(case_event_ids(*s.store, late).size(), 2u) << "its creation and its reference";
        EXPECT_EQ(snapshot(*a.store), snapshot(*s.store));
        pulled = std::move(now_pulled);
    }
    {
        // Opened as a device, the file gets its index of seqs back (a device's rowids are its
        // own); a server then keys it again.
        StoreOptions o;
        auto dev = Store::open(path, o);
        ASSERT_TRUE(dev.ok()) << dev.error().message;
        EXPECT_EQ(scalar(**dev, "SELECT count(*) FROM sqlite_master WHERE name='events_by_seq'"), 1);
        EXPECT_EQ(all_pulled(**dev), pulled);
    }
    {
        ServerPeer s(clock, path);
        EXPECT_EQ(scalar(*s.store, "SELECT count(*) FROM sqlite_master WHERE name='events_by_seq'"), 0);
        EXPECT_EQ(all_pulled(*s.store), pulled);
        // An event without a seq cannot be keyed: the file is refused, not guessed at.
        ASSERT_TRUE(sql::exec(s.store->db(), "UPDATE events SET seq = NULL WHERE rowid = (SELECT max(rowid) FROM events);"
                                             " DELETE FROM meta WHERE key = 'events_keyed_by_seq';")
                        .ok());
    }
    StoreOptions o;
    o.server = true;
    auto refused = Store::open(path, o);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, "corrupt");
    EXPECT_NE(refused.error().message.find("no seq"), std::string::npos) << refused.error().message;
    remove_files();
}
