// Admin screens over the server's admin API (users, teams, SLA, retention, audit), each drawn as a
// proper table or settings sheet (formatted dates, readable labels), not raw JSON. The retention
// policy is edited here too, with a dry run and a sweep on demand.
#include "core/json.h"
#include "domain/vocab.h"
#include "platform/browser.h"
#include "platform/http.h"
#include "ui/ui.h"

#include <algorithm>
#include <vector>

namespace cl::ui {

namespace {

const char* kDash = "\xE2\x80\x94";

std::string str_of(const json::Value* v) {
    if (!v || v->IsNull()) return "";
    if (v->IsString()) return v->GetString();
    if (v->IsBool()) return v->GetBool() ? "yes" : "no";
    return json::to_string(*v);
}
std::string str_at(const json::Value& o, const char* k) { return o.IsObject() ? str_of(json::member(o, k)) : ""; }
int64_t int_at(const json::Value& o, const char* k) {
    const json::Value* v = o.IsObject() ? json::member(o, k) : nullptr;
    return v && v->IsNumber() ? static_cast<int64_t>(v->GetDouble()) : 0;
}
bool bool_at(const json::Value& o, const char* k) {
    const json::Value* v = o.IsObject() ? json::member(o, k) : nullptr;
    return v && v->IsBool() && v->GetBool();
}
std::string join_array(const json::Value* v) {
    std::string out;
    if (v && v->IsArray())
        for (auto& x : v->GetArray()) out += (out.empty() ? "" : ", ") + str_of(&x);
    return out;
}
std::string when(int64_t ms) { return ms > 0 ? platform::local_date_string(ms, "%Y-%m-%d %H:%M") : kDash; }

constexpr ImGuiTableFlags kTable = ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerH | ImGuiTableFlags_BordersOuter |
                                   ImGuiTableFlags_SizingStretchProp;

void cell(const std::string& s) {
    ImGui::TableNextColumn();
    ImGui::AlignTextToFramePadding();
    ImGui::TextUnformatted(s.empty() ? kDash : s.c_str());
}

void empty_state(const char* text) {
    ImGui::Dummy(ImVec2(0, ImGui::GetFontSize()));
    ImGui::TextDisabled("%s", text);
}

void users_table(const json::Value& root) {
    const json::Value* arr = json::member(root, "users");
    if (!arr || !arr->IsArray() || arr->GetArray().Empty()) return empty_state("No users yet.");
    ImGui::TextDisabled("%u user%s", arr->GetArray().Size(), arr->GetArray().Size() == 1 ? "" : "s");
    if (ImGui::BeginTable("users", 5, kTable)) {
        ImGui::TableSetupColumn("User", 0, 1.6f);
        ImGui::TableSetupColumn("Role", 0, 1.0f);
        ImGui::TableSetupColumn("Teams", 0, 1.6f);
        ImGui::TableSetupColumn("Status", 0, 0.9f);
        ImGui::TableSetupColumn("Created", 0, 1.2f);
        ImGui::TableHeadersRow();
        for (auto& u : arr->GetArray()) {
            ImGui::TableNextRow(0, ImGui::GetFrameHeight());
            std::string id = str_at(u, "id"), name = str_at(u, "name");
            ImGui::TableNextColumn();
            ImGui::AlignTextToFramePadding();
            ImGui::TextUnformatted(name.empty() ? id.c_str() : name.c_str());
            if (!name.empty() && name != id) { ImGui::SameLine(); ImGui::TextDisabled("(%s)", id.c_str()); }
            ImGui::TableNextColumn();
            std::string role = str_at(u, "role");
            badge(pretty(role).c_str(), role == "admin" ? color::purple : role == "manager" ? color::accent
                                        : role == "analyst" ? IM_COL32(14, 140, 160, 255) : color::neutral);
            cell(join_array(json::member(u, "teams")));
            ImGui::TableNextColumn();
            if (bool_at(u, "disabled")) badge("Disabled", IM_COL32(225, 229, 236, 255), color::text_dim);
            else badge("Active", IM_COL32(222, 243, 232, 255), color::success);
            cell(when(int_at(u, "created_at")));
        }
        ImGui::EndTable();
    }
}

void teams_table(const json::Value& root) {
    const json::Value* arr = json::member(root, "teams");
    if (!arr || !arr->IsArray() || arr->GetArray().Empty()) return empty_state("No teams yet.");
    if (ImGui::BeginTable("teams", 3, kTable)) {
        ImGui::TableSetupColumn("Team", 0, 1.2f);
        ImGui::TableSetupColumn("Members", 0, 0.6f);
        ImGui::TableSetupColumn("Who", 0, 4.0f);
        ImGui::TableHeadersRow();
        for (auto& t : arr->GetArray()) {
            ImGui::TableNextRow(0, ImGui::GetFrameHeight());
            const json::Value* m = json::member(t, "members");
            cell(str_at(t, "name"));
            cell(std::to_string(m && m->IsArray() ? m->GetArray().Size() : 0));
            std::string who = join_array(m);
            cell(who.empty() ? "no members" : who);
        }
        ImGui::EndTable();
    }
}

void settings_row(const char* label, const std::string& value, const char* note = nullptr) {
    ImGui::TableNextRow(0, ImGui::GetFrameHeight());
    ImGui::TableNextColumn();
    ImGui::AlignTextToFramePadding();
    ImGui::TextUnformatted(label);
    ImGui::TableNextColumn();
    ImGui::AlignTextToFramePadding();
    ImGui::TextUnformatted(value.c_str());
    ImGui::TableNextColumn();
    ImGui::AlignTextToFramePadding();
    if (note) ImGui::TextDisabled("%s", note);
}

std::string num_unit(const json::Value& o, const char* k, const char* unit) {
    const json::Value* v = json::member(o, k);
    if (!v || !v->IsNumber()) return kDash;
    char buf[64];
    double d = v->GetDouble();
    std::snprintf(buf, sizeof buf, "%g %s%s", d, unit, d == 1 ? "" : "s");
    return buf;
}

std::string minute_of_day(int64_t m) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%02d:%02d", static_cast<int>(m / 60), static_cast<int>(m % 60));
    return buf;
}

void sla_sheet(const json::Value& root) {
    const float fs = ImGui::GetFontSize();
    const json::Value* pol = json::member(root, "policy");
    const json::Value* cal = json::member(root, "calendar");
    float half = (ImGui::GetContentRegionAvail().x - fs) * 0.5f;
    begin_card("sla_policy", ImVec2(half, 0));
    heading("SOP deadlines", 16.0f);
    if (pol && pol->IsObject() &&
        ImGui::BeginTable("policy", 3, ImGuiTableFlags_RowBg | ImGuiTableFlags_SizingStretchProp)) {
        ImGui::TableSetupColumn("Step", 0, 1.6f);
        ImGui::TableSetupColumn("Deadline", 0, 1.0f);
        ImGui::TableSetupColumn("", 0, 1.6f);
        ImGui::TableHeadersRow();
        settings_row("Thank you", num_unit(*pol, "thank_you_hours", "hour"), "after the service is completed");
        settings_row("Survey", num_unit(*pol, "survey_hours", "hour"), "after the service is completed");
        settings_row("Follow-up contact", num_unit(*pol, "follow_up_business_days", "business day"));
        settings_row("Acknowledge", num_unit(*pol, "acknowledge_business_days", "business day"));
        settings_row("Respond", num_unit(*pol, "respond_business_days", "business day"));
        settings_row("Respond (negative)", num_unit(*pol, "respond_negative_business_days", "business day"));
        settings_row("Escalate", num_unit(*pol, "escalate_business_days", "business day"));
        settings_row("Confirm satisfaction", num_unit(*pol, "confirm_business_days", "business day"));
        const json::Value* ds = json::member(*pol, "due_soon_percent");
        settings_row("\"Due soon\" warning", ds && ds->IsNumber() ? std::to_string(static_cast<int>(ds->GetDouble())) + "% of the time left" : kDash);
        settings_row("Pause while awaiting client", bool_at(*pol, "pause_when_awaiting_client") ? "yes" : "no");
        ImGui::EndTable();
    }
    end_card();
    ImGui::SameLine(0, fs);
    begin_card("sla_calendar", ImVec2(0, 0));
    heading("Business calendar", 16.0f);
    if (cal && cal->IsObject() &&
        ImGui::BeginTable("calendar", 3, ImGuiTableFlags_RowBg | ImGuiTableFlags_SizingStretchProp)) {
        ImGui::TableSetupColumn("Setting", 0, 1.2f);
        ImGui::TableSetupColumn("Value", 0, 2.0f);
        ImGui::TableSetupColumn("", 0, 0.2f);
        ImGui::TableHeadersRow();
        std::string tz = str_at(*cal, "tz");
        settings_row("Time zone", tz.empty() ? "UTC" : tz);
        static const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
        int64_t mask = int_at(*cal, "work_days_mask");
        std::string wd;
        for (int i = 1; i <= 7; ++i)
            if (mask & (1LL << (i % 7))) wd += (wd.empty() ? "" : ", ") + std::string(days[i % 7]);
        settings_row("Working days", wd.empty() ? "none" : wd);
        settings_row("Working hours", minute_of_day(int_at(*cal, "day_start_minute")) + " \xE2\x80\x93 " +
                                          minute_of_day(int_at(*cal, "day_end_minute")));
        std::string hol = join_array(json::member(*cal, "holidays"));
        ImGui::TableNextRow(0, ImGui::GetFrameHeight());
        ImGui::TableNextColumn();
        ImGui::AlignTextToFramePadding();
        ImGui::TextUnformatted("Holidays");
        ImGui::TableNextColumn();
        ImGui::AlignTextToFramePadding();
        ImGui::PushTextWrapPos(0);
        ImGui::TextUnformatted(hol.empty() ? "none set" : hol.c_str());
        ImGui::PopTextWrapPos();
        ImGui::EndTable();
    }
    end_card();
}

// A failed admin request's message: the server's error, or why it could not be reached.
std::string response_error(const platform::HttpResponse& r) {
    return r.status ? App::error_text(r.status, r.body) : "Cannot reach the server: " + r.error;
}

// The retention policy: shown, edited (PUT admin/retention) and tried: a dry run lists what the
// next sweep would purge, and a sweep can run now (POST admin/retention/run), after a confirmation.
// The server checks the values again (12 to 120 months) and keeps the audit trail.
void retention_outcome(App& app, RetentionEditor& e, bool* reload) {
    platform::HttpResponse r;
    if (e.save_req && app.take_response(e.save_req, &r)) {
        e.save_req = 0;
        e.message_error = r.status != 200;
        e.message = r.status == 200 ? "Saved. The next sweep applies the new periods." : response_error(r);
        if (r.status == 200) {
            e.editing = false;
            *reload = true;
        }
    }
    if (e.run_req && app.take_response(e.run_req, &r)) {
        e.run_req = 0;
        e.message_error = r.status != 200;
        if (r.status != 200) {
            e.message = response_error(r);
            return;
        }
        auto doc = json::parse(r.body);
        const json::Value* purged = doc ? json::member(doc->root(), "purged") : nullptr;
        const json::Value* held = doc ? json::member(doc->root(), "held") : nullptr;
        const unsigned n = purged && purged->IsArray() ? purged->GetArray().Size() : 0;
        const unsigned h = held && held->IsArray() ? held->GetArray().Size() : 0;
        std::string refs;
        if (purged && purged->IsArray())
            for (unsigned i = 0; i < n && i < 8; ++i) refs += (refs.empty() ? "" : ", ") + str_at(purged->GetArray()[i], "reference");
        if (n > 8) refs += ", \xE2\x80\xA6";
        const std::string cases = std::to_string(n) + (n == 1 ? " case" : " cases");
        e.message = e.run_dry ? (n ? cases + " would be purged now: " + refs : "Nothing would be purged now.")
                              : (n ? "Purged " + cases + " (" + refs + "); devices drop them at their next sync." : "Nothing to purge.");
        if (h) e.message += " " + std::to_string(h) + (h == 1 ? " case is" : " cases are") + " kept on legal hold.";
    }
}

void retention_sheet(App& app, RetentionEditor& e, const json::Value& root, bool* reload) {
    retention_outcome(app, e, reload);
    const float fs = ImGui::GetFontSize();
    const json::Value* per_kind = json::member(root, "months_after_closure");
    auto months_of = [&](const std::string& kind) {
        const json::Value* v = per_kind && per_kind->IsObject() ? json::member(*per_kind, kind.c_str()) : nullptr;
        return v && v->IsNumber() ? static_cast<int>(v->GetDouble()) : 0;
    };
    begin_card("retention", ImVec2(fs * 36, 0));
    heading("Retention after closure", 16.0f);
    if (!e.editing) {
        if (ImGui::BeginTable("retention_t", 3, ImGuiTableFlags_RowBg | ImGuiTableFlags_SizingStretchProp)) {
            ImGui::TableSetupColumn("Case kind", 0, 1.2f);
            ImGui::TableSetupColumn("Kept for", 0, 1.0f);
            ImGui::TableSetupColumn("", 0, 0.6f);
            ImGui::TableHeadersRow();
            if (per_kind && per_kind->IsObject())
                for (auto it = per_kind->MemberBegin(); it != per_kind->MemberEnd(); ++it)
                    settings_row(pretty(it->name.GetString()).c_str(), num_unit(*per_kind, it->name.GetString(), "month"));
            settings_row("Other kinds", num_unit(root, "default_months", "month"));
            ImGui::EndTable();
        }
        ImGui::Spacing();
        ImGui::TextDisabled("Then the case is purged from the server and, on their next sync, from every device.");
        ImGui::Spacing();
        if (secondary_button("Edit", "admin.retention.edit")) {
            e.editing = true;
            e.message.clear();
            e.default_months = static_cast<int>(int_at(root, "default_months"));
            e.kinds.clear();
            for (auto k : vocab::kinds()) {
                const int m = months_of(std::string(k));
                e.kinds.push_back({std::string(k), m != 0, m != 0 ? m : e.default_months});
            }
        }
        ImGui::SameLine();
        ImGui::BeginDisabled(e.run_req != 0);
        if (secondary_button("Preview the next sweep", "admin.retention.preview")) {
            e.run_dry = true;
            e.message.clear();
            e.run_req = platform::http_request("POST", app.api_base() + "/admin/retention/run?dry_run=1", "", app.session().token);
        }
        ImGui::SameLine();
        if (secondary_button("Run the sweep now\xE2\x80\xA6", "admin.retention.run")) ImGui::OpenPopup("Run the retention sweep?");
        ImGui::EndDisabled();
        if (ImGui::BeginPopupModal("Run the retention sweep?", nullptr, ImGuiWindowFlags_AlwaysAutoResize)) {
            ImGui::TextUnformatted("Every case past its retention period is purged from the server now,\n"
                                   "and from every device at its next sync. This cannot be undone.");
            ImGui::Spacing();
            if (primary_button("Purge expired cases", "admin.retention.run_confirm")) {
                e.run_dry = false;
                e.message.clear();
                e.run_req = platform::http_request("POST", app.api_base() + "/admin/retention/run", "", app.session().token);
                ImGui::CloseCurrentPopup();
            }
            ImGui::SameLine();
            if (secondary_button("Cancel", "admin.retention.run_cancel")) ImGui::CloseCurrentPopup();
            ImGui::EndPopup();
        }
    } else {
        ImGui::TextDisabled("From 12 to 120 months after a case is resolved or closed.");
        if (ImGui::BeginTable("retention_edit", 2, ImGuiTableFlags_RowBg | ImGuiTableFlags_SizingStretchProp)) {
            ImGui::TableSetupColumn("Case kind", 0, 1.0f);
            ImGui::TableSetupColumn("Kept for (months)", 0, 1.4f);
            ImGui::TableHeadersRow();
            auto months_input = [&](const char* label, const std::string& id, int* v) {
                ImGui::TableNextRow(0, ImGui::GetFrameHeight());
                ImGui::TableNextColumn();
                ImGui::AlignTextToFramePadding();
                ImGui::TextUnformatted(label);
                ImGui::TableNextColumn();
                ImGui::SetNextItemWidth(fs * 5);
                ImGui::InputInt(("##" + id).c_str(), v, 0, 0);  // a plain number field; the server checks the range
                mark(id);
            };
            months_input("Every kind (default)", "admin.retention.default", &e.default_months);
            for (auto& k : e.kinds) {
                ImGui::TableNextRow(0, ImGui::GetFrameHeight());
                ImGui::TableNextColumn();
                ImGui::AlignTextToFramePadding();
                ImGui::TextUnformatted(pretty(k.kind).c_str());
                ImGui::TableNextColumn();
                ImGui::Checkbox(("own period##" + k.kind).c_str(), &k.own);
                mark("admin.retention.own." + k.kind);
                if (k.own) {
                    ImGui::SameLine();
                    ImGui::SetNextItemWidth(fs * 5);
                    ImGui::InputInt(("##months_" + k.kind).c_str(), &k.months, 0, 0);
                    mark("admin.retention.months." + k.kind);
                }
            }
            ImGui::EndTable();
        }
        ImGui::Spacing();
        ImGui::BeginDisabled(e.save_req != 0);
        if (primary_button("Save", "admin.retention.save")) {
            json::Writer w;
            w.begin_object().kv("default_months", static_cast<int64_t>(e.default_months)).key("months_after_closure").begin_object();
            for (const auto& k : e.kinds)
                if (k.own) w.kv(k.kind, static_cast<int64_t>(k.months));
            w.end_object().kv("action", "purge").end_object();
            e.message.clear();
            e.save_req = platform::http_request("PUT", app.api_base() + "/admin/retention", w.take(), app.session().token);
        }
        ImGui::EndDisabled();
        ImGui::SameLine();
        if (secondary_button("Cancel", "admin.retention.cancel")) {
            e.editing = false;
            e.message.clear();
        }
    }
    if (e.save_req || e.run_req) ImGui::TextDisabled("Working\xE2\x80\xA6");
    if (!e.message.empty()) {
        ImGui::PushTextWrapPos(0);
        ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(e.message_error ? color::danger : color::success), "%s", e.message.c_str());
        ImGui::PopTextWrapPos();
        mark("admin.retention.message");
    }
    end_card();
}

