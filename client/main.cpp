// closeloop web client: GLFW + WebGL2 + Dear ImGui, driven by emscripten_set_main_loop.
// platform/pre.js mounts IDBFS and starts loading it before main() runs; main() sets up the window
// and Dear ImGui while it loads, and the first frame after the load opens the app's database.
#include <GLES3/gl3.h>
#include <GLFW/glfw3.h>
#include <emscripten.h>
#include <emscripten/html5.h>

#include <cmath>

#include "app/app.h"
#include "imgui.h"
#include "imgui_internal.h"  // layout_settled(): ImGuiWindow's hidden-frame counters
#include "imgui_impl_glfw.h"
#include "imgui_impl_opengl3.h"
#include "platform/browser.h"
#include "platform/persistence.h"
#include "ui/ui.h"

namespace {

GLFWwindow* g_window = nullptr;
cl::App g_app;
cl::ui::UiState g_ui;
float g_dpr = 0;
uint64_t g_frame = 0;
bool g_app_open = false;
bool g_shown = false;  // the loading screen is down

// Keeps the drawing buffer at device pixels while the canvas is laid out in CSS pixels; ImGui
// works in device pixels (GLFW's mouse coordinates are scaled by canvas.width / CSS width), and
// style and fonts are scaled by the device pixel ratio.
void fit_canvas() {
    double css_w = 0, css_h = 0;
    cl::platform::canvas_css_size(&css_w, &css_h);
    float dpr = static_cast<float>(cl::platform::device_pixel_ratio());
    if (dpr <= 0) dpr = 1;
    int want_w = static_cast<int>(std::lround(css_w * dpr)), want_h = static_cast<int>(std::lround(css_h * dpr));
    int w = 0, h = 0;
    glfwGetWindowSize(g_window, &w, &h);
    // Not glfwSetWindowSize: Emscripten's GLFW requests fullscreen when the size equals the screen's.
    if (want_w > 0 && want_h > 0 && (w != want_w || h != want_h))
        EM_ASM({ Module['setCanvasSize']($0, $1); }, want_w, want_h);
    if (dpr != g_dpr) {
        g_dpr = dpr;
        g_ui.dpr = dpr;
        cl::ui::apply_style(dpr);
    }
}

EM_BOOL on_wheel(int, const EmscriptenWheelEvent* ev, void*) {
    float m = 0;
    if (ev->deltaMode == DOM_DELTA_PIXEL) m = 1.0f / 100.0f;
    else if (ev->deltaMode == DOM_DELTA_LINE) m = 1.0f / 3.0f;
    else if (ev->deltaMode == DOM_DELTA_PAGE) m = 80.0f;
    ImGui::GetIO().AddMouseWheelEvent(static_cast<float>(ev->deltaX) * -m, static_cast<float>(ev->deltaY) * -m);
    return EM_TRUE;
}

// No window is hidden for a frame while ImGui sizes it from its content (auto-fitting windows and
// children are, in the frame that first measures them).
bool layout_settled() {
    for (ImGuiWindow* w : ImGui::GetCurrentContext()->Windows)
        if (w->Active && (w->HiddenFramesCannotSkipItems > 0 || w->HiddenFramesCanSkipItems > 0)) return false;
    return true;
}

// Draws ImGui's rendered frame over the whole drawing buffer (cleared first, or not).
void draw(bool clear) {
    int fw = 0, fh = 0;
    glfwGetFramebufferSize(g_window, &fw, &fh);
    glViewport(0, 0, fw, fh);
    if (clear) {
        glClearColor(0.96f, 0.97f, 0.98f, 1.0f);
        glClear(GL_COLOR_BUFFER_BIT);
    }
    ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
}

void frame() {
    // Until IndexedDB is loaded the loading screen stays up and nothing is drawn.
    if (!g_app_open) {
        if (!cl::platform::local_data_loaded()) return;
        g_app_open = true;
        g_app.init("/data/closeloop.db");
        EM_ASM({ performance.mark('closeloop:app-init'); });
    }
    fit_canvas();
    glfwPollEvents();
    g_app.tick(cl::platform::now_ms());
    ImGuiIO& io = ImGui::GetIO();
    std::string typed = cl::platform::take_text_input();
    if (!typed.empty()) io.AddInputCharactersUTF8(typed.c_str());

    // The first frame lays the UI out twice and draws the second pass: ImGui sizes auto-fitting
    // windows (the sign-in card, every card) from their content and hides them in the frame that
    // measures it, so one pass alone would show an incomplete first frame.
    for (int pass = g_frame == 0 ? 2 : 1; pass > 0; --pass) {
        ImGui_ImplOpenGL3_NewFrame();
        ImGui_ImplGlfw_NewFrame();
        if (io.DeltaTime <= 0.0f) io.DeltaTime = 1.0f / 1000.0f;  // the two passes of the first frame
        ImGui::NewFrame();
        cl::ui::bridge_begin_frame();
        cl::ui::draw_root(g_app, g_ui);
        if (pass > 1) ImGui::EndFrame();
    }
    ImGui::Render();
    cl::platform::set_text_input_active(io.WantTextInput);
    draw(true);
    // The first complete frame takes the loading screen down (onFirstFrame): its time in ms since
    // navigation start is the first-frame figure of bench/js/coldstart.mjs. Complete: no window is
    // still hidden while ImGui measures it (normally the first frame, which lays out twice).
    if (!g_shown && (layout_settled() || g_frame >= 4)) {
        g_shown = true;
        EM_ASM({
            if (!window.closeloopFirstFrame) window.closeloopFirstFrame = performance.now();
            if (Module['onFirstFrame']) Module['onFirstFrame']();
        });
    }
    ++g_frame;
}

// One ImGui frame before the store is opened: it draws a line of text in both fonts with ImGui's
// shaders, so the glyphs are rasterised, the font texture is uploaded and the GPU process prepares
// its pipeline for ImGui's draws (a software renderer compiles it at the first draw) while this
// thread opens the store, instead of during the first real frame. Drawn behind the loading screen;
// the first real frame clears it.
void warm_up_frame() {
    ImGui_ImplOpenGL3_NewFrame();
    ImGui_ImplGlfw_NewFrame();
    ImGui::NewFrame();
    const char* sample = "ABCDEFGHIJKLMNOPQRSTUVWXYZ abcdefghijklmnopqrstuvwxyz 0123456789 .,:;!?()-/";
    ImDrawList* dl = ImGui::GetBackgroundDrawList();
    dl->AddText(g_ui.regular, 0.0f, ImVec2(0, 0), IM_COL32(0, 0, 0, 255), sample);
    if (g_ui.bold && g_ui.bold != g_ui.regular) dl->AddText(g_ui.bold, 0.0f, ImVec2(0, 20), IM_COL32(0, 0, 0, 255), sample);
    ImGui::Render();
    draw(false);
    glFlush();
}

}  // namespace

