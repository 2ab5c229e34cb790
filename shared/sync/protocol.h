// Sync wire messages (JSON, protocol version 1). See docs/protocol.md.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/expected.h"
#include "domain/event.h"
#include "domain/retention.h"
#include "store/store.h"

namespace cl {

inline constexpr int kProtocolVersion = 1;
inline constexpr int kMaxEventsPerPush = 5000;
inline constexpr int kMaxPullLimit = 5000;

struct PushRequest {
    int protocol = kProtocolVersion;
    std::string device;
    std::vector<Event> events;
    // Filled by push_request_from_json(), one per event: validate_body_value() of the body as the
    // request's own parse gave it, so SyncServer::push() does not parse every body a second time.
    // Empty (a request built in code): push() parses and checks each body itself.
    std::vector<Status> body_checks;
};

struct Rejection {
    std::string id;
    std::string code;    // purged | forbidden | bad_event | bad_body | unknown_type | unknown_version | conflict | clock_skew
    std::string reason;  // for people
};

struct PushResponse {
    int accepted = 0;
    int duplicates = 0;
    std::vector<Rejection> rejected;
    int64_t cursor = 0;                       // server's sequence after this push
    std::map<std::string, std::string> refs;  // case id -> canonical FF reference
    std::vector<std::pair<std::string, int64_t>> acks;  // event id -> seq (accepted and duplicates)
};

struct PullResponse {
    std::vector<StoredEvent> events;  // in seq order
    std::vector<Tombstone> tombstones;
    int64_t cursor = 0;               // pass as `after` next time
    bool more = false;
};

std::string push_request_to_json(const PushRequest& r);
// Parses and checks the envelope (not the events' permissions). Events that fail to parse are
// returned as rejections so the rest of the batch still lands.
struct ParsedPush { PushRequest request; std::vector<Rejection> malformed; };
Expected<ParsedPush> push_request_from_json(std::string_view text);

std::string push_response_to_json(const PushResponse& r);
Expected<PushResponse> push_response_from_json(std::string_view text);

std::string pull_response_to_json(const PullResponse& r);
Expected<PullResponse> pull_response_from_json(std::string_view text);

}  // namespace cl
