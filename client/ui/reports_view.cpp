// Reports: the core's weekly/monthly/quarterly report as charts and tables, with CSV/JSON export.
#include "domain/report.h"
#include "platform/browser.h"
#include "ui/ui.h"

namespace cl::ui {

namespace {
Report g_report;
}

static void bars(const char* title, const std::map<std::string, int>& m, ImU32 col) {
    const float fs = ImGui::GetFontSize();
    heading(title, 16.0f);
    int maxv = 1;
    for (auto& [k, v] : m) maxv = std::max(maxv, v);
    float w = ImGui::GetContentRegionAvail().x - fs * 10;
    for (auto& [k, v] : m) {
        ImGui::TextUnformatted(pretty(k.empty() ? std::string("none") : k).c_str());
        ImGui::SameLine(fs * 8);
        ImVec2 p = ImGui::GetCursorScreenPos();
        float bw = std::max(2.0f, w * v / maxv);
        ImGui::GetWindowDrawList()->AddRectFilled(ImVec2(p.x, p.y + fs * 0.15f), ImVec2(p.x + bw, p.y + fs * 0.95f), col, fs * 0.2f);
        ImGui::Dummy(ImVec2(bw, fs));
        ImGui::SameLine();
        ImGui::Text("%d", v);
    }
    if (m.empty()) ImGui::TextDisabled("No data");
}

void reports_view(App& app, UiState& ui) {
    ReportsState& s = ui.reports;
    const float fs = ImGui::GetFontSize();
    heading("Reports", 24.0f);
    static const char* periods[] = {"week", "month", "quarter"};
    for (int i = 0; i < 3; ++i) {
        if (i) ImGui::SameLine();
        if (ImGui::RadioButton(pretty(periods[i]).c_str(), s.period == i)) { s.period = i; s.has = false; }
        mark(std::string("reports.period.") + periods[i]);
    }
    if (!s.has || s.version != app.data_version() || app.now() - s.built_at > 60000) {
        auto cases = app.store()->all_cases();
        if (cases) {
            ReportQuery q = PeriodFromName::make(periods[s.period], app.now(), app.store()->calendar());
            g_report = build_report(*cases, q, app.store()->sla_policy(), app.store()->calendar(), app.now());
            s.has = true;
            s.error.clear();
        } else {
            s.error = cases.error().message;
        }
        s.version = app.data_version();
        s.built_at = app.now();
    }
    ImGui::SameLine(0, fs * 2);
    if (secondary_button("Export CSV", "reports.csv")) platform::download_file("closeloop-report.csv", "text/csv", report_to_csv(g_report));
    ImGui::SameLine();
    if (secondary_button("Export JSON", "reports.json")) platform::download_file("closeloop-report.json", "application/json", report_to_json(g_report));
    ImGui::SameLine();
    if (secondary_button("Documentation log", "reports.log")) {
        if (auto cases = app.store()->all_cases()) platform::download_file("closeloop-log.csv", "text/csv", documentation_log_csv(*cases));
    }
    if (!s.error.empty()) { ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(color::danger), "%s", s.error.c_str()); return; }
    const Report& r = g_report;
    ImGui::TextDisabled("%s \xE2\x80\x93 %s", platform::local_date_string(r.query.from, "%Y-%m-%d").c_str(),
                        platform::local_date_string(r.query.to - 1, "%Y-%m-%d").c_str());

    struct Kpi { const char* label; std::string value; };
    char nps[32], csat[32], esc[32];
    std::snprintf(nps, sizeof nps, "%+.0f", r.surveys.nps);
    std::snprintf(csat, sizeof csat, "%.0f%%", r.surveys.csat_percent);
    std::snprintf(esc, sizeof esc, "%.0f%%", r.escalation_rate);
    Kpi k[] = {{"Cases", std::to_string(r.total)}, {"NPS", r.surveys.nps_responses ? nps : "-"},
               {"CSAT (4-5)", r.surveys.csat_responses ? csat : "-"}, {"Escalation rate", esc}, {"Resolved", std::to_string(r.resolved)}};
    float tw = (ImGui::GetContentRegionAvail().x - fs * 0.8f * 4) / 5;
    for (int i = 0; i < 5; ++i) {
        if (i) ImGui::SameLine(0, fs * 0.8f);
        std::string id = "kpi" + std::to_string(i);
        begin_card(id.c_str(), ImVec2(tw, fs * 4.2f));
        ImGui::TextDisabled("%s", k[i].label);
        ImGui::PushFont(ui.bold, 26.0f);
        ImGui::TextUnformatted(k[i].value.c_str());
        ImGui::PopFont();
        end_card();
        mark("reports.kpi." + std::to_string(i));
    }
    float half = (ImGui::GetContentRegionAvail().x - fs) * 0.5f;
    begin_card("trend", ImVec2(half, 0));
    heading("NPS and CSAT trend", 16.0f);
    std::vector<float> n, c;
    for (auto& p : r.trend) { n.push_back(static_cast<float>(p.nps)); c.push_back(static_cast<float>(p.csat)); }
    if (!n.empty()) {
        ImGui::PlotLines("NPS", n.data(), static_cast<int>(n.size()), 0, nullptr, -100, 100, ImVec2(-fs * 3, fs * 5));
        ImGui::PlotLines("CSAT %", c.data(), static_cast<int>(c.size()), 0, nullptr, 0, 100, ImVec2(-fs * 3, fs * 5));
    } else ImGui::TextDisabled("No survey answers in this period");
    end_card();
    ImGui::SameLine(0, fs);
    begin_card("sla_compliance", ImVec2(0, 0));
    heading("SLA compliance", 16.0f);
    if (ImGui::BeginTable("slat", 5, ImGuiTableFlags_RowBg | ImGuiTableFlags_SizingStretchProp)) {
        ImGui::TableSetupColumn("Step"); ImGui::TableSetupColumn("Met"); ImGui::TableSetupColumn("Missed");
        ImGui::TableSetupColumn("Open"); ImGui::TableSetupColumn("%");
        ImGui::TableHeadersRow();
        for (auto& st : r.sla) {
            ImGui::TableNextRow();
            ImGui::TableNextColumn(); ImGui::TextUnformatted(pretty(st.step).c_str());
            ImGui::TableNextColumn(); ImGui::Text("%d", st.met);
            ImGui::TableNextColumn(); ImGui::Text("%d", st.missed);
            ImGui::TableNextColumn(); ImGui::Text("%d", st.open);
            ImGui::TableNextColumn(); ImGui::Text("%.0f%%", st.percent);
        }
        ImGui::EndTable();
    }
    end_card();
    begin_card("cats", ImVec2(half, 0));
    bars("Categories", r.by_category, color::accent);
    bars("Channels", r.by_channel, IM_COL32(14, 140, 160, 255));
    end_card();
    ImGui::SameLine(0, fs);
    begin_card("themes", ImVec2(0, 0));
    heading("Recurring themes", 16.0f);
    for (auto& t : r.themes) ImGui::BulletText("%s  (%d, previously %d)", t.term.c_str(), t.count, t.previous_count);
    if (r.themes.empty()) ImGui::TextDisabled("No comments in this period");
    end_card();
}

}  // namespace cl::ui
