// closeloop_bench_scenarios: the in-process scenarios of issue 6 as JSON figures (medians).
//
//   closeloop_bench_scenarios --cases N --events M [--seed S] [--runs R] --work DIR
//       [--only fold,merge,insert,query,retention,pull,scaling,export] [--scaling 10000,100000]
//
// Writes one JSON document to stdout: {"meta":{...},"figures":[{scenario,system,metric,unit,
// value (median), runs:[...], cpu_s (median CPU seconds), n, note}]}. With "export" it also writes
// the data set for the node peers into DIR (data.ndjson, merge_{base,a,b}.ndjson) and the SQLite
// files the sql.js query peer opens (query_<cases>.db).
#include <sqlite3.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "core/json.h"
#include "dataset.h"
#include "domain/case.h"
#include "domain/report.h"
#include "store/gather_vfs.h"
#include "store/sqlite_util.h"
#include "store/store.h"
#include "sync/client_sync.h"
#include "sync/protocol.h"
#include "sync/server_core.h"
#include "bench_common.h"

namespace fs = std::filesystem;
using clbench::Dataset;
using clbench::inbox_queries;
using clbench::median;
using clbench::time_once;
using clbench::Timing;

double clbench::cpu_seconds() {
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

namespace {

constexpr int64_t kNow = clbench::kQueryNow;                                      // early 2025
constexpr int64_t kRetentionNow = clbench::kEpoch2024 + 1200LL * 24 * 3600 * 1000;  // 2027: every closed case is due

struct Args {
    int cases = 10000, events = 100000, runs = 5;
    uint64_t seed = 42;
    std::string work = "bench/results/work";
    std::set<std::string> only;
    std::vector<int> scaling = {10000, 100000};
    bool want(const std::string& s) const { return only.empty() || only.count(s); }
};

cl::json::Writer g_out;

// Records a figure. kind "rate": value = n / seconds (per second); kind "time": value = seconds*scale.
void figure(const std::string& scenario, const std::string& system, const std::string& metric, const std::string& unit,
            const std::vector<Timing>& runs, double n, bool rate, const std::string& note = "", double scale = 1.0) {
    std::vector<double> vals, cpus;
    for (const auto& t : runs) {
        vals.push_back(rate ? n / t.wall : t.wall * scale);
        cpus.push_back(t.cpu);
    }
    double v = median(vals);
    g_out.begin_object()
        .kv("scenario", scenario).kv("system", system).kv("metric", metric).kv("unit", unit).kv_dbl("value", v)
        .key("runs").begin_array();
    for (double x : vals) g_out.dbl(x);
    g_out.end_array().kv_dbl("wall_s", median([&] { std::vector<double> w; for (auto& t : runs) w.push_back(t.wall); return w; }()))
        .kv_dbl("cpu_s", median(cpus)).kv_dbl("n", n).kv("note", note).end_object();
    std::fprintf(stderr, "  %-12s %-22s %-34s %12.1f %s (wall %.3fs, cpu %.3fs)\n", scenario.c_str(), system.c_str(),
                 metric.c_str(), v, unit.c_str(), median([&] { std::vector<double> w; for (auto& t : runs) w.push_back(t.wall); return w; }()),
                 median(cpus));
}

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "bench: %s\n", what.c_str());
    std::exit(1);
}

// Also waits for the kernel to write back what earlier runs left dirty (sync), outside any timing:
// a run that ends sooner would otherwise leave more write-back to the run after it (measured
// 2026-12-05: the raw limit ran ~10 % slower right after a faster closeloop run).
void remove_db(const std::string& p) {
    for (const char* s : {"", "-wal", "-shm", "-journal"}) fs::remove(p + s);
    ::sync();
}

std::unique_ptr<cl::Store> open_store(const std::string& path, bool server, int64_t now = kNow) {
    cl::StoreOptions o;
    o.server = server;
    o.wal = true;
    auto s = cl::Store::open(path, o);
    if (!s) die(s.error().message);
    (*s)->set_clock([now] { return now; });
    return std::move(*s);
}

