#include "app.h"

#include <sqlite3.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/json.h"
#include "core/time.h"
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include "domain/report.h"
#include "domain/sla.h"
#include "sync/protocol.h"

namespace fs = std::filesystem;

namespace cl::server {

// ---- small helpers ------------------------------------------------------------------------------

std::string HttpRequest::header(const std::string& name) const {
    for (auto& [k, v] : headers) {
        if (k.size() != name.size()) continue;
        bool eq = true;
        for (size_t i = 0; i < k.size() && eq; ++i)
            eq = std::tolower(static_cast<unsigned char>(k[i])) == std::tolower(static_cast<unsigned char>(name[i]));
        if (eq) return v;
    }
    return {};
}

std::string sanitize_header_value(const std::string& v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        unsigned char u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) continue;  // CR, LF, NUL and other controls
        out.push_back(c);
    }
    return out;
}

struct Metrics {
    std::mutex mu;
    std::map<std::tuple<std::string, std::string, int>, int64_t> requests;  // route, method, status
    std::map<std::string, std::pair<double, int64_t>> latency;              // route -> (sum s, count)
    int64_t push_accepted = 0, push_duplicates = 0, push_rejected = 0, pull_events = 0, pull_tombstones = 0;
    double push_seconds = 0, pull_seconds = 0;
    int64_t pushes = 0, pulls = 0;
    int64_t login_failures = 0, login_throttled = 0, purged = 0;
};

namespace {

using Clock = std::chrono::steady_clock;

int64_t system_now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

HttpResponse json_response(int status, std::string body) {
    HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    return r;
}

HttpResponse error_response(int status, const std::string& code, const std::string& message) {
    json::Writer w;
    w.begin_object().key("error").begin_object().kv("code", code).kv("message", message).end_object().end_object();
    return json_response(status, w.take());
}

HttpResponse bad_request(const std::string& message, const std::string& code = "bad_request") {
    return error_response(400, code, message);
}

HttpResponse from_error(const Error& e) {
    int status = 400;
    if (e.code == "not_found") status = 404;
    else if (e.code == "exists") status = 409;
    else if (e.code == "forbidden") status = 403;
    else if (e.code == "db" || e.code == "internal" || e.code == "io") status = 500;
    return error_response(status, e.code, e.message);
}

bool parse_int(const std::string& s, int64_t& out) {
    if (s.empty() || s.size() > 19) return false;
    size_t i = 0;
    bool neg = false;
    if (s[0] == '-') { neg = true; i = 1; }
    if (i >= s.size()) return false;
    int64_t v = 0;
    for (; i < s.size(); ++i) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (s[i] - '0');
    }
    out = neg ? -v : v;
    return true;
}

bool truthy(const std::string& s) { return s == "1" || s == "true" || s == "yes"; }

