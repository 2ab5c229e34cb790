// Improvement plan: actions (cases of kind "improvement") with owner, deadline, status and linked cases.
#include "domain/vocab.h"
#include "platform/browser.h"
#include "ui/ui.h"

namespace cl::ui {

void improvement_view(App& app, UiState& ui) {
    ImprovementState& s = ui.improvement;
    const float fs = ImGui::GetFontSize();
    heading("Improvement plan", 24.0f);
    ImGui::TextDisabled("Actions that close the loop: owner, deadline, status and the cases they address.");
    begin_card("improvement_new");
    heading("New action", 16.0f);
    ImGui::SetNextItemWidth(fs * 18);
    ImGui::InputTextWithHint("##t", "Action", s.title, sizeof s.title); mark("improvement.title");
    ImGui::SameLine();
    ImGui::SetNextItemWidth(fs * 8);
    ImGui::InputTextWithHint("##o", "Owner", s.owner, sizeof s.owner); mark("improvement.owner");
    ImGui::SameLine();
    ImGui::SetNextItemWidth(fs * 8);
    ImGui::InputTextWithHint("##d", "Due YYYY-MM-DD", s.due, sizeof s.due); mark("improvement.due");
    ImGui::SameLine();
    if (primary_button("Add", "improvement.add")) {
        NewCaseForm f;
        f.kind = "improvement";
        f.title = s.title;
        f.assignee = s.owner;
        f.due = s.due;
        f.description = s.description;
        auto id = app.create_case(f, &s.errors);
        if (id) { s = ImprovementState{}; app.toast("Improvement action added"); }
    }
    for (auto& [k, v] : s.errors) ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(color::danger), "%s", v.c_str());
    end_card();

    // Rows, deadlines and linked references are rebuilt when the data changes, not every frame.
    struct PlanRow { CaseRow row; int64_t due_at = 0; std::string links; };
    static std::vector<PlanRow> cache;
    static uint64_t cache_version = 0;
    static Expected<std::vector<CaseRow>> rows_result = std::vector<CaseRow>{};
    if (cache_version != app.data_version()) {
        cache_version = app.data_version();
        cache.clear();
        CaseQuery q;
        q.kind = "improvement";
        q.sort = "due";
        q.limit = 500;
        q.now = app.now();
        rows_result = app.store()->query_cases(q);
        if (rows_result)
            for (const auto& r : *rows_result) {
                PlanRow p{r, 0, {}};
                if (auto c = app.store()->load_case(r.id)) {
                    p.due_at = c->due_at;
                    for (auto& l : c->links) {
                        auto lc = app.store()->load_case(l);
                        p.links += (p.links.empty() ? "" : ", ") + (lc ? lc->reference : l);
                    }
                }
                cache.push_back(std::move(p));
            }
    }
    const auto& rows = rows_result;
    if (!rows) { ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(color::danger), "%s", rows.error().message.c_str()); return; }
    if (rows->empty()) {
        ImGui::Dummy(ImVec2(0, fs * 0.5f));
        ImGui::TextDisabled("No improvement actions yet. When feedback shows a recurring problem, add an action above,");
        ImGui::TextDisabled("give it an owner and a deadline, and link the cases it addresses.");
        return;
    }
    if (ImGui::BeginTable("plan", 6, ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerH | ImGuiTableFlags_BordersOuter |
                                         ImGuiTableFlags_SizingStretchProp)) {
        ImGui::TableSetupColumn("Action", 0, 3);
        ImGui::TableSetupColumn("Owner", 0, 1);
        ImGui::TableSetupColumn("Deadline", 0, 1.2f);
        ImGui::TableSetupColumn("Status", 0, 1);
        ImGui::TableSetupColumn("Linked cases", 0, 2);
        ImGui::TableSetupColumn("", 0, 1.6f);
        ImGui::TableHeadersRow();
        int i = 0;
        for (const auto& p : cache) {
            const CaseRow& r = p.row;
            ImGui::TableNextRow(0, ImGui::GetFrameHeight());
            ImGui::PushID(i);
            ImGui::TableNextColumn();
            ImGui::AlignTextToFramePadding();
            if (ImGui::Selectable(r.title.c_str(), false, ImGuiSelectableFlags_AllowOverlap)) open_case(ui, r.id);
            ImGui::TableNextColumn(); ImGui::TextUnformatted(r.assignee.c_str());
            ImGui::TableNextColumn();
            if (p.due_at) {
                bool late = p.due_at < app.now() && !vocab::is_closed_status(r.status);
                if (late) ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(color::danger), "%s", platform::local_date_string(p.due_at, "%Y-%m-%d").c_str());
                else ImGui::TextUnformatted(platform::local_date_string(p.due_at, "%Y-%m-%d").c_str());
            }
            ImGui::TableNextColumn(); status_badge(r.status);
            ImGui::TableNextColumn();
            ImGui::TextUnformatted(p.links.empty() ? "-" : p.links.c_str());
            ImGui::TableNextColumn();
            if (s.selected == r.id) {
                ImGui::SetNextItemWidth(fs * 6);
                ImGui::InputTextWithHint("##l", "Case ref", s.link, sizeof s.link);
                ImGui::SameLine();
                if (ImGui::SmallButton("Link")) {
                    Status st = app.link_improvement(r.id, s.link);
                    if (!st) app.toast(st.error().message, true);
                    else { s.link[0] = 0; s.selected.clear(); }
                }
            } else if (ImGui::SmallButton("Link case")) s.selected = r.id;
            ImGui::PopID();
            ++i;
        }
        ImGui::EndTable();
    }
}

}  // namespace cl::ui
