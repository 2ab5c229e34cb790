#include <cstdio>
#include <map>

#include "core/json.h"
#include "imgui_internal.h"
#include "ui/ui.h"

namespace cl::ui {

namespace {
struct Rect { float x, y, w, h; };
std::map<std::string, Rect> g_rects, g_last;
}  // namespace

void bridge_begin_frame() {
    g_last.swap(g_rects);
    g_rects.clear();
}

void mark(const std::string& id) {
#ifdef CLOSELOOP_TEST_BRIDGE
    ImVec2 a = ImGui::GetItemRectMin(), b = ImGui::GetItemRectMax();
    // Clip to the current window's visible area so tests never click hidden parts.
    ImRect clip = ImGui::GetCurrentWindow()->ClipRect;
    a.x = std::max(a.x, clip.Min.x); a.y = std::max(a.y, clip.Min.y);
    b.x = std::min(b.x, clip.Max.x); b.y = std::min(b.y, clip.Max.y);
    if (b.x <= a.x || b.y <= a.y) return;
    g_rects[id] = Rect{a.x, a.y, b.x - a.x, b.y - a.y};
#else
    (void)id;
#endif
}

std::string bridge_widgets_json() {
    // Rectangles of the last complete frame, in CSS pixels.
    float s = ImGui::GetStyle().FontScaleDpi;
    if (s <= 0) s = 1;
    json::Writer w;
    w.begin_object();
    const auto& src = g_rects.empty() ? g_last : g_rects;
    for (const auto& [id, r] : src) {
        w.key(id).begin_object();
        w.kv_dbl("x", r.x / s).kv_dbl("y", r.y / s).kv_dbl("w", r.w / s).kv_dbl("h", r.h / s);
        w.end_object();
    }
    w.end_object();
    return w.take();
}

void badge(const char* text, ImU32 bg, ImU32 fg) {
    ImVec2 ts = ImGui::CalcTextSize(text);
    float px = ImGui::GetFontSize() * 0.5f, py = ImGui::GetFontSize() * 0.12f;
    ImVec2 p = ImGui::GetCursorScreenPos();
    float frame_h = ImGui::GetFrameHeight();
    float h = ts.y + py * 2;
    float y = p.y + (frame_h - h) * 0.5f;
    if (y < p.y) y = p.y;
    ImVec2 size(ts.x + px * 2, h);
    ImGui::GetWindowDrawList()->AddRectFilled(ImVec2(p.x, y), ImVec2(p.x + size.x, y + size.y), bg, h * 0.5f);
    ImGui::GetWindowDrawList()->AddText(ImVec2(p.x + px, y + py), fg, text);
    ImGui::Dummy(ImVec2(size.x, std::max(frame_h, h)));
}

static bool styled_button(const char* label, const std::string& id, ImVec2 size, bool primary) {
    if (primary) {
        ImGui::PushStyleColor(ImGuiCol_Button, ImGui::ColorConvertU32ToFloat4(color::accent));
        ImGui::PushStyleColor(ImGuiCol_ButtonHovered, ImVec4(0.22f, 0.45f, 0.93f, 1));
        ImGui::PushStyleColor(ImGuiCol_ButtonActive, ImVec4(0.14f, 0.33f, 0.75f, 1));
        ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1, 1, 1, 1));
        ImGui::PushStyleColor(ImGuiCol_Border, ImGui::ColorConvertU32ToFloat4(color::accent));
    }
    bool r = ImGui::Button(label, size);
    if (primary) ImGui::PopStyleColor(5);
    mark(id);
    return r;
}

bool primary_button(const char* label, const std::string& id, ImVec2 size) { return styled_button(label, id, size, true); }
bool secondary_button(const char* label, const std::string& id, ImVec2 size) { return styled_button(label, id, size, false); }

void same_line_if_fits(float w, float spacing) {
    if (spacing < 0) spacing = ImGui::GetStyle().ItemSpacing.x;
    // The cursor is at the start of the next line: the line's right edge is from there.
    float right = ImGui::GetCursorScreenPos().x + ImGui::GetContentRegionAvail().x;
    if (ImGui::GetItemRectMax().x + spacing + w <= right + 0.5f) ImGui::SameLine(0, spacing);
}

float button_width(const char* label) {
    return ImGui::CalcTextSize(label, nullptr, true).x + ImGui::GetStyle().FramePadding.x * 2;
}

float toggle_width(const char* label) {
    return ImGui::GetFrameHeight() + ImGui::GetStyle().ItemInnerSpacing.x + ImGui::CalcTextSize(label, nullptr, true).x;
}

void heading(const char* text, float size) {
    extern UiState* g_ui;
    ImGui::PushFont(g_ui ? g_ui->bold : nullptr, size);
    ImGui::TextUnformatted(text);
    ImGui::PopFont();
}

void field_error(const FieldErrors& errs, const char* key) {
    auto it = errs.find(key);
    if (it == errs.end()) return;
    ImGui::PushStyleColor(ImGuiCol_Text, ImGui::ColorConvertU32ToFloat4(color::danger));
    ImGui::PushTextWrapPos(0);
    ImGui::TextUnformatted(it->second.c_str());
    ImGui::PopTextWrapPos();
    ImGui::PopStyleColor();
    mark(std::string("error.") + key);
}

std::string pretty(const std::string& token) {
    if (token.empty()) return "";
    std::string s = token;
    for (auto& ch : s)
        if (ch == '_') ch = ' ';
    if (s[0] >= 'a' && s[0] <= 'z') s[0] = static_cast<char>(s[0] - 'a' + 'A');
    return s;
}

