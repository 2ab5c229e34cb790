#include "app/app.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <sys/stat.h>
#include <unistd.h>

#include "core/json.h"
#include "domain/vocab.h"
#include "platform/http.h"
#include "platform/persistence.h"
#include "sync/protocol.h"

namespace cl {

namespace {

constexpr int64_t kFlushDebounceMs = 120;
constexpr int64_t kAutoSyncMs = 30000;
constexpr int64_t kSyncAfterEditMs = 2000;
constexpr int64_t kBackupDelayMs = 2000;  // after the first tick: the start-up frames go first

// Where the last good copy lived before it had its own IndexedDB database (read as a fallback,
// then removed).
std::string legacy_backup_path(const std::string& db_path) { return db_path + ".good"; }

bool file_exists(const std::string& p) {
    struct stat st;
    return ::stat(p.c_str(), &st) == 0;
}

std::string trim(const std::string& s) {
    size_t a = s.find_first_not_of(" \t\r\n"), b = s.find_last_not_of(" \t\r\n");
    return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
}

std::vector<std::string> read_queue(Store& s) {
    std::vector<std::string> q;
    if (auto m = s.meta("upload_queue"))
        if (auto doc = json::parse(*m); doc && doc->root().IsArray())
            for (auto& x : doc->root().GetArray()) if (x.IsString()) q.emplace_back(x.GetString(), x.GetStringLength());
    return q;
}
void write_queue(Store& s, const std::vector<std::string>& q) {
    json::Writer w;
    w.begin_array();
    for (auto& x : q) w.str(x);
    w.end_array();
    s.set_meta("upload_queue", w.take());
}
std::string header_safe(const std::string& name) {
    std::string out;
    for (char c : name) {
        unsigned char u = static_cast<unsigned char>(c);
        out.push_back(u < 0x20 || u >= 0x7f ? '_' : c);
    }
    return out.empty() ? "attachment" : out;
}

}  // namespace

// ---- startup -----------------------------------------------------------------------------------

bool App::init(const std::string& db_path) {
    db_path_ = db_path;
    std::string load_err = platform::persist_load_error();
    if (!load_err.empty()) toast("Could not load local data: " + load_err, true);
    open_store();
    if (!store_) return false;
    load_session();
    browser_online_ = platform::navigator_online();
    online_ = browser_online_;
    // Signed in from an earlier visit: sync on the first frame (or as soon as the browser is online).
    next_auto_sync_ = session_.signed_in() && !session_.token.empty() ? 1 : 0;
    return true;
}

void App::open_store() {
    const bool restored = platform::take_restored_flag();
    const std::string legacy_backup = legacy_backup_path(db_path_);
    StoreOptions options;
    options.server = false;
    options.wal = false;       // no shared memory in wasm
    options.exclusive = true;  // this tab's copy of the file has no other user
    auto opened = Store::open(db_path_, options);  // checks the file: a damaged one fails to open
    if (!opened.ok() && !restored && file_exists(legacy_backup)) {
        std::remove(db_path_.c_str());
        std::remove((db_path_ + "-journal").c_str());  // the damaged file's, not the copy's
        platform::copy_local_file(legacy_backup, db_path_);
        opened = Store::open(db_path_, options);
        if (opened.ok()) toast("Local database was damaged; restored the last good copy", true);
    }
    if (!opened.ok()) {
        if (!restored) {
            // The copy is in IndexedDB: it is loaded, put in place and the page starts again.
            fatal_ = "The local database is damaged (" + opened.error().message + "); restoring its last good copy…";
            platform::restore_backup_and_reload(db_path_);
        } else {
            fatal_ = "Cannot open the local database, nor its last good copy: " + opened.error().message;
        }
        return;
    }
    if (restored) toast("Local database was damaged; restored the last good copy", true);
    std::remove(legacy_backup.c_str());  // read at every start from IndexedDB for nothing; the next save drops it there
    store_ = std::move(*opened);
    sync_ = std::make_unique<SyncClient>(*store_);
    // A last good copy for recovery (platform::backup_store) is taken once the first frames are
    // out (tick()): copying a large store takes a while, and the start waits for nothing it does
    // not need.
    backup_due_ = true;
    backup_after_ = 0;  // set by the next tick
    if (auto s = store_->meta("last_sync")) last_sync_ = std::atoll(s->c_str());
    if (auto p = store_->meta("sla_policy")) {
        auto pol = policy_from_json(*p);
        auto cal = store_->meta("calendar") ? calendar_from_json(*store_->meta("calendar")) : Expected<BusinessCalendar>(BusinessCalendar{});
        if (pol.ok() && cal.ok()) store_->set_sla(*pol, *cal);
    }
    store_->device_id();
}

void App::load_session() {
    auto s = store_->meta("session");
    if (!s) return;
    auto doc = json::parse(*s);
    if (!doc) return;
    const auto& v = doc->root();
    json::get(v, "token", session_.token);
    json::get(v, "id", session_.user_id);
    json::get(v, "name", session_.name);
    json::get(v, "role", session_.role);
    // Saved before "ended" existed: a user without a token is one whose session the server ended.
    if (!json::get(v, "ended", session_.ended)) session_.ended = session_.token.empty();
    if (auto* t = json::member(v, "teams"); t && t->IsArray())
        for (auto& x : t->GetArray())
            if (x.IsString()) session_.teams.emplace_back(x.GetString(), x.GetStringLength());
}

void App::save_session() {
    json::Writer w;
    w.begin_object().kv("token", session_.token).kv("id", session_.user_id).kv("name", session_.name).kv("role", session_.role);
    w.kv("ended", session_.ended);
    w.key("teams").begin_array();
    for (auto& t : session_.teams) w.str(t);
    w.end_array().end_object();
    store_->set_meta("session", w.take());
    committed();
}

void App::set_session_for_test(const Session& s) {
    session_ = s;
    save_session();
}

// ---- per-frame ---------------------------------------------------------------------------------

void App::tick(int64_t now) {
    now_ = now;
    if (backup_due_ && store_) {
        if (backup_after_ == 0) backup_after_ = now + kBackupDelayMs;
        if (now >= backup_after_ && !platform::persist_flush_running()) {
            backup_due_ = false;
            platform::backup_store(db_path_);
        }
    }
    // Persistence completions.
    bool ok = false;
    std::string err;
    if (platform::persist_poll(&ok, &err)) {
        if (!ok) {
            save_state_ = SaveState::Failed;
            save_error_ = err;
            toast("Saving to browser storage failed: " + err, true);
        } else if (!dirty_) {
            save_state_ = SaveState::Saved;
            flush_count_++;
        } else {
            flush_count_++;
        }
    }
    if (dirty_ && now - dirty_at_ >= kFlushDebounceMs && platform::persist_flush_start()) {
        dirty_ = false;
        save_state_ = SaveState::Saving;
    }

    // Network results.
    for (auto& r : platform::http_drain()) {
        if (r.id == login_req_) {
            login_req_ = 0;
            if (r.status == 200) {
                auto doc = json::parse(r.body);
                Session s;
                if (doc) {
                    const auto& v = doc->root();
                    json::get(v, "token", s.token);
                    if (auto* u = json::member(v, "user"); u && u->IsObject()) {
                        json::get(*u, "id", s.user_id);
                        json::get(*u, "name", s.name);
                        json::get(*u, "role", s.role);
                        if (auto* t = json::member(*u, "teams"); t && t->IsArray())
                            for (auto& x : t->GetArray())
                                if (x.IsString()) s.teams.emplace_back(x.GetString(), x.GetStringLength());
                    }
                }
                if (s.token.empty() || s.user_id.empty()) {
                    login_error_ = "The server's answer was not understood.";
                } else if (session_.signed_in() && s.user_id != session_.user_id) {
                    // This device holds another user's data (their unsynced changes too): the two
                    // must not mix. The new token is given back.
                    platform::http_request("POST", api_base_ + "/auth/logout", "{}", s.token, 5000);
                    login_error_ = "This device holds " + session_.name + "'s data. Sign in as " + session_.name +
                                   ", or sign out first.";
                } else {
                    if (s.name.empty()) s.name = s.user_id;
                    const bool again = session_.signed_in();  // the same user, after the session ended
                    session_ = s;
                    login_error_.clear();
                    online_ = true;
                    if (again) sync_error_.clear();
                    save_session();
                    toast(again ? "Signed in again; your changes on this device are kept" : "Signed in as " + s.name);
                    next_auto_sync_ = now;  // sync right away
                }
            } else if (r.status == 401 || r.status == 403) {
                login_error_ = "Wrong user name or password.";
            } else if (r.status == 429) {
                login_error_ = "Too many attempts. Wait a moment and try again.";
            } else if (r.status == 0) {
                login_error_ = "Cannot reach the server. Sign-in needs a connection once.";
            } else {
                login_error_ = "Sign-in failed (" + error_text(r.status, r.body) + ").";
            }
            continue;
        }
        if (r.id == settings_req_) {
            settings_req_ = 0;
            if (r.status == 200) apply_settings(r.body);
            continue;
        }
        if (r.id != sync_req_ || sync_req_ == 0) {
            other_[r.id] = std::move(r);
            continue;
        }
        sync_req_ = 0;
        if (r.status == 0) { sync_failed("Server unreachable", true); continue; }
        if (r.status == 401) {
            session_ended();
            continue;
        }
        if (!uploading_.empty()) {
            finish_upload(r);
            continue;
        }
        if (r.status < 200 || r.status >= 300) {
            sync_failed(error_text(r.status, r.body), false);
            continue;
        }
        online_ = true;
        if (phase_ == SyncPhase::Pushing) {
            auto resp = push_response_from_json(r.body);
            if (!resp) { sync_failed("Bad push response: " + resp.error().message, false); continue; }
            Status st = sync_->apply_push(*sent_, *resp, &stats_);
            if (!st) { sync_failed("Could not apply push result: " + st.error().message, false); continue; }
            progress_events_ += static_cast<int>(sent_->events.size());
            sent_.reset();
            data_version_++;
            committed();
            start_push();  // the next batch goes on after refused events; none left: pull
        } else if (phase_ == SyncPhase::Pulling) {
            auto page = pull_response_from_json(r.body);
            if (!page) { sync_failed("Bad pull response: " + page.error().message, false); continue; }
            int n = 0;  // cases on this device that the server purged
            for (const auto& t : page->tombstones)
                if (!store_->case_facts(t.case_id).team.empty()) n++;  // has events here (rows may lag)
            Status st = sync_->apply_pull(*page, &stats_);
            if (!st) { sync_failed("Could not apply pulled events: " + st.error().message, false); continue; }
            if (n > 0)
                toast(std::to_string(n) + (n == 1 ? " case was" : " cases were") +
                      " removed from this device (retention or erasure on the server)");
            progress_events_ += static_cast<int>(page->events.size());
            // Views re-read rows when the data version moves, and reading folds the cases pulled
            // so far (rows are written behind pulled pages): during a long first sync, refresh
            // them every 2 s and at the end, not after every page.
            if (!page->more || now_ - pull_refreshed_at_ >= 2000) {
                committed();  // views refresh, storage flush
                pull_refreshed_at_ = now_;
            } else {
                request_flush();
            }
            if (page->more) {
                start_pull();
            } else {
                phase_ = SyncPhase::Idle;
                last_sync_ = now_;
                sync_error_.clear();
                store_->set_meta("last_sync", std::to_string(last_sync_));
                committed();
                next_auto_sync_ = now_ + kAutoSyncMs;
                if (logout_after_sync_) {
                    if (pending_count() == 0) {
                        finish_logout();
                    } else if (!stats_.rejections.empty() || ++logout_rounds_ >= 3) {
                        logout_after_sync_ = false;  // refused changes never leave: the user decides
                        logout_block_ = stats_.rejections.empty() ? LogoutBlock::SyncFailed : LogoutBlock::Refused;
                        if (stats_.rejections.empty()) sync_error_ = "changes are still waiting after several syncs";
                    } else {
                        sync_now();  // changes made during this sync
                    }
                }
            }
        }
    }

    // Connectivity and automatic sync.
    bool was = browser_online_;
    browser_online_ = platform::navigator_online();
    if (!browser_online_) online_ = false;
    if (browser_online_ && !was) { online_ = true; next_auto_sync_ = now; }
    if (session_.signed_in() && !session_.token.empty() && browser_online_ && phase_ == SyncPhase::Idle &&
        next_auto_sync_ != 0 && now >= next_auto_sync_) {
        sync_now();
    }

    // Expire toasts.
    for (size_t i = 0; i < toasts_.size();)
        if (toasts_[i].until < now) toasts_.erase(toasts_.begin() + i);
        else ++i;
}

void App::toast(const std::string& text, bool error) {
    toasts_.push_back(Toast{text, error, (now_ ? now_ : platform::now_ms()) + (error ? 8000 : 3500)});
    if (toasts_.size() > 4) toasts_.erase(toasts_.begin());
}

// ---- persistence -------------------------------------------------------------------------------

void App::request_flush() {
    dirty_ = true;
    dirty_at_ = now_;
    save_state_ = SaveState::Pending;
}

void App::committed() {
    data_version_++;
    request_flush();
}

// ---- session -----------------------------------------------------------------------------------

void App::login(const std::string& username, const std::string& password) {
    if (login_req_) return;
    std::string u = trim(username);
    if (u.empty() || password.empty()) {
        login_error_ = "Enter your user name and password.";
        return;
    }
    login_error_.clear();
    json::Writer w;
    w.begin_object().kv("username", u).kv("password", password).end_object();
    login_req_ = platform::http_request("POST", api_base_ + "/auth/login", w.take(), "", 15000);
}

void App::sign_in_again(const std::string& password) {
    if (!session_.signed_in()) return;
    login(session_.user_id, password);
}

void App::logout(bool force) {
    logout_block_ = LogoutBlock::None;
    if (pending_count() > 0 && !force) {
        // The view says why and offers export, "sign out anyway" or cancel.
        if (session_.token.empty()) { logout_block_ = LogoutBlock::SessionExpired; return; }
        if (!browser_online_) { logout_block_ = LogoutBlock::Offline; return; }
        logout_after_sync_ = true;  // upload first; the end of that sync signs out (or says why not)
        logout_rounds_ = 0;
        if (phase_ == SyncPhase::Idle) sync_now();
        return;
    }
    finish_logout();
}

void App::cancel_logout() {
    logout_after_sync_ = false;
    logout_block_ = LogoutBlock::None;
}

void App::finish_logout() {
    logout_after_sync_ = false;
    logout_block_ = LogoutBlock::None;
    if (!session_.token.empty()) platform::http_request("POST", api_base_ + "/auth/logout", "{}", session_.token, 5000);
    wipe_local();
    toast("Signed out; local data of this user was removed");
}

void App::wipe_local() {
    backup_due_ = false;
    sync_.reset();
    store_.reset();
    std::remove(db_path_.c_str());
    std::remove(legacy_backup_path(db_path_).c_str());
    platform::delete_backup();
    std::remove((db_path_ + "-journal").c_str());
    session_ = Session{};
    last_sync_ = 0;
    phase_ = SyncPhase::Idle;
    sync_req_ = 0;
    uploading_.clear();
    settings_at_ = 0;
    open_store();
    committed();
}

// ---- case actions ------------------------------------------------------------------------------

Status App::record(const std::string& case_id, const std::string& type, const std::string& body) {
    if (!session_.signed_in()) return make_error("no_session", "Sign in first");
    auto c = store_->load_case(case_id);
    std::string team = c ? c->team : "";
    if (team.empty()) team = session_.teams.empty() ? "default" : session_.teams.front();
    auto e = store_->record_local(c ? c->id : case_id, team, session_.user_id, type, body, now_ ? now_ : platform::now_ms());
    if (!e) return e.error();
    committed();
    if (browser_online_ && session_.signed_in() && !session_.token.empty())
        next_auto_sync_ = std::min(next_auto_sync_ == 0 ? now_ + kSyncAfterEditMs : next_auto_sync_, now_ + kSyncAfterEditMs);
    return {};
}

FieldErrors validate_case_fields(const std::string& kind, const std::string& client_name, const std::string& client_contact,
                                 const std::string& channel, const std::string& title_in, const std::string& description) {
    FieldErrors errs;
    std::string name = trim(client_name), contact = trim(client_contact), title = trim(title_in);
    if (kind != "improvement" && name.empty()) errs["client_name"] = "The client's name is required.";
    if (kind == "improvement" && title.empty()) errs["title"] = "An improvement action needs a title.";
    if (kind != "improvement" && !contact.empty() && channel == "email" && contact.find('@') == std::string::npos)
        errs["client_contact"] = "That does not look like an email address.";
    if (kind != "improvement" && contact.empty() && (channel == "email" || channel == "sms" || channel == "phone"))
        errs["client_contact"] = "Enter the contact for the preferred channel (" + channel + ").";
    if (trim(description).empty() && kind == "feedback") errs["description"] = "Describe the feedback.";
    if (description.size() > 20000) errs["description"] = "The description is too long (20,000 characters at most).";
    if (title.size() > 500) errs["title"] = "The title is too long (500 characters at most).";
    return errs;
}

Expected<std::string> App::create_case(const NewCaseForm& f, FieldErrors* errors) {
    FieldErrors errs = validate_case_fields(f.kind, f.client_name, f.client_contact, f.channel, f.title, f.description);
    if (!vocab::contains(vocab::kinds(), f.kind)) errs["kind"] = "Choose what kind of case this is.";
    std::string name = trim(f.client_name), contact = trim(f.client_contact), title = trim(f.title);
    int64_t completed = 0, due = 0;
    if (!trim(f.service_completed).empty()) {
        completed = platform::parse_local_datetime(trim(f.service_completed));
        if (completed < 0) errs["service_completed"] = "Use the form YYYY-MM-DD HH:MM.";
        else if (completed > (now_ ? now_ : platform::now_ms()) + 3600 * 1000)
            errs["service_completed"] = "The service cannot be completed in the future.";
    } else if (f.kind == "aftercare") {
        errs["service_completed"] = "When was the service completed? (the thank-you is due within 24 h)";
    }
    if (!trim(f.due).empty()) {
        due = platform::parse_local_datetime(trim(f.due));
        if (due < 0) errs["due"] = "Use the form YYYY-MM-DD.";
    } else if (f.kind == "improvement") {
        errs["due"] = "An improvement action needs a deadline.";
    }
    std::string team = f.team.empty() ? (session_.teams.empty() ? "default" : session_.teams.front()) : f.team;
    if (!session_.signed_in()) errs["_"] = "Sign in first.";
    if (errors) *errors = errs;
    if (!errs.empty()) return make_error("invalid", "Some fields need attention");

    json::Writer w;
    w.begin_object().kv("kind", f.kind);
    if (f.kind != "improvement" || !name.empty()) {
        w.key("client").begin_object().kv("name", name);
        if (!contact.empty()) w.kv("contact", contact);
        if (!f.channel.empty()) w.kv("channel", f.channel);
        w.end_object();
    }
    if (!title.empty()) w.kv("title", title);
    if (!trim(f.description).empty()) w.kv("description", f.description);
    if (!f.category.empty()) w.kv("category", f.category);
    if (!f.priority.empty()) w.kv("priority", f.priority);
    if (f.urgent) w.kv("urgent", true);
    if (f.high_impact) w.kv("high_impact", true);
    if (!trim(f.assignee).empty()) w.kv("assignee", trim(f.assignee));
    if (completed > 0) w.kv("service_completed_at", completed);
    if (due > 0) w.kv("due_at", due);
    w.end_object();
    std::string id = store_->new_case_id();
    auto e = store_->record_local(id, team, session_.user_id, ev::kCaseCreated, w.take(), now_ ? now_ : platform::now_ms());
    if (!e) {
        if (errors) (*errors)["_"] = e.error().message;
        return e.error();
    }
    committed();
    if (browser_online_ && !session_.token.empty()) next_auto_sync_ = now_ + kSyncAfterEditMs;
    return id;
}

std::string App::field_winner(const std::string& case_id, const std::string& field) {
    auto c = store_->load_case(case_id);
    if (!c) return "";
    auto evs = store_->case_events(c->id);
    if (!evs) return "";
    std::vector<Event> list = *evs;
    std::sort(list.begin(), list.end(), event_before);
    std::string winner;
    for (const auto& e : list) {
        auto doc = json::parse(e.body);
        if (!doc || !doc->root().IsObject()) continue;
        const auto& b = doc->root();
        if (e.type == ev::kCaseCreated) {
            const json::Value* cl = json::member(b, "client");
            bool has = false;
            if (field == "client_name") has = cl && json::has(*cl, "name");
            else if (field == "client_contact") has = cl && json::has(*cl, "contact");
            else if (field == "channel") has = cl && json::has(*cl, "channel");
            else has = json::has(b, field.c_str());
            if (has) winner = e.id();
        } else if (e.type == ev::kFieldSet) {
            std::string f;
            if (json::get(b, "field", f) && f == field) winner = e.id();
        } else if (e.type == ev::kAssigned && field == "assignee") {
            winner = e.id();
        }
    }
    return winner;
}

Status App::add_note(const std::string& case_id, const std::string& text) {
    if (trim(text).empty()) return make_error("invalid", "The note is empty.");
    json::Writer w;
    w.begin_object().kv("text", text).end_object();
    return record(case_id, ev::kNoteAdded, w.take());
}

Status App::set_status(const std::string& case_id, const std::string& to) {
    auto c = store_->load_case(case_id);
    if (!c) return make_error("not_found", "No such case");
    if (!vocab::transition_allowed(c->status, to))
        return make_error("invalid", "A case cannot move from " + c->status + " to " + to + ".");
    json::Writer w;
    w.begin_object().kv("to", to).kv("from", c->status).end_object();
    return record(case_id, ev::kStatusChanged, w.take());
}

Status App::log_contact(const std::string& case_id, const std::string& step, const std::string& channel,
                        const std::string& note) {
    json::Writer w;
    w.begin_object().kv("step", step);
    if (!channel.empty()) w.kv("channel", channel);
    if (!note.empty()) w.kv("note", note);
    w.end_object();
    return record(case_id, ev::kContactLogged, w.take());
}

Status App::record_survey(const std::string& case_id, int csat, int nps, const std::string& comment,
                          const std::string& suggestion, const std::string& channel, bool incentive) {
    if (csat == 0 && nps < 0 && trim(comment).empty() && trim(suggestion).empty())
        return make_error("invalid", "Enter at least a score or a comment.");
    json::Writer w;
    w.begin_object();
    if (csat >= 1 && csat <= 5) w.kv("csat", csat);
    if (nps >= 0 && nps <= 10) w.kv("nps", nps);
    if (!trim(comment).empty()) w.kv("comment", comment);
    if (!trim(suggestion).empty()) w.kv("suggestion", suggestion);
    if (!channel.empty()) w.kv("channel", channel);
    if (incentive) w.kv("incentive", true);
    w.end_object();
    return record(case_id, ev::kSurveyRecorded, w.take());
}

Status App::escalate(const std::string& case_id, const std::string& reason, const std::string& to) {
    if (trim(reason).empty()) return make_error("invalid", "Give the reason for the escalation.");
    json::Writer w;
    w.begin_object().kv("reason", reason);
    if (!trim(to).empty()) w.kv("to", trim(to));
    w.end_object();
    return record(case_id, ev::kEscalated, w.take());
}

Status App::resolve(const std::string& case_id, const std::string& resolution) {
    if (trim(resolution).empty()) return make_error("invalid", "Describe the resolution.");
    json::Writer w;
    w.begin_object().kv("resolution", resolution).end_object();
    return record(case_id, ev::kResolved, w.take());
}

Status App::follow_up(const std::string& case_id, bool satisfied, const std::string& note, const std::string& channel) {
    json::Writer w;
    w.begin_object().kv("satisfied", satisfied);
    if (!note.empty()) w.kv("note", note);
    if (!channel.empty()) w.kv("channel", channel);
    w.end_object();
    return record(case_id, ev::kFollowUpDone, w.take());
}

Status App::set_field(const std::string& case_id, const std::string& field, const std::string& value_json) {
    std::string base = field_winner(case_id, field);
    json::Writer w;
    w.begin_object().kv("field", field).key("value");
    auto doc = json::parse(value_json);
    if (!doc) return make_error("invalid", "bad value");
    w.value(doc->root());
    if (!base.empty()) w.kv("base", base);
    w.end_object();
    return record(case_id, ev::kFieldSet, w.take());
}

Status App::edit_case(const std::string& case_id, const CaseEdit& e, FieldErrors* errors) {
    if (errors) errors->clear();
    auto c = store_->load_case(case_id);
    if (!c) return make_error("not_found", "No such case");
    const std::string name = trim(e.client_name), contact = trim(e.client_contact), title = trim(e.title);
    // Only what changes is checked: a case that broke a rule before (created on the server, or
    // before the rule) can still have its other fields edited.
    FieldErrors errs = validate_case_fields(c->kind, name, contact, e.channel, title, e.description);
    const bool contact_changed = contact != c->client.contact || e.channel != c->client.channel;
    if (name == c->client.name) errs.erase("client_name");
    if (!contact_changed) errs.erase("client_contact");
    if (title == c->title) errs.erase("title");
    if (e.description == c->description) errs.erase("description");
    if (!errs.empty()) {
        if (errors) *errors = errs;
        return make_error("invalid", "Some fields need attention");
    }
    Status st;
    auto set = [&](const char* field, const std::string& old_v, const std::string& new_v, bool text = true) {
        if (st && old_v != new_v) st = set_field(c->id, field, text ? json::quote(new_v) : new_v);
    };
    set("client_name", c->client.name, name);
    set("client_contact", c->client.contact, contact);
    set("channel", c->client.channel, e.channel);
    set("title", c->title, title);
    set("description", c->description, e.description);
    set("category", c->category, e.category);
    set("priority", c->priority, e.priority);
    set("urgent", c->urgent ? "true" : "false", e.urgent ? "true" : "false", false);
    set("high_impact", c->high_impact ? "true" : "false", e.high_impact ? "true" : "false", false);
    if (st && c->assignee != trim(e.assignee)) st = assign(c->id, e.assignee);
    if (!st && errors) (*errors)["_"] = st.error().message;
    return st;
}

Status App::assign(const std::string& case_id, const std::string& assignee) {
    std::string base = field_winner(case_id, "assignee");
    json::Writer w;
    w.begin_object().kv("assignee", trim(assignee));
    if (!base.empty()) w.kv("base", base);
    w.end_object();
    return record(case_id, ev::kAssigned, w.take());
}

Status App::add_attachment(const std::string& case_id, const platform::PickedFile& f) {
    json::Writer w;
    w.begin_object().kv("name", f.name).kv("type", f.type).kv("size", f.size).kv("sha256", f.sha256).end_object();
    Status st = record(case_id, ev::kAttachmentAdded, w.take());
    if (!st) return st;
    // Queue the bytes (kept under /data/files on the IDBFS mount) for upload before the next push.
    auto queue = read_queue(*store_);
    std::string entry = f.sha256 + "\t" + f.type + "\t" + f.name;
    if (std::find(queue.begin(), queue.end(), entry) == queue.end()) queue.push_back(entry);
    write_queue(*store_, queue);
    committed();
    return {};
}

Status App::link_improvement(const std::string& improvement_id, const std::string& case_id) {
    auto c = store_->load_case(case_id);
    if (!c) return make_error("not_found", "No case " + case_id);
    json::Writer w;
    w.begin_object().kv("case", c->id).end_object();
    return record(improvement_id, ev::kImprovementLinked, w.take());
}

// ---- sync --------------------------------------------------------------------------------------

int64_t App::pending_count() { return store_ ? store_->pending_count() : 0; }

void App::sync_now() {
    if (phase_ != SyncPhase::Idle || !store_) return;
    if (!session_.signed_in() || session_.token.empty()) {
        sync_error_ = session_expired() ? "Session expired: sign in again to sync" : "Sign in to sync";
        return;
    }
    if (!browser_online_) {
        sync_error_ = "Offline";
        next_auto_sync_ = 0;
        return;
    }
    stats_ = SyncStats{};
    sync_->begin_sync();
    progress_events_ = 0;
    last_attempt_ = now_;
    request_settings();
    start_push();
}

void App::start_push() {
    if (start_upload()) return;
    auto req = sync_->next_push(500);
    if (!req) { start_pull(); return; }
    phase_ = SyncPhase::Pushing;
    sent_ = std::move(*req);
    sync_req_ = platform::http_request("POST", api_base_ + "/sync/push", push_request_to_json(*sent_), session_.token);
}

void App::start_pull() {
    phase_ = SyncPhase::Pulling;
    std::string url = api_base_ + "/sync/pull?after=" + std::to_string(sync_->cursor()) + "&limit=1000";
    sync_req_ = platform::http_request("GET", url, "", session_.token);
}

void App::sync_failed(const std::string& why, bool network) {
    phase_ = SyncPhase::Idle;
    sent_.reset();
    uploading_.clear();
    sync_error_ = why;
    if (network) online_ = false;
    next_auto_sync_ = now_ + kAutoSyncMs;
    if (logout_after_sync_) {
        logout_after_sync_ = false;
        logout_block_ = network ? LogoutBlock::Unreachable : LogoutBlock::SyncFailed;
    }
}

void App::session_ended() {
    const bool signing_out = logout_after_sync_;
    sync_failed("Session expired: sign in again to sync", false);
    session_.token.clear();  // the user and the local data stay: sign_in_again
    session_.ended = true;
    save_session();
    online_ = true;  // the server answered
    if (signing_out) logout_block_ = LogoutBlock::SessionExpired;
}

// ---- server settings (SLA policy and business calendar) ----------------------------------------

void App::request_settings() {
    if (settings_req_ || session_.token.empty()) return;
    settings_req_ = platform::http_request("GET", api_base_ + "/settings", "", session_.token, 15000);
}

void App::apply_settings(const std::string& body) {
    auto doc = json::parse(body);
    if (!doc || !doc->root().IsObject()) return;
    const json::Value* sla = json::member(doc->root(), "sla");
    const json::Value* cal = json::member(doc->root(), "calendar");
    if (!sla || !cal || !sla->IsObject() || !cal->IsObject()) return;
    std::string sla_text = json::to_string(*sla), cal_text = json::to_string(*cal);
    auto pol = policy_from_json(sla_text);
    auto bc = calendar_from_json(cal_text);
    if (!pol.ok() || !bc.ok()) {
        toast("The server's SLA settings could not be read; keeping the previous ones", true);
        return;
    }
    settings_at_ = now_;
    if (store_->meta("sla_policy") == sla_text && store_->meta("calendar") == cal_text) return;
    store_->set_sla(*pol, *bc);
    store_->set_meta("sla_policy", sla_text);
    store_->set_meta("calendar", cal_text);
    if (Status st = store_->refresh_sla(now_ ? now_ : platform::now_ms()); !st)
        toast("Could not recompute due dates: " + st.error().message, true);
    committed();
}

// ---- attachment uploads (before the events that reference them are pushed) ----------------------


int App::pending_uploads() { return store_ ? static_cast<int>(read_queue(*store_).size()) : 0; }

bool App::start_upload() {
    auto q = read_queue(*store_);
    while (!q.empty()) {
        std::string entry = q.front();
        size_t t1 = entry.find('\t'), t2 = t1 == std::string::npos ? t1 : entry.find('\t', t1 + 1);
        std::string sha = entry.substr(0, t1);
        std::string type = t1 == std::string::npos ? "application/octet-stream" : entry.substr(t1 + 1, t2 - t1 - 1);
        std::string name = t2 == std::string::npos ? "attachment" : entry.substr(t2 + 1);
        std::string bytes;
        if (FILE* f = std::fopen(("/data/files/" + sha).c_str(), "rb")) {
            char buf[65536];
            size_t n;
            while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) bytes.append(buf, n);
            std::fclose(f);
        }
        if (bytes.empty()) {  // the file is gone from this device: nothing to upload
            q.erase(q.begin());
            write_queue(*store_, q);
            committed();
            continue;
        }
        phase_ = SyncPhase::Pushing;
        uploading_ = entry;
        if (type.empty()) type = "application/octet-stream";
        sync_req_ = platform::http_request("POST", api_base_ + "/attachments", bytes, session_.token, 120000, type,
                                           {{"X-Filename", header_safe(name)}});
        return true;
    }
    return false;
}

