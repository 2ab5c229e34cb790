#include "http_server.h"

// cpp-httplib listens with a backlog of 5: when many devices (re)connect at once (e.g. after a restart)
// the accept queue overflows, SYNs are dropped (1-7 s stalls) and some connections are reset.
#define CPPHTTPLIB_LISTEN_BACKLOG 1024
// TLS (optional, --tls-cert/--tls-key) through OpenSSL.
#define CPPHTTPLIB_OPENSSL_SUPPORT
#include <httplib.h>

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <unistd.h>

#include <condition_variable>
#include <cstring>
#include <list>
#include <mutex>
#include <thread>

namespace cl::server {

namespace {

const char* kCsp =
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

HttpRequest to_request(const httplib::Request& r) {
    HttpRequest out;
    out.method = r.method;
    out.path = r.path;
    for (auto& [k, v] : r.params) out.query.emplace(k, v);
    for (auto& [k, v] : r.headers) out.headers.emplace_back(k, v);
    out.body = r.body;
    out.remote_addr = r.remote_addr;
    return out;
}

void fill(const HttpResponse& in, httplib::Response& out) {
    out.status = in.status;
    for (auto& [k, v] : in.headers) out.set_header(k, sanitize_header_value(v));
    out.set_content(in.body, in.content_type);
}

// Worker pool: `base` threads always, more (up to `max`) while every thread is busy. Each connection
// holds a thread while it is read and while it is kept alive, so a fixed pool lets slow or idle clients
// starve everyone else. (httplib::ThreadPool's own growth counts a thread that was notified but has
// not yet taken its job as idle, so a burst of connections can wait for a busy keep-alive connection
// to end: ~5 s stalls under 50 devices. Here a thread is spawned whenever queued jobs outnumber the
// idle threads.)
class ElasticPool final : public httplib::TaskQueue {
public:
    ElasticPool(size_t base, size_t max, size_t max_queued) : max_(std::max(base, max)), max_queued_(max_queued) {
        std::lock_guard<std::mutex> lk(mu_);
        for (size_t i = 0; i < std::max<size_t>(base, 1); ++i) spawn(false);
    }
    ~ElasticPool() override { shutdown(); }

    bool enqueue(std::function<void()> fn) override {
        std::lock_guard<std::mutex> lk(mu_);
        if (stop_ || (max_queued_ > 0 && jobs_.size() >= max_queued_)) return false;
        jobs_.push_back(std::move(fn));
        reap();
        if (jobs_.size() > idle_ && threads_.size() < max_) spawn(true);
        cv_.notify_one();
        return true;
    }

    void shutdown() override {
        std::list<std::thread> all;
        {
            std::lock_guard<std::mutex> lk(mu_);
            if (stop_ && threads_.empty()) return;
            stop_ = true;
            all.swap(threads_);
        }
        cv_.notify_all();
        for (auto& t : all)
            if (t.joinable()) t.join();
    }

private:
    void spawn(bool dynamic) {  // mu_ held
        threads_.emplace_back();
        auto it = std::prev(threads_.end());
        *it = std::thread([this, dynamic, it] { work(dynamic, it); });
    }
    void reap() {  // mu_ held: join threads that have finished
        for (auto& it : finished_) {
            if (it->joinable()) it->join();
            threads_.erase(it);
        }
        finished_.clear();
    }
    void work(bool dynamic, std::list<std::thread>::iterator self) {
        std::unique_lock<std::mutex> lk(mu_);
        for (;;) {
            ++idle_;
            bool ready = dynamic ? cv_.wait_for(lk, std::chrono::seconds(3), [&] { return stop_ || !jobs_.empty(); })
                                 : (cv_.wait(lk, [&] { return stop_ || !jobs_.empty(); }), true);
            --idle_;
            if (jobs_.empty() && (stop_ || (dynamic && !ready))) break;
            auto fn = std::move(jobs_.front());
            jobs_.pop_front();
            lk.unlock();
            fn();
            lk.lock();
        }
        if (dynamic && !stop_) finished_.push_back(self);  // joined by the next enqueue (or shutdown)
    }