std::string detail_text(const json::Value* d) {
    if (!d || !d->IsObject()) return d ? str_of(d) : "";
    std::string out;
    for (auto it = d->MemberBegin(); it != d->MemberEnd(); ++it) {
        std::string v = it->value.IsArray() ? join_array(&it->value) : str_of(&it->value);
        out += (out.empty() ? "" : " \xC2\xB7 ") + pretty(it->name.GetString()) + ": " + v;
    }
    return out;
}

void audit_table(const json::Value& root, AdminState& s) {
    const json::Value* arr = json::member(root, "entries");
    if (!arr || !arr->IsArray() || arr->GetArray().Empty()) return empty_state("No audit entries yet.");
    std::vector<const json::Value*> rows;
    for (auto& e : arr->GetArray()) rows.push_back(&e);
    std::sort(rows.begin(), rows.end(), [](auto* a, auto* b) { return int_at(*a, "at") > int_at(*b, "at"); });  // newest first
    ImGui::TextDisabled("%zu entr%s, newest first", rows.size(), rows.size() == 1 ? "y" : "ies");
    (void)s;
    if (ImGui::BeginTable("audit", 5, kTable | ImGuiTableFlags_ScrollY)) {  // fills the screen, scrolls
        ImGui::TableSetupScrollFreeze(0, 1);
        ImGui::TableSetupColumn("When", 0, 1.1f);
        ImGui::TableSetupColumn("Who", 0, 0.8f);
        ImGui::TableSetupColumn("Action", 0, 1.1f);
        ImGui::TableSetupColumn("Target", 0, 1.0f);
        ImGui::TableSetupColumn("Details", 0, 3.0f);
        ImGui::TableHeadersRow();
        ImGuiListClipper clip;
        clip.Begin(static_cast<int>(rows.size()));
        while (clip.Step())
            for (int i = clip.DisplayStart; i < clip.DisplayEnd; ++i) {
                const json::Value& e = *rows[i];
                ImGui::TableNextRow(0, ImGui::GetFrameHeight());
                cell(when(int_at(e, "at")));
                cell(str_at(e, "actor"));
                std::string a = str_at(e, "action");
                for (auto& ch : a) if (ch == '.') ch = ' ';
                cell(pretty(a));
                cell(str_at(e, "target"));
                cell(detail_text(json::member(e, "detail")));
            }
        ImGui::EndTable();
    }
}

}  // namespace

