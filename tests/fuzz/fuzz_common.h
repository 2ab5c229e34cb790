// Shared helpers for the libFuzzer targets: fresh in-memory stores with a fixed clock, so every
// input runs against the same state and every crash reproduces from its file alone.
#pragma once
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "store/store.h"

namespace cl::fuzz {

inline constexpr int64_t kNow = 1717200000000;  // 2024-06-01T00:00:00Z, as in the sync tests

inline std::string_view as_text(const uint8_t* data, size_t size) {
    return std::string_view(reinterpret_cast<const char*>(data), size);
}

inline std::unique_ptr<Store> fresh_store(bool server) {
    StoreOptions o;
    o.server = server;
    o.wal = false;
    auto s = Store::open(":memory:", o);
    if (!s) {
        std::fprintf(stderr, "cannot open store: %s\n", s.error().message.c_str());
        std::abort();
    }
    std::unique_ptr<Store> store = std::move(*s);
    store->set_clock([] { return kNow; });
    return store;
}

// An invariant the fuzzer found broken: print and abort so libFuzzer saves the input.
[[noreturn]] inline void fail(const char* what, const std::string& detail = {}) {
    std::fprintf(stderr, "INVARIANT BROKEN: %s %s\n", what, detail.c_str());
    std::abort();
}

// PRAGMA integrity_check on a store; aborts when it is not "ok".
void check_integrity(Store& store);

}  // namespace cl::fuzz

#include "store/sqlite_util.h"
inline void cl::fuzz::check_integrity(Store& store) {
    sql::Stmt s(store.db(), "PRAGMA integrity_check");
    if (!s.step() || s.text(0) != "ok") fail("integrity_check", s.text(0));
}
