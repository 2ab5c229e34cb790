// Views (the only code that includes imgui.h). Each view draws from App state and calls App actions.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "app/app.h"
#include "store/report_builder.h"
#include "imgui.h"

namespace cl::ui {

enum class View { Inbox, Case, NewCase, Due, Reports, Improvement, Admin };
const char* view_name(View v);

struct InboxState {
    char search[128] = "";
    int status = 1;  // 0 any, 1 open, 2.. statuses
    int kind = 0, category = 0;
    bool mine = false, overdue_only = false, escalation_only = false;
    std::string sort = "due";
    bool descending = false;
    // cache
    uint64_t version = 0;
    std::string query_key;
    int64_t total = 0;
    int window_offset = 0;
    std::vector<CaseRow> window;
    bool window_valid = false;  // false: refetch (the rows are kept for their strings' storage)
    int64_t refreshed_at = 0;
    int due_today = 0, overdue = 0, escalations = 0, attention = 0;
    uint64_t counts_version = 0;
};

struct CaseViewState {
    std::string loaded_id;
    uint64_t version = 0;
    bool editing = false;
    char note[2048] = "";
    char contact_note[512] = "";
    int contact_step = 0, contact_channel = 0;
    int csat = 0, nps = -1, survey_channel = 0;
    bool incentive = false;
    char comment[1024] = "", suggestion[1024] = "";
    char escalate_reason[512] = "", escalate_to[128] = "management";
    char resolution[1024] = "";
    bool satisfied = true;
    char follow_note[512] = "";
    int follow_channel = 0;
    char assignee[128] = "";
    char edit_title[512] = "", edit_description[4096] = "", edit_client[256] = "", edit_contact[256] = "";
    int edit_category = 0, edit_priority = 0, edit_channel = 0;
    bool edit_urgent = false, edit_high_impact = false;
    FieldErrors edit_errors;  // the editor's inline messages (App::edit_case)
    int tab = 0;
    std::string action_error;
};

struct NewCaseState {
    char title[512] = "", description[4096] = "", client_name[256] = "", client_contact[256] = "";
    char assignee[128] = "", service_completed[32] = "", due[32] = "";
    int kind = 0, category = 0, priority = 1, channel = 0, team = 0;
    bool urgent = false, high_impact = false;
    FieldErrors errors;
    bool initialised = false;
};

struct ReportsState {
    int period = 1;  // week, month, quarter
    uint64_t version = 0;   // the data the shown (or building) report reads
    int64_t built_at = 0;
    bool has = false;       // a report of this period is shown
    std::string error;
    ReportBuilder builder;  // folds a few milliseconds of cases per frame
    CaseSweep log;          // the documentation log export, the same way
};

struct ImprovementState {
    char title[256] = "", owner[128] = "", due[32] = "", description[1024] = "", link[64] = "";
    FieldErrors errors;
    std::string selected;
};

// Admin › Retention: the policy being edited and the answers awaited (admin_view.cpp).
struct RetentionEditor {
    bool editing = false;
    int default_months = 12;
    struct Kind { std::string kind; bool own = false; int months = 12; };  // own: not the default
    std::vector<Kind> kinds;  // every case kind
    uint64_t save_req = 0, run_req = 0;
    bool run_dry = true;
    std::string message;  // the last save's or run's outcome
    bool message_error = false;
};

struct AdminState {
    RetentionEditor retention;
    int tab = 0;
    std::map<std::string, std::string> data;   // endpoint -> body
    std::map<std::string, uint64_t> requests;  // endpoint -> request id
    std::string error;
};

struct UiState {
    View view = View::Inbox;
    std::string case_id;
    float dpr = 1.0f;
    ImFont* regular = nullptr;
    ImFont* bold = nullptr;
    char login_user[128] = "", login_pass[128] = "";
    // Sign in again after the session ended (reauth_modal): "Later" hides it until the user asks
    // again (status bar) or the next session ends.
    char reauth_pass[128] = "";
    bool reauth_later = false;
    InboxState inbox;
    CaseViewState case_view;
    NewCaseState new_case;
    ReportsState reports;
    ImprovementState improvement;
    AdminState admin;
    bool confirm_logout = false;
    std::string focus_request;  // bridge id of a text field to focus next frame
};

// style.cpp
void load_fonts(UiState& ui);
void apply_style(float dpr);
namespace color {
extern const ImU32 accent, accent_soft, text_dim, danger, warning, success, info, neutral, purple, sidebar, card_border;
}

// widgets.cpp: the test bridge and small building blocks
void bridge_begin_frame();
void mark(const std::string& id);  // records the last item's rectangle under id
std::string bridge_widgets_json();
void badge(const char* text, ImU32 bg, ImU32 fg = IM_COL32_WHITE);
bool primary_button(const char* label, const std::string& id, ImVec2 size = ImVec2(0, 0));
bool secondary_button(const char* label, const std::string& id, ImVec2 size = ImVec2(0, 0));
// SameLine() when an item w wide still fits on the current line, else the item goes on the next
// line (rows of buttons that wrap in narrow windows). spacing < 0: the style's item spacing.
void same_line_if_fits(float w, float spacing = -1.0f);
float button_width(const char* label);  // a Button's width for its label (up to any "##")
float toggle_width(const char* label);  // a Checkbox's or RadioButton's: its box, the inner spacing, the label
void heading(const char* text, float size = 22.0f);
void field_error(const FieldErrors& errs, const char* key);
bool combo_vocab(const char* label, const std::string& id, int* index, const std::vector<std::string_view>& items,
                 const char* none_label = nullptr);
std::string vocab_at(const std::vector<std::string_view>& items, int index, bool has_none);
int vocab_index(const std::vector<std::string_view>& items, const std::string& value, bool has_none);
std::string pretty(const std::string& token);  // "in_progress" -> "In progress"
std::string time_ago(int64_t then, int64_t now);
std::string due_text(int64_t due, int64_t now);
void sla_badge_for_row(const CaseRow& r, int64_t now);
void status_badge(const std::string& status);
bool begin_card(const char* id, ImVec2 size = ImVec2(0, 0));
void end_card();
void label_value(const char* label, const std::string& value);

// views
void draw_root(App& app, UiState& ui);
void login_view(App& app, UiState& ui);
void reauth_modal(App& app, UiState& ui);  // the session ended: sign in again as the same user
void inbox_view(App& app, UiState& ui);
void case_view(App& app, UiState& ui);
void new_case_view(App& app, UiState& ui);
void due_view(App& app, UiState& ui);
void reports_view(App& app, UiState& ui);
void improvement_view(App& app, UiState& ui);
void admin_view(App& app, UiState& ui);
void status_bar(App& app, UiState& ui);
void open_case(UiState& ui, const std::string& id);
void refresh_inbox_counts(App& app, InboxState& s);  // sidebar/inbox counts, when data changed or each minute

}  // namespace cl::ui