void insert_all(cl::Store& s, const std::vector<cl::Event>& evs, size_t batch) {
    for (size_t i = 0; i < evs.size(); i += batch) {
        std::vector<cl::Event> b(evs.begin() + i, evs.begin() + std::min(evs.size(), i + batch));
        auto r = s.apply_events(b);
        if (!r) die(r.error().message);
        if (!r->rejected.empty()) die("rejected: " + r->rejected.front().error.message);
    }
    // A server store writes case rows behind the events: the work counts only once every case row
    // is folded and written (a client store folded them in apply_events already).
    if (auto st = s.materialize(); !st) die(st.error().message);
    if (s.unmaterialized() != 0) die("case rows not materialised");
}

// Copies a closed database file (no -wal) to dst.
void copy_db(const std::string& src, const std::string& dst) {
    remove_db(dst);
    fs::copy_file(src, dst, fs::copy_options::overwrite_existing);
}

// Builds (once) an on-disk server store holding evs, closed cleanly (WAL checkpointed).
std::string build_store(const std::string& path, const std::vector<cl::Event>& evs) {
    remove_db(path);
    {
        auto s = open_store(path, true);
        insert_all(*s, evs, 5000);
    }
    return path;
}

// ---- raw SQLite: the limit ---------------------------------------------------------------------

const char* kRawSchema =
    "CREATE TABLE events(rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, seq INTEGER, case_id TEXT NOT NULL,"
    " device TEXT NOT NULL, counter INTEGER NOT NULL, hlc INTEGER NOT NULL, lc INTEGER NOT NULL, team TEXT NOT NULL,"
    " author TEXT NOT NULL, type TEXT NOT NULL, v INTEGER NOT NULL, body TEXT NOT NULL);";

// The indexes a server Store keeps on its events (pending for a device's uploads, empty on a
// server, and events by case for folds, written in sorted merges of the newest events: see
// Store::CaseTail), for the second reference figure: what the same inserts cost SQLite with them.
// A server's rowid is the seq (Store::key_events_by_seq), as here: no index of seqs since
// 2026-12-04 (before, both kept events_by_seq).
const char* kRawEventIndexes =
    "CREATE INDEX events_pending ON events(rowid) WHERE seq IS NULL;"
    "CREATE TABLE case_numbers(n INTEGER PRIMARY KEY, case_id TEXT NOT NULL UNIQUE);"
    "CREATE TABLE events_of_case(case_no INTEGER NOT NULL, ev INTEGER NOT NULL, PRIMARY KEY(case_no, ev)) WITHOUT ROWID;";
constexpr size_t kCaseIndexMerge = 65536;  // a server Store's default StoreOptions::case_index_tail

// The pragmas a server Store opens its file with (store.cpp): the limit gets the same resources.
const char* kServerPragmas =
    "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA wal_autocheckpoint=8192;"
    " PRAGMA mmap_size=1073741824; PRAGMA cache_size=-131072;";

// The limit gets what the Store has: a connection without SQLite's mutexes (the Store opens its
// own with SQLITE_OPEN_NOMUTEX; with them the mutexes were a tenth of the limit's instructions)
// and texts bound without copies.
// vfs: SQLite's default unless named (the information row on closeloop's gathering VFS).
sqlite3* open_raw(const std::string& path, const char* vfs = nullptr) {
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, vfs) != SQLITE_OK)
        die("cannot open " + path);
    return db;
}

// The case rows a Store wrote, read back for the third reference: the cases table's own
// statements (table and indexes, from the Store's file) and every row's values.
struct CaseRows {
    std::vector<std::string> ddl;
    std::string insert;
    int columns = 0;
    struct Value {
        bool is_text = false;
        std::string text;
        int64_t num = 0;
    };
    std::vector<std::vector<Value>> rows;  // per column: values as they are bound, nothing to convert in the timing
};

