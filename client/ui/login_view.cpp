#include <algorithm>

#include "ui/ui.h"

namespace cl::ui {

// The server's answer to a sign-in, under the password field of either form.
static void login_error(App& app, const char* mark_id) {
    if (app.login_error().empty()) return;
    ImGui::PushStyleColor(ImGuiCol_Text, ImGui::ColorConvertU32ToFloat4(color::danger));
    ImGui::PushTextWrapPos(0);
    ImGui::TextUnformatted(app.login_error().c_str());
    ImGui::PopTextWrapPos();
    ImGui::PopStyleColor();
    mark(mark_id);
}

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
    login_error(app, "login.error");
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

// The session ended on the server (30-day expiry, or revoked by a password reset) while this device
// holds the user's data and perhaps changes not uploaded yet. Signing out would delete those, and
// the sign-in screen could let another user in on top of them: the same user signs in again here,
// with the password only, and everything stays.
void reauth_modal(App& app, UiState& ui) {
    static const char* kTitle = "Sign in again";
    if (!app.session_expired()) ui.reauth_later = false;  // the next time the session ends, ask again
    const bool want = app.session_expired() && !ui.reauth_later && !app.logout_blocked() && !app.logout_in_progress();
    if (want && !ImGui::IsPopupOpen(kTitle)) {
        ImGui::OpenPopup(kTitle);
        ui.reauth_pass[0] = 0;
        ui.focus_request = "reauth.password";
    }
    const float fs = ImGui::GetFontSize();
    ImGuiViewport* vp = ImGui::GetMainViewport();
    ImGui::SetNextWindowPos(ImVec2(vp->Pos.x + vp->Size.x * 0.5f, vp->Pos.y + vp->Size.y * 0.45f), ImGuiCond_Appearing, ImVec2(0.5f, 0.5f));
    ImGui::SetNextWindowSize(ImVec2(std::min(fs * 28, vp->Size.x - fs * 2), 0));
    if (!ImGui::BeginPopupModal(kTitle, nullptr, ImGuiWindowFlags_NoResize | ImGuiWindowFlags_NoSavedSettings)) return;
    if (!want) {
        ImGui::CloseCurrentPopup();
        ImGui::EndPopup();
        return;
    }
    const long long pending = app.pending_count();
    ImGui::PushTextWrapPos(0);
    ImGui::TextUnformatted("Your session has ended: it expired, or an administrator signed you out (for example by resetting your password).");
    mark("reauth.message");
    if (pending > 0)
        ImGui::Text("%lld change%s on this device %s waiting to upload. %s kept; sign in again to upload %s.", pending,
                    pending == 1 ? "" : "s", pending == 1 ? "is" : "are", pending == 1 ? "It is" : "They are",
                    pending == 1 ? "it" : "them");
    else
        ImGui::TextUnformatted("Your data on this device is kept; sign in again to sync.");
    ImGui::PopTextWrapPos();
    ImGui::Dummy(ImVec2(0, fs * 0.3f));
    ImGui::TextUnformatted("User name");
    ImGui::SameLine(fs * 6);
    ImGui::PushFont(ui.bold, 0.0f);
    ImGui::TextUnformatted(app.session().user_id.c_str());
    ImGui::PopFont();
    mark("reauth.user");
    ImGui::TextUnformatted("Password");
    ImGui::SameLine(fs * 6);
    ImGui::SetNextItemWidth(-1);
    if (ui.focus_request == "reauth.password") { ImGui::SetKeyboardFocusHere(); ui.focus_request.clear(); }
    bool enter = ImGui::InputText("##reauth_pass", ui.reauth_pass, sizeof ui.reauth_pass,
                                  ImGuiInputTextFlags_Password | ImGuiInputTextFlags_EnterReturnsTrue);
    mark("reauth.password");
    login_error(app, "reauth.error");
    if (!app.browser_online())
        ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(color::warning), "You are offline: signing in needs a connection.");
    ImGui::Dummy(ImVec2(0, fs * 0.3f));
    ImGui::BeginDisabled(app.login_in_flight());
    if (primary_button(app.login_in_flight() ? "Signing in\xE2\x80\xA6" : "Sign in", "reauth.submit", ImVec2(fs * 7, 0)) || enter) {
        app.sign_in_again(ui.reauth_pass);
        ui.reauth_pass[0] = 0;
    }
    ImGui::EndDisabled();
    ImGui::SameLine();
    if (secondary_button("Later", "reauth.later")) {  // keep working on this device; the status bar offers it again
        ui.reauth_later = true;
        ImGui::CloseCurrentPopup();
    }
    ImGui::SameLine();
    if (secondary_button("Sign out\xE2\x80\xA6", "reauth.signout")) {  // another user: this one's data goes first
        ui.reauth_later = true;
        ImGui::CloseCurrentPopup();
        app.logout(false);  // with changes waiting: the sign-out dialog (export, sign out anyway)
    }
    ImGui::EndPopup();
}

}  // namespace cl::ui
