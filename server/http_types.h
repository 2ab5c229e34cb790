// Transport-neutral request/response used by the route code (app.cpp), so only http_server.cpp
// includes httplib.h (each TU that does costs ~18 s to compile).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace cl::server {

struct HttpRequest {
    std::string method;                            // GET, POST, PUT, DELETE, ...
    std::string path;                              // decoded path, no query
    std::multimap<std::string, std::string> query;  // decoded query parameters
    std::vector<std::pair<std::string, std::string>> headers;  // names as received
    std::string body;
    std::string remote_addr;

    // Case-insensitive header lookup; empty when absent.
    std::string header(const std::string& name) const;
    bool has_param(const std::string& key) const { return query.count(key) > 0; }
    std::string param(const std::string& key, const std::string& def = "") const {
        auto it = query.find(key);
        return it == query.end() ? def : it->second;
    }
};

struct HttpResponse {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // extra headers (values sanitised)
};

// Removes CR, LF and other control characters from a value echoed into a header.
std::string sanitize_header_value(const std::string& v);

}  // namespace cl::server
