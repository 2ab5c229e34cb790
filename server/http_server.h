// cpp-httplib adapter (the only translation unit that includes httplib.h) and a small blocking
// HTTP client used by the tests and the CLI.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "app.h"

namespace cl::server {

struct HttpLimits {
    int read_timeout_s = 30, write_timeout_s = 30, idle_timeout_s = 5;
    size_t keep_alive_max = 100;
    // Worker threads: `threads` always, growing to `max_threads` under load (each connection holds a
    // thread while it is read, so slow clients must not starve the others; see docs/reliability-server.md).
    size_t threads = 16, max_threads = 256, max_queued = 256;
    // Optional TLS: PEM certificate chain and private key. Empty = plain HTTP (e.g. behind a proxy).
    std::string tls_cert, tls_key;
};

class HttpServer {
public:
    HttpServer(App& app, HttpLimits limits = {});
    ~HttpServer();
    // Binds; port 0 picks a free port. Returns the bound port, or -1.
    int bind(const std::string& host, int port);
    // Serves until stop() (blocking).
    bool listen();
    void wait_until_ready();
    void stop();
    bool running() const;
    bool valid() const;  // false when the TLS certificate or key could not be loaded

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

struct ClientResponse {
    int status = 0;  // 0 = transport error
    std::string body;
    std::multimap<std::string, std::string> headers;
    std::string header(const std::string& name) const;
};

class HttpClient {
public:
    HttpClient(const std::string& host, int port);
    ~HttpClient();
    HttpClient(HttpClient&&) noexcept;
    HttpClient& operator=(HttpClient&&) noexcept;
    void set_token(const std::string& token) { token_ = token; }
    ClientResponse get(const std::string& path_and_query);
    ClientResponse post(const std::string& path, const std::string& body,
                        const std::string& content_type = "application/json",
                        const std::vector<std::pair<std::string, std::string>>& headers = {});
    ClientResponse put(const std::string& path, const std::string& body,
                       const std::string& content_type = "application/json");
    ClientResponse del(const std::string& path);
    // Sends a raw request line/path without client-side normalisation (for traversal tests).
    ClientResponse raw_get(const std::string& raw_path);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    std::string host_;
    int port_;
    std::string token_;
};

}  // namespace cl::server
