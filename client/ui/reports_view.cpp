// Reports: the core's weekly/monthly/quarterly report as charts and tables, with CSV/JSON export.
#include <algorithm>
#include <chrono>
#include <cstdio>

#include "domain/report.h"
#include "platform/browser.h"
#include "ui/ui.h"

namespace cl::ui {

namespace {
Report g_report;
std::map<std::string, float> g_card_h;  // measured content height of paired cards (last frame)
std::map<std::string, std::string> g_refs;  // case id -> reference, for linked cases

// Cards side by side get the same height: each card's content height is measured and the next frame
// sizes both to the taller one.
void pair_begin(const char* id, float w, float h) { begin_card(id, ImVec2(w, h)); }
void pair_end(const char* id) {
    g_card_h[id] = ImGui::GetCursorPosY() - ImGui::GetStyle().ItemSpacing.y + ImGui::GetStyle().WindowPadding.y;
    end_card();
}
float pair_height(const char* a, const char* b, float fallback) {
    float h = 0;
    if (auto it = g_card_h.find(a); it != g_card_h.end()) h = std::max(h, it->second);
    if (auto it = g_card_h.find(b); it != g_card_h.end()) h = std::max(h, it->second);
    return h > 0 ? h : fallback;
}

std::string hours_text(const Percentiles& p, double v) {
    if (p.count == 0) return "\xE2\x80\x94";
    char buf[32];
    if (v < 1) std::snprintf(buf, sizeof buf, "%.0f min", v * 60);
    else if (v < 48) std::snprintf(buf, sizeof buf, "%.1f h", v);
    else std::snprintf(buf, sizeof buf, "%.1f d", v / 24);
    return buf;
}

std::string date_of(int64_t ms) { return ms > 0 ? platform::local_date_string(ms, "%Y-%m-%d") : std::string("\xE2\x80\x94"); }

void dim_line(const char* text) {
    ImGui::PushStyleColor(ImGuiCol_Text, ImGui::ColorConvertU32ToFloat4(color::text_dim));
    ImGui::PushTextWrapPos(0);
    ImGui::TextUnformatted(text);
    ImGui::PopTextWrapPos();
    ImGui::PopStyleColor();
}

// NPS (-100..100) and CSAT % (0..100) per week on one chart with a shared 0..100 grid for CSAT and
// the NPS scale on the right. Weeks without answers leave a gap instead of dropping to zero.
void trend_chart(const std::vector<Report::TrendPoint>& pts, float height) {
    const float fs = ImGui::GetFontSize();
    ImDrawList* dl = ImGui::GetWindowDrawList();
    ImVec2 p = ImGui::GetCursorScreenPos();
    float w = ImGui::GetContentRegionAvail().x;
    float left = fs * 2.6f, right = fs * 2.8f, bottom = fs * 1.4f;
    ImVec2 a(p.x + left, p.y + fs * 0.4f), b(p.x + w - right, p.y + height - bottom);
    ImU32 grid = IM_COL32(232, 235, 240, 255), dimc = color::text_dim;
    for (int i = 0; i <= 4; ++i) {
        float y = b.y - (b.y - a.y) * i / 4.0f;
        dl->AddLine(ImVec2(a.x, y), ImVec2(b.x, y), grid, 1.0f);
        char l[16], r[16];
        std::snprintf(l, sizeof l, "%d%%", i * 25);
        std::snprintf(r, sizeof r, "%+d", -100 + i * 50);
        ImVec2 ls = ImGui::CalcTextSize(l);
        dl->AddText(ImVec2(a.x - ls.x - fs * 0.4f, y - ls.y * 0.5f), color::success, l);
        dl->AddText(ImVec2(b.x + fs * 0.4f, y - ls.y * 0.5f), color::accent, r);
    }
    int n = static_cast<int>(pts.size());
    auto xat = [&](int i) { return n <= 1 ? (a.x + b.x) * 0.5f : a.x + (b.x - a.x) * i / (n - 1); };
    // x labels: at most ~7, evenly spaced
    int step = std::max(1, (n + 6) / 7);
    for (int i = 0; i < n; i += step) {
        std::string lab = pts[i].label.size() >= 10 ? pts[i].label.substr(5) : pts[i].label;  // MM-DD
        ImVec2 ts = ImGui::CalcTextSize(lab.c_str());
        float x = std::clamp(xat(i) - ts.x * 0.5f, a.x - fs, b.x - ts.x + fs);
        dl->AddText(ImVec2(x, b.y + fs * 0.25f), dimc, lab.c_str());
    }
    auto series = [&](bool nps, ImU32 col) {
        ImVec2 prev;
        bool has_prev = false;
        for (int i = 0; i < n; ++i) {
            if (pts[i].responses == 0) { has_prev = false; continue; }
            double v = nps ? (pts[i].nps + 100.0) / 2.0 : pts[i].csat;
            ImVec2 q(xat(i), b.y - (b.y - a.y) * static_cast<float>(std::clamp(v, 0.0, 100.0) / 100.0));
            if (has_prev) dl->AddLine(prev, q, col, std::max(1.5f, fs * 0.13f));
            dl->AddCircleFilled(q, fs * 0.22f, col);
            prev = q;
            has_prev = true;
        }
    };
    series(false, color::success);
    series(true, color::accent);
    ImGui::Dummy(ImVec2(w, height));
    // legend
    auto key = [&](ImU32 col, const char* text) {
        ImVec2 c = ImGui::GetCursorScreenPos();
        dl->AddRectFilled(ImVec2(c.x, c.y + fs * 0.35f), ImVec2(c.x + fs * 0.8f, c.y + fs * 0.65f), col, 2);
        ImGui::Dummy(ImVec2(fs * 0.9f, fs));
        ImGui::SameLine(0, fs * 0.3f);
        ImGui::TextDisabled("%s", text);
    };
    key(color::success, "CSAT % satisfied (left)");
    ImGui::SameLine(0, fs * 1.2f);
    key(color::accent, "NPS (right)");
}

// A list of cases from the report (overdue / escalated) as a table; the reference opens the case.
void case_lines(UiState& ui, const char* id, const std::vector<CaseLine>& lines, const char* when_label,
                const char* empty_text) {
    if (lines.empty()) { dim_line(empty_text); return; }
    if (ImGui::BeginTable(id, 5, ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerH | ImGuiTableFlags_SizingStretchProp)) {
        ImGui::TableSetupColumn("Reference", 0, 1.1f);
        ImGui::TableSetupColumn("Client", 0, 1.3f);
        ImGui::TableSetupColumn(when_label, 0, 0.9f);
        ImGui::TableSetupColumn("Assignee", 0, 0.8f);
        ImGui::TableSetupColumn("Why", 0, 2.6f);
        ImGui::TableHeadersRow();
        int i = 0;
        for (const auto& l : lines) {
            ImGui::TableNextRow();
            ImGui::PushID(i++);
            ImGui::TableNextColumn();
            ImGui::PushStyleColor(ImGuiCol_Text, ImGui::ColorConvertU32ToFloat4(color::accent));
            if (ImGui::Selectable(l.reference.empty() ? l.id.c_str() : l.reference.c_str(), false,
                                  ImGuiSelectableFlags_SpanAllColumns | ImGuiSelectableFlags_AllowOverlap))
                open_case(ui, l.id);
            ImGui::PopStyleColor();
            ImGui::TableNextColumn(); ImGui::TextUnformatted(l.stakeholder.empty() ? "\xE2\x80\x94" : l.stakeholder.c_str());
            ImGui::TableNextColumn(); ImGui::TextUnformatted(date_of(l.due).c_str());
            ImGui::TableNextColumn(); ImGui::TextUnformatted(l.assignee.empty() ? "unassigned" : l.assignee.c_str());
            ImGui::TableNextColumn();
            std::string why = l.reason;
            if (why.rfind("overdue: ", 0) == 0) {
                std::string steps = why.substr(9), out;
                size_t pos = 0;
                while (pos <= steps.size()) {
                    size_t e = steps.find(", ", pos);
                    std::string one = steps.substr(pos, e == std::string::npos ? std::string::npos : e - pos);
                    out += (out.empty() ? "" : ", ") + pretty(one);
                    if (e == std::string::npos) break;
                    pos = e + 2;
                }
                why = out;
            }
            ImGui::PushTextWrapPos(0);
            ImGui::TextUnformatted(why.c_str());
            ImGui::PopTextWrapPos();
            ImGui::PopID();
        }
        ImGui::EndTable();
    }
}
}  // namespace

static void bars(const char* title, const std::map<std::string, int>& m, ImU32 col) {
    const float fs = ImGui::GetFontSize();
    heading(title, 16.0f);
    int maxv = 1;
    for (auto& [k, v] : m) maxv = std::max(maxv, v);
    float w = ImGui::GetContentRegionAvail().x - fs * 10;
    for (auto& [k, v] : m) {
        ImGui::TextUnformatted(pretty(k.empty() ? std::string("none") : k).c_str());
        ImGui::SameLine(ImGui::GetStyle().WindowPadding.x + fs * 7);
        ImVec2 p = ImGui::GetCursorScreenPos();
        float bw = std::max(2.0f, w * v / maxv);
        ImGui::GetWindowDrawList()->AddRectFilled(ImVec2(p.x, p.y + fs * 0.15f), ImVec2(p.x + bw, p.y + fs * 0.95f), col, fs * 0.2f);
        ImGui::Dummy(ImVec2(bw, fs));
        ImGui::SameLine();
        ImGui::Text("%d", v);
    }
    if (m.empty()) ImGui::TextDisabled("No cases in this period");
}

void reports_view(App& app, UiState& ui) {
    ReportsState& s = ui.reports;
    const float fs = ImGui::GetFontSize();
    heading("Reports", 24.0f);
    static const char* periods[] = {"week", "month", "quarter"};
    for (int i = 0; i < 3; ++i) {
        if (i) ImGui::SameLine();
        if (ImGui::RadioButton(pretty(periods[i]).c_str(), s.period == i) && s.period != i) {
            s.period = i;
            s.has = false;
            s.builder = ReportBuilder();  // a build of the other period is of no use now
        }
        mark(std::string("reports.period.") + periods[i]);
    }
    // Rebuilt when the data changed (a build under way finishes first) or a minute passed. The
    // folds are spread over frames, a few milliseconds each: a month at 100k cases folds ~10k.
    const bool stale = !s.has || s.version != app.data_version() || app.now() - s.built_at > 60000;
    if (stale && !s.builder.active()) {
        ReportQuery q = PeriodFromName::make(periods[s.period], app.now(), app.store()->calendar());
        if (Status st = s.builder.start(*app.store(), q); !st) s.error = st.error().message;
        s.version = app.data_version();
        s.built_at = app.now();
    }
    // At most ~8 ms of folds per frame, the report first, then a log export under way.
    const auto t0 = std::chrono::steady_clock::now();
    auto time_left = [&] { return std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(8); };
    while (s.builder.active() && time_left()) {
        auto done = s.builder.step(*app.store(), 64, app.now());
        if (!done) {
            s.error = done.error().message;
        } else if (*done) {
            g_report = s.builder.take_report();
            s.has = true;
            s.error.clear();
        }
    }
    while (s.log.active() && time_left()) {
        auto done = s.log.step(*app.store(), 64);
        if (!done) app.toast("Documentation log failed: " + done.error().message, true);
        else if (*done)
            platform::download_file("closeloop-log-" + platform::local_date_string(app.now(), "%Y-%m-%d") + ".csv", "text/csv",
                                    documentation_log_csv(s.log.take_cases()));
    }
    if (!s.has && s.error.empty()) {
        ImGui::Spacing();
        ImGui::TextDisabled("Building the report: %zu of %zu cases read", s.builder.folded(), s.builder.total());
        ImGui::ProgressBar(s.builder.total() ? float(s.builder.folded()) / float(s.builder.total()) : 0.0f, ImVec2(fs * 20, 0));
        mark("reports.progress");
        return;
    }
    ImGui::SameLine(0, fs * 2);
    // Named by the period, so that a month's exports do not overwrite each other's files.
    const std::string period = platform::local_date_string(g_report.query.from, "%Y-%m-%d") + "_" +
                               platform::local_date_string(g_report.query.to - 1, "%Y-%m-%d");
    if (secondary_button("Export CSV", "reports.csv"))
        platform::download_file("closeloop-report-" + period + ".csv", "text/csv", report_to_csv(g_report));
    ImGui::SameLine();
    if (secondary_button("Export JSON", "reports.json"))
        platform::download_file("closeloop-report-" + period + ".json", "application/json", report_to_json(g_report));
    ImGui::SameLine();
    if (secondary_button("Documentation log", "reports.log") && !s.log.active()) {
        if (Status st = s.log.start(*app.store()); !st) app.toast("Documentation log failed: " + st.error().message, true);
    }
    if (s.log.active() && s.log.total() > 0) {  // every case is folded for it: spread over frames
        ImGui::SameLine(0, fs);
        ImGui::TextDisabled("Preparing the log %d %%", int(100 * s.log.folded() / s.log.total()));
    }
    if (s.builder.active() && s.builder.total() > 0) {  // the report shown stays until the new one is ready
        ImGui::SameLine(0, fs);
        ImGui::TextDisabled("Updating %d %%", int(100 * s.builder.folded() / s.builder.total()));
    }
    if (!s.error.empty()) { ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(color::danger), "%s", s.error.c_str()); return; }
    const Report& r = g_report;
    const char* dash = "\xE2\x80\x94";
    ImGui::TextDisabled("%s \xE2\x80\x93 %s  \xC2\xB7  cases created in the period; surveys and escalations by their own date",
                        platform::local_date_string(r.query.from, "%Y-%m-%d").c_str(),
                        platform::local_date_string(r.query.to - 1, "%Y-%m-%d").c_str());

