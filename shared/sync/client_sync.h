// The client side of sync as a step machine, so the same code runs with a blocking transport in
// tests and with the browser's asynchronous fetch: ask for the next request, send it however you
// like, hand back the response.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/store.h"
#include "sync/protocol.h"

namespace cl {

struct SyncStats {
    int pushed = 0, duplicates = 0, rejected = 0, dropped = 0, pulled = 0, tombstones = 0;
    std::vector<Rejection> rejections;  // refused events still kept locally (not purged ones)
};

class SyncClient {
public:
    explicit SyncClient(Store& store) : store_(store) {}

    // Starts a sync: the pushes that follow send every event not yet acknowledged, each once.
    void begin_sync() { push_after_ = sent_through_ = 0; }
    // The next batch of local events the server has not acknowledged and has not refused in
    // this sync, or nothing to push. Asking again before apply_push sends the same batch (its
    // answer was lost).
    std::optional<PushRequest> next_push(int max_events = 1000);
    // Marks accepted/duplicate events acknowledged; drops events refused because their case was
    // purged (the server's tombstone arrives with the next pull); keeps other refusals pending
    // and reports them, and goes on after them: refused events at the head of the list must not
    // hold back the changes recorded after them (they are sent again at the next sync).
    Status apply_push(const PushRequest& sent, const PushResponse& response, SyncStats* stats = nullptr);

    int64_t cursor();
    // Applies a pulled page in one transaction together with the new cursor.
    Status apply_pull(const PullResponse& page, SyncStats* stats = nullptr);

    // Export of unacknowledged changes to a file and import on another device.
    std::string export_pending();
    Expected<int> import_events(std::string_view json_text);

private:
    Store& store_;
    int64_t push_after_ = 0;    // rows up to here were answered in this sync
    int64_t sent_through_ = 0;  // last row of the batch next_push returned
};

}  // namespace cl