CaseRows read_case_rows(const std::string& store_path) {
    CaseRows out;
    sqlite3* db = open_raw(store_path);
    {
        cl::sql::Stmt ddl(db, "SELECT sql FROM sqlite_master WHERE tbl_name='cases' AND sql IS NOT NULL ORDER BY type DESC");
        while (ddl.step()) out.ddl.push_back(ddl.text(0));  // "table" sorts after "index": DESC puts it first
    }
    cl::sql::Stmt rows(db, "SELECT * FROM cases");
    out.columns = sqlite3_column_count(rows.get());
    std::string params;
    for (int i = 1; i <= out.columns; ++i) params += (i > 1 ? ",?" : "?") + std::to_string(i);
    out.insert = "INSERT INTO cases VALUES(" + params + ")";
    while (rows.step()) {
        auto& r = out.rows.emplace_back();
        for (int i = 0; i < out.columns; ++i) {
            CaseRows::Value v;
            v.is_text = sqlite3_column_type(rows.get(), i) == SQLITE_TEXT;
            if (v.is_text) v.text = rows.text(i);
            else v.num = rows.i64(i);
            r.push_back(std::move(v));
        }
    }
    sqlite3_close(db);
    if (out.ddl.empty() || out.rows.empty()) die("no case rows in " + store_path);
    return out;
}

// case_rows: also write these rows (with the cases table's schema and indexes) after the events,
// in one transaction, as a server Store writes them behind the events at the end of this run.
void raw_insert(const std::string& path, const std::vector<cl::Event>& evs, size_t batch, bool closeloop_indexes = false,
                const CaseRows* case_rows = nullptr, const char* vfs = nullptr) {
    sqlite3* db = open_raw(path, vfs);
    cl::sql::exec(db, kServerPragmas);
    cl::sql::exec(db, kRawSchema);
    if (closeloop_indexes) cl::sql::exec(db, kRawEventIndexes);
    if (case_rows)
        for (const std::string& q : case_rows->ddl) cl::sql::exec(db, q.c_str());
    {
        cl::sql::Stmt ins(db, "INSERT INTO events(id, seq, device, counter, hlc, lc, case_id, team, author, type, v, body)"
                              " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)");
        // As the Store: cases numbered in order of first sight, then (number, rowid) in one sorted pass.
        cl::sql::Stmt number(db, "INSERT OR IGNORE INTO case_numbers(case_id) SELECT case_id FROM events WHERE rowid > ?1"
                                 " GROUP BY case_id ORDER BY min(rowid)");
        cl::sql::Stmt merge(db, "INSERT INTO events_of_case SELECT c.n, e.rowid FROM events e JOIN case_numbers c"
                                " ON c.case_id = e.case_id WHERE e.rowid > ?1 ORDER BY c.n, e.rowid");
        int64_t seq = 0, merged_upto = 0;
        for (size_t i = 0; i < evs.size(); i += batch) {
            cl::sql::exec(db, "BEGIN IMMEDIATE");
            for (size_t j = i; j < std::min(evs.size(), i + batch); ++j) {
                const cl::Event& e = evs[j];
                const std::string id = e.id();
                ins.reset();
                ins.bind_static(1, id).bind(2, ++seq).bind_static(3, e.device).bind(4, e.counter).bind(5, e.clock.wall_ms)
                    .bind(6, static_cast<int64_t>(e.clock.logical)).bind_static(7, e.case_id).bind_static(8, e.team)
                    .bind_static(9, e.author).bind_static(10, e.type).bind(11, e.schema).bind_static(12, e.body);
                if (!ins.run()) die("raw insert failed");
            }
            if (closeloop_indexes && (seq - merged_upto >= static_cast<int64_t>(kCaseIndexMerge))) {  // as the Store: the rest stays in its tail
                number.reset();
                number.bind(1, merged_upto);
                if (!number.run()) die("raw merge failed");
                merge.reset();
                merge.bind(1, merged_upto);
                if (!merge.run()) die("raw merge failed");
                merged_upto = seq;  // rowid == seq here
            }
            cl::sql::exec(db, "COMMIT");
        }
    }
    if (case_rows) {
        cl::sql::Stmt ins(db, case_rows->insert);
        cl::sql::exec(db, "BEGIN IMMEDIATE");
        for (const auto& row : case_rows->rows) {
            ins.reset();
            for (int i = 0; i < case_rows->columns; ++i) {
                const CaseRows::Value& v = row[static_cast<size_t>(i)];
                if (v.is_text) ins.bind_static(i + 1, v.text);
                else ins.bind(i + 1, v.num);
            }
            if (!ins.run()) die("raw case row insert failed");
        }
        cl::sql::exec(db, "COMMIT");
    }
    sqlite3_close(db);
}

int64_t scalar(sqlite3* db, const char* q) {
    cl::sql::Stmt s(db, q);
    return s.step() ? s.i64(0) : -1;
}

