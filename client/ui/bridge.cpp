// Test bridge (CLOSELOOP_TEST_BRIDGE): app state and widget rectangles as JSON for Playwright.
#include <emscripten.h>

#include "core/json.h"
#include "platform/browser.h"
#include "ui/ui.h"

namespace cl::ui {
App* bridge_app();
UiState* bridge_ui();
uint64_t bridge_frame();
}  // namespace cl::ui

#ifdef CLOSELOOP_TEST_BRIDGE
namespace {
std::string g_out;

const char* save_name(cl::SaveState s) {
    switch (s) {
        case cl::SaveState::Clean: return "clean";
        case cl::SaveState::Pending: return "pending";
        case cl::SaveState::Saving: return "saving";
        case cl::SaveState::Saved: return "saved";
        case cl::SaveState::Failed: return "failed";
    }
    return "?";
}

void write_row(cl::json::Writer& w, const cl::CaseRow& r) {
    w.begin_object().kv("id", r.id).kv("reference", r.reference).kv("kind", r.kind).kv("team", r.team).kv("status", r.status)
        .kv("category", r.category).kv("client", r.client_name).kv("title", r.title).kv("assignee", r.assignee)
        .kv("next_due", r.next_due).kv("conflicts", r.conflicts).end_object();
}
}  // namespace

extern "C" EMSCRIPTEN_KEEPALIVE const char* cl_test_state() {
    using namespace cl;
    App& app = *ui::bridge_app();
    ui::UiState& u = *ui::bridge_ui();
    json::Writer w;
    w.begin_object();
    w.kv("frame", static_cast<int64_t>(ui::bridge_frame()));
    w.kv("ready", app.ready());
    w.kv("view", ui::view_name(u.view)).kv("case_id", u.case_id);
    w.kv("signed_in", app.session().signed_in()).kv("user", app.session().user_id).kv("role", app.session().role);
    w.kv("has_token", !app.session().token.empty());
    w.kv("login_error", app.login_error()).kv("login_in_flight", app.login_in_flight());
    w.kv("save_state", save_name(app.save_state())).kv("flush_count", app.flush_count());
    w.kv("saved", app.save_state() == SaveState::Saved || app.save_state() == SaveState::Clean);
    w.kv("storage_persisted", static_cast<int64_t>(platform::storage_persisted()));
    if (app.ready()) {
        w.kv("device", app.store()->device_id());
        w.kv("uploads", static_cast<int64_t>(app.pending_uploads()));
        w.kv("calendar_tz", app.store()->calendar().tz);
        w.key("holidays").begin_array();
        for (auto& h : app.store()->calendar().holidays) w.str(h);
        w.end_array();
        w.kv("pending", app.pending_count()).kv("cases", app.store()->case_count()).kv("events", app.store()->event_count());
    }
    w.kv("online", app.online()).kv("browser_online", app.browser_online());
    w.kv("sync_phase", app.sync_phase() == SyncPhase::Idle ? "idle" : app.sync_phase() == SyncPhase::Pushing ? "push" : "pull");
    w.kv("settings_at", app.settings_applied_at());
    w.kv("last_sync", app.last_sync()).kv("sync_error", app.sync_error());
    w.key("refused").begin_array();  // the last sync's refusals, as the status bar counts them
    for (const auto& r : app.last_stats().rejections) w.str(r.reason);
    w.end_array();
    w.kv("logout_blocked", app.logout_blocked());
    static const char* const kBlock[] = {"none", "offline", "unreachable", "session_expired", "refused", "sync_failed"};
    w.kv("logout_reason", kBlock[static_cast<int>(app.logout_block())]);
    w.kv("logout_in_progress", app.logout_in_progress());
    w.kv("session_expired", app.session_expired());
    w.key("toasts").begin_array();
    for (auto& t : app.toasts()) w.str(t.text);
    w.end_array();
    w.kv("want_text_input", ImGui::GetIO().WantTextInput);
    w.kv_dbl("dpr", u.dpr);
    w.key("widgets").raw(ui::bridge_widgets_json());
    w.end_object();
    g_out = w.take();
    return g_out.c_str();
}

extern "C" EMSCRIPTEN_KEEPALIVE const char* cl_test_call(const char* name_c, const char* arg_c) {
    using namespace cl;
    std::string name = name_c ? name_c : "", arg = arg_c ? arg_c : "";
    App& app = *ui::bridge_app();
    ui::UiState& u = *ui::bridge_ui();
    g_out = "{}";
    if (name == "session") {  // {"id","name","role","teams":[..],"token"}
        auto doc = json::parse(arg);
        if (!doc) return (g_out = "{\"error\":\"bad json\"}").c_str();
        Session s;
        json::get(doc->root(), "id", s.user_id);
        json::get(doc->root(), "name", s.name);
        json::get(doc->root(), "role", s.role);
        json::get(doc->root(), "token", s.token);
        if (auto* t = json::member(doc->root(), "teams"); t && t->IsArray())
            for (auto& x : t->GetArray()) if (x.IsString()) s.teams.emplace_back(x.GetString());
        app.set_session_for_test(s);
    } else if (name == "cases") {
        CaseQuery q;
        q.status = arg;
        q.limit = 10000;
        q.sort = "created";
        json::Writer w;
        w.begin_array();
        if (auto rows = app.store()->query_cases(q))
            for (auto& r : *rows) write_row(w, r);
        w.end_array();
        g_out = w.take();
    } else if (name == "case") {
        if (auto c = app.store()->load_case(arg)) g_out = case_to_json(*c);
        else g_out = "null";
    } else if (name == "open") {
        ui::open_case(u, arg);
    } else if (name == "view") {
        static const ui::View views[] = {ui::View::Inbox, ui::View::Case, ui::View::NewCase, ui::View::Due,
                                         ui::View::Reports, ui::View::Improvement, ui::View::Admin};
        for (auto v : views) if (arg == ui::view_name(v)) u.view = v;
    } else if (name == "sync") {
        app.sync_now();
    }
    return g_out.c_str();
}
#endif
