#include <filesystem>
#include <fstream>

#include "server_fixture.h"

namespace cl::server::test {
namespace {

using ServerInput = ServerTest;

std::string event_json(const std::string& device, int counter, const std::string& author, const std::string& body_extra = "",
                       const std::string& type = "note.added", const std::string& body = R"({"text":"x"})") {
    return "{\"device\":\"" + device + "\",\"counter\":" + std::to_string(counter) + ",\"hlc\":" + std::to_string(wall_ms()) +
           ",\"lc\":0,\"case\":\"c-" + device + "-1\",\"team\":\"bad\",\"author\":\"" + author + "\",\"type\":\"" + type +
           "\",\"v\":1,\"body\":" + body + body_extra + "}";
}

TEST_F(ServerInput, BadPushesGiveClear4xxAndChangeNothing) {
    std::string t = make_user("bea", "agent", {"bad"});
    auto c = client(t);
    int64_t before = server_events();
    std::string many = "{\"device\":\"d\",\"events\":[";
    for (int i = 0; i < kMaxEventsPerPush + 1; ++i) many += (i ? ",{}" : "{}");
    many += "]}";
    std::string huge = "{\"device\":\"d\",\"events\":[],\"pad\":\"" + std::string(2u << 20, 'x') + "\"}";
    struct Case { std::string name, body; int status; std::string code; };
    const std::vector<Case> table = {
        {"malformed", "{\"device\":", 400, "bad_json"},
        {"not an object", "[1,2]", 400, ""},
        {"events not array", R"({"device":"d","events":{}})", 400, ""},
        {"device wrong type", R"({"device":5,"events":[]})", 400, ""},
        {"unknown version", R"({"protocol":99,"device":"d","events":[]})", 400, "unknown_version"},
        {"protocol wrong type", R"({"protocol":"1","device":"d","events":[]})", 400, ""},
        {"unknown member", R"({"device":"d","events":[],"extra":1})", 400, ""},
        {"invalid utf-8", "{\"device\":\"d\xff\xfe\",\"events\":[]}", 400, "bad_json"},
        {"too many events", many, 413, "too_many_events"},
        {"oversized body", huge, 413, ""},
        {"empty body", "", 400, ""},
    };
    for (auto& row : table) {
        auto r = c.post("/api/v1/sync/push", row.body);
        EXPECT_EQ(r.status, row.status) << row.name << ": " << r.body.substr(0, 200);
        if (r.status >= 400) {
            auto d = json::parse(r.body);
            ASSERT_TRUE(d.ok()) << row.name << " error body is JSON";
            const json::Value* err = json::member(d->root(), "error");
            ASSERT_TRUE(err && err->IsObject()) << row.name;
            std::string code, msg;
            EXPECT_TRUE(json::get(*err, "code", code) && json::get(*err, "message", msg)) << row.name;
            if (!row.code.empty()) {
                EXPECT_EQ(code, row.code) << row.name;
            }
        }
        EXPECT_EQ(server_events(), before) << row.name;
    }
    // Per-event problems: the batch is answered 200, the bad events are rejected with a reason,
    // the good ones land.
    std::string good_case = "{\"device\":\"okdev\",\"counter\":1,\"hlc\":" + std::to_string(wall_ms()) +
                            ",\"lc\":0,\"case\":\"c-okdev-1\",\"team\":\"bad\",\"author\":\"bea\",\"type\":\"case.created\",\"v\":1,"
                            "\"body\":{\"kind\":\"feedback\",\"client\":{\"name\":\"\xF0\x9F\x98\x80 \xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D e\xCC\x81\"}}}";
    struct EvCase { std::string name, json; std::string code; };
    const std::vector<EvCase> events = {
        {"forged author", event_json("f1", 1, "someone_else"), "forbidden"},
        {"wrong counter type", "{\"device\":\"f2\",\"counter\":\"one\",\"hlc\":1,\"lc\":0,\"case\":\"c\",\"team\":\"bad\",\"author\":\"bea\",\"type\":\"note.added\",\"v\":1,\"body\":{}}", "bad_event"},
        {"unknown type", event_json("f3", 1, "bea", "", "case.exploded"), "unknown_type"},
        {"unknown schema", "{\"device\":\"f4\",\"counter\":1,\"hlc\":1,\"lc\":0,\"case\":\"c-f4-1\",\"team\":\"bad\",\"author\":\"bea\",\"type\":\"note.added\",\"v\":7,\"body\":{\"text\":\"x\"}}", "unknown_version"},
        {"bad body", event_json("f5", 1, "bea", "", "note.added", R"({"text":5})"), "bad_body"},
        {"far future clock", "{\"device\":\"f6\",\"counter\":1,\"hlc\":99999999999999,\"lc\":0,\"case\":\"c-f6-1\",\"team\":\"bad\",\"author\":\"bea\",\"type\":\"note.added\",\"v\":1,\"body\":{\"text\":\"x\"}}", "clock_skew"},
        {"other team", "{\"device\":\"f7\",\"counter\":1,\"hlc\":1,\"lc\":0,\"case\":\"c-f7-1\",\"team\":\"elsewhere\",\"author\":\"bea\",\"type\":\"note.added\",\"v\":1,\"body\":{\"text\":\"x\"}}", "forbidden"},
        {"server-only type", event_json("f8", 1, "bea", "", "ref.assigned", R"({"ref":"FF-2020-0001"})"), "forbidden"},
    };
    std::string body = "{\"protocol\":1,\"device\":\"mixed\",\"events\":[" + good_case;
    for (auto& e : events) body += "," + e.json;
    body += "]}";
    auto r = c.post("/api/v1/sync/push", body);
    ASSERT_EQ(r.status, 200) << r.body;
    auto resp = push_response_from_json(r.body);
    ASSERT_TRUE(resp.ok()) << r.body;
    EXPECT_EQ(resp->accepted, 1);
    ASSERT_EQ(resp->rejected.size(), events.size()) << r.body;
    for (auto& e : events) {
        bool seen = false;
        for (auto& rj : resp->rejected) seen = seen || (rj.code == e.code && !rj.reason.empty());
        EXPECT_TRUE(seen) << e.name << " expected code " << e.code << " in " << r.body;
    }
    EXPECT_EQ(server_events(), before + 2);  // the case and its ref.assigned
    // unicode round-trips byte for byte
    auto got = c.get("/api/v1/cases/c-okdev-1");
    ASSERT_EQ(got.status, 200);
    EXPECT_NE(got.body.find("\xF0\x9F\x98\x80 \xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D e\xCC\x81"), std::string::npos);
}

TEST_F(ServerInput, PullAndListParametersValidated) {
    std::string t = make_user("pat", "agent", {"p"});
    auto c = client(t);
    EXPECT_EQ(c.get("/api/v1/sync/pull?after=-1").status, 400);
    EXPECT_EQ(c.get("/api/v1/sync/pull?after=abc").status, 400);
    EXPECT_EQ(c.get("/api/v1/sync/pull?limit=0").status, 400);
    EXPECT_EQ(c.get("/api/v1/sync/pull?limit=999999").status, 400);
    EXPECT_EQ(c.get("/api/v1/sync/pull?after=0&limit=10").status, 200);
    EXPECT_EQ(c.get("/api/v1/cases?limit=0").status, 400);
    EXPECT_EQ(c.get("/api/v1/cases?sort=evil").status, 400);
    EXPECT_EQ(c.get("/api/v1/cases?offset=4294967296").status, 400);  // wrapped to 0 in the query's int
    EXPECT_EQ(c.get("/api/v1/cases?offset=1000000000").status, 200);
    EXPECT_EQ(c.get("/api/v1/cases?status=open&overdue=1&q=%E2%9C%93").status, 200);
    EXPECT_EQ(c.get("/api/v1/cases/does-not-exist").status, 404);
    EXPECT_EQ(c.get("/api/v1/nothing-here").status, 404);
    EXPECT_EQ(c.del("/api/v1/cases").status, 405);
}

TEST_F(ServerInput, StaticFilesServedWithoutTraversal) {
    namespace fs = std::filesystem;
    std::ofstream(dir_ + "/www/index.html") << "<html>app</html>";
    std::ofstream(dir_ + "/www/app.wasm") << "\0asm";
    std::ofstream(dir_ + "/secret.txt") << "TOPSECRET";
    fs::create_directories(dir_ + "/www/sub");
    std::ofstream(dir_ + "/www/sub/a.js") << "console.log(1)";
    auto c = client();
    auto idx = c.get("/");
    EXPECT_EQ(idx.status, 200);
    EXPECT_EQ(idx.body, "<html>app</html>");
    EXPECT_EQ(c.get("/app.wasm").header("Content-Type"), "application/wasm");
    EXPECT_EQ(c.get("/sub/a.js").header("Content-Type"), "text/javascript; charset=utf-8");
    EXPECT_EQ(c.get("/missing.js").status, 404);
    for (std::string p : {"/../secret.txt", "/sub/../../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt",
                          "/sub/%2e%2e/%2e%2e/secret.txt", "/..\\secret.txt", "/%2e%2e%5csecret.txt", "//secret.txt",
                          "/../../../../etc/passwd", "/%00../secret.txt"}) {
        auto r = c.raw_get(p);
        EXPECT_NE(r.status, 200) << p;
        EXPECT_EQ(r.body.find("TOPSECRET"), std::string::npos) << p;
        EXPECT_EQ(r.body.find("root:"), std::string::npos) << p;
    }
}

// The admin's backup holds everything a restore needs: the database and the attachment files
// (kept outside it). A second backup to the same place copies only new files, and a server
// started on a folder rebuilt from the backup serves the cases and the files.
TEST_F(ServerInput, BackupHoldsDatabaseAndAttachmentsAndRestores) {
    namespace fs = std::filesystem;
    std::string ta = make_user("bk", "agent", {"x"});
    auto c = client(ta);
    const std::string first = "first attachment bytes", second = "second attachment, later";
    auto up = c.post("/api/v1/attachments", first, "text/plain", {{"X-Filename", "a.txt"}});
    ASSERT_EQ(up.status, 201) << up.body;
    Device d = make_device("bk-dev", "bk", ta);
    const std::string case_id = create_case(d, "x", "Backup Client", wall_ms());
    ASSERT_TRUE(sync(d));
    const int64_t events = server_events();

    const std::string file = dir_ + "/backups/closeloop-backup.db";
    fs::create_directories(dir_ + "/backups");
    auto b1 = app_->backup(file);
    ASSERT_TRUE(b1.ok()) << b1.error().message;
    EXPECT_EQ(b1->files_copied, 1);
    EXPECT_EQ(b1->files_present, 0);
    EXPECT_EQ(b1->bytes_copied, static_cast<int64_t>(first.size()));
    // Owner only, like the data folder: the copy holds personal data and password hashes.
    EXPECT_EQ(fs::status(file).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
    EXPECT_EQ(fs::status(b1->attachments_dir).permissions() & fs::perms::all, fs::perms::owner_all);
    ASSERT_EQ(c.post("/api/v1/attachments", second, "text/plain", {{"X-Filename", "b.txt"}}).status, 201);
    auto b2 = app_->backup(file);
    ASSERT_TRUE(b2.ok()) << b2.error().message;
    EXPECT_EQ(b2->files_copied, 1);  // only the new one
    EXPECT_EQ(b2->files_present, 1);

    // Restore into a new data folder, as the command's message says, and read through the API.
    const std::string restored = dir_ + "/restored";
    fs::create_directories(restored + "/attachments");
    fs::copy_file(file, restored + "/closeloop.db");
    for (const auto& f : fs::directory_iterator(b2->attachments_dir)) fs::copy_file(f.path(), fs::path(restored) / "attachments" / f.path().filename());
    ServerOptions o;
    o.data_dir = restored;
    o.sweep_interval_s = 0;
    auto app = App::open(o);
    ASSERT_TRUE(app.ok()) << app.error().message;
    App& r = **app;
    HttpRequest login;
    login.method = "POST";
    login.path = "/api/v1/auth/login";
    login.body = R"({"username":"bk","password":")" + std::string(kUserPassword) + R"("})";
    login.headers = {{"Content-Type", "application/json"}};
    auto lr = r.handle(login);
    ASSERT_EQ(lr.status, 200) << lr.body;
    std::string token;
    ASSERT_TRUE(json::get(parse(lr.body).root(), "token", token));
    auto get = [&](const std::string& path) {
        HttpRequest q;
        q.method = "GET";
        q.path = path;
        q.headers = {{"Authorization", "Bearer " + token}};
        return r.handle(q);
    };
    {
        std::lock_guard<std::recursive_mutex> lk(r.db_mutex());
        EXPECT_EQ(r.store().event_count(), events);
    }
    auto got_case = get("/api/v1/cases/" + case_id);
    EXPECT_EQ(got_case.status, 200) << got_case.body;
    EXPECT_NE(got_case.body.find("Backup Client"), std::string::npos);
    for (const std::string& data : {first, second}) {
        auto f = get("/api/v1/attachments/" + sha256_hex(data));
        EXPECT_EQ(f.status, 200) << f.body;
        EXPECT_EQ(f.body, data);
    }
}

TEST_F(ServerInput, AttachmentsContentAddressedWithLimits) {
    std::string ta = make_user("att", "agent", {"x"});
    std::string tb = make_user("other", "agent", {"y"});
    auto c = client(ta);
    std::string data = "PNG\x01\x02 screenshot bytes";
    auto up = c.post("/api/v1/attachments", data, "image/png", {{"X-Filename", "shot\"; evil=1 \xC3\xA9.png"}});
    ASSERT_EQ(up.status, 201) << up.body;
    auto d = parse(up.body);
    std::string sha;
    ASSERT_TRUE(json::get(d.root(), "sha256", sha));
    EXPECT_EQ(sha, sha256_hex(data));
    auto got = c.get("/api/v1/attachments/" + sha);
    ASSERT_EQ(got.status, 200);
    EXPECT_EQ(got.body, data);
    EXPECT_EQ(got.header("Content-Type"), "image/png");
    EXPECT_EQ(got.header("Content-Disposition").find("\"; evil"), std::string::npos) << got.header("Content-Disposition");
    // CR/LF never reach a response header (httplib's client refuses to send them, so check the helper)
    EXPECT_EQ(sanitize_header_value("a\r\nSet-Cookie: x=y"), "aSet-Cookie: x=y");
    EXPECT_EQ(sanitize_header_value(std::string("a\0b\x7f", 4)), "ab");
    EXPECT_EQ(client(tb).get("/api/v1/attachments/" + sha).status, 403);
    EXPECT_EQ(client(admin_token_).get("/api/v1/attachments/" + sha).status, 200);
    EXPECT_EQ(c.get("/api/v1/attachments/" + std::string(64, '0')).status, 404);
    EXPECT_EQ(c.get("/api/v1/attachments/not-a-sha").status, 400);
    int traversal = c.get("/api/v1/attachments/..%2f..%2fdata%2fcloseloop.db").status;
    EXPECT_TRUE(traversal == 400 || traversal == 404) << traversal;
    EXPECT_EQ(c.post("/api/v1/attachments", std::string((1u << 20) + 10, 'a'), "application/octet-stream").status, 413);
    EXPECT_EQ(c.post("/api/v1/attachments", "", "application/octet-stream").status, 400);
}

TEST_F(ServerInput, SlaAndRetentionSettingsValidatedAndAudited) {
    auto c = client(admin_token_);
    auto sla = c.get("/api/v1/admin/sla");
    ASSERT_EQ(sla.status, 200);
    EXPECT_NE(sla.body.find("\"calendar\""), std::string::npos);
    EXPECT_EQ(c.put("/api/v1/admin/sla", "{nope").status, 400);
    EXPECT_EQ(c.put("/api/v1/admin/sla", R"({"policy":5})").status, 400);
    EXPECT_EQ(c.put("/api/v1/admin/sla", R"({"calendar":{"tz":"CET-1CEST,M3.5.0,M10.5.0/3","holidays":["2025-12-25"]}})").status, 200)
        << c.put("/api/v1/admin/sla", R"({"calendar":{"tz":"CET-1CEST,M3.5.0,M10.5.0/3"}})").body;
    EXPECT_NE(c.get("/api/v1/admin/sla").body.find("CET-1CEST"), std::string::npos);
    auto ret = c.get("/api/v1/admin/retention");
    ASSERT_EQ(ret.status, 200);
    EXPECT_EQ(c.put("/api/v1/admin/retention", R"({"default_months":3})").status, 400) << "at least 12 months";
    auto ok = c.put("/api/v1/admin/retention", R"({"default_months":24})");
    EXPECT_EQ(ok.status, 200) << ok.body;
    EXPECT_NE(c.get("/api/v1/admin/retention").body.find("24"), std::string::npos);
    auto audit = c.get("/api/v1/admin/audit");
    EXPECT_NE(audit.body.find("sla.update"), std::string::npos);
    EXPECT_NE(audit.body.find("retention.policy"), std::string::npos);
}

TEST_F(ServerInput, ReportsHealthAndMetrics) {
    std::string t = make_user("rob", "manager", {"r"});
    Device d = make_device("m", "rob", t);
    create_case(d, "r", "Report Client", wall_ms() - 3600000);
    ASSERT_TRUE(sync(d));
    auto c = client(t);
    auto rep = c.get("/api/v1/reports/summary?period=month");
    ASSERT_EQ(rep.status, 200) << rep.body;
    EXPECT_TRUE(json::parse(rep.body).ok());
    auto csv = c.get("/api/v1/reports/summary?format=csv&from=2020-01-01&to=2099-01-01");
    EXPECT_EQ(csv.status, 200);
    EXPECT_NE(csv.header("Content-Type").find("text/csv"), std::string::npos);
    EXPECT_EQ(c.get("/api/v1/reports/summary?from=2020-13-01&to=x").status, 400);
    EXPECT_EQ(c.get("/api/v1/reports/summary?format=xml").status, 400);
    auto log = c.get("/api/v1/reports/log.csv");
    EXPECT_EQ(log.status, 200);
    EXPECT_NE(log.body.find("Report Client"), std::string::npos);
    EXPECT_EQ(client().get("/healthz").status, 200);
    auto m = client().get("/metrics");
    ASSERT_EQ(m.status, 200);
    EXPECT_NE(m.body.find("closeloop_http_requests_total{route=\"/api/v1/sync/push\",method=\"POST\",status=\"200\"}"), std::string::npos) << m.body;
    EXPECT_NE(m.body.find("closeloop_sync_push_events_total{result=\"accepted\"} 1"), std::string::npos) << m.body;
    EXPECT_NE(m.body.find("closeloop_sync_pull_seconds_count"), std::string::npos);
    EXPECT_EQ(m.body.find("Report Client"), std::string::npos);
}

}  // namespace
}  // namespace cl::server::test
