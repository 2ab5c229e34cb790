#include "domain/event.h"

#include <algorithm>

#include "domain/vocab.h"

namespace cl {

const std::vector<std::string_view>& known_event_types() {
    static const std::vector<std::string_view> types = {
        ev::kCaseCreated,   ev::kFieldSet,  ev::kNoteAdded, ev::kStatusChanged,   ev::kAssigned,
        ev::kContactLogged, ev::kSurveyRecorded, ev::kEscalated, ev::kResolved,  ev::kFollowUpDone,
        ev::kAttachmentAdded, ev::kImprovementLinked, ev::kLegalHold, ev::kRefAssigned};
    return types;
}

Hlc HlcClock::now(int64_t wall_ms) {
    if (wall_ms > last_.wall_ms) last_ = Hlc{wall_ms, 0};
    else last_.logical += 1;
    return last_;
}

void HlcClock::observe(const Hlc& remote) {
    if (last_ < remote) last_ = remote;
}

bool same_event(const Event& a, const Event& b) {
    return a.device == b.device && a.counter == b.counter && a.clock == b.clock && a.case_id == b.case_id &&
           a.team == b.team && a.author == b.author && a.type == b.type && a.schema == b.schema && a.body == b.body;
}

void write_event(json::Writer& w, const Event& e) {
    w.begin_object()
        .kv("id", e.id())
        .kv("device", e.device)
        .kv("counter", e.counter)
        .kv("hlc", e.clock.wall_ms)
        .kv("lc", static_cast<int64_t>(e.clock.logical))
        .kv("case", e.case_id)
        .kv("team", e.team)
        .kv("author", e.author)
        .kv("type", e.type)
        .kv("v", e.schema)
        .key("body")
        .raw(e.body.empty() ? std::string_view("{}") : std::string_view(e.body))
        .end_object();
}

std::string event_to_json(const Event& e) {
    json::Writer w;
    write_event(w, e);
    return w.take();
}

Expected<Event> event_from_value(const json::Value& v, const json::Document* doc, std::string_view source) {
    if (!v.IsObject()) return make_error("bad_event", "an event must be a JSON object");
    // One pass over the members, each kept by its place in kFields (a lookup by name per field
    // and a separate pass for unknown names were a third of this function). The parser refused
    // repeated names, so each field appears once at most.
    enum Field { kId, kDevice, kCounter, kHlc, kLc, kCase, kTeam, kAuthor, kType, kV, kBody, kFieldCount };
    static constexpr std::string_view kFields[kFieldCount] = {"id", "device", "counter", "hlc", "lc", "case",
                                                              "team", "author", "type", "v", "body"};
    const json::Value::Member* f[kFieldCount] = {};
    for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
        const std::string_view name(it->name.GetString(), it->name.GetStringLength());
        int k = 0;
        while (k < kFieldCount && kFields[k] != name) ++k;
        // An empty name must still read as a name in the message.
        if (k == kFieldCount)
            return make_error("bad_event", "unknown event field '" + (name.empty() ? std::string("(empty name)") : std::string(name)) + "'");
        f[k] = &*it;
    }
    auto text = [&](Field k, std::string& out) {
        if (!f[k] || !f[k]->value.IsString()) return false;
        out.assign(f[k]->value.GetString(), f[k]->value.GetStringLength());
        return true;
    };
    auto int64 = [&](Field k, int64_t& out) {
        if (!f[k] || !f[k]->value.IsInt64()) return false;
        out = f[k]->value.GetInt64();
        return true;
    };
    Event e;
    int64_t counter = 0, lc = 0;
    if (!text(kDevice, e.device)) return make_error("bad_event", "event.device must be a string");
    if (!int64(kCounter, counter) || counter < 1) return make_error("bad_event", "event.counter must be a positive integer");
    if (!int64(kHlc, e.clock.wall_ms) || e.clock.wall_ms < 0) return make_error("bad_event", "event.hlc must be a non-negative integer");
    if (!int64(kLc, lc) || lc < 0 || lc > 0xffffffffLL) return make_error("bad_event", "event.lc must be a 32-bit non-negative integer");
    if (!text(kCase, e.case_id)) return make_error("bad_event", "event.case must be a string");
    if (!text(kTeam, e.team)) return make_error("bad_event", "event.team must be a string");
    if (!text(kAuthor, e.author)) return make_error("bad_event", "event.author must be a string");
    if (!text(kType, e.type)) return make_error("bad_event", "event.type must be a string");
    if (!f[kV] || !f[kV]->value.IsInt()) return make_error("bad_event", "event.v (schema version) must be an integer");
    e.schema = f[kV]->value.GetInt();
    e.counter = static_cast<uint64_t>(counter);
    e.clock.logical = static_cast<uint32_t>(lc);
    if (!f[kBody] || !f[kBody]->value.IsObject()) return make_error("bad_event", "event.body must be an object");
    e.body = doc ? doc->member_text(*f[kBody], source) : json::to_string(f[kBody]->value);
    std::string id;
    if (text(kId, id) && id != e.id())
        return make_error("bad_event", "event.id '" + id + "' does not match device:counter '" + e.id() + "'");
    return e;
}