// "YYYY-MM-DD" (UTC midnight) or integer milliseconds.
bool parse_time(const std::string& s, int64_t& out) {
    if (parse_int(s, out)) return out >= 0;
    int y, m, d;
    char tail;
    if (s.size() != 10 || std::sscanf(s.c_str(), "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3) return false;
    if (m < 1 || m > 12 || d < 1 || d > 31 || y < 1970 || y > 9999) return false;
    // days from civil (Howard Hinnant)
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    out = (era * 146097 + static_cast<int64_t>(doe) - 719468) * 86400000LL;
    return true;
}

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

void write_user(json::Writer& w, const User& u) {
    w.begin_object().kv("id", u.id).kv("name", u.id).kv("role", u.role).key("teams").begin_array();
    for (auto& t : u.teams) w.str(t);
    w.end_array().kv("disabled", u.disabled).kv("created_at", u.created_at).end_object();
}

void write_row(json::Writer& w, const CaseRow& r, int64_t now) {
    w.begin_object()
        .kv("id", r.id).kv("reference", r.reference).kv("kind", r.kind).kv("team", r.team).kv("status", r.status)
        .kv("priority", r.priority).kv("category", r.category).kv("assignee", r.assignee)
        .kv("client", r.client_name).kv("title", r.title).kv("description", r.description)
        .kv("created_at", r.created_at).kv("updated_at", r.updated_at).kv("next_due", r.next_due)
        .kv("closed_at", r.closed_at).kv("overdue", r.next_due > 0 && r.next_due < now)
        .kv("overdue_steps", r.overdue_steps).kv("needs_escalation", r.needs_escalation)
        .kv("escalated", r.escalated).kv("legal_hold", r.legal_hold).kv("conflicts", r.conflicts)
        .end_object();
}

void write_items(json::Writer& w, const std::vector<RetentionOutcome::Item>& items) {
    w.begin_array();
    for (auto& i : items)
        w.begin_object().kv("case", i.case_id).kv("reference", i.reference).kv("kind", i.kind).kv("team", i.team)
            .kv("closed_at", i.closed_at).end_object();
    w.end_array();
}

Caller caller_of(const User& u) {
    Caller c;
    c.user_id = u.id;
    c.role = u.role;
    c.teams = u.teams;
    return c;
}

// Parses a request body that must be a JSON object with only the allowed members.
Expected<json::Document> parse_object(const std::string& body, const std::vector<std::string_view>& allowed) {
    auto doc = json::parse(body, 1u << 20);
    if (!doc) return make_error("bad_json", doc.error().message);
    if (!doc->root().IsObject()) return make_error("bad_request", "the body must be a JSON object");
    std::string u = json::unknown_member(doc->root(), allowed);
    if (!u.empty()) return make_error("bad_request", "unknown field '" + u + "'");
    return doc;
}

bool read_string_array(const json::Value* v, std::vector<std::string>& out) {
    if (!v || !v->IsArray()) return false;
    out.clear();
    for (auto& x : v->GetArray()) {
        if (!x.IsString()) return false;
        out.emplace_back(x.GetString(), x.GetStringLength());
    }
    return true;
}

const char* mime_for(const std::string& ext) {
    static const std::map<std::string, const char*> m = {
        {".html", "text/html; charset=utf-8"}, {".htm", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"}, {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"}, {".json", "application/json"},
        {".webmanifest", "application/manifest+json"}, {".wasm", "application/wasm"},
        {".data", "application/octet-stream"}, {".png", "image/png"}, {".jpg", "image/jpeg"},
        {".jpeg", "image/jpeg"}, {".gif", "image/gif"}, {".svg", "image/svg+xml"}, {".ico", "image/x-icon"},
        {".webp", "image/webp"}, {".txt", "text/plain; charset=utf-8"}, {".map", "application/json"},
        {".woff", "font/woff"}, {".woff2", "font/woff2"}, {".ttf", "font/ttf"}};
    auto it = m.find(lower(ext));
    return it == m.end() ? "application/octet-stream" : it->second;
}

bool read_file(const fs::path& p, std::string& out) {
    std::ifstream f(p, std::ios::binary);
    if (!f) return false;
    std::ostringstream ss;
    ss << f.rdbuf();
    out = ss.str();
    return true;
}

const char* kNotFoundPage =
    "<!doctype html><html><head><meta charset=\"utf-8\"><title>closeloop - not found</title></head>"
    "<body><h1>Not found</h1><p>The page you asked for does not exist. If this is a new server, the web "
    "client may not be built yet: run <code>scripts/run.sh</code>, or start the server with "
    "<code>--static DIR</code>.</p></body></html>";

}  // namespace

// ---- routing ------------------------------------------------------------------------------------

enum class Access { Public, Auth, Reports, Admin };

struct App::Route {
    const char* method;
    const char* pattern;  // segments; "{x}" captures one segment
    Access access;
    Handler handler;
};

struct App::Ctx {
    User user;
    Caller caller;
    std::vector<std::string> captures;
    std::string token;
};

static bool match_pattern(const char* pattern, const std::string& path, std::vector<std::string>& caps) {
    caps.clear();
    std::string_view p(pattern), s(path);
    while (!p.empty() || !s.empty()) {
        if (p.empty() || s.empty() || p[0] != '/' || s[0] != '/') return false;
        p.remove_prefix(1);
        s.remove_prefix(1);
        size_t pe = p.find('/'), se = s.find('/');
        std::string_view ps = p.substr(0, pe), ss = s.substr(0, se);
        if (ps.size() >= 2 && ps.front() == '{' && ps.back() == '}') {
            if (ss.empty()) return false;
            caps.emplace_back(ss);
        } else if (ps != ss) {
            return false;
        }
        p = pe == std::string_view::npos ? std::string_view() : p.substr(pe);
        s = se == std::string_view::npos ? std::string_view() : s.substr(se);
    }
    return true;
}

App::App(const ServerOptions& opts) : opts_(opts), metrics_(std::make_unique<Metrics>()) {
    if (!opts_.clock) opts_.clock = system_now_ms;
}

App::~App() { stop_sweeper(); }

Expected<std::unique_ptr<App>> App::open(const ServerOptions& opts) {
    if (!crypto_init()) return make_error("internal", "libsodium failed to initialise");
    std::unique_ptr<App> app(new App(opts));
    std::error_code ec;
    fs::create_directories(app->opts_.data_dir, ec);
    if (ec) return make_error("io", "cannot create data dir: " + ec.message());
    fs::permissions(app->opts_.data_dir, fs::perms::owner_all, fs::perm_options::replace, ec);
    fs::create_directories(app->attachments_dir(), ec);
    StoreOptions so;
    so.server = true;
    so.wal = true;
    auto st = Store::open((fs::path(app->opts_.data_dir) / "closeloop.db").string(), so);
    if (!st) return st.error();
    app->store_ = std::move(*st);
    app->users_ = std::make_unique<UserDb>(*app->store_);
    Status m = app->users_->migrate();
    if (!m) return m.error();
    // SLA settings kept in meta
    SlaPolicy policy;
    BusinessCalendar cal;
    if (auto p = app->store_->meta("sla_policy")) {
        auto parsed = policy_from_json(*p);
        if (parsed) policy = *parsed;
    }
    if (auto c = app->store_->meta("sla_calendar")) {
        auto parsed = calendar_from_json(*c);
        if (parsed) cal = *parsed;
    }
    app->store_->set_sla(policy, cal);
    auto clock = app->opts_.clock;
    app->sync_ = std::make_unique<SyncServer>(*app->store_, clock);
    return app;
}

std::string App::attachments_dir() const { return (fs::path(opts_.data_dir) / "attachments").string(); }

Expected<std::string> App::ensure_admin() {
    std::lock_guard<std::recursive_mutex> lk(db_mutex());
    if (users_->user_count() > 0) return std::string();
    std::string password;
    bool generated = false;
    if (const char* env = std::getenv("CLOSELOOP_ADMIN_PASSWORD"); env && *env) {
        password = env;
    } else {
        password = random_hex(12);
        generated = true;
    }
    User u;
    u.id = "admin";
    u.role = "admin";
    u.teams = {"default"};
    u.created_at = now();
    Status s = users_->create(u, password);
    if (!s) return s.error();
    users_->audit(now(), "system", "user.create", "admin", R"({"role":"admin","bootstrap":true})");
    return generated ? password : std::string();
}

Status App::add_user(const User& u, const std::string& password, const std::string& actor) {
    std::lock_guard<std::recursive_mutex> lk(db_mutex());
    User copy = u;
    if (copy.created_at == 0) copy.created_at = now();
    Status s = users_->create(copy, password);
    if (!s) return s;
    json::Writer w;
    w.begin_object().kv("role", copy.role).key("teams").begin_array();
    for (auto& t : copy.teams) w.str(t);
    w.end_array().end_object();
    users_->audit(now(), actor, "user.create", copy.id, w.take());
    return {};
}

HttpResponse App::handle(const HttpRequest& req) {
    auto t0 = Clock::now();
    std::string label;
    HttpResponse res;
    res = dispatch(req, label);
    double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    {
        std::lock_guard<std::mutex> lk(metrics_->mu);
        metrics_->requests[{label, req.method, res.status}] += 1;
        auto& l = metrics_->latency[label];
        l.first += secs;
        l.second += 1;
    }
    for (auto& h : res.headers) h.second = sanitize_header_value(h.second);
    return res;
}

namespace {
// The length of the well-formed UTF-8 character at p[0..n) (no overlong forms, no surrogates, at
// most U+10FFFF) and its code point; 0 when the bytes there are not one.
size_t utf8_char(const unsigned char* p, size_t n, uint32_t& cp) {
    const unsigned char c = p[0];
    if (c < 0x80) { cp = c; return 1; }
    size_t len;
    if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; }
    else return 0;
    if (len > n) return 0;
    for (size_t k = 1; k < len; ++k) {
        if ((p[k] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (p[k] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

bool valid_utf8(const std::string& s) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    uint32_t cp;
    for (size_t i = 0, n = s.size(), len; i < n; i += len)
        if ((len = utf8_char(p + i, n - i, cp)) == 0) return false;
    return true;
}
}  // namespace

HttpResponse App::dispatch(const HttpRequest& req, std::string& label) {
    static const Route routes[] = {
        {"GET", "/healthz", Access::Public, &App::h_health},
        {"GET", "/metrics", Access::Public, &App::h_metrics},
        {"POST", "/api/v1/auth/login", Access::Public, &App::h_login},
        {"POST", "/api/v1/auth/logout", Access::Auth, &App::h_logout},
        {"GET", "/api/v1/auth/me", Access::Auth, &App::h_me},
        {"GET", "/api/v1/settings", Access::Auth, &App::h_settings},
        {"POST", "/api/v1/sync/push", Access::Auth, &App::h_push},
        {"GET", "/api/v1/sync/pull", Access::Auth, &App::h_pull},
        {"GET", "/api/v1/cases", Access::Auth, &App::h_cases},
        {"GET", "/api/v1/cases/{id}", Access::Auth, &App::h_case},
        {"GET", "/api/v1/reports/summary", Access::Reports, &App::h_report},
        {"GET", "/api/v1/reports/log.csv", Access::Reports, &App::h_log_csv},
        {"POST", "/api/v1/attachments", Access::Auth, &App::h_attach_put},
        {"GET", "/api/v1/attachments/{sha}", Access::Auth, &App::h_attach_get},
        {"GET", "/api/v1/admin/users", Access::Admin, &App::h_users},
        {"POST", "/api/v1/admin/users", Access::Admin, &App::h_user_create},
        {"PUT", "/api/v1/admin/users/{id}", Access::Admin, &App::h_user_update},
        {"GET", "/api/v1/admin/teams", Access::Admin, &App::h_teams},
        {"POST", "/api/v1/admin/teams", Access::Admin, &App::h_team_create},
        {"GET", "/api/v1/admin/sla", Access::Admin, &App::h_sla_get},
        {"PUT", "/api/v1/admin/sla", Access::Admin, &App::h_sla_put},
        {"GET", "/api/v1/admin/retention", Access::Admin, &App::h_retention_get},
        {"PUT", "/api/v1/admin/retention", Access::Admin, &App::h_retention_put},
        {"POST", "/api/v1/admin/retention/run", Access::Admin, &App::h_retention_run},
        {"POST", "/api/v1/admin/cases/{id}/legal-hold", Access::Admin, &App::h_legal_hold},
        {"GET", "/api/v1/admin/subjects/export", Access::Admin, &App::h_subject_export},
        {"POST", "/api/v1/admin/subjects/erase", Access::Admin, &App::h_subject_erase},
        {"GET", "/api/v1/admin/audit", Access::Admin, &App::h_audit},
    };
    // Decoded paths and query parameters end up in JSON answers (error messages, report filters):
    // refuse anything that is not UTF-8 instead of echoing invalid bytes into a JSON document.
    bool utf8_ok = valid_utf8(req.path);
    for (auto& [k, v] : req.query) utf8_ok = utf8_ok && valid_utf8(k) && valid_utf8(v);
    if (!utf8_ok) {
        label = "invalid";
        return error_response(400, "bad_request", "the path and query parameters must be valid UTF-8");
    }
    Ctx ctx;
    const Route* found = nullptr;
    bool path_known = false;
    for (auto& r : routes) {
        if (!match_pattern(r.pattern, req.path, ctx.captures)) continue;
        path_known = true;
        if (req.method == r.method || (req.method == "HEAD" && std::string(r.method) == "GET")) {
            found = &r;
            break;
        }
    }
    if (!found) {
        bool api = req.path.rfind("/api/", 0) == 0 || req.path == "/api";
        label = api ? "api_unknown" : "static";
        if (path_known) return error_response(405, "method_not_allowed", "method not allowed on this route");
        if (api) return error_response(404, "not_found", "no such route");
        if (req.method != "GET" && req.method != "HEAD") return error_response(405, "method_not_allowed", "method not allowed");
        return serve_static(req);
    }
    label = found->pattern;
    if (found->access != Access::Public) {
        std::string auth = req.header("Authorization");
        const std::string prefix = "Bearer ";
        if (auth.size() <= prefix.size() || auth.compare(0, prefix.size(), prefix) != 0)
            return error_response(401, "unauthorized", "missing bearer token");
        ctx.token = auth.substr(prefix.size());
        std::optional<User> u;
        {
            std::lock_guard<std::recursive_mutex> lk(db_mutex());
            u = users_->user_for_token(ctx.token, now());
        }
        if (!u) return error_response(401, "unauthorized", "invalid or expired token");
        ctx.user = *u;
        ctx.caller = caller_of(*u);
        if (found->access == Access::Admin && !ctx.caller.is_admin())
            return error_response(403, "forbidden", "this route needs the admin role");
        if (found->access == Access::Reports && ctx.caller.role == "agent")
            return error_response(403, "forbidden", "reports need the analyst, manager or admin role");
    }
    return (this->*(found->handler))(req, ctx);
}

// ---- public -------------------------------------------------------------------------------------

HttpResponse App::h_health(const HttpRequest&, Ctx&) {
    bool ok;
    {
        std::lock_guard<std::recursive_mutex> lk(db_mutex());
        ok = sqlite3_exec(store_->db(), "SELECT 1", nullptr, nullptr, nullptr) == SQLITE_OK;
    }
    if (!ok) return error_response(503, "unavailable", "database not available");
    return json_response(200, R"({"status":"ok"})");
}

std::string App::metrics_text() {
    int64_t cases = 0, events = 0;
    {
        std::lock_guard<std::recursive_mutex> lk(db_mutex());
        cases = store_->case_count();
        events = store_->event_count();
    }
    std::ostringstream o;
    std::lock_guard<std::mutex> lk(metrics_->mu);
    o << "# HELP closeloop_http_requests_total HTTP requests by route, method and status.\n"
      << "# TYPE closeloop_http_requests_total counter\n";
    for (auto& [k, v] : metrics_->requests)
        o << "closeloop_http_requests_total{route=\"" << std::get<0>(k) << "\",method=\"" << std::get<1>(k)
          << "\",status=\"" << std::get<2>(k) << "\"} " << v << "\n";
    o << "# HELP closeloop_http_request_duration_seconds Request handling time.\n"
      << "# TYPE closeloop_http_request_duration_seconds summary\n";
    for (auto& [k, v] : metrics_->latency) {
        o << "closeloop_http_request_duration_seconds_sum{route=\"" << k << "\"} " << v.first << "\n";
        o << "closeloop_http_request_duration_seconds_count{route=\"" << k << "\"} " << v.second << "\n";
    }
    o << "# TYPE closeloop_sync_push_events_total counter\n"
      << "closeloop_sync_push_events_total{result=\"accepted\"} " << metrics_->push_accepted << "\n"
      << "closeloop_sync_push_events_total{result=\"duplicate\"} " << metrics_->push_duplicates << "\n"
      << "closeloop_sync_push_events_total{result=\"rejected\"} " << metrics_->push_rejected << "\n"
      << "# TYPE closeloop_sync_pull_events_total counter\n"
      << "closeloop_sync_pull_events_total " << metrics_->pull_events << "\n"
      << "# TYPE closeloop_sync_pull_tombstones_total counter\n"
      << "closeloop_sync_pull_tombstones_total " << metrics_->pull_tombstones << "\n"
      << "# TYPE closeloop_sync_push_seconds summary\n"
      << "closeloop_sync_push_seconds_sum " << metrics_->push_seconds << "\n"
      << "closeloop_sync_push_seconds_count " << metrics_->pushes << "\n"
      << "# TYPE closeloop_sync_pull_seconds summary\n"
      << "closeloop_sync_pull_seconds_sum " << metrics_->pull_seconds << "\n"
      << "closeloop_sync_pull_seconds_count " << metrics_->pulls << "\n"
      << "# TYPE closeloop_login_failures_total counter\n"
      << "closeloop_login_failures_total " << metrics_->login_failures << "\n"
      << "# TYPE closeloop_login_throttled_total counter\n"
      << "closeloop_login_throttled_total " << metrics_->login_throttled << "\n"
      << "# TYPE closeloop_retention_purged_total counter\n"
      << "closeloop_retention_purged_total " << metrics_->purged << "\n"
      << "# TYPE closeloop_cases gauge\ncloseloop_cases " << cases << "\n"
      << "# TYPE closeloop_events gauge\ncloseloop_events " << events << "\n";
    return o.str();
}

HttpResponse App::h_metrics(const HttpRequest&, Ctx&) {
    HttpResponse r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = metrics_text();
    return r;
}

// ---- auth ---------------------------------------------------------------------------------------

int64_t App::login_blocked_ms(const std::string& user, const std::string& addr) {
    std::lock_guard<std::mutex> lk(rl_mu_);
    int64_t t = now(), wait = 0;
    auto u = by_user_.find(user);
    if (u != by_user_.end() && u->second.until_ms > t) wait = std::max(wait, u->second.until_ms - t);
    auto a = by_addr_.find(addr);
    if (a != by_addr_.end() && a->second.until_ms > t) wait = std::max(wait, a->second.until_ms - t);
    return wait;
}

void App::login_failed(const std::string& user, const std::string& addr) {
    std::lock_guard<std::mutex> lk(rl_mu_);
    int64_t t = now();
    auto bump = [&](std::unordered_map<std::string, Backoff>& m, const std::string& key, int free) {
        if (m.size() > 100000) {  // bound memory: forget idle entries
            for (auto it = m.begin(); it != m.end();)
                it = (t - it->second.last_ms > 3600 * 1000) ? m.erase(it) : std::next(it);
        }
        Backoff& b = m[key];
        if (b.last_ms && t - b.last_ms > 3600 * 1000) b = Backoff{};  // an hour of quiet forgives
        b.failures += 1;
        b.last_ms = t;
        if (b.failures > free) {
            int shift = std::min(b.failures - free - 1, 20);
            int64_t delay_s = std::min<int64_t>(int64_t(1) << shift, opts_.max_backoff_s);
            b.until_ms = t + delay_s * 1000;
        }
    };
    bump(by_user_, user, opts_.free_failures_per_user);
    bump(by_addr_, addr, opts_.free_failures_per_addr);
}

void App::login_succeeded(const std::string& user) {
    std::lock_guard<std::mutex> lk(rl_mu_);
    by_user_.erase(user);
}

HttpResponse App::h_login(const HttpRequest& req, Ctx&) {
    auto doc = parse_object(req.body, {"username", "password"});
    if (!doc) return from_error(doc.error());
    std::string name, password;
    if (!json::get(doc->root(), "username", name) || !json::get(doc->root(), "password", password))
        return bad_request("username and password must be strings");
    if (name.size() > 64 || password.size() > 1024) return error_response(401, "bad_credentials", "wrong user name or password");
    int64_t wait = login_blocked_ms(name, req.remote_addr);
    if (wait > 0) {
        {
            std::lock_guard<std::mutex> lk(metrics_->mu);
            metrics_->login_throttled += 1;
        }
        HttpResponse r = error_response(429, "rate_limited", "too many failed logins; try again later");
        r.headers.emplace_back("Retry-After", std::to_string((wait + 999) / 1000));
        return r;
    }
    std::optional<std::pair<User, std::string>> cred;
    {
        std::lock_guard<std::recursive_mutex> lk(db_mutex());
        if (valid_name(name)) cred = users_->credentials(name);
    }
    static const std::string dummy = hash_password("closeloop-dummy-password");
    bool ok = cred ? verify_password(cred->second, password) : (verify_password(dummy, password), false);
    if (!ok || cred->first.disabled) {
        login_failed(name, req.remote_addr);
        {
            std::lock_guard<std::mutex> lk(metrics_->mu);
            metrics_->login_failures += 1;
        }
        std::lock_guard<std::recursive_mutex> lk(db_mutex());
        // no password, and the name only when it is a real account (so typos of passwords are not stored)
        users_->audit(now(), cred ? name : "-", "auth.login_failed", cred ? name : "-", "{}");
        return error_response(401, "bad_credentials", "wrong user name or password");
    }
    login_succeeded(name);
    std::string token;
    {
        std::lock_guard<std::recursive_mutex> lk(db_mutex());
        token = users_->issue_token(name, now(), opts_.token_ttl_ms);
        users_->audit(now(), name, "auth.login", name, "{}");
    }
    if (token.empty()) return error_response(500, "internal", "could not issue a token");
    json::Writer w;
    w.begin_object().kv("token", token).kv("expires_at", now() + opts_.token_ttl_ms).key("user");
    write_user(w, cred->first);
    w.end_object();
    return json_response(200, w.take());
}

HttpResponse App::h_logout(const HttpRequest&, Ctx& ctx) {
    std::lock_guard<std::recursive_mutex> lk(db_mutex());
    users_->revoke_token(ctx.token);
    users_->audit(now(), ctx.user.id, "auth.logout", ctx.user.id, "{}");
    return json_response(200, R"({"ok":true})");
}

HttpResponse App::h_me(const HttpRequest&, Ctx& ctx) {
    json::Writer w;
    w.begin_object().key("user");
    write_user(w, ctx.user);
    w.end_object();
    return json_response(200, w.take());
}

HttpResponse App::h_settings(const HttpRequest&, Ctx&) {
    std::lock_guard<std::recursive_mutex> lk(db_mutex());
    json::Writer w;
    w.begin_object()
        .kv("protocol", int64_t(kProtocolVersion))
        .kv("max_events_per_push", int64_t(kMaxEventsPerPush))
        .kv("max_attachment_bytes", int64_t(opts_.max_attachment))
        .key("sla").raw(policy_to_json(store_->sla_policy()))
        .key("calendar").raw(calendar_to_json(store_->calendar()))
        .key("retention").raw(retention_to_json(retention_policy()))
        .end_object();
    return json_response(200, w.take());
}

// ---- sync ---------------------------------------------------------------------------------------

HttpResponse App::h_push(const HttpRequest& req, Ctx& ctx) {
    if (req.body.size() > opts_.max_body) return error_response(413, "too_large", "request body too large");
    // One parse: the body is read straight into events (the event count is checked there too).
    auto parsed = push_request_from_json(req.body);
    if (!parsed) {
        const Error& e = parsed.error();
        return error_response(e.code == "too_many_events" ? 413 : 400, e.code.empty() ? "bad_request" : e.code, e.message);
    }
    auto t0 = Clock::now();
    PushResponse resp;
    {
        std::lock_guard<std::recursive_mutex> lk(db_mutex());
        resp = sync_->push(ctx.caller, parsed->request);
    }
    last_activity_ms_.store(cl::wall_now_ms());
    for (auto& m : parsed->malformed) resp.rejected.push_back(m);
    double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    {
        std::lock_guard<std::mutex> lk(metrics_->mu);
        metrics_->pushes += 1;
        metrics_->push_seconds += secs;
        metrics_->push_accepted += resp.accepted;
        metrics_->push_duplicates += resp.duplicates;
        metrics_->push_rejected += static_cast<int64_t>(resp.rejected.size());
    }
    return json_response(200, push_response_to_json(resp));
}

HttpResponse App::h_pull(const HttpRequest& req, Ctx& ctx) {
    int64_t after = 0, limit = 1000;
    if (req.has_param("after") && (!parse_int(req.param("after"), after) || after < 0))
        return bad_request("'after' must be a non-negative integer");
    if (req.has_param("limit") && (!parse_int(req.param("limit"), limit) || limit < 1 || limit > kMaxPullLimit))
        return bad_request("'limit' must be an integer in [1, " + std::to_string(kMaxPullLimit) + "]");
    auto t0 = Clock::now();
    PullResponse resp;
    {
        std::lock_guard<std::recursive_mutex> lk(db_mutex());
        resp = sync_->pull(ctx.caller, after, static_cast<int>(limit));
    }
    double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    {
        std::lock_guard<std::mutex> lk(metrics_->mu);
        metrics_->pulls += 1;
        metrics_->pull_seconds += secs;
        metrics_->pull_events += static_cast<int64_t>(resp.events.size());
        metrics_->pull_tombstones += static_cast<int64_t>(resp.tombstones.size());
    }
    last_activity_ms_.store(cl::wall_now_ms());
    return json_response(200, pull_response_to_json(resp));
}

// ---- cases and reports --------------------------------------------------------------------------

HttpResponse App::h_cases(const HttpRequest& req, Ctx& ctx) {
    CaseQuery q;
    q.status = req.param("status");
    q.kind = req.param("kind");
    q.team = req.param("team");
    q.assignee = req.param("assignee");
    q.category = req.param("category");
    q.text = req.param("q");
    q.overdue_only = truthy(req.param("overdue"));
    q.escalation_only = truthy(req.param("escalation"));
    if (req.has_param("sort")) {
        static const std::set<std::string> sorts = {"due", "updated", "created", "reference", "status", "priority", "client"};
        q.sort = req.param("sort");
        if (!sorts.count(q.sort)) return bad_request("unknown sort '" + q.sort + "'");
    }
    q.descending = truthy(req.param("desc"));
    int64_t limit = 100, offset = 0;
    if (req.has_param("limit") && (!parse_int(req.param("limit"), limit) || limit < 1 || limit > 1000))
        return bad_request("'limit' must be an integer in [1, 1000]");
    // Bounded so that it fits the query's int (4294967296 wrapped to 0: the first page, labelled
    // with the offset asked for).
    if (req.has_param("offset") && (!parse_int(req.param("offset"), offset) || offset < 0 || offset > 1000000000))
        return bad_request("'offset' must be an integer from 0 to 1000000000");
    q.limit = static_cast<int>(limit);
    q.offset = static_cast<int>(offset);
    if (q.text.size() > 200) return bad_request("'q' is too long");
    if (!q.team.empty() && !ctx.caller.can_read_team(q.team))
        return error_response(403, "forbidden", "you cannot read this team's cases");
    if (!ctx.caller.reads_all()) {
        q.teams = ctx.caller.teams;
        if (q.teams.empty()) return json_response(200, R"({"cases":[],"total":0})");
    }
    q.now = now();
    std::lock_guard<std::recursive_mutex> lk(db_mutex());
    auto rows = store_->query_cases(q);
    if (!rows) return from_error(rows.error());
    int64_t total = store_->count_cases(q);
    json::Writer w;
    w.begin_object().key("cases").begin_array();
    for (auto& r : *rows) write_row(w, r, q.now);
    w.end_array().kv("total", total).kv("limit", limit).kv("offset", offset).end_object();
    return json_response(200, w.take());
}

HttpResponse App::h_case(const HttpRequest&, Ctx& ctx) {
    std::lock_guard<std::recursive_mutex> lk(db_mutex());
    auto c = store_->load_case(ctx.captures[0]);
    if (!c) return error_response(404, "not_found", "no such case");
    if (!ctx.caller.can_read_team(c->team)) return error_response(403, "forbidden", "you cannot read this team's cases");
    auto events = store_->case_events(c->id);
    if (!events) return from_error(events.error());
    SlaReport sla = evaluate_sla(*c, store_->sla_policy(), store_->calendar(), now());
    json::Writer w;
    w.begin_object().key("case").raw(case_to_json(*c)).key("sla");
    write_sla(w, sla);
    w.key("events").begin_array();
    for (auto& e : *events) write_event(w, e);
    w.end_array().end_object();
    return json_response(200, w.take());
}

HttpResponse App::h_report(const HttpRequest& req, Ctx& ctx) {
    std::string format = req.param("format", "json");
    if (format != "json" && format != "csv") return bad_request("'format' must be json or csv");
    std::string team = req.param("team");
    if (!team.empty() && !ctx.caller.can_read_team(team))
        return error_response(403, "forbidden", "you cannot read this team's reports");
    std::lock_guard<std::recursive_mutex> lk(db_mutex());
    int64_t t = now();
    ReportQuery q;
    if (req.has_param("from") || req.has_param("to")) {
        if (!parse_time(req.param("from"), q.from) || !parse_time(req.param("to"), q.to) || q.to <= q.from)
            return bad_request("'from' and 'to' must be dates (YYYY-MM-DD) or milliseconds, from < to");
    } else {
        std::string period = req.param("period", "month");
        if (period != "week" && period != "month" && period != "quarter")
            return bad_request("'period' must be week, month or quarter");
        q = PeriodFromName::make(period, t, store_->calendar());
    }
    q.team = team;
    q.category = req.param("category");
    q.channel = req.param("channel");
    std::vector<std::string> teams;
    if (!ctx.caller.reads_all()) teams = ctx.caller.teams.empty() ? std::vector<std::string>{"\x01none"} : ctx.caller.teams;
    auto cases = store_->all_cases(teams, report_reads_since(q));
    if (!cases) return from_error(cases.error());
    Report rep = build_report(*cases, q, store_->sla_policy(), store_->calendar(), t);
    if (format == "csv") {
        HttpResponse r;
        r.content_type = "text/csv; charset=utf-8";
        r.body = report_to_csv(rep);
        r.headers.emplace_back("Content-Disposition", "attachment; filename=\"closeloop-report.csv\"");
        return r;
    }
    return json_response(200, report_to_json(rep));
}

HttpResponse App::h_log_csv(const HttpRequest& req, Ctx& ctx) {
    std::string team = req.param("team");
    if (!team.empty() && !ctx.caller.can_read_team(team))
        return error_response(403, "forbidden", "you cannot read this team's cases");
    std::vector<std::string> teams;
    if (!team.empty()) teams = {team};
    else if (!ctx.caller.reads_all()) teams = ctx.caller.teams.empty() ? std::vector<std::string>{"\x01none"} : ctx.caller.teams;
    std::lock_guard<std::recursive_mutex> lk(db_mutex());
    auto cases = store_->all_cases(teams);
    if (!cases) return from_error(cases.error());
    HttpResponse r;
    r.content_type = "text/csv; charset=utf-8";
    r.body = documentation_log_csv(*cases);
    r.headers.emplace_back("Content-Disposition", "attachment; filename=\"closeloop-log.csv\"");
    return r;
}

// ---- attachments --------------------------------------------------------------------------------

namespace {
bool is_sha_hex(const std::string& s) {
    return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}
// X-Filename is whatever the browser sent (Latin-1, a name cut inside a character, ...): the name
// goes into a JSON answer and a header, so it is made valid UTF-8 (each bad byte becomes U+FFFD),
// without controls, quotes or slashes, and cut to 200 bytes between characters.
std::string clean_filename(const std::string& raw) {
    static const std::string kReplacement = "\xEF\xBF\xBD";
    const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
    std::string out;
    for (size_t i = 0, n = raw.size(); i < n;) {
        uint32_t cp = 0;
        const size_t len = utf8_char(p + i, n - i, cp);
        if (len == 0) cp = 0xFFFD;
        std::string_view ch = len ? std::string_view(raw).substr(i, len) : std::string_view(kReplacement);
        i += len ? len : 1;
        if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == '"' || cp == '\\' || cp == '/') continue;
        if (out.size() + ch.size() > 200) break;
        out.append(ch);
    }
    return out.empty() ? "attachment" : out;
}
std::string clean_mime(const std::string& raw) {
    std::string t = lower(raw.substr(0, raw.find(';')));
    while (!t.empty() && t.back() == ' ') t.pop_back();
    size_t slash = t.find('/');
    bool ok = !t.empty() && t.size() <= 100 && slash != std::string::npos && slash > 0 && slash + 1 < t.size() &&
              std::all_of(t.begin(), t.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '.' || c == '+' || c == '-'; });
    return ok ? t : "application/octet-stream";
}

// Writes `data` to `path` and makes it durable before returning: the upload's 201 is a promise
// like a push's acknowledgement (the database is synchronous=FULL; the file must be too).
bool write_file_durably(const fs::path& path, const std::string& data) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return false;
    size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        done += static_cast<size_t>(n);
    }
    const bool ok = done == data.size() && ::fsync(fd) == 0;
    return ::close(fd) == 0 && ok;
}

// After a rename: the directory entry itself reaches the disk.
void sync_directory(const fs::path& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    (void)::fsync(fd);
    ::close(fd);
}

}  // namespace

