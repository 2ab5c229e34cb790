// closeloop_bench_wasm_query: closeloop's own inbox query compiled to WebAssembly (issue 6).
//
//   node closeloop_bench_wasm_query.js --work DIR [--runs R] [--fs memfs|nodefs]
//
// Built only by an Emscripten configuration with -DCLOSELOOP_BENCH_WASM=ON (scripts/bench.sh:
// build/bench-web), with the web client's flags (-Os, MinSizeRel, same SQLite build), and run under
// node on the real query_<cases>.db files closeloop_bench_scenarios (native) wrote into DIR — the
// same files bench/js/sqljs_query.mjs hands to sql.js. Each file is opened the way the browser
// client opens its store (StoreOptions{server=false, wal=false, exclusive=true}) and Store::query_cases is timed for
// the same queries as bench/scenarios.cpp (bench/bench_common.h): warm once, then the median of
// max(21, runs*4) single-query timings. Prints {"figures":[...]} in closeloop_bench_scenarios' format.
//
// --fs memfs (default): the file is copied into Emscripten's in-memory file system first. That is
//   where the browser client's database lives (IDBFS is MEMFS plus persistence to IndexedDB: the
//   whole file is in memory while the app runs), and where sql.js keeps the file it queries.
//   The copy is not timed; the file in DIR is left untouched.
// --fs nodefs: the file is opened in place through a NODEFS mount, so every SQLite page miss is a
//   read() through node (system "closeloop (wasm, NODEFS)"; for information only).
//
// The files come out of the native scenarios in WAL mode (persistent in the file header). The web
// build's SQLite has no WAL support at all (-DSQLITE_OMIT_WAL=0 in CMakeLists.txt defines the
// macro, and SQLite only tests whether it is defined), so it reads a WAL-mode file as "not a
// database"; the browser client's store uses the rollback journal. So the file is switched to the
// rollback journal first (see to_rollback_journal; in place with --fs nodefs).
#include <emscripten.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <sys/stat.h>
#include <string>
#include <vector>

#include "core/json.h"
#include "store/store.h"
#include "store/sqlite_util.h"
#include "bench_common.h"

using clbench::inbox_queries;
using clbench::median;
using clbench::time_once;
using clbench::Timing;

// CPU seconds of the node process (Emscripten has no CLOCK_PROCESS_CPUTIME_ID).
EM_JS(double, js_cpu_seconds, (), {
    const c = process.cpuUsage();
    return (c.user + c.system) / 1e6;
});
double clbench::cpu_seconds() { return js_cpu_seconds(); }

namespace {

constexpr int64_t kNow = clbench::kQueryNow;




// Mounts DIR (host path) at /w through NODEFS.
EM_JS(void, mount_work, (const char* dir), {
    FS.mkdir('/w');
    FS.mount(NODEFS, { root: UTF8ToString(dir) }, '/w');
});

// Copies a host file into MEMFS (what IDBFS holds in the browser); returns its size.
EM_JS(double, copy_to_memfs, (const char* src, const char* dst), {
    const data = require('fs').readFileSync(UTF8ToString(src));
    FS.writeFile(UTF8ToString(dst), data);
    return data.length;
});


cl::json::Writer g_out;

// Same shape as closeloop_bench_scenarios' figure(): time figures, value = seconds * scale.
void figure(const std::string& system, const std::string& metric, const std::vector<Timing>& runs, const std::string& note) {
    std::vector<double> vals, walls, cpus;
    for (const auto& t : runs) {
        vals.push_back(t.wall * 1000);
        walls.push_back(t.wall);
        cpus.push_back(t.cpu);
    }
    double v = median(vals);
    g_out.begin_object()
        .kv("scenario", "query").kv("system", system).kv("metric", metric).kv("unit", "ms").kv_dbl("value", v)
        .key("runs").begin_array();
    for (double x : vals) g_out.dbl(x);
    g_out.end_array().kv_dbl("wall_s", median(walls)).kv_dbl("cpu_s", median(cpus)).kv_dbl("n", 1).kv("note", note).end_object();
    std::fprintf(stderr, "  %-12s %-22s %-40s %12.2f ms (wall %.4fs, cpu %.4fs)\n", "query", system.c_str(),
                 metric.c_str(), v, median(walls), median(cpus));
}

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "wasm_query: %s\n", what.c_str());
    std::exit(1);
}