Expected<Event> event_from_json(std::string_view text) {
    auto doc = json::parse(text);
    if (!doc) return doc.error();
    return event_from_value(doc->root(), &*doc, text);
}

// ---- validation -------------------------------------------------------------------------------

namespace {

bool valid_token(const std::string& s, size_t max_len) {
    if (s.empty() || s.size() > max_len) return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    });
}

Error body_error(const Event& e, const std::string& what) { return make_error("bad_body", e.type + ": " + what); }

constexpr size_t kMaxText = 20000;

Status check_text(const Event& e, const json::Value& b, const char* key, bool required, size_t max = kMaxText) {
    const json::Value* v = json::member(b, key);
    if (!v) return required ? Status(body_error(e, std::string("'") + key + "' is required")) : Status();
    if (!v->IsString()) return body_error(e, std::string("'") + key + "' must be a string");
    if (v->GetStringLength() > max) return body_error(e, std::string("'") + key + "' is longer than " + std::to_string(max) + " bytes");
    if (required && v->GetStringLength() == 0) return body_error(e, std::string("'") + key + "' must not be empty");
    return {};
}

Status check_enum(const Event& e, const json::Value& b, const char* key, bool required,
                  const std::vector<std::string_view>& allowed) {
    std::string s;
    if (!json::has(b, key)) return required ? Status(body_error(e, std::string("'") + key + "' is required")) : Status();
    if (!json::get(b, key, s)) return body_error(e, std::string("'") + key + "' must be a string");
    if (!required && s.empty()) return {};
    if (std::find(allowed.begin(), allowed.end(), s) == allowed.end())
        return body_error(e, std::string("'") + key + "' has unknown value '" + s + "'");
    return {};
}