    // ---- KPI tiles: value and a line of context -------------------------------------------------
    struct Kpi { const char* label; std::string value, sub; ImU32 col; };
    char buf[96];
    auto fmt = [&](const char* f, double v) { std::snprintf(buf, sizeof buf, f, v); return std::string(buf); };
    const SurveyStats& sv = r.surveys;
    const SurveyStats& pv = r.previous_surveys;
    std::string nps_sub = sv.nps_responses ? std::to_string(sv.nps_responses) + " answers" : "no answers yet";
    if (pv.nps_responses) nps_sub += " \xC2\xB7 before " + fmt("%+.0f", pv.nps);
    std::string csat_sub = sv.csat_responses ? std::to_string(sv.csat_responses) + " answers" : "no answers yet";
    if (pv.csat_responses) csat_sub += " \xC2\xB7 before " + fmt("%.0f%%", pv.csat_percent);
    Kpi k[] = {
        {"Cases", std::to_string(r.total), std::to_string(r.opened) + " open \xC2\xB7 " + std::to_string(r.resolved) + " resolved",
         IM_COL32(27, 33, 46, 255)},
        {"NPS", sv.nps_responses ? fmt("%+.0f", sv.nps) : dash, nps_sub,
         sv.nps_responses ? (sv.nps >= 30 ? color::success : sv.nps < 0 ? color::danger : IM_COL32(27, 33, 46, 255)) : color::text_dim},
        {"CSAT (4\xE2\x80\x93" "5)", sv.csat_responses ? fmt("%.0f%%", sv.csat_percent) : dash, csat_sub,
         sv.csat_responses ? IM_COL32(27, 33, 46, 255) : color::text_dim},
        {"Escalation rate", r.total ? fmt("%.0f%%", r.escalation_rate) : dash,
         std::to_string(r.escalation_count) + " escalated or due", r.total ? IM_COL32(27, 33, 46, 255) : color::text_dim},
        {"Response time (median)", hours_text(r.response_hours, r.response_hours.p50),
         r.response_hours.count ? "p90 " + hours_text(r.response_hours, r.response_hours.p90) : std::string("no responses yet"),
         IM_COL32(27, 33, 46, 255)},
        {"Resolution time (median)", hours_text(r.resolution_hours, r.resolution_hours.p50),
         r.resolution_hours.count ? "p90 " + hours_text(r.resolution_hours, r.resolution_hours.p90) : std::string("nothing resolved yet"),
         IM_COL32(27, 33, 46, 255)},
    };
    const int nk = 6;
    float gap = fs * 0.8f;
    float tw = (ImGui::GetContentRegionAvail().x - gap * (nk - 1)) / nk;
    for (int i = 0; i < nk; ++i) {
        if (i) ImGui::SameLine(0, gap);
        std::string id = "kpi" + std::to_string(i);
        begin_card(id.c_str(), ImVec2(tw, 0));  // auto height: label, value, context line
        ImGui::TextDisabled("%s", k[i].label);
        ImGui::PushFont(ui.bold, 26.0f);
        ImGui::PushStyleColor(ImGuiCol_Text, k[i].col);
        ImGui::TextUnformatted(k[i].value.c_str());
        ImGui::PopStyleColor();
        ImGui::PopFont();
        ImGui::TextDisabled("%s", k[i].sub.c_str());
        end_card();
        mark("reports.kpi." + std::to_string(i));
    }