HttpResponse App::h_attach_put(const HttpRequest& req, Ctx& ctx) {
    if (ctx.caller.role == "analyst") return error_response(403, "forbidden", "analysts cannot upload attachments");
    if (req.body.size() > opts_.max_attachment)
        return error_response(413, "too_large", "attachment exceeds " + std::to_string(opts_.max_attachment) + " bytes");
    if (req.body.empty()) return bad_request("empty attachment");
    std::string sha = sha256_hex(req.body);
    fs::path dir = attachments_dir();
    fs::path final_path = dir / sha;
    std::error_code ec;
    if (!fs::exists(final_path, ec)) {
        fs::path tmp = dir / (sha + ".tmp-" + random_hex(6));
        if (!write_file_durably(tmp, req.body)) {
            fs::remove(tmp, ec);
            return error_response(500, "io", "could not store the attachment");
        }
        fs::rename(tmp, final_path, ec);
        if (ec) {
            fs::remove(tmp, ec);
            return error_response(500, "io", "could not store the attachment");
        }
        sync_directory(dir);
    }
    AttachmentMeta m;
    m.sha256 = sha;
    m.name = clean_filename(req.header("X-Filename"));
    m.type = clean_mime(req.header("Content-Type"));
    m.size = static_cast<int64_t>(req.body.size());
    m.uploaded_by = ctx.user.id;
    m.teams = ctx.user.teams;
    m.at = now();
    Expected<AttachmentMeta> stored = m;
    {
        std::lock_guard<std::recursive_mutex> lk(db_mutex());
        stored = users_->put_attachment(m);
    }
    if (!stored) return from_error(stored.error());
    json::Writer w;
    w.begin_object().kv("sha256", sha).kv("size", stored->size).kv("name", stored->name).kv("type", stored->type).end_object();
    return json_response(201, w.take());
}

