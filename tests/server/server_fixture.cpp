#include "server_fixture.h"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>

namespace fs = std::filesystem;

namespace cl::server::test {

int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

json::Document ServerTest::parse(const std::string& body) {
    auto d = json::parse(body);
    EXPECT_TRUE(d.ok()) << "not JSON: " << body.substr(0, 300);
    if (!d) return json::Document();
    return std::move(*d);
}

void ServerTest::SetUp() {
    setenv("CLOSELOOP_TEST_FAST_HASH", "1", 1);
    setenv("CLOSELOOP_ADMIN_PASSWORD", kAdminPassword, 1);
    std::random_device rd;
    dir_ = (fs::temp_directory_path() / ("closeloop-srv-" + std::to_string(rd()) + std::to_string(wall_ms()))).string();
    fs::create_directories(dir_ + "/www");
    ServerOptions o;
    o.data_dir = dir_ + "/data";
    o.static_dir = dir_ + "/www";
    o.sweep_interval_s = 0;
    o.max_body = 1u << 20;
    o.max_attachment = 1u << 20;
    tune(o);
    auto app = App::open(o);
    ASSERT_TRUE(app.ok()) << app.error().message;
    app_ = std::move(*app);
    auto pw = app_->ensure_admin();
    ASSERT_TRUE(pw.ok());
    HttpLimits limits;
    limits.read_timeout_s = 10;
    limits.write_timeout_s = 10;
    http_ = std::make_unique<HttpServer>(*app_, limits);
    port_ = http_->bind("127.0.0.1", 0);
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { http_->listen(); });
    http_->wait_until_ready();
    admin_token_ = login("admin", kAdminPassword);
    ASSERT_FALSE(admin_token_.empty());
}

void ServerTest::TearDown() {
    if (http_) http_->stop();
    if (thread_.joinable()) thread_.join();
    http_.reset();
    app_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
}

HttpClient ServerTest::client(const std::string& token) {
    HttpClient c("127.0.0.1", port_);
    c.set_token(token);
    return c;
}

std::string ServerTest::login(const std::string& user, const std::string& password) {
    json::Writer w;
    w.begin_object().kv("username", user).kv("password", password).end_object();
    auto r = client().post("/api/v1/auth/login", w.take());
    if (r.status != 200) return {};
    auto d = parse(r.body);
    std::string token;
    json::get(d.root(), "token", token);
    return token;
}

std::string ServerTest::make_user(const std::string& name, const std::string& role, const std::vector<std::string>& teams) {
    json::Writer w;
    w.begin_object().kv("name", name).kv("role", role).kv("password", kUserPassword).key("teams").begin_array();
    for (auto& t : teams) w.str(t);
    w.end_array().end_object();
    auto r = client(admin_token_).post("/api/v1/admin/users", w.take());
    EXPECT_EQ(r.status, 201) << r.body;
    return login(name);
}

Device ServerTest::make_device(const std::string& name, const std::string& user, const std::string& token) {
    Device d;
    d.user = user;
    d.token = token;
    StoreOptions so;
    so.server = false;
    so.wal = false;
    auto st = Store::open(dir_ + "/device-" + name + ".db", so);
    EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.error().message);
    if (st) d.store = std::move(*st);
    d.client = std::make_unique<SyncClient>(*d.store);
    return d;
}

bool ServerTest::sync(Device& d, SyncStats* stats) {
    auto c = client(d.token);
    for (int guard = 0; guard < 1000; ++guard) {
        auto req = d.client->next_push(500);
        if (!req) break;
        auto r = c.post("/api/v1/sync/push", push_request_to_json(*req));
        if (r.status != 200) { ADD_FAILURE() << "push " << r.status << " " << r.body; return false; }
        auto resp = push_response_from_json(r.body);
        if (!resp) { ADD_FAILURE() << resp.error().message; return false; }
        size_t before = static_cast<size_t>(d.store->pending_count());
        Status s = d.client->apply_push(*req, *resp, stats);
        if (!s) { ADD_FAILURE() << s.error().message; return false; }
        if (static_cast<size_t>(d.store->pending_count()) == before) break;  // refusals kept pending
    }
    for (int guard = 0; guard < 1000; ++guard) {
        auto r = c.get("/api/v1/sync/pull?after=" + std::to_string(d.client->cursor()) + "&limit=200");
        if (r.status != 200) { ADD_FAILURE() << "pull " << r.status << " " << r.body; return false; }
        auto page = pull_response_from_json(r.body);
        if (!page) { ADD_FAILURE() << page.error().message; return false; }
        Status s = d.client->apply_pull(*page, stats);
        if (!s) { ADD_FAILURE() << s.error().message; return false; }
        if (!page->more) break;
    }
    return true;
}

std::string ServerTest::create_case(Device& d, const std::string& team, const std::string& client_name, int64_t at_ms,
                                    const std::string& kind) {
    std::string id = d.store->new_case_id();
    json::Writer w;
    w.begin_object().kv("kind", kind).key("client").begin_object().kv("name", client_name).kv("channel", "email").end_object()
        .kv("description", "Feedback from " + client_name).end_object();
    auto e = d.store->record_local(id, team, d.user, "case.created", w.take(), at_ms);
    EXPECT_TRUE(e.ok()) << (e.ok() ? "" : e.error().message);
    return id;
}

std::string ServerTest::record(Device& d, const std::string& case_id, const std::string& team, const std::string& type,
                               const std::string& body, int64_t at_ms) {
    auto e = d.store->record_local(case_id, team, d.user, type, body, at_ms);
    EXPECT_TRUE(e.ok()) << (e.ok() ? "" : e.error().message);
    return e.ok() ? e->id() : std::string();
}

int64_t ServerTest::server_events() {
    std::lock_guard<std::recursive_mutex> lk(app_->db_mutex());
    return app_->store().event_count();
}

std::string ServerTest::server_case_json(const std::string& id) {
    std::lock_guard<std::recursive_mutex> lk(app_->db_mutex());
    auto c = app_->store().load_case(id);
    return c ? case_to_json(*c) : std::string();
}

}  // namespace cl::server::test
