// The client's import path (export file of pending changes from another device):
// SyncClient::import_events on a fresh in-memory client store.
// Invariants: no crash/UB; an import that fails leaves the store unchanged (all or nothing);
// importing the same file twice inserts nothing the second time; integrity_check stays ok.
#include "fuzz_common.h"
#include "sync/client_sync.h"

using namespace cl;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text = fuzz::as_text(data, size);
    auto store = fuzz::fresh_store(false);
    store->set_meta("device_id", "dlocal");
    SyncClient client(*store);
    auto n = client.import_events(text);
    if (!n) {
        if (store->event_count() != 0) fuzz::fail("failed import left events behind", n.error().code);
        return 0;
    }
    if (store->event_count() != *n) fuzz::fail("import count differs from the stored events");
    auto again = client.import_events(text);
    if (again && *again != 0) fuzz::fail("second import inserted events again");
    fuzz::check_integrity(*store);
    return 0;
}
