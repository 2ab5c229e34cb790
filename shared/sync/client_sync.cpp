#include "sync/client_sync.h"

#include <algorithm>
#include <set>

namespace cl {

std::optional<PushRequest> SyncClient::next_push(int max_events) {
    auto pending = store_.pending_events(max_events, push_after_, &sent_through_);
    if (!pending || pending->empty()) return std::nullopt;
    PushRequest r;
    r.device = store_.device_id();
    r.events = std::move(*pending);
    return r;
}

Status SyncClient::apply_push(const PushRequest& /*sent*/, const PushResponse& response, SyncStats* stats) {
    std::set<std::string> refused;
    std::vector<std::string> drop;
    for (const auto& r : response.rejected) {
        refused.insert(r.id);
        if (r.code == "purged") drop.push_back(r.id);
        else if (stats) stats->rejections.push_back(r);
    }
    // Only events the server acknowledged with their seq leave the pending list; anything else is
    // sent again next time (the server recognises duplicates by id).
    std::vector<std::pair<std::string, int64_t>> acks;
    for (const auto& a : response.acks)
        if (a.second > 0) acks.push_back(a);
    Status st = store_.transact([&]() -> Status {
        if (Status s = store_.mark_acked(acks); !s) return s;
        if (!drop.empty())
            if (Status s = store_.drop_events(drop); !s) return s;
        return {};
    });
    if (!st) return st;
    push_after_ = std::max(push_after_, sent_through_);
    if (stats) {
        stats->pushed += response.accepted;
        stats->duplicates += response.duplicates;
        stats->rejected += static_cast<int>(response.rejected.size() - drop.size());
        stats->dropped += static_cast<int>(drop.size());
    }
    return {};
}

int64_t SyncClient::cursor() {
    auto v = store_.meta("pull_cursor");
    return v ? std::stoll(*v) : 0;
}

Status SyncClient::apply_pull(const PullResponse& page, SyncStats* stats) {
    return store_.transact([&]() -> Status {
        std::vector<Event> events;
        std::vector<int64_t> seqs;
        events.reserve(page.events.size());
        for (const auto& se : page.events) {
            events.push_back(se.event);
            seqs.push_back(se.seq);
        }
        if (!events.empty()) {
            // Rows behind the pulled events: a case spread over many pages is folded once, by
            // the next reader or at the end of the pull below, not once per page.
            auto r = store_.apply_events(events, seqs, Store::Rows::behind);
            if (!r) return r.error();
            if (stats) stats->pulled += r->inserted;
        }
        for (const auto& t : page.tombstones) {
            if (Status s = store_.purge_case(t.case_id, t); !s) return s;
            if (stats) stats->tombstones++;
        }
        if (Status s = store_.set_meta("pull_cursor", std::to_string(page.cursor)); !s) return s;
        return page.more ? Status{} : store_.materialize();
    });
}

std::string SyncClient::export_pending() {
    json::Writer w;
    w.begin_object().kv("format", "closeloop-pending").kv("version", 1).kv("device", store_.device_id()).key("events").begin_array();
    if (auto pending = store_.pending_events()) for (const auto& e : *pending) write_event(w, e);
    w.end_array().end_object();
    return w.take();
}

Expected<int> SyncClient::import_events(std::string_view text) {
    auto doc = json::parse(text);
    if (!doc) return doc.error();
    const json::Value& root = doc->root();
    std::string format;
    int version = 0;
    if (!json::get(root, "format", format) || format != "closeloop-pending")
        return make_error("bad_file", "not a closeloop export file");
    if (!json::get(root, "version", version) || version != 1)
        return make_error("unknown_version", "export file version is not supported");
    const json::Value* evs = json::member(root, "events");
    if (!evs || !evs->IsArray()) return make_error("bad_file", "export file has no events array");
    std::vector<Event> events;
    for (const auto& v : evs->GetArray()) {
        auto e = event_from_value(v);
        if (!e) return make_error(e.error().code, "export file: " + e.error().message);
        if (Status st = validate_event(*e, store_.now()); !st) return make_error(st.error().code, "export file: " + st.error().message);
        events.push_back(std::move(*e));
    }
    // All or nothing: a file with one refused event (conflicting duplicate, purged case) imports nothing.
    int inserted = 0;
    Status st = store_.transact([&]() -> Status {
        auto r = store_.apply_events(events);
        if (!r) return r.error();
        if (!r->rejected.empty()) return r->rejected.front().error;
        inserted = r->inserted;
        return {};
    });
    if (!st) return st.error();
    return inserted;
}

}  // namespace cl
