// Server-only tables kept in the same SQLite file as the Store: users, teams, tokens, audit,
// attachment uploads. Created and upgraded by migrations keyed in Store meta ("server_schema").
// Passwords: Argon2id (libsodium crypto_pwhash_str). Tokens: 32 random bytes, hex to the client,
// SHA-256 of the hex string stored, with an expiry. Not thread-safe: the App serialises access.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/expected.h"
#include "store/store.h"

namespace cl::server {

struct User {
    std::string id;  // = user name (also the event author id); [A-Za-z0-9._-]{1,64}
    std::string role;
    std::vector<std::string> teams;
    bool disabled = false;
    int64_t created_at = 0;
};

struct AuditEntry {
    int64_t id = 0, at = 0;
    std::string actor, action, target, detail;  // detail: JSON object, never secrets or client data
};

// One user's upload of a file. Files are stored by content (sha256), so users of several teams may
// upload the same bytes: each upload keeps its own name, type and teams, and grants its teams read
// access (DATA/attachments/<sha256> is shared).
struct AttachmentMeta {
    std::string sha256, name, type, uploaded_by;
    std::vector<std::string> teams;  // uploader's teams at upload time (all of them, over re-uploads)
    int64_t size = 0, at = 0;
};

// A change to an existing user: fields left empty are kept.
struct UserUpdate {
    std::optional<std::string> role;
    std::optional<std::vector<std::string>> teams;
    std::optional<bool> disabled;
    std::optional<std::string> password;
};

bool valid_name(const std::string& s, size_t max_len = 64);
bool valid_role(const std::string& r);

// Crypto helpers (libsodium).
bool crypto_init();
std::string hash_password(const std::string& password);  // Argon2id; CLOSELOOP_TEST_FAST_HASH=1 -> minimal cost
bool verify_password(const std::string& hash, const std::string& password);
std::string random_hex(size_t bytes);
std::string sha256_hex(const std::string& data);

class UserDb {
public:
    explicit UserDb(Store& store) : store_(store) {}
    Status migrate();

    // users
    std::optional<User> find(const std::string& id);
    std::vector<User> list();
    Status create(const User& u, const std::string& password);
    // Validates every field first, then applies them all in one transaction: a bad field changes
    // nothing. Disabling the user or setting a password revokes the user's tokens.
    Status update(const std::string& id, const UserUpdate& change);
    // Checks credentials; the user when they match and the account is enabled.
    std::optional<User> check_login(const std::string& id, const std::string& password);
    // The user and their password hash (so the slow verification can run outside the DB lock).
    std::optional<std::pair<User, std::string>> credentials(const std::string& id);
    int64_t user_count();

    // teams
    std::vector<std::string> teams();
    Status add_team(const std::string& name);

    // tokens
    std::string issue_token(const std::string& user_id, int64_t now_ms, int64_t ttl_ms);
    std::optional<User> user_for_token(const std::string& token, int64_t now_ms);
    void revoke_token(const std::string& token);
    void revoke_user_tokens(const std::string& user_id);

    // audit
    void audit(int64_t at, const std::string& actor, const std::string& action, const std::string& target,
               const std::string& detail_json = "{}");
    std::vector<AuditEntry> audit_entries(int64_t after_id, int limit, const std::string& action = "");

    // attachments
    // Records m.uploaded_by's upload of m.sha256; the same user uploading the same bytes again
    // replaces its name and type and adds its current teams. Returns what is now stored for them.
    Expected<AttachmentMeta> put_attachment(const AttachmentMeta& m);
    // Every upload of the file, oldest first (empty when there is none).
    std::vector<AttachmentMeta> attachment_uploads(const std::string& sha);
    void delete_attachment(const std::string& sha);

private:
    Store& store_;
};

}  // namespace cl::server