std::string vocab_at(const std::vector<std::string_view>& items, int index, bool has_none) {
    int i = has_none ? index - 1 : index;
    if (i < 0 || i >= static_cast<int>(items.size())) return "";
    return std::string(items[i]);
}

int vocab_index(const std::vector<std::string_view>& items, const std::string& value, bool has_none) {
    for (size_t i = 0; i < items.size(); ++i)
        if (items[i] == value) return static_cast<int>(i) + (has_none ? 1 : 0);
    return 0;
}

bool combo_vocab(const char* label, const std::string& id, int* index, const std::vector<std::string_view>& items,
                 const char* none_label) {
    std::string preview = none_label && *index == 0 ? none_label : pretty(vocab_at(items, *index, none_label != nullptr));
    bool changed = false;
    if (ImGui::BeginCombo(label, preview.c_str())) {
        int n = static_cast<int>(items.size()) + (none_label ? 1 : 0);
        for (int i = 0; i < n; ++i) {
            std::string text = none_label && i == 0 ? none_label : pretty(vocab_at(items, i, none_label != nullptr));
            if (ImGui::Selectable(text.c_str(), *index == i)) { *index = i; changed = true; }
            mark(id + ".option." + (none_label && i == 0 ? std::string("none") : vocab_at(items, i, none_label != nullptr)));
        }
        ImGui::EndCombo();
    }
    mark(id);
    return changed;
}

std::string time_ago(int64_t then, int64_t now) {
    if (then <= 0) return "never";
    int64_t d = (now - then) / 1000;
    if (d < 0) d = 0;
    if (d < 45) return "just now";
    if (d < 3600) return std::to_string((d + 30) / 60) + " min ago";
    if (d < 86400) return std::to_string(d / 3600) + " h ago";
    return std::to_string(d / 86400) + " d ago";
}

std::string due_text(int64_t due, int64_t now) {
    if (due <= 0) return "-";
    int64_t d = (due - now) / 60000;  // minutes
    char buf[64];
    if (d < 0) {
        d = -d;
        if (d < 60) std::snprintf(buf, sizeof buf, "%lld min late", (long long)d);
        else if (d < 48 * 60) std::snprintf(buf, sizeof buf, "%lld h late", (long long)(d / 60));
        else std::snprintf(buf, sizeof buf, "%lld d late", (long long)(d / 1440));
    } else {
        if (d < 60) std::snprintf(buf, sizeof buf, "in %lld min", (long long)d);
        else if (d < 48 * 60) std::snprintf(buf, sizeof buf, "in %lld h", (long long)(d / 60));
        else std::snprintf(buf, sizeof buf, "in %lld d", (long long)(d / 1440));
    }
    return buf;
}

void status_badge(const std::string& status) {
    ImU32 bg = color::neutral;
    if (status == "new") bg = color::info;
    else if (status == "in_progress") bg = IM_COL32(14, 140, 160, 255);
    else if (status == "awaiting_client") bg = color::warning;
    else if (status == "resolved") bg = color::success;
    badge(pretty(status).c_str(), bg);
}

void sla_badge_for_row(const CaseRow& r, int64_t now) {
    bool closed = r.status == "resolved" || r.status == "closed";
    if (r.escalated && !closed) { badge("Escalated", color::purple); return; }
    if (closed) { badge("Done", IM_COL32(225, 229, 236, 255), color::text_dim); return; }
    if (r.overdue_steps > 0 || (r.next_due > 0 && r.next_due < now)) { badge("Overdue", color::danger); return; }
    if (r.needs_escalation) { badge("Escalate", IM_COL32(232, 106, 40, 255)); return; }
    if (r.next_due > 0 && r.next_due - now < 4 * 3600 * 1000LL) { badge("Due soon", color::warning); return; }
    badge("On track", IM_COL32(222, 243, 232, 255), color::success);
}

bool begin_card(const char* id, ImVec2 size) {
    ImGui::PushStyleColor(ImGuiCol_ChildBg, IM_COL32_WHITE);
    ImGui::PushStyleColor(ImGuiCol_Border, ImGui::ColorConvertU32ToFloat4(color::card_border));
    ImGui::PushStyleVar(ImGuiStyleVar_WindowPadding, ImVec2(ImGui::GetFontSize() * 1.0f, ImGui::GetFontSize() * 0.8f));
    bool open = ImGui::BeginChild(id, size, ImGuiChildFlags_Borders | ImGuiChildFlags_AlwaysUseWindowPadding |
                                                (size.y == 0 ? ImGuiChildFlags_AutoResizeY : 0),
                                  size.y == 0 ? 0 : ImGuiWindowFlags_NoScrollbar);
    return open;
}

void end_card() {
    ImGui::EndChild();
    ImGui::PopStyleVar();
    ImGui::PopStyleColor(2);
}

void label_value(const char* label, const std::string& value) {
    ImGui::PushStyleColor(ImGuiCol_Text, ImGui::ColorConvertU32ToFloat4(color::text_dim));
    ImGui::TextUnformatted(label);
    ImGui::PopStyleColor();
    ImGui::SameLine(ImGui::GetFontSize() * 9);
    ImGui::PushTextWrapPos(0);
    ImGui::TextUnformatted(value.empty() ? "-" : value.c_str());
    ImGui::PopTextWrapPos();
}

}  // namespace cl::ui
