// closeloop-server: the sync server and its admin subcommands.
//   closeloop-server [--host H] [--port P] [--data DIR] [--static DIR] [--sweep-interval S] [--read-timeout S]
//   closeloop-server backup FILE --data DIR
//   closeloop-server user add NAME --role R --team T [--team T2] --password-env VAR --data DIR
//   closeloop-server retention run [--dry-run] --data DIR
//   closeloop-server demo [--team T] [--count N] --data DIR
#include <algorithm>
#include <csignal>
#include <cerrno>
#include <fcntl.h>
#include <sys/file.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "app.h"
#include "demo.h"
#include "http_server.h"

using namespace cl;
using namespace cl::server;

namespace {

volatile std::sig_atomic_t g_signal = 0;
void on_signal(int sig) { g_signal = sig; }

void usage() {
    std::cerr << "usage:\n"
                 "  closeloop-server [--host H] [--port P] [--data DIR] [--static DIR] [--sweep-interval SECONDS] [--read-timeout SECONDS]\n"
                 "                   [--tls-cert CERT.pem --tls-key KEY.pem]\n"
                 "  closeloop-server backup FILE --data DIR\n"
                 "  closeloop-server user add NAME --role agent|analyst|manager|admin --team T [--team T2...] "
                 "--password-env VAR --data DIR\n"
                 "  closeloop-server retention run [--dry-run] --data DIR\n"
                 "  closeloop-server demo [--team T] [--count N] --data DIR\n";
}

struct Args {
    std::vector<std::string> positional;
    std::string host = "127.0.0.1", data = "./data", static_dir, role, password_env, team_demo = "demo", tls_cert, tls_key;
    std::vector<std::string> teams;
    int port = 8080, count = 50;
    int64_t sweep = 3600;
    int read_timeout = 30;
    bool dry_run = false, static_set = false;
};

// A whole number in [lo, hi], lo >= 0 (atoi read "abc" as 0: --port abc listened on any free port).
bool parse_number(const std::string& option, const std::string& text, int64_t lo, int64_t hi, int64_t& out) {
    const bool digits = !text.empty() && text.size() <= 18 &&
                        std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
    const int64_t v = digits ? std::strtoll(text.c_str(), nullptr, 10) : -1;
    if (v < lo || v > hi) {
        std::cerr << "closeloop-server: " << option << " must be a whole number from " << lo << " to " << hi << " (got '"
                  << text << "')\n";
        return false;
    }
    out = v;
    return true;
}

// Returns 0 when the arguments are usable, else the exit code (after printing why).
int parse_args(int argc, char** argv, Args& a) {
    for (int i = 1; i < argc; ++i) {
        std::string s = argv[i];
        auto next = [&](std::string& out) {
            if (i + 1 >= argc) { std::cerr << "closeloop-server: " << s << " needs a value\n"; return false; }
            out = argv[++i];
            return true;
        };
        std::string v;
        int64_t n = 0;
        if (s == "--host") { if (!next(a.host)) return 2; }
        else if (s == "--port") {  // 0: any free port (the e2e tests use it; the start line names it)
            if (!next(v) || !parse_number(s, v, 0, 65535, n)) return 2;
            a.port = static_cast<int>(n);
        }
        else if (s == "--data") { if (!next(a.data)) return 2; }
        else if (s == "--static") { if (!next(a.static_dir)) return 2; a.static_set = true; }
        else if (s == "--role") { if (!next(a.role)) return 2; }
        else if (s == "--team") { if (!next(v)) return 2; a.teams.push_back(v); a.team_demo = v; }
        else if (s == "--password-env") { if (!next(a.password_env)) return 2; }
        else if (s == "--count") {
            if (!next(v) || !parse_number(s, v, 1, 100000, n)) return 2;
            a.count = static_cast<int>(n);
        }
        else if (s == "--sweep-interval") {  // 0: no retention sweeps; at most a year
            if (!next(v) || !parse_number(s, v, 0, 365LL * 24 * 3600, n)) return 2;
            a.sweep = n;
        }
        else if (s == "--read-timeout") {
            if (!next(v) || !parse_number(s, v, 1, 3600, n)) return 2;
            a.read_timeout = static_cast<int>(n);
        }
        else if (s == "--tls-cert") { if (!next(a.tls_cert)) return 2; }
        else if (s == "--tls-key") { if (!next(a.tls_key)) return 2; }
        else if (s == "--dry-run") a.dry_run = true;
        else if (s == "-h" || s == "--help") { usage(); return 2; }
        else if (!s.empty() && s[0] == '-') { std::cerr << "closeloop-server: unknown option " << s << "\n"; usage(); return 2; }
        else a.positional.push_back(s);
    }
    return 0;
}

// The admin commands work on an existing installation: a mistyped --data must not create an empty
// folder and database and then report success (a backup of nothing, "purged 0", a user in a
// database no server uses). Serving (first start) and demo (a new demo folder) create it.
bool require_data_folder(const Args& a) {
    std::error_code ec;
    const std::filesystem::path db = std::filesystem::path(a.data) / "closeloop.db";
    if (std::filesystem::is_regular_file(db, ec)) return true;
    std::cerr << "closeloop-server: " << a.data
              << (std::filesystem::is_directory(a.data, ec) ? " is not a closeloop data folder (no closeloop.db in it)"
                                                             : " does not exist")
              << "; give the server's data folder with --data DIR (a first start of the server creates one)\n";
    return false;
}

std::unique_ptr<App> open_app(const Args& a) {
    ServerOptions o;
    o.data_dir = a.data;
    o.static_dir = a.static_dir;
    o.sweep_interval_s = a.sweep;
    auto app = App::open(o);
    if (!app) {
        std::cerr << "closeloop-server: " << app.error().message << "\n";
        return nullptr;
    }
    return std::move(*app);
}

// One serving process per data folder. A second server on the same folder would share the
// database file but not the first one's memory (login throttling, caches, the sweeper's
// schedule), and an admin who started the server twice by mistake would not notice. The lock is
// the kernel's (flock on DATA/server.lock): it goes with the process, after kill -9 too. The
// admin subcommands (backup, user add, ...) do not take it: they run beside a live server.
// Returns the lock's descriptor (kept open for the process's life), or -1 after printing why.
int lock_data_folder(const std::string& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec || !std::filesystem::is_directory(dir, ec)) {
        std::cerr << "closeloop-server: cannot use " << dir << " as the data folder: "
                  << (ec ? ec.message() : std::string("it is not a folder")) << "\n";
        return -1;
    }
    const std::string path = (std::filesystem::path(dir) / "server.lock").string();
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        std::cerr << "closeloop-server: cannot open " << path << ": " << std::strerror(errno) << "\n";
        return -1;
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        char pid[32] = {};
        const ssize_t n = ::pread(fd, pid, sizeof pid - 1, 0);
        std::string holder = n > 0 ? std::string(pid, static_cast<size_t>(n)) : std::string();
        while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
        if (err == EWOULDBLOCK)
            std::cerr << "closeloop-server: the data folder " << dir << " is in use by another closeloop-server"
                      << (holder.empty() ? std::string() : " (pid " + holder + ")")
                      << "; stop that one first, or give this one another --data folder\n";
        else
            std::cerr << "closeloop-server: cannot lock " << path << ": " << std::strerror(err) << "\n";
        ::close(fd);
        return -1;
    }
    // The pid is only for the message above: the lock holds whether or not it is written.
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) == 0) (void)::pwrite(fd, pid.data(), pid.size(), 0);
    return fd;
}

