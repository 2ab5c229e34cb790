#include "store/gather_vfs.h"

#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace cl::sql {
namespace {

// A commit of 1000 events is ~270 frames (~1.1 MiB); a bigger transaction is written in pieces.
constexpr size_t kMaxGather = size_t(4) << 20;

std::atomic<int64_t> g_gathered{0};
std::atomic<int64_t> g_issued{0};

struct GatherFile {
    sqlite3_file base;       // what SQLite sees; pMethods = the gathering methods
    sqlite3_file* real;      // the base VFS's file, placed right after this struct
    GatherFile* wal;         // on a database file: its open WAL file
    GatherFile* db;          // on a WAL file: its database file
    const char* db_name;     // on a database file: the name pointer SQLite gave xOpen
    bool gathers;            // a WAL file
    char* buf;
    size_t len, cap;
    sqlite3_int64 off;       // file offset of buf[0]
};

GatherFile* self(sqlite3_file* f) { return reinterpret_cast<GatherFile*>(f); }
sqlite3_file* real_of(sqlite3_file* f) { return self(f)->real; }
sqlite3_vfs* base_of(sqlite3_vfs* v) { return static_cast<sqlite3_vfs*>(v->pAppData); }

// Database files open through a gathering VFS, by the name pointer SQLite passed to xOpen:
// sqlite3_filename_database() of a WAL file's name returns that same pointer (both point into
// the pager's one filename buffer), which links a WAL file to its database file.
std::mutex g_link_mu;
std::map<const char*, GatherFile*>& open_databases() {
    static std::map<const char*, GatherFile*> m;
    return m;
}

// SQLite's unix VFS writes at most 128 KiB - 1 bytes a call (seekAndWriteFd masks the length).
constexpr size_t kMaxWrite = 120 * 1024;

int write_out(GatherFile* f) {
    for (size_t done = 0; done < f->len;) {
        const size_t n = std::min(kMaxWrite, f->len - done);
        g_issued.fetch_add(1, std::memory_order_relaxed);
        int rc = f->real->pMethods->xWrite(f->real, f->buf + done, static_cast<int>(n), f->off + static_cast<sqlite3_int64>(done));
        if (rc != SQLITE_OK) return rc;
        done += n;
    }
    return SQLITE_OK;
}

int flush(GatherFile* f) {
    if (!f || f->len == 0) return SQLITE_OK;
    int rc = write_out(f);
    f->len = 0;  // written or, on failure, dropped: SQLite never counts frames it did not publish
    return rc;
}
// Before anything that may read the WAL or publish its frames: its buffer goes to the file.
int flush_all(sqlite3_file* file) {
    GatherFile* f = self(file);
    int rc = flush(f);
    int rc_wal = flush(f->wal);
    return rc != SQLITE_OK ? rc : rc_wal;
}

int x_close(sqlite3_file* file) {
    GatherFile* f = self(file);
    int rc = flush(f);
    {
        std::lock_guard<std::mutex> lock(g_link_mu);
        if (f->db) f->db->wal = nullptr;
        if (f->wal) f->wal->db = nullptr;
        if (f->db_name) {
            auto it = open_databases().find(f->db_name);
            if (it != open_databases().end() && it->second == f) open_databases().erase(it);
        }
    }
    std::free(f->buf);
    f->buf = nullptr;
    int rc_close = f->real->pMethods ? f->real->pMethods->xClose(f->real) : SQLITE_OK;
    return rc != SQLITE_OK ? rc : rc_close;
}

// Room for `need` bytes in f's buffer (grown by doubling from 64 KiB); false when memory is short.
bool reserve(GatherFile* f, size_t need) {
    if (need <= f->cap) return true;
    size_t cap = f->cap ? f->cap : 64 * 1024;
    while (cap < need) cap *= 2;
    char* grown = static_cast<char*>(std::realloc(f->buf, cap));
    if (!grown) return false;
    f->buf = grown;
    f->cap = cap;
    return true;
}

int x_write(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
    GatherFile* f = self(file);
    if (!f->gathers) return f->real->pMethods->xWrite(f->real, data, amount, offset);
    g_gathered.fetch_add(1, std::memory_order_relaxed);
    const size_t n = static_cast<size_t>(amount);
    const bool continues = f->len > 0 && offset == f->off + static_cast<sqlite3_int64>(f->len) && f->len + n <= kMaxGather;
    if (!continues) {
        // The WAL header, a frame rewritten in place, a full buffer: what is gathered goes
        // first, then this write starts the next run.
        if (int rc = flush(f); rc != SQLITE_OK) return rc;
        f->off = offset;
    }
    if (n * 4 > kMaxGather || !reserve(f, f->len + n)) {  // too big to gather, or no memory for it
        if (int rc = flush(f); rc != SQLITE_OK) return rc;
        g_issued.fetch_add(1, std::memory_order_relaxed);
        return f->real->pMethods->xWrite(f->real, data, amount, offset);
    }
    std::memcpy(f->buf + f->len, data, n);
    f->len += n;
    return SQLITE_OK;
}

int x_read(sqlite3_file* file, void* out, int amount, sqlite3_int64 offset) {
    if (int rc = flush(self(file)); rc != SQLITE_OK) return rc;
    return real_of(file)->pMethods->xRead(real_of(file), out, amount, offset);
}
int x_truncate(sqlite3_file* file, sqlite3_int64 size) {
    if (int rc = flush(self(file)); rc != SQLITE_OK) return rc;
    return real_of(file)->pMethods->xTruncate(real_of(file), size);
}
int x_sync(sqlite3_file* file, int flags) {
    if (int rc = flush_all(file); rc != SQLITE_OK) return rc;
    return real_of(file)->pMethods->xSync(real_of(file), flags);
}
int x_file_size(sqlite3_file* file, sqlite3_int64* size) {
    if (int rc = flush(self(file)); rc != SQLITE_OK) return rc;
    return real_of(file)->pMethods->xFileSize(real_of(file), size);
}
int x_lock(sqlite3_file* file, int level) {
    if (int rc = flush_all(file); rc != SQLITE_OK) return rc;
    return real_of(file)->pMethods->xLock(real_of(file), level);
}
int x_unlock(sqlite3_file* file, int level) {
    if (int rc = flush_all(file); rc != SQLITE_OK) return rc;
    return real_of(file)->pMethods->xUnlock(real_of(file), level);
}
int x_check_reserved(sqlite3_file* file, int* out) {
    return real_of(file)->pMethods->xCheckReservedLock(real_of(file), out);
}
int x_file_control(sqlite3_file* file, int op, void* arg) {
    if (int rc = flush_all(file); rc != SQLITE_OK) return rc;
    return real_of(file)->pMethods->xFileControl(real_of(file), op, arg);
}
int x_sector_size(sqlite3_file* file) { return real_of(file)->pMethods->xSectorSize(real_of(file)); }
int x_device_characteristics(sqlite3_file* file) {
    return real_of(file)->pMethods->xDeviceCharacteristics(real_of(file));
}
// Shared memory belongs to the database file; the WAL's frames are in the file before SQLite
// maps, locks or publishes anything there.
int x_shm_map(sqlite3_file* file, int page, int page_size, int extend, void volatile** out) {
    if (int rc = flush_all(file); rc != SQLITE_OK) return rc;
    return real_of(file)->pMethods->xShmMap(real_of(file), page, page_size, extend, out);
}
int x_shm_lock(sqlite3_file* file, int offset, int n, int flags) {
    if (int rc = flush_all(file); rc != SQLITE_OK) return rc;
    return real_of(file)->pMethods->xShmLock(real_of(file), offset, n, flags);
}
void x_shm_barrier(sqlite3_file* file) {
    // xShmBarrier cannot fail; a failed write of the frames must not let SQLite publish them.
    // It cannot be stopped here, so the frames stay in the buffer and the next operation on the
    // WAL writes them again or returns the error (SQLite's commit has synced or will sync).
    GatherFile* f = self(file);
    if (f->wal && f->wal->len > 0 && write_out(f->wal) == SQLITE_OK) f->wal->len = 0;
    real_of(file)->pMethods->xShmBarrier(real_of(file));
}
int x_shm_unmap(sqlite3_file* file, int delete_flag) {
    if (int rc = flush_all(file); rc != SQLITE_OK) return rc;
    return real_of(file)->pMethods->xShmUnmap(real_of(file), delete_flag);
}
int x_fetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
    return real_of(file)->pMethods->xFetch(real_of(file), offset, amount, out);
}
int x_unfetch(sqlite3_file* file, sqlite3_int64 offset, void* p) {
    return real_of(file)->pMethods->xUnfetch(real_of(file), offset, p);
}