// ---- scenarios ---------------------------------------------------------------------------------

std::map<std::string, std::vector<cl::Event>> group_by_case(const std::vector<cl::Event>& evs) {
    std::map<std::string, std::vector<cl::Event>> m;
    for (const auto& e : evs) m[e.case_id].push_back(e);
    return m;
}

void scenario_fold(const Args& a, const Dataset& d) {
    auto groups = group_by_case(d.events);
    std::vector<Timing> runs;
    for (int r = 0; r < a.runs; ++r)
        runs.push_back(time_once([&] {
            size_t n = 0;
            for (auto& [id, evs] : groups) n += cl::fold(evs).event_count;
            if (n != d.events.size()) die("fold lost events");
        }));
    figure("fold", "closeloop", "fold all cases (in memory)", "events/s", runs, d.events.size(), true,
           std::to_string(groups.size()) + " cases");
}

void scenario_merge(const Args& a, const Dataset& d) {
    const int replica = static_cast<int>(d.events.size() / 2);
    auto split = clbench::merge_split(d, replica, 0.3);
    std::vector<cl::Event> ra = split.base, rb = split.base;
    ra.insert(ra.end(), split.only_a.begin(), split.only_a.end());
    rb.insert(rb.end(), split.only_b.begin(), split.only_b.end());
    std::sort(ra.begin(), ra.end(), cl::event_before);
    std::sort(rb.begin(), rb.end(), cl::event_before);
    const double n = static_cast<double>(ra.size() + rb.size());
    std::string note = "|A|=" + std::to_string(ra.size()) + " |B|=" + std::to_string(rb.size()) +
                       " shared=" + std::to_string(split.base.size());
    // In memory: union by id + fold every case (what the CRDT peers do: in-memory documents).
    {
        std::vector<Timing> runs;
        for (int r = 0; r < a.runs; ++r)
            runs.push_back(time_once([&] {
                // Union by event id (device, counter) without building id strings or copying
                // events, grouped by case, then every case folded: one CaseState per case, as
                // the peers materialise every case as plain objects.
                struct IdHash {
                    size_t operator()(const std::pair<std::string_view, uint64_t>& k) const {
                        return std::hash<std::string_view>()(k.first) * 31 + std::hash<uint64_t>()(k.second);
                    }
                };
                std::unordered_set<std::pair<std::string_view, uint64_t>, IdHash> seen;
                seen.reserve(ra.size() + rb.size());
                std::unordered_map<std::string_view, std::vector<const cl::Event*>> groups;
                groups.reserve(d.spec.cases);
                for (const auto* side : {&ra, &rb})
                    for (const auto& e : *side)
                        if (seen.emplace(e.device, e.counter).second) groups[e.case_id].push_back(&e);
                std::vector<cl::CaseState> cases;
                cases.reserve(groups.size());
                size_t k = 0;
                for (auto& [id, evs] : groups) {
                    cases.push_back(cl::fold(evs));
                    k += cases.back().event_count;
                }
                if (k != ra.size() + rb.size() - split.base.size()) die("merge lost events");
            }));
        figure("merge", "closeloop", "merge+fold in memory", "events/s", runs, n, true, note);
        figure("merge", "closeloop", "merge+fold in memory (time)", "ms", runs, n, false, note, 1000);
    }
    // Durable: replica A is a store on disk; apply B's events (pages of 5000) -> re-fold touched cases.
    {
        std::string a_path = a.work + "/merge_a.db", tmp = a.work + "/merge_tmp.db";
        build_store(a_path, ra);
        std::vector<Timing> runs;
        for (int r = 0; r < a.runs; ++r) {
            copy_db(a_path, tmp);
            auto s = open_store(tmp, false);
            runs.push_back(time_once([&] { insert_all(*s, rb, 5000); }));
            if (s->event_count() != static_cast<int64_t>(ra.size() + rb.size() - split.base.size())) die("store merge lost events");
        }
        figure("merge", "closeloop", "merge into Store (SQLite, durable)", "events/s", runs, n, true, note);
        figure("merge", "closeloop", "merge into Store (time)", "ms", runs, n, false, note, 1000);
        remove_db(tmp);
    }
}

