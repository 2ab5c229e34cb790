// Events: the immutable facts a case is made of (R2: every action with date, time and author).
//
// An event's id is "<device>:<counter>" (device-scoped, never reused). Its clock is a hybrid
// logical clock stamp (wall milliseconds + logical counter). A case's state is the fold of its
// events in (clock, device, counter) order, so every replica that holds the same set of events
// computes the same case (see domain/case.h).
#pragma once
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/expected.h"
#include "core/json.h"

namespace cl {

inline constexpr int kEventSchemaVersion = 1;

// Every event type the core understands. Unknown types are refused at validation.
namespace ev {
inline constexpr const char* kCaseCreated = "case.created";
inline constexpr const char* kFieldSet = "field.set";
inline constexpr const char* kNoteAdded = "note.added";
inline constexpr const char* kStatusChanged = "status.changed";
inline constexpr const char* kAssigned = "assigned";
inline constexpr const char* kContactLogged = "contact.logged";   // thank-you sent, survey sent, acknowledged, responded, follow-up contact
inline constexpr const char* kSurveyRecorded = "survey.recorded";
inline constexpr const char* kEscalated = "escalated";
inline constexpr const char* kResolved = "resolved";
inline constexpr const char* kFollowUpDone = "follow_up.done";   // satisfaction confirmed after resolution
inline constexpr const char* kAttachmentAdded = "attachment.added";
inline constexpr const char* kImprovementLinked = "improvement.linked";
inline constexpr const char* kLegalHold = "legal_hold.set";
inline constexpr const char* kRefAssigned = "ref.assigned";       // server only: canonical FF-YYYY-NNNN
}  // namespace ev

const std::vector<std::string_view>& known_event_types();

struct Hlc {
    int64_t wall_ms = 0;
    uint32_t logical = 0;
    bool operator==(const Hlc& o) const { return wall_ms == o.wall_ms && logical == o.logical; }
    bool operator<(const Hlc& o) const { return wall_ms != o.wall_ms ? wall_ms < o.wall_ms : logical < o.logical; }
};

// Hybrid logical clock for one device: stamps are monotonic even when the wall clock steps back,
// and move past any stamp seen from others.
class HlcClock {
public:
    Hlc now(int64_t wall_ms);           // stamp for a local event
    void observe(const Hlc& remote);    // after receiving a remote event
    Hlc last() const { return last_; }
    void restore(const Hlc& h) { if (last_ < h) last_ = h; }

private:
    Hlc last_;
};

struct Event {
    std::string device;      // device id (no ':' allowed)
    uint64_t counter = 0;    // per-device, starts at 1
    Hlc clock;
    std::string case_id;     // stable case id (provisional "c-<device>-<n>" for cases made offline)
    std::string team;        // team the case belongs to (copied on every event for permission checks)
    std::string author;      // user id of the responsible person
    std::string type;        // one of ev::*
    int schema = kEventSchemaVersion;
    std::string body;        // canonical compact JSON object

    std::string id() const {  // one allocation at most (none while it fits the small-string buffer)
        char num[24];
        const size_t digits = static_cast<size_t>(std::to_chars(num, num + sizeof num, counter).ptr - num);
        std::string s;
        s.reserve(device.size() + 1 + digits);
        s.append(device).append(1, ':').append(num, digits);
        return s;
    }
};

inline constexpr const char* kServerDevice = "server";   // device id of events the server writes
inline constexpr const char* kServerAuthor = "system";  // author of server-written events

// Fold order: (clock, device, counter). Total and identical on every replica.
inline bool event_before(const Event& a, const Event& b) {
    if (a.clock.wall_ms != b.clock.wall_ms) return a.clock.wall_ms < b.clock.wall_ms;
    if (a.clock.logical != b.clock.logical) return a.clock.logical < b.clock.logical;
    if (const int d = a.device.compare(b.device)) return d < 0;
    return a.counter < b.counter;
}

// Same id and same content (used to detect duplicate ids with different bodies).
bool same_event(const Event& a, const Event& b);

// Wire format (JSON) — see docs/protocol.md.
std::string event_to_json(const Event& e);
void write_event(json::Writer& w, const Event& e);
Expected<Event> event_from_json(std::string_view text);
// v: an event object. With the document v belongs to and the text it was parsed from, the body
// is taken from that text when it is already in the form to_string() gives it (see
// json::Document::member_text); without them it is written from the value. Same result.
Expected<Event> event_from_value(const json::Value& v, const json::Document* doc = nullptr, std::string_view source = {});

// Validates an event's envelope and body for its type. max_future_ms bounds clock skew
// relative to now_ms (clocks far in the future are refused so they cannot win every LWW).
Status validate_event(const Event& e, int64_t now_ms, int64_t max_future_ms = 24LL * 3600 * 1000);
// validate_event() in its two steps, for a caller that has the body parsed already (a push
// request is parsed whole, bodies included): everything but the body, then the body given as
// the value e.body was written from. validate_event() is the first, then the second on e.body
// parsed.
Status validate_envelope(const Event& e, int64_t now_ms, int64_t max_future_ms = 24LL * 3600 * 1000);
Status validate_body_value(const Event& e, const json::Value& body);

}  // namespace cl
