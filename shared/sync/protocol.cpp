#include "sync/protocol.h"

namespace cl {

std::string push_request_to_json(const PushRequest& r) {
    json::Writer w;
    w.begin_object().kv("protocol", r.protocol).kv("device", r.device).key("events").begin_array();
    for (const auto& e : r.events) write_event(w, e);
    w.end_array().end_object();
    return w.take();
}

Expected<ParsedPush> push_request_from_json(std::string_view text) {
    auto doc = json::parse(text);
    if (!doc) return doc.error();
    const json::Value& root = doc->root();
    if (!root.IsObject()) return make_error("bad_request", "push body must be a JSON object");
    std::string unknown = json::unknown_member(root, {"protocol", "device", "events"});
    if (!unknown.empty()) return make_error("bad_request", "unknown field '" + unknown + "' in push");
    ParsedPush out;
    if (json::has(root, "protocol")) {
        if (!json::get(root, "protocol", out.request.protocol))
            return make_error("bad_request", "'protocol' must be an integer");
        if (out.request.protocol != kProtocolVersion)
            return make_error("unknown_version", "protocol version " + std::to_string(out.request.protocol) +
                                                     " is not supported (this server speaks " +
                                                     std::to_string(kProtocolVersion) + ")");
    }
    if (!json::get(root, "device", out.request.device) || out.request.device.empty())
        return make_error("bad_request", "'device' must be a non-empty string");
    const json::Value* evs = json::member(root, "events");
    if (!evs || !evs->IsArray()) return make_error("bad_request", "'events' must be an array");
    if (evs->Size() > static_cast<rapidjson::SizeType>(kMaxEventsPerPush))
        return make_error("too_many_events", "a push may carry at most " + std::to_string(kMaxEventsPerPush) +
                                                 " events (got " + std::to_string(evs->Size()) + ")");
    out.request.events.reserve(evs->Size());
    out.request.body_checks.reserve(evs->Size());
    size_t index = 0;
    for (const auto& v : evs->GetArray()) {
        auto e = event_from_value(v, &*doc, text);
        if (e) {
            out.request.body_checks.push_back(validate_body_value(*e, *json::member(v, "body")));
            out.request.events.push_back(std::move(*e));
        } else {
            std::string id;
            if (v.IsObject()) json::get(v, "id", id);
            if (id.empty()) id = "#" + std::to_string(index);
            out.malformed.push_back(Rejection{id, e.error().code, e.error().message});
        }
        ++index;
    }
    return out;
}

std::string push_response_to_json(const PushResponse& r) {
    json::Writer w;
    w.begin_object().kv("accepted", r.accepted).kv("duplicates", r.duplicates).key("rejected").begin_array();
    for (const auto& x : r.rejected) w.begin_object().kv("id", x.id).kv("code", x.code).kv("reason", x.reason).end_object();
    w.end_array().kv("cursor", r.cursor).key("refs").begin_object();
    for (const auto& [id, ref] : r.refs) w.kv(id, ref);
    w.end_object().key("acks").begin_array();
    for (const auto& [id, seq] : r.acks) w.begin_array().str(id).num(seq).end_array();
    w.end_array().end_object();
    return w.take();
}

Expected<PushResponse> push_response_from_json(std::string_view text) {
    auto doc = json::parse(text);
    if (!doc) return doc.error();
    const json::Value& root = doc->root();
    PushResponse r;
    if (!json::get(root, "accepted", r.accepted) || !json::get(root, "duplicates", r.duplicates) ||
        !json::get(root, "cursor", r.cursor))
        return make_error("bad_response", "push response lacks accepted/duplicates/cursor");
    if (const json::Value* rej = json::member(root, "rejected"); rej && rej->IsArray()) {
        for (const auto& x : rej->GetArray()) {
            Rejection j;
            json::get(x, "id", j.id);
            json::get(x, "code", j.code);
            json::get(x, "reason", j.reason);
            r.rejected.push_back(std::move(j));
        }
    }
    if (const json::Value* refs = json::member(root, "refs"); refs && refs->IsObject()) {
        for (auto it = refs->MemberBegin(); it != refs->MemberEnd(); ++it)
            if (it->value.IsString()) r.refs[it->name.GetString()] = it->value.GetString();
    }
    if (const json::Value* acks = json::member(root, "acks"); acks && acks->IsArray()) {
        for (const auto& a : acks->GetArray())
            if (a.IsArray() && a.Size() == 2 && a[0].IsString() && a[1].IsInt64())
                r.acks.emplace_back(a[0].GetString(), a[1].GetInt64());
    }
    return r;
}

std::string pull_response_to_json(const PullResponse& r) {
    json::Writer w;
    w.begin_object().key("events").begin_array();
    for (const auto& se : r.events) {
        // the event object plus its seq
        w.begin_object().kv("seq", se.seq).key("event");
        write_event(w, se.event);
        w.end_object();
    }
    w.end_array().key("tombstones").begin_array();
    for (const auto& t : r.tombstones) write_tombstone(w, t);
    w.end_array().kv("cursor", r.cursor).kv("more", r.more).end_object();
    return w.take();
}

Expected<PullResponse> pull_response_from_json(std::string_view text) {
    auto doc = json::parse(text);
    if (!doc) return doc.error();
    const json::Value& root = doc->root();
    PullResponse r;
    if (!json::get(root, "cursor", r.cursor) || !json::get(root, "more", r.more))
        return make_error("bad_response", "pull response lacks cursor/more");
    const json::Value* evs = json::member(root, "events");
    if (!evs || !evs->IsArray()) return make_error("bad_response", "pull response lacks events");
    for (const auto& x : evs->GetArray()) {
        StoredEvent se;
        const json::Value* ev = json::member(x, "event");
        if (!json::get(x, "seq", se.seq) || !ev) return make_error("bad_response", "pulled event lacks seq/event");
        auto e = event_from_value(*ev, &*doc, text);
        if (!e) return e.error();
        se.event = std::move(*e);
        r.events.push_back(std::move(se));
    }
    if (const json::Value* ts = json::member(root, "tombstones"); ts && ts->IsArray()) {
        for (const auto& x : ts->GetArray()) {
            auto t = tombstone_from_value(x);
            if (!t) return t.error();
            r.tombstones.push_back(std::move(*t));
        }
    }
    return r;
}

}  // namespace cl