void scenario_insert(const Args& a, const Dataset& d) {
    std::string p = a.work + "/insert.db";
    for (size_t batch : {size_t(1000)}) {
        std::vector<Timing> cl_runs, raw_runs, raw_idx_runs, raw_all_runs, raw_gather_runs;
        CaseRows case_rows;
        for (int r = 0; r < a.runs; ++r) {
            remove_db(p);
            // Opened and closed inside the timing, as raw_insert opens, creates and closes its
            // file: both pay their last checkpoint at the close (before 2026-12-04 closeloop's
            // open and close were outside its timing, ~3 % of its time).
            cl_runs.push_back(time_once([&] {
                auto s = open_store(p, true);
                insert_all(*s, d.events, batch);
            }));
            if (r == 0) case_rows = read_case_rows(p);
            remove_db(p);
            raw_runs.push_back(time_once([&] { raw_insert(p, d.events, batch); }));
            remove_db(p);
            raw_idx_runs.push_back(time_once([&] { raw_insert(p, d.events, batch, true); }));
            remove_db(p);
            raw_all_runs.push_back(time_once([&] { raw_insert(p, d.events, batch, true, &case_rows); }));
            remove_db(p);
            raw_gather_runs.push_back(time_once([&] { raw_insert(p, d.events, batch, false, nullptr, cl::sql::gather_vfs()); }));
        }
        std::string note = "batches of " + std::to_string(batch) + ", a server store's pragmas (WAL, synchronous=FULL, 128 MiB cache, mmap)";
        figure("insert", "closeloop", "Store::apply_events + case rows", "events/s", cl_runs, d.events.size(), true,
               note + ", every case row folded and written");
        figure("insert", "raw SQLite", "INSERT same rows (limit)", "events/s", raw_runs, d.events.size(), true,
               note + ", UNIQUE(id) only");
        figure("insert", "raw SQLite", "INSERT same rows, closeloop's event indexes", "events/s", raw_idx_runs, d.events.size(),
               true, note + ", UNIQUE(id) + pending, by case merged every " + std::to_string(kCaseIndexMerge) + " events (no case rows)");
        figure("insert", "raw SQLite", "INSERT same rows, closeloop's event indexes + its case rows", "events/s", raw_all_runs,
               d.events.size(), true,
               note + ", as above, then the " + std::to_string(case_rows.rows.size()) +
                   " case rows closeloop wrote (cases table's schema and indexes, values given) in one transaction");
        // Information: the limit does not get closeloop's VFS (it is SQLite as a user has it); this
        // row shows what that VFS alone does for it.
        figure("insert", "raw SQLite", "INSERT same rows on closeloop's gathering VFS (information)", "events/s",
               raw_gather_runs, d.events.size(), true, note + ", UNIQUE(id) only, WAL frames written in few calls (store/gather_vfs.h)");
    }
    remove_db(p);
}



void scenario_query(const Args& a, const Dataset& d, const Dataset* big) {
    auto run = [&](const Dataset& ds, const std::string& label) {
        std::string path = a.work + "/query_" + std::to_string(ds.spec.cases) + ".db";
        build_store(path, ds.events);
        auto s = open_store(path, false);
        for (auto& nq : inbox_queries(*s)) {
            // warm once, then median of many single-query timings
            // Into one vector kept across the runs, as the inbox keeps its window of rows.
            std::vector<cl::CaseRow> window;
            (void)s->query_cases(nq.q, window);
            std::vector<Timing> runs;
            for (int r = 0; r < std::max(21, a.runs * 4); ++r)
                runs.push_back(time_once([&] {
                    cl::Status st = s->query_cases(nq.q, window);
                    if (!st || window.empty()) die("inbox query returned nothing: " + nq.name);
                }));
            figure("query", "closeloop", "inbox " + nq.name + " @" + label, "ms", runs, 1, false,
                   "native, first page of 50", 1000);
        }
        // A manager's report (what GET /api/v1/reports does): every case of the store folded,
        // then the report over the whole history.
        std::vector<Timing> runs;
        size_t n = 0;
        for (int r = 0; r < std::max(3, a.runs); ++r)
            runs.push_back(time_once([&] {
                auto cases = s->all_cases();
                if (!cases || cases->empty()) die("report: no cases");
                cl::ReportQuery q;
                q.to = std::numeric_limits<int64_t>::max();
                cl::Report rep = cl::build_report(*cases, q, s->sla_policy(), s->calendar(), kRetentionNow);
                n = cases->size();
            }));
        figure("query", "closeloop", "report, all history @" + label, "ms", runs, 1, false,
               "native, all_cases() + build_report() over " + std::to_string(n) + " cases", 1000);
        // The report a manager opens: the month of the data set's last event (the route folds only
        // the cases touched since the month before, and improvement actions).
        int64_t last = 0;
        for (const auto& e : ds.events) last = std::max(last, e.clock.wall_ms);
        const cl::ReportQuery month = cl::PeriodFromName::make("month", last, s->calendar());
        std::vector<Timing> month_runs;
        for (int r = 0; r < std::max(3, a.runs); ++r)
            month_runs.push_back(time_once([&] {
                auto cases = s->all_cases({}, cl::report_reads_since(month));
                if (!cases) die("report: cannot read cases");
                cl::Report rep = cl::build_report(*cases, month, s->sla_policy(), s->calendar(), kRetentionNow);
                n = cases->size();
            }));
        figure("query", "closeloop", "report, last month @" + label, "ms", month_runs, 1, false,
               "native, all_cases(since the month before) + build_report() over " + std::to_string(n) + " cases", 1000);
    };
    run(d, std::to_string(d.spec.cases / 1000) + "k cases");
    if (big) run(*big, std::to_string(big->spec.cases / 1000) + "k cases");
}

