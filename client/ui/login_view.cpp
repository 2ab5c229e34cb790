#include "ui/ui.h"

namespace cl::ui {

void login_view(App& app, UiState& ui) {
    const float fs = ImGui::GetFontSize();
    ImVec2 avail = ImGui::GetContentRegionAvail();
    float w = std::min(fs * 26, avail.x - fs * 2);
    float h = fs * 24;
    ImGui::SetCursorPos(ImVec2((avail.x - w) * 0.5f, std::max(fs, (avail.y - h) * 0.42f)));
    begin_card("login", ImVec2(w, 0));
    ImGui::Dummy(ImVec2(0, fs * 0.3f));
    heading("Sign in to closeloop", 24.0f);
    ImGui::TextDisabled("Aftercare, feedback and follow-up cases");
    ImGui::Dummy(ImVec2(0, fs * 0.6f));
    ImGui::TextUnformatted("User name");
    ImGui::SetNextItemWidth(-1);
    bool enter = false;
    if (ui.focus_request == "login.username") { ImGui::SetKeyboardFocusHere(); ui.focus_request.clear(); }
    enter |= ImGui::InputText("##user", ui.login_user, sizeof ui.login_user, ImGuiInputTextFlags_EnterReturnsTrue);
    mark("login.username");
    ImGui::TextUnformatted("Password");
    ImGui::SetNextItemWidth(-1);
    enter |= ImGui::InputText("##pass", ui.login_pass, sizeof ui.login_pass,
                              ImGuiInputTextFlags_Password | ImGuiInputTextFlags_EnterReturnsTrue);
    mark("login.password");
    if (!app.login_error().empty()) {
        ImGui::PushStyleColor(ImGuiCol_Text, ImGui::ColorConvertU32ToFloat4(color::danger));
        ImGui::PushTextWrapPos(0);
        ImGui::TextUnformatted(app.login_error().c_str());
        ImGui::PopTextWrapPos();
        ImGui::PopStyleColor();
        mark("login.error");
    }
    ImGui::Dummy(ImVec2(0, fs * 0.3f));
    ImGui::BeginDisabled(app.login_in_flight());
    if (primary_button(app.login_in_flight() ? "Signing in\xE2\x80\xA6" : "Sign in", "login.submit", ImVec2(-1, fs * 2.2f)) || enter) {
        app.login(ui.login_user, ui.login_pass);
        ui.login_pass[0] = 0;
    }
    ImGui::EndDisabled();
    ImGui::Dummy(ImVec2(0, fs * 0.3f));
    ImGui::PushTextWrapPos(0);
    ImGui::TextDisabled("Sign in once with a connection; afterwards closeloop works offline and syncs when the network is back.");
    ImGui::PopTextWrapPos();
    if (!app.browser_online()) {
        ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(color::warning), "You are offline.");
    }
    end_card();
}

}  // namespace cl::ui
