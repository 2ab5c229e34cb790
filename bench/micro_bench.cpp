// Google Benchmark micro-benchmarks of the core (issue 3): fold, merge, store insert and inbox
// query on the shared deterministic data set (10k cases / 100k events by default;
// CLOSELOOP_BENCH_CASES / CLOSELOOP_BENCH_EVENTS override). Run: build/.../bench/closeloop_bench
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <unordered_set>

#include "dataset.h"
#include "domain/case.h"
#include "store/store.h"
#include "sync/protocol.h"

namespace {

using clbench::Dataset;

int env_int(const char* name, int fallback) {
    const char* v = std::getenv(name);
    return v && *v ? std::atoi(v) : fallback;
}

const Dataset& data() {
    static Dataset d = clbench::generate({env_int("CLOSELOOP_BENCH_CASES", 10000), env_int("CLOSELOOP_BENCH_EVENTS", 100000), 42});
    return d;
}

constexpr int64_t kNow = clbench::kEpoch2024 + 400LL * 24 * 3600 * 1000;

std::map<std::string, std::vector<cl::Event>> by_case(const std::vector<cl::Event>& evs) {
    std::map<std::string, std::vector<cl::Event>> m;
    for (const auto& e : evs) m[e.case_id].push_back(e);
    return m;
}

std::string temp_db(const char* name) {
    auto p = std::filesystem::temp_directory_path() / (std::string("closeloop-bench-") + name + ".db");
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(p.string() + suffix);
    return p.string();
}

std::unique_ptr<cl::Store> open_server_store(const std::string& path) {
    cl::StoreOptions o;
    o.server = true;
    o.wal = true;
    auto s = cl::Store::open(path, o);
    if (!s) { std::fprintf(stderr, "%s\n", s.error().message.c_str()); std::abort(); }
    (*s)->set_clock([] { return kNow; });
    return std::move(*s);
}

void insert_all(cl::Store& s, const std::vector<cl::Event>& evs, size_t batch) {
    for (size_t i = 0; i < evs.size(); i += batch) {
        std::vector<cl::Event> b(evs.begin() + i, evs.begin() + std::min(evs.size(), i + batch));
        auto r = s.apply_events(b);
        if (!r) { std::fprintf(stderr, "%s\n", r.error().message.c_str()); std::abort(); }
    }
}

// Fold every case from its events (grouped, unsorted: fold sorts and de-duplicates).
void BM_FoldAllCases(benchmark::State& st) {
    auto groups = by_case(data().events);
    for (auto _ : st) {
        size_t n = 0;
        for (auto& [id, evs] : groups) n += cl::fold(evs).event_count;
        benchmark::DoNotOptimize(n);
    }
    st.SetItemsProcessed(st.iterations() * data().events.size());
    st.counters["cases"] = static_cast<double>(groups.size());
}
BENCHMARK(BM_FoldAllCases)->Unit(benchmark::kMillisecond);

// Merge two replicas in memory: union by event id, then fold every case.
void BM_MergeInMemory(benchmark::State& st) {
    const auto& d = data();
    auto split = clbench::merge_split(d, static_cast<int>(d.events.size() / 2), 0.3);
    std::vector<cl::Event> a = split.base, b = split.base;
    a.insert(a.end(), split.only_a.begin(), split.only_a.end());
    b.insert(b.end(), split.only_b.begin(), split.only_b.end());
    for (auto _ : st) {
        std::unordered_set<std::string> seen;
        seen.reserve(a.size() + b.size());
        std::map<std::string, std::vector<cl::Event>> groups;
        for (const auto* side : {&a, &b})
            for (const auto& e : *side)
                if (seen.insert(e.id()).second) groups[e.case_id].push_back(e);
        size_t n = 0;
        for (auto& [id, evs] : groups) n += cl::fold(std::move(evs)).event_count;
        benchmark::DoNotOptimize(n);
    }
    st.SetItemsProcessed(st.iterations() * (a.size() + b.size()));
}
BENCHMARK(BM_MergeInMemory)->Unit(benchmark::kMillisecond);

// Store insert: apply_events in batches of N into a fresh on-disk server store (WAL).
void BM_StoreInsert(benchmark::State& st) {
    const auto& evs = data().events;
    for (auto _ : st) {
        st.PauseTiming();
        std::string path = temp_db("insert");
        auto s = open_server_store(path);
        st.ResumeTiming();
        insert_all(*s, evs, static_cast<size_t>(st.range(0)));
        st.PauseTiming();
        s.reset();
        st.ResumeTiming();
    }
    st.SetItemsProcessed(st.iterations() * evs.size());
}
BENCHMARK(BM_StoreInsert)->Arg(1000)->Unit(benchmark::kMillisecond)->Iterations(2);

// What a server does first with each push: parse the request body (1000 events, as devices
// push) into events, checking every field.
void BM_PushRequestParse(benchmark::State& st) {
    cl::PushRequest req;
    req.device = "bench-device";
    const auto& evs = data().events;
    req.events.assign(evs.begin(), evs.begin() + std::min<size_t>(evs.size(), 1000));
    const std::string body = cl::push_request_to_json(req);
    for (auto _ : st) {
        auto parsed = cl::push_request_from_json(body);
        if (!parsed || parsed->request.events.size() != req.events.size()) st.SkipWithError("push request did not parse");
        benchmark::DoNotOptimize(parsed);
    }
    st.SetItemsProcessed(static_cast<int64_t>(st.iterations() * req.events.size()));
    st.SetBytesProcessed(static_cast<int64_t>(st.iterations() * body.size()));
}
BENCHMARK(BM_PushRequestParse)->Unit(benchmark::kMicrosecond);

// Inbox query: open cases of one team, sorted by due time, first page of 50.
void BM_StoreInboxQuery(benchmark::State& st) {
    static std::unique_ptr<cl::Store> s;
    if (!s) {
        s = open_server_store(temp_db("query"));
        insert_all(*s, data().events, 5000);
    }
    cl::CaseQuery q;
    q.status = "open";
    q.team = "team-3";
    q.sort = "due";
    q.limit = 50;
    q.now = kNow;
    if (st.range(0) == 1) { q.team.clear(); q.text = "refund"; }
    std::vector<cl::CaseRow> rows;  // kept, as the inbox keeps its window
    for (auto _ : st) {
        (void)s->query_cases(q, rows);
        benchmark::DoNotOptimize(rows.size());
    }
    st.SetLabel(st.range(0) == 1 ? "text search, all teams" : "team filter");
}
BENCHMARK(BM_StoreInboxQuery)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