HttpResponse App::h_attach_get(const HttpRequest&, Ctx& ctx) {
    const std::string& sha = ctx.captures[0];
    if (!is_sha_hex(sha)) return bad_request("attachment id must be 64 lowercase hex digits");
    std::vector<AttachmentMeta> uploads;
    {
        std::lock_guard<std::recursive_mutex> lk(db_mutex());
        uploads = users_->attachment_uploads(sha);
    }
    if (uploads.empty()) return error_response(404, "not_found", "no such attachment");
    // Simplified permission: readers of all teams, an uploader, or a member of a team an uploader
    // belonged to at upload time (see docs/protocol.md). The name and type shown are the reader's
    // own upload's, else the oldest upload of one of the reader's teams (never another team's
    // name: it may itself be personal data), else, for readers of all teams, the oldest.
    const AttachmentMeta* m = nullptr;
    for (auto& u : uploads)
        if (u.uploaded_by == ctx.user.id) m = &u;
    for (auto& u : uploads)
        for (auto& t : u.teams)
            if (!m && ctx.caller.in_team(t)) m = &u;
    if (!m && ctx.caller.reads_all()) m = &uploads.front();
    if (!m) return error_response(403, "forbidden", "you cannot read this attachment");
    HttpResponse r;
    if (!read_file(fs::path(attachments_dir()) / sha, r.body)) return error_response(404, "not_found", "attachment data missing");
    static const std::set<std::string> inline_types = {"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain"};
    r.content_type = inline_types.count(m->type) ? m->type : "application/octet-stream";
    r.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + clean_filename(m->name) + "\"");
    r.headers.emplace_back("Cache-Control", "private, max-age=31536000, immutable");
    return r;
}

