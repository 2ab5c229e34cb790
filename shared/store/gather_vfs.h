// A SQLite VFS that gathers a transaction's WAL frames into a few large writes.
//
// SQLite writes each WAL frame with two system calls (its 24-byte header, then the page): a
// server's commit of 1000 events is ~270 frames, ~540 pwrite calls, and at 100k events those
// calls were a fifth of the insert time (perf, 2026-12-05). This VFS wraps another one (the
// default, or a named one: the fault tests stack it over theirs) and keeps consecutive writes to a
// WAL file in a buffer, written with one call as soon as anything else happens to the file or to
// its database's shared memory:
//  - any other operation on the WAL file (xSync at commit, xRead, xFileSize, xTruncate, a write
//    that does not continue the buffer, xClose, ...) writes the buffer first;
//  - the database file's shared-memory and lock operations write its WAL's buffer first, so a
//    commit without a sync (synchronous=NORMAL) has its frames in the file before SQLite publishes
//    them in the wal-index header (walIndexWriteHdr calls xShmBarrier on the database file).
// A failed write of the buffer is returned by the operation that caused it, and the buffer is
// dropped: SQLite then treats the frames as never written (they are not in the wal-index). With
// synchronous=FULL (every Store) that operation is the commit's xSync, so the commit fails as it
// would have at the write; under NORMAL the frames are written at xShmBarrier, which cannot fail,
// so a write error there shows at the next read of those frames instead.
// Rollback journals and database files are passed through unchanged.
#pragma once
#include <cstdint>

namespace cl::sql {

// Registers (once per base) the gathering VFS over `base` (nullptr: SQLite's default VFS) and
// returns its name ("closeloop-gather" or "closeloop-gather-<base>"), or nullptr when `base` is
// not a registered VFS.
const char* gather_vfs(const char* base = nullptr);

// Counters over every gathering VFS, for tests and benchmarks.
struct GatherStats {
    int64_t writes_gathered = 0;  // WAL writes SQLite asked for
    int64_t writes_issued = 0;    // writes passed to the base VFS for them
};
GatherStats gather_stats();

}  // namespace cl::sql