// WAL -> rollback journal, as the browser client's store runs (see the file comment). The web
// build's SQLite has no WAL support (-DSQLITE_OMIT_WAL=0 in CMakeLists.txt defines the macro, and
// SQLite only tests whether it is defined), so it cannot even open a WAL-mode file: it reads as
// "not a database". `PRAGMA journal_mode=DELETE` on a cleanly closed WAL database (no -wal file
// left) changes exactly the two header bytes 18-19 (file format write/read version) from 2 to 1;
// that is done here directly on the file.
void to_rollback_journal(const std::string& path) {
    if (FILE* w = std::fopen((path + "-wal").c_str(), "rb")) {
        std::fseek(w, 0, SEEK_END);
        long n = std::ftell(w);
        std::fclose(w);
        if (n > 0) die(path + " has a non-empty -wal file (not closed cleanly): cannot switch it to the rollback journal");
    }
    FILE* f = std::fopen(path.c_str(), "r+b");
    if (!f) die("cannot open " + path);
    unsigned char h[20] = {0};
    if (std::fread(h, 1, sizeof h, f) != sizeof h || std::memcmp(h, "SQLite format 3", 16) != 0) die(path + " is not a SQLite file");
    if (h[18] == 2 && h[19] == 2) {
        const unsigned char v[2] = {1, 1};
        if (std::fseek(f, 18, SEEK_SET) != 0 || std::fwrite(v, 1, 2, f) != 2) die("cannot rewrite the header of " + path);
        std::fprintf(stderr, "  %s: WAL -> rollback journal (header bytes 18-19)\n", path.c_str());
    } else if (h[18] != 1 || h[19] != 1) {
        die(path + ": unexpected file format version bytes");
    }
    std::fclose(f);
}

}  // namespace

int main(int argc, char** argv) {
    std::string work = "bench/results/work", fs_mode = "memfs";
    int runs_arg = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string k = argv[i];
        if (k == "--work") work = argv[i + 1];
        else if (k == "--runs") runs_arg = std::atoi(argv[i + 1]);
        else if (k == "--fs") fs_mode = argv[i + 1];
        else die("unknown option " + k + " (usage: --work DIR [--runs R] [--fs memfs|nodefs])");
    }
    if (fs_mode != "memfs" && fs_mode != "nodefs") die("--fs must be memfs or nodefs");
    const int runs = std::max(21, runs_arg * 4);
    mount_work(work.c_str());

    // query_<cases>.db, smallest first
    std::vector<int> sizes;
    if (DIR* d = opendir("/w")) {
        while (dirent* e = readdir(d)) {
            int n = 0;
            char tail[8] = {0};
            if (std::sscanf(e->d_name, "query_%d.%7s", &n, tail) == 2 && std::string(tail) == "db") sizes.push_back(n);
        }
        closedir(d);
    } else {
        die("cannot read " + work);
    }
    std::sort(sizes.begin(), sizes.end());
    if (sizes.empty()) die("no query_<cases>.db in " + work + " (run closeloop_bench_scenarios --only export,query first)");

    const bool memfs = fs_mode == "memfs";
    const std::string system = memfs ? "closeloop (wasm)" : "closeloop (wasm, NODEFS)";
    const std::string note = std::string("wasm (Emscripten -Os, as the client), node, ") +
                             (memfs ? "database in MEMFS (as IDBFS in the browser)" : "database read through NODEFS") +
                             ", rollback journal, first page of 50";
    g_out.begin_object().key("figures").begin_array();
    for (int cases : sizes) {
        const std::string name = "query_" + std::to_string(cases) + ".db";
        std::string path = "/w/" + name;
        if (memfs) {
            mkdir("/mem", 0777);
            path = "/mem/" + name;
            double bytes = copy_to_memfs((work + "/" + name).c_str(), path.c_str());
            std::fprintf(stderr, "  %s: %.1f MB copied into MEMFS\n", name.c_str(), bytes / 1e6);
        }
        to_rollback_journal(path);
        cl::StoreOptions o;
        o.server = false;
        o.wal = false;
        o.exclusive = true;
        // What a returning user's tab does before its first frame: open the stored file (its
        // integrity check reads every page). For information.
        {
            std::vector<Timing> t;
            for (int r = 0; r < std::max(3, runs / 7); ++r)
                t.push_back(time_once([&] {
                    auto opened = cl::Store::open(path, o);
                    if (!opened) die(opened.error().message);
                }));
            figure(system, "open the device store @" + std::to_string(cases / 1000) + "k cases (information)", t,
                   std::string("Store::open as the client opens its file: ") + (memfs ? "MEMFS" : "NODEFS") + ", its integrity check (Store::check_integrity) included");
        }
        auto s = cl::Store::open(path, o);
        if (!s) die(s.error().message);
        (*s)->set_clock([] { return kNow; });
        std::string label = std::to_string(cases / 1000) + "k cases";
        for (auto& nq : inbox_queries(**s)) {
            // Into one vector kept across the runs, as the inbox keeps its window of rows.
            std::vector<cl::CaseRow> window;
            (void)(*s)->query_cases(nq.q, window);  // warm once
            std::vector<Timing> t;
            for (int r = 0; r < runs; ++r)
                t.push_back(time_once([&] {
                    cl::Status st = (*s)->query_cases(nq.q, window);
                    if (!st || window.empty()) die("inbox query returned nothing: " + nq.name);
                }));
            figure(system, "inbox " + nq.name + " @" + label, t, note);
        }
        s->reset();
        if (memfs) std::remove(path.c_str());
    }
    g_out.end_array().end_object();
    std::string out = g_out.take();
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fputc('\n', stdout);
    return 0;
}