void admin_view(App& app, UiState& ui) {
    AdminState& s = ui.admin;
    const float fs = ImGui::GetFontSize();
    heading("Administration", 24.0f);
    ImGui::TextDisabled("Read from the server: these screens need a connection and are not kept on the device.");
    static const char* tabs[][3] = {{"Users", "admin/users", "users"}, {"Teams", "admin/teams", "teams"},
                                    {"SLA policy", "admin/sla", "sla"}, {"Retention", "admin/retention", "retention"},
                                    {"Audit log", "admin/audit", "audit"}};
    for (auto it = s.requests.begin(); it != s.requests.end();) {
        platform::HttpResponse r;
        if (it->second && app.take_response(it->second, &r)) {
            s.data[it->first] = r.status == 200 ? r.body : response_error(r);
            it->second = 0;
        }
        ++it;
    }
    if (ImGui::BeginTabBar("admin_tabs")) {
        for (auto& t : tabs) {
            bool open = ImGui::BeginTabItem(t[0]);
            mark(std::string("admin.tab.") + t[2]);
            if (!open) continue;
            std::string ep = t[1];
            if (!s.data.count(ep) && !s.requests.count(ep)) s.requests[ep] = app.api_get(ep);
            ImGui::Dummy(ImVec2(0, fs * 0.2f));
            if (secondary_button("Refresh", "admin.refresh")) { s.data.erase(ep); s.requests.erase(ep); }
            ImGui::SameLine();
            auto it = s.data.find(ep);
            if (it == s.data.end()) {
                ImGui::AlignTextToFramePadding();
                ImGui::TextDisabled(app.browser_online() ? "Loading\xE2\x80\xA6" : "Offline: connect to load this screen.");
            } else if (auto doc = json::parse(it->second); doc && doc->root().IsObject()) {
                ImGui::NewLine();
                const json::Value& root = doc->root();
                std::string k = t[2];
                if (k == "users") users_table(root);
                else if (k == "teams") teams_table(root);
                else if (k == "sla") sla_sheet(root);
                else if (k == "retention") {
                    bool reload = false;
                    retention_sheet(app, s.retention, root, &reload);
                    if (reload) { s.data.erase(ep); s.requests.erase(ep); }
                }
                else audit_table(root, s);
            } else {
                ImGui::AlignTextToFramePadding();
                ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(color::danger), "%s", it->second.c_str());
            }
            ImGui::EndTabItem();
        }
        ImGui::EndTabBar();
    }
}

}  // namespace cl::ui
