// [SECTION] open and migrations
// [SECTION] transactions and meta
// [SECTION] events
// [SECTION] cases (materialised fold)
// [SECTION] queries
// [SECTION] tombstones and purge
// [SECTION] local device
#include "store/store.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <set>
#include <string_view>
#include <unordered_set>

#include "core/json.h"
#include "core/text.h"
#include "core/time.h"
#include "domain/vocab.h"
#include "store/gather_vfs.h"
#include "store/sqlite_util.h"

namespace cl {

using sql::Stmt;

// ---------------------------------------------------------------------------------------------
// [SECTION] open and migrations
// ---------------------------------------------------------------------------------------------

// The event columns but id and seq, in read_event()'s order.
#define CL_EVENT_COLUMNS "device, counter, hlc, lc, case_id, team, author, type, v, body"
#define CL_EVENT_COLUMNS_OF_E "e.device, e.counter, e.hlc, e.lc, e.case_id, e.team, e.author, e.type, e.v, e.body"

// The columns of the events table (schema 1) and of the cases table (schema 7), as written by
// their migrations and by kFreshSchema below. SQLite keeps the text: a new file and a migrated one
// must store the same. A later migration that changes a table writes its own definition.
#define CL_EVENTS_TABLE_COLUMNS "\n" \
    "        rowid INTEGER PRIMARY KEY,\n" \
    "        id TEXT NOT NULL UNIQUE,\n" \
    "        seq INTEGER,                 -- server sequence; NULL on a client until acknowledged\n" \
    "        case_id TEXT NOT NULL,\n" \
    "        device TEXT NOT NULL,\n" \
    "        counter INTEGER NOT NULL,\n" \
    "        hlc INTEGER NOT NULL,\n" \
    "        lc INTEGER NOT NULL,\n" \
    "        team TEXT NOT NULL,\n" \
    "        author TEXT NOT NULL,\n" \
    "        type TEXT NOT NULL,\n" \
    "        v INTEGER NOT NULL,\n" \
    "        body TEXT NOT NULL"
#define CL_CASES_TABLE_COLUMNS "\n" \
    "        id TEXT PRIMARY KEY NOT NULL,\n" \
    "        reference TEXT NOT NULL,\n" \
    "        kind TEXT NOT NULL, team TEXT NOT NULL, status TEXT NOT NULL, priority TEXT NOT NULL,\n" \
    "        category TEXT NOT NULL, assignee TEXT NOT NULL, client_name TEXT NOT NULL,\n" \
    "        title TEXT NOT NULL, description TEXT NOT NULL,\n" \
    "        created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, closed_at INTEGER NOT NULL,\n" \
    "        next_due INTEGER NOT NULL, overdue_steps INTEGER NOT NULL,\n" \
    "        needs_escalation INTEGER NOT NULL, escalated INTEGER NOT NULL, legal_hold INTEGER NOT NULL,\n" \
    "        conflicts INTEGER NOT NULL,\n" \
    "        search TEXT NOT NULL,\n" \
    "        json TEXT NOT NULL,\n" \
    "        retention_from INTEGER NOT NULL DEFAULT -1"

namespace {

// Each entry upgrades user_version i -> i+1. Never edit a shipped entry: append a new one.
const char* const kMigrations[] = {
    // 1: the core schema
    R"sql(
    CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS events()sql" CL_EVENTS_TABLE_COLUMNS R"sql();
    CREATE INDEX IF NOT EXISTS events_by_case ON events(case_id, hlc, lc, device, counter);
    CREATE UNIQUE INDEX IF NOT EXISTS events_by_seq ON events(seq) WHERE seq IS NOT NULL;
    CREATE INDEX IF NOT EXISTS events_pending ON events(rowid) WHERE seq IS NULL;
    CREATE TABLE IF NOT EXISTS cases(
        id TEXT PRIMARY KEY,
        reference TEXT NOT NULL,
        kind TEXT NOT NULL, team TEXT NOT NULL, status TEXT NOT NULL, priority TEXT NOT NULL,
        category TEXT NOT NULL, assignee TEXT NOT NULL, client_name TEXT NOT NULL,
        title TEXT NOT NULL, description TEXT NOT NULL,
        created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, closed_at INTEGER NOT NULL,
        next_due INTEGER NOT NULL, overdue_steps INTEGER NOT NULL,
        needs_escalation INTEGER NOT NULL, escalated INTEGER NOT NULL, legal_hold INTEGER NOT NULL,
        conflicts INTEGER NOT NULL,
        search TEXT NOT NULL,
        json TEXT NOT NULL) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS cases_status ON cases(status, next_due);
    CREATE INDEX IF NOT EXISTS cases_team ON cases(team, status);
    CREATE INDEX IF NOT EXISTS cases_assignee ON cases(assignee, status);
    CREATE INDEX IF NOT EXISTS cases_due ON cases(next_due);
    CREATE INDEX IF NOT EXISTS cases_updated ON cases(updated_at);
    CREATE INDEX IF NOT EXISTS cases_reference ON cases(reference);
    CREATE TABLE IF NOT EXISTS tombstones(
        case_id TEXT PRIMARY KEY, reference TEXT NOT NULL, kind TEXT NOT NULL, team TEXT NOT NULL,
        reason TEXT NOT NULL, closed_at INTEGER NOT NULL, purged_at INTEGER NOT NULL, seq INTEGER) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS tombstones_seq ON tombstones(seq);
    )sql",
    // 2: the inbox's default view (one team, sorted by due time, cases without a due time last)
    // walks this index in order and stops after the first page instead of sorting every case of
    // the team (bench: 346 ms -> <1 ms on 100k cases). The expression must stay identical to the
    // ORDER BY in query_cases.
    R"sql(
    CREATE INDEX IF NOT EXISTS cases_team_due ON cases(team, (CASE WHEN next_due = 0 THEN 1 ELSE 0 END), next_due, id);
    )sql",
    // 3: a case's events are found by case id alone (a case has tens of events; they are sorted
    // after the lookup). The old index also held the clock, device and counter: twice the size,
    // and every pushed batch rewrote ~1000 random pages of it (bench: apply 65k -> 85k events/s).
    R"sql(
    DROP INDEX IF EXISTS events_by_case;
    CREATE INDEX IF NOT EXISTS events_by_case_id ON events(case_id);
    )sql",
    // 4: text search on a device: a trigram index over each case's search text (substring match,
    // like instr, without reading every row). Filled and kept only by client stores (see
    // search_index_); the triggers keep the index equal to case_search.
    R"sql(
    CREATE TABLE IF NOT EXISTS case_search(n INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, text TEXT NOT NULL);
    CREATE VIRTUAL TABLE IF NOT EXISTS case_fts USING fts5(text, content='case_search', content_rowid='n', tokenize='trigram');
    CREATE TRIGGER IF NOT EXISTS case_search_ai AFTER INSERT ON case_search BEGIN
        INSERT INTO case_fts(rowid, text) VALUES (new.n, new.text);
    END;
    CREATE TRIGGER IF NOT EXISTS case_search_ad AFTER DELETE ON case_search BEGIN
        INSERT INTO case_fts(case_fts, rowid, text) VALUES ('delete', old.n, old.text);
    END;
    CREATE TRIGGER IF NOT EXISTS case_search_au AFTER UPDATE ON case_search BEGIN
        INSERT INTO case_fts(case_fts, rowid, text) VALUES ('delete', old.n, old.text);
        INSERT INTO case_fts(rowid, text) VALUES (new.n, new.text);
    END;
    )sql",
    // 5: the inbox's sorts walk an index and stop after a page (the text search's first step
    // relies on it): by due time across teams (it replaces the plain next_due index) and by client.
    R"sql(
    DROP INDEX IF EXISTS cases_due;
    CREATE INDEX IF NOT EXISTS cases_due_order ON cases((CASE WHEN next_due = 0 THEN 1 ELSE 0 END), next_due, id);
    CREATE INDEX IF NOT EXISTS cases_client ON cases(client_name);
    )sql",
    // 6: the trigram index is brought up to date when a search needs it, not on every row write
    // (a trigram insert costs ~100 us a row: a device's sync of 100k events went 3x slower).
    R"sql(
    CREATE TABLE IF NOT EXISTS case_search_pending(id TEXT PRIMARY KEY) WITHOUT ROWID;
    )sql",
    // 7: the case rows move to a rowid table. As a WITHOUT ROWID table every row over ~1000 bytes
    // (the search text makes most rows longer) spilled its tail to a 4 KiB overflow page of its
    // own, and interior pages held whole rows: 100k cases took 214 MB, 52k pages, 31k of them
    // overflow pages at 17 % use. The rows also keep when the case was closed for retention
    // (closure_time()), so a sweep decides from the row without folding the case; -1 marks a row
    // written before, which the sweep folds instead.
    R"sql(
    CREATE TABLE cases_v7()sql" CL_CASES_TABLE_COLUMNS R"sql();
    INSERT INTO cases_v7(id, reference, kind, team, status, priority, category, assignee, client_name, title, description,
                         created_at, updated_at, closed_at, next_due, overdue_steps, needs_escalation, escalated, legal_hold,
                         conflicts, search, json)
        SELECT id, reference, kind, team, status, priority, category, assignee, client_name, title, description,
               created_at, updated_at, closed_at, next_due, overdue_steps, needs_escalation, escalated, legal_hold,
               conflicts, search, json FROM cases;
    DROP TABLE cases;
    ALTER TABLE cases_v7 RENAME TO cases;
    CREATE INDEX cases_status ON cases(status, next_due);
    CREATE INDEX cases_team ON cases(team, status);
    CREATE INDEX cases_assignee ON cases(assignee, status);
    CREATE INDEX cases_updated ON cases(updated_at);
    CREATE INDEX cases_reference ON cases(reference);
    CREATE INDEX cases_team_due ON cases(team, (CASE WHEN next_due = 0 THEN 1 ELSE 0 END), next_due, id);
    CREATE INDEX cases_due_order ON cases((CASE WHEN next_due = 0 THEN 1 ELSE 0 END), next_due, id);
    CREATE INDEX cases_client ON cases(client_name);
    )sql",
    // 8: events by case move from an index updated per event (a random page write for each event:
    // at 1M events two thirds of the insert time) to events_of_case, written in sorted bulk merges
    // of the newest events (see Store::CaseTail). case_index_upto: the newest event rowid merged.
    R"sql(
    CREATE TABLE IF NOT EXISTS events_of_case(case_id TEXT NOT NULL, ev INTEGER NOT NULL, PRIMARY KEY(case_id, ev)) WITHOUT ROWID;
    INSERT OR IGNORE INTO events_of_case(case_id, ev) SELECT case_id, rowid FROM events ORDER BY case_id, rowid;
    INSERT OR REPLACE INTO meta(key, value) VALUES('case_index_upto', (SELECT coalesce(max(rowid), 0) FROM events));
    DROP INDEX IF EXISTS events_by_case_id;
    )sql",
    // 9: events_of_case is keyed by a number given to each case when its events are first merged,
    // not by the case id. Ids are random-ish ("c-<device>-<n>"), so a merge of the newest events
    // wrote into every page of the index (its cost grew with the table: 10 % of the insert time
    // at 1M events); cases numbered in order of first sight keep the active ones near the end.
    R"sql(
    CREATE TABLE IF NOT EXISTS case_numbers(n INTEGER PRIMARY KEY, case_id TEXT NOT NULL UNIQUE);
    INSERT OR IGNORE INTO case_numbers(case_id) SELECT case_id FROM events_of_case GROUP BY case_id ORDER BY min(ev), case_id;
    CREATE TABLE events_of_case_v9(case_no INTEGER NOT NULL, ev INTEGER NOT NULL, PRIMARY KEY(case_no, ev)) WITHOUT ROWID;
    INSERT INTO events_of_case_v9(case_no, ev)
        SELECT c.n, k.ev FROM events_of_case k JOIN case_numbers c ON c.case_id = k.case_id ORDER BY c.n, k.ev;
    DROP TABLE events_of_case;
    ALTER TABLE events_of_case_v9 RENAME TO events_of_case;
    )sql",
    // 10: the inbox's sorts by last update, reference and client break ties by id (query_cases),
    // so their indexes end in id too. Without it SQLite sorted each run of equal keys after the
    // walk, and for a page of one or two rows it chose to sort the whole table instead (100k
    // cases: 40 ms instead of 0.1 ms).
    R"sql(
    DROP INDEX IF EXISTS cases_updated;
    CREATE INDEX cases_updated ON cases(updated_at, id);
    DROP INDEX IF EXISTS cases_reference;
    CREATE INDEX cases_reference ON cases(reference, id);
    DROP INDEX IF EXISTS cases_client;
    CREATE INDEX cases_client ON cases(client_name, id);
    )sql",
    // 11: the cases that need escalation or are escalated, by status and due time: the inbox's
    // counts (inbox_counts) and its Escalations filter read them from this index instead of
    // scanning every row (100k cases: ~26 ms a count, natively).
    R"sql(
    CREATE INDEX IF NOT EXISTS cases_attention ON cases(status, next_due, needs_escalation, escalated)
        WHERE needs_escalation = 1 OR escalated = 1;
    )sql",
    // 12: each device id belongs to the user who first pushed from it (server): device ids are
    // visible to teammates, and a user who pushed events under another's device id and counters
    // made that device's real events conflicts, refused for good. Filled from the stored events,
    // first author of each device (in rowid order: INSERT OR IGNORE keeps the first).
    R"sql(
    CREATE TABLE IF NOT EXISTS devices(device TEXT PRIMARY KEY, user TEXT NOT NULL) WITHOUT ROWID;
    INSERT OR IGNORE INTO devices(device, user) SELECT device, author FROM events WHERE device <> 'server' ORDER BY rowid;
    )sql",
};
constexpr int kSchemaVersion = sizeof(kMigrations) / sizeof(kMigrations[0]);

