#include <sys/stat.h>

#include "ui/ui.h"

namespace cl::ui {

namespace color {
const ImU32 accent = IM_COL32(47, 102, 224, 255);
const ImU32 accent_soft = IM_COL32(226, 234, 252, 255);
const ImU32 text_dim = IM_COL32(102, 112, 133, 255);
const ImU32 danger = IM_COL32(214, 52, 62, 255);
const ImU32 warning = IM_COL32(221, 139, 18, 255);
const ImU32 success = IM_COL32(22, 150, 96, 255);
const ImU32 info = IM_COL32(47, 102, 224, 255);
const ImU32 neutral = IM_COL32(128, 136, 152, 255);
const ImU32 purple = IM_COL32(124, 77, 200, 255);
const ImU32 sidebar = IM_COL32(24, 31, 46, 255);
const ImU32 card_border = IM_COL32(226, 230, 237, 255);
}  // namespace color

static bool exists(const char* p) {
    struct stat st;
    return ::stat(p, &st) == 0 && st.st_size > 0;
}

void load_fonts(UiState& ui) {
    ImGuiIO& io = ImGui::GetIO();
    ImFontConfig cfg;
    cfg.OversampleH = 1;
    cfg.PixelSnapH = true;
    if (exists("/fonts/ui-regular.ttf")) ui.regular = io.Fonts->AddFontFromFileTTF("/fonts/ui-regular.ttf", 15.0f, &cfg);
    if (!ui.regular) ui.regular = io.Fonts->AddFontDefault();
    if (exists("/fonts/ui-bold.ttf")) ui.bold = io.Fonts->AddFontFromFileTTF("/fonts/ui-bold.ttf", 15.0f, &cfg);
    if (!ui.bold) ui.bold = ui.regular;
}

void apply_style(float dpr) {
    ImGuiStyle style;
    ImGui::StyleColorsLight(&style);
    style.WindowPadding = ImVec2(16, 14);
    style.FramePadding = ImVec2(10, 6);
    style.CellPadding = ImVec2(8, 6);
    style.ItemSpacing = ImVec2(10, 8);
    style.ItemInnerSpacing = ImVec2(6, 6);
    style.ScrollbarSize = 12;
    style.GrabMinSize = 10;
    style.WindowBorderSize = 0;
    style.ChildBorderSize = 1;
    style.PopupBorderSize = 1;
    style.FrameBorderSize = 1;
    style.WindowRounding = 8;
    style.ChildRounding = 8;
    style.FrameRounding = 6;
    style.PopupRounding = 6;
    style.ScrollbarRounding = 6;
    style.GrabRounding = 6;
    style.TabRounding = 6;
    style.SelectableTextAlign = ImVec2(0, 0.5f);
    style.FontSizeBase = 15.0f;

    ImVec4* c = style.Colors;
    auto rgb = [](int r, int g, int b, float a = 1.0f) { return ImVec4(r / 255.f, g / 255.f, b / 255.f, a); };
    c[ImGuiCol_Text] = rgb(27, 33, 46);
    c[ImGuiCol_TextDisabled] = rgb(120, 128, 145);
    c[ImGuiCol_WindowBg] = rgb(245, 247, 250);
    c[ImGuiCol_ChildBg] = rgb(255, 255, 255, 0.0f);
    c[ImGuiCol_PopupBg] = rgb(255, 255, 255);
    c[ImGuiCol_Border] = rgb(222, 226, 233);
    c[ImGuiCol_FrameBg] = rgb(255, 255, 255);
    c[ImGuiCol_FrameBgHovered] = rgb(246, 248, 252);
    c[ImGuiCol_FrameBgActive] = rgb(240, 244, 252);
    c[ImGuiCol_TitleBg] = rgb(245, 247, 250);
    c[ImGuiCol_TitleBgActive] = rgb(245, 247, 250);
    c[ImGuiCol_ScrollbarBg] = rgb(0, 0, 0, 0);
    c[ImGuiCol_ScrollbarGrab] = rgb(200, 205, 215);
    c[ImGuiCol_ScrollbarGrabHovered] = rgb(170, 178, 192);
    c[ImGuiCol_CheckMark] = rgb(47, 102, 224);
    c[ImGuiCol_SliderGrab] = rgb(47, 102, 224);
    c[ImGuiCol_SliderGrabActive] = rgb(36, 84, 190);
    c[ImGuiCol_Button] = rgb(255, 255, 255);
    c[ImGuiCol_ButtonHovered] = rgb(240, 243, 249);
    c[ImGuiCol_ButtonActive] = rgb(226, 232, 244);
    c[ImGuiCol_Header] = rgb(232, 239, 253);
    c[ImGuiCol_HeaderHovered] = rgb(238, 243, 253);
    c[ImGuiCol_HeaderActive] = rgb(220, 230, 252);
    c[ImGuiCol_Separator] = rgb(228, 231, 237);
    c[ImGuiCol_Tab] = rgb(255, 255, 255, 0);
    c[ImGuiCol_TabHovered] = rgb(232, 239, 253);
    c[ImGuiCol_TabSelected] = rgb(226, 234, 252);
    c[ImGuiCol_TabSelectedOverline] = rgb(47, 102, 224);
    c[ImGuiCol_TableHeaderBg] = rgb(248, 249, 251);
    c[ImGuiCol_TableBorderStrong] = rgb(226, 230, 237);
    c[ImGuiCol_TableBorderLight] = rgb(236, 239, 243);
    c[ImGuiCol_TableRowBg] = rgb(255, 255, 255);
    c[ImGuiCol_TableRowBgAlt] = rgb(250, 251, 253);
    c[ImGuiCol_PlotLines] = rgb(47, 102, 224);
    c[ImGuiCol_PlotHistogram] = rgb(47, 102, 224);
    c[ImGuiCol_TextSelectedBg] = rgb(47, 102, 224, 0.25f);
    c[ImGuiCol_NavCursor] = rgb(47, 102, 224);
    c[ImGuiCol_ModalWindowDimBg] = rgb(20, 24, 35, 0.35f);

    style.ScaleAllSizes(dpr);
    style.FontScaleDpi = dpr;
    ImGui::GetStyle() = style;
}

}  // namespace cl::ui
