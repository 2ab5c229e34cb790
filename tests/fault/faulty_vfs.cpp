#include "faulty_vfs.h"

#include <sqlite3.h>

#include <atomic>
#include <cstring>
#include <mutex>

namespace cl::test::faulty_vfs {
namespace {

struct State {
    std::mutex mu;
    Plan plan;
    bool armed = false;
    int64_t ops = 0;
    int64_t injected = 0;
    int64_t total = 0;
    bool skip_sync = true;
};
State& st() {
    static State s;
    return s;
}

sqlite3_vfs* g_real = nullptr;
sqlite3_vfs g_vfs;
sqlite3_io_methods g_methods;

struct File {
    sqlite3_file base;
    sqlite3_file* real;  // points just after this struct
};
sqlite3_file* real_of(sqlite3_file* f) { return reinterpret_cast<File*>(f)->real; }

// Returns SQLITE_OK or the error to inject for one counted operation.
int check(unsigned op, int natural) {
    State& s = st();
    std::lock_guard<std::mutex> lock(s.mu);
    if (!s.armed || !(s.plan.ops & op)) return SQLITE_OK;
    ++s.ops;
    if (s.plan.fail_at <= 0) return SQLITE_OK;
    if (s.ops == s.plan.fail_at || (s.plan.persistent && s.ops > s.plan.fail_at)) {
        ++s.injected;
        ++s.total;
        return s.plan.error ? s.plan.error : natural;
    }
    return SQLITE_OK;
}

int x_close(sqlite3_file* f) {
    sqlite3_file* r = real_of(f);
    int rc = r->pMethods ? r->pMethods->xClose(r) : SQLITE_OK;
    return rc;
}
int x_read(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) { return real_of(f)->pMethods->xRead(real_of(f), buf, n, off); }
int x_write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
    if (int rc = check(kWrite, SQLITE_IOERR_WRITE); rc != SQLITE_OK) return rc;
    return real_of(f)->pMethods->xWrite(real_of(f), buf, n, off);
}
int x_truncate(sqlite3_file* f, sqlite3_int64 size) {
    if (int rc = check(kTruncate, SQLITE_IOERR_TRUNCATE); rc != SQLITE_OK) return rc;
    return real_of(f)->pMethods->xTruncate(real_of(f), size);
}
int x_sync(sqlite3_file* f, int flags) {
    if (int rc = check(kSync, SQLITE_IOERR_FSYNC); rc != SQLITE_OK) return rc;
    bool skip;
    {
        std::lock_guard<std::mutex> lock(st().mu);
        skip = st().skip_sync;
    }
    return skip ? SQLITE_OK : real_of(f)->pMethods->xSync(real_of(f), flags);
}
int x_file_size(sqlite3_file* f, sqlite3_int64* size) { return real_of(f)->pMethods->xFileSize(real_of(f), size); }
int x_lock(sqlite3_file* f, int l) { return real_of(f)->pMethods->xLock(real_of(f), l); }
int x_unlock(sqlite3_file* f, int l) { return real_of(f)->pMethods->xUnlock(real_of(f), l); }
int x_check_reserved(sqlite3_file* f, int* out) { return real_of(f)->pMethods->xCheckReservedLock(real_of(f), out); }
int x_file_control(sqlite3_file* f, int op, void* arg) { return real_of(f)->pMethods->xFileControl(real_of(f), op, arg); }
int x_sector_size(sqlite3_file* f) { return real_of(f)->pMethods->xSectorSize(real_of(f)); }
int x_device_characteristics(sqlite3_file* f) { return real_of(f)->pMethods->xDeviceCharacteristics(real_of(f)); }
int x_shm_map(sqlite3_file* f, int pg, int pgsz, int extend, void volatile** pp) {
    return real_of(f)->pMethods->xShmMap(real_of(f), pg, pgsz, extend, pp);
}
int x_shm_lock(sqlite3_file* f, int offset, int n, int flags) { return real_of(f)->pMethods->xShmLock(real_of(f), offset, n, flags); }
void x_shm_barrier(sqlite3_file* f) { real_of(f)->pMethods->xShmBarrier(real_of(f)); }
int x_shm_unmap(sqlite3_file* f, int del) { return real_of(f)->pMethods->xShmUnmap(real_of(f), del); }
int x_fetch(sqlite3_file* f, sqlite3_int64 off, int amt, void** pp) { return real_of(f)->pMethods->xFetch(real_of(f), off, amt, pp); }
int x_unfetch(sqlite3_file* f, sqlite3_int64 off, void* p) { return real_of(f)->pMethods->xUnfetch(real_of(f), off, p); }

int v_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
    File* ff = reinterpret_cast<File*>(f);
    ff->real = reinterpret_cast<sqlite3_file*>(ff + 1);
    std::memset(ff->real, 0, static_cast<size_t>(g_real->szOsFile));
    int rc = g_real->xOpen(g_real, name, ff->real, flags, out_flags);
    // The wrapper's methods must exist even when the open failed (SQLite then calls xClose only
    // if pMethods is set): mirror the real file.
    f->pMethods = ff->real->pMethods ? &g_methods : nullptr;
    return rc;
}
int v_delete(sqlite3_vfs*, const char* name, int sync_dir) { return g_real->xDelete(g_real, name, sync_dir); }
int v_access(sqlite3_vfs*, const char* name, int flags, int* out) { return g_real->xAccess(g_real, name, flags, out); }
int v_full_pathname(sqlite3_vfs*, const char* name, int n, char* out) { return g_real->xFullPathname(g_real, name, n, out); }
void* v_dlopen(sqlite3_vfs*, const char* p) { return g_real->xDlOpen(g_real, p); }
void v_dlerror(sqlite3_vfs*, int n, char* msg) { g_real->xDlError(g_real, n, msg); }
void (*v_dlsym(sqlite3_vfs*, void* h, const char* sym))(void) { return g_real->xDlSym(g_real, h, sym); }
void v_dlclose(sqlite3_vfs*, void* h) { g_real->xDlClose(g_real, h); }
int v_randomness(sqlite3_vfs*, int n, char* out) { return g_real->xRandomness(g_real, n, out); }
int v_sleep(sqlite3_vfs*, int us) { return g_real->xSleep(g_real, us); }
int v_current_time(sqlite3_vfs*, double* t) { return g_real->xCurrentTime(g_real, t); }
int v_get_last_error(sqlite3_vfs*, int n, char* out) { return g_real->xGetLastError ? g_real->xGetLastError(g_real, n, out) : 0; }
int v_current_time_int64(sqlite3_vfs*, sqlite3_int64* t) { return g_real->xCurrentTimeInt64(g_real, t); }

}  // namespace