#ifdef __GLIBC__
// glibc's malloc backs its heap with transparent huge pages only when told so by the
// GLIBC_TUNABLES variable, which it reads once, at start-up: the serving process sets it and
// starts itself again (same pid and arguments), once. Where the system's transparent huge pages
// are "madvise" (Debian's default) every 4 KiB page a request first touches was a page fault,
// and in a VM each one is slow: 11 % of a push's server time. With the heap settings in serve()
// too: page faults per 100k pushed events 29,862 -> ~700, server CPU 1.98 -> 1.54 s (alternating
// runs, median of 6). A tunable set by the admin wins.
constexpr const char* kHugeHeapTunable = "glibc.malloc.hugetlb";

void restart_with_huge_heap(char** argv) {
    const char* current = std::getenv("GLIBC_TUNABLES");
    if (current && std::strstr(current, kHugeHeapTunable)) return;  // set: by us, or by the admin
    const std::string before = current ? current : "";
    std::string tunables = before.empty() ? std::string() : before + ":";
    tunables += std::string(kHugeHeapTunable) + "=1";
    // The binary's own path (readlink, not /proc/self/exe itself: under valgrind that names the tool).
    char self[4096];
    const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return;
    self[n] = '\0';
    if (setenv("GLIBC_TUNABLES", tunables.c_str(), 1) != 0) return;
    execv(self, argv);
    unsetenv("GLIBC_TUNABLES");  // no exec: carry on with the heap as it is
    if (current) setenv("GLIBC_TUNABLES", before.c_str(), 1);
}
#endif

