// SQLite's own page cache (pcache1), wrapped so that a truncation no cached page can need costs
// nothing.
//
// Why: when a B-tree split sorts its new pages, SQLite swaps two pages' numbers through a spare
// one, the lock page's ((1 GiB / page size) + 1, 262145 for 4 KiB pages; balance_nonroot). pcache1
// then remembers that number as the highest key it ever held (iMaxKey), and the next commit's
// truncation of the cache to the database size (pager_end_transaction) walks every page in the
// cache to find the ones above it: none. With a server's 128 MiB cache that walk ran after every
// commit that split a page (perf, 1M events inserted in batches of 1000: 4 % of closeloop's insert
// time, 6 % of raw SQLite's, and growing with the cache: a part of the cost per event that was
// not flat from 10k to 1M events).
//
// The wrapper passes every call to pcache1 and keeps, per cache, an upper bound of the keys it
// holds: every key a fetch returned a page for, every key a page was moved to. A page moved above
// the bound is "parked" there on its own, so when the same page moves on (the third step of the
// swap) the bound does not keep the spare number. A truncation at or below the bound goes to
// pcache1 as before; one above it has nothing to drop and returns at once.
#pragma once
#include <cstdint>

namespace cl::sql {

// Installs the wrapper, once per process. It must run before SQLite initializes: Store::open and
// the gathering VFS call it first. Returns whether the wrapper is SQLite's page cache (false when
// something had initialized SQLite before: the default cache then stays, which is only slower).
bool install_page_cache();

// Counters over every wrapped cache, for tests and benchmarks.
struct PageCacheStats {
    int64_t truncations_skipped = 0;  // above every cached key: not passed on
    int64_t truncations_passed = 0;   // passed to pcache1
};
PageCacheStats page_cache_stats();

}  // namespace cl::sql