void install() {
    static std::once_flag once;
    std::call_once(once, [] {
        sqlite3_initialize();
        g_real = sqlite3_vfs_find(nullptr);
        std::memset(&g_methods, 0, sizeof g_methods);
        g_methods.iVersion = 3;
        g_methods.xClose = x_close;
        g_methods.xRead = x_read;
        g_methods.xWrite = x_write;
        g_methods.xTruncate = x_truncate;
        g_methods.xSync = x_sync;
        g_methods.xFileSize = x_file_size;
        g_methods.xLock = x_lock;
        g_methods.xUnlock = x_unlock;
        g_methods.xCheckReservedLock = x_check_reserved;
        g_methods.xFileControl = x_file_control;
        g_methods.xSectorSize = x_sector_size;
        g_methods.xDeviceCharacteristics = x_device_characteristics;
        g_methods.xShmMap = x_shm_map;
        g_methods.xShmLock = x_shm_lock;
        g_methods.xShmBarrier = x_shm_barrier;
        g_methods.xShmUnmap = x_shm_unmap;
        g_methods.xFetch = x_fetch;
        g_methods.xUnfetch = x_unfetch;

        std::memset(&g_vfs, 0, sizeof g_vfs);
        g_vfs.iVersion = 2;
        g_vfs.szOsFile = static_cast<int>(sizeof(File)) + g_real->szOsFile;
        g_vfs.mxPathname = g_real->mxPathname;
        g_vfs.zName = "faulty";
        g_vfs.xOpen = v_open;
        g_vfs.xDelete = v_delete;
        g_vfs.xAccess = v_access;
        g_vfs.xFullPathname = v_full_pathname;
        g_vfs.xDlOpen = v_dlopen;
        g_vfs.xDlError = v_dlerror;
        g_vfs.xDlSym = v_dlsym;
        g_vfs.xDlClose = v_dlclose;
        g_vfs.xRandomness = v_randomness;
        g_vfs.xSleep = v_sleep;
        g_vfs.xCurrentTime = v_current_time;
        g_vfs.xGetLastError = v_get_last_error;
        g_vfs.xCurrentTimeInt64 = v_current_time_int64;
        sqlite3_vfs_register(&g_vfs, /*makeDflt=*/0);
    });
}

void arm(const Plan& plan) {
    std::lock_guard<std::mutex> lock(st().mu);
    st().plan = plan;
    st().armed = true;
    st().ops = 0;
    st().injected = 0;
}
void disarm() {
    std::lock_guard<std::mutex> lock(st().mu);
    st().armed = false;
}
int64_t operations() {
    std::lock_guard<std::mutex> lock(st().mu);
    return st().ops;
}
int64_t injected() {
    std::lock_guard<std::mutex> lock(st().mu);
    return st().injected;
}
int64_t total_injected() {
    std::lock_guard<std::mutex> lock(st().mu);
    return st().total;
}
void set_skip_real_sync(bool skip) {
    std::lock_guard<std::mutex> lock(st().mu);
    st().skip_sync = skip;
}

}  // namespace cl::test::faulty_vfs