// ---- admin: users and teams ---------------------------------------------------------------------

HttpResponse App::h_users(const HttpRequest&, Ctx&) {
    std::lock_guard<std::recursive_mutex> lk(db_mutex());
    json::Writer w;
    w.begin_object().key("users").begin_array();
    for (auto& u : users_->list()) write_user(w, u);
    w.end_array().end_object();
    return json_response(200, w.take());
}

HttpResponse App::h_user_create(const HttpRequest& req, Ctx& ctx) {
    auto doc = parse_object(req.body, {"name", "role", "teams", "password"});
    if (!doc) return from_error(doc.error());
    User u;
    std::string password;
    if (!json::get(doc->root(), "name", u.id)) return bad_request("'name' must be a string");
    if (!json::get(doc->root(), "role", u.role)) return bad_request("'role' must be a string");
    if (!json::get(doc->root(), "password", password)) return bad_request("'password' must be a string");
    if (json::has(doc->root(), "teams") && !read_string_array(json::member(doc->root(), "teams"), u.teams))
        return bad_request("'teams' must be an array of strings");
    Status s = add_user(u, password, ctx.user.id);
    if (!s) return from_error(s.error());
    std::lock_guard<std::recursive_mutex> lk(db_mutex());
    json::Writer w;
    w.begin_object().key("user");
    write_user(w, *users_->find(u.id));
    w.end_object();
    return json_response(201, w.take());
}

