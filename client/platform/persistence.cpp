#include "platform/persistence.h"

#include <emscripten.h>

namespace {
bool g_running = false;
bool g_done = false;
bool g_ok = false;
std::string g_error;
}  // namespace

extern "C" EMSCRIPTEN_KEEPALIVE void cl_persist_done(int ok, const char* error) {
    g_running = false;
    g_done = true;
    g_ok = ok != 0;
    g_error = error ? error : "";
}

EM_JS(void, cl_js_syncfs_out, (), {
    FS.syncfs(false, function(err) {
        var msg = err ? String(err && err.message || err) : "";
        var n = lengthBytesUTF8(msg) + 1;
        var p = _malloc(n);
        stringToUTF8(msg, p, n);
        _cl_persist_done(err ? 0 : 1, p);
        _free(p);
    });
});

EM_JS(int, cl_js_copy_file, (const char* from, const char* to), {
    try {
        FS.writeFile(UTF8ToString(to), FS.readFile(UTF8ToString(from)), { canOwn: true });
        return 1;
    } catch (e) {
        return 0;
    }
});

EM_JS(int, cl_js_local_data_loaded, (), { return Module['localDataLoaded'] ? 1 : 0; });

EM_JS(char*, cl_js_load_error, (), {
    var msg = Module['persistLoadError'] || "";
    var n = lengthBytesUTF8(msg) + 1;
    var p = _malloc(n);
    stringToUTF8(msg, p, n);
    return p;
});

namespace cl::platform {

bool local_data_loaded() { return cl_js_local_data_loaded() != 0; }

bool copy_local_file(const std::string& from, const std::string& to) { return cl_js_copy_file(from.c_str(), to.c_str()) != 0; }

std::string persist_load_error() {
    char* p = cl_js_load_error();
    std::string s(p);
    free(p);
    return s;
}

bool persist_flush_start() {
    if (g_running || !local_data_loaded()) return false;
    g_running = true;
    cl_js_syncfs_out();
    return true;
}

bool persist_flush_running() { return g_running; }

bool persist_poll(bool* ok, std::string* error) {
    if (!g_done) return false;
    g_done = false;
    if (ok) *ok = g_ok;
    if (error) *error = g_error;
    return true;
}

}  // namespace cl::platform
