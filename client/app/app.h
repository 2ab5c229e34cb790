// The client's application state and controller: session, local store, persistence and sync
// orchestration. No ImGui here; the views in ui/ read this state and call these actions.
#pragma once
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/expected.h"
#include "platform/browser.h"
#include "platform/http.h"
#include "store/store.h"
#include "sync/client_sync.h"

namespace cl {

struct Session {
    std::string token, user_id, name, role;
    std::vector<std::string> teams;
    bool ended = false;  // the server refused the token (expired or revoked): sign in again
    bool signed_in() const { return !user_id.empty(); }
    bool is_admin() const { return role == "admin"; }
    bool is_manager() const { return role == "admin" || role == "manager" || role == "analyst"; }
};

enum class SaveState { Clean, Pending, Saving, Saved, Failed };
enum class SyncPhase { Idle, Pushing, Pulling };

struct NewCaseForm {
    std::string kind = "aftercare", team, title, description, category, priority = "normal";
    std::string client_name, client_contact, channel = "email", assignee;
    bool urgent = false, high_impact = false;
    std::string service_completed;  // "YYYY-MM-DD HH:MM" (local)
    std::string due;                // improvement deadline, "YYYY-MM-DD"
};
using FieldErrors = std::map<std::string, std::string>;  // field -> message

// The rules a case's client and text fields follow, shared by the new-case form and the case
// editor (keys: client_name, client_contact, title, description). kind: aftercare, feedback,
// follow_up or improvement; channel may be empty (no preferred channel).
FieldErrors validate_case_fields(const std::string& kind, const std::string& client_name, const std::string& client_contact,
                                 const std::string& channel, const std::string& title, const std::string& description);

// The case editor's values (App::edit_case).
struct CaseEdit {
    std::string client_name, client_contact, channel, title, description, category, priority, assignee;
    bool urgent = false, high_impact = false;
};

// Why a sign-out waits for the user: changes not uploaded yet, and the reason they cannot be.
enum class LogoutBlock { None, Offline, Unreachable, SessionExpired, Refused, SyncFailed };

struct Toast {
    std::string text;
    bool error = false;
    int64_t until = 0;
};

class App {
public:
    // Opens (or creates) the local store at path; checks it and falls back to the last good copy.
    bool init(const std::string& db_path);
    void tick(int64_t now);  // once per frame, before drawing: drains async results, runs timers

    Store* store() { return store_.get(); }
    bool ready() const { return store_ != nullptr; }
    const std::string& fatal_error() const { return fatal_; }
    uint64_t data_version() const { return data_version_; }  // bumps on every local or synced change
    int64_t now() const { return now_; }

    // ---- session ----
    const Session& session() const { return session_; }
    void login(const std::string& username, const std::string& password);
    bool login_in_flight() const { return login_req_ != 0; }
    const std::string& login_error() const { return login_error_; }
    // The session ended on the server (30-day expiry, or revoked: password reset, account change)
    // while this device still holds the user and their data: sign_in_again keeps both.
    bool session_expired() const { return session_.signed_in() && session_.ended; }
    // Signs the same user in again (the user name is the session's); the local data, unsynced
    // changes included, stays, and a sync follows. A sign-in answered for another user is refused.
    void sign_in_again(const std::string& password);
    // Syncs first (when there is something to push and the server is reachable), then clears the
    // local data of this user. force: sign out even though changes could not be uploaded.
    void logout(bool force = false);
    bool logout_blocked() const { return logout_block_ != LogoutBlock::None; }
    LogoutBlock logout_block() const { return logout_block_; }
    bool logout_in_progress() const { return logout_after_sync_; }  // uploading before signing out
    void cancel_logout();  // stays signed in; nothing else changes
    void set_session_for_test(const Session& s);

