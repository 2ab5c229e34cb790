// In-process server on 127.0.0.1 with a random free port and a temp data dir; real HTTP through
// cl::server::HttpClient (the only httplib user is the server library, so tests compile fast).
#pragma once
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "app.h"
#include "core/json.h"
#include "http_server.h"
#include "store/store.h"
#include "sync/client_sync.h"
#include "sync/protocol.h"

namespace cl::server::test {

inline constexpr const char* kAdminPassword = "admin-password-1";
inline constexpr const char* kUserPassword = "user-password-1";

int64_t wall_ms();

// A client device: its own SQLite store in the temp dir and a SyncClient.
struct Device {
    std::string user, token;
    std::unique_ptr<Store> store;
    std::unique_ptr<SyncClient> client;
};

class ServerTest : public ::testing::Test {
protected:
    void SetUp() override;
    void TearDown() override;
    virtual void tune(ServerOptions&) {}

    HttpClient client(const std::string& token = "");
    std::string login(const std::string& user, const std::string& password = kUserPassword);
    // Creates a user through the admin API; returns their token.
    std::string make_user(const std::string& name, const std::string& role, const std::vector<std::string>& teams);
    Device make_device(const std::string& name, const std::string& user, const std::string& token);
    // Push everything pending, then pull until done. Returns false on a transport/HTTP error.
    bool sync(Device& d, SyncStats* stats = nullptr);
    // Creates a case on a device (local events only).
    std::string create_case(Device& d, const std::string& team, const std::string& client_name, int64_t at_ms,
                            const std::string& kind = "feedback");
    std::string record(Device& d, const std::string& case_id, const std::string& team, const std::string& type,
                       const std::string& body, int64_t at_ms);
    int64_t server_events();
    std::string server_case_json(const std::string& id);  // canonical case JSON via the store

    static json::Document parse(const std::string& body);

    std::string dir_;
    std::unique_ptr<App> app_;
    std::unique_ptr<HttpServer> http_;
    std::thread thread_;
    int port_ = 0;
    std::string admin_token_;
};

}  // namespace cl::server::test
