// Admin changes that must be all-or-nothing, attachments shared by content between teams, and
// what the server does with input it cannot store as given (filenames, retention actions).
#include <sqlite3.h>

#include <filesystem>
#include <fstream>

#include "server_fixture.h"
#include "users.h"

namespace cl::server::test {
namespace {

using ServerAdmin = ServerTest;

json::Document parse_json(const std::string& body) {
    auto d = json::parse(body);
    EXPECT_TRUE(d.ok()) << "not JSON: " << body.substr(0, 300);
    return d ? std::move(*d) : json::Document();
}

std::string user_json(HttpClient& admin, const std::string& id) {
    auto r = admin.get("/api/v1/admin/users");
    EXPECT_EQ(r.status, 200) << r.body;
    auto d = parse_json(r.body);
    const json::Value* users = json::member(d.root(), "users");
    if (!users || !users->IsArray()) return {};
    for (auto& u : users->GetArray()) {
        std::string uid;
        if (json::get(u, "id", uid) && uid == id) return json::to_string(u);
    }
    return {};
}

int audit_count(HttpClient& admin, const std::string& action, const std::string& target) {
    auto r = admin.get("/api/v1/admin/audit?action=" + action + "&limit=1000");
    EXPECT_EQ(r.status, 200) << r.body;
    auto d = parse_json(r.body);
    const json::Value* entries = json::member(d.root(), "entries");
    int n = 0;
    if (entries && entries->IsArray())
        for (auto& e : entries->GetArray()) {
            std::string t;
            if (json::get(e, "target", t) && t == target) ++n;
        }
    return n;
}

// A refused update changes nothing: not the role (whose token would open admin routes), not the
// disabled flag (which would revoke the tokens), not the teams; and it writes no audit entry.
TEST_F(ServerAdmin, UserUpdateIsAllOrNothing) {
    std::string t = make_user("frank", "agent", {"t1"});
    auto admin = client(admin_token_);
    const std::string before = user_json(admin, "frank");
    ASSERT_FALSE(before.empty());
    const int audits = audit_count(admin, "user.update", "frank");

    struct Bad { const char* body; const char* message; };
    for (Bad b : {Bad{R"({"role":"admin","password":"x"})", "password must be 8-1024 bytes"},
                  Bad{R"({"disabled":true,"password":"x"})", "password must be 8-1024 bytes"},
                  Bad{R"({"teams":["t2"],"disabled":true,"role":"boss"})", "role must be"},
                  Bad{R"({"role":"manager","teams":["t2","bad team"]})", "team names must be"},
                  Bad{R"({"role":"admin","teams":"t2"})", "'teams' must be an array of strings"},
                  Bad{R"({"disabled":true,"role":7})", "'role' must be a string"}}) {
        auto r = admin.put("/api/v1/admin/users/frank", b.body);
        EXPECT_EQ(r.status, 400) << b.body << " -> " << r.body;
        EXPECT_NE(r.body.find(b.message), std::string::npos) << b.body << " -> " << r.body;
        EXPECT_EQ(user_json(admin, "frank"), before) << b.body;
        EXPECT_EQ(client(t).get("/api/v1/auth/me").status, 200) << "token revoked by " << b.body;
        EXPECT_EQ(client(t).get("/api/v1/admin/users").status, 403) << "promoted by " << b.body;
    }
    EXPECT_EQ(audit_count(admin, "user.update", "frank"), audits);
    EXPECT_EQ(admin.put("/api/v1/admin/users/nobody", R"({"role":"agent"})").status, 404);

    // Every field at once: applied together, one audit entry, the password reset revokes the token.
    auto ok = admin.put("/api/v1/admin/users/frank",
                        R"({"role":"manager","teams":["t2","t3"],"disabled":false,"password":"new-password-2"})");
    ASSERT_EQ(ok.status, 200) << ok.body;
    const std::string after = user_json(admin, "frank");
    EXPECT_NE(after.find(R"("role":"manager")"), std::string::npos) << after;
    EXPECT_NE(after.find(R"("teams":["t2","t3"])"), std::string::npos) << after;
    EXPECT_EQ(client(t).get("/api/v1/auth/me").status, 401);
    EXPECT_FALSE(login("frank", "new-password-2").empty());
    EXPECT_EQ(audit_count(admin, "user.update", "frank"), audits + 1);
    auto teams = admin.get("/api/v1/admin/teams");
    EXPECT_NE(teams.body.find(R"("name":"t3")"), std::string::npos) << teams.body;
}

// The same bytes uploaded by users of two teams: each upload is stored as its uploader sent it,
// and each uploader's teams can read the file (team B's members get the case's attachment event
// too); a third team still cannot.
TEST_F(ServerAdmin, SameBytesUploadedByTwoTeamsReadableByBoth) {
    std::string ta = make_user("ann", "agent", {"a"});
    std::string tb = make_user("ben", "agent", {"b"});
    std::string tb2 = make_user("bea", "agent", {"b"});
    std::string tc = make_user("cid", "agent", {"c"});
    const std::string data = "%PDF- the same scanned letter";
    const std::string sha = sha256_hex(data);

    auto up_a = client(ta).post("/api/v1/attachments", data, "text/plain", {{"X-Filename", "letter-a.txt"}});
    ASSERT_EQ(up_a.status, 201) << up_a.body;
    auto up_b = client(tb).post("/api/v1/attachments", data, "application/pdf", {{"X-Filename", "letter-b.pdf"}});
    ASSERT_EQ(up_b.status, 201) << up_b.body;
    EXPECT_NE(up_b.body.find(R"("name":"letter-b.pdf")"), std::string::npos) << up_b.body;
    EXPECT_NE(up_b.body.find(R"("type":"application/pdf")"), std::string::npos) << up_b.body;

    auto got_b = client(tb).get("/api/v1/attachments/" + sha);
    ASSERT_EQ(got_b.status, 200) << got_b.body;
    EXPECT_EQ(got_b.body, data);
    // What ben stored, not what ann did (her file name may itself be personal data).
    EXPECT_NE(got_b.header("Content-Disposition").find("letter-b.pdf"), std::string::npos) << got_b.header("Content-Disposition");
    EXPECT_EQ(got_b.header("Content-Type"), "application/pdf");
    auto got_b2 = client(tb2).get("/api/v1/attachments/" + sha);
    EXPECT_EQ(got_b2.status, 200) << got_b2.body;
    EXPECT_NE(got_b2.header("Content-Disposition").find("letter-b.pdf"), std::string::npos);
    auto got_a = client(ta).get("/api/v1/attachments/" + sha);
    EXPECT_EQ(got_a.status, 200);
    EXPECT_NE(got_a.header("Content-Disposition").find("letter-a.txt"), std::string::npos) << got_a.header("Content-Disposition");
    EXPECT_EQ(client(tc).get("/api/v1/attachments/" + sha).status, 403);
    EXPECT_EQ(client(admin_token_).get("/api/v1/attachments/" + sha).status, 200);

    // The same uploader again, under another name: the answer is what is now stored for them.
    auto again = client(tb).post("/api/v1/attachments", data, "application/pdf", {{"X-Filename", "renamed.pdf"}});
    ASSERT_EQ(again.status, 201) << again.body;
    EXPECT_NE(again.body.find(R"("name":"renamed.pdf")"), std::string::npos) << again.body;
    EXPECT_NE(client(tb).get("/api/v1/attachments/" + sha).header("Content-Disposition").find("renamed.pdf"), std::string::npos);
}

// Attachments recorded by a server from before per-uploader rows (one row per file) stay readable
// by the uploader's teams after the migration.
TEST_F(ServerAdmin, AttachmentsFromTheOldSchemaSurviveTheMigration) {
    namespace fs = std::filesystem;
    const std::string data_dir = dir_ + "/old-data";
    const std::string data = "bytes uploaded before the migration";
    const std::string sha = sha256_hex(data);
    {
        ServerOptions o;
        o.data_dir = data_dir;
        o.sweep_interval_s = 0;
        auto app = App::open(o);
        ASSERT_TRUE(app.ok()) << app.error().message;
        ASSERT_TRUE((*app)->add_user(User{"olga", "agent", {"old"}, false, 0}, kUserPassword, "test").ok());
        std::lock_guard<std::recursive_mutex> lk((*app)->db_mutex());
        Store& st = (*app)->store();
        // Back to the first server schema: one attachment row per file, teams as JSON.
        const std::string sql =
            "DROP TABLE IF EXISTS server_attachment_uploads;"
            "CREATE TABLE IF NOT EXISTS server_attachments(sha256 TEXT PRIMARY KEY, name TEXT NOT NULL, type TEXT NOT NULL,"
            " size INTEGER NOT NULL, uploaded_by TEXT NOT NULL, teams TEXT NOT NULL, at INTEGER NOT NULL);"
            "DELETE FROM server_attachments;"
            "INSERT INTO server_attachments VALUES('" + sha + "','old.txt','text/plain'," + std::to_string(data.size()) +
            ",'olga','[\"old\"]',1700000000000);";
        ASSERT_EQ(sqlite3_exec(st.db(), sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(st.db());
        ASSERT_TRUE(st.set_meta("server_schema", "1").ok());
    }
    {
        std::ofstream f(fs::path(data_dir) / "attachments" / sha, std::ios::binary);
        f << data;
    }
    ServerOptions o;
    o.data_dir = data_dir;
    o.sweep_interval_s = 0;
    auto app = App::open(o);
    ASSERT_TRUE(app.ok()) << app.error().message;
    ASSERT_TRUE((*app)->add_user(User{"oscar", "agent", {"old"}, false, 0}, kUserPassword, "test").ok());
    ASSERT_TRUE((*app)->add_user(User{"nina", "agent", {"new"}, false, 0}, kUserPassword, "test").ok());
    auto get_as = [&](const std::string& user) {
        HttpRequest login;
        login.method = "POST";
        login.path = "/api/v1/auth/login";
        login.body = R"({"username":")" + user + R"(","password":")" + std::string(kUserPassword) + R"("})";
        auto lr = (*app)->handle(login);
        EXPECT_EQ(lr.status, 200) << lr.body;
        std::string token;
        json::get(parse(lr.body).root(), "token", token);
        HttpRequest q;
        q.method = "GET";
        q.path = "/api/v1/attachments/" + sha;
        q.headers = {{"Authorization", "Bearer " + token}};
        return (*app)->handle(q);
    };
    auto olga = get_as("olga");
    EXPECT_EQ(olga.status, 200) << olga.body;
    EXPECT_EQ(olga.body, data);
    auto oscar = get_as("oscar");  // same team as the uploader
    EXPECT_EQ(oscar.status, 200) << oscar.body;
    bool named = false;
    for (auto& [k, v] : oscar.headers) named = named || (k == "Content-Disposition" && v.find("old.txt") != std::string::npos);
    EXPECT_TRUE(named);
    EXPECT_EQ(get_as("nina").status, 403);
}

// X-Filename is whatever the browser sent: bytes that are not UTF-8 (Latin-1, a cut character)
// never reach the JSON answer or the Content-Disposition header, and long names are cut between
// characters.
TEST_F(ServerAdmin, UploadFilenameIsKeptValidUtf8) {
    std::string t = make_user("lat", "agent", {"x"});
    auto c = client(t);
    auto name_of = [&](const std::string& data, const std::string& filename) {
        auto r = c.post("/api/v1/attachments", data, "text/plain", {{"X-Filename", filename}});
        EXPECT_EQ(r.status, 201) << r.body;
        auto d = parse(r.body);  // fails the test when the answer is not valid JSON (UTF-8)
        std::string name;
        json::get(d.root(), "name", name);
        auto got = c.get("/api/v1/attachments/" + sha256_hex(data));
        EXPECT_EQ(got.status, 200);
        const std::string disposition = got.header("Content-Disposition");
        EXPECT_NE(disposition.find("\"" + name + "\""), std::string::npos) << disposition;
        return name;
    };
    const std::string fffd = "\xEF\xBF\xBD";
    EXPECT_EQ(name_of("latin-1", "caf\xE9.txt"), "caf" + fffd + ".txt");
    EXPECT_EQ(name_of("utf-8", "caf\xC3\xA9.txt"), "caf\xC3\xA9.txt");
    EXPECT_EQ(name_of("overlong", "a\xC0\xAF" "b"), "a" + fffd + fffd + "b");
    EXPECT_EQ(name_of("surrogate", "x\xED\xA0\x80y"), "x" + fffd + fffd + fffd + "y");
    EXPECT_EQ(name_of("truncated", "end\xE2\x82"), "end" + fffd + fffd);  // one per byte
    // 199 ASCII bytes then a 2-byte character: the cut (200 bytes) falls before it, not inside it.
    EXPECT_EQ(name_of("long-2", std::string(199, 'a') + "\xC3\xA9" + "tail"), std::string(199, 'a'));
    EXPECT_EQ(name_of("long-4", std::string(197, 'b') + "\xF0\x9F\x98\x80" + "zz"), std::string(197, 'b'));
    // (httplib's client will not send C0 controls or DEL; the old helper dropped those already)
    EXPECT_EQ(name_of("c1", "a\xC2\x85" "b\"c/d\\e"), "abcde");  // a C1 control (U+0085), a quote, slashes
    EXPECT_EQ(name_of("empty", "\"/\\"), "attachment");
}

// "anonymise" was accepted and shown but never done (cases were purged whole): it is refused now,
// and a policy stored with it before still loads, as the purge that actually happens.
TEST_F(ServerAdmin, RetentionAnonymiseRefusedAndStoredOneLoadsAsPurge) {
    auto admin = client(admin_token_);
    auto r = admin.put("/api/v1/admin/retention", R"({"default_months":24,"action":"anonymise"})");
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_NE(r.body.find("anonymise is not supported yet; use purge"), std::string::npos) << r.body;
    EXPECT_EQ(admin.get("/api/v1/admin/retention").body.find("24"), std::string::npos) << "nothing stored";
    EXPECT_EQ(admin.put("/api/v1/admin/retention", R"({"default_months":24,"action":"purge"})").status, 200);

    {
        std::lock_guard<std::recursive_mutex> lk(app_->db_mutex());
        ASSERT_TRUE(app_->store()
                        .set_meta("retention_policy",
                                  R"({"months_after_closure":{"feedback":36},"default_months":18,"action":"anonymise"})")
                        .ok());
    }
    auto got = admin.get("/api/v1/admin/retention");
    ASSERT_EQ(got.status, 200) << got.body;
    EXPECT_NE(got.body.find(R"("feedback":36)"), std::string::npos) << got.body;  // the months are kept
    EXPECT_NE(got.body.find(R"("default_months":18)"), std::string::npos) << got.body;
    EXPECT_NE(got.body.find(R"("action":"purge")"), std::string::npos) << got.body;
    auto settings = admin.get("/api/v1/settings");
    EXPECT_NE(settings.body.find(R"("feedback":36)"), std::string::npos) << settings.body;
    EXPECT_NE(settings.body.find(R"("action":"purge")"), std::string::npos) << settings.body;
}

}  // namespace
}  // namespace cl::server::test