// The methods, in the version of the base file's (a version-1 file has no shared memory).
const sqlite3_io_methods* methods_for(int version) {
    // SQLite reads the shared-memory and fetch methods only from files of version 2 and 3.
    static const std::array<sqlite3_io_methods, 3> table = [] {
        sqlite3_io_methods m{};
        m.iVersion = 3;
        m.xClose = x_close;
        m.xRead = x_read;
        m.xWrite = x_write;
        m.xTruncate = x_truncate;
        m.xSync = x_sync;
        m.xFileSize = x_file_size;
        m.xLock = x_lock;
        m.xUnlock = x_unlock;
        m.xCheckReservedLock = x_check_reserved;
        m.xFileControl = x_file_control;
        m.xSectorSize = x_sector_size;
        m.xDeviceCharacteristics = x_device_characteristics;
        m.xShmMap = x_shm_map;
        m.xShmLock = x_shm_lock;
        m.xShmBarrier = x_shm_barrier;
        m.xShmUnmap = x_shm_unmap;
        m.xFetch = x_fetch;
        m.xUnfetch = x_unfetch;
        std::array<sqlite3_io_methods, 3> t{m, m, m};
        t[0].iVersion = 1;
        t[1].iVersion = 2;
        return t;
    }();
    return &table[version <= 1 ? 0 : version == 2 ? 1 : 2];
}

