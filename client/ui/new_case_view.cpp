// New case form with inline validation.
#include "domain/vocab.h"
#include "platform/browser.h"
#include "ui/ui.h"

namespace cl::ui {

static void input_text(const char* label, const char* key, char* buf, size_t size, const FieldErrors& errs,
                       const char* hint = "", bool multiline = false) {
    ImGui::TextUnformatted(label);
    bool bad = errs.count(key) > 0;
    if (bad) ImGui::PushStyleColor(ImGuiCol_Border, ImGui::ColorConvertU32ToFloat4(color::danger));
    ImGui::SetNextItemWidth(-1);
    std::string id = std::string("##") + key;
    if (multiline) ImGui::InputTextMultiline(id.c_str(), buf, size, ImVec2(-1, ImGui::GetFontSize() * 5));
    else ImGui::InputTextWithHint(id.c_str(), hint, buf, size);
    if (bad) ImGui::PopStyleColor();
    mark(std::string("new.") + key);
    field_error(errs, key);
}

void new_case_view(App& app, UiState& ui) {
    NewCaseState& s = ui.new_case;
    const float fs = ImGui::GetFontSize();
    if (!s.initialised) {
        s = NewCaseState{};
        s.initialised = true;
        std::string now = platform::local_date_string(app.now());
        std::snprintf(s.service_completed, sizeof s.service_completed, "%s", now.c_str());
        std::snprintf(s.assignee, sizeof s.assignee, "%s", app.session().user_id.c_str());
    }
    heading("New case", 24.0f);
    ImGui::TextDisabled("Log a completed service for aftercare, a feedback item, or a follow-up.");
    ImGui::Dummy(ImVec2(0, fs * 0.3f));

    float col = std::min(fs * 40, ImGui::GetContentRegionAvail().x);
    begin_card("new_case_form", ImVec2(col, 0));
    ImGui::TextUnformatted("Kind");
    static const std::vector<std::string_view> kinds = {"aftercare", "feedback", "follow_up"};
    for (int i = 0; i < 3; ++i) {
        const std::string label = pretty(std::string(kinds[i]));
        if (i) same_line_if_fits(toggle_width(label.c_str()));
        if (ImGui::RadioButton(label.c_str(), s.kind == i)) s.kind = i;
        mark(std::string("new.kind.") + std::string(kinds[i]));
    }
    field_error(s.errors, "kind");
    ImGui::Separator();

    float half = (ImGui::GetContentRegionAvail().x - fs) * 0.5f;
    ImGui::BeginGroup();
    ImGui::PushItemWidth(half);
    ImGui::BeginChild("left", ImVec2(half, 0), ImGuiChildFlags_AutoResizeY);
    input_text("Client name", "client_name", s.client_name, sizeof s.client_name, s.errors, "e.g. Jane Smith");
    ImGui::TextUnformatted("Preferred channel");
    ImGui::SetNextItemWidth(-1);
    combo_vocab("##channel", "new.channel", &s.channel, vocab::channels());
    input_text("Contact (email / phone)", "client_contact", s.client_contact, sizeof s.client_contact, s.errors,
               "jane@example.com");
    ImGui::EndChild();
    ImGui::PopItemWidth();
    ImGui::EndGroup();
    ImGui::SameLine(0, fs);
    ImGui::BeginChild("right", ImVec2(half, 0), ImGuiChildFlags_AutoResizeY);
    ImGui::TextUnformatted("Category");
    ImGui::SetNextItemWidth(-1);
    combo_vocab("##category", "new.category", &s.category, vocab::categories(), "Not categorised yet");
    ImGui::TextUnformatted("Priority");
    ImGui::SetNextItemWidth(-1);
    combo_vocab("##priority", "new.priority", &s.priority, vocab::priorities());
    input_text("Service completed (YYYY-MM-DD HH:MM)", "service_completed", s.service_completed, sizeof s.service_completed,
               s.errors);
    ImGui::EndChild();

    input_text("Title", "title", s.title, sizeof s.title, s.errors, "Short summary");
    input_text("Description", "description", s.description, sizeof s.description, s.errors, "", true);
    ImGui::Checkbox("Urgent", &s.urgent);
    mark("new.urgent");
    ImGui::SameLine(0, fs * 2);
    ImGui::Checkbox("High impact", &s.high_impact);
    mark("new.high_impact");
    if (s.urgent || s.high_impact)
        ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(color::warning), "Urgent or high-impact cases are flagged for escalation at once.");

    const float row_x = ImGui::GetCursorPosX();
    ImGui::TextUnformatted("Team");
    ImGui::SameLine(row_x + half + fs);
    ImGui::TextUnformatted("Assignee");
    const auto& teams = app.session().teams;
    ImGui::SetNextItemWidth(half);
    if (ImGui::BeginCombo("##team", teams.empty() ? "default" : teams[std::min<size_t>(s.team, teams.size() - 1)].c_str())) {
        for (size_t i = 0; i < teams.size(); ++i)
            if (ImGui::Selectable(teams[i].c_str(), s.team == static_cast<int>(i))) s.team = static_cast<int>(i);
        ImGui::EndCombo();
    }
    mark("new.team");
    ImGui::SameLine(0, fs);
    ImGui::SetNextItemWidth(-1);
    ImGui::InputTextWithHint("##assignee", "Assignee (user id)", s.assignee, sizeof s.assignee);
    mark("new.assignee");
    field_error(s.errors, "_");

    ImGui::Dummy(ImVec2(0, fs * 0.4f));
    if (primary_button("Create case", "new.save", ImVec2(fs * 9, fs * 2.1f))) {
        NewCaseForm f;
        f.kind = std::string(kinds[s.kind]);
        f.team = teams.empty() ? "" : teams[std::min<size_t>(s.team, teams.size() - 1)];
        f.title = s.title;
        f.description = s.description;
        f.category = vocab_at(vocab::categories(), s.category, true);
        f.priority = vocab_at(vocab::priorities(), s.priority, false);
        f.client_name = s.client_name;
        f.client_contact = s.client_contact;
        f.channel = vocab_at(vocab::channels(), s.channel, false);
        f.assignee = s.assignee;
        f.urgent = s.urgent;
        f.high_impact = s.high_impact;
        f.service_completed = s.service_completed;
        auto id = app.create_case(f, &s.errors);
        if (id) {
            app.toast("Case created");
            s.initialised = false;
            open_case(ui, *id);
        }
    }
    ImGui::SameLine();
    if (secondary_button("Cancel", "new.cancel", ImVec2(fs * 6, fs * 2.1f))) {
        s.initialised = false;
        ui.view = View::Inbox;
    }
    end_card();
}

}  // namespace cl::ui