// A new file gets the schema at kSchemaVersion in one script instead of replaying every migration.
// The replay rebuilt tables and renamed them (7, 9), and each rename re-parses every schema entry:
// ~11M instructions natively, and in the browser it made SQLite's parser and VM the hottest code
// of the start-up, so the engine compiled both with its optimising tier on the two cores that were
// starting the page (cold start, 2 cores: ~1 s of CPU). Must equal what the replay produces:
// StoreSchema.NewFileEqualsReplayedMigrations compares the two. Bump it with every migration.
constexpr int kFreshSchemaVersion = 12;
const char* const kFreshSchema = R"sql(
    CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE events()sql" CL_EVENTS_TABLE_COLUMNS R"sql();
    CREATE UNIQUE INDEX events_by_seq ON events(seq) WHERE seq IS NOT NULL;
    CREATE INDEX events_pending ON events(rowid) WHERE seq IS NULL;
    CREATE TABLE tombstones(
        case_id TEXT PRIMARY KEY, reference TEXT NOT NULL, kind TEXT NOT NULL, team TEXT NOT NULL,
        reason TEXT NOT NULL, closed_at INTEGER NOT NULL, purged_at INTEGER NOT NULL, seq INTEGER) WITHOUT ROWID;
    CREATE INDEX tombstones_seq ON tombstones(seq);
    CREATE TABLE case_search(n INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, text TEXT NOT NULL);
    CREATE VIRTUAL TABLE case_fts USING fts5(text, content='case_search', content_rowid='n', tokenize='trigram');
    CREATE TRIGGER case_search_ai AFTER INSERT ON case_search BEGIN
        INSERT INTO case_fts(rowid, text) VALUES (new.n, new.text);
    END;
    CREATE TRIGGER case_search_ad AFTER DELETE ON case_search BEGIN
        INSERT INTO case_fts(case_fts, rowid, text) VALUES ('delete', old.n, old.text);
    END;
    CREATE TRIGGER case_search_au AFTER UPDATE ON case_search BEGIN
        INSERT INTO case_fts(case_fts, rowid, text) VALUES ('delete', old.n, old.text);
        INSERT INTO case_fts(rowid, text) VALUES (new.n, new.text);
    END;
    CREATE TABLE case_search_pending(id TEXT PRIMARY KEY) WITHOUT ROWID;
    CREATE TABLE cases()sql" CL_CASES_TABLE_COLUMNS R"sql();
    CREATE INDEX cases_status ON cases(status, next_due);
    CREATE INDEX cases_team ON cases(team, status);
    CREATE INDEX cases_assignee ON cases(assignee, status);
    CREATE INDEX cases_team_due ON cases(team, (CASE WHEN next_due = 0 THEN 1 ELSE 0 END), next_due, id);
    CREATE INDEX cases_due_order ON cases((CASE WHEN next_due = 0 THEN 1 ELSE 0 END), next_due, id);
    CREATE TABLE case_numbers(n INTEGER PRIMARY KEY, case_id TEXT NOT NULL UNIQUE);
    CREATE TABLE events_of_case(case_no INTEGER NOT NULL, ev INTEGER NOT NULL, PRIMARY KEY(case_no, ev)) WITHOUT ROWID;
    CREATE INDEX cases_updated ON cases(updated_at, id);
    CREATE INDEX cases_reference ON cases(reference, id);
    CREATE INDEX cases_client ON cases(client_name, id);
    CREATE INDEX cases_attention ON cases(status, next_due, needs_escalation, escalated)
        WHERE needs_escalation = 1 OR escalated = 1;
    CREATE TABLE devices(device TEXT PRIMARY KEY, user TEXT NOT NULL) WITHOUT ROWID;
    INSERT INTO meta(key, value) VALUES('case_index_upto', 0);
)sql";
static_assert(kFreshSchemaVersion == kSchemaVersion, "a migration was added: bring kFreshSchema up to it");

}  // namespace

Expected<std::unique_ptr<Store>> Store::open(const std::string& path, const StoreOptions& opts) {
    std::unique_ptr<Store> s(new Store());
    s->opts_ = opts;
    s->now_ = [] { return wall_now_ms(); };
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI;  // URI: tests pick a fault-injecting VFS
    // WAL stores write each commit's frames in one call (gather_vfs.h); a URI's vfs= (the fault
    // tests) takes precedence. The browser's store has no WAL.
    const char* vfs = nullptr;
#ifndef __EMSCRIPTEN__
    if (opts.wal) vfs = sql::gather_vfs();
#endif
    if (sqlite3_open_v2(path.c_str(), &s->db_, flags, vfs) != SQLITE_OK) {
        Error e = make_error("storage", "cannot open database '" + path + "': " +
                                            (s->db_ ? sqlite3_errmsg(s->db_) : "out of memory"));
        return e;
    }
    sqlite3_busy_timeout(s->db_, opts.busy_timeout_ms);
    sqlite3_create_function(s->db_, "closeloop_transaction_lost", 0, SQLITE_UTF8, nullptr,
                            [](sqlite3_context* ctx, int, sqlite3_value**) {
                                sqlite3_result_error(ctx, "the transaction was rolled back after a storage error", -1);
                            }, nullptr, nullptr);
    sqlite3_extended_result_codes(s->db_, 1);
    // synchronous=FULL in rollback mode, NORMAL is durable enough in WAL (never OFF: see TOOLCHAIN).
    // cache_size: SQLite's default page cache is 2 MiB, so every inbox query and every re-fold on a
    // store of more than a few thousand cases went back to the OS for its pages (bench: insert cost
    // per event 16 us at 10k events -> 74 us at 100k). 32 MiB is an upper bound, used as pages are read.
    const char* pragmas = opts.wal ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-32768; PRAGMA wal_autocheckpoint=8192;"
                                   : "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-32768;";
    if (Status st = sql::exec(s->db_, pragmas); !st) return st.error();
    // See StoreOptions::exclusive. In that mode SQLite keeps the journal file between
    // transactions; truncated, it stays empty (a journal kept at its largest size would be
    // written to IndexedDB at every save).
    if (opts.exclusive && !opts.wal)
        if (Status st = sql::exec(s->db_, "PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=TRUNCATE;"); !st) return st.error();
#ifndef __EMSCRIPTEN__
    // A server re-reads random cases' events when it folds rows it could not fold in memory; past
    // the page cache each read was a pread (bench at 1M events: a third of the time in the
    // kernel). Mapped, the database file is read from the OS page cache without a system call.
    if (opts.server) (void)sql::exec(s->db_, "PRAGMA mmap_size=1073741824; PRAGMA cache_size=-131072;");
#endif
    if (Status st = s->check_integrity(); !st) return make_error("corrupt", "database '" + path + "' " + st.error().message);
    if (Status st = s->migrate(); !st) return st.error();
    if (Status st = s->key_events_by_seq(); !st) return st.error();
    if (Status st = s->prepare_search_index(); !st) return st.error();
    // A device writes pulled pages' rows behind them; a store from before that wrote every row as
    // its events arrived: start its mark at what is stored (a new store: 0).
    if (!opts.server && !s->meta("folded_seq"))
        if (Status st = s->set_meta("folded_seq", std::to_string(s->max_event_seq())); !st) return st.error();
    if (opts.server && s->unmaterialized() == 0) {
        s->pending_cases_known_ = true;
        s->pending_version_ = s->data_version();
    }
    return s;
}

Store::~Store() {
    stmt_at_.clear();
    stmts_.clear();
    if (db_) sqlite3_close_v2(db_);
}

// PRAGMA quick_check table by table: every b-tree page of every table and index is read and
// checked, as by the plain pragma, but a full-text table's own check is left out. That check (FTS5
// runs it even for a quick_check) re-reads the whole trigram index against its content: 40 % of
// opening a device's file of 10k cases (natively 180 of 450 ms), on every start of the app, for an
// index that is derived data. What the per-table form does not do is count pages that belong to
// nothing (a leak of space, not of data).
Status Store::check_integrity() {
    std::vector<std::string> tables;
    {
        Stmt list(db_, "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type IN ('table', 'shadow')");
        while (list.step()) tables.push_back(list.text(0));
        if (list.last_rc() != SQLITE_DONE) return make_error("corrupt", std::string("cannot list its tables: ") + sqlite3_errmsg(db_));
    }
    Stmt check(db_, "SELECT quick_check FROM pragma_quick_check(?1)");
    for (const auto& table : tables) {
        check.reset();
        check.bind(1, table);
        if (!check.ok() || !check.step() || check.text(0) != "ok")
            return make_error("corrupt", "failed its integrity check (table " + table + ": " +
                                             (check.ok() && check.last_rc() == SQLITE_ROW ? check.text(0) : std::string(sqlite3_errmsg(db_))) + ")");
    }
    return {};
}

Status Store::migrate() {
    Stmt v(db_, "PRAGMA user_version");
    int version = v.step() ? static_cast<int>(v.i64(0)) : 0;
    v.reset();  // an open statement would lock the schema (DROP INDEX: "table is locked")
    if (version > kSchemaVersion)
        return make_error("unknown_version", "database schema " + std::to_string(version) +
                                                 " is newer than this program understands (" +
                                                 std::to_string(kSchemaVersion) + ")");
    if (version == kSchemaVersion) return {};
    // Every step in one transaction: an upgrade happens whole or not at all, and a new file
    // commits (and syncs) once instead of once per step.
    bool fresh = false;
    if (version == 0 && !opts_.replay_migrations) {
        Stmt any(db_, "SELECT 1 FROM sqlite_master LIMIT 1");
        fresh = any.ok() && !any.step() && any.last_rc() == SQLITE_DONE;  // a file with no schema at all
    }  // finalized before the transaction
    return transact([&]() -> Status {
        if (fresh) {
            if (Status s = sql::exec(db_, kFreshSchema); !s) return s;
        } else {
            for (int i = version; i < kSchemaVersion; ++i)
                if (Status s = sql::exec(db_, kMigrations[i]); !s) return s;
        }
        return sql::exec(db_, ("PRAGMA user_version=" + std::to_string(kSchemaVersion)).c_str());
    });
}

