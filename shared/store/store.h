// The SQLite store shared by the server and the browser client.
//
// Tables: events (unique event id; `seq` = server sequence number, NULL on a client until the
// server acknowledged the event; on a server the rowid is the seq), cases (the fold of each case's events, materialised, with
// columns for the inbox filters and a search text), tombstones, meta (key/value: device id,
// counters, cursor, settings). Migrations use PRAGMA user_version. Every write is one
// transaction; applying an event twice changes nothing.
#pragma once
#include <cstdint>
#include <functional>
#include <limits>
#include <unordered_map>
#include <unordered_set>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/expected.h"
#include "domain/case.h"
#include "domain/event.h"
#include "domain/retention.h"
#include "domain/sla.h"

struct sqlite3;

namespace cl {
namespace sql { class Stmt; }

struct StoreOptions {
    bool server = false;  // server: assigns `seq` to every new event and tombstone
    bool wal = true;      // WAL journal (server); the browser uses the default rollback journal
    // The file's only user (the browser client: each tab has its own copy of the file in memory).
    // The store keeps its lock from its first read to its close, so a statement no longer checks
    // the file's change counter and looks for a hot journal before it runs (wasm, 100k cases: a
    // fifth of an inbox query). Another connection to the file gets "database is locked".
    // Rollback journal only (not with wal).
    bool exclusive = false;
    int busy_timeout_ms = 5000;
    // Cases whose fold is kept in memory (least recently used dropped first); 0 = the default:
    // 16384 on a server, 1024 on a client.
    size_t fold_cache_cases = 0;
    // Server: case rows may lag the events by at most this many events before apply_events folds
    // them itself (readers always catch up first; see materialize()).
    int64_t materialize_lag = 100000;
    // materialize() reads at most this many events of its range into memory to fold the cases
    // that are not folded there; past it, a case reads its own events back when it folds.
    size_t materialize_read_events = 1 << 17;
    // Text search first walks this many rows in the requested order (see query_cases).
    int search_walk_rows = 1000;
    // A case's events are found through events_of_case, which is written in sorted bulk merges;
    // the events stored since the last merge (at most this many) are found from memory.
    // 0 = the default: 65536 on a server, 8192 on a client.
    size_t case_index_tail = 0;
    // Tests: build a new file by replaying every migration instead of the current schema's script.
    bool replay_migrations = false;
};

struct StoredEvent {
    Event event;
    int64_t seq = 0;  // 0 = not yet acknowledged by the server (client side)
};

struct ApplyResult {
    int inserted = 0;
    int duplicates = 0;
    struct Rejected { std::string id; Error error; };
    std::vector<Rejected> rejected;      // e.g. duplicate id with a different body
    std::vector<std::pair<std::string, int64_t>> acks;  // event id -> seq for inserted and duplicate events (0 = none yet)
};

// One row of the inbox: the columns the list shows, plus the full case JSON on demand.
struct CaseRow {
    std::string id, reference, kind, team, status, priority, category, assignee, client_name, title, description;
    int64_t created_at = 0, updated_at = 0, next_due = 0, closed_at = 0;
    int overdue_steps = 0;  // as of the last SLA refresh
    bool needs_escalation = false, escalated = false, legal_hold = false;
    int conflicts = 0;
};

struct CaseQuery {
    std::string status;     // exact, or "open" (not resolved/closed), or "" = any
    std::string kind, team, assignee, category;
    std::vector<std::string> teams;  // restrict to these teams (permissions); empty = all
    std::string text;       // substring, case-insensitive, over reference/client/description/title/notes
    bool overdue_only = false;       // next_due < now
    bool escalation_only = false;    // needs escalation or escalated and not closed
    int64_t now = 0;
    std::string sort = "due";        // due | updated | created | reference | status | priority | client
    bool descending = false;
    int limit = 100, offset = 0;
};

class Store {
public:
    static Expected<std::unique_ptr<Store>> open(const std::string& path, const StoreOptions& opts = {});
    ~Store();
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    sqlite3* db() const { return db_; }
    const StoreOptions& options() const { return opts_; }
    void set_search_walk_rows(int rows) { opts_.search_walk_rows = rows; }  // tests: exercise both search steps

    // ---- transactions (re-entrant: nested calls join the outer transaction) ----
    Status begin();
    Status commit();
    void rollback();
    // Runs fn inside a transaction; commits when it returns ok, rolls back otherwise.
    Status transact(const std::function<Status()>& fn);

    // ---- meta ----
    std::optional<std::string> meta(const std::string& key);
    Status set_meta(const std::string& key, const std::string& value);

