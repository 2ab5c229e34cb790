#include "platform/http.h"

#include <emscripten/fetch.h>

#include <cstring>
#include <memory>

namespace {

struct Pending {
    uint64_t id;
    std::string body, auth, content_type;
    cl::platform::HttpHeaders extra;
    std::vector<const char*> headers;
};

std::vector<cl::platform::HttpResponse> g_done;
uint64_t g_next = 1;
int g_in_flight = 0;

void finish(emscripten_fetch_t* f, bool network_ok) {
    std::unique_ptr<Pending> p(static_cast<Pending*>(f->userData));
    cl::platform::HttpResponse r;
    r.id = p->id;
    r.status = network_ok ? f->status : 0;
    if (f->data && f->numBytes > 0) r.body.assign(f->data, static_cast<size_t>(f->numBytes));
    if (!network_ok || f->status == 0) {
        r.status = 0;
        r.error = f->statusText[0] ? f->statusText : "network error";
    }
    g_done.push_back(std::move(r));
    g_in_flight--;
    emscripten_fetch_close(f);
}

void on_success(emscripten_fetch_t* f) { finish(f, true); }
void on_error(emscripten_fetch_t* f) { finish(f, f->status != 0); }

}  // namespace

namespace cl::platform {

uint64_t http_request(const std::string& method, const std::string& url, const std::string& body,
                      const std::string& bearer, unsigned timeout_ms, const std::string& content_type,
                      const HttpHeaders& extra) {
    auto* p = new Pending{g_next++, body, bearer.empty() ? "" : "Bearer " + bearer, content_type, extra, {}};
    p->headers = {"Content-Type", p->content_type.c_str(), "Accept", "application/json"};
    if (!p->auth.empty()) {
        p->headers.push_back("Authorization");
        p->headers.push_back(p->auth.c_str());
    }
    for (auto& h : p->extra) {
        p->headers.push_back(h.first.c_str());
        p->headers.push_back(h.second.c_str());
    }
    p->headers.push_back(nullptr);
    emscripten_fetch_attr_t attr;
    emscripten_fetch_attr_init(&attr);
    std::strncpy(attr.requestMethod, method.c_str(), sizeof(attr.requestMethod) - 1);
    attr.attributes = EMSCRIPTEN_FETCH_LOAD_TO_MEMORY;
    attr.onsuccess = on_success;
    attr.onerror = on_error;
    attr.timeoutMSecs = timeout_ms;
    attr.requestHeaders = p->headers.data();
    if (!p->body.empty()) {
        attr.requestData = p->body.data();
        attr.requestDataSize = p->body.size();
    }
    attr.userData = p;
    uint64_t id = p->id;
    g_in_flight++;
    emscripten_fetch(&attr, url.c_str());
    return id;
}

std::vector<HttpResponse> http_drain() {
    std::vector<HttpResponse> out;
    out.swap(g_done);
    return out;
}

int http_in_flight() { return g_in_flight; }

}  // namespace cl::platform
