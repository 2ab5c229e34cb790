#include "users.h"

#include <sodium.h>
#include <sqlite3.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "core/json.h"

namespace cl::server {

namespace {

class Stmt {
public:
    Stmt(sqlite3* db, const char* sql) : db_(db) {
        if (sqlite3_prepare_v2(db, sql, -1, &st_, nullptr) != SQLITE_OK) st_ = nullptr;
    }
    ~Stmt() { sqlite3_finalize(st_); }
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;
    bool ok() const { return st_ != nullptr; }
    Stmt& bind(int i, const std::string& s) { sqlite3_bind_text(st_, i, s.data(), (int)s.size(), SQLITE_TRANSIENT); return *this; }
    Stmt& bind(int i, int64_t v) { sqlite3_bind_int64(st_, i, v); return *this; }
    int step() { return st_ ? sqlite3_step(st_) : SQLITE_ERROR; }
    bool run() { int rc = step(); return rc == SQLITE_DONE || rc == SQLITE_ROW; }
    std::string text(int i) {
        const unsigned char* p = sqlite3_column_text(st_, i);
        return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(st_, i)) : std::string();
    }
    int64_t integer(int i) { return sqlite3_column_int64(st_, i); }
    std::string error() const { return sqlite3_errmsg(db_); }

private:
    sqlite3* db_;
    sqlite3_stmt* st_ = nullptr;
};

std::string teams_to_json(const std::vector<std::string>& teams) {
    json::Writer w;
    w.begin_array();
    for (auto& t : teams) w.str(t);
    w.end_array();
    return w.take();
}

std::vector<std::string> teams_from_json(const std::string& s) {
    std::vector<std::string> out;
    auto doc = json::parse(s);
    if (!doc || !doc->root().IsArray()) return out;
    for (auto& v : doc->root().GetArray())
        if (v.IsString()) out.emplace_back(v.GetString(), v.GetStringLength());
    return out;
}

User read_user(Stmt& st) {
    User u;
    u.id = st.text(0);
    u.role = st.text(1);
    u.teams = teams_from_json(st.text(2));
    u.disabled = st.integer(3) != 0;
    u.created_at = st.integer(4);
    return u;
}

Error db_error(sqlite3* db) { return make_error("db", sqlite3_errmsg(db)); }

bool fast_hash() {
    const char* v = std::getenv("CLOSELOOP_TEST_FAST_HASH");
    return v && std::strcmp(v, "1") == 0;
}

}  // namespace

bool valid_name(const std::string& s, size_t max_len) {
    if (s.empty() || s.size() > max_len) return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    });
}

bool valid_role(const std::string& r) { return r == "agent" || r == "analyst" || r == "manager" || r == "admin"; }

bool crypto_init() { return sodium_init() >= 0; }

std::string hash_password(const std::string& password) {
    char out[crypto_pwhash_STRBYTES];
    unsigned long long ops = fast_hash() ? crypto_pwhash_argon2id_OPSLIMIT_MIN : crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE;
    size_t mem = fast_hash() ? crypto_pwhash_argon2id_MEMLIMIT_MIN : crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE;
    if (crypto_pwhash_argon2id_str(out, password.data(), password.size(), ops, mem) != 0) return {};
    return out;
}