HttpResponse App::h_user_update(const HttpRequest& req, Ctx& ctx) {
    auto doc = parse_object(req.body, {"role", "teams", "disabled", "password"});
    if (!doc) return from_error(doc.error());
    const std::string& id = ctx.captures[0];
    std::optional<std::string> role;
    std::optional<std::vector<std::string>> teams;
    std::optional<bool> disabled;
    std::optional<std::string> password;
    const json::Value& root = doc->root();
    if (json::has(root, "role")) {
        std::string r;
        if (!json::get(root, "role", r)) return bad_request("'role' must be a string");
        role = r;
    }
    if (json::has(root, "teams")) {
        std::vector<std::string> t;
        if (!read_string_array(json::member(root, "teams"), t)) return bad_request("'teams' must be an array of strings");
        teams = t;
    }
    if (json::has(root, "disabled")) {
        bool d;
        if (!json::get(root, "disabled", d)) return bad_request("'disabled' must be true or false");
        disabled = d;
    }
    if (json::has(root, "password")) {
        std::string p;
        if (!json::get(root, "password", p)) return bad_request("'password' must be a string");
        password = p;
    }
    if (id == ctx.user.id && ((disabled && *disabled) || (role && *role != "admin")))
        return error_response(409, "conflict", "admins cannot disable or demote themselves");
    std::lock_guard<std::recursive_mutex> lk(db_mutex());
    if (!users_->find(id)) return error_response(404, "not_found", "no such user");
    // All fields or none: a bad password must not leave the new role (and its admin routes) behind.
    Status s = users_->update(id, UserUpdate{role, teams, disabled, password});
    if (!s) return from_error(s.error());
    json::Writer detail;
    detail.begin_object();
    if (role) detail.kv("role", *role);
    if (teams) {
        detail.key("teams").begin_array();
        for (auto& t : *teams) detail.str(t);
        detail.end_array();
    }
    if (disabled) detail.kv("disabled", *disabled);
    if (password) detail.kv("password_reset", true);
    detail.end_object();
    users_->audit(now(), ctx.user.id, "user.update", id, detail.take());
    json::Writer w;
    w.begin_object().key("user");
    write_user(w, *users_->find(id));
    w.end_object();
    return json_response(200, w.take());
}

HttpResponse App::h_teams(const HttpRequest&, Ctx&) {
    std::lock_guard<std::recursive_mutex> lk(db_mutex());
    auto teams = users_->teams();
    auto users = users_->list();
    json::Writer w;
    w.begin_object().key("teams").begin_array();
    for (auto& t : teams) {
        w.begin_object().kv("name", t).key("members").begin_array();
        for (auto& u : users)
            if (std::find(u.teams.begin(), u.teams.end(), t) != u.teams.end()) w.str(u.id);
        w.end_array().end_object();
    }
    w.end_array().end_object();
    return json_response(200, w.take());
}

HttpResponse App::h_team_create(const HttpRequest& req, Ctx& ctx) {
    auto doc = parse_object(req.body, {"name"});
    if (!doc) return from_error(doc.error());
    std::string name;
    if (!json::get(doc->root(), "name", name)) return bad_request("'name' must be a string");
    std::lock_guard<std::recursive_mutex> lk(db_mutex());
    Status s = users_->add_team(name);
    if (!s) return from_error(s.error());
    users_->audit(now(), ctx.user.id, "team.create", name, "{}");
    json::Writer w;
    w.begin_object().kv("name", name).end_object();
    return json_response(201, w.take());
}

// ---- admin: SLA and retention -------------------------------------------------------------------

HttpResponse App::h_sla_get(const HttpRequest&, Ctx&) {
    std::lock_guard<std::recursive_mutex> lk(db_mutex());
    json::Writer w;
    w.begin_object().key("policy").raw(policy_to_json(store_->sla_policy()))
        .key("calendar").raw(calendar_to_json(store_->calendar())).end_object();
    return json_response(200, w.take());
}

HttpResponse App::h_sla_put(const HttpRequest& req, Ctx& ctx) {
    auto doc = parse_object(req.body, {"policy", "calendar"});
    if (!doc) return from_error(doc.error());
    std::lock_guard<std::recursive_mutex> lk(db_mutex());
    SlaPolicy policy = store_->sla_policy();
    BusinessCalendar cal = store_->calendar();
    if (const json::Value* p = json::member(doc->root(), "policy")) {
        if (!p->IsObject()) return bad_request("'policy' must be an object");
        auto parsed = policy_from_json(json::to_string(*p));
        if (!parsed) return bad_request(parsed.error().message, parsed.error().code);
        Status v = parsed->validate();
        if (!v) return bad_request(v.error().message, v.error().code);
        policy = *parsed;
    }
    if (const json::Value* c = json::member(doc->root(), "calendar")) {
        if (!c->IsObject()) return bad_request("'calendar' must be an object");
        auto parsed = calendar_from_json(json::to_string(*c));
        if (!parsed) return bad_request(parsed.error().message, parsed.error().code);
        Status v = parsed->validate();
        if (!v) return bad_request(v.error().message, v.error().code);
        cal = *parsed;
    }
    std::string pj = policy_to_json(policy), cj = calendar_to_json(cal);
    Status s = store_->transact([&]() -> Status {
        Status a = store_->set_meta("sla_policy", pj);
        if (!a) return a;
        return store_->set_meta("sla_calendar", cj);
    });
    if (!s) return from_error(s.error());
    store_->set_sla(policy, cal);
    Status r = store_->refresh_sla(now());
    if (!r) return from_error(r.error());
    users_->audit(now(), ctx.user.id, "sla.update", "sla", "{}");
    json::Writer w;
    w.begin_object().key("policy").raw(pj).key("calendar").raw(cj).end_object();
    return json_response(200, w.take());
}

namespace {
// A policy stored before "anonymise" was refused may say so; anonymisation was never carried out
// (cases were purged whole), so it reads as the purge that happens. The same JSON with
// "action":"purge", or nothing when the text says something else.
std::optional<std::string> anonymise_as_purge(const std::string& stored) {
    auto doc = json::parse(stored, 1u << 20);
    std::string action;
    if (!doc || !doc->root().IsObject() || !json::get(doc->root(), "action", action) || action != "anonymise")
        return std::nullopt;
    json::Writer w;
    w.begin_object();
    for (auto it = doc->root().MemberBegin(); it != doc->root().MemberEnd(); ++it) {
        std::string_view name(it->name.GetString(), it->name.GetStringLength());
        w.key(name);
        if (name == "action") w.str("purge");
        else w.raw(json::to_string(it->value));
    }
    w.end_object();
    return w.take();
}
}  // namespace

