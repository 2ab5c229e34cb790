#include "server_fixture.h"

namespace cl::server::test {
namespace {

using ServerAuth = ServerTest;

TEST_F(ServerAuth, LoginReturnsTokenAndUser) {
    auto r = client().post("/api/v1/auth/login", R"({"username":"admin","password":"admin-password-1"})");
    ASSERT_EQ(r.status, 200) << r.body;
    auto d = parse(r.body);
    std::string token, role;
    ASSERT_TRUE(json::get(d.root(), "token", token));
    EXPECT_EQ(token.size(), 64u);
    const json::Value* user = json::member(d.root(), "user");
    ASSERT_TRUE(user);
    EXPECT_TRUE(json::get(*user, "role", role));
    EXPECT_EQ(role, "admin");
    auto me = client(token).get("/api/v1/auth/me");
    EXPECT_EQ(me.status, 200);
    EXPECT_NE(me.body.find("\"admin\""), std::string::npos);
}

TEST_F(ServerAuth, BadPasswordAndUnknownUserGive401) {
    EXPECT_EQ(client().post("/api/v1/auth/login", R"({"username":"admin","password":"nope-nope"})").status, 401);
    EXPECT_EQ(client().post("/api/v1/auth/login", R"({"username":"ghost","password":"nope-nope"})").status, 401);
    EXPECT_EQ(client().post("/api/v1/auth/login", R"({"username":"admin"})").status, 400);
    EXPECT_EQ(client().post("/api/v1/auth/login", R"({"username":1,"password":2})").status, 400);
    EXPECT_EQ(client().post("/api/v1/auth/login", "{oops").status, 400);
}

TEST_F(ServerAuth, RateLimitBacksOffWith429AndRetryAfter) {
    make_user("carol", "agent", {"t1"});
    for (int i = 0; i < 3; ++i)
        EXPECT_EQ(client().post("/api/v1/auth/login", R"({"username":"carol","password":"wrong-pass"})").status, 401);
    // 4th failure starts the backoff (1 s, then 2 s, ...): the next attempt, even correct, is throttled.
    EXPECT_EQ(client().post("/api/v1/auth/login", R"({"username":"carol","password":"wrong-pass"})").status, 401);
    auto r = client().post("/api/v1/auth/login", R"({"username":"carol","password":"user-password-1"})");
    EXPECT_EQ(r.status, 429) << r.body;
    EXPECT_FALSE(r.header("Retry-After").empty());
    EXPECT_GE(std::atoi(r.header("Retry-After").c_str()), 1);
    // Other users are not throttled by carol's failures.
    EXPECT_FALSE(login("admin", kAdminPassword).empty());
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    EXPECT_FALSE(login("carol").empty());
}

TEST_F(ServerAuth, RateLimitPerAddress) {
    // many user names from one address: the per-address counter (20 free) kicks in
    int throttled = 0;
    for (int i = 0; i < 24; ++i) {
        auto r = client().post("/api/v1/auth/login", "{\"username\":\"u" + std::to_string(i) + "\",\"password\":\"xxxxxxxx\"}");
        if (r.status == 429) ++throttled;
        else EXPECT_EQ(r.status, 401);
    }
    EXPECT_GE(throttled, 1);
}

TEST_F(ServerAuth, LogoutRevokesTokenAndBadTokensGive401) {
    std::string t = make_user("dave", "agent", {"t1"});
    EXPECT_EQ(client(t).get("/api/v1/auth/me").status, 200);
    EXPECT_EQ(client(t).post("/api/v1/auth/logout", "").status, 200);
    EXPECT_EQ(client(t).get("/api/v1/auth/me").status, 401);
    EXPECT_EQ(client().get("/api/v1/auth/me").status, 401);
    EXPECT_EQ(client(std::string(64, 'a')).get("/api/v1/auth/me").status, 401);
    EXPECT_EQ(client("short").get("/api/v1/cases").status, 401);
}

TEST_F(ServerAuth, DisabledUserLosesAccessAndCannotLogin) {
    std::string t = make_user("erin", "agent", {"t1"});
    EXPECT_EQ(client(admin_token_).put("/api/v1/admin/users/erin", R"({"disabled":true})").status, 200);
    EXPECT_EQ(client(t).get("/api/v1/auth/me").status, 401);
    EXPECT_TRUE(login("erin").empty());
    EXPECT_EQ(client(admin_token_).put("/api/v1/admin/users/erin", R"({"disabled":false,"password":"new-password-9"})").status, 200);
    EXPECT_FALSE(login("erin", "new-password-9").empty());
}

TEST_F(ServerAuth, SecurityHeadersOnEveryResponse) {
    for (auto path : {"/healthz", "/api/v1/cases", "/nope", "/api/v1/nope"}) {
        auto r = client().get(path);
        EXPECT_NE(r.header("Content-Security-Policy").find("'wasm-unsafe-eval'"), std::string::npos) << path;
        EXPECT_NE(r.header("Content-Security-Policy").find("frame-ancestors 'none'"), std::string::npos) << path;
        EXPECT_EQ(r.header("X-Content-Type-Options"), "nosniff") << path;
        EXPECT_EQ(r.header("Referrer-Policy"), "no-referrer") << path;
    }
}

// Routes x roles x team: each (role, route) pair has the expected status.
TEST_F(ServerAuth, AccessMatrixRolesAndTeams) {
    std::string agent_a = make_user("agent_a", "agent", {"A"});
    std::string agent_b = make_user("agent_b", "agent", {"B"});
    std::string analyst = make_user("ana", "analyst", {"A"});
    std::string manager = make_user("mgr", "manager", {"A"});
    Device dev = make_device("a", "agent_a", agent_a);
    std::string case_a = create_case(dev, "A", "Client A", wall_ms());
    ASSERT_TRUE(sync(dev));

    struct Row { std::string method, path, body; int none, ag_a, ag_b, an, mg, ad; };
    const std::vector<Row> rows = {
        {"GET", "/api/v1/auth/me", "", 401, 200, 200, 200, 200, 200},
        {"GET", "/api/v1/settings", "", 401, 200, 200, 200, 200, 200},
        {"GET", "/api/v1/sync/pull?after=0", "", 401, 200, 200, 200, 200, 200},
        {"GET", "/api/v1/cases", "", 401, 200, 200, 200, 200, 200},
        {"GET", "/api/v1/cases?team=A", "", 401, 200, 403, 200, 200, 200},
        {"GET", "/api/v1/cases/" + case_a, "", 401, 200, 403, 200, 200, 200},
        {"GET", "/api/v1/reports/summary", "", 401, 403, 403, 200, 200, 200},
        {"GET", "/api/v1/reports/summary?team=B", "", 401, 403, 403, 200, 403, 200},
        {"GET", "/api/v1/reports/summary?format=csv", "", 401, 403, 403, 200, 200, 200},
        {"GET", "/api/v1/reports/log.csv", "", 401, 403, 403, 200, 200, 200},
        {"GET", "/api/v1/admin/users", "", 401, 403, 403, 403, 403, 200},
        {"GET", "/api/v1/admin/teams", "", 401, 403, 403, 403, 403, 200},
        {"GET", "/api/v1/admin/sla", "", 401, 403, 403, 403, 403, 200},
        {"GET", "/api/v1/admin/retention", "", 401, 403, 403, 403, 403, 200},
        {"GET", "/api/v1/admin/audit", "", 401, 403, 403, 403, 403, 200},
        {"GET", "/api/v1/admin/subjects/export?client=Nobody", "", 401, 403, 403, 403, 403, 200},
        {"POST", "/api/v1/admin/retention/run?dry_run=1", "", 401, 403, 403, 403, 403, 200},
        {"POST", "/api/v1/admin/cases/" + case_a + "/legal-hold", R"({"hold":false})", 401, 403, 403, 403, 403, 200},
        {"POST", "/api/v1/admin/subjects/erase", R"({"client":"Nobody"})", 401, 403, 403, 403, 403, 200},
        {"POST", "/api/v1/admin/teams", R"({"name":"Z"})", 401, 403, 403, 403, 403, 201},
        {"POST", "/api/v1/attachments", "hello", 401, 201, 201, 403, 201, 201},
    };
    const std::vector<std::pair<std::string, std::string>> who = {
        {"none", ""}, {"agent_a", agent_a}, {"agent_b", agent_b}, {"analyst", analyst}, {"manager", manager}, {"admin", admin_token_}};
    for (auto& row : rows) {
        const int expected[] = {row.none, row.ag_a, row.ag_b, row.an, row.mg, row.ad};
        for (size_t i = 0; i < who.size(); ++i) {
            auto c = client(who[i].second);
            ClientResponse r = row.method == "GET" ? c.get(row.path) : c.post(row.path, row.body, "application/json");
            EXPECT_EQ(r.status, expected[i]) << row.method << " " << row.path << " as " << who[i].first << ": " << r.body;
        }
    }
    // Pushes are checked per event: agent_b writing into team A is refused "forbidden", analysts cannot write.
    for (auto& [name, token] : std::vector<std::pair<std::string, std::string>>{{"agent_b", agent_b}, {"ana", analyst}}) {
        Event e;
        e.device = "dev-" + name;
        e.counter = 1;
        e.clock = Hlc{wall_ms(), 0};
        e.case_id = case_a;
        e.team = "A";
        e.author = name;
        e.type = "note.added";
        e.body = R"({"text":"hi"})";
        PushRequest req;
        req.device = e.device;
        req.events = {e};
        auto r = client(token).post("/api/v1/sync/push", push_request_to_json(req));
        ASSERT_EQ(r.status, 200) << r.body;
        auto resp = push_response_from_json(r.body);
        ASSERT_TRUE(resp.ok());
        EXPECT_EQ(resp->accepted, 0) << name;
        ASSERT_EQ(resp->rejected.size(), 1u) << name;
        EXPECT_EQ(resp->rejected[0].code, "forbidden") << name;
    }
    // agent_b's listing never shows team A's case; agent_a's pull holds its events.
    auto list_b = client(agent_b).get("/api/v1/cases");
    EXPECT_EQ(list_b.body.find(case_a), std::string::npos);
    auto pull_b = client(agent_b).get("/api/v1/sync/pull?after=0");
    EXPECT_EQ(pull_b.body.find(case_a), std::string::npos);
    auto pull_a = client(agent_a).get("/api/v1/sync/pull?after=0");
    EXPECT_NE(pull_a.body.find(case_a), std::string::npos);
}

TEST_F(ServerAuth, AdminUserManagementIsAudited) {
    auto c = client(admin_token_);
    EXPECT_EQ(c.post("/api/v1/admin/users", R"({"name":"bad name","role":"agent","password":"xxxxxxxxx"})").status, 400);
    EXPECT_EQ(c.post("/api/v1/admin/users", R"({"name":"x","role":"emperor","password":"xxxxxxxxx"})").status, 400);
    EXPECT_EQ(c.post("/api/v1/admin/users", R"({"name":"x","role":"agent","password":"short"})").status, 400);
    EXPECT_EQ(c.post("/api/v1/admin/users", R"({"name":"x","role":"agent","password":"long-enough","teams":["T"]})").status, 201);
    EXPECT_EQ(c.post("/api/v1/admin/users", R"({"name":"x","role":"agent","password":"long-enough"})").status, 409);
    EXPECT_EQ(c.put("/api/v1/admin/users/x", R"({"role":"manager","teams":["T","U"]})").status, 200);
    EXPECT_EQ(c.put("/api/v1/admin/users/nobody", R"({"role":"manager"})").status, 404);
    EXPECT_EQ(c.put("/api/v1/admin/users/admin", R"({"disabled":true})").status, 409);
    auto users = c.get("/api/v1/admin/users");
    EXPECT_NE(users.body.find(R"("id":"x","name":"x","role":"manager","teams":["T","U"])"), std::string::npos) << users.body;
    auto audit = c.get("/api/v1/admin/audit");
    EXPECT_NE(audit.body.find("\"user.create\""), std::string::npos);
    EXPECT_NE(audit.body.find("\"user.update\""), std::string::npos);
    EXPECT_NE(audit.body.find("\"auth.login\""), std::string::npos);
    EXPECT_EQ(audit.body.find("long-enough"), std::string::npos) << "passwords must never reach the audit log";
    EXPECT_EQ(audit.body.find(admin_token_), std::string::npos);
}

}  // namespace
}  // namespace cl::server::test
