// Pull responses as a client receives them: pull_response_from_json, then SyncClient::apply_pull
// on a fresh in-memory client store that already holds one pending local case.
// Invariants: no crash/UB; apply_pull either succeeds and stores the page's cursor, or fails and
// changes nothing (same event count, same cursor); integrity_check stays ok.
#include "fuzz_common.h"
#include "sync/client_sync.h"
#include "sync/protocol.h"

using namespace cl;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto page = pull_response_from_json(fuzz::as_text(data, size));
    if (!page) return 0;
    auto store = fuzz::fresh_store(false);
    store->set_meta("device_id", "dlocal");
    std::string id = store->new_case_id();
    auto created = store->record_local(id, "north", "alice", ev::kCaseCreated,
                                       R"({"kind":"feedback","client":{"name":"A"},"description":"x"})", fuzz::kNow);
    if (!created) fuzz::fail("setup", created.error().message);
    SyncClient client(*store);
    int64_t events_before = store->event_count();
    int64_t cursor_before = client.cursor();
    Status st = client.apply_pull(*page);
    if (st) {
        if (client.cursor() != page->cursor) fuzz::fail("cursor not stored with the page");
    } else {
        if (store->event_count() != events_before) fuzz::fail("failed apply_pull changed events");
        if (client.cursor() != cursor_before) fuzz::fail("failed apply_pull moved the cursor");
    }
    fuzz::check_integrity(*store);
    (void)pull_response_to_json(*page);
    return 0;
}
