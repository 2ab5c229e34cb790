// Demo data: a team of users and ~50 realistic cases written through SyncServer::push, so the
// server looks like a living system after `scripts/run.sh --demo`.
#pragma once
#include <string>

#include "app.h"
#include "domain/event.h"

namespace cl::server {

Event make_event(const std::string& device, uint64_t counter, int64_t wall_ms, const std::string& case_id,
                 const std::string& team, const std::string& author, const std::string& type, const std::string& body);

struct DemoResult {
    int cases = 0, events = 0, rejected = 0;
    std::string password;  // of the demo users (generated unless CLOSELOOP_DEMO_PASSWORD is set)
    std::string first_rejection;
};

// Creates users alice, bob (agents), maria (manager), quinn (analyst) in `team` if missing, and
// `count` cases spread over the last 90 days. Idempotent for users; cases are added each run.
Expected<DemoResult> seed_demo(App& app, const std::string& team = "demo", int count = 50);

}  // namespace cl::server
