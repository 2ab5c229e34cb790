// The application frame: sidebar navigation, content area, sync status bar, toasts.
#include <algorithm>
#include <cmath>

#include "platform/browser.h"
#include "ui/ui.h"

namespace cl::ui {

UiState* g_ui = nullptr;

const char* view_name(View v) {
    switch (v) {
        case View::Inbox: return "inbox";
        case View::Case: return "case";
        case View::NewCase: return "new_case";
        case View::Due: return "due";
        case View::Reports: return "reports";
        case View::Improvement: return "improvement";
        case View::Admin: return "admin";
    }
    return "?";
}

void open_case(UiState& ui, const std::string& id) {
    ui.view = View::Case;
    ui.case_id = id;
    ui.case_view.loaded_id.clear();
}

// Sidebar icons drawn as vector shapes (the UI font has no icon glyphs), centred on c, about one
// font size across.
enum class Icon { Inbox, Plus, Clock, Chart, Target, Gear };
static void draw_icon(ImDrawList* dl, Icon icon, ImVec2 c, float fs, ImU32 col) {
    const float r = fs * 0.5f, t = std::max(1.0f, fs * 0.1f);
    switch (icon) {
        case Icon::Inbox: {  // a tray
            ImVec2 a(c.x - r, c.y - r * 0.75f), b(c.x + r, c.y + r * 0.8f);
            dl->AddRect(a, b, col, fs * 0.12f, 0, t);
            float y = c.y + r * 0.1f;
            ImVec2 pts[] = {{a.x, y}, {c.x - r * 0.4f, y}, {c.x - r * 0.25f, y + r * 0.3f}, {c.x + r * 0.25f, y + r * 0.3f},
                            {c.x + r * 0.4f, y}, {b.x, y}};
            dl->AddPolyline(pts, 6, col, 0, t);
            break;
        }
        case Icon::Plus:
            dl->AddRect(ImVec2(c.x - r, c.y - r), ImVec2(c.x + r, c.y + r), col, fs * 0.15f, 0, t);
            dl->AddLine(ImVec2(c.x - r * 0.5f, c.y), ImVec2(c.x + r * 0.5f, c.y), col, t);
            dl->AddLine(ImVec2(c.x, c.y - r * 0.5f), ImVec2(c.x, c.y + r * 0.5f), col, t);
            break;
        case Icon::Clock:
            dl->AddCircle(c, r, col, 0, t);
            dl->AddLine(c, ImVec2(c.x, c.y - r * 0.6f), col, t);
            dl->AddLine(c, ImVec2(c.x + r * 0.45f, c.y + r * 0.25f), col, t);
            break;
        case Icon::Chart: {
            float w = r * 0.42f, base = c.y + r;
            float hs[] = {0.9f, 1.6f, 1.2f};
            for (int i = 0; i < 3; ++i) {
                float x = c.x - r + i * (w + r * 0.37f);
                dl->AddRectFilled(ImVec2(x, base - r * hs[i]), ImVec2(x + w, base), col, fs * 0.05f);
            }
            break;
        }
        case Icon::Target:
            dl->AddCircle(c, r, col, 0, t);
            dl->AddCircle(c, r * 0.5f, col, 0, t);
            dl->AddCircleFilled(c, r * 0.15f, col);
            break;
        case Icon::Gear: {
            for (int i = 0; i < 8; ++i) {
                float a = i * 3.14159265f / 4;
                ImVec2 d(std::cos(a), std::sin(a));
                dl->AddLine(ImVec2(c.x + d.x * r * 0.55f, c.y + d.y * r * 0.55f), ImVec2(c.x + d.x * r, c.y + d.y * r), col, t * 1.6f);
            }
            dl->AddCircle(c, r * 0.62f, col, 0, t);
            dl->AddCircleFilled(c, r * 0.22f, col);
            break;
        }
    }
}

// The changes not uploaded yet, as a file another device can import (status bar, sign-out dialog).
static void export_pending_file(App& app) {
    platform::download_file("closeloop-pending-" + app.store()->device_id() + ".json", "application/json", app.export_pending());
}

// Below this width the sidebar shows its icons only (labels on hover): at 768 px and less the
// full sidebar took more than a quarter of the screen and the case screen's rows were cut off.
static bool compact_layout() { return ImGui::GetMainViewport()->Size.x < ImGui::GetFontSize() * 58; }

static bool nav_item(UiState& ui, Icon icon, const char* label, View v, const char* id, int count = -1) {
    const bool compact = compact_layout();
    bool selected = ui.view == v || (v == View::Inbox && ui.view == View::Case);
    float h = ImGui::GetFontSize() * 2.3f;
    ImVec2 p = ImGui::GetCursorScreenPos();
    float w = ImGui::GetContentRegionAvail().x;
    ImGui::PushID(id);
    bool clicked = ImGui::InvisibleButton("nav", ImVec2(w, h));
    mark(std::string("nav.") + id);
    bool hovered = ImGui::IsItemHovered();
    ImDrawList* dl = ImGui::GetWindowDrawList();
    if (selected) dl->AddRectFilled(p, ImVec2(p.x + w, p.y + h), IM_COL32(47, 102, 224, 255), ImGui::GetFontSize() * 0.4f);
    else if (hovered) dl->AddRectFilled(p, ImVec2(p.x + w, p.y + h), IM_COL32(255, 255, 255, 18), ImGui::GetFontSize() * 0.4f);
    float fs = ImGui::GetFontSize();
    ImU32 fg = selected ? IM_COL32_WHITE : IM_COL32(200, 207, 222, 255);
    if (compact) {
        draw_icon(dl, icon, ImVec2(p.x + w * 0.5f, p.y + h * 0.5f), fs * 0.95f, fg);
        if (hovered) ImGui::SetTooltip("%s", label);
    } else {
        draw_icon(dl, icon, ImVec2(p.x + fs * 1.15f, p.y + h * 0.5f), fs * 0.95f, fg);
        dl->AddText(ImVec2(p.x + fs * 2.2f, p.y + (h - fs) * 0.5f), fg, label);
    }
    if (count > 0) {  // at the right end, or (icons only) a smaller one at the icon's corner
        std::string n = compact && count > 99 ? "99+" : std::to_string(count);
        ImVec2 ts = ImGui::CalcTextSize(n.c_str());
        const float bh = fs * (compact ? 1.1f : 1.3f), bw = std::max(bh, ts.x + fs * (compact ? 0.5f : 0.9f));
        ImVec2 b0 = compact ? ImVec2(p.x + w - bw - fs * 0.1f, p.y + fs * 0.05f) : ImVec2(p.x + w - bw - fs * 0.6f, p.y + (h - bh) * 0.5f);
        dl->AddRectFilled(b0, ImVec2(b0.x + bw, b0.y + bh), selected ? IM_COL32(255, 255, 255, 60) : IM_COL32(214, 52, 62, 255), bh * 0.5f);
        dl->AddText(ImVec2(b0.x + (bw - ts.x) * 0.5f, b0.y + (bh - ts.y) * 0.5f), IM_COL32_WHITE, n.c_str());
    }
    ImGui::PopID();
    if (clicked) {
        ui.view = v;
        if (v == View::NewCase) ui.new_case.initialised = false;
    }
    return clicked;
}

// Sign out while changes are not uploaded: while they upload first, and when they cannot be,
// with the real reason. Cancel only cancels: the user stays signed in and nothing is synced or
// removed because of it.
static void signout_dialog(App& app, UiState& ui) {
    const bool show = app.logout_blocked() || app.logout_in_progress();
    if (show && !ImGui::IsPopupOpen("Sign out?")) ImGui::OpenPopup("Sign out?");
    if (!ImGui::BeginPopupModal("Sign out?", nullptr, ImGuiWindowFlags_AlwaysAutoResize)) return;
    if (!show) {
        ImGui::CloseCurrentPopup();
        ImGui::EndPopup();
        return;
    }
    const float fs = ImGui::GetFontSize();
    const long long n = app.pending_count();
    const std::string changes = std::to_string(n) + (n == 1 ? " change has" : " changes have");
    ImGui::PushTextWrapPos(fs * 30);
    if (app.logout_in_progress()) {
        ImGui::Text("Uploading %lld change%s before signing out\xE2\x80\xA6", n, n == 1 ? "" : "s");
        mark("signout.reason");
        if (secondary_button("Cancel", "signout.cancel")) {
            app.cancel_logout();
            ImGui::CloseCurrentPopup();
        }
        ImGui::PopTextWrapPos();
        ImGui::EndPopup();
        return;
    }
    std::string why;
    switch (app.logout_block()) {
        case LogoutBlock::SessionExpired:
            why = changes + " not been uploaded: your session has ended (it expired, or an administrator reset your "
                            "password). Sign in again to upload them.";
            break;
        case LogoutBlock::Offline: why = changes + " not been uploaded: this device is offline."; break;
        case LogoutBlock::Unreachable: why = changes + " not been uploaded: the server cannot be reached."; break;
        case LogoutBlock::Refused:
            why = changes + " not been uploaded: the server refused " +
                  (app.last_stats().rejections.size() == 1 ? std::string("one") : std::to_string(app.last_stats().rejections.size())) +
                  " (" + (app.last_stats().rejections.empty() ? std::string() : app.last_stats().rejections.front().reason) + ").";
            break;
        case LogoutBlock::SyncFailed:
        case LogoutBlock::None: why = changes + " not been uploaded: the upload failed (" + app.sync_error() + ")."; break;
    }
    ImGui::TextUnformatted(why.c_str());
    mark("signout.reason");
    ImGui::TextUnformatted("Signing out removes this device's local data, these changes included. Export them first?");
    ImGui::PopTextWrapPos();
    const bool expired = app.logout_block() == LogoutBlock::SessionExpired;
    if (expired) {
        if (primary_button("Sign in again", "signout.signin")) {
            app.cancel_logout();
            ui.reauth_later = false;  // reauth_modal opens
            ImGui::CloseCurrentPopup();
        }
        ImGui::SameLine();
    }
    if ((expired ? secondary_button : primary_button)("Export changes", "signout.export", ImVec2(0, 0))) {
        export_pending_file(app);
    }
    ImGui::SameLine();
    if (secondary_button("Sign out anyway", "signout.force")) {
        app.logout(true);
        ImGui::CloseCurrentPopup();
    }
    ImGui::SameLine();
    if (secondary_button("Cancel", "signout.cancel")) {
        app.cancel_logout();  // keeps everything; the dialog does not come back by itself
        ImGui::CloseCurrentPopup();
    }
    ImGui::EndPopup();
}

static void sidebar(App& app, UiState& ui) {
    const float fs = ImGui::GetFontSize();
    ImGui::PushStyleColor(ImGuiCol_ChildBg, color::sidebar);
    ImGui::PushStyleVar(ImGuiStyleVar_WindowPadding, ImVec2(fs * 0.8f, fs * 1.1f));
    ImGui::PushStyleVar(ImGuiStyleVar_ItemSpacing, ImVec2(fs * 0.4f, fs * 0.25f));
    const bool compact = compact_layout();
    ImGui::BeginChild("sidebar", ImVec2(compact ? fs * 3.6f : fs * 14.5f, 0), ImGuiChildFlags_AlwaysUseWindowPadding,
                      ImGuiWindowFlags_NoScrollbar);
    ImDrawList* dl = ImGui::GetWindowDrawList();
    ImVec2 p = ImGui::GetCursorScreenPos();
    const float logo_x = compact ? p.x + ImGui::GetContentRegionAvail().x * 0.5f : p.x + fs * 0.7f;
    dl->AddCircleFilled(ImVec2(logo_x, p.y + fs * 0.75f), fs * 0.6f, color::accent);
    dl->AddCircle(ImVec2(logo_x, p.y + fs * 0.75f), fs * 0.3f, IM_COL32_WHITE, 0, fs * 0.12f);
    if (compact) {
        ImGui::Dummy(ImVec2(0, fs * 1.5f));
    } else {
        ImGui::SetCursorScreenPos(ImVec2(p.x + fs * 1.8f, p.y - fs * 0.05f));
        ImGui::PushStyleColor(ImGuiCol_Text, IM_COL32_WHITE);
        ImGui::PushFont(ui.bold, 19.0f);
        ImGui::TextUnformatted("closeloop");
        ImGui::PopFont();
        ImGui::PopStyleColor();
    }
    ImGui::Dummy(ImVec2(0, fs * 1.0f));

    refresh_inbox_counts(app, ui.inbox);  // the badges stay current on every screen
    nav_item(ui, Icon::Inbox, "Inbox", View::Inbox, "inbox", ui.inbox.due_today);
    nav_item(ui, Icon::Plus, "New case", View::NewCase, "new_case");
    nav_item(ui, Icon::Clock, "Due & escalations", View::Due, "due", ui.inbox.attention);
    nav_item(ui, Icon::Chart, "Reports", View::Reports, "reports");
    nav_item(ui, Icon::Target, "Improvement plan", View::Improvement, "improvement");
    if (app.session().is_admin()) nav_item(ui, Icon::Gear, "Admin", View::Admin, "admin");

    // User block at the bottom.
    float bottom = ImGui::GetWindowHeight() - (compact ? fs * 2.6f : fs * 4.6f);
    if (ImGui::GetCursorPosY() < bottom) ImGui::SetCursorPosY(bottom);
    ImGui::PushStyleColor(ImGuiCol_Separator, IM_COL32(255, 255, 255, 30));
    ImGui::Separator();
    ImGui::PopStyleColor();
    std::string role = pretty(app.session().role);
    if (!app.session().teams.empty()) role += " \xC2\xB7 " + app.session().teams.front();
    if (!compact) {
        ImGui::PushStyleColor(ImGuiCol_Text, IM_COL32_WHITE);
        ImGui::TextUnformatted(app.session().name.c_str());
        ImGui::PopStyleColor();
        ImGui::PushStyleColor(ImGuiCol_Text, IM_COL32(150, 160, 180, 255));
        ImGui::TextUnformatted(role.c_str());
        ImGui::PopStyleColor();
    }
    ImGui::PushStyleColor(ImGuiCol_Button, IM_COL32(255, 255, 255, 20));
    ImGui::PushStyleColor(ImGuiCol_ButtonHovered, IM_COL32(255, 255, 255, 40));
    ImGui::PushStyleColor(ImGuiCol_Text, IM_COL32(220, 226, 238, 255));
    ImGui::PushStyleColor(ImGuiCol_Border, IM_COL32(255, 255, 255, 30));
    if (ImGui::Button(compact ? "Out" : "Sign out", ImVec2(-1, 0))) app.logout(false);  // may wait: the dialog below
    mark("nav.signout");
    if (compact && ImGui::IsItemHovered()) ImGui::SetTooltip("Sign out %s (%s)", app.session().name.c_str(), role.c_str());
    ImGui::PopStyleColor(4);
    signout_dialog(app, ui);
    ImGui::EndChild();
    ImGui::PopStyleVar(2);
    ImGui::PopStyleColor();
}

// Changes the server refused at the last sync (no write access to a team any more, a case of
// another team, a clock far off): they stay on the device and are sent again at each sync, so
// "waiting to upload" alone would never say why they do not leave.
static void refused_changes(App& app) {
    const auto& refused = app.last_stats().rejections;
    if (refused.empty() || app.sync_phase() != SyncPhase::Idle) return;
    ImGui::SameLine();
    ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(color::danger), "(%d refused by the server)", static_cast<int>(refused.size()));
    mark("status.refused");
    if (!ImGui::IsItemHovered()) return;
    std::vector<std::pair<std::string, int>> reasons;  // in the order first seen
    for (const auto& r : refused) {
        auto it = std::find_if(reasons.begin(), reasons.end(), [&](const auto& x) { return x.first == r.reason; });
        if (it == reasons.end()) reasons.emplace_back(r.reason, 1);
        else it->second++;
    }
    std::string text = "At the last sync the server refused " + std::to_string(refused.size()) +
                       (refused.size() == 1 ? " change:\n" : " changes:\n");
    for (size_t i = 0; i < reasons.size() && i < 5; ++i)
        text += "  - " + reasons[i].first + (reasons[i].second > 1 ? " (" + std::to_string(reasons[i].second) + " changes)" : "") + "\n";
    if (reasons.size() > 5) text += "  - and " + std::to_string(reasons.size() - 5) + " other reasons\n";
    text += "They stay on this device and are sent again at every sync.\n"
            "Export saves them to a file; ask an admin about your team access.";
    ImGui::SetTooltip("%s", text.c_str());
}

