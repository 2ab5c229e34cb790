// The server side of sync, without HTTP: validation, permissions, merge into the store,
// canonical references, pulls and retention. The HTTP server wraps it; tests drive it directly
// with in-memory peers (see tests/sync).
#pragma once
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "domain/retention.h"
#include "store/store.h"
#include "sync/protocol.h"

namespace cl {

// Who is calling. Roles (R11): agent, analyst, manager, admin.
struct Caller {
    std::string user_id;
    std::string role = "agent";
    std::vector<std::string> teams;

    bool is_admin() const { return role == "admin"; }
    bool reads_all() const { return role == "admin" || role == "analyst"; }
    bool in_team(const std::string& team) const;
    bool can_read_team(const std::string& team) const { return reads_all() || in_team(team); }
    bool can_write_team(const std::string& team) const { return is_admin() || (role != "analyst" && in_team(team)); }
};

struct RetentionOutcome {
    struct Item {
        std::string case_id, reference, kind, team;
        int64_t closed_at = 0;
        std::vector<std::string> attachments;  // sha256 of the case's files; purged cases only (not dry runs)
    };
    std::vector<Item> purged;       // or "would be purged" on a dry run
    std::vector<Item> held;         // due but on legal hold
    bool dry_run = false;
};

class SyncServer {
public:
    using Clock = std::function<int64_t()>;
    SyncServer(Store& store, Clock clock);

    PushResponse push(const Caller& caller, const PushRequest& request);
    PullResponse pull(const Caller& caller, int64_t after, int limit);
    RetentionOutcome run_retention(const RetentionPolicy& policy, bool dry_run, const std::string& reason = "retention");
    // Writes a server event (e.g. legal_hold.set by an admin) into a case.
    Expected<Event> write_server_event(const std::string& case_id, const std::string& type, const std::string& body,
                                       const std::string& author);
    // Every use of the Store from other threads must hold this lock (one SQLite connection).
    std::recursive_mutex& mutex() { return mu_; }

private:
    std::string assign_reference(int64_t now);
    Store& store_;
    Clock clock_;
    std::recursive_mutex mu_;  // one writer at a time; keeps seq and refs gap-free
};

}  // namespace cl