    // ---- SLA settings used when materialising cases (next_due, overdue_steps) ----
    void set_sla(const SlaPolicy& policy, const BusinessCalendar& cal);
    const SlaPolicy& sla_policy() const { return policy_; }
    const BusinessCalendar& calendar() const { return calendar_; }
    // Recomputes the SLA columns of every open case (after a policy/calendar change, or daily).
    Status refresh_sla(int64_t now);

    // ---- events ----
    // Inserts the events that are new (by id), re-folds the touched cases, in one transaction.
    // `acked_seqs` (client): server seqs for the events, same order, when they come from a pull.
    // Events for a purged case are rejected with code "purged".
    // When the touched cases' rows are written (a server always writes them behind, see
    // materialize()): now, or behind, for pulled events (acked_seqs set): by the next
    // materialize(), tracked by their seqs above the "folded_seq" mark, so it survives a restart.
    // A device's first sync pulls each case's events over many pages; behind, each case is folded
    // and its row written once instead of once per page. Behind, an event without a seq has no
    // place above the mark: its case is re-folded at the outer commit instead (remembered in
    // memory; a rollback forgets it).
    enum class Rows { now, behind };
    Expected<ApplyResult> apply_events(const std::vector<Event>& events, const std::vector<int64_t>& acked_seqs = {},
                                       Rows rows = Rows::now);
    // Re-folds the cases left for the commit by apply_events(..., Rows::behind), once each.
    Status fold_deferred();
    // Case rows written behind the events (always on a server; pulled pages on a device).
    // materialize() re-folds, once each, the cases of every event whose seq is above the meta
    // "folded_seq" mark and moves the mark, in one transaction (a device first folds its
    // cases left for the commit). Every reader of case rows below calls it first, so callers always see rows
    // that match the events; a crash between the two leaves the mark behind and the next read
    // catches up. max_events > 0: only the cases of the next max_events events above the mark
    // (the server's idle thread folds a big backlog in such steps, letting pushes in between).
    Status materialize(int64_t max_events = 0);
    // Events stored with a seq above the "folded_seq" mark (a device's acknowledged own events
    // count too: their cases are folded once more, harmlessly).
    int64_t unmaterialized();
    std::optional<StoredEvent> find_event(const std::string& id);
    Expected<std::vector<Event>> case_events(const std::string& case_id);
    // The sha256 of every file some stored case has attached (one pass over the attachment
    // events, no folds): what a server must keep when it deletes files after a purge.
    Expected<std::set<std::string>> attachment_shas();
    // Events with seq > after, ascending, at most limit (server and client).
    Expected<std::vector<StoredEvent>> events_after(int64_t after, int limit);
    int64_t max_seq();

    // ---- cases ----
    // Brings the device's text-search index up to date with the rows (searches do it themselves;
    // an idle moment after a sync is a good time to call it). No-op on a server.
    Status refresh_search_index();
    std::optional<CaseState> load_case(const std::string& id_or_reference);
    // The fold of a case by id, from the fold cache or its events; no catch-up of the rows first
    // (for loops over ids just read from the rows). A case without events folds to an empty id.
    // some: events of the case already read (any order, sorted here); used if they are all of its events.
    Expected<CaseState> fold_case(const std::string& case_id, std::vector<const Event*>* some = nullptr);
    // The case's fold when the store has it in memory, else nullptr (no I/O). Valid until the
    // next call into the store. `reference` may still be empty (= the case id).
    const CaseState* cached_case(const std::string& case_id);
    Expected<std::vector<CaseRow>> query_cases(const CaseQuery& q);
    // The same page written into `rows` (resized to it), reusing the strings already there: a
    // view that keeps its window of rows and refills it makes no allocations for the texts.
    Status query_cases(const CaseQuery& q, std::vector<CaseRow>& rows);
    int64_t count_cases(const CaseQuery& q);
    // The inbox's counts of open cases, exact at any size: due by end_of_day, overdue at now (as
    // CaseQuery::overdue_only), needing or under escalation (as escalation_only), and attention
    // (overdue or escalation: what the Due & escalations screen lists).
    struct InboxCounts { int64_t due_by_end_of_day = 0, overdue = 0, escalations = 0, attention = 0; };
    Expected<InboxCounts> inbox_counts(int64_t now, int64_t end_of_day);
    // touched_since: only cases with an event at or after it, and every improvement action (what
    // a report reads: report_reads_since()).
    Expected<std::vector<CaseState>> all_cases(const std::vector<std::string>& teams = {},
                                               int64_t touched_since = std::numeric_limits<int64_t>::min());
    // What all_cases() reads, in two steps (see ReportBuilder): the ids, in its order, then the
    // folds of some of them, in one transaction.
    Expected<std::vector<std::string>> case_ids(const std::vector<std::string>& teams = {},
                                                int64_t touched_since = std::numeric_limits<int64_t>::min());
    Expected<std::vector<CaseState>> fold_cases(const std::vector<std::string>& ids);
    // The folds of the cases whose client name equals `name` ignoring ASCII case (a data
    // subject's export or erasure), found from the rows.
    Expected<std::vector<CaseState>> cases_of_client(const std::string& name);
    int64_t case_count();
    int64_t event_count();