void status_bar(App& app, UiState& ui) {
    const float fs = ImGui::GetFontSize();
    const bool compact = compact_layout();
    const float gap = compact ? fs * 0.6f : fs * 1.5f;  // around the separators
    ImGui::PushStyleColor(ImGuiCol_ChildBg, IM_COL32_WHITE);
    ImGui::PushStyleVar(ImGuiStyleVar_WindowPadding, ImVec2(fs, fs * 0.35f));
    ImGui::BeginChild("statusbar", ImVec2(0, fs * 2.4f), ImGuiChildFlags_AlwaysUseWindowPadding | ImGuiChildFlags_Borders,
                      ImGuiWindowFlags_NoScrollbar);
    ImDrawList* dl = ImGui::GetWindowDrawList();
    ImGui::AlignTextToFramePadding();
    ImVec2 p = ImGui::GetCursorScreenPos();
    bool online = app.online();
    const char* conn = app.browser_online() ? (online ? "Online" : "Server unreachable") : "Offline";
    ImU32 dot = app.browser_online() ? (online ? color::success : color::warning) : color::neutral;
    dl->AddCircleFilled(ImVec2(p.x + fs * 0.4f, p.y + ImGui::GetFrameHeight() * 0.5f), fs * 0.3f, dot);
    ImGui::Dummy(ImVec2(fs * 0.9f, 0));
    ImGui::SameLine();
    ImGui::TextUnformatted(conn);
    mark("status.connection");
    ImGui::SameLine(0, gap);
    ImGui::TextDisabled("|");
    ImGui::SameLine(0, gap);
    if (app.sync_phase() != SyncPhase::Idle) {
        ImGui::Text("Syncing\xE2\x80\xA6 %s (%d events)", app.sync_phase() == SyncPhase::Pushing ? "uploading" : "downloading",
                    app.sync_progress_events());
    } else if (!app.sync_error().empty() && app.last_sync() < app.now() - 1000) {
        ImGui::PushStyleColor(ImGuiCol_Text, ImGui::ColorConvertU32ToFloat4(app.browser_online() ? color::danger : color::text_dim));
        ImGui::Text("Last sync %s \xC2\xB7 %s", time_ago(app.last_sync(), app.now()).c_str(), app.sync_error().c_str());
        ImGui::PopStyleColor();
    } else {
        ImGui::Text("Last sync %s", time_ago(app.last_sync(), app.now()).c_str());
    }
    mark("status.sync");
    ImGui::SameLine(0, gap);
    ImGui::TextDisabled("|");
    ImGui::SameLine(0, gap);
    long long pending = app.pending_count();
    int files = app.pending_uploads();
    if (files > 0) ImGui::Text("%lld change%s, %d file%s waiting to upload", pending, pending == 1 ? "" : "s", files, files == 1 ? "" : "s");
    else if (pending > 0) ImGui::Text("%lld change%s waiting to upload", pending, pending == 1 ? "" : "s");
    else ImGui::TextUnformatted("All changes uploaded");
    mark("status.pending");
    refused_changes(app);
    ImGui::SameLine(0, gap);
    ImGui::TextDisabled("|");
    ImGui::SameLine(0, gap);
    switch (app.save_state()) {
        case SaveState::Clean:
        case SaveState::Saved:
            ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(color::success), compact ? "\xE2\x9C\x93 Saved" : "\xE2\x9C\x93 Saved on this device");
            // Where the browser did not grant persistent storage, say what that means (on hover:
            // it is the case for most sites that are not installed, so no alarm on screen).
            if (ImGui::IsItemHovered() && platform::storage_persisted() == 0)  // asks JS only on hover
                ImGui::SetTooltip("This browser may clear data saved by sites when the device runs low on space.\n"
                                  "Changes not yet uploaded would be lost: sync when you can, or install the app\n"
                                  "(browser menu: Install closeloop), which keeps its data.");
            break;
        case SaveState::Pending:
        case SaveState::Saving: ImGui::TextDisabled("Saving\xE2\x80\xA6"); break;
        case SaveState::Failed: ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(color::danger), "Not saved: %s", app.save_error().c_str()); break;
    }
    mark("status.saved");

    // Right-aligned buttons: Export and Sync now, flush with the window's right padding.
    const ImGuiStyle& st = ImGui::GetStyle();
    float export_w = ImGui::CalcTextSize("Export").x + st.FramePadding.x * 2;
    float right = ImGui::GetWindowWidth() - st.WindowPadding.x - export_w - st.ItemSpacing.x - fs * 7;
    // Never over the status texts: where they are longer, the buttons follow them.
    const float texts_end = ImGui::GetItemRectMax().x - ImGui::GetWindowPos().x + st.ItemSpacing.x;
    ImGui::SameLine(std::max(right, texts_end));
    if (secondary_button("Export", "status.export")) {
        export_pending_file(app);
    }
    ImGui::SameLine();
    if (app.session_expired()) {
        // The session ended: the same place offers to sign in again (reauth_modal).
        if (primary_button("Sign in again", "status.signin", ImVec2(fs * 7, 0))) ui.reauth_later = false;
    } else {
        ImGui::BeginDisabled(app.sync_phase() != SyncPhase::Idle || !app.browser_online());
        if (primary_button("Sync now", "status.sync_now", ImVec2(fs * 7, 0))) app.sync_now();
        ImGui::EndDisabled();
    }
    ImGui::EndChild();
    ImGui::PopStyleVar();
    ImGui::PopStyleColor();
}