namespace cl::ui {
App* bridge_app() { return &g_app; }
UiState* bridge_ui() { return &g_ui; }
uint64_t bridge_frame() { return g_frame; }
}  // namespace cl::ui

int main() {
    // Start-up marks (performance.mark): bench/js/coldstart.mjs reports where a cold start goes.
    EM_ASM({ performance.mark('closeloop:main'); });
    // The window, Dear ImGui and its shaders first, while IndexedDB loads: their WebGL calls wait
    // for the GPU process (compiling the shaders takes it ~0.1 s in software GL), which then
    // overlaps with the load instead of following it. The store is opened by the first frame
    // after the load (frame()).
    if (!glfwInit()) return 1;
    glfwWindowHint(GLFW_CLIENT_API, GLFW_OPENGL_ES_API);
    glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
    glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 0);
    glfwWindowHint(GLFW_DEPTH_BITS, 0);
    glfwWindowHint(GLFW_STENCIL_BITS, 0);
    glfwWindowHint(GLFW_ALPHA_BITS, 0);  // ImGui draws opaque 2D: no depth, stencil or alpha buffers
    // Created at the size fit_canvas() wants (device pixels), the size pre.js gave the canvas
    // before it created its WebGL2 context: no resize of the drawing buffer at start-up.
    double css_w = 1280, css_h = 800;
    cl::platform::canvas_css_size(&css_w, &css_h);
    double dpr = cl::platform::device_pixel_ratio();
    if (dpr <= 0) dpr = 1;
    g_window = glfwCreateWindow(static_cast<int>(std::lround(css_w * dpr)), static_cast<int>(std::lround(css_h * dpr)), "closeloop",
                                nullptr, nullptr);
    if (!g_window) return 1;
    glfwMakeContextCurrent(g_window);

    IMGUI_CHECKVERSION();
    ImGui::CreateContext();
    ImGuiIO& io = ImGui::GetIO();
    io.IniFilename = nullptr;
    io.LogFilename = nullptr;
    io.ConfigFlags |= ImGuiConfigFlags_NavEnableKeyboard;
    cl::ui::load_fonts(g_ui);
    ImGui_ImplGlfw_InitForOpenGL(g_window, true);
    // Not ImGui_ImplGlfw_InstallEmscriptenCallbacks: its resize handler calls glfwSetWindowSize
    // (fullscreen request, see fit_canvas). Its wheel handling is reproduced here.
    emscripten_set_wheel_callback("#canvas", nullptr, false, on_wheel);
    ImGui_ImplOpenGL3_Init("#version 300 es");
    ImGui_ImplOpenGL3_CreateDeviceObjects();  // compiled now, not in the first frame
    // Clipboard: copy goes to the browser clipboard; paste arrives through the page's paste event
    // (browsers only hand clipboard contents to a paste event), typed into the focused field.
    ImGuiPlatformIO& pio = ImGui::GetPlatformIO();
    pio.Platform_SetClipboardTextFn = [](ImGuiContext*, const char* text) { cl::platform::set_clipboard(text ? text : ""); };
    pio.Platform_GetClipboardTextFn = [](ImGuiContext*) -> const char* { return ""; };

    fit_canvas();
    warm_up_frame();
    EM_ASM({ performance.mark('closeloop:gl-imgui'); });
    emscripten_set_main_loop(frame, 0, false);
    return 0;
}