int serve(const Args& a) {
#ifdef __GLIBC__
    // Requests are served by a pool of threads but the store is one writer: one malloc arena, the
    // main heap. Without a cap each worker's arena kept the high-water mark of the big pull bodies
    // it built (bench: RSS +6.6 MB over repeated full pulls -> +0.0 MB with two arenas). With two,
    // a push served from the second arena (glibc's 64 MiB mmapped heaps) at times took twice the
    // CPU: server CPU per 1M pushed events 18-23 s or 40-44 s from run to run, with one arena
    // 19-21 s in every run.
    mallopt(M_ARENA_MAX, 1);
    // The heap grows in 64 MiB steps (with huge pages: few, large page faults) and keeps what
    // requests free until the server is idle for a second, when the sweeper hands it back
    // (malloc_trim): under load the same pages serve request after request.
    mallopt(M_TOP_PAD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
#endif
    Args args = a;
    if (!args.static_set) {
        // Default: the web client's build output, when it exists.
        for (const char* cand : {"build/web/client/www", "www"})
            if (std::filesystem::is_directory(cand)) { args.static_dir = cand; break; }
    }
    if (lock_data_folder(args.data) < 0) return 1;
    auto app = open_app(args);
    if (!app) return 1;
    HttpLimits limits;
    limits.read_timeout_s = args.read_timeout;
    if (args.tls_cert.empty() != args.tls_key.empty()) {
        std::cerr << "closeloop-server: --tls-cert and --tls-key go together\n";
        return 2;
    }
    limits.tls_cert = args.tls_cert;
    limits.tls_key = args.tls_key;
    HttpServer http(*app, limits);
    if (!http.valid()) {
        std::cerr << "closeloop-server: cannot load the TLS certificate/key (" << args.tls_cert << ", " << args.tls_key << ")\n";
        return 1;
    }
    errno = 0;
    int port = http.bind(args.host, args.port);
    if (port < 0) {
        const int err = errno;
        std::cerr << "closeloop-server: cannot listen on " << args.host << ":" << args.port
                  << (err == EADDRINUSE ? " (the port is in use: is another server running?)" : err ? std::string(" (") + std::strerror(err) + ")" : std::string())
                  << "\n";
        return 1;
    }
    // The first admin is created once the port is ours: a start that cannot listen must not print
    // a one-time password for a server that never ran.
    auto pw = app->ensure_admin();
    if (!pw) {
        std::cerr << "closeloop-server: cannot create the admin user: " << pw.error().message << "\n";
        return 1;
    }
    if (!pw->empty()) {
        std::cout << "Created user 'admin' with password: " << *pw << "\n"
                  << "(shown once; change it with PUT /api/v1/admin/users/admin)\n"
                  << std::flush;
    }
    struct sigaction sa{};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
    app->start_sweeper();
    std::thread watcher([&] {
        while (!g_signal && (http.running() || true)) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            if (g_signal) break;
        }
        http.stop();
    });
    std::cout << "closeloop-server listening on " << (args.tls_cert.empty() ? "http" : "https") << "://" << args.host << ":" << port << "/"
              << (args.static_dir.empty() ? " (no web client found; pass --static DIR)" : "") << "\n"
              << std::flush;
    http.listen();
    g_signal = g_signal ? g_signal : SIGTERM;  // listen returned: make the watcher exit
    watcher.join();
    app->stop_sweeper();
    std::cout << "closeloop-server stopped\n";
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Args a;
    if (const int rc = parse_args(argc, argv, a); rc != 0) return rc;
    if (a.positional.empty()) {
#ifdef __GLIBC__
        restart_with_huge_heap(argv);
#endif
        return serve(a);
    }
    const std::string& cmd = a.positional[0];
    if (cmd == "backup") {
        if (a.positional.size() != 2) { usage(); return 2; }
        if (!require_data_folder(a)) return 1;
        a.sweep = 0;
        auto app = open_app(a);
        if (!app) return 1;
        auto b = app->backup(a.positional[1]);
        if (!b) { std::cerr << b.error().message << "\n"; return 1; }
        std::cout << "backup written to " << a.positional[1] << "; attachments in " << b->attachments_dir << " ("
                  << b->files_copied << " copied, " << b->bytes_copied << " bytes; " << b->files_present << " already there)\n"
                  << "to restore: stop the server, delete DATA/closeloop.db-wal and -shm, copy the file to DATA/closeloop.db\n"
                  << "and the folder's files into DATA/attachments/\n";
        return 0;
    }
    if (cmd == "user" && a.positional.size() == 3 && a.positional[1] == "add") {
        if (a.role.empty() || a.password_env.empty()) { usage(); return 2; }
        const char* pw = std::getenv(a.password_env.c_str());
        if (!pw || !*pw) { std::cerr << "environment variable " << a.password_env << " is not set\n"; return 2; }
        if (!require_data_folder(a)) return 1;
        auto app = open_app(a);
        if (!app) return 1;
        // A database without users (a first start that could not listen): create the admin first,
        // as the next server start would (else adding a user here would leave no admin).
        auto apw = app->ensure_admin();
        if (apw && !apw->empty()) std::cout << "Created user 'admin' with password: " << *apw << "\n";
        User u;
        u.id = a.positional[2];
        u.role = a.role;
        u.teams = a.teams;
        Status s = app->add_user(u, pw, "cli");
        if (!s) { std::cerr << s.error().message << "\n"; return 1; }
        std::cout << "user " << u.id << " created\n";
        return 0;
    }
    if (cmd == "retention" && a.positional.size() == 2 && a.positional[1] == "run") {
        if (!require_data_folder(a)) return 1;
        auto app = open_app(a);
        if (!app) return 1;
        RetentionOutcome out = app->run_retention(a.dry_run, "cli");
        std::cout << (a.dry_run ? "would purge " : "purged ") << out.purged.size() << " case(s); " << out.held.size()
                  << " on legal hold\n";
        for (auto& i : out.purged) std::cout << "  " << i.reference << " (" << i.kind << ", team " << i.team << ")\n";
        return 0;
    }
    if (cmd == "demo") {
        auto app = open_app(a);
        if (!app) return 1;
        auto pw = app->ensure_admin();
        if (pw && !pw->empty()) std::cout << "Created user 'admin' with password: " << *pw << "\n";
        auto r = seed_demo(*app, a.team_demo, a.count);
        if (!r) { std::cerr << r.error().message << "\n"; return 1; }
        std::cout << "demo: " << r->cases << " cases, " << r->events << " events in team '" << a.team_demo << "'";
        if (r->rejected) std::cout << " (" << r->rejected << " rejected: " << r->first_rejection << ")";
        std::cout << "\n";
        if (!r->password.empty())
            std::cout << "demo users alice, bob (agents), maria (manager), quinn (analyst) - password: " << r->password << "\n";
        return 0;
    }
    usage();
    return 2;
}
