// Asynchronous HTTP over emscripten_fetch. Requests never block a frame: responses are queued
// by the fetch callbacks and drained by the app once per frame.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace cl::platform {

struct HttpResponse {
    uint64_t id = 0;
    int status = 0;        // HTTP status; 0 = network error / timeout / offline
    std::string body;
    std::string error;     // for status 0
};

// method: "GET", "POST" or "PUT"; body sent as content_type (JSON unless told) when non-empty;
// bearer = token or ""; extra: further request headers (name, value).
using HttpHeaders = std::vector<std::pair<std::string, std::string>>;
uint64_t http_request(const std::string& method, const std::string& url, const std::string& body,
                      const std::string& bearer, unsigned timeout_ms = 30000,
                      const std::string& content_type = "application/json", const HttpHeaders& extra = {});
std::vector<HttpResponse> http_drain();
int http_in_flight();

}  // namespace cl::platform