    std::mutex mu_;
    std::condition_variable cv_;
    std::list<std::function<void()>> jobs_;
    std::list<std::thread> threads_;
    std::vector<std::list<std::thread>::iterator> finished_;
    size_t idle_ = 0, max_, max_queued_;
    bool stop_ = false;
};

std::string error_json(const char* code, const char* msg) {
    return std::string(R"({"error":{"code":")") + code + R"(","message":")" + msg + R"("}})";
}

}  // namespace

struct HttpServer::Impl {
    App& app;
    HttpLimits limits;
    std::unique_ptr<httplib::Server> server;  // httplib::SSLServer when TLS is configured
    httplib::Server& svr;
    std::string host;
    static std::unique_ptr<httplib::Server> make(const HttpLimits& l) {
        if (l.tls_cert.empty()) return std::make_unique<httplib::Server>();
        return std::make_unique<httplib::SSLServer>(l.tls_cert.c_str(), l.tls_key.c_str());
    }
    Impl(App& a, HttpLimits l) : app(a), limits(l), server(make(limits)), svr(*server) {}
};

HttpServer::HttpServer(App& app, HttpLimits limits) : impl_(std::make_unique<Impl>(app, limits)) {
    auto& svr = impl_->svr;
    auto* impl = impl_.get();
    svr.set_payload_max_length(std::max(app.options().max_body, app.options().max_attachment));
    svr.set_read_timeout(limits.read_timeout_s, 0);
    svr.set_write_timeout(limits.write_timeout_s, 0);
    svr.set_idle_interval(0, 0);
    svr.set_keep_alive_timeout(limits.idle_timeout_s);
    svr.set_keep_alive_max_count(limits.keep_alive_max);
    // cpp-httplib's default sets SO_REUSEPORT, with which a second server binds the same port and
    // the kernel hands it every other new connection: devices would sync with two processes.
    // SO_REUSEADDR only lets a restarted server bind while the old one's connections linger.
    svr.set_socket_options([](int sock) {
        const int one = 1;
        setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    });
    size_t threads = limits.threads, max_threads = std::max(limits.threads, limits.max_threads), queued = limits.max_queued;
    svr.new_task_queue = [threads, max_threads, queued] { return new ElasticPool(threads, max_threads, queued); };
    svr.set_default_headers({
        {"Content-Security-Policy", kCsp},
        {"X-Content-Type-Options", "nosniff"},
        {"Referrer-Policy", "no-referrer"},
        {"X-Frame-Options", "DENY"},
        {"Cross-Origin-Opener-Policy", "same-origin"},
        {"Cross-Origin-Resource-Policy", "same-origin"},
    });
    auto handler = [impl](const httplib::Request& req, httplib::Response& res) {
        HttpResponse out = impl->app.handle(to_request(req));
        fill(out, res);
    };
    const char* any = R"(/.*)";
    svr.Get(any, handler);
    svr.Post(any, handler);
    svr.Put(any, handler);
    svr.Delete(any, handler);
    svr.Patch(any, handler);
    svr.Options(any, [](const httplib::Request&, httplib::Response& res) {
        res.status = 405;
        res.set_content(error_json("method_not_allowed", "method not allowed"), "application/json");
    });
    svr.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        res.status = 500;
        res.set_content(error_json("internal", "internal server error"), "application/json");
    });
    svr.set_error_handler([](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        switch (res.status) {
            case 413: res.set_content(error_json("too_large", "request body too large"), "application/json"); break;
            case 414: res.set_content(error_json("uri_too_long", "request URI too long"), "application/json"); break;
            case 404: res.set_content(error_json("not_found", "not found"), "application/json"); break;
            case 400: res.set_content(error_json("bad_request", "bad request"), "application/json"); break;
            default: res.set_content(error_json("error", "request failed"), "application/json"); break;
        }
        return httplib::Server::HandlerResponse::Handled;
    });
}