    // ---- case actions (each is one local event, flushed to IndexedDB) ----
    Expected<std::string> create_case(const NewCaseForm& f, FieldErrors* errors);
    Status add_note(const std::string& case_id, const std::string& text);
    Status set_status(const std::string& case_id, const std::string& to);
    Status log_contact(const std::string& case_id, const std::string& step, const std::string& channel,
                       const std::string& note);
    Status record_survey(const std::string& case_id, int csat, int nps, const std::string& comment,
                         const std::string& suggestion, const std::string& channel, bool incentive);
    Status escalate(const std::string& case_id, const std::string& reason, const std::string& to);
    Status resolve(const std::string& case_id, const std::string& resolution);
    Status follow_up(const std::string& case_id, bool satisfied, const std::string& note, const std::string& channel);
    Status set_field(const std::string& case_id, const std::string& field, const std::string& value_json);
    // The case editor's save: validates (validate_case_fields, for the fields that change) and
    // records the changed fields. errors: field -> message, empty when saved.
    Status edit_case(const std::string& case_id, const CaseEdit& e, FieldErrors* errors);
    Status assign(const std::string& case_id, const std::string& assignee);
    Status add_attachment(const std::string& case_id, const platform::PickedFile& f);
    Status link_improvement(const std::string& improvement_id, const std::string& case_id);

    // ---- persistence ----
    SaveState save_state() const { return save_state_; }
    int flush_count() const { return flush_count_; }
    const std::string& save_error() const { return save_error_; }
    void request_flush();

    // ---- sync ----
    void sync_now();
    SyncPhase sync_phase() const { return phase_; }
    bool online() const { return online_; }            // browser says online and the server answered last time
    bool browser_online() const { return browser_online_; }
    int64_t last_sync() const { return last_sync_; }
    const std::string& sync_error() const { return sync_error_; }
    const SyncStats& last_stats() const { return stats_; }
    int64_t pending_count();
    int sync_progress_events() const { return progress_events_; }
    std::string export_pending();
    Expected<int> import_file(const std::string& json);

    // ---- misc ----
    void toast(const std::string& text, bool error = false);
    std::vector<Toast>& toasts() { return toasts_; }
    std::string api_base() const { return api_base_; }
    // Other API calls (admin screens): response collected with take_response.
    uint64_t api_get(const std::string& path);
    bool take_response(uint64_t id, platform::HttpResponse* out);
    // "HTTP 403: this route needs the admin role" from the server's {"error":{"code","message"}}.
    static std::string error_text(int status, const std::string& body);

    // ---- server settings and attachments ----
    int64_t settings_applied_at() const { return settings_at_; }
    int pending_uploads();

private:
    Status record(const std::string& case_id, const std::string& type, const std::string& body);
    std::string field_winner(const std::string& case_id, const std::string& field);
    void committed();
    void open_store();
    void start_push();
    bool start_upload();
    void finish_upload(const platform::HttpResponse& r);
    void start_pull();
    void request_settings();
    void apply_settings(const std::string& body);
    void sync_failed(const std::string& why, bool network);
    void session_ended();  // a 401 from the server
    void finish_logout();
    void load_session();
    void save_session();
    void wipe_local();

    std::unique_ptr<Store> store_;
    std::unique_ptr<SyncClient> sync_;
    std::string db_path_, fatal_;
    uint64_t data_version_ = 1;
    int64_t now_ = 0;
    bool backup_due_ = false;   // the last good copy of the store is to be taken (open_store)
    int64_t backup_after_ = 0;
    Session session_;
    std::string api_base_ = "api/v1";

    uint64_t login_req_ = 0;
    std::string login_error_;
    bool logout_after_sync_ = false;
    int logout_rounds_ = 0;  // syncs run for this sign-out (changes made during one get another)
    LogoutBlock logout_block_ = LogoutBlock::None;

    SaveState save_state_ = SaveState::Clean;
    bool dirty_ = false;
    int64_t dirty_at_ = 0;
    int flush_count_ = 0;
    std::string save_error_;

    SyncPhase phase_ = SyncPhase::Idle;
    uint64_t sync_req_ = 0;
    std::optional<PushRequest> sent_;
    bool online_ = true, browser_online_ = true;
    int64_t last_sync_ = 0, last_attempt_ = 0, next_auto_sync_ = 0;
    std::string sync_error_;
    SyncStats stats_;
    int progress_events_ = 0;
    int64_t pull_refreshed_at_ = 0;  // last view refresh during a many-page pull

    uint64_t settings_req_ = 0;
    int64_t settings_at_ = 0;
    std::string uploading_;  // sha256 of the attachment being uploaded (sync_req_)

    std::vector<Toast> toasts_;
    std::map<uint64_t, platform::HttpResponse> other_;
};

}  // namespace cl