// Bottom right, above the status bar, newest lowest: at the top right they hid the case header's
// status buttons and the inbox's "+ New case" (they take no input, but covered what to click).
static void toasts(App& app) {
    const float fs = ImGui::GetFontSize();
    ImGuiViewport* vp = ImGui::GetMainViewport();
    float y = vp->Pos.y + vp->Size.y - fs * 3.4f;  // the status bar is fs * 2.4 high
    int i = 0;
    const auto& list = app.toasts();
    for (auto it = list.rbegin(); it != list.rend(); ++it) {
        const auto& t = *it;
        ImGui::SetNextWindowPos(ImVec2(vp->Pos.x + vp->Size.x - fs, y), ImGuiCond_Always, ImVec2(1, 1));
        ImGui::SetNextWindowBgAlpha(1.0f);
        ImGui::PushStyleColor(ImGuiCol_WindowBg, t.error ? IM_COL32(253, 236, 236, 255) : IM_COL32(27, 33, 46, 240));
        ImGui::PushStyleColor(ImGuiCol_Text, t.error ? ImGui::ColorConvertU32ToFloat4(color::danger) : ImVec4(1, 1, 1, 1));
        std::string id = "##toast" + std::to_string(i++);
        ImGui::Begin(id.c_str(), nullptr,
                     ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_AlwaysAutoResize | ImGuiWindowFlags_NoFocusOnAppearing |
                         ImGuiWindowFlags_NoNav | ImGuiWindowFlags_NoInputs | ImGuiWindowFlags_NoSavedSettings);
        ImGui::PushTextWrapPos(fs * 24);
        ImGui::TextUnformatted(t.text.c_str());
        ImGui::PopTextWrapPos();
        y -= ImGui::GetWindowHeight() + fs * 0.5f;
        ImGui::End();
        ImGui::PopStyleColor(2);
    }
}