void App::finish_upload(const platform::HttpResponse& r) {
    std::string entry = uploading_;
    uploading_.clear();
    if (r.status == 0) { sync_failed("Server unreachable", true); return; }
    if (r.status == 401) {
        session_ended();
        return;
    }
    if (r.status >= 500) { sync_failed("Attachment upload failed: " + error_text(r.status, r.body), false); return; }
    if (r.status < 200 || r.status >= 300) {
        // Refused for good (too large, forbidden, bad request): keep the local copy, stop retrying.
        size_t t2 = entry.rfind('\t');
        toast("Attachment " + (t2 == std::string::npos ? entry : entry.substr(t2 + 1)) + " not uploaded: " +
                  error_text(r.status, r.body), true);
    }
    auto q = read_queue(*store_);
    q.erase(std::remove(q.begin(), q.end(), entry), q.end());
    write_queue(*store_, q);
    committed();
    start_push();
}

std::string App::error_text(int status, const std::string& body) {
    std::string msg = "HTTP " + std::to_string(status);
    if (auto doc = json::parse(body); doc && doc->root().IsObject()) {
        std::string m;
        const json::Value* e = json::member(doc->root(), "error");
        if (e && e->IsObject()) {
            if (!json::get(*e, "message", m)) json::get(*e, "code", m);
        } else if (e && e->IsString()) {
            m.assign(e->GetString(), e->GetStringLength());
        } else {
            json::get(doc->root(), "message", m);
        }
        if (!m.empty()) msg += ": " + m;
    }
    return msg;
}

std::string App::export_pending() { return sync_ ? sync_->export_pending() : std::string(); }

Expected<int> App::import_file(const std::string& json) {
    auto n = sync_->import_events(json);
    if (n) committed();
    return n;
}

}  // namespace cl

namespace cl {

uint64_t App::api_get(const std::string& path) {
    return platform::http_request("GET", api_base_ + "/" + path, "", session_.token);
}

bool App::take_response(uint64_t id, platform::HttpResponse* out) {
    auto it = other_.find(id);
    if (it == other_.end()) return false;
    *out = std::move(it->second);
    other_.erase(it);
    return true;
}

}  // namespace cl