bool verify_password(const std::string& hash, const std::string& password) {
    if (hash.empty()) return false;
    return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

std::string random_hex(size_t bytes) {
    std::vector<unsigned char> buf(bytes);
    randombytes_buf(buf.data(), buf.size());
    std::string hex(bytes * 2 + 1, '\0');
    sodium_bin2hex(hex.data(), hex.size(), buf.data(), buf.size());
    hex.resize(bytes * 2);
    return hex;
}

std::string sha256_hex(const std::string& data) {
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, reinterpret_cast<const unsigned char*>(data.data()), data.size());
    char hex[crypto_hash_sha256_BYTES * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    return hex;
}

Status UserDb::migrate() {
    auto v = store_.meta("server_schema");
    if (v && *v == "2") return {};
    static const char* kSchema = R"SQL(
CREATE TABLE IF NOT EXISTS server_users(
  id TEXT PRIMARY KEY, role TEXT NOT NULL, teams TEXT NOT NULL DEFAULT '[]', pw_hash TEXT NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS server_teams(name TEXT PRIMARY KEY, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS server_tokens(
  hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS server_tokens_user ON server_tokens(user_id);
CREATE TABLE IF NOT EXISTS server_audit(
  id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
  target TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '{}');
CREATE INDEX IF NOT EXISTS server_audit_action ON server_audit(action);
CREATE TABLE IF NOT EXISTS server_attachment_uploads(
  sha256 TEXT NOT NULL, uploaded_by TEXT NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL, size INTEGER NOT NULL,
  teams TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY(sha256, uploaded_by));
)SQL";
    // Schema 1 kept one row per file, the first uploader's (a second team's upload of the same
    // bytes was dropped): each row becomes that uploader's upload.
    static const char* kFrom1 = R"SQL(
INSERT OR IGNORE INTO server_attachment_uploads(sha256, uploaded_by, name, type, size, teams, at)
  SELECT sha256, uploaded_by, name, type, size, teams, at FROM server_attachments;
DROP TABLE server_attachments;
)SQL";
    auto exec = [&](const char* sql) -> Status {
        char* err = nullptr;
        if (sqlite3_exec(store_.db(), sql, nullptr, nullptr, &err) == SQLITE_OK) return {};
        std::string msg = err ? err : "schema";
        sqlite3_free(err);
        return make_error("db", msg);
    };
    return store_.transact([&]() -> Status {
        if (Status s = exec(kSchema); !s) return s;
        bool from1;
        {
            Stmt old(store_.db(), "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'server_attachments'");
            from1 = old.step() == SQLITE_ROW;
        }  // finalised: a DROP TABLE fails while a statement reads
        if (from1)
            if (Status s = exec(kFrom1); !s) return s;
        return store_.set_meta("server_schema", "2");
    });
}

std::optional<User> UserDb::find(const std::string& id) {
    Stmt st(store_.db(), "SELECT id, role, teams, disabled, created_at FROM server_users WHERE id = ?");
    st.bind(1, id);
    if (st.step() != SQLITE_ROW) return std::nullopt;
    return read_user(st);
}

std::vector<User> UserDb::list() {
    std::vector<User> out;
    Stmt st(store_.db(), "SELECT id, role, teams, disabled, created_at FROM server_users ORDER BY id");
    while (st.step() == SQLITE_ROW) out.push_back(read_user(st));
    return out;
}

int64_t UserDb::user_count() {
    Stmt st(store_.db(), "SELECT COUNT(*) FROM server_users");
    return st.step() == SQLITE_ROW ? st.integer(0) : 0;
}

Status UserDb::create(const User& u, const std::string& password) {
    if (!valid_name(u.id)) return make_error("bad_request", "user name must be 1-64 characters of [A-Za-z0-9._-]");
    if (!valid_role(u.role)) return make_error("bad_request", "role must be agent, analyst, manager or admin");
    for (auto& t : u.teams)
        if (!valid_name(t)) return make_error("bad_request", "team names must be 1-64 characters of [A-Za-z0-9._-]");
    if (password.size() < 8 || password.size() > 1024) return make_error("bad_request", "password must be 8-1024 bytes");
    if (find(u.id)) return make_error("exists", "user already exists");
    std::string h = hash_password(password);
    if (h.empty()) return make_error("internal", "password hashing failed");
    return store_.transact([&]() -> Status {
        Stmt st(store_.db(), "INSERT INTO server_users(id, role, teams, pw_hash, disabled, created_at, updated_at) VALUES(?,?,?,?,?,?,?)");
        st.bind(1, u.id).bind(2, u.role).bind(3, teams_to_json(u.teams)).bind(4, h).bind(5, int64_t(u.disabled ? 1 : 0))
            .bind(6, u.created_at).bind(7, u.created_at);
        if (!st.run()) return db_error(store_.db());
        for (auto& t : u.teams) {
            Status s = add_team(t);
            if (!s) return s;
        }
        return {};
    });
}

Status UserDb::update(const std::string& id, const UserUpdate& change) {
    if (change.role && !valid_role(*change.role)) return make_error("bad_request", "role must be agent, analyst, manager or admin");
    if (change.teams)
        for (auto& t : *change.teams)
            if (!valid_name(t)) return make_error("bad_request", "team names must be 1-64 characters of [A-Za-z0-9._-]");
    if (change.password && (change.password->size() < 8 || change.password->size() > 1024))
        return make_error("bad_request", "password must be 8-1024 bytes");
    if (!find(id)) return make_error("not_found", "no such user");
    std::string hash;
    if (change.password) {
        hash = hash_password(*change.password);
        if (hash.empty()) return make_error("internal", "password hashing failed");
    }
    return store_.transact([&]() -> Status {
        // A parameter left unbound is NULL: COALESCE keeps the column.
        Stmt st(store_.db(),
                "UPDATE server_users SET role = COALESCE(?1, role), teams = COALESCE(?2, teams), "
                "disabled = COALESCE(?3, disabled), pw_hash = COALESCE(?4, pw_hash) WHERE id = ?5");
        if (change.role) st.bind(1, *change.role);
        if (change.teams) st.bind(2, teams_to_json(*change.teams));
        if (change.disabled) st.bind(3, int64_t(*change.disabled ? 1 : 0));
        if (change.password) st.bind(4, hash);
        st.bind(5, id);
        if (!st.run()) return db_error(store_.db());
        if (change.teams)
            for (auto& t : *change.teams)
                if (Status s = add_team(t); !s) return s;
        if ((change.disabled && *change.disabled) || change.password) {
            Stmt del(store_.db(), "DELETE FROM server_tokens WHERE user_id = ?");
            del.bind(1, id);
            if (!del.run()) return db_error(store_.db());
        }
        return {};
    });
}

std::optional<User> UserDb::check_login(const std::string& id, const std::string& password) {
    Stmt st(store_.db(), "SELECT id, role, teams, disabled, created_at, pw_hash FROM server_users WHERE id = ?");
    st.bind(1, id);
    if (st.step() != SQLITE_ROW) {
        // Same work as a real check so timing does not reveal which names exist.
        static const std::string dummy = hash_password("closeloop-dummy-password");
        verify_password(dummy, password);
        return std::nullopt;
    }
    User u = read_user(st);
    std::string h = st.text(5);
    if (!verify_password(h, password) || u.disabled) return std::nullopt;
    return u;
}

std::optional<std::pair<User, std::string>> UserDb::credentials(const std::string& id) {
    Stmt st(store_.db(), "SELECT id, role, teams, disabled, created_at, pw_hash FROM server_users WHERE id = ?");
    st.bind(1, id);
    if (st.step() != SQLITE_ROW) return std::nullopt;
    User u = read_user(st);
    return std::make_pair(std::move(u), st.text(5));
}

std::vector<std::string> UserDb::teams() {
    std::vector<std::string> out;
    Stmt st(store_.db(), "SELECT name FROM server_teams ORDER BY name");
    while (st.step() == SQLITE_ROW) out.push_back(st.text(0));
    return out;
}

Status UserDb::add_team(const std::string& name) {
    if (!valid_name(name)) return make_error("bad_request", "team names must be 1-64 characters of [A-Za-z0-9._-]");
    Stmt st(store_.db(), "INSERT OR IGNORE INTO server_teams(name, created_at) VALUES(?, strftime('%s','now') * 1000)");
    st.bind(1, name);
    if (!st.run()) return db_error(store_.db());
    return {};
}

std::string UserDb::issue_token(const std::string& user_id, int64_t now_ms, int64_t ttl_ms) {
    std::string token = random_hex(32);
    {
        Stmt del(store_.db(), "DELETE FROM server_tokens WHERE expires_at <= ?");
        del.bind(1, now_ms);
        del.run();
    }
    Stmt st(store_.db(), "INSERT INTO server_tokens(hash, user_id, created_at, expires_at) VALUES(?,?,?,?)");
    st.bind(1, sha256_hex(token)).bind(2, user_id).bind(3, now_ms).bind(4, now_ms + ttl_ms);
    if (!st.run()) return {};
    return token;
}

std::optional<User> UserDb::user_for_token(const std::string& token, int64_t now_ms) {
    if (token.size() != 64) return std::nullopt;
    Stmt st(store_.db(),
            "SELECT u.id, u.role, u.teams, u.disabled, u.created_at FROM server_tokens t JOIN server_users u ON u.id = t.user_id "
            "WHERE t.hash = ? AND t.expires_at > ?");
    st.bind(1, sha256_hex(token)).bind(2, now_ms);
    if (st.step() != SQLITE_ROW) return std::nullopt;
    User u = read_user(st);
    if (u.disabled) return std::nullopt;
    return u;
}

void UserDb::revoke_token(const std::string& token) {
    Stmt st(store_.db(), "DELETE FROM server_tokens WHERE hash = ?");
    st.bind(1, sha256_hex(token));
    st.run();
}

void UserDb::revoke_user_tokens(const std::string& user_id) {
    Stmt st(store_.db(), "DELETE FROM server_tokens WHERE user_id = ?");
    st.bind(1, user_id);
    st.run();
}

void UserDb::audit(int64_t at, const std::string& actor, const std::string& action, const std::string& target,
                   const std::string& detail_json) {
    Stmt st(store_.db(), "INSERT INTO server_audit(at, actor, action, target, detail) VALUES(?,?,?,?,?)");
    st.bind(1, at).bind(2, actor).bind(3, action).bind(4, target).bind(5, detail_json);
    st.run();
}

std::vector<AuditEntry> UserDb::audit_entries(int64_t after_id, int limit, const std::string& action) {
    std::vector<AuditEntry> out;
    Stmt st(store_.db(),
            "SELECT id, at, actor, action, target, detail FROM server_audit WHERE id > ? AND (? = '' OR action = ?) "
            "ORDER BY id LIMIT ?");
    st.bind(1, after_id).bind(2, action).bind(3, action).bind(4, int64_t(limit));
    while (st.step() == SQLITE_ROW) {
        AuditEntry e;
        e.id = st.integer(0);
        e.at = st.integer(1);
        e.actor = st.text(2);
        e.action = st.text(3);
        e.target = st.text(4);
        e.detail = st.text(5);
        out.push_back(std::move(e));
    }
    return out;
}

Expected<AttachmentMeta> UserDb::put_attachment(const AttachmentMeta& m) {
    AttachmentMeta stored = m;
    Status s = store_.transact([&]() -> Status {
        // The same user and bytes again: the teams it had then keep their access, and the first
        // upload's time stays (uploads are listed oldest first).
        Stmt old(store_.db(), "SELECT teams, at FROM server_attachment_uploads WHERE sha256 = ? AND uploaded_by = ?");
        old.bind(1, m.sha256).bind(2, m.uploaded_by);
        if (old.step() == SQLITE_ROW) {
            for (auto& t : teams_from_json(old.text(0)))
                if (std::find(stored.teams.begin(), stored.teams.end(), t) == stored.teams.end()) stored.teams.push_back(t);
            stored.at = old.integer(1);
        }
        Stmt st(store_.db(),
                "INSERT OR REPLACE INTO server_attachment_uploads(sha256, uploaded_by, name, type, size, teams, at) "
                "VALUES(?,?,?,?,?,?,?)");
        st.bind(1, stored.sha256).bind(2, stored.uploaded_by).bind(3, stored.name).bind(4, stored.type).bind(5, stored.size)
            .bind(6, teams_to_json(stored.teams)).bind(7, stored.at);
        if (!st.run()) return db_error(store_.db());
        return {};
    });
    if (!s) return s.error();
    return stored;
}

std::vector<AttachmentMeta> UserDb::attachment_uploads(const std::string& sha) {
    std::vector<AttachmentMeta> out;
    Stmt st(store_.db(),
            "SELECT sha256, name, type, size, uploaded_by, teams, at FROM server_attachment_uploads WHERE sha256 = ? "
            "ORDER BY at, uploaded_by");
    st.bind(1, sha);
    while (st.step() == SQLITE_ROW) {
        AttachmentMeta m;
        m.sha256 = st.text(0);
        m.name = st.text(1);
        m.type = st.text(2);
        m.size = st.integer(3);
        m.uploaded_by = st.text(4);
        m.teams = teams_from_json(st.text(5));
        m.at = st.integer(6);
        out.push_back(std::move(m));
    }
    return out;
}

void UserDb::delete_attachment(const std::string& sha) {
    Stmt st(store_.db(), "DELETE FROM server_attachment_uploads WHERE sha256 = ?");
    st.bind(1, sha);
    st.run();
}

}  // namespace cl::server