    // ---- trend | SLA ----------------------------------------------------------------------------
    float half = (ImGui::GetContentRegionAvail().x - fs) * 0.5f;
    float h1 = pair_height("trend", "sla_compliance", fs * 16);
    pair_begin("trend", half, h1);
    heading("NPS and CSAT trend (weekly)", 16.0f);
    bool any = false;
    for (auto& p : r.trend) any = any || p.responses > 0;
    if (any) trend_chart(r.trend, std::max(fs * 11, h1 - fs * 5.2f));  // fill the card next to the SLA table
    else dim_line("No survey answers in this period yet. Record answers on a case (Survey tab) to see the trend.");
    pair_end("trend");
    ImGui::SameLine(0, fs);
    pair_begin("sla_compliance", 0, h1);
    heading("SLA compliance", 16.0f);
    if (ImGui::BeginTable("slat", 5, ImGuiTableFlags_RowBg | ImGuiTableFlags_SizingStretchProp)) {
        ImGui::TableSetupColumn("Step", 0, 2.2f); ImGui::TableSetupColumn("Met", 0, 0.7f); ImGui::TableSetupColumn("Missed", 0, 0.8f);
        ImGui::TableSetupColumn("Open", 0, 0.7f); ImGui::TableSetupColumn("Compliance", 0, 1.1f);
        ImGui::TableHeadersRow();
        for (auto& st : r.sla) {
            ImGui::TableNextRow();
            ImGui::TableNextColumn(); ImGui::TextUnformatted(pretty(st.step).c_str());
            ImGui::TableNextColumn(); ImGui::Text("%d", st.met);
            ImGui::TableNextColumn();
            if (st.missed) ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(color::danger), "%d", st.missed);
            else ImGui::Text("%d", st.missed);
            ImGui::TableNextColumn(); ImGui::Text("%d", st.open);
            ImGui::TableNextColumn();
            if (st.met + st.missed == 0) {
                ImGui::TextDisabled("%s", dash);
                if (ImGui::IsItemHovered()) ImGui::SetTooltip("No deadline has been met or missed yet");
            } else {
                ImU32 c = st.percent >= 90 ? color::success : st.percent >= 60 ? color::warning : color::danger;
                ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(c), "%.0f%%", st.percent);
            }
        }
        ImGui::EndTable();
    }
    if (r.sla.empty()) dim_line("No SOP deadlines fell in this period.");
    else dim_line("Compliance = met / (met + missed); steps still open are not counted.");
    pair_end("sla_compliance");

    // ---- categories & channels | themes + times ------------------------------------------------
    float h2 = pair_height("cats", "themes", fs * 16);
    pair_begin("cats", half, h2);
    bars("Categories", r.by_category, color::accent);
    ImGui::Dummy(ImVec2(0, fs * 0.3f));
    bars("Channels", r.by_channel, IM_COL32(14, 140, 160, 255));
    pair_end("cats");
    ImGui::SameLine(0, fs);
    pair_begin("themes", 0, h2);
    heading("Recurring themes", 16.0f);
    if (r.themes.empty()) dim_line("No survey comments or notes in this period.");
    else if (ImGui::BeginTable("themes_t", 3, ImGuiTableFlags_RowBg | ImGuiTableFlags_SizingStretchProp)) {
        ImGui::TableSetupColumn("Term", 0, 2); ImGui::TableSetupColumn("Mentions", 0, 1); ImGui::TableSetupColumn("Previous period", 0, 1.4f);
        ImGui::TableHeadersRow();
        for (auto& t : r.themes) {
            ImGui::TableNextRow();
            ImGui::TableNextColumn(); ImGui::TextUnformatted(t.term.c_str());
            ImGui::TableNextColumn(); ImGui::Text("%d", t.count);
            ImGui::TableNextColumn();
            ImGui::Text("%d", t.previous_count);
            ImGui::SameLine();
            if (t.count > t.previous_count) ImGui::TextDisabled("\xE2\x86\x91 %d", t.count - t.previous_count);
            else if (t.count < t.previous_count) ImGui::TextDisabled("\xE2\x86\x93 %d", t.previous_count - t.count);
        }
        ImGui::EndTable();
    }
    ImGui::Dummy(ImVec2(0, fs * 0.3f));
    heading("Response and resolution times", 16.0f);
    if (ImGui::BeginTable("times", 5, ImGuiTableFlags_RowBg | ImGuiTableFlags_SizingStretchProp)) {
        ImGui::TableSetupColumn("", 0, 1.4f); ImGui::TableSetupColumn("Median", 0, 1); ImGui::TableSetupColumn("p90", 0, 1);
        ImGui::TableSetupColumn("p99", 0, 1); ImGui::TableSetupColumn("Cases", 0, 0.8f);
        ImGui::TableHeadersRow();
        auto row = [&](const char* name, const Percentiles& p) {
            ImGui::TableNextRow();
            ImGui::TableNextColumn(); ImGui::TextUnformatted(name);
            ImGui::TableNextColumn(); ImGui::TextUnformatted(hours_text(p, p.p50).c_str());
            ImGui::TableNextColumn(); ImGui::TextUnformatted(hours_text(p, p.p90).c_str());
            ImGui::TableNextColumn(); ImGui::TextUnformatted(hours_text(p, p.p99).c_str());
            ImGui::TableNextColumn(); ImGui::Text("%d", p.count);
        };
        row("First response", r.response_hours);
        row("Resolution", r.resolution_hours);
        ImGui::EndTable();
    }
    pair_end("themes");

    // ---- lists: overdue, escalated, improvement plan --------------------------------------------
    begin_card("overdue_list");
    heading(("Overdue (" + std::to_string(r.overdue.size()) + ")").c_str(), 16.0f);
    case_lines(ui, "overdue_t", r.overdue, "Due", "Nothing from this period is overdue.");
    end_card();
    mark("reports.overdue");
    begin_card("escalated_list");
    heading(("Escalations (" + std::to_string(r.escalated.size()) + ")").c_str(), 16.0f);
    case_lines(ui, "escalated_t", r.escalated, "Date", "No escalations in this period.");
    end_card();
    mark("reports.escalated");

    begin_card("plan_list");
    heading(("Improvement plan (" + std::to_string(r.improvement_plan.size()) + ")").c_str(), 16.0f);
    if (r.improvement_plan.empty()) {
        dim_line("No improvement actions were active in this period. Add them under Improvement plan.");
    } else {
        g_refs.clear();  // linked case id -> reference (few rows: loaded per frame)
        for (const auto& l : r.improvement_plan)
            for (const auto& id : l.links)
                if (!g_refs.count(id)) {
                    auto c = app.store()->load_case(id);
                    g_refs[id] = c && !c->reference.empty() ? c->reference : id;
                }
        if (ImGui::BeginTable("plan_t", 5, ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerH | ImGuiTableFlags_SizingStretchProp)) {
            ImGui::TableSetupColumn("Action", 0, 3);
            ImGui::TableSetupColumn("Owner", 0, 0.9f);
            ImGui::TableSetupColumn("Deadline", 0, 0.9f);
            ImGui::TableSetupColumn("Status", 0, 1);
            ImGui::TableSetupColumn("Linked cases", 0, 1.8f);
            ImGui::TableHeadersRow();
            int i = 0;
            for (const auto& l : r.improvement_plan) {
                ImGui::TableNextRow();
                ImGui::PushID(i++);
                ImGui::TableNextColumn();
                ImGui::PushTextWrapPos(0);
                ImGui::PushStyleColor(ImGuiCol_Text, ImGui::ColorConvertU32ToFloat4(color::accent));
                ImGui::TextUnformatted(l.description.c_str());
                ImGui::PopStyleColor();
                ImGui::PopTextWrapPos();
                if (ImGui::IsItemHovered()) ImGui::SetMouseCursor(ImGuiMouseCursor_Hand);
                if (ImGui::IsItemClicked()) open_case(ui, l.id);
                ImGui::TableNextColumn(); ImGui::TextUnformatted(l.assignee.empty() ? "unassigned" : l.assignee.c_str());
                ImGui::TableNextColumn();
                bool late = l.due > 0 && l.due < app.now() && l.status != "resolved" && l.status != "closed";
                if (late) ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(color::danger), "%s", date_of(l.due).c_str());
                else ImGui::TextUnformatted(date_of(l.due).c_str());
                ImGui::TableNextColumn(); status_badge(l.status);
                ImGui::TableNextColumn();
                std::string links;
                for (const auto& id : l.links) links += (links.empty() ? "" : ", ") + g_refs[id];
                ImGui::PushTextWrapPos(0);
                ImGui::TextUnformatted(links.empty() ? "none yet" : links.c_str());
                ImGui::PopTextWrapPos();
                ImGui::PopID();
            }
            ImGui::EndTable();
        }
    }
    end_card();
    mark("reports.plan");
}

}  // namespace cl::ui
