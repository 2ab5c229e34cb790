// Push request bodies: push_request_from_json, then SyncServer::push into a fresh in-memory
// server store, as the HTTP handler does. The caller is an admin signed in as the author of the
// first event, so well-formed events get through the permission checks and reach the merge.
// Invariants: no crash/UB; every event id is answered (acked or rejected); acked seqs exist in
// the store; PRAGMA integrity_check stays ok; pushing the same body again accepts nothing new.
#include <set>

#include "fuzz_common.h"
#include "sync/protocol.h"
#include "sync/server_core.h"

using namespace cl;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto parsed = push_request_from_json(fuzz::as_text(data, size));
    if (!parsed) return 0;
    auto store = fuzz::fresh_store(true);
    SyncServer server(*store, [] { return fuzz::kNow; });
    Caller caller;
    caller.user_id = parsed->request.events.empty() ? "alice" : parsed->request.events.front().author;
    caller.role = "admin";
    PushResponse r = server.push(caller, parsed->request);

    std::set<std::string> answered;
    for (const auto& a : r.acks) {
        answered.insert(a.first);
        auto found = store->find_event(a.first);
        if (!found) fuzz::fail("acked event is not in the store", a.first);
        if (found->seq != a.second) fuzz::fail("ack seq differs from the stored seq", a.first);
    }
    for (const auto& rej : r.rejected) answered.insert(rej.id);
    for (const auto& e : parsed->request.events)
        if (!answered.count(e.id())) fuzz::fail("event neither acked nor rejected", e.id());
    fuzz::check_integrity(*store);

    int64_t events_before = store->event_count();
    PushResponse again = server.push(caller, parsed->request);
    if (again.accepted != 0) fuzz::fail("the same push accepted events twice");
    if (store->event_count() != events_before) fuzz::fail("the same push changed the event count");
    (void)push_response_to_json(r);
    return 0;
}
