#include "platform/persistence.h"

#include <emscripten.h>

namespace {
bool g_running = false;
bool g_done = false;
bool g_ok = false;
std::string g_error;
}  // namespace

extern "C" EMSCRIPTEN_KEEPALIVE void cl_persist_done(int ok, const char* error) {
    g_running = false;
    g_done = true;
    g_ok = ok != 0;
    g_error = error ? error : "";
}

EM_JS(void, cl_js_syncfs_out, (), {
    FS.syncfs(false, function(err) {
        var msg = err ? String(err && err.message || err) : "";
        var n = lengthBytesUTF8(msg) + 1;
        var p = _malloc(n);
        stringToUTF8(msg, p, n);
        _cl_persist_done(err ? 0 : 1, p);
        _free(p);
    });
});

EM_JS(int, cl_js_copy_file, (const char* from, const char* to), {
    try {
        FS.writeFile(UTF8ToString(to), FS.readFile(UTF8ToString(from)), { canOwn: true });
        return 1;
    } catch (e) {
        return 0;
    }
});

// The /backup mount (IDBFS, its own IndexedDB database), mounted only while a copy is written or
// read. IDBFS.syncfs on the mount alone: the app's FS.syncfs calls reach /data only when it is
// not mounted, and never load the copy at a start.
EM_JS(void, cl_js_backup_store, (const char* db_path), {
    var from = UTF8ToString(db_path);
    var name = Module['closeloopBackupName'](from);
    var mount;
    try {
        mount = Module['closeloopBackupMount']();
        FS.writeFile(name, FS.readFile(from), { canOwn: true });
    } catch (e) {
        console.warn('backup: ' + e);
        return;
    }
    // No flush of /data runs meanwhile (persist_flush_start waits): it would sync /backup too,
    // and the unmount below would pull the files from under it.
    Module['closeloopBackupBusy'] = true;
    IDBFS.syncfs(mount, false, function (err) {
        if (err) console.warn('backup: ' + err);
        try { FS.unmount('/backup'); } catch (e) { /* a later call mounts it again */ }
        Module['closeloopBackupBusy'] = false;
        Module['closeloopBackupStored'] = !err;
    });
});

EM_JS(void, cl_js_restore_backup_and_reload, (const char* db_path), {
    var to = UTF8ToString(db_path);
    var name = Module['closeloopBackupName'](to);
    var fail = function (why) { if (Module['onAbort']) Module['onAbort']('the local database is damaged and ' + why); };
    var mount;
    try {
        mount = Module['closeloopBackupMount']();
    } catch (e) {
        return fail('its last good copy could not be read (' + e + ').');
    }
    IDBFS.syncfs(mount, true, function (err) {
        if (err || !FS.analyzePath(name).exists) return fail(err ? 'its last good copy could not be read (' + err + ').' : 'there is no copy of it to restore.');
        try {
            FS.writeFile(to, FS.readFile(name), { canOwn: true });
            if (FS.analyzePath(to + '-journal').exists) FS.unlink(to + '-journal');  // the damaged file's, not the copy's
            FS.unmount('/backup');
        } catch (e) {
            return fail('its last good copy could not be put in place (' + e + ').');
        }
        FS.syncfs(false, function (err2) {
            if (err2) return fail('its last good copy could not be stored (' + err2 + ').');
            try { sessionStorage.setItem('closeloop-restored', '1'); } catch (e) { /* the toast is lost, not the data */ }
            location.reload();
        });
    });
});

EM_JS(int, cl_js_take_restored_flag, (), {
    try {
        var set = sessionStorage.getItem('closeloop-restored') === '1';
        sessionStorage.removeItem('closeloop-restored');
        return set ? 1 : 0;
    } catch (e) {
        return 0;
    }
});

EM_JS(void, cl_js_delete_backup, (), {
    try { if (FS.analyzePath('/backup').exists && FS.lookupPath('/backup', { follow_mount: false }).node.mounted) FS.unmount('/backup'); } catch (e) { /* not mounted */ }
    if (IDBFS.dbs['/backup']) { IDBFS.dbs['/backup'].close(); delete IDBFS.dbs['/backup']; }
    try {
        var req = indexedDB.deleteDatabase('/backup');
        req.onsuccess = function () { Module['closeloopBackupDeleted'] = true; };
        req.onerror = function () { console.warn('backup: the copy could not be deleted: ' + req.error); };
    } catch (e) {
        console.warn('backup: ' + e);
    }
});

EM_JS(int, cl_js_local_data_loaded, (), { return Module['localDataLoaded'] ? 1 : 0; });

EM_JS(int, cl_js_backup_busy, (), { return Module['closeloopBackupBusy'] ? 1 : 0; });

EM_JS(char*, cl_js_load_error, (), {
    var msg = Module['persistLoadError'] || "";
    var n = lengthBytesUTF8(msg) + 1;
    var p = _malloc(n);
    stringToUTF8(msg, p, n);
    return p;
});

namespace cl::platform {

bool local_data_loaded() { return cl_js_local_data_loaded() != 0; }

bool copy_local_file(const std::string& from, const std::string& to) { return cl_js_copy_file(from.c_str(), to.c_str()) != 0; }

void backup_store(const std::string& db_path) { cl_js_backup_store(db_path.c_str()); }
void restore_backup_and_reload(const std::string& db_path) { cl_js_restore_backup_and_reload(db_path.c_str()); }
bool take_restored_flag() { return cl_js_take_restored_flag() != 0; }
void delete_backup() { cl_js_delete_backup(); }

std::string persist_load_error() {
    char* p = cl_js_load_error();
    std::string s(p);
    free(p);
    return s;
}

bool persist_flush_start() {
    if (g_running || !local_data_loaded() || cl_js_backup_busy()) return false;
    g_running = true;
    cl_js_syncfs_out();
    return true;
}

bool persist_flush_running() { return g_running; }

bool persist_poll(bool* ok, std::string* error) {
    if (!g_done) return false;
    g_done = false;
    if (ok) *ok = g_ok;
    if (error) *error = g_error;
    return true;
}

}  // namespace cl::platform
