// The sync server's application: routes, auth, rate limiting, metrics, retention sweeper.
// Transport-neutral (HttpRequest -> HttpResponse); http_server.cpp adapts it to cpp-httplib.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "core/expected.h"
#include "http_types.h"
#include "store/store.h"
#include "sync/server_core.h"
#include "users.h"

namespace cl::server {

struct ServerOptions {
    std::string data_dir = "./data";
    std::string static_dir;                      // web client files; empty or missing -> 404 page
    size_t max_body = 8u << 20;                  // request body limit (413)
    size_t max_attachment = 8u << 20;            // attachment size limit (413)
    int64_t token_ttl_ms = 30LL * 24 * 3600 * 1000;
    int64_t sweep_interval_s = 3600;             // retention sweeper period; 0 = off
    int free_failures_per_user = 3;              // login failures before the backoff starts
    int free_failures_per_addr = 20;
    int64_t max_backoff_s = 15 * 60;
    std::function<int64_t()> clock;              // wall clock, UTC ms (tests may inject one)
};

struct Metrics;

class App {
public:
    static Expected<std::unique_ptr<App>> open(const ServerOptions& opts);
    ~App();

    HttpResponse handle(const HttpRequest& req);

    // First start: creates user `admin` (role admin, team "default") when there are no users.
    // Returns the generated password (empty when CLOSELOOP_ADMIN_PASSWORD was used or users exist).
    Expected<std::string> ensure_admin();
    Status add_user(const User& u, const std::string& password, const std::string& actor);
    RetentionOutcome run_retention(bool dry_run, const std::string& actor);
    // A consistent copy of the database in `file`, then the attachment files (content-addressed,
    // kept outside the database) into the folder `file` + ".attachments": files already there are
    // not copied again, so a backup to the same place is incremental.
    struct BackupOutcome {
        std::string attachments_dir;
        int64_t files_copied = 0, files_present = 0, bytes_copied = 0;
    };
    Expected<BackupOutcome> backup(const std::string& file);
    std::string metrics_text();

    void start_sweeper();
    void stop_sweeper();

    int64_t now() const { return opts_.clock(); }
    Store& store() { return *store_; }
    UserDb& users() { return *users_; }
    SyncServer& sync() { return *sync_; }
    // Every use of the Store (and UserDb) holds this lock: SyncServer's, one SQLite connection.
    std::recursive_mutex& db_mutex() { return sync_->mutex(); }
    const ServerOptions& options() const { return opts_; }

private:
    Status backup_database(const std::string& file);
    struct Ctx;
    using Handler = HttpResponse (App::*)(const HttpRequest&, Ctx&);
    struct Route;

    explicit App(const ServerOptions& opts);
    HttpResponse dispatch(const HttpRequest& req, std::string& route_label);

    // handlers
    HttpResponse h_health(const HttpRequest&, Ctx&);
    HttpResponse h_metrics(const HttpRequest&, Ctx&);
    HttpResponse h_login(const HttpRequest&, Ctx&);
    HttpResponse h_logout(const HttpRequest&, Ctx&);
    HttpResponse h_me(const HttpRequest&, Ctx&);
    HttpResponse h_settings(const HttpRequest&, Ctx&);
    HttpResponse h_push(const HttpRequest&, Ctx&);
    HttpResponse h_pull(const HttpRequest&, Ctx&);
    HttpResponse h_cases(const HttpRequest&, Ctx&);
    HttpResponse h_case(const HttpRequest&, Ctx&);
    HttpResponse h_report(const HttpRequest&, Ctx&);
    HttpResponse h_log_csv(const HttpRequest&, Ctx&);
    HttpResponse h_attach_put(const HttpRequest&, Ctx&);
    HttpResponse h_attach_get(const HttpRequest&, Ctx&);
    HttpResponse h_users(const HttpRequest&, Ctx&);
    HttpResponse h_user_create(const HttpRequest&, Ctx&);
    HttpResponse h_user_update(const HttpRequest&, Ctx&);
    HttpResponse h_teams(const HttpRequest&, Ctx&);
    HttpResponse h_team_create(const HttpRequest&, Ctx&);
    HttpResponse h_sla_get(const HttpRequest&, Ctx&);
    HttpResponse h_sla_put(const HttpRequest&, Ctx&);
    HttpResponse h_retention_get(const HttpRequest&, Ctx&);
    HttpResponse h_retention_put(const HttpRequest&, Ctx&);
    HttpResponse h_retention_run(const HttpRequest&, Ctx&);
    HttpResponse h_legal_hold(const HttpRequest&, Ctx&);
    HttpResponse h_subject_export(const HttpRequest&, Ctx&);
    HttpResponse h_subject_erase(const HttpRequest&, Ctx&);
    HttpResponse h_audit(const HttpRequest&, Ctx&);
    HttpResponse serve_static(const HttpRequest& req);

    RetentionPolicy retention_policy();  // caller holds db_mu_
    void gc_attachments(const std::vector<std::string>& candidates);  // caller holds db_mu_
    std::string attachments_dir() const;

    // login rate limiting
    struct Backoff { int failures = 0; int64_t until_ms = 0; int64_t last_ms = 0; };
    int64_t login_blocked_ms(const std::string& user, const std::string& addr);
    void login_failed(const std::string& user, const std::string& addr);
    void login_succeeded(const std::string& user);

    ServerOptions opts_;
    std::unique_ptr<Store> store_;
    std::unique_ptr<UserDb> users_;
    std::unique_ptr<SyncServer> sync_;

    std::mutex rl_mu_;
    std::unordered_map<std::string, Backoff> by_user_, by_addr_;

    std::unique_ptr<Metrics> metrics_;

    std::mutex sweep_mu_;
    std::condition_variable sweep_cv_;
    bool sweep_stop_ = false;
    bool stopping() {
        std::lock_guard<std::mutex> lk(sweep_mu_);
        return sweep_stop_;
    }
    std::thread sweeper_;
    std::atomic<int64_t> last_activity_ms_{0};  // wall clock of the last push or pull (idle work waits for a pause)
    int64_t idle_handled_ms_ = -1;           // sweeper thread only: the activity its idle work followed
};

}  // namespace cl::server