void scenario_retention(const Args& a, const Dataset& d) {
    std::string src = a.work + "/retention_src.db", tmp = a.work + "/retention_tmp.db";
    build_store(src, d.events);
    cl::RetentionPolicy policy;
    std::vector<Timing> cl_runs, raw_runs;
    int64_t purged_events = 0, raw_events = 0;
    size_t purged_cases = 0;
    for (int r = 0; r < a.runs; ++r) {
        copy_db(src, tmp);
        {
            auto s = open_store(tmp, true, kRetentionNow);
            int64_t before = s->event_count();
            cl::SyncServer server(*s, [] { return kRetentionNow; });
            cl::RetentionOutcome out;
            cl_runs.push_back(time_once([&] { out = server.run_retention(policy, false); }));
            purged_cases = out.purged.size();
            purged_events = before - s->event_count();
        }
        copy_db(src, tmp);
        {
            sqlite3* db = open_raw(tmp);
            cl::sql::exec(db, kServerPragmas);
            int64_t before = scalar(db, "SELECT count(*) FROM events");
            raw_runs.push_back(time_once([&] {
                cl::sql::exec(db,
                              "BEGIN IMMEDIATE;"
                              // the same rows: the events and their entries in events_of_case
                              "DELETE FROM events WHERE case_id IN (SELECT id FROM cases WHERE closed_at > 0);"
                              "DELETE FROM events_of_case WHERE case_no IN (SELECT n FROM case_numbers WHERE case_id IN"
                              " (SELECT id FROM cases WHERE closed_at > 0));"
                              "DELETE FROM case_numbers WHERE case_id IN (SELECT id FROM cases WHERE closed_at > 0);"
                              "DELETE FROM cases WHERE closed_at > 0;"
                              "COMMIT;");
            }));
            raw_events = before - scalar(db, "SELECT count(*) FROM events");
            sqlite3_close(db);
        }
    }
    std::string note = std::to_string(purged_cases) + " cases / " + std::to_string(purged_events) + " events purged of " +
                       std::to_string(d.events.size());
    figure("retention", "closeloop", "SyncServer::run_retention", "events/s", cl_runs, static_cast<double>(purged_events), true, note);
    figure("retention", "raw SQLite", "DELETE same rows (limit)", "events/s", raw_runs, static_cast<double>(raw_events), true,
           std::to_string(raw_events) + " events deleted, one transaction");
    remove_db(tmp);
    remove_db(src);
}

