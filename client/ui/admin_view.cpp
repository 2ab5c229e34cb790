// Admin screens: read views over the server's admin API (users, teams, SLA, retention, audit).
#include "core/json.h"
#include "platform/http.h"
#include "ui/ui.h"

#include <algorithm>

namespace cl::ui {

static void json_table(const json::Value& v) {
    const json::Value* arr = &v;
    if (v.IsObject()) {
        for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it)
            if (it->value.IsArray()) { arr = &it->value; break; }
    }
    if (!arr->IsArray()) {
        ImGui::TextWrapped("%s", json::to_string(v).c_str());
        return;
    }
    std::vector<std::string> cols;
    for (auto& row : arr->GetArray())
        if (row.IsObject())
            for (auto it = row.MemberBegin(); it != row.MemberEnd(); ++it) {
                std::string k(it->name.GetString());
                if (std::find(cols.begin(), cols.end(), k) == cols.end() && cols.size() < 10) cols.push_back(k);
            }
    if (cols.empty()) { ImGui::TextDisabled("Empty"); return; }
    if (ImGui::BeginTable("admin_table", static_cast<int>(cols.size()), ImGuiTableFlags_RowBg | ImGuiTableFlags_Borders |
                                                                         ImGuiTableFlags_ScrollY | ImGuiTableFlags_Resizable)) {
        for (auto& c : cols) ImGui::TableSetupColumn(c.c_str());
        ImGui::TableHeadersRow();
        for (auto& row : arr->GetArray()) {
            ImGui::TableNextRow();
            for (auto& c : cols) {
                ImGui::TableNextColumn();
                const json::Value* cell = row.IsObject() ? json::member(row, c.c_str()) : nullptr;
                if (!cell) continue;
                std::string t = cell->IsString() ? std::string(cell->GetString()) : json::to_string(*cell);
                ImGui::TextUnformatted(t.c_str());
            }
        }
        ImGui::EndTable();
    }
}

void admin_view(App& app, UiState& ui) {
    AdminState& s = ui.admin;
    heading("Administration", 24.0f);
    static const char* tabs[][2] = {{"Users", "admin/users"}, {"Teams", "admin/teams"}, {"SLA policy", "admin/sla"},
                                    {"Retention", "admin/retention"}, {"Audit log", "admin/audit"}};
    for (auto it = s.requests.begin(); it != s.requests.end();) {
        platform::HttpResponse r;
        if (it->second && app.take_response(it->second, &r)) {
            s.data[it->first] = r.status == 200 ? r.body
                                                : r.status ? App::error_text(r.status, r.body)
                                                           : "Cannot reach the server: " + r.error;
            it->second = 0;
        }
        ++it;
    }
    if (ImGui::BeginTabBar("admin_tabs")) {
        for (auto& t : tabs) {
            if (ImGui::BeginTabItem(t[0])) {
                std::string ep = t[1];
                if (!s.data.count(ep) && !s.requests.count(ep)) {
                    s.requests[ep] = app.api_get(ep);
                }
                if (ImGui::Button("Refresh")) { s.data.erase(ep); s.requests.erase(ep); }
                auto it = s.data.find(ep);
                if (it == s.data.end()) ImGui::TextDisabled("Loading\xE2\x80\xA6 (needs a connection)");
                else if (auto doc = json::parse(it->second)) json_table(doc->root());
                else ImGui::TextWrapped("%s", it->second.c_str());
                ImGui::EndTabItem();
            }
        }
        ImGui::EndTabBar();
    }
}

}  // namespace cl::ui
