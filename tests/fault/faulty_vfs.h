// A fault-injecting SQLite VFS in the style of SQLite's own test_vfs/malloc fault tests.
//
// install() registers a VFS named "faulty" that wraps the default VFS and forwards everything to
// it, but can fail the Nth xWrite / xSync / xTruncate (counted across every file of every
// connection that uses it: database, journal, WAL). Open a store on it with a URI:
//     Store::open("file:/path/x.db?vfs=faulty", opts)
// then arm(), run the operation, disarm(). A store opened on the plain path uses the normal VFS.
#pragma once
#include <cstdint>

namespace cl::test::faulty_vfs {

enum Ops : unsigned { kWrite = 1, kSync = 2, kTruncate = 4, kAll = 7 };

struct Plan {
    int64_t fail_at = 0;        // the Nth counted operation fails (1-based); 0 = never
    bool persistent = false;    // every operation after the Nth fails too (a full disk)
    int error = 0;              // SQLite result code to return; 0 = the natural SQLITE_IOERR_* of the op
    unsigned ops = kAll;        // which operations are counted
};

void install();                 // idempotent
void arm(const Plan& plan);     // resets the counters
void disarm();                  // stop failing (counters kept for inspection)
int64_t operations();           // counted operations since arm()
int64_t injected();             // faults injected since arm()
int64_t total_injected();       // faults injected since the program started
// When true (default) xSync is not forwarded: tests check atomicity, not power loss, and real
// fsyncs would make the N-loops slow.
void set_skip_real_sync(bool skip);

}  // namespace cl::test::faulty_vfs