void draw_root(App& app, UiState& ui) {
    g_ui = &ui;
    ImGuiViewport* vp = ImGui::GetMainViewport();
    ImGui::SetNextWindowPos(vp->Pos);
    ImGui::SetNextWindowSize(vp->Size);
    ImGui::PushStyleVar(ImGuiStyleVar_WindowPadding, ImVec2(0, 0));
    ImGui::PushStyleVar(ImGuiStyleVar_WindowRounding, 0);
    ImGui::Begin("closeloop", nullptr,
                 ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoSavedSettings |
                     ImGuiWindowFlags_NoBringToFrontOnFocus | ImGuiWindowFlags_NoScrollWithMouse);
    ImGui::PopStyleVar(2);
    if (!app.ready()) {
        ImGui::SetCursorPos(ImVec2(40, 40));
        ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(color::danger), "%s", app.fatal_error().c_str());
    } else if (!app.session().signed_in()) {
        login_view(app, ui);
    } else {
        sidebar(app, ui);
        ImGui::SameLine(0, 0);
        ImGui::BeginGroup();
        const float fs = ImGui::GetFontSize();
        ImGui::PushStyleVar(ImGuiStyleVar_WindowPadding, ImVec2(fs * 1.6f, fs * 1.2f));
        // The status bar below is fs * 2.4 high; the item spacing after this child counts too, or the
        // root window overflows and scrolls (the sidebar and status bar then shift by a few pixels).
        ImGui::BeginChild("content", ImVec2(0, -(fs * 2.4f + ImGui::GetStyle().ItemSpacing.y)), ImGuiChildFlags_AlwaysUseWindowPadding);
        ImGui::PopStyleVar();
        switch (ui.view) {
            case View::Inbox: inbox_view(app, ui); break;
            case View::Case: case_view(app, ui); break;
            case View::NewCase: new_case_view(app, ui); break;
            case View::Due: due_view(app, ui); break;
            case View::Reports: reports_view(app, ui); break;
            case View::Improvement: improvement_view(app, ui); break;
            case View::Admin: admin_view(app, ui); break;
        }
        ImGui::EndChild();
        status_bar(app, ui);
        ImGui::EndGroup();
        reauth_modal(app, ui);
    }
    ImGui::End();
    toasts(app);
}

}  // namespace cl::ui