RetentionPolicy App::retention_policy() {
    if (auto p = store_->meta("retention_policy")) {
        auto parsed = retention_from_json(*p);
        if (parsed) return *parsed;
        if (auto legacy = anonymise_as_purge(*p))
            if (auto purge = retention_from_json(*legacy)) return *purge;
    }
    return RetentionPolicy{};
}

HttpResponse App::h_retention_get(const HttpRequest&, Ctx&) {
    std::lock_guard<std::recursive_mutex> lk(db_mutex());
    return json_response(200, retention_to_json(retention_policy()));
}

HttpResponse App::h_retention_put(const HttpRequest& req, Ctx& ctx) {
    auto doc = json::parse(req.body, 1u << 20);
    if (!doc) return error_response(400, "bad_json", doc.error().message);
    if (!doc->root().IsObject()) return bad_request("the body must be a JSON object");
    auto parsed = retention_from_json(req.body);
    if (!parsed) return bad_request(parsed.error().message, parsed.error().code);
    Status v = parsed->validate();
    if (!v) return bad_request(v.error().message, v.error().code);
    std::string j = retention_to_json(*parsed);
    std::lock_guard<std::recursive_mutex> lk(db_mutex());
    Status s = store_->set_meta("retention_policy", j);
    if (!s) return from_error(s.error());
    users_->audit(now(), ctx.user.id, "retention.policy", "retention", j);
    return json_response(200, j);
}

void App::gc_attachments(const std::vector<std::string>& candidates) {
    if (candidates.empty()) return;
    auto still = store_->attachment_shas();  // files are stored by content: another case may hold one
    if (!still) return;                      // keep files when unsure
    for (auto& sha : candidates) {
        if (still->count(sha) || !is_sha_hex(sha)) continue;
        std::error_code ec;
        fs::remove(fs::path(attachments_dir()) / sha, ec);
        users_->delete_attachment(sha);
    }
}

RetentionOutcome App::run_retention(bool dry_run, const std::string& actor) {
    std::lock_guard<std::recursive_mutex> lk(db_mutex());
    RetentionPolicy policy = retention_policy();
    RetentionOutcome out = sync_->run_retention(policy, dry_run);
    int64_t t = now();
    if (!dry_run) {
        std::vector<std::string> shas;
        for (auto& i : out.purged) shas.insert(shas.end(), i.attachments.begin(), i.attachments.end());
        gc_attachments(shas);
        for (auto& i : out.purged) {
            json::Writer w;
            w.begin_object().kv("reference", i.reference).kv("kind", i.kind).kv("team", i.team)
                .kv("closed_at", i.closed_at).kv("reason", "retention").end_object();
            users_->audit(t, actor, "case.purge", i.case_id, w.take());
        }
        std::lock_guard<std::mutex> mk(metrics_->mu);
        metrics_->purged += static_cast<int64_t>(out.purged.size());
    }
    json::Writer w;
    w.begin_object().kv("dry_run", dry_run).kv("purged", int64_t(out.purged.size()))
        .kv("held", int64_t(out.held.size())).end_object();
    users_->audit(t, actor, "retention.run", dry_run ? "dry-run" : "run", w.take());
    return out;
}

HttpResponse App::h_retention_run(const HttpRequest& req, Ctx& ctx) {
    bool dry = truthy(req.param("dry_run"));
    RetentionOutcome out = run_retention(dry, ctx.user.id);
    json::Writer w;
    w.begin_object().kv("dry_run", out.dry_run || dry).key("purged");
    write_items(w, out.purged);
    w.key("held");
    write_items(w, out.held);
    w.end_object();
    return json_response(200, w.take());
}

HttpResponse App::h_legal_hold(const HttpRequest& req, Ctx& ctx) {
    auto doc = parse_object(req.body, {"hold", "reason"});
    if (!doc) return from_error(doc.error());
    bool hold;
    std::string reason;
    if (!json::get(doc->root(), "hold", hold)) return bad_request("'hold' must be true or false");
    if (json::has(doc->root(), "reason") && !json::get(doc->root(), "reason", reason))
        return bad_request("'reason' must be a string");
    if (reason.size() > 2000) return bad_request("'reason' is too long");
    std::lock_guard<std::recursive_mutex> lk(db_mutex());
    auto c = store_->load_case(ctx.captures[0]);
    if (!c) return error_response(404, "not_found", "no such case");
    json::Writer body;
    body.begin_object().kv("hold", hold);
    if (!reason.empty()) body.kv("reason", reason);
    body.end_object();
    auto e = sync_->write_server_event(c->id, ev::kLegalHold, body.take(), ctx.user.id);
    if (!e) return from_error(e.error());
    json::Writer d;
    d.begin_object().kv("hold", hold).kv("reference", c->reference).end_object();
    users_->audit(now(), ctx.user.id, "case.legal_hold", c->id, d.take());
    auto after = store_->load_case(c->id);
    json::Writer w;
    w.begin_object().key("case").raw(after ? case_to_json(*after) : "{}").end_object();
    return json_response(200, w.take());
}

// ---- admin: GDPR --------------------------------------------------------------------------------

HttpResponse App::h_subject_export(const HttpRequest& req, Ctx& ctx) {
    std::string client = req.param("client");
    if (client.empty() || client.size() > 500) return bad_request("'client' (the client's name) is required");
    std::lock_guard<std::recursive_mutex> lk(db_mutex());
    auto cases = store_->cases_of_client(client);  // the subject: client name, ASCII case ignored
    if (!cases) return from_error(cases.error());
    std::string key = lower(client);
    json::Writer w;
    w.begin_object().kv("client", client).kv("exported_at", now()).key("cases").begin_array();
    int64_t n = 0;
    for (auto& c : *cases) {
        ++n;
        auto events = store_->case_events(c.id);
        w.begin_object().key("case").raw(case_to_json(c)).key("events").begin_array();
        if (events)
            for (auto& e : *events) write_event(w, e);
        w.end_array().end_object();
    }
    w.end_array().end_object();
    json::Writer d;
    d.begin_object().kv("cases", n).kv("subject_sha256", sha256_hex(key)).end_object();
    users_->audit(now(), ctx.user.id, "subject.export", "subject", d.take());
    return json_response(200, w.take());
}

HttpResponse App::h_subject_erase(const HttpRequest& req, Ctx& ctx) {
    auto doc = parse_object(req.body, {"client"});
    if (!doc) return from_error(doc.error());
    std::string client;
    if (!json::get(doc->root(), "client", client) || client.empty() || client.size() > 500)
        return bad_request("'client' must be a non-empty string");
    std::lock_guard<std::recursive_mutex> lk(db_mutex());
    auto cases = store_->cases_of_client(client);  // the subject: client name, ASCII case ignored
    if (!cases) return from_error(cases.error());
    std::string key = lower(client);
    int64_t t = now();
    std::vector<std::string> shas;
    std::vector<RetentionOutcome::Item> erased, held;
    for (auto& c : *cases) {
        RetentionOutcome::Item item{c.id, c.reference, c.kind, c.team, closure_time(c), {}};  // as its tombstone
        if (c.legal_hold) {
            held.push_back(item);
            continue;
        }
        for (auto& a : c.attachments) shas.push_back(a.sha256);
        Status s = store_->purge_case(c.id, make_tombstone(c, t, "erasure"));
        if (!s) return from_error(s.error());
        erased.push_back(item);
        json::Writer d;
        d.begin_object().kv("reference", c.reference).kv("kind", c.kind).kv("team", c.team).kv("reason", "erasure").end_object();
        users_->audit(t, ctx.user.id, "case.purge", c.id, d.take());
    }
    gc_attachments(shas);
    json::Writer d;
    d.begin_object().kv("erased", int64_t(erased.size())).kv("held", int64_t(held.size()))
        .kv("subject_sha256", sha256_hex(key)).end_object();
    users_->audit(t, ctx.user.id, "subject.erase", "subject", d.take());
    json::Writer w;
    w.begin_object().key("erased");
    write_items(w, erased);
    w.key("held");
    write_items(w, held);
    w.end_object();
    return json_response(200, w.take());
}

