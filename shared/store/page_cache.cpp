#include "store/page_cache.h"
#include <sqlite3.h>
#include <algorithm>
#include <atomic>

namespace cl::sql {
namespace {

sqlite3_pcache_methods2 g_inner{};  // pcache1, as SQLite had it configured
std::atomic<int64_t> g_skipped{0}, g_passed{0};

// One wrapped cache. SQLite calls a cache from one connection at a time (its pager's), so the
// bound needs no lock.
struct Cache {
    sqlite3_pcache* inner = nullptr;
    unsigned max_key = 0;  // every key held is <= max_key, or is `parked`
    unsigned parked = 0;   // a key above max_key a page was moved to (0: none)
};

Cache* of(sqlite3_pcache* p) { return reinterpret_cast<Cache*>(p); }

// Never null: SQLite replaces a page cache without xInit by its default one.
int c_init(void*) { return g_inner.xInit ? g_inner.xInit(g_inner.pArg) : SQLITE_OK; }
void c_shutdown(void*) {
    if (g_inner.xShutdown) g_inner.xShutdown(g_inner.pArg);
}

sqlite3_pcache* c_create(int page_size, int extra_size, int purgeable) {
    sqlite3_pcache* inner = g_inner.xCreate(page_size, extra_size, purgeable);
    if (!inner) return nullptr;
    auto* c = static_cast<Cache*>(sqlite3_malloc(sizeof(Cache)));
    if (!c) {
        g_inner.xDestroy(inner);
        return nullptr;
    }
    *c = Cache{inner};
    return reinterpret_cast<sqlite3_pcache*>(c);
}

void c_cachesize(sqlite3_pcache* p, int pages) { g_inner.xCachesize(of(p)->inner, pages); }
int c_pagecount(sqlite3_pcache* p) { return g_inner.xPagecount(of(p)->inner); }

sqlite3_pcache_page* c_fetch(sqlite3_pcache* p, unsigned key, int create) {
    Cache* c = of(p);
    sqlite3_pcache_page* page = g_inner.xFetch(c->inner, key, create);
    if (page && key > c->max_key) c->max_key = key;
    return page;
}

void c_unpin(sqlite3_pcache* p, sqlite3_pcache_page* page, int discard) { g_inner.xUnpin(of(p)->inner, page, discard); }

void c_rekey(sqlite3_pcache* p, sqlite3_pcache_page* page, unsigned old_key, unsigned new_key) {
    Cache* c = of(p);
    g_inner.xRekey(c->inner, page, old_key, new_key);
    if (c->parked != 0 && old_key == c->parked) c->parked = 0;  // the parked page moved on
    if (new_key > c->max_key) {
        if (c->parked != 0) c->max_key = std::max(c->max_key, c->parked);  // two parked: keep both
        c->parked = new_key;
    }
}

void c_truncate(sqlite3_pcache* p, unsigned limit) {
    Cache* c = of(p);
    if (limit > std::max(c->max_key, c->parked)) {  // no page at or above `limit`
        g_skipped.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    g_passed.fetch_add(1, std::memory_order_relaxed);
    g_inner.xTruncate(c->inner, limit);
    if (c->max_key >= limit) c->max_key = limit > 0 ? limit - 1 : 0;
    if (c->parked >= limit) c->parked = 0;
}

void c_destroy(sqlite3_pcache* p) {
    Cache* c = of(p);
    g_inner.xDestroy(c->inner);
    sqlite3_free(c);
}

void c_shrink(sqlite3_pcache* p) { g_inner.xShrink(of(p)->inner); }

bool install() {
    if (sqlite3_config(SQLITE_CONFIG_GETPCACHE2, &g_inner) != SQLITE_OK || !g_inner.xCreate) return false;
    static sqlite3_pcache_methods2 wrapper{};
    wrapper.iVersion = 1;
    wrapper.pArg = nullptr;
    wrapper.xInit = c_init;
    wrapper.xShutdown = c_shutdown;
    wrapper.xCreate = c_create;
    wrapper.xCachesize = c_cachesize;
    wrapper.xPagecount = c_pagecount;
    wrapper.xFetch = c_fetch;
    wrapper.xUnpin = c_unpin;
    wrapper.xRekey = c_rekey;
    wrapper.xTruncate = c_truncate;
    wrapper.xDestroy = c_destroy;
    wrapper.xShrink = c_shrink;
    return sqlite3_config(SQLITE_CONFIG_PCACHE2, &wrapper) == SQLITE_OK;
}

}  // namespace

bool install_page_cache() {
    static const bool installed = install();  // once; SQLite refuses the config once initialized
    return installed;
}

namespace {
// At program start as well, so that no order of first uses can leave a program that links the
// store without it (a test opening a database of its own first, say).
[[maybe_unused]] const bool g_installed_at_start = install_page_cache();
}  // namespace

PageCacheStats page_cache_stats() {
    return {g_skipped.load(std::memory_order_relaxed), g_passed.load(std::memory_order_relaxed)};
}

}  // namespace cl::sql