// A server's events are stored under their seq: the rowid is the seq, so pulls and folds read
// rowid ranges of the table itself and no index of seqs is kept (every insert wrote that index's
// newest page too; bench, 100k events: 171k -> 184k events/s). A device assigns rowids in
// arrival order (its own events have no seq until acknowledged), so it keeps events_by_seq.
// A server file from before (or one a device opened) is renumbered once: its events are copied
// under their seqs, then events_of_case, which holds rowids, is rebuilt from them.
Status Store::key_events_by_seq() {
    if (!opts_.server) {
        if (!meta("events_keyed_by_seq")) return {};
        return transact([&] {
            return sql::exec(db_, "CREATE UNIQUE INDEX IF NOT EXISTS events_by_seq ON events(seq) WHERE seq IS NOT NULL;"
                                  "DELETE FROM meta WHERE key='events_keyed_by_seq';");
        });
    }
    if (meta("events_keyed_by_seq")) return {};
    return transact([&]() -> Status {
        int64_t unsequenced = 0, renumber = 0;
        {
            Stmt q(db_, "SELECT count(*) FILTER (WHERE seq IS NULL OR seq <= 0), count(*) FILTER (WHERE rowid <> seq) FROM events");
            if (!q.step()) return q.error("cannot check the events' seqs");
            unsequenced = q.i64(0);
            renumber = q.i64(1);
        }  // finalized: DROP INDEX below needs no statement reading the table
        if (unsequenced > 0)
            return make_error("corrupt", std::to_string(unsequenced) + " events of a server store have no seq");
        if (renumber > 0) {
            // Copied in seq order into a table of the same definition (appending is a quarter of
            // the time of updating every rowid in place), which takes the old one's place with
            // its indexes but the index of seqs.
            std::vector<std::string> ddl;
            {
                Stmt q(db_, "SELECT type, sql FROM sqlite_master WHERE tbl_name='events' AND sql IS NOT NULL"
                            " AND name <> 'events_by_seq' ORDER BY type DESC");  // the table first
                while (q.step()) ddl.push_back(q.text(1));
                if (q.last_rc() != SQLITE_DONE) return q.error("cannot read the events table's definition");
            }
            const std::string create = "CREATE TABLE events(";
            if (ddl.empty() || ddl[0].compare(0, create.size(), create) != 0)
                return make_error("storage", "unexpected definition of the events table");
            std::string copy = "CREATE TABLE events_keyed(" + ddl[0].substr(create.size()) + ";"
                               "INSERT INTO events_keyed(rowid, id, seq, " CL_EVENT_COLUMNS ")"
                               " SELECT seq, id, seq, " CL_EVENT_COLUMNS " FROM events ORDER BY seq;"
                               "DROP TABLE events; ALTER TABLE events_keyed RENAME TO events;";
            for (size_t i = 1; i < ddl.size(); ++i) copy += ddl[i] + ";";
            if (Status st = sql::exec(db_, copy.c_str()); !st) return st;
            if (Status st = sql::exec(db_, R"sql(
                INSERT OR IGNORE INTO case_numbers(case_id) SELECT case_id FROM events GROUP BY case_id ORDER BY min(rowid), case_id;
                DELETE FROM events_of_case;
                INSERT INTO events_of_case(case_no, ev)
                    SELECT c.n, e.rowid FROM events e JOIN case_numbers c ON c.case_id = e.case_id ORDER BY 1, 2;
                INSERT OR REPLACE INTO meta(key, value) VALUES('case_index_upto', (SELECT coalesce(max(rowid), 0) FROM events));
                )sql"); !st)
                return st;
        }
        if (Status st = sql::exec(db_, "DROP INDEX IF EXISTS events_by_seq;"); !st) return st;
        return set_meta("events_keyed_by_seq", "1");
    });
}

// A client store keeps case_search (and its trigram index) equal to the rows' search text; a
// server store does not (its text searches scan). Row writes only mark the case in
// case_search_pending; refresh_search_index() applies the marks before a search uses the index.
// The meta flag says whether the marks are complete, so a store that changes role is handled once.
Status Store::prepare_search_index() {
    search_index_ = !opts_.server;
    auto flag = meta("search_index");
    const bool complete = flag && *flag == "1";
    if (search_index_ == complete) return {};
    return transact([&]() -> Status {
        for (const char* q : {"DELETE FROM case_search", "DELETE FROM case_search_pending"})
            if (Status st = sql::exec(db_, q); !st) return st;
        if (search_index_)
            if (Status st = sql::exec(db_, "INSERT INTO case_search_pending(id) SELECT id FROM cases"); !st) return st;
        return set_meta("search_index", search_index_ ? "1" : "0");
    });
}

Status Store::mark_search_pending(const std::string& case_id) {
    if (!search_index_) return {};
    Stmt& m = stmt("INSERT INTO case_search_pending(id) VALUES(?1) ON CONFLICT(id) DO NOTHING");
    m.bind(1, case_id);
    if (!m.run()) return m.error("cannot mark case " + case_id + " for the search index");
    return {};
}

Status Store::refresh_search_index() {
    if (!search_index_) return {};
    {
        Stmt& any = stmt("SELECT 1 FROM case_search_pending LIMIT 1");
        bool pending = any.step();
        any.reset();
        if (!pending) return {};
    }
    return transact([&]() -> Status {
        // The triggers on case_search keep case_fts equal to it.
        const char* steps[] = {
            "DELETE FROM case_search WHERE id IN (SELECT p.id FROM case_search_pending p"
            " WHERE NOT EXISTS (SELECT 1 FROM cases c WHERE c.id = p.id))",
            "INSERT INTO case_search(id, text) SELECT c.id, c.search FROM case_search_pending p JOIN cases c ON c.id = p.id"
            " WHERE true ON CONFLICT(id) DO UPDATE SET text=excluded.text WHERE text <> excluded.text",
            "DELETE FROM case_search_pending",
        };
        for (const char* q : steps)
            if (Status st = sql::exec(db_, q); !st) return st;
        return Status{};
    });
}

Status Store::delete_case_row(const std::string& case_id) {
    Stmt& d = stmt("DELETE FROM cases WHERE id=?1");
    d.bind(1, case_id);
    if (!d.run()) return d.error("cannot delete case " + case_id);
    return mark_search_pending(case_id);
}

sql::Stmt& Store::stmt(const char* text) {
    if (tx_depth_ > 0 && sqlite3_get_autocommit(db_)) {
        // SQLite rolled our transaction back on its own (an I/O error or a full disk inside a
        // statement whose failure a read path did not stop at). Running this statement now would
        // commit it on its own, outside the transaction: hand out one that fails instead, and
        // fail the transaction.
        tx_failed_ = true;
        text = "SELECT closeloop_transaction_lost()";
    }
    if (auto at = stmt_at_.find(text); at != stmt_at_.end() && std::strcmp(sqlite3_sql(at->second->get()), text) == 0) {
        at->second->reset();
        return *at->second;
    }
    auto it = stmts_.find(text);
    if (it == stmts_.end()) it = stmts_.emplace(text, std::make_unique<Stmt>(db_, text)).first;
    if (it->second->ok()) {
        if (stmt_at_.size() > 400) stmt_at_.clear();  // dynamic queries' buffers: keep it bounded
        stmt_at_[text] = it->second.get();
    }
    it->second->reset();
    return *it->second;
}

// ---------------------------------------------------------------------------------------------
// [SECTION] transactions and meta
// ---------------------------------------------------------------------------------------------

// Cached statements left on a row (single-row lookups are not stepped to the end) keep a read
// transaction open; after an I/O error that pins SQLite's pager in its error state, so every later
// statement fails too. Reset them all before rolling back so the connection recovers.
void Store::reset_statements() {
    for (auto& kv : stmts_) sqlite3_reset(kv.second->get());
}

Status Store::begin() {
    if (tx_depth_++ > 0) return {};
    tx_failed_ = false;
    tail_checked_ = false;
    if (Status st = sql::exec(db_, "BEGIN IMMEDIATE"); !st) {
        tx_depth_ = 0;
        return st;
    }
    // Another connection committed since this one last looked (an admin command beside a live
    // server: retention run, demo, a restore): what is kept in memory about cases (purged or
    // not, team, folds, the seq counter) may be stale, and a push trusting it would let events
    // in for a case that command purged. One PRAGMA per transaction; a store's own commits do
    // not change the value.
    const int64_t version = data_version();
    if (version != seen_version_) {
        if (seen_version_ != -1) forget_cached_state();
        seen_version_ = version;
    }
    return {};
}

// Rolls the outermost transaction back and forgets every cached counter that may now be ahead
// of what is stored (seq, HLC) and the cases waiting for a deferred fold.
void Store::abort_transaction() {
    reset_statements();
    sql::exec(db_, "ROLLBACK");
    forget_cached_state();
}

void Store::forget_cached_state() {
    last_seq_ = -1;
    seq_dirty_ = false;
    clock_loaded_ = false;
    deferred_folds_.clear();
    rows_behind_ = -1;
    memo_.clear();  // folds may hold events that were just rolled back; so may the tails
    folded_.clear();
    facts_.clear();
    device_owners_.clear();
    tail_.loaded = false;  // merges and new events may have been rolled back
    pending_cases_known_ = false;  // the folded_seq mark may have gone back
    pending_cases_.clear();
}

Status Store::commit() {
    if (tx_depth_ == 0) return make_error("storage", "commit without a transaction");
    if (tx_depth_ == 1 && !tx_failed_ && !deferred_folds_.empty()) {
        // Safety net: cases applied with fold = false are folded before the outer commit.
        if (Status st = fold_deferred(); !st) tx_failed_ = true;
    }
    if (tx_depth_ == 1 && !tx_failed_ && seq_dirty_) {
        if (Status st = save_seq(); !st) tx_failed_ = true;  // seqs taken in this transaction
    }
    if (--tx_depth_ > 0) return {};
    if (!tx_failed_ && sqlite3_get_autocommit(db_)) tx_failed_ = true;  // SQLite rolled it back already
    if (tx_failed_) {
        abort_transaction();
        return make_error("storage", "transaction rolled back after an earlier failure");
    }
    Status st = sql::exec(db_, "COMMIT");
    if (!st) abort_transaction();
    // A lookup left on its row keeps a read transaction open after COMMIT; that pins the WAL, so
    // checkpoints cannot restart it, it grows without bound and every page read searches it
    // (bench at 1M events: 45 % of the time in walFindFrame).
    else reset_statements();
    deferred_folds_.clear();  // committed (callers fold before) or rolled back
    return st;
}

void Store::rollback() {
    if (tx_depth_ == 0) return;
    if (--tx_depth_ > 0) {
        tx_failed_ = true;
        return;
    }
    abort_transaction();
}

Status Store::transact(const std::function<Status()>& fn) {
    if (Status st = begin(); !st) return st;
    Status st = fn();
    if (!st) {
        rollback();
        return st;
    }
    return commit();
}

std::optional<std::string> Store::meta(const std::string& key) {
    Stmt& s = stmt("SELECT value FROM meta WHERE key=?1");
    s.bind(1, key);
    std::optional<std::string> v;
    if (s.step()) v = s.text(0);
    s.reset();  // do not hold a read transaction (see commit())
    return v;
}

Status Store::set_meta(const std::string& key, const std::string& value) {
    Stmt& s = stmt("INSERT INTO meta(key,value) VALUES(?1,?2) ON CONFLICT(key) DO UPDATE SET value=excluded.value");
    s.bind(1, key).bind(2, value);
    if (!s.run()) return s.error("cannot write setting");
    return {};
}

void Store::set_sla(const SlaPolicy& policy, const BusinessCalendar& cal) {
    policy_ = policy;
    calendar_ = cal;
}

// ---------------------------------------------------------------------------------------------
// [SECTION] events
// ---------------------------------------------------------------------------------------------

namespace {

Event read_event(Stmt& s, int first_col) {
    // columns: id-less envelope: device, counter, hlc, lc, case_id, team, author, type, v, body
    Event e;
    int c = first_col;
    e.device = s.text(c++);
    e.counter = static_cast<uint64_t>(s.i64(c++));
    e.clock.wall_ms = s.i64(c++);
    e.clock.logical = static_cast<uint32_t>(s.i64(c++));
    e.case_id = s.text(c++);
    e.team = s.text(c++);
    e.author = s.text(c++);
    e.type = s.text(c++);
    e.schema = static_cast<int>(s.i64(c++));
    e.body = s.text(c++);
    return e;
}

}  // namespace

int64_t Store::next_seq() {
    if (last_seq_ < 0) {
        auto v = meta("last_seq");
        last_seq_ = v ? std::stoll(*v) : 0;
    }
    ++last_seq_;
    seq_dirty_ = true;  // written once per batch by save_seq(), inside the same transaction
    return last_seq_;
}

Status Store::save_seq() {
    if (!seq_dirty_) return {};
    seq_dirty_ = false;
    return set_meta("last_seq", std::to_string(last_seq_));
}

int64_t Store::max_seq() {
    if (opts_.server) {
        auto v = meta("last_seq");
        return v ? std::stoll(*v) : 0;
    }
    Stmt& s = stmt("SELECT max(coalesce((SELECT max(seq) FROM events),0), coalesce((SELECT max(seq) FROM tombstones),0))");
    return s.step() ? s.i64(0) : 0;
}

std::optional<StoredEvent> Store::find_event(const std::string& id) {
    Stmt& s = stmt("SELECT coalesce(seq,0), " CL_EVENT_COLUMNS " FROM events WHERE id=?1");
    s.bind(1, id);
    if (!s.step()) return std::nullopt;
    StoredEvent se;
    se.seq = s.i64(0);
    se.event = read_event(s, 1);
    s.reset();
    return se;
}

Expected<ApplyResult> Store::apply_events(const std::vector<Event>& events, const std::vector<int64_t>& acked_seqs,
                                          Rows rows) {
    ApplyResult result;
    std::set<std::string> to_fold;
    struct FoldLater {
        const Event* event;
        CaseMemo* memo;  // nodes of memo_ stay put, and an entry with a tail is not evicted
        bool fresh;
        std::optional<bool> only_event;
    };
    std::vector<FoldLater> fold_after;
    fold_after.reserve(events.size());
    int64_t lowest_behind = 0;  // lowest seq of a pulled event whose row is written behind
    std::unordered_map<std::string, bool> purged;  // per batch: a batch holds ~10 events per case
    int64_t now = now_();
    Status st = transact([&]() -> Status {
        // Without tombstones no case is purged: one query instead of one per case (the write
        // lock taken by the transaction keeps it true until the batch commits).
        bool any_purged = true;
        {
            Stmt& t = stmt("SELECT EXISTS(SELECT 1 FROM tombstones)");
            if (t.step()) any_purged = t.i64(0) != 0;
            t.reset();
        }
        for (size_t i = 0; i < events.size(); ++i) {
            const Event& e = events[i];
            const std::string id = e.id();
            bool is_purged = false;
            if (any_purged) {
                auto pit = purged.find(e.case_id);
                if (pit == purged.end()) pit = purged.emplace(e.case_id, known_purged(e.case_id)).first;
                is_purged = pit->second;
            }
            if (is_purged) {
                result.rejected.push_back({id, make_error("purged", "case " + e.case_id + " was purged under the retention policy")});
                continue;
            }
            int64_t pulled_seq = i < acked_seqs.size() ? acked_seqs[i] : 0;
            // Insert first: a new event (the common case) costs one probe of the id index, not two.
            int64_t seq = opts_.server ? next_seq() : pulled_seq;
            // A server stores the event under its seq (see key_events_by_seq).
            Stmt& ins = opts_.server
                            ? stmt("INSERT INTO events(rowid, id, seq, " CL_EVENT_COLUMNS ") VALUES(?2,?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)"
                                   " ON CONFLICT(id) DO NOTHING")
                            : stmt("INSERT INTO events(id, seq, " CL_EVENT_COLUMNS ") VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)"
                                   " ON CONFLICT(id) DO NOTHING");
            // Bound without copies: the texts outlive this insert (a copy of each body was 1 %).
            ins.bind_static(1, id);
            if (seq > 0) ins.bind(2, seq);
            else ins.bind_null(2);
            ins.bind_static(3, e.device).bind(4, e.counter).bind(5, e.clock.wall_ms).bind(6, static_cast<int64_t>(e.clock.logical))
                .bind_static(7, e.case_id).bind_static(8, e.team).bind_static(9, e.author).bind_static(10, e.type)
                .bind(11, e.schema).bind_static(12, e.body);
            if (!ins.run()) return ins.error("cannot store event " + id);
            if (sqlite3_changes(db_) == 0) {
                if (opts_.server) --last_seq_;  // the seq was not used: hand it to the next event
                auto existing = find_event(id);
                if (!existing) return make_error("storage", "event " + id + " vanished during insert");
                if (!same_event(existing->event, e)) {
                    result.rejected.push_back({id, make_error("conflict", "event id " + id + " already exists with different content")});
                    continue;
                }
                result.duplicates++;
                if (pulled_seq > 0 && existing->seq == 0) {
                    Stmt& u = stmt("UPDATE events SET seq=?2 WHERE id=?1");
                    u.bind(1, id).bind(2, pulled_seq);
                    if (!u.run()) return u.error("cannot acknowledge event");
                }
                result.acks.emplace_back(id, existing->seq ? existing->seq : pulled_seq);
                continue;
            }
            result.inserted++;
            result.acks.emplace_back(id, seq);
            // One lookup for the case's tail and fold (the tail is loaded after a first use).
            CaseMemo* memo = nullptr;
            bool fresh = false;  // the case had nothing in memory
            if (tail_.loaded) {
                auto [it, made] = memo_.try_emplace(e.case_id);
                memo = &it->second;
                fresh = made;
                memo->tail.push_back(sqlite3_last_insert_rowid(db_));
                tail_.size++;
            }
            // Each case once between materializations: its memo marks it (a hash insert per
            // event was 1 % of an insert), or the set dedupes it.
            if (pending_cases_known_ && !(memo && memo->row_pending)) {
                pending_cases_.insert(e.case_id);
                if (memo) memo->row_pending = true;
            }
            if (rows == Rows::behind && !opts_.server && seq > 0) {
                rows_behind_ = 1;  // the folded_seq mark tracks it
                lowest_behind = lowest_behind ? std::min(lowest_behind, seq) : seq;
            } else if (!opts_.server) {  // a server writes rows in materialize()
                to_fold.insert(e.case_id);
            }
            observe_clock(e.clock);
            note_facts(e);
            // Folded after the batch's inserts (below): SQLite's code and the fold's then take
            // turns in the instruction cache once per batch, not once per event (callgrind's
            // cache model, 100k events: 57M -> 29M instruction-cache misses). Whether a case
            // starts its fold depends on its events stored as of this insert: asked now.
            std::optional<bool> only_event;
            if ((e.type == ev::kCaseCreated || fresh) && !(memo && memo->fold)) {
                auto rowids = case_rowids(e.case_id);
                only_event = rowids && rowids->size() == 1;
            }
            fold_after.push_back(FoldLater{&e, memo, fresh, only_event});
        }
        for (const FoldLater& f : fold_after) fold_into_cache(*f.event, f.memo, f.fresh, f.only_event);
        if (Status s = save_seq(); !s) return s;
        if (Status s = merge_case_tail(); !s) return s;
        if (opts_.server) {
            // Rows follow in materialize() (write-behind), at the latest after materialize_lag events.
            if (opts_.materialize_lag > 0 && unmaterialized() >= opts_.materialize_lag) return materialize();
            return {};
        }
        // A device's own events get their seqs when pushed, before it pulls what others sent
        // earlier: the mark may be past a pulled event's seq. Lower it so the event is above it.
        if (lowest_behind > 0 && lowest_behind <= folded_seq())
            if (Status s = set_meta("folded_seq", std::to_string(lowest_behind - 1)); !s) return s;
        if (rows != Rows::now) {  // an event without a seq cannot go behind: folded at commit
            deferred_folds_.insert(to_fold.begin(), to_fold.end());
            return {};
        }
        for (const auto& case_id : to_fold)
            if (Status s = refold(case_id, now); !s) return s;
        return {};
    });
    if (!st) return st.error();
    return result;
}

Status Store::fold_deferred() {
    if (deferred_folds_.empty()) return {};
    std::set<std::string> cases;
    cases.swap(deferred_folds_);
    const int64_t now = now_();
    return transact([&]() -> Status {
        for (const auto& case_id : cases)
            if (Status s = refold(case_id, now); !s) return s;
        return {};
    });
}

int64_t Store::folded_seq() {
    auto v = meta("folded_seq");
    return v ? std::stoll(*v) : 0;
}

int64_t Store::max_event_seq() {
    Stmt& s = stmt(opts_.server ? "SELECT coalesce(max(rowid), 0) FROM events" : "SELECT coalesce(max(seq), 0) FROM events");
    int64_t v = s.step() ? s.i64(0) : 0;
    s.reset();
    return v;
}

int64_t Store::unmaterialized() {
    if (!opts_.server) return std::max<int64_t>(0, max_event_seq() - folded_seq());
    if (last_seq_ < 0) {
        auto v = meta("last_seq");
        last_seq_ = v ? std::stoll(*v) : 0;
    }
    return std::max<int64_t>(0, last_seq_ - folded_seq());
}

Status Store::materialize(int64_t max_events) {
    if (!opts_.server) {
        if (Status st = fold_deferred(); !st) return st;
        if (rows_behind_ < 0) rows_behind_ = unmaterialized() > 0 ? 1 : 0;
        if (rows_behind_ == 0) return {};  // no I/O: every reader calls this, on a device every frame
    } else if (unmaterialized() == 0) {
        return {};
    }
    const int64_t now = now_();
    bool complete = false;  // server: every event is folded (not a step of max_events)
    Status done = transact([&]() -> Status {
        const int64_t mark = folded_seq();
        int64_t upto = opts_.server ? last_seq_ : max_event_seq();
        if (max_events > 0) upto = std::min(upto, mark + max_events);
        complete = opts_.server && upto >= last_seq_;
        std::vector<std::string> ids;
        // A server that knows the cases above the mark, all folded in memory, writes their rows
        // without reading the range back (the read below only finds cases and their events).
        const bool from_memory =
            complete && pending_cases_known_ && data_version() == pending_version_ &&
            std::all_of(pending_cases_.begin(), pending_cases_.end(), [&](const std::string& id) {
                auto it = memo_.find(id);
                return it != memo_.end() && it->second.fold;
            });
        if (from_memory) ids.assign(pending_cases_.begin(), pending_cases_.end());
        // The range's events of the cases without a fold in memory, by case: a case whose events
        // are all in the range folds from these instead of reading each event back by rowid
        // (events that arrive out of order drop their case's fold: over HTTP, devices' batches
        // interleave, and those reads were a fifth of a push's time). Bounded: past
        // StoreOptions::materialize_read_events the other cases are read back as before.
        // The events read lie in one array, reserved up front (the range holds at most
        // upto - mark of them): no event moves while it fills, and each case keeps pointers.
        // (A vector of events per case, grown event by event, was 6 % of the perf samples of a
        // push's server time, most of them first touches of the memory each regrowth moved the
        // events into; per 100k-event HTTP ingest the server's page faults went ~700 -> ~500,
        // its CPU time moved within the noise.)
        struct InRange {
            bool read = false;  // its events are collected (not folded in memory, not past the cap)
            std::vector<const Event*> events;
        };
        std::unordered_map<std::string, InRange> cases;
        std::vector<Event> range_events;
        if (!from_memory) {
            range_events.reserve(std::min(static_cast<size_t>(std::max<int64_t>(upto - mark, 0)), opts_.materialize_read_events));
            // Not DISTINCT in SQL: the planner then scanned the whole case index for it instead
            // of the seq range (found when retention re-checked after every purge).
            Stmt& s = stmt(opts_.server ? "SELECT " CL_EVENT_COLUMNS " FROM events WHERE rowid > ?1 AND rowid <= ?2"
                                        : "SELECT " CL_EVENT_COLUMNS " FROM events WHERE seq > ?1 AND seq <= ?2");
            s.bind(1, mark).bind(2, upto);
            // Each case once (a hash map: sorting every event's case id was 8 % of materialize()),
            // then in id order, the order of the rows' primary key.
            constexpr int kCaseColumn = 4;  // in CL_EVENT_COLUMNS
            while (s.step()) {
                auto [it, fresh] = cases.try_emplace(s.text(kCaseColumn));
                InRange& c = it->second;
                const bool room = range_events.size() < range_events.capacity();  // never regrown
                if (fresh) c.read = room && !cached_fold(it->first);  // folded in memory: nothing to read
                if (!c.read) continue;
                if (!room) {  // past the cap: the case reads all its events back when it folds
                    c.read = false;
                    c.events.clear();
                    continue;
                }
                range_events.push_back(read_event(s, 0));
                c.events.push_back(&range_events.back());
            }
            if (s.last_rc() != SQLITE_DONE) return s.error("cannot list cases to fold");
            ids.reserve(cases.size());
            for (const auto& [id, c] : cases) ids.push_back(id);
        }
        std::sort(ids.begin(), ids.end());
        for (const auto& id : ids) {
            auto it = cases.find(id);
            const bool read = it != cases.end() && it->second.read;
            if (Status st = refold(id, now, read ? &it->second.events : nullptr); !st) return st;
        }
        return set_meta("folded_seq", std::to_string(upto));
    });
    // Committed (inside a caller's transaction it may still roll back).
    if (done && !opts_.server && tx_depth_ == 0 && max_events <= 0) rows_behind_ = 0;
    if (done && complete) {  // a later rollback forgets this (abort_transaction)
        for (const auto& id : pending_cases_)
            if (auto it = memo_.find(id); it != memo_.end()) it->second.row_pending = false;
        pending_cases_.clear();
        pending_cases_known_ = true;
        pending_version_ = data_version();
    }
    return done;
}

Expected<std::vector<Event>> Store::case_events(const std::string& case_id) {
    if (Status st = load_case_tail(); !st) return st.error();
    std::vector<Event> out;
    {
        // The merged part in one statement (a lookup per event costs a statement step each).
        Stmt& s = stmt("SELECT " CL_EVENT_COLUMNS_OF_E " FROM case_numbers c CROSS JOIN events_of_case k ON k.case_no = c.n"
                       " CROSS JOIN events e ON e.rowid = k.ev WHERE c.case_id=?1");
        s.bind(1, case_id);
        while (s.step()) out.push_back(read_event(s, 0));
        if (s.last_rc() != SQLITE_DONE) return s.error("cannot read case events");
    }
    if (auto it = memo_.find(case_id); it != memo_.end() && !it->second.tail.empty()) {
        // The newest events by rowid, also in one statement: the array is bound, not copied.
        const std::vector<int64_t>& rowids = it->second.tail;
        const size_t before = out.size();
        Stmt& s = stmt("SELECT " CL_EVENT_COLUMNS_OF_E " FROM carray(?1) r CROSS JOIN events e ON e.rowid = r.value");
        if (!s.bind_array(1, rowids)) return s.error("cannot read case events");
        while (s.step()) out.push_back(read_event(s, 0));
        const int rc = s.last_rc();
        s.reset();  // the statement must not outlive its view of the array
        if (rc != SQLITE_DONE) return s.error("cannot read case events");
        if (out.size() - before != rowids.size())
            return make_error("storage", "events of case " + case_id + " are missing");
    }
    std::sort(out.begin(), out.end(), event_before);
    return out;
}

// ---- events by case (see Store::CaseTail) ----

int64_t Store::data_version() {
    Stmt& dv = stmt("PRAGMA data_version");
    const int64_t version = dv.step() ? dv.i64(0) : -1;
    dv.reset();
    return version;
}

Status Store::load_case_tail() {
    const int64_t version = data_version();
    if (tail_.loaded && (tail_checked_ || version == tail_.data_version)) {
        tail_checked_ = tx_depth_ > 0;
        return {};
    }
    clear_case_tails();
    tail_ = CaseTail();
    auto mark = meta("case_index_upto");
    tail_.upto = mark ? std::stoll(*mark) : 0;
    Stmt& s = stmt("SELECT case_id, rowid FROM events WHERE rowid > ?1");
    s.bind(1, tail_.upto);
    while (s.step()) {
        memo_[s.text(0)].tail.push_back(s.i64(1));
        tail_.size++;
    }
    if (s.last_rc() != SQLITE_DONE) {
        clear_case_tails();
        tail_ = CaseTail();
        return s.error("cannot read the newest events");
    }
    tail_.loaded = true;
    tail_.data_version = version;
    tail_checked_ = tx_depth_ > 0;
    return {};
}

// Empties every case's tail (and erases entries left with nothing); tail_ is left to the caller.
void Store::clear_case_tails() {
    for (auto it = memo_.begin(); it != memo_.end();) {
        it->second.tail.clear();
        it = it->second.fold ? std::next(it) : memo_.erase(it);
    }
    tail_.size = 0;
}

static size_t case_index_tail_limit(const StoreOptions& o) {
    return o.case_index_tail ? o.case_index_tail : o.server ? 65536 : 8192;
}

// One sorted pass: each page of events_of_case is written once per merge, not once per event.
Status Store::merge_case_tail() {
    if (Status st = load_case_tail(); !st) return st;
    if (tail_.size < case_index_tail_limit(opts_)) return {};
    return transact([&]() -> Status {
        // The tails in memory hold exactly the events above the mark (load_case_tail): insert
        // them in the index's order from there. Reading them back from the events table and
        // sorting them in SQL was most of a merge.
        std::vector<std::pair<int64_t, std::vector<int64_t>*>> tails;  // (case number, rowids)
        struct Unnumbered {
            int64_t first;  // the case's first event here
            const std::string* id;
            std::vector<int64_t>* tail;
        };
        std::vector<Unnumbered> fresh;
        // Each case's number: the one it has, or the next one (new cases in order of their first
        // event here, so a case's number follows its first sight).
        Stmt& find = stmt("SELECT n FROM case_numbers WHERE case_id=?1");
        for (auto& [id, m] : memo_) {
            if (m.tail.empty()) continue;
            find.bind_static(1, id);
            if (find.step()) tails.emplace_back(find.i64(0), &m.tail);
            else if (find.last_rc() != SQLITE_DONE) return find.error("cannot number a case");
            else fresh.push_back({*std::min_element(m.tail.begin(), m.tail.end()), &id, &m.tail});
            find.reset();
        }
        std::sort(fresh.begin(), fresh.end(), [](const Unnumbered& a, const Unnumbered& b) { return a.first < b.first; });
        Stmt& add = stmt("INSERT INTO case_numbers(case_id) VALUES(?1)");
        for (const Unnumbered& f : fresh) {
            add.bind_static(1, *f.id);
            if (!add.run()) return add.error("cannot number a case");
            tails.emplace_back(sqlite3_last_insert_rowid(db_), f.tail);
        }
        std::sort(tails.begin(), tails.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        // One statement per case, its events bound as an array (a statement per event cost more
        // than the SQL it replaced). OR IGNORE: no statement journal (nothing to undo).
        Stmt& ins = stmt("INSERT OR IGNORE INTO events_of_case(case_no, ev) SELECT ?1, value FROM carray(?2)");
        for (auto& [no, rowids] : tails) {
            std::sort(rowids->begin(), rowids->end());
            ins.bind(1, no);
            if (!ins.bind_array(2, *rowids)) return ins.error("cannot index events by case");
            if (!ins.run()) return ins.error("cannot index events by case");
        }
        Stmt& mx = stmt("SELECT coalesce(max(rowid), 0) FROM events");
        const int64_t upto = mx.step() ? mx.i64(0) : -1;
        mx.reset();
        if (upto < 0) return mx.error("cannot read the newest event");
        if (Status st = set_meta("case_index_upto", std::to_string(upto)); !st) return st;
        clear_case_tails();
        tail_.upto = upto;
        return {};
    });
}

Expected<std::vector<int64_t>> Store::case_rowids(const std::string& case_id) {
    if (Status st = load_case_tail(); !st) return st.error();
    std::vector<int64_t> out;
    Stmt& s = stmt("SELECT k.ev FROM case_numbers c CROSS JOIN events_of_case k ON k.case_no = c.n WHERE c.case_id=?1");
    s.bind(1, case_id);
    while (s.step()) out.push_back(s.i64(0));
    if (s.last_rc() != SQLITE_DONE) return s.error("cannot find the case's events");
    if (auto it = memo_.find(case_id); it != memo_.end())
        out.insert(out.end(), it->second.tail.begin(), it->second.tail.end());
    return out;
}

// After the event at rowid was deleted (inside the deleting transaction).
Status Store::forget_case_event(const std::string& case_id, int64_t rowid) {
    if (Status st = load_case_tail(); !st) return st;
    if (rowid <= tail_.upto) {
        Stmt& d = stmt("DELETE FROM events_of_case WHERE case_no=(SELECT n FROM case_numbers WHERE case_id=?1) AND ev=?2");
        d.bind(1, case_id).bind(2, rowid);
        if (!d.run()) return d.error("cannot unindex event");
        return {};
    }
    auto it = memo_.find(case_id);
    if (it == memo_.end()) return {};
    auto& v = it->second.tail;
    if (auto pos = std::find(v.begin(), v.end(), rowid); pos != v.end()) {
        v.erase(pos);
        tail_.size--;
    }
    if (v.empty() && !it->second.fold) memo_.erase(it);
    return {};
}

// A new event takes rowid max(rowid)+1: after deleting the newest events it may be at or below
// the merge mark, where the tail would not look for it after a restart. Lower the mark to the
// newest event left (every event at or below it is merged).
Status Store::lower_case_index_mark() {
    if (Status st = load_case_tail(); !st) return st;  // the mark in memory may be from before a rollback
    Stmt& mx = stmt("SELECT coalesce(max(rowid), 0) FROM events");
    const int64_t newest = mx.step() ? mx.i64(0) : -1;
    mx.reset();
    if (newest < 0) return mx.error("cannot read the newest event");
    if (newest >= tail_.upto) return {};
    if (Status st = set_meta("case_index_upto", std::to_string(newest)); !st) return st;
    tail_.upto = newest;
    return {};
}

namespace {
// The statements below name the type: attachments are found without folding.
static_assert(std::string_view(ev::kAttachmentAdded) == "attachment.added", "attachment events' type");
// The file an attachment event's body names ("" if none).
std::string attachment_sha(const std::string& body) {
    std::string sha;
    if (auto doc = json::parse(body); doc) json::get(doc->root(), "sha256", sha);
    return sha;
}
}  // namespace

Expected<std::set<std::string>> Store::attachment_shas() {
    std::set<std::string> out;
    Stmt& s = stmt("SELECT body FROM events WHERE type='attachment.added'");
    while (s.step())
        if (std::string sha = attachment_sha(s.text(0)); !sha.empty()) out.insert(std::move(sha));
    if (s.last_rc() != SQLITE_DONE) return s.error("cannot read attachments");
    return out;
}

Expected<std::vector<StoredEvent>> Store::events_after(int64_t after, int limit) {
    std::vector<StoredEvent> out;
    Stmt& s = opts_.server ? stmt("SELECT rowid, " CL_EVENT_COLUMNS " FROM events WHERE rowid > ?1 ORDER BY rowid LIMIT ?2")
                           : stmt("SELECT seq, " CL_EVENT_COLUMNS " FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2");
    s.bind(1, after).bind(2, static_cast<int64_t>(limit));
    while (s.step()) {
        StoredEvent se;
        se.seq = s.i64(0);
        se.event = read_event(s, 1);
        out.push_back(std::move(se));
    }
    if (s.last_rc() != SQLITE_DONE) return s.error("cannot read events");
    return out;
}

int64_t Store::event_count() {
    Stmt& s = stmt("SELECT count(*) FROM events");
    return s.step() ? s.i64(0) : 0;
}

// ---------------------------------------------------------------------------------------------
// [SECTION] cases (materialised fold)
// ---------------------------------------------------------------------------------------------

static size_t fold_cache_limit(const StoreOptions& o) {
    return o.fold_cache_cases ? o.fold_cache_cases : o.server ? 16384 : 1024;
}

CaseFolder* Store::cached_fold(const std::string& case_id) {
    auto it = memo_.find(case_id);
    if (it == memo_.end() || !it->second.fold) return nullptr;
    it->second.used = ++use_clock_;
    return &*it->second.fold;
}

void Store::cache_fold(const std::string& case_id, CaseFolder folder) {
    auto [it, made] = memo_.try_emplace(case_id);
    CaseMemo& m = it->second;
    if (!m.fold) {
        m.key = &it->first;
        m.slot = folded_.size();
        folded_.push_back(&m);
    }
    m.fold = std::move(folder);
    m.used = ++use_clock_;
    if (folded_.size() > fold_cache_limit(opts_)) evict_folds();
}

void Store::unfold(CaseMemo& m) {
    if (!m.fold) return;
    m.fold.reset();
    CaseMemo* last = folded_.back();
    folded_[m.slot] = last;
    last->slot = m.slot;
    folded_.pop_back();
}

// Drops the least recently used eighth of the folds at once: a use is a stamp, not a move in a
// list (the list's neighbour updates were 2 % of perf samples at 1M events).
void Store::evict_folds() {
    const size_t limit = fold_cache_limit(opts_);
    const size_t keep = limit - limit / 8;
    if (folded_.size() <= keep) return;
    std::vector<uint64_t> stamps;
    stamps.reserve(folded_.size());
    for (const CaseMemo* m : folded_) stamps.push_back(m->used);
    auto cut = stamps.begin() + static_cast<std::ptrdiff_t>(stamps.size() - keep);
    std::nth_element(stamps.begin(), cut, stamps.end());
    const uint64_t oldest_kept = *cut;  // stamps are unique: exactly `keep` are at or above it
    std::vector<CaseMemo*> old;
    for (CaseMemo* m : folded_)
        if (m->used < oldest_kept) old.push_back(m);
    for (CaseMemo* m : old) {
        unfold(*m);
        if (m->tail.empty()) memo_.erase(std::string(*m->key));  // (a copy: the key goes with the entry)
    }
}

void Store::drop_fold(std::unordered_map<std::string, CaseMemo>::iterator it) {
    unfold(it->second);
    if (it->second.tail.empty()) memo_.erase(it);
}

void Store::forget_fold(const std::string& case_id) {
    if (auto it = memo_.find(case_id); it != memo_.end()) drop_fold(it);
}

// Keeps the cached fold of e's case current after e was inserted. memo: e's entry, or null (not
// looked up yet); fresh: the entry was made for e (the case had no newer events in memory).
void Store::fold_into_cache(const Event& e, CaseMemo* memo, bool fresh, std::optional<bool> only_event) {
    if (!memo) {
        auto it = memo_.find(e.case_id);
        memo = it == memo_.end() ? nullptr : &it->second;
    }
    if (memo && memo->fold) {
        memo->used = ++use_clock_;
        // Out of order (devices sync late): the next fold re-reads the case. (Keeping copies of
        // such cases' events to refold them from memory was measured: no faster over HTTP, and
        // 40 MB more memory.)
        if (!memo->fold->try_apply(e)) forget_fold(e.case_id);
        return;
    }
    // A creation usually opens its case, and any first event of a case may: start its fold here
    // unless other events of the case are stored (the new event itself is the case's only one).
    // Other events are checked only when the case had no events in memory (one query each).
    if (e.type != ev::kCaseCreated && !fresh) return;
    if (!only_event) {
        auto rowids = case_rowids(e.case_id);
        only_event = rowids && rowids->size() == 1;
    }
    if (!*only_event) return;
    CaseFolder f;
    f.try_apply(e);
    cache_fold(e.case_id, std::move(f));
}

const CaseState* Store::cached_case(const std::string& case_id) {
    CaseFolder* f = cached_fold(case_id);
    return f ? &f->current() : nullptr;
}

Expected<CaseState> Store::fold_case(const std::string& case_id, std::vector<const Event*>* some) {
    if (CaseFolder* f = cached_fold(case_id)) return f->state();
    CaseFolder f;
    bool any = false;
    bool all_given = false;
    if (some) {
        // Every event of the case, if the case has no other: its rowids tell (no table reads).
        auto rowids = case_rowids(case_id);
        if (!rowids) return rowids.error();
        all_given = rowids->size() == some->size();
    }
    if (all_given) {
        // In fold order, as case_events() returns them (pointers sorted: no event is moved).
        std::sort(some->begin(), some->end(), [](const Event* a, const Event* b) { return event_before(*a, *b); });
        for (const Event* e : *some) f.try_apply(*e);  // sorted: always applies
        any = !some->empty();
    } else {
        auto evs = case_events(case_id);
        if (!evs) return evs.error();
        for (const auto& e : *evs) f.try_apply(e);
        any = !evs->empty();
    }
    CaseState c = f.state();
    if (any) cache_fold(case_id, std::move(f));
    return c;
}

Status Store::refold(const std::string& case_id, int64_t now, std::vector<const Event*>* some) {
    // A cached fold is written from where it lies (a copy of the case was 10 % of materialize()).
    if (CaseFolder* f = cached_fold(case_id)) {
        const CaseState& c = f->current();
        if (c.id.empty()) return delete_case_row(case_id);
        return write_case_row(c, now);
    }
    auto c = fold_case(case_id, some);
    if (!c) return c.error();
    if (c->id.empty()) return delete_case_row(case_id);  // purged (or dropped) before its row was written
    return write_case_row(*c, now);
}

namespace {

// A case row's columns after id, in the order write_case_row gives their values. `json` is not
// among them: it stays empty (kept only for schema compatibility).
constexpr const char* kCaseRowColumns[] = {
    "reference", "kind", "team", "status", "priority", "category", "assignee", "client_name", "title",
    "description", "created_at", "updated_at", "closed_at", "next_due", "overdue_steps", "needs_escalation",
    "escalated", "legal_hold", "conflicts", "search", "retention_from"};
constexpr int kCaseRowValues = sizeof(kCaseRowColumns) / sizeof(kCaseRowColumns[0]);
constexpr int column_index(std::string_view name) {
    for (int i = 0; i < kCaseRowValues; ++i)
        if (name == kCaseRowColumns[i]) return i;
    return -1;
}
constexpr int kSearchColumn = column_index("search");
static_assert(kSearchColumn >= 0);

// The statements write_case_row runs, built from kCaseRowColumns so they cannot drift from it.
const std::string& case_row_insert_sql() {
    static const std::string sql = [] {
        std::string cols, params;
        for (int i = 0; i < kCaseRowValues; ++i) {
            cols += std::string(kCaseRowColumns[i]) + ", ";
            params += "?" + std::to_string(i + 1) + ",";
        }
        return "INSERT INTO cases(" + cols + "id, json) VALUES(" + params + "?" + std::to_string(kCaseRowValues + 1) +
               ",'') ON CONFLICT(id) DO NOTHING";
    }();
    return sql;
}
const std::string& case_row_select_sql() {
    static const std::string sql = [] {
        std::string cols;
        for (int i = 0; i < kCaseRowValues; ++i) cols += std::string(kCaseRowColumns[i]) + ", ";
        return "SELECT " + cols + "rowid FROM cases WHERE id=?1";
    }();
    return sql;
}

struct RowValue {
    bool is_text = false;
    std::string_view text;
    int64_t num = 0;
};

void bind_value(Stmt& s, int i, const RowValue& v) {
    if (v.is_text) s.bind(i, v.text);
    else s.bind(i, v.num);
}

bool same_value(Stmt& s, int col, const RowValue& v) {
    if (!v.is_text) return s.i64(col) == v.num;
    const unsigned char* p = sqlite3_column_text(s.get(), col);
    const size_t n = static_cast<size_t>(sqlite3_column_bytes(s.get(), col));
    return p && n == v.text.size() && std::memcmp(p, v.text.data(), n) == 0;
}

}  // namespace

Status Store::write_case_row(const CaseState& c, int64_t now) {
    SlaReport sla = evaluate_sla(c, policy_, calendar_, now);
    // A case the server has not numbered yet goes by its id (as CaseFolder::state() says).
    const std::string& reference = c.reference.empty() ? c.id : c.reference;
    // The search text: the parts joined by spaces, in one buffer (a temporary string per part
    // was a tenth of this function's own time), then lowered in place.
    std::string search;
    {
        size_t size = 0;
        auto parts = [&](auto&& each) {
            for (const std::string* p : {&reference, &c.id, &c.client.name, &c.client.contact, &c.title, &c.description,
                                         &c.assignee, &c.resolution})
                each(*p);
            for (const auto& n : c.notes) each(n.text);
            for (const auto& sv : c.surveys) {
                each(sv.comment);
                each(sv.suggestion);
            }
        };
        parts([&](const std::string& p) { size += p.size() + 1; });
        search.reserve(size);
        bool first = true;
        parts([&](const std::string& p) {
            if (!first) search += ' ';
            first = false;
            search += p;
        });
    }
    search = lower_ascii(std::move(search));
    auto text = [](const std::string& v) { RowValue r; r.is_text = true; r.text = v; return r; };
    auto num = [](int64_t v) { RowValue r; r.num = v; return r; };
    const RowValue values[kCaseRowValues] = {
        text(reference), text(c.kind), text(c.team), text(c.status), text(c.priority), text(c.category),
        text(c.assignee), text(c.client.name), text(c.title), text(c.description), num(c.created_at), num(c.updated_at),
        num(c.closed_at ? c.closed_at : (c.status == "resolved" ? c.resolved_at : 0)), num(sla.next_due),
        num(static_cast<int64_t>(sla.overdue_count)), num(sla.needs_escalation), num(sla.escalated), num(c.legal_hold),
        num(static_cast<int64_t>(c.conflicts.size())), text(search), num(closure_time(c))};
    {
        // A new case (the common case on a first write): one insert.
        Stmt& ins = stmt(case_row_insert_sql().c_str());
        for (int i = 0; i < kCaseRowValues; ++i) bind_value(ins, i + 1, values[i]);
        ins.bind(kCaseRowValues + 1, c.id);
        if (!ins.run()) return ins.error("cannot store case " + c.id);
        if (sqlite3_changes(db_) > 0) return mark_search_pending(c.id);
    }
    // The row exists: write only the columns whose values changed. SQLite rewrites every index
    // that holds a column named in an UPDATE's SET list, changed or not; a case's later events
    // mostly move updated_at and the due time, and the 8 indexes were most of a rewrite's cost.
    uint32_t changed = 0;
    int64_t rowid = 0;
    {
        Stmt& cur = stmt(case_row_select_sql().c_str());
        cur.bind(1, c.id);
        if (!cur.step()) {
            const bool failed = cur.last_rc() != SQLITE_DONE;
            cur.reset();
            return make_error("storage", failed ? "cannot read case " + c.id : "case " + c.id + " vanished during its write");
        }
        for (int i = 0; i < kCaseRowValues; ++i)
            if (!same_value(cur, i, values[i])) changed |= 1u << i;
        rowid = cur.i64(kCaseRowValues);
        cur.reset();
    }
    if (changed == 0) return {};
    std::string sql = "UPDATE cases SET ";
    int params = 0;
    for (int i = 0; i < kCaseRowValues; ++i) {
        if (!(changed & (1u << i))) continue;
        if (params++) sql += ", ";
        sql += kCaseRowColumns[i];
        sql += "=?" + std::to_string(params);
    }
    sql += " WHERE rowid=?" + std::to_string(params + 1);
    Stmt& up = stmt(sql.c_str());
    int p = 0;
    for (int i = 0; i < kCaseRowValues; ++i)
        if (changed & (1u << i)) bind_value(up, ++p, values[i]);
    up.bind(p + 1, rowid);
    if (!up.run()) return up.error("cannot store case " + c.id);
    if (changed & (1u << kSearchColumn)) return mark_search_pending(c.id);
    return {};
}

Status Store::refresh_sla(int64_t now) {
    return transact([&]() -> Status {
        if (Status st = materialize(); !st) return st;
        std::vector<std::string> ids;
        {
            Stmt& s = stmt("SELECT id FROM cases WHERE status NOT IN ('closed')");
            while (s.step()) ids.push_back(s.text(0));
        }
        for (const auto& id : ids)
            if (Status st = refold(id, now); !st) return st;
        return {};
    });
}

std::optional<CaseState> Store::load_case(const std::string& key) {
    if (!materialize()) return std::nullopt;
    Stmt& s = stmt("SELECT id FROM cases WHERE id=?1 OR reference=?1 LIMIT 1");
    s.bind(1, key);
    if (!s.step()) return std::nullopt;
    std::string id = s.text(0);
    s.reset();
    auto c = fold_case(id);
    if (!c || c->id.empty()) return std::nullopt;
    return std::move(*c);
}

Expected<std::vector<CaseState>> Store::all_cases(const std::vector<std::string>& teams, int64_t touched_since) {
    auto ids = case_ids(teams, touched_since);
    if (!ids) return ids.error();
    return fold_cases(*ids);
}

Expected<std::vector<std::string>> Store::case_ids(const std::vector<std::string>& teams, int64_t touched_since) {
    if (Status st = materialize(); !st) return st.error();
    std::vector<std::string> ids;
    Stmt& s = stmt("SELECT id, team FROM cases WHERE updated_at >= ?1 OR kind = 'improvement' ORDER BY created_at, id");
    s.bind(1, touched_since);
    while (s.step()) {
        std::string team = s.text(1);
        if (teams.empty() || std::find(teams.begin(), teams.end(), team) != teams.end()) ids.push_back(s.text(0));
    }
    if (s.last_rc() != SQLITE_DONE) return s.error("cannot list cases");
    return ids;
}

Expected<std::vector<CaseState>> Store::fold_cases(const std::vector<std::string>& ids) {
    std::vector<CaseState> out;
    out.reserve(ids.size());
    // One transaction for the whole read: outside one, every statement takes and drops the
    // file's lock (fcntl: a fifth of a report's time), and the check for other writers runs once.
    Status st = transact([&]() -> Status {
        for (const auto& id : ids) {
            auto c = fold_case(id);
            if (!c) return c.error();
            out.push_back(std::move(*c));
        }
        return {};
    });
    if (!st) return st.error();
    return out;
}

Expected<std::vector<CaseState>> Store::cases_of_client(const std::string& name) {
    if (Status st = materialize(); !st) return st.error();
    std::vector<std::string> ids;
    {
        Stmt& s = stmt("SELECT id FROM cases WHERE lower(client_name) = ?1 ORDER BY created_at, id");  // lower(): ASCII only
        s.bind(1, lower_ascii(name));
        while (s.step()) ids.push_back(s.text(0));
        if (s.last_rc() != SQLITE_DONE) return s.error("cannot read cases");
    }
    return fold_cases(ids);
}

int64_t Store::case_count() {
    (void)materialize();
    Stmt& s = stmt("SELECT count(*) FROM cases");
    return s.step() ? s.i64(0) : 0;
}

// ---------------------------------------------------------------------------------------------
// [SECTION] queries
// ---------------------------------------------------------------------------------------------

namespace {

struct Where {
    std::string sql;
    std::vector<std::string> texts;  // bound in order as ?1.. after ints? keep simple: all params as text or int
    std::vector<std::pair<bool, std::string>> params;  // (is_int, value)

    void add(const std::string& clause) { sql += sql.empty() ? " WHERE " : " AND "; sql += clause; }
    void text(const std::string& v) { params.emplace_back(false, v); }
    void integer(int64_t v) { params.emplace_back(true, std::to_string(v)); }
};

// How a query's text filter is written: a scan of every row's search text, through the trigram
// index (candidates, then the same exact test), or not at all (the caller adds it).
enum class TextFilter { Scan, Index, None };

std::string fts_phrase(const std::string& text) {  // the text as one FTS5 string: substring match
    std::string out = "\"";
    for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

Where build_where(const CaseQuery& q, TextFilter text = TextFilter::Scan) {
    Where w;
    if (q.status == "open") w.add("status NOT IN ('resolved','closed')");
    else if (!q.status.empty()) { w.add("status = ?"); w.text(q.status); }
    if (!q.kind.empty()) { w.add("kind = ?"); w.text(q.kind); }
    if (!q.team.empty()) { w.add("team = ?"); w.text(q.team); }
    if (!q.assignee.empty()) { w.add("assignee = ?"); w.text(q.assignee); }
    if (!q.category.empty()) { w.add("category = ?"); w.text(q.category); }
    if (!q.teams.empty()) {
        std::string in = "team IN (";
        for (size_t i = 0; i < q.teams.size(); ++i) { in += i ? ",?" : "?"; w.text(q.teams[i]); }
        w.add(in + ")");
    }
    if (!q.text.empty() && text == TextFilter::Index) {
        w.add("id IN (SELECT id FROM case_search WHERE n IN (SELECT rowid FROM case_fts WHERE case_fts MATCH ?))");
        w.text(fts_phrase(lower_ascii(q.text)));
    }
    if (!q.text.empty() && text != TextFilter::None) { w.add("instr(search, ?) > 0"); w.text(lower_ascii(q.text)); }
    if (q.overdue_only) { w.add("next_due > 0 AND next_due < ?"); w.integer(q.now); }
    if (q.escalation_only) w.add("(needs_escalation = 1 OR escalated = 1) AND status NOT IN ('resolved','closed')");
    return w;
}

void bind_where(Stmt& s, const Where& w) {
    int i = 1;
    for (const auto& [is_int, v] : w.params) {
        if (is_int) s.bind(i++, static_cast<int64_t>(std::stoll(v)));
        else s.bind(i++, v);
    }
}

}  // namespace

// Text search (the inbox's search box) runs in two steps. A frequent word fills the page within the
// first rows in the requested order: walk at most StoreOptions::search_walk_rows of them (an index walk for the usual
// sorts) and filter. Otherwise the word is rare: the trigram index (client) gives the few
// candidates, or every row is scanned (server, or text shorter than a trigram).
namespace {
TextFilter text_filter(bool indexed, const std::string& text) {
    return indexed && text.size() >= 3 ? TextFilter::Index : TextFilter::Scan;  // trigrams: 3+ chars
}
}  // namespace

Expected<std::vector<CaseRow>> Store::query_cases(const CaseQuery& q) {
    std::vector<CaseRow> rows;
    if (Status st = query_cases(q, rows); !st) return st.error();
    return rows;
}

namespace {
void assign_text(std::string& to, sqlite3_stmt* s, int col) {
    const unsigned char* p = sqlite3_column_text(s, col);
    if (p) to.assign(reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(s, col)));
    else to.clear();
}
}  // namespace

Status Store::query_cases(const CaseQuery& q, std::vector<CaseRow>& rows) {
    if (Status st = materialize(); !st) {
        rows.clear();
        return st;
    }
    // Every term in the same direction, so that an index walk (forwards or backwards) gives the
    // order: by due time descending is the exact reverse of ascending, cases without a due time
    // first. (With only next_due reversed, no index had that order and SQLite sorted all open
    // cases for every page.)
    const char* dir = q.descending ? " DESC" : " ASC";
    std::string order;
    if (q.sort == "updated") order = "updated_at";
    else if (q.sort == "created") order = "created_at";
    else if (q.sort == "reference") order = "reference";
    else if (q.sort == "status") order = "status";
    else if (q.sort == "client") order = "client_name";
    else if (q.sort == "priority")
        order = "CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END";
    else order = std::string("CASE WHEN next_due = 0 THEN 1 ELSE 0 END") + dir + ", next_due";
    const int limit = std::clamp(q.limit, 0, 100000), offset = std::max(q.offset, 0);
    const std::string order_by = " ORDER BY " + order + dir + ", id" + dir;
    const std::string page = " LIMIT " + std::to_string(limit) + " OFFSET " + std::to_string(offset);
    const std::string cols =
        "SELECT id, reference, kind, team, status, priority, category, assignee, client_name, title, description, created_at,"
        " updated_at, next_due, closed_at, overdue_steps, needs_escalation, escalated, legal_hold, conflicts FROM ";
    auto run = [&](const std::string& sql_text, const Where& w) -> Status {
        Stmt& s = stmt(sql_text.c_str());
        if (!s.ok()) {
            rows.clear();
            return s.error("bad case query");
        }
        bind_where(s, w);
        sqlite3_stmt* st = s.get();
        size_t n = 0;
        while (s.step()) {
            if (n == rows.size()) rows.emplace_back();
            CaseRow& r = rows[n++];
            assign_text(r.id, st, 0); assign_text(r.reference, st, 1); assign_text(r.kind, st, 2);
            assign_text(r.team, st, 3); assign_text(r.status, st, 4); assign_text(r.priority, st, 5);
            assign_text(r.category, st, 6); assign_text(r.assignee, st, 7); assign_text(r.client_name, st, 8);
            assign_text(r.title, st, 9); assign_text(r.description, st, 10);
            r.created_at = s.i64(11); r.updated_at = s.i64(12);
            r.next_due = s.i64(13); r.closed_at = s.i64(14); r.overdue_steps = static_cast<int>(s.i64(15));
            r.needs_escalation = s.i64(16) != 0; r.escalated = s.i64(17) != 0; r.legal_hold = s.i64(18) != 0;
            r.conflicts = static_cast<int>(s.i64(19));
        }
        rows.resize(s.last_rc() == SQLITE_DONE ? n : 0);  // no partial page on failure
        if (s.last_rc() != SQLITE_DONE) return s.error("case query failed");
        if (stmts_.size() > 200) {  // dynamic queries: keep the cache bounded
            stmt_at_.clear();
            stmts_.clear();
        }
        return {};
    };
    // Sorts with an index to walk (the others would sort every row first: go to the second step).
    const bool walkable = q.sort != "priority" && q.sort != "created";
    if (!q.text.empty() && limit > 0 && walkable) {
        // The plain query walks the sort index and stops at the page's last match: at once for a
        // frequent word, after every row for a rare one. So it runs on a budget of SQLite VM steps
        // (checked every 100; about 20 a row, so ~search_walk_rows rows); a query that finishes
        // within it is exact, one that runs out is interrupted and the trigram index answers.
        Where w = build_where(q, TextFilter::Scan);
        struct Budget { int left; } budget{std::max(10, opts_.search_walk_rows / 5)};
        sqlite3_progress_handler(db_, 100, [](void* p) { return --static_cast<Budget*>(p)->left < 0 ? 1 : 0; }, &budget);
        Status done = run(cols + "cases" + w.sql + order_by + page, w);
        sqlite3_progress_handler(db_, 0, nullptr, nullptr);
        if (done || sqlite3_errcode(db_) != SQLITE_INTERRUPT) return done;
        reset_statements();  // the interrupted statement must not keep its read open
    }
    const TextFilter tf = text_filter(search_index_, q.text);
    if (tf == TextFilter::Index)
        if (Status st = refresh_search_index(); !st) {
            rows.clear();
            return st;
        }
    Where w = build_where(q, tf);
    return run(cols + "cases" + w.sql + order_by + page, w);
}

Expected<Store::InboxCounts> Store::inbox_counts(int64_t now, int64_t end_of_day) {
    if (Status st = materialize(); !st) return st.error();
    // The same cases as CaseQuery's status "open", overdue_only and escalation_only select, so a
    // count and the list its filter shows agree. Open statuses are named (IN, not NOT IN), so
    // each count is a range of cases_status or cases_attention, read from the index alone: the
    // cases due in the next hours, not every open case (100k cases, natively: ~28 ms for the
    // scan and the 2000-row page this replaced; a few ms, or less than one when few are overdue).
    static const std::string sql = [] {
        std::string open;
        for (std::string_view st : vocab::statuses())
            if (!vocab::is_closed_status(st)) open += std::string(open.empty() ? "" : ",") + "'" + std::string(st) + "'";
        const std::string is_open = "status IN (" + open + ")";
        const std::string flagged = "(needs_escalation = 1 OR escalated = 1)";
        return "SELECT"
               " (SELECT count(*) FROM cases WHERE " + is_open + " AND next_due > 0 AND next_due < ?1),"
               " (SELECT count(*) FROM cases WHERE " + is_open + " AND next_due >= ?1 AND next_due <= ?2),"
               " (SELECT count(*) FROM cases WHERE " + flagged + " AND " + is_open + "),"
               " (SELECT count(*) FROM cases WHERE " + flagged + " AND " + is_open + " AND next_due = 0),"
               " (SELECT count(*) FROM cases WHERE " + flagged + " AND " + is_open + " AND next_due >= ?1)";
    }();
    Stmt& s = stmt(sql.c_str());
    s.bind(1, now).bind(2, end_of_day);
    if (!s.step()) return s.error("cannot count cases");
    InboxCounts c;
    c.overdue = s.i64(0);
    c.due_by_end_of_day = c.overdue + s.i64(1);
    c.escalations = s.i64(2);
    c.attention = c.overdue + s.i64(3) + s.i64(4);  // flagged and not overdue: no due time, or not yet due
    s.reset();
    return c;
}

int64_t Store::count_cases(const CaseQuery& q) {
    (void)materialize();
    const TextFilter tf = text_filter(search_index_, q.text);
    if (tf == TextFilter::Index && !refresh_search_index()) return 0;
    Where w = build_where(q, tf);
    std::string sql_text = "SELECT count(*) FROM cases" + w.sql;
    Stmt& s = stmt(sql_text.c_str());
    bind_where(s, w);
    return s.step() ? s.i64(0) : 0;
}

// ---------------------------------------------------------------------------------------------
// [SECTION] tombstones and purge
// ---------------------------------------------------------------------------------------------

std::string Store::device_owner(const std::string& device) {
    if (auto it = device_owners_.find(device); it != device_owners_.end()) return it->second;
    Stmt& s = stmt("SELECT user FROM devices WHERE device=?1");
    s.bind(1, device);
    std::string owner = s.step() ? s.text(0) : std::string();
    s.reset();
    if (!owner.empty()) device_owners_.emplace(device, owner);
    return owner;
}

Status Store::claim_device(const std::string& device, const std::string& user) {
    Stmt& s = stmt("INSERT OR IGNORE INTO devices(device, user) VALUES(?1, ?2)");
    s.bind(1, device).bind(2, user);
    if (!s.run()) return s.error("cannot record the device's user");
    device_owners_.emplace(device, user);
    return {};
}

Store::CaseFacts Store::case_facts(const std::string& case_id) {
    if (auto it = facts_.find(case_id); it != facts_.end()) return it->second;
    CaseFacts f;
    f.purged = is_purged(case_id);
    bool read_ok = true;
    if (f.purged) {
        // nothing else is kept of a purged case
    } else if (const CaseState* c = cached_case(case_id)) {
        f.created = c->created_at != 0 || !c->created_by.empty();
        f.team = c->team;
        if (!c->reference.empty() && c->reference != c->id) f.ref = c->reference;
    } else if (auto rowids = case_rowids(case_id); !rowids) {
        read_ok = false;
    } else {
        // One statement over the case's rowids, in rowid order (the array's order).
        Stmt& s = stmt("SELECT e.type, e.team, e.body FROM carray(?1) r CROSS JOIN events e ON e.rowid = r.value");
        std::string any_team;  // events that arrived before the case's creation name it too
        if (!s.bind_array(1, *rowids)) read_ok = false;
        while (read_ok && s.step()) {
            const std::string type = s.text(0);
            if (any_team.empty()) any_team = s.text(1);
            if (type != ev::kCaseCreated && type != ev::kRefAssigned) continue;
            f.team = s.text(1);
            if (type == ev::kCaseCreated) f.created = true;
            else if (auto doc = json::parse(s.text(2))) json::get(doc->root(), "ref", f.ref);
        }
        if (read_ok) read_ok = s.last_rc() == SQLITE_DONE;
        s.reset();  // the statement must not outlive its view of the array
        if (f.team.empty()) f.team = any_team;
    }
    if (!read_ok) return f;  // not kept: the next call reads again
    if (facts_.size() >= fold_cache_limit(opts_) * 8) facts_.clear();
    facts_.emplace(case_id, f);
    return f;
}

bool Store::known_purged(const std::string& case_id) {
    auto it = facts_.find(case_id);
    return it != facts_.end() ? it->second.purged : is_purged(case_id);
}

// Keeps known facts current after e was stored (unknown cases are read when first asked for).
void Store::note_facts(const Event& e) {
    auto it = facts_.find(e.case_id);
    if (it == facts_.end()) return;
    CaseFacts& f = it->second;
    if (f.team.empty()) f.team = e.team;
    if (e.type == ev::kCaseCreated) {
        f.created = true;
    } else if (e.type == ev::kRefAssigned && f.ref.empty()) {
        if (auto doc = json::parse(e.body)) json::get(doc->root(), "ref", f.ref);
    }
}

bool Store::is_purged(const std::string& case_id) {
    Stmt& s = stmt("SELECT 1 FROM tombstones WHERE case_id=?1");
    s.bind(1, case_id);
    bool found = s.step();
    s.reset();
    return found;
}

Status Store::purge_case(const std::string& case_id, Tombstone t, std::vector<std::string>* attachment_shas) {
    forget_fold(case_id);
    facts_.erase(case_id);
    return transact([&]() -> Status {
        auto rowids = case_rowids(case_id);
        if (!rowids) return rowids.error();
        // The deleted events name the case's files (attachments are only ever added): a sweep
        // learns them here instead of folding the case first.
        Stmt& d = stmt("DELETE FROM events WHERE rowid IN carray(?1) RETURNING type='attachment.added', body");
        if (!d.bind_array(1, *rowids)) return d.error("cannot delete events");
        while (d.step())
            if (attachment_shas && d.i64(0) != 0)
                if (std::string sha = attachment_sha(d.text(1)); !sha.empty()) attachment_shas->push_back(std::move(sha));
        const int rc = d.last_rc();
        d.reset();  // the statement must not outlive its view of the array
        if (rc != SQLITE_DONE) return d.error("cannot delete events");
        Stmt& di = stmt("DELETE FROM events_of_case WHERE case_no=(SELECT n FROM case_numbers WHERE case_id=?1)");
        di.bind(1, case_id);
        if (!di.run()) return di.error("cannot unindex events");
        Stmt& dn = stmt("DELETE FROM case_numbers WHERE case_id=?1");
        dn.bind(1, case_id);
        if (!dn.run()) return dn.error("cannot unindex events");
        if (auto it = memo_.find(case_id); it != memo_.end()) {
            tail_.size -= it->second.tail.size();
            it->second.tail.clear();
            if (!it->second.fold) memo_.erase(it);
        }
        if (Status st = lower_case_index_mark(); !st) return st;
        if (Status st = delete_case_row(case_id); !st) return st;
        if (opts_.server && t.seq == 0) t.seq = next_seq();  // the counter is written once, at commit
        Stmt& ins = stmt("INSERT OR REPLACE INTO tombstones(case_id, reference, kind, team, reason, closed_at, purged_at, seq)"
                         " VALUES(?1,?2,?3,?4,?5,?6,?7,?8)");
        ins.bind(1, case_id).bind(2, t.reference).bind(3, t.kind).bind(4, t.team).bind(5, t.reason).bind(6, t.closed_at)
            .bind(7, t.purged_at);
        if (t.seq > 0) ins.bind(8, t.seq);
        else ins.bind_null(8);
        if (!ins.run()) return ins.error("cannot record tombstone");
        return {};
    });
}

namespace {
Tombstone read_tombstone(Stmt& s) {
    Tombstone t;
    t.case_id = s.text(0); t.reference = s.text(1); t.kind = s.text(2); t.team = s.text(3); t.reason = s.text(4);
    t.closed_at = s.i64(5); t.purged_at = s.i64(6); t.seq = s.i64(7);
    return t;
}
}  // namespace

Expected<std::vector<Tombstone>> Store::tombstones_after(int64_t after, int limit) {
    std::vector<Tombstone> out;
    Stmt& s = stmt("SELECT case_id, reference, kind, team, reason, closed_at, purged_at, coalesce(seq,0) FROM tombstones"
                   " WHERE seq > ?1 ORDER BY seq LIMIT ?2");
    s.bind(1, after).bind(2, static_cast<int64_t>(limit));
    while (s.step()) out.push_back(read_tombstone(s));
    if (s.last_rc() != SQLITE_DONE) return s.error("cannot read tombstones");
    return out;
}

std::vector<Tombstone> Store::all_tombstones() {
    std::vector<Tombstone> out;
    Stmt& s = stmt("SELECT case_id, reference, kind, team, reason, closed_at, purged_at, coalesce(seq,0) FROM tombstones ORDER BY purged_at, case_id");
    while (s.step()) out.push_back(read_tombstone(s));
    return out;
}

// ---------------------------------------------------------------------------------------------
// [SECTION] local device
// ---------------------------------------------------------------------------------------------

std::string Store::device_id() {
    if (!device_.empty()) return device_;
    {
        Stmt& q = stmt("SELECT value FROM meta WHERE key='device_id'");
        bool found = q.step();
        int rc = q.last_rc();
        std::string v = found ? q.text(0) : std::string();
        q.reset();  // do not leave the statement holding a read
        if (found) return device_ = v;
        if (rc != SQLITE_DONE) return std::string();  // read failed: never invent a new identity
    }
    // 12 hex chars from SQLite's PRNG: unique enough per device, never reused once stored.
    Stmt& s = stmt("SELECT lower(hex(randomblob(6)))");
    std::string id = s.step() ? "d" + s.text(0) : "d000000000000";
    if (!set_meta("device_id", id)) return std::string();
    return device_ = id;
}

void Store::observe_clock(const Hlc& h) {
    if (!clock_loaded_) {
        auto w = meta("hlc_wall"), l = meta("hlc_logical");
        clock_ = HlcClock();
        if (w && l) clock_.restore(Hlc{std::stoll(*w), static_cast<uint32_t>(std::stoul(*l))});
        // Pulled events are observed in memory only: after a restart, move past the newest stored
        // stamp so a new local edit always sorts after everything this device has seen.
        Stmt& newest = stmt("SELECT hlc, lc FROM events ORDER BY hlc DESC, lc DESC LIMIT 1");
        if (newest.step()) clock_.restore(Hlc{newest.i64(0), static_cast<uint32_t>(newest.i64(1))});
        clock_loaded_ = true;
    }
    clock_.observe(h);
}

std::string Store::new_case_id() {
    std::string dev = device_id();
    auto v = meta("case_counter");
    int64_t n = (v ? std::stoll(*v) : 0) + 1;
    set_meta("case_counter", std::to_string(n));
    return "c-" + dev + "-" + std::to_string(n);
}

Expected<Event> Store::record_local(const std::string& case_id, const std::string& team, const std::string& author,
                                    const std::string& type, const std::string& body, int64_t now_ms) {
    Event e;
    Status st = transact([&]() -> Status {
        e.device = device_id();
        auto v = meta("event_counter");
        e.counter = static_cast<uint64_t>((v ? std::stoll(*v) : 0) + 1);
        observe_clock(Hlc{0, 0});  // loads the persisted clock
        e.clock = clock_.now(now_ms);
        e.case_id = case_id;
        e.team = team;
        e.author = author;
        e.type = type;
        e.body = body;
        if (Status s = validate_event(e, now_ms); !s) return s;
        if (Status s = set_meta("event_counter", std::to_string(e.counter)); !s) return s;
        if (Status s = set_meta("hlc_wall", std::to_string(e.clock.wall_ms)); !s) return s;
        if (Status s = set_meta("hlc_logical", std::to_string(e.clock.logical)); !s) return s;
        auto r = apply_events({e});
        if (!r) return r.error();
        if (!r->rejected.empty()) return r->rejected.front().error;
        return {};
    });
    if (!st) return st.error();
    return e;
}

Expected<std::vector<Event>> Store::record_local_batch(const std::vector<LocalEvent>& items, int64_t now_ms, Rows rows) {
    std::vector<Event> out;
    if (items.empty()) return out;
    out.reserve(items.size());
    Status st = transact([&]() -> Status {
        const std::string dev = device_id();
        auto v = meta("event_counter");
        int64_t counter = v ? std::stoll(*v) : 0;
        observe_clock(Hlc{0, 0});  // loads the persisted clock
        for (const auto& it : items) {
            Event e;
            e.device = dev;
            e.counter = static_cast<uint64_t>(++counter);
            e.clock = clock_.now(now_ms);
            e.case_id = it.case_id;
            e.team = it.team;
            e.author = it.author;
            e.type = it.type;
            e.body = it.body;
            if (Status s = validate_event(e, now_ms); !s) return s;
            out.push_back(std::move(e));
        }
        const Event& last = out.back();
        if (Status s = set_meta("event_counter", std::to_string(last.counter)); !s) return s;
        if (Status s = set_meta("hlc_wall", std::to_string(last.clock.wall_ms)); !s) return s;
        if (Status s = set_meta("hlc_logical", std::to_string(last.clock.logical)); !s) return s;
        auto r = apply_events(out, {}, rows);
        if (!r) return r.error();
        if (!r->rejected.empty()) return r->rejected.front().error;
        return {};
    });
    if (!st) return st.error();
    return out;
}

Expected<std::vector<Event>> Store::pending_events(int limit, int64_t after_rowid, int64_t* last_rowid) {
    std::vector<Event> out;
    Stmt& s = stmt("SELECT rowid, " CL_EVENT_COLUMNS " FROM events WHERE seq IS NULL AND rowid > ?2 ORDER BY rowid LIMIT ?1");
    s.bind(1, static_cast<int64_t>(limit)).bind(2, after_rowid);
    while (s.step()) {
        if (last_rowid) *last_rowid = s.i64(0);
        out.push_back(read_event(s, 1));
    }
    if (s.last_rc() != SQLITE_DONE) return s.error("cannot read pending events");
    return out;
}

int64_t Store::pending_count() {
    Stmt& s = stmt("SELECT count(*) FROM events WHERE seq IS NULL");
    return s.step() ? s.i64(0) : 0;
}

Status Store::mark_acked(const std::vector<std::pair<std::string, int64_t>>& id_seq) {
    return transact([&]() -> Status {
        for (const auto& [id, seq] : id_seq) {
            Stmt& u = stmt("UPDATE events SET seq=?2 WHERE id=?1 AND seq IS NULL");
            u.bind(1, id).bind(2, seq);
            if (!u.run()) return u.error("cannot acknowledge event");
        }
        return {};
    });
}

Status Store::drop_events(const std::vector<std::string>& ids) {
    return transact([&]() -> Status {
        std::set<std::string> cases;
        for (const auto& id : ids) {
            Stmt& d = stmt("DELETE FROM events WHERE id=?1 AND seq IS NULL RETURNING case_id, rowid");
            d.bind(1, id);
            std::string case_id;
            int64_t rowid = 0;
            if (d.step()) {
                case_id = d.text(0);
                rowid = d.i64(1);
                d.step();  // to its end: the delete is done
            }
            if (d.last_rc() != SQLITE_DONE) return d.error("cannot drop event");
            if (case_id.empty()) continue;
            cases.insert(case_id);
            if (Status st = forget_case_event(case_id, rowid); !st) return st;
        }
        if (Status st = lower_case_index_mark(); !st) return st;
        int64_t now = now_();
        for (const auto& c : cases) {
            forget_fold(c);
            facts_.erase(c);
            auto left = case_rowids(c);
            if (!left) return left.error();
            if (left->empty()) {
                if (Status st = delete_case_row(c); !st) return st;
            } else if (Status st = refold(c, now); !st) {
                return st;
            }
        }
        return {};
    });
}

}  // namespace cl