int v_open(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
    sqlite3_vfs* base = base_of(vfs);
    GatherFile* f = self(file);
    std::memset(f, 0, sizeof *f);
    f->real = reinterpret_cast<sqlite3_file*>(f + 1);
    std::memset(f->real, 0, static_cast<size_t>(base->szOsFile));
    int rc = base->xOpen(base, name, f->real, flags, out_flags);
    // SQLite calls xClose only when pMethods is set: mirror the base file.
    file->pMethods = f->real->pMethods ? methods_for(f->real->pMethods->iVersion) : nullptr;
    if (rc != SQLITE_OK || !name) return rc;
    std::lock_guard<std::mutex> lock(g_link_mu);
    if (flags & SQLITE_OPEN_WAL) {
        f->gathers = true;
        auto it = open_databases().find(sqlite3_filename_database(name));
        if (it != open_databases().end()) {
            f->db = it->second;
            it->second->wal = f;
        }
    } else if (flags & SQLITE_OPEN_MAIN_DB) {
        f->db_name = name;
        open_databases()[name] = f;
    }
    return rc;
}
int v_delete(sqlite3_vfs* v, const char* name, int sync_dir) { return base_of(v)->xDelete(base_of(v), name, sync_dir); }
int v_access(sqlite3_vfs* v, const char* name, int flags, int* out) { return base_of(v)->xAccess(base_of(v), name, flags, out); }
int v_full_pathname(sqlite3_vfs* v, const char* name, int n, char* out) {
    return base_of(v)->xFullPathname(base_of(v), name, n, out);
}
void* v_dlopen(sqlite3_vfs* v, const char* path) { return base_of(v)->xDlOpen(base_of(v), path); }
void v_dlerror(sqlite3_vfs* v, int n, char* msg) { base_of(v)->xDlError(base_of(v), n, msg); }
void (*v_dlsym(sqlite3_vfs* v, void* h, const char* sym))(void) { return base_of(v)->xDlSym(base_of(v), h, sym); }
void v_dlclose(sqlite3_vfs* v, void* h) { base_of(v)->xDlClose(base_of(v), h); }
int v_randomness(sqlite3_vfs* v, int n, char* out) { return base_of(v)->xRandomness(base_of(v), n, out); }
int v_sleep(sqlite3_vfs* v, int us) { return base_of(v)->xSleep(base_of(v), us); }
int v_current_time(sqlite3_vfs* v, double* t) { return base_of(v)->xCurrentTime(base_of(v), t); }
int v_get_last_error(sqlite3_vfs* v, int n, char* out) {
    return base_of(v)->xGetLastError ? base_of(v)->xGetLastError(base_of(v), n, out) : 0;
}
int v_current_time_int64(sqlite3_vfs* v, sqlite3_int64* t) {
    sqlite3_vfs* b = base_of(v);
    if (b->iVersion >= 2 && b->xCurrentTimeInt64) return b->xCurrentTimeInt64(b, t);
    double d = 0;
    int rc = b->xCurrentTime(b, &d);
    *t = static_cast<sqlite3_int64>(d * 86400000.0);
    return rc;
}

struct Registered {
    std::string name;
    sqlite3_vfs vfs{};
};

}  // namespace

const char* gather_vfs(const char* base_name) {
    static std::mutex mu;
    static std::map<std::string, std::unique_ptr<Registered>> by_base;
    std::lock_guard<std::mutex> lock(mu);
    const std::string key = base_name ? base_name : "";
    if (auto it = by_base.find(key); it != by_base.end()) return it->second->name.c_str();
    if (sqlite3_initialize() != SQLITE_OK) return nullptr;
    sqlite3_vfs* base = sqlite3_vfs_find(base_name);
    if (!base) return nullptr;
    auto r = std::make_unique<Registered>();
    r->name = key.empty() ? "closeloop-gather" : "closeloop-gather-" + key;
    sqlite3_vfs& v = r->vfs;
    v.iVersion = 2;
    v.szOsFile = static_cast<int>(sizeof(GatherFile)) + base->szOsFile;
    v.mxPathname = base->mxPathname;
    v.zName = r->name.c_str();
    v.pAppData = base;
    v.xOpen = v_open;
    v.xDelete = v_delete;
    v.xAccess = v_access;
    v.xFullPathname = v_full_pathname;
    v.xDlOpen = v_dlopen;
    v.xDlError = v_dlerror;
    v.xDlSym = v_dlsym;
    v.xDlClose = v_dlclose;
    v.xRandomness = v_randomness;
    v.xSleep = v_sleep;
    v.xCurrentTime = v_current_time;
    v.xGetLastError = v_get_last_error;
    v.xCurrentTimeInt64 = v_current_time_int64;
    if (sqlite3_vfs_register(&v, /*makeDflt=*/0) != SQLITE_OK) return nullptr;
    return by_base.emplace(key, std::move(r)).first->second->name.c_str();
}

GatherStats gather_stats() {
    return {g_gathered.load(std::memory_order_relaxed), g_issued.load(std::memory_order_relaxed)};
}

}  // namespace cl::sql