Status check_int(const Event& e, const json::Value& b, const char* key, bool required, int64_t lo, int64_t hi) {
    const json::Value* v = json::member(b, key);
    if (!v || v->IsNull()) return required ? Status(body_error(e, std::string("'") + key + "' is required")) : Status();
    if (!v->IsInt64() || v->GetInt64() < lo || v->GetInt64() > hi)
        return body_error(e, std::string("'") + key + "' must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    return {};
}

Status check_bool(const Event& e, const json::Value& b, const char* key, bool required) {
    const json::Value* v = json::member(b, key);
    if (!v) return required ? Status(body_error(e, std::string("'") + key + "' is required")) : Status();
    if (!v->IsBool()) return body_error(e, std::string("'") + key + "' must be true or false");
    return {};
}

Status check_fields(const Event& e, const json::Value& b, const std::vector<std::string_view>& allowed) {
    std::string u = json::unknown_member(b, allowed);
    if (!u.empty()) return body_error(e, "unknown field '" + u + "'");
    return {};
}

#define CL_TRY(expr)                   \
    do {                               \
        Status st_ = (expr);           \
        if (!st_.ok()) return st_;     \
    } while (0)

constexpr int64_t kMaxTime = 253402300799999LL;  // 9999-12-31

Status validate_body(const Event& e, const json::Value& b) {
    const std::string& t = e.type;
    if (t == ev::kCaseCreated) {
        CL_TRY(check_fields(e, b, {"kind", "client", "description", "category", "priority", "urgent", "high_impact",
                                   "assignee", "service_completed_at", "title", "due_at"}));
        CL_TRY(check_enum(e, b, "kind", true, vocab::kinds()));
        CL_TRY(check_text(e, b, "description", false));
        CL_TRY(check_text(e, b, "title", false, 500));
        CL_TRY(check_enum(e, b, "category", false, vocab::categories()));
        CL_TRY(check_enum(e, b, "priority", false, vocab::priorities()));
        CL_TRY(check_bool(e, b, "urgent", false));
        CL_TRY(check_bool(e, b, "high_impact", false));
        CL_TRY(check_text(e, b, "assignee", false, 200));
        CL_TRY(check_int(e, b, "service_completed_at", false, 0, kMaxTime));
        CL_TRY(check_int(e, b, "due_at", false, 0, kMaxTime));
        if (const json::Value* c = json::member(b, "client")) {
            if (!c->IsObject()) return body_error(e, "'client' must be an object");
            CL_TRY(check_fields(e, *c, {"name", "contact", "channel"}));
            CL_TRY(check_text(e, *c, "name", false, 500));
            CL_TRY(check_text(e, *c, "contact", false, 500));
            CL_TRY(check_enum(e, *c, "channel", false, vocab::channels()));
        }
        return {};
    }
    if (t == ev::kFieldSet) {
        CL_TRY(check_fields(e, b, {"field", "value", "base"}));
        CL_TRY(check_enum(e, b, "field", true, vocab::settable_fields()));
        CL_TRY(check_text(e, b, "base", false, 200));
        std::string field;
        json::get(b, "field", field);
        const json::Value* v = json::member(b, "value");
        if (!v) return body_error(e, "'value' is required");
        switch (vocab::field_type(field)) {
            case vocab::FieldType::Text:
                if (!v->IsString() || v->GetStringLength() > kMaxText) return body_error(e, "'" + field + "' must be a string");
                break;
            case vocab::FieldType::Bool:
                if (!v->IsBool()) return body_error(e, "'" + field + "' must be true or false");
                break;
            case vocab::FieldType::Time:
                if (!(v->IsNull() || (v->IsInt64() && v->GetInt64() >= 0 && v->GetInt64() <= kMaxTime)))
                    return body_error(e, "'" + field + "' must be a time in milliseconds or null");
                break;
            case vocab::FieldType::Enum: {
                if (!v->IsString()) return body_error(e, "'" + field + "' must be a string");
                const auto& allowed = vocab::enum_values(field);
                std::string_view s(v->GetString(), v->GetStringLength());
                if (!s.empty() && std::find(allowed.begin(), allowed.end(), s) == allowed.end())
                    return body_error(e, "'" + field + "' has unknown value '" + std::string(s) + "'");
                break;
            }
        }
        return {};
    }
    if (t == ev::kNoteAdded) {
        CL_TRY(check_fields(e, b, {"text"}));
        return check_text(e, b, "text", true);
    }
    if (t == ev::kStatusChanged) {
        CL_TRY(check_fields(e, b, {"to", "from"}));
        CL_TRY(check_enum(e, b, "to", true, vocab::statuses()));
        return check_enum(e, b, "from", false, vocab::statuses());
    }
    if (t == ev::kAssigned) {
        CL_TRY(check_fields(e, b, {"assignee", "base"}));
        CL_TRY(check_text(e, b, "base", false, 200));
        if (!json::has(b, "assignee")) return body_error(e, "'assignee' is required");
        return check_text(e, b, "assignee", false, 200);
    }
    if (t == ev::kContactLogged) {
        CL_TRY(check_fields(e, b, {"step", "channel", "note"}));
        CL_TRY(check_enum(e, b, "step", true, vocab::contact_steps()));
        CL_TRY(check_enum(e, b, "channel", false, vocab::channels()));
        return check_text(e, b, "note", false);
    }
    if (t == ev::kSurveyRecorded) {
        CL_TRY(check_fields(e, b, {"csat", "nps", "comment", "suggestion", "channel", "incentive", "tags"}));
        CL_TRY(check_int(e, b, "csat", false, 1, 5));
        CL_TRY(check_int(e, b, "nps", false, 0, 10));
        CL_TRY(check_text(e, b, "comment", false));
        CL_TRY(check_text(e, b, "suggestion", false));
        CL_TRY(check_enum(e, b, "channel", false, vocab::channels()));
        CL_TRY(check_bool(e, b, "incentive", false));
        if (const json::Value* tags = json::member(b, "tags")) {
            if (!tags->IsArray() || tags->Size() > 50) return body_error(e, "'tags' must be an array of at most 50 strings");
            for (auto& tag : tags->GetArray())
                if (!tag.IsString() || tag.GetStringLength() == 0 || tag.GetStringLength() > 100)
                    return body_error(e, "each tag must be a non-empty string of at most 100 characters");
        }
        bool any = (json::has(b, "csat") && !json::member(b, "csat")->IsNull()) ||
                   (json::has(b, "nps") && !json::member(b, "nps")->IsNull()) || json::has(b, "comment") ||
                   json::has(b, "suggestion");
        if (!any) return body_error(e, "a survey needs at least one of csat, nps, comment, suggestion");
        return {};
    }
    if (t == ev::kEscalated) {
        CL_TRY(check_fields(e, b, {"reason", "to"}));
        CL_TRY(check_text(e, b, "reason", true));
        return check_text(e, b, "to", false, 200);
    }
    if (t == ev::kResolved) {
        CL_TRY(check_fields(e, b, {"resolution"}));
        return check_text(e, b, "resolution", true);
    }
    if (t == ev::kFollowUpDone) {
        CL_TRY(check_fields(e, b, {"satisfied", "note", "channel"}));
        CL_TRY(check_bool(e, b, "satisfied", true));
        CL_TRY(check_enum(e, b, "channel", false, vocab::channels()));
        return check_text(e, b, "note", false);
    }
    if (t == ev::kAttachmentAdded) {
        CL_TRY(check_fields(e, b, {"name", "type", "size", "sha256"}));
        CL_TRY(check_text(e, b, "name", true, 500));
        CL_TRY(check_text(e, b, "type", false, 200));
        CL_TRY(check_int(e, b, "size", true, 0, int64_t(1) << 40));
        std::string sha;
        if (!json::get(b, "sha256", sha) || sha.size() != 64 ||
            !std::all_of(sha.begin(), sha.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }))
            return body_error(e, "'sha256' must be 64 lowercase hex digits");
        return {};
    }
    if (t == ev::kImprovementLinked) {
        CL_TRY(check_fields(e, b, {"case"}));
        return check_text(e, b, "case", true, 200);
    }
    if (t == ev::kLegalHold) {
        CL_TRY(check_fields(e, b, {"hold", "reason"}));
        CL_TRY(check_text(e, b, "reason", false));
        return check_bool(e, b, "hold", true);
    }
    if (t == ev::kRefAssigned) {
        CL_TRY(check_fields(e, b, {"ref"}));
        return check_text(e, b, "ref", true, 40);
    }
    return make_error("unknown_type", "unknown event type '" + t + "'");
}

}  // namespace