// The server's periodic SLA sweep (Store::refresh_sla, also run when an admin changes the SLA
// settings): every open case is re-evaluated and its row rewritten where a value changed. Once
// at the clock the rows were written with (nothing moves), once a day later (due times pass).
void scenario_sla(const Args& a, const Dataset& d) {
    std::string src = a.work + "/sla_src.db", tmp = a.work + "/sla_tmp.db";
    build_store(src, d.events);
    std::vector<Timing> same_runs, later_runs;
    int64_t open_cases = 0;
    for (int r = 0; r < a.runs; ++r) {
        copy_db(src, tmp);
        auto s = open_store(tmp, true);
        open_cases = s->count_cases([] { cl::CaseQuery q; q.status = "open"; return q; }());
        same_runs.push_back(time_once([&] { if (!s->refresh_sla(kNow)) die("sla sweep failed"); }));
        later_runs.push_back(time_once([&] { if (!s->refresh_sla(kNow + 24LL * 3600 * 1000)) die("sla sweep failed"); }));
    }
    const std::string note = std::to_string(open_cases) + " open cases of " + std::to_string(d.spec.cases);
    figure("sla", "closeloop", "SLA sweep after opening, same clock", "ms", same_runs, 1, false, note + ": every open case folded from its events; no value changes", 1000);
    figure("sla", "closeloop", "SLA sweep, a day later", "ms", later_runs, 1, false, note + ": folds cached; due times pass", 1000);
    remove_db(tmp);
    remove_db(src);
}

// Initial pull by a new device, in process: server pages (5000) -> JSON -> client applies.
void scenario_pull(const Args& a, const Dataset& d) {
    std::string src = a.work + "/pull_server.db", cpath = a.work + "/pull_client.db";
    build_store(src, d.events);
    auto server_store = open_store(src, true);
    cl::SyncServer server(*server_store, [] { return kNow; });
    cl::Caller admin;
    admin.user_id = "admin";
    admin.role = "admin";
    std::vector<Timing> encode_runs, full_runs;
    for (int r = 0; r < a.runs; ++r) {
        encode_runs.push_back(time_once([&] {
            int64_t cursor = 0;
            size_t n = 0;
            for (;;) {
                auto page = server.pull(admin, cursor, cl::kMaxPullLimit);
                std::string body = cl::pull_response_to_json(page);
                n += page.events.size();
                cursor = page.cursor;
                if (!page.more) break;
            }
            if (n != d.events.size()) die("pull returned " + std::to_string(n));
        }));
        remove_db(cpath);
        auto client = open_store(cpath, false);
        cl::SyncClient sync(*client);
        full_runs.push_back(time_once([&] {
            for (;;) {
                auto page = server.pull(admin, sync.cursor(), cl::kMaxPullLimit);
                auto back = cl::pull_response_from_json(cl::pull_response_to_json(page));
                if (!back) die(back.error().message);
                if (cl::Status st = sync.apply_pull(*back); !st) die(st.error().message);
                if (!back->more) break;
            }
        }));
        if (client->event_count() != static_cast<int64_t>(d.events.size())) die("client pulled too few events");
    }
    figure("pull", "closeloop", "server pull pages + JSON (in process)", "events/s", encode_runs, d.events.size(), true,
           "pages of 5000");
    figure("pull", "closeloop", "new device pull+apply (in process)", "events/s", full_runs, d.events.size(), true,
           "pages of 5000, client Store on disk, folds every case");
    figure("pull", "closeloop", "new device pull+apply (time)", "s", full_runs, d.events.size(), false, "");
    remove_db(cpath);
}

void scenario_scaling(const Args& a) {
    for (int n : a.scaling) {
        Dataset d = clbench::generate({std::max(1, n / 10), n, a.seed});
        std::string p = a.work + "/scaling.db";
        std::vector<Timing> ins, fold, raw, raw_idx;
        int runs = n >= 500000 ? std::min(a.runs, 3) : a.runs;
        auto groups = group_by_case(d.events);
        for (int r = 0; r < runs; ++r) {
            remove_db(p);
            ins.push_back(time_once([&] {  // opened and closed inside, as raw_insert (scenario_insert)
                auto s = open_store(p, true);
                insert_all(*s, d.events, 1000);
            }));
            fold.push_back(time_once([&] {
                size_t k = 0;
                for (auto& [id, evs] : groups) k += cl::fold(evs).event_count;
                if (k != d.events.size()) die("fold lost events");
            }));
            // The limit's own curve: SQLite alone is not flat either (deeper B-trees, random
            // index pages falling out of the cache).
            remove_db(p);
            raw.push_back(time_once([&] { raw_insert(p, d.events, 1000); }));
            remove_db(p);
            raw_idx.push_back(time_once([&] { raw_insert(p, d.events, 1000, true); }));
        }
        std::string label = n >= 1000000 ? std::to_string(n / 1000000) + "M" : std::to_string(n / 1000) + "k";
        figure("scaling", "closeloop", "insert cost/event @" + label, "us", ins, n, false, "", 1e6 / n);
        figure("scaling", "closeloop", "fold cost/event @" + label, "us", fold, n, false, "", 1e6 / n);
        figure("scaling", "raw SQLite", "insert cost/event @" + label, "us", raw, n, false, "INSERT same rows (limit)", 1e6 / n);
        figure("scaling", "raw SQLite", "insert cost/event, closeloop's event indexes @" + label, "us", raw_idx, n, false,
               "INSERT same rows with the pending index and events_of_case merges", 1e6 / n);
        remove_db(p);
    }
}