HttpServer::~HttpServer() { stop(); }

int HttpServer::bind(const std::string& host, int port) {
    impl_->host = host;
    if (port == 0) return impl_->svr.bind_to_any_port(host);
    return impl_->svr.bind_to_port(host, port) ? port : -1;
}

bool HttpServer::listen() { return impl_->svr.listen_after_bind(); }
void HttpServer::wait_until_ready() { impl_->svr.wait_until_ready(); }
void HttpServer::stop() {
    if (impl_->svr.is_running()) impl_->svr.stop();
}
bool HttpServer::running() const { return impl_->svr.is_running(); }
bool HttpServer::valid() const { return impl_->svr.is_valid(); }

// ---- client -------------------------------------------------------------------------------------

std::string ClientResponse::header(const std::string& name) const {
    for (auto& [k, v] : headers)
        if (strcasecmp(k.c_str(), name.c_str()) == 0) return v;
    return {};
}

struct HttpClient::Impl {
    httplib::Client cli;
    Impl(const std::string& host, int port) : cli(host, port) {
        cli.set_connection_timeout(5, 0);
        cli.set_read_timeout(60, 0);
        cli.set_write_timeout(60, 0);
        cli.set_keep_alive(false);
    }
};

namespace {
ClientResponse convert(const httplib::Result& r) {
    ClientResponse out;
    if (!r) return out;
    out.status = r->status;
    out.body = r->body;
    for (auto& [k, v] : r->headers) out.headers.emplace(k, v);
    return out;
}
}  // namespace

HttpClient::HttpClient(const std::string& host, int port)
    : impl_(std::make_unique<Impl>(host, port)), host_(host), port_(port) {}
HttpClient::~HttpClient() = default;
HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient& HttpClient::operator=(HttpClient&&) noexcept = default;

static httplib::Headers auth_headers(const std::string& token) {
    httplib::Headers h;
    if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
    return h;
}

ClientResponse HttpClient::get(const std::string& path) { return convert(impl_->cli.Get(path, auth_headers(token_))); }

ClientResponse HttpClient::post(const std::string& path, const std::string& body, const std::string& content_type,
                                const std::vector<std::pair<std::string, std::string>>& headers) {
    auto h = auth_headers(token_);
    for (auto& [k, v] : headers) h.emplace(k, v);
    return convert(impl_->cli.Post(path, h, body, content_type));
}

ClientResponse HttpClient::put(const std::string& path, const std::string& body, const std::string& content_type) {
    return convert(impl_->cli.Put(path, auth_headers(token_), body, content_type));
}

ClientResponse HttpClient::del(const std::string& path) { return convert(impl_->cli.Delete(path, auth_headers(token_))); }

ClientResponse HttpClient::raw_get(const std::string& raw_path) {
    // A hand-written request over a plain socket, so the path reaches the server unnormalised.
    ClientResponse out;
    addrinfo hints{}, *res = nullptr;
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host_.c_str(), std::to_string(port_).c_str(), &hints, &res) != 0) return out;
    int fd = ::socket(res->ai_family, res->ai_socktype, res->ai_protocol);
    if (fd < 0 || ::connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
        freeaddrinfo(res);
        if (fd >= 0) ::close(fd);
        return out;
    }
    freeaddrinfo(res);
    std::string req = "GET " + raw_path + " HTTP/1.1\r\nHost: " + host_ + "\r\nConnection: close\r\n\r\n";
    ::send(fd, req.data(), req.size(), 0);
    std::string data;
    char buf[4096];
    ssize_t n;
    while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) data.append(buf, static_cast<size_t>(n));
    ::close(fd);
    // status line
    if (data.rfind("HTTP/1.1 ", 0) == 0 && data.size() >= 12) out.status = std::atoi(data.substr(9, 3).c_str());
    size_t hdr_end = data.find("\r\n\r\n");
    if (hdr_end != std::string::npos) out.body = data.substr(hdr_end + 4);
    return out;
}

}  // namespace cl::server