    // What a server's push checks need of a stored case: purged, created, its team and canonical
    // reference. Kept in memory apart from the fold cache (an event arriving out of order drops a
    // case's fold, not these facts), loaded from the events once, updated as events are stored.
    struct CaseFacts { bool purged = false, created = false; std::string team, ref; };
    CaseFacts case_facts(const std::string& case_id);

    // Server: the user a device id belongs to (the first who pushed from it), or empty; and the
    // claim, in the push's transaction (a device already claimed keeps its user).
    std::string device_owner(const std::string& device);
    Status claim_device(const std::string& device, const std::string& user);

    // ---- tombstones and purge ----
    bool is_purged(const std::string& case_id);
    // Deletes the case's events and row and records the tombstone (server: with a new seq). With
    // attachment_shas, appends the sha256 of every file attached to the case.
    Status purge_case(const std::string& case_id, Tombstone tombstone, std::vector<std::string>* attachment_shas = nullptr);
    Expected<std::vector<Tombstone>> tombstones_after(int64_t after, int limit);
    std::vector<Tombstone> all_tombstones();

    // ---- local device (client): ids, counters and the HLC live in meta ----
    std::string device_id();  // created on first use, kept
    // Appends a new local event (counter and clock assigned here) and folds its case.
    Expected<Event> record_local(const std::string& case_id, const std::string& team, const std::string& author,
                                 const std::string& type, const std::string& body, int64_t now_ms);
    // The same for several events at once, in order: counters and clocks assigned as by repeated
    // record_local calls, the counter and clock meta written once, one apply_events call (one seq
    // per event, in order), one transaction. Fails whole if any event is invalid or refused.
    struct LocalEvent { std::string case_id, team, author, type, body; };
    Expected<std::vector<Event>> record_local_batch(const std::vector<LocalEvent>& items, int64_t now_ms, Rows rows = Rows::now);
    std::string new_case_id();  // "c-<device>-<n>", never reused
    // Local events not yet acknowledged, in the order they were recorded; with after_rowid, only
    // those recorded after that row (a sync goes on past events the server refused), and the last
    // returned event's row in *last_rowid.
    Expected<std::vector<Event>> pending_events(int limit = 1 << 30, int64_t after_rowid = 0, int64_t* last_rowid = nullptr);
    int64_t pending_count();
    Status mark_acked(const std::vector<std::pair<std::string, int64_t>>& id_seq);
    // Drops unacknowledged local events the server refused for good (e.g. the case was purged).
    Status drop_events(const std::vector<std::string>& ids);
    void observe_clock(const Hlc& h);

    // Wall clock used for SLA snapshots and local stamps (tests replace it).
    void set_clock(std::function<int64_t()> now) { now_ = std::move(now); }
    int64_t now() const { return now_(); }

    // A cached prepared statement (reset before use). For the store's own users too (server tables).
    sql::Stmt& stmt(const char* sql);

private:
    Store() = default;
    Status check_integrity();
    Status migrate();
    void reset_statements();
    void abort_transaction();
    Status refold(const std::string& case_id, int64_t now, std::vector<const Event*>* some = nullptr);
    Status prepare_search_index();
    Status mark_search_pending(const std::string& case_id);
    Status delete_case_row(const std::string& case_id);
    int64_t folded_seq();
    CaseFolder* cached_fold(const std::string& case_id);
    void forget_fold(const std::string& case_id);
    Status write_case_row(const CaseState& c, int64_t now);
    int64_t next_seq();
    Status save_seq();

