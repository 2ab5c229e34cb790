// Pieces both benchmark programs share: closeloop_bench_scenarios (native) and
// closeloop_bench_wasm_query (Emscripten, under node). Each program defines cpu_seconds().
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "store/sqlite_util.h"
#include "store/store.h"

namespace clbench {

double cpu_seconds();  // CPU seconds of this process (defined by each program)

struct Timing { double wall = 0, cpu = 0; };

template <class F> Timing time_once(F&& f) {
    double c0 = cpu_seconds();
    auto t0 = std::chrono::steady_clock::now();
    f();
    Timing t;
    t.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    t.cpu = cpu_seconds() - c0;
    return t;
}

inline double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// "now" of every query: early 2025, after the data set's year (2024).
constexpr int64_t kQueryNow = 1704067200000 + 400LL * 24 * 3600 * 1000;

// The inbox queries (first page of 50). bench/js/sqljs_query.mjs runs the same for sql.js.
struct NamedQuery { std::string name; cl::CaseQuery q; };

// The client name of the first case by id: a rare search term (a handful of cases).
inline std::string rare_term(cl::Store& s) {
    cl::sql::Stmt q(s.db(), "SELECT lower(client_name) FROM cases ORDER BY id LIMIT 1");
    return q.step() ? q.text(0) : std::string("client 1");
}

inline std::vector<NamedQuery> inbox_queries(cl::Store& s) {
    std::vector<NamedQuery> v;
    cl::CaseQuery q;
    q.now = kQueryNow; q.limit = 50; q.status = "open"; q.team = "team-3"; q.sort = "due";
    v.push_back({"team open by due", q});
    q = {}; q.now = kQueryNow; q.limit = 50; q.status = "open"; q.sort = "updated"; q.descending = true;
    v.push_back({"all open by updated", q});
    q = {}; q.now = kQueryNow; q.limit = 50; q.text = "refund"; q.sort = "due";
    v.push_back({"text search", q});
    q = {}; q.now = kQueryNow; q.limit = 50; q.text = rare_term(s); q.sort = "due";
    v.push_back({"text search, one client", q});
    return v;
}

}  // namespace clbench
