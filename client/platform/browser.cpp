#include "platform/browser.h"

#include <emscripten.h>
#include <emscripten/html5.h>

#include <cstdio>
#include <ctime>
#include <vector>

namespace {
std::string g_text_input;
std::vector<cl::platform::PickedFile> g_picked;
}  // namespace

extern "C" {
EMSCRIPTEN_KEEPALIVE void cl_text_input(const char* text) {
    if (text) g_text_input += text;
}
EMSCRIPTEN_KEEPALIVE void cl_file_picked(const char* name, const char* type, double size, const char* sha256,
                                         const char* path) {
    g_picked.push_back(cl::platform::PickedFile{name, type, sha256, path, static_cast<int64_t>(size)});
}
}

EM_JS(int, cl_js_online, (), { return navigator.onLine ? 1 : 0; });

EM_JS(int, cl_js_storage_persisted, (), {
    var p = Module['storagePersisted'];
    return p === true ? 1 : p === false ? 0 : -1;
});

EM_JS(void, cl_js_download, (const char* name, const char* mime, const char* data, int len), {
    var bytes = HEAPU8.slice(data, data + len);
    var blob = new Blob([bytes], {type: UTF8ToString(mime)});
    var a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = UTF8ToString(name);
    document.body.appendChild(a);
    a.click();
    setTimeout(function() { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
    Module['lastDownload'] = {name: UTF8ToString(name), size: len};
});

EM_JS(void, cl_js_text_input, (int active), {
    var el = document.getElementById('text-input');
    if (!el) return;
    if (active) { if (document.activeElement !== el) el.focus({preventScroll: true}); }
    else if (document.activeElement === el) el.blur();
});

EM_JS(void, cl_js_set_clipboard, (const char* text), {
    var s = UTF8ToString(text);
    Module['clipboardText'] = s;
    try { if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(s).catch(function() {}); } catch (e) {}
});

EM_JS(void, cl_js_pick_file, (), {
    var input = document.getElementById('file-input');
    if (!input) return;
    input.value = '';
    input.onchange = function() {
        var f = input.files && input.files[0];
        if (!f) return;
        f.arrayBuffer().then(function(buf) {
            return crypto.subtle.digest('SHA-256', buf).then(function(d) {
                var hex = Array.from(new Uint8Array(d)).map(function(b) { return b.toString(16).padStart(2, '0'); }).join('');
                try { FS.mkdir('/data/files'); } catch (e) {}
                var path = '/data/files/' + hex;
                FS.writeFile(path, new Uint8Array(buf));
                Module.ccall('cl_file_picked', null, ['string', 'string', 'number', 'string', 'string'],
                             [f.name, f.type || 'application/octet-stream', f.size, hex, path]);
            });
        });
    };
    input.click();
});

namespace cl::platform {

int64_t now_ms() { return static_cast<int64_t>(emscripten_date_now()); }
bool navigator_online() { return cl_js_online() != 0; }
int storage_persisted() { return cl_js_storage_persisted(); }
double device_pixel_ratio() { return emscripten_get_device_pixel_ratio(); }
void canvas_css_size(double* w, double* h) { emscripten_get_element_css_size("#canvas", w, h); }

void download_file(const std::string& name, const std::string& mime, const std::string& data) {
    cl_js_download(name.c_str(), mime.c_str(), data.data(), static_cast<int>(data.size()));
}
void set_text_input_active(bool active) {
    // While a field is active, re-check every frame: a tap or click on the canvas (moving from one
    // field to another) moves the DOM focus to the canvas, which would close the on-screen keyboard
    // and stop text from reaching the hidden input. The JS side only acts when focus is wrong.
    static int last = -1;
    if (!active && last == 0) return;
    last = active;
    cl_js_text_input(active ? 1 : 0);
}
void set_clipboard(const std::string& text) { cl_js_set_clipboard(text.c_str()); }
std::string take_text_input() {
    std::string s;
    s.swap(g_text_input);
    return s;
}
void pick_file() { cl_js_pick_file(); }
bool take_picked_file(PickedFile* out) {
    if (g_picked.empty()) return false;
    *out = g_picked.front();
    g_picked.erase(g_picked.begin());
    return true;
}

std::string local_date_string(int64_t ms, const char* fmt) {
    if (ms <= 0) return "";
    time_t t = static_cast<time_t>(ms / 1000);
    struct tm tmv;
    localtime_r(&t, &tmv);
    char buf[64];
    strftime(buf, sizeof buf, fmt, &tmv);
    return buf;
}

int64_t parse_local_datetime(const std::string& s) {
    int y = 0, mo = 0, d = 0, h = 0, mi = 0;
    int n = std::sscanf(s.c_str(), "%d-%d-%d %d:%d", &y, &mo, &d, &h, &mi);
    if (n != 3 && n != 5) return -1;
    if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59) return -1;
    struct tm tmv = {};
    tmv.tm_year = y - 1900;
    tmv.tm_mon = mo - 1;
    tmv.tm_mday = d;
    tmv.tm_hour = h;
    tmv.tm_min = mi;
    tmv.tm_isdst = -1;
    time_t t = mktime(&tmv);
    if (t == static_cast<time_t>(-1)) return -1;
    struct tm back;
    localtime_r(&t, &back);
    if (back.tm_mday != d || back.tm_mon != mo - 1) return -1;  // e.g. 2024-02-31
    return static_cast<int64_t>(t) * 1000;
}

int64_t end_of_local_day(int64_t ms) {
    time_t t = static_cast<time_t>(ms / 1000);
    struct tm tmv;
    localtime_r(&t, &tmv);
    tmv.tm_hour = 23;
    tmv.tm_min = 59;
    tmv.tm_sec = 59;
    tmv.tm_isdst = -1;
    return static_cast<int64_t>(mktime(&tmv)) * 1000 + 999;
}

}  // namespace cl::platform