    sqlite3* db_ = nullptr;
    StoreOptions opts_;
    int tx_depth_ = 0;
    bool tx_failed_ = false;
    SlaPolicy policy_;
    BusinessCalendar calendar_;
    HlcClock clock_;
    bool clock_loaded_ = false;
    std::string device_;
    std::function<int64_t()> now_;
    std::map<std::string, std::unique_ptr<sql::Stmt>> stmts_;
    // stmt()'s first lookup: by the text's address (a literal's never changes), confirmed by
    // comparing the text, since a dynamic query's buffer may later hold another one.
    std::unordered_map<const char*, sql::Stmt*> stmt_at_;
    int64_t last_seq_ = -1;  // server: cached sequence counter
    bool seq_dirty_ = false;
    std::set<std::string> deferred_folds_;  // cases to re-fold at the outer commit (see Rows)
    int rows_behind_ = -1;                  // device: events above the folded_seq mark? (-1: ask SQLite)
    // Server: the cases of the events above the folded_seq mark, kept as they are inserted, so
    // materialize() need not read the range back to find them (a read of every event: 5 % of an
    // insert's time). Known only while nothing else could have stored events unseen: from an open
    // with nothing to fold or a complete materialize, until a rollback, and while no other
    // connection has written (data_version still pending_version_). A superset is harmless: a
    // case's row is rewritten as it is.
    bool pending_cases_known_ = false;
    int64_t pending_version_ = -1;
    std::unordered_set<std::string> pending_cases_;
    int64_t data_version();  // PRAGMA data_version: changes when another connection commits
    int64_t seen_version_ = -1;  // data_version at the last outermost begin()
    void forget_cached_state();  // after a rollback, or another connection's commit
    int64_t max_event_seq();
    // What is kept in memory per case, found with one lookup per stored event (separate maps of
    // folds and of the newest events were 10 % of perf samples at 1M events, in cache misses;
    // one map did not measurably change the wall time, but is one structure instead of three):
    // - fold: the fold cache. Every stored event of a cached case has been applied to its
    //   folder, in order. Dropped whole when a transaction rolls back; an event arriving out of
    //   order drops its case. Bounded: the least recently used eighth goes when it is full.
    // - tail: the case's events above the events_of_case mark (see CaseTail).
    // An entry with neither is erased.
    struct CaseMemo {
        std::vector<int64_t> tail;
        std::optional<CaseFolder> fold;
        uint64_t used = 0;                // the fold's last use
        size_t slot = 0;                  // its place in folded_ (while it has a fold)
        const std::string* key = nullptr; // the entry's key (set with the fold)
        bool row_pending = false;         // server: in pending_cases_
    };
    std::unordered_map<std::string, CaseMemo> memo_;
    // The entries with a fold (nodes of memo_ do not move): eviction looks at these, not at
    // every entry (a device may hold 60k tail entries: scanning them per eviction was 3/4 of a
    // 100k-case report).
    std::vector<CaseMemo*> folded_;
    uint64_t use_clock_ = 0;  // stamps CaseMemo::used
    void unfold(CaseMemo& m);  // drops m's fold (the entry stays)
    void cache_fold(const std::string& case_id, CaseFolder folder);
    void evict_folds();
    void drop_fold(std::unordered_map<std::string, CaseMemo>::iterator it);  // erases an emptied entry
    // only_event: whether e was the case's only stored event when it was inserted (unknown: asked).
    void fold_into_cache(const Event& e, CaseMemo* memo, bool fresh, std::optional<bool> only_event = std::nullopt);
    bool search_index_ = false;        // case_search + case_fts kept (client stores)
    // case_facts(): dropped whole on rollback and when it outgrows its bound.
    std::unordered_map<std::string, CaseFacts> facts_;
    std::unordered_map<std::string, std::string> device_owners_;  // device_owner(): claimed ones
    bool known_purged(const std::string& case_id);
    void note_facts(const Event& e);

    // Events by case: events_of_case holds (case number, event rowid) for every event up to rowid
    // `upto`; the tail (newer events) is kept in memo_, by case, and merged in one sorted pass when it
    // reaches case_index_tail. An index updated per event took a random page write per event
    // (bench at 1M events: 2/3 of the insert time). Reloaded from the table after a rollback and
    // when another connection changed the file.
    struct CaseTail {
        bool loaded = false;
        int64_t upto = 0;
        int64_t data_version = -1;
        size_t size = 0;  // events in the tails of memo_
    };
    CaseTail tail_;
    bool tail_checked_ = false;  // data_version compared in this transaction
    Status load_case_tail();
    void clear_case_tails();
    Status merge_case_tail();  // when the tail holds case_index_tail events
    Expected<std::vector<int64_t>> case_rowids(const std::string& case_id);
    Status forget_case_event(const std::string& case_id, int64_t rowid);
    Status lower_case_index_mark();
    Status key_events_by_seq();  // at open: a server's rowids are its seqs
};

}  // namespace cl