HttpResponse App::h_audit(const HttpRequest& req, Ctx&) {
    int64_t after = 0, limit = 200;
    if (req.has_param("after") && (!parse_int(req.param("after"), after) || after < 0))
        return bad_request("'after' must be a non-negative integer");
    if (req.has_param("limit") && (!parse_int(req.param("limit"), limit) || limit < 1 || limit > 1000))
        return bad_request("'limit' must be an integer in [1, 1000]");
    std::lock_guard<std::recursive_mutex> lk(db_mutex());
    auto entries = users_->audit_entries(after, static_cast<int>(limit), req.param("action"));
    json::Writer w;
    w.begin_object().key("entries").begin_array();
    for (auto& e : entries)
        w.begin_object().kv("id", e.id).kv("at", e.at).kv("actor", e.actor).kv("action", e.action)
            .kv("target", e.target).key("detail").raw(e.detail.empty() ? "{}" : e.detail).end_object();
    w.end_array().end_object();
    return json_response(200, w.take());
}

// ---- static files -------------------------------------------------------------------------------

HttpResponse App::serve_static(const HttpRequest& req) {
    auto not_found = [] {
        HttpResponse r;
        r.status = 404;
        r.content_type = "text/html; charset=utf-8";
        r.body = kNotFoundPage;
        return r;
    };
    if (opts_.static_dir.empty()) return not_found();
    std::error_code ec;
    fs::path root = fs::canonical(opts_.static_dir, ec);
    if (ec || !fs::is_directory(root, ec)) return not_found();
    const std::string& p = req.path;
    if (p.empty() || p[0] != '/' || p.size() > 1024) return not_found();
    // Refuse anything that could leave the root: "..", backslashes, NUL, control characters.
    std::string rel = p.substr(1);
    for (char c : rel)
        if (c == '\\' || c == '\0' || static_cast<unsigned char>(c) < 0x20) return not_found();
    std::string_view segs(rel);
    while (!segs.empty()) {
        size_t e = segs.find('/');
        std::string_view s = segs.substr(0, e);
        if (s == ".." || s == ".") return not_found();
        if (e == std::string_view::npos) break;
        segs.remove_prefix(e + 1);
    }
    fs::path target = root / rel;
    if (rel.empty() || fs::is_directory(target, ec)) target /= "index.html";
    fs::path canon = fs::weakly_canonical(target, ec);
    if (ec) return not_found();
    auto rs = root.native(), cs = canon.native();
    if (cs.size() <= rs.size() || cs.compare(0, rs.size(), rs) != 0 || cs[rs.size()] != '/') return not_found();
    if (!fs::is_regular_file(canon, ec)) return not_found();
    HttpResponse r;
    if (!read_file(canon, r.body)) return not_found();
    r.content_type = mime_for(canon.extension().string());
    std::string name = canon.filename().string();
    if (name == "index.html" || name == "sw.js" || name == "service-worker.js")
        r.headers.emplace_back("Cache-Control", "no-cache");
    return r;
}

// ---- sweeper and backup -------------------------------------------------------------------------

void App::start_sweeper() {
    if (sweeper_.joinable()) return;
    {
        std::lock_guard<std::mutex> lk(sweep_mu_);
        sweep_stop_ = false;
    }
    sweeper_ = std::thread([this] {
        std::unique_lock<std::mutex> lk(sweep_mu_);
        auto next_sweep = std::chrono::steady_clock::now() + std::chrono::seconds(std::max<int64_t>(opts_.sweep_interval_s, 1));
        while (!sweep_stop_) {
            // Wakes every second: case rows written behind the pushes are folded once pushes pause
            // for a second (readers would catch up anyway; this keeps their first read fast).
            if (sweep_cv_.wait_for(lk, std::chrono::seconds(1), [this] { return sweep_stop_; })) break;
            lk.unlock();
            const int64_t last_activity = last_activity_ms_.load();
            if (cl::wall_now_ms() - last_activity >= 1000 && last_activity != idle_handled_ms_) {
                idle_handled_ms_ = last_activity;
                // In steps of 20k events (a fraction of a second each): a push that arrives
                // meanwhile waits for one step, not for the whole backlog.
                for (bool more = true; more && !stopping();) {
                    std::lock_guard<std::recursive_mutex> dk(db_mutex());
                    more = store_->unmaterialized() > 0 && store_->materialize(20000);
                }
#ifdef __GLIBC__
                // Hand the pages big push/pull bodies used back to the system (RSS stays flat
                // over repeated full pulls instead of keeping each worker's high-water mark).
                malloc_trim(0);
#endif
            }
            if (opts_.sweep_interval_s > 0 && std::chrono::steady_clock::now() >= next_sweep) {
                next_sweep = std::chrono::steady_clock::now() + std::chrono::seconds(opts_.sweep_interval_s);
                run_retention(false, "sweeper");
                std::lock_guard<std::recursive_mutex> dk(db_mutex());
                store_->refresh_sla(now());
            }
            lk.lock();
        }
    });
}

void App::stop_sweeper() {
    {
        std::lock_guard<std::mutex> lk(sweep_mu_);
        sweep_stop_ = true;
    }
    sweep_cv_.notify_all();
    if (sweeper_.joinable()) sweeper_.join();
}

Expected<App::BackupOutcome> App::backup(const std::string& file) {
    if (Status st = backup_database(file); !st) return st.error();
    // The files after the database: a file uploaded since is one too many (harmless), and one
    // missing was purged since, with its case, by the retention policy.
    BackupOutcome out;
    out.attachments_dir = file + ".attachments";
    std::error_code ec;
    // Like the data folder (owner only): the copy holds clients' personal data and password hashes.
    fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace, ec);
    if (ec) return make_error("io", "backup: cannot restrict " + file + " to its owner: " + ec.message());
    fs::create_directories(out.attachments_dir, ec);
    if (!ec) fs::permissions(out.attachments_dir, fs::perms::owner_all, fs::perm_options::replace, ec);
    if (ec) return make_error("io", "backup: cannot create " + out.attachments_dir + ": " + ec.message());
    for (fs::directory_iterator it(attachments_dir(), ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (!is_sha_hex(name) || !it->is_regular_file()) continue;  // e.g. an upload's temporary file
        const fs::path dest = fs::path(out.attachments_dir) / name;
        std::error_code e2;
        const auto size = it->file_size(e2);
        if (!e2 && fs::exists(dest, e2) && fs::file_size(dest, e2) == size) {
            out.files_present++;
            continue;
        }
        const fs::path tmp = fs::path(out.attachments_dir) / (name + ".tmp");
        fs::copy_file(it->path(), tmp, fs::copy_options::overwrite_existing, e2);
        if (!e2) fs::rename(tmp, dest, e2);
        if (e2) return make_error("io", "backup: cannot copy attachment " + name + ": " + e2.message());
        out.files_copied++;
        out.bytes_copied += static_cast<int64_t>(size);
    }
    if (ec) return make_error("io", "backup: cannot list " + attachments_dir() + ": " + ec.message());
    return out;
}

Status App::backup_database(const std::string& file) {
    std::lock_guard<std::recursive_mutex> lk(db_mutex());
    // Created owner-only before SQLite opens it (SQLite would create it readable by everyone).
    if (const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600); fd >= 0) ::close(fd);
    sqlite3* dest = nullptr;
    if (sqlite3_open(file.c_str(), &dest) != SQLITE_OK) {
        std::string msg = dest ? sqlite3_errmsg(dest) : "cannot open";
        sqlite3_close(dest);
        return make_error("io", "backup: " + msg);
    }
    sqlite3_backup* b = sqlite3_backup_init(dest, "main", store_->db(), "main");
    if (!b) {
        std::string msg = sqlite3_errmsg(dest);
        sqlite3_close(dest);
        return make_error("io", "backup: " + msg);
    }
    int rc;
    do {
        rc = sqlite3_backup_step(b, 256);
        if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) sqlite3_sleep(20);
    } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
    sqlite3_backup_finish(b);
    std::string msg = sqlite3_errmsg(dest);
    sqlite3_close(dest);
    if (rc != SQLITE_DONE) return make_error("io", "backup: " + msg);
    return {};
}

}  // namespace cl::server