void export_data(const Args& a, const Dataset& d) {
    if (!clbench::write_ndjson(d, a.work + "/data.ndjson")) die("cannot write data.ndjson");
    auto split = clbench::merge_split(d, static_cast<int>(d.events.size() / 2), 0.3);
    Dataset part;
    part.events = split.base;
    clbench::write_ndjson(part, a.work + "/merge_base.ndjson");
    part.events = split.only_a;
    clbench::write_ndjson(part, a.work + "/merge_a.ndjson");
    part.events = split.only_b;
    clbench::write_ndjson(part, a.work + "/merge_b.ndjson");
}

std::vector<int> parse_list(const std::string& s) {
    std::vector<int> v;
    std::stringstream ss(s);
    std::string x;
    while (std::getline(ss, x, ',')) if (!x.empty()) v.push_back(std::atoi(x.c_str()));
    return v;
}

}  // namespace

int main(int argc, char** argv) {
    Args a;
    int big_cases = 0;
    for (int i = 1; i < argc; ++i) {
        std::string s = argv[i];
        auto next = [&]() -> std::string { if (i + 1 >= argc) die(s + " needs a value"); return argv[++i]; };
        if (s == "--cases") a.cases = std::atoi(next().c_str());
        else if (s == "--events") a.events = std::atoi(next().c_str());
        else if (s == "--seed") a.seed = std::strtoull(next().c_str(), nullptr, 10);
        else if (s == "--runs") a.runs = std::max(1, std::atoi(next().c_str()));
        else if (s == "--work") a.work = next();
        else if (s == "--query-big-cases") big_cases = std::atoi(next().c_str());
        else if (s == "--scaling") a.scaling = parse_list(next());
        else if (s == "--only") { for (auto& x : [&] { std::vector<std::string> v; std::stringstream ss(next()); std::string t; while (std::getline(ss, t, ',')) v.push_back(t); return v; }()) a.only.insert(x); }
        else die("unknown option " + s);
    }
    fs::create_directories(a.work);
    std::fprintf(stderr, "closeloop scenarios: %d cases / %d events, seed %llu, %d runs\n", a.cases, a.events,
                 static_cast<unsigned long long>(a.seed), a.runs);
    Dataset d = clbench::generate({a.cases, a.events, a.seed});
    g_out.begin_object().key("meta").begin_object()
        .kv("cases", a.cases).kv("events", a.events).kv("seed", static_cast<int64_t>(a.seed)).kv("runs", a.runs)
        .kv("sqlite", sqlite3_libversion()).end_object().key("figures").begin_array();
    if (a.want("export")) export_data(a, d);
    if (a.want("fold")) scenario_fold(a, d);
    if (a.want("merge")) scenario_merge(a, d);
    if (a.want("insert")) scenario_insert(a, d);
    if (a.want("query")) {
        std::unique_ptr<Dataset> big;
        if (big_cases > 0) big = std::make_unique<Dataset>(clbench::generate({big_cases, big_cases * 2, a.seed}));
        scenario_query(a, d, big.get());
    }
    if (a.want("retention")) scenario_retention(a, d);
    if (a.want("pull")) scenario_pull(a, d);
    if (a.want("sla")) scenario_sla(a, d);
    if (a.want("scaling")) scenario_scaling(a);
    g_out.end_array().end_object();
    std::cout << g_out.take() << "\n";
    return 0;
}
