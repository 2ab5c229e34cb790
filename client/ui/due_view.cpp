// Due & escalations: open cases with overdue steps or needing escalation, most urgent first.
#include "domain/sla.h"
#include "platform/browser.h"
#include "ui/ui.h"

#include <unordered_set>

namespace cl::ui {

constexpr int kDueRows = 500;  // per query: the most urgent by due time, and the flagged cases

void due_view(App& app, UiState& ui) {
    const float fs = ImGui::GetFontSize();
    heading("Due & escalations", 24.0f);
    ImGui::TextDisabled("Overdue steps per the SOP deadlines (business time) and cases that must go to management.");
    // The list (and each case's SLA steps) is rebuilt when the data changes or every 10 s as time
    // passes, not every frame: folding hundreds of cases per frame would stall the UI.
    struct DueRow { CaseRow row; std::string steps; };
    static std::vector<DueRow> cache;
    static uint64_t cache_version = 0;
    static int64_t cache_at = 0;
    static std::string cache_error;
    static bool capped = false;  // a query filled its page: there may be more
    if (cache_version != app.data_version() || app.now() - cache_at > 10000) {
        cache_version = app.data_version();
        cache_at = app.now();
        cache.clear();
        cache_error.clear();
        // The most urgent open cases by due time, then every case that needs or is under
        // escalation (those without a due time sort last and could fall past the first page).
        CaseQuery q;
        q.status = "open";
        q.sort = "due";
        q.now = app.now();
        q.limit = kDueRows;
        auto rows = app.store()->query_cases(q);
        CaseQuery flagged = q;
        flagged.status.clear();
        flagged.escalation_only = true;
        auto more = rows ? app.store()->query_cases(flagged) : rows;
        if (!rows || !more) cache_error = (!rows ? rows : more).error().message;
        else {
            capped = static_cast<int>(rows->size()) == kDueRows || static_cast<int>(more->size()) == kDueRows;
            std::unordered_set<std::string> listed;
            for (const auto& r : *rows) listed.insert(r.id);
            for (auto& r : *more)
                if (listed.insert(r.id).second) rows->push_back(std::move(r));
        }
        if (rows && more)
            for (const auto& r : *rows) {
                bool overdue = r.overdue_steps > 0 || (r.next_due > 0 && r.next_due < app.now());
                bool soon = r.next_due > 0 && r.next_due - app.now() < 8 * 3600 * 1000LL;
                if (!overdue && !r.needs_escalation && !r.escalated && !soon) continue;
                DueRow d{r, {}};
                if (auto c = app.store()->load_case(r.id)) {
                    SlaReport sla = evaluate_sla(*c, app.store()->sla_policy(), app.store()->calendar(), app.now());
                    for (const auto& st : sla.steps)
                        if (st.state == StepState::Overdue || st.state == StepState::DueSoon)
                            d.steps += (d.steps.empty() ? "" : ", ") + pretty(st.step) + " " + due_text(st.due, app.now());
                    if (sla.needs_escalation && !sla.escalated)
                        d.steps += (d.steps.empty() ? "" : "; ") + std::string("escalate: ") + sla.escalation_reason;
                }
                cache.push_back(std::move(d));
            }
    }
    if (!cache_error.empty()) { ImGui::TextDisabled("%s", cache_error.c_str()); return; }
    const std::vector<DueRow>* rows = &cache;
    int shown = 0;
    if (ImGui::BeginTable("due", 5, ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerH | ImGuiTableFlags_BordersOuter |
                                        ImGuiTableFlags_ScrollY | ImGuiTableFlags_SizingStretchProp,
                          ImVec2(0, -ImGui::GetTextLineHeightWithSpacing() * 1.5f))) {  // room for the footer line
        ImGui::TableSetupScrollFreeze(0, 1);
        ImGui::TableSetupColumn("Reference", 0, 1.2f);
        ImGui::TableSetupColumn("Client", 0, 1.5f);
        ImGui::TableSetupColumn("State", 0, 1.0f);
        ImGui::TableSetupColumn("Steps", 0, 3.0f);
        ImGui::TableSetupColumn("Assignee", 0, 1.0f);
        ImGui::TableHeadersRow();
        for (const auto& d : *rows) {
            const CaseRow& r = d.row;
            ImGui::TableNextRow(0, ImGui::GetFrameHeight() + fs * 0.2f);
            ImGui::TableNextColumn();
            ImGui::PushID(shown);
            ImGui::PushStyleVar(ImGuiStyleVar_SelectableTextAlign, ImVec2(0.0f, 0.5f));
            bool open = ImGui::Selectable(r.reference.c_str(), false, ImGuiSelectableFlags_SpanAllColumns | ImGuiSelectableFlags_AllowOverlap,
                                          ImVec2(0, ImGui::GetFrameHeight()));
            ImGui::PopStyleVar();
            if (open) open_case(ui, r.id);
            mark("due.row." + std::to_string(shown));
            ImGui::PopID();
            ImGui::TableNextColumn();
            ImGui::AlignTextToFramePadding();
            ImGui::TextUnformatted(r.client_name.c_str());
            ImGui::TableNextColumn();
            sla_badge_for_row(r, app.now());
            ImGui::TableNextColumn();
            ImGui::AlignTextToFramePadding();
            ImGui::TextUnformatted(d.steps.c_str());
            ImGui::TableNextColumn();
            ImGui::AlignTextToFramePadding();
            ImGui::TextUnformatted(r.assignee.c_str());
            ++shown;
        }
        ImGui::EndTable();
    }
    if (shown == 0) ImGui::TextDisabled("Nothing is overdue or due within 8 hours, and nothing needs escalation.");
    else if (capped) ImGui::TextDisabled("%d cases need attention: the most urgent (filter the inbox for the rest)", shown);
    else ImGui::TextDisabled("%d case%s need attention", shown, shown == 1 ? "" : "s");
}

}  // namespace cl::ui