Status validate_envelope(const Event& e, int64_t now_ms, int64_t max_future_ms) {
    if (e.schema != kEventSchemaVersion)
        return make_error("unknown_version", "event schema version " + std::to_string(e.schema) + " is not supported (expected " +
                                                 std::to_string(kEventSchemaVersion) + ")");
    if (!valid_token(e.device, 64)) return make_error("bad_event", "device id must be 1-64 characters of [A-Za-z0-9._-]");
    if (e.counter == 0) return make_error("bad_event", "counter must be positive");
    if (!valid_token(e.case_id, 100)) return make_error("bad_event", "case id must be 1-100 characters of [A-Za-z0-9._-]");
    if (!valid_token(e.team, 64)) return make_error("bad_event", "team must be 1-64 characters of [A-Za-z0-9._-]");
    if (!valid_token(e.author, 64)) return make_error("bad_event", "author must be 1-64 characters of [A-Za-z0-9._-]");
    if (std::find(known_event_types().begin(), known_event_types().end(), e.type) == known_event_types().end())
        return make_error("unknown_type", "unknown event type '" + e.type + "'");
    if (e.clock.wall_ms > now_ms + max_future_ms)
        return make_error("clock_skew", "event clock is more than " + std::to_string(max_future_ms / 3600000) +
                                            " h ahead of the receiver's clock");
    if (e.body.size() > 64 * 1024) return make_error("too_large", "event body exceeds 64 KiB");
    return {};
}

Status validate_body_value(const Event& e, const json::Value& body) {
    if (!body.IsObject()) return make_error("bad_body", "event body must be an object");
    return validate_body(e, body);
}

Status validate_event(const Event& e, int64_t now_ms, int64_t max_future_ms) {
    CL_TRY(validate_envelope(e, now_ms, max_future_ms));
    static thread_local json::Parser parser;  // same checks as json::parse, buffers reused from event to event
    auto root = parser.parse(e.body);
    if (!root) return root.error();
    return validate_body_value(e, **root);
}

}  // namespace cl
