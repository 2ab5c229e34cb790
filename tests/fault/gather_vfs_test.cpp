// The gathering VFS (store/gather_vfs.h): a WAL commit's frames reach the file in a few large
// writes, nothing is lost or reordered, and another connection sees every commit even when the
// writer does not sync (the frames must be in the file before SQLite publishes them). Faults under
// it are injected by the store fault loops (fault_store_test.cpp), which run WAL stores on it.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>

#include "fault_common.h"
#include "store/gather_vfs.h"

using namespace cl;
using namespace cl::test;

namespace {

// Deterministic row contents: a blob of `size` bytes derived from k.
std::string blob_for(int k, int size) {
    std::string b(static_cast<size_t>(size), '\0');
    uint64_t x = 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(k + 1);
    for (auto& c : b) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        c = static_cast<char>(x);
    }
    return b;
}

sqlite3* open_db(const std::string& path, const char* vfs, const char* pragmas) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs), SQLITE_OK);
    EXPECT_TRUE(sql::exec(db, pragmas));
    return db;
}

void insert_rows(sqlite3* db, int from, int count, int size) {
    ASSERT_TRUE(sql::exec(db, "BEGIN IMMEDIATE"));
    sql::Stmt ins(db, "INSERT INTO t(k, v) VALUES(?1, ?2)");
    for (int k = from; k < from + count; ++k) {
        std::string v = blob_for(k, size);
        ins.reset();
        ins.bind(1, static_cast<int64_t>(k)).bind(2, std::string_view(v));
        ASSERT_TRUE(ins.run()) << sqlite3_errmsg(db);
    }
    ASSERT_TRUE(sql::exec(db, "COMMIT"));
}

// Every row 0..count-1 is there with its own contents.
::testing::AssertionResult rows_intact(sqlite3* db, int count, int size) {
    sql::Stmt s(db, "SELECT k, v FROM t ORDER BY k");
    int expect = 0;
    while (s.step()) {
        if (s.i64(0) != expect) return ::testing::AssertionFailure() << "row " << expect << " missing (found " << s.i64(0) << ")";
        if (s.text(1) != blob_for(expect, size)) return ::testing::AssertionFailure() << "row " << expect << " differs";
        ++expect;
    }
    if (s.last_rc() != SQLITE_DONE) return ::testing::AssertionFailure() << "read failed: " << sqlite3_errmsg(db);
    if (expect != count) return ::testing::AssertionFailure() << expect << " rows, expected " << count;
    return ::testing::AssertionSuccess();
}

}  // namespace

TEST(FaultGatherVfs, CommitsAreWrittenInFewCallsAndReadBackWhole) {
    TempDir dir("gather");
    const std::string path = dir.file("g.db");
    const char* vfs = sql::gather_vfs();
    ASSERT_NE(vfs, nullptr);
    const sql::GatherStats before = sql::gather_stats();
    {
        sqlite3* db = open_db(path, vfs, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA wal_autocheckpoint=64;"
                                         "CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB NOT NULL);");
        for (int batch = 0; batch < 40; ++batch) insert_rows(db, batch * 100, 100, 700);
        EXPECT_TRUE(rows_intact(db, 4000, 700));
        EXPECT_EQ(sqlite3_close(db), SQLITE_OK);
    }
    const sql::GatherStats after = sql::gather_stats();
    const int64_t asked = after.writes_gathered - before.writes_gathered;
    const int64_t issued = after.writes_issued - before.writes_issued;
    // ~20 frames a commit, two writes each, gathered into one write (a checkpoint every 64 pages
    // interleaves, and its WAL restart writes a header on its own).
    EXPECT_GT(asked, 40 * 30);
    EXPECT_LT(issued * 8, asked) << "asked " << asked << ", issued " << issued;

    // Read back with SQLite's own VFS: every row, nothing else.
    sqlite3* plain = open_db(path, nullptr, "PRAGMA journal_mode=WAL;");
    EXPECT_TRUE(rows_intact(plain, 4000, 700));
    {
        sql::Stmt check(plain, "PRAGMA integrity_check");
        EXPECT_TRUE(check.step());
        EXPECT_EQ(check.text(0), "ok");
    }
    EXPECT_EQ(sqlite3_close(plain), SQLITE_OK);
}

TEST(FaultGatherVfs, AnotherConnectionReadsEveryCommitOfAWriterThatDoesNotSync) {
    // synchronous=NORMAL: a commit does not sync the WAL, so only the database file's
    // xShmBarrier (before the wal-index header names the new frames) writes them out. No
    // checkpoints: the reader must read every new page from the WAL file.
    TempDir dir("gather-reader");
    const std::string path = dir.file("g.db");
    sqlite3* writer = open_db(path, sql::gather_vfs(), "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                                                        "PRAGMA wal_autocheckpoint=0;"
                                                        "CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB NOT NULL);");
    sqlite3* reader = open_db(path, nullptr, "PRAGMA journal_mode=WAL;");
    for (int k = 0; k < 60; ++k) {
        insert_rows(writer, k, 1, 3000);
        ASSERT_TRUE(rows_intact(reader, k + 1, 3000)) << "after commit " << k;
    }
    EXPECT_EQ(sqlite3_close(reader), SQLITE_OK);
    EXPECT_EQ(sqlite3_close(writer), SQLITE_OK);
}

TEST(FaultGatherVfs, ServerStoresRunOnIt) {
    TempDir dir("gather-store");
    StoreOptions o;
    o.server = true;
    o.wal = true;
    auto s = Store::open(dir.file("s.db"), o);
    ASSERT_TRUE(s) << s.error().message;
    sqlite3_vfs* vfs = nullptr;
    ASSERT_EQ(sqlite3_file_control((*s)->db(), "main", SQLITE_FCNTL_VFS_POINTER, &vfs), SQLITE_OK);
    ASSERT_NE(vfs, nullptr);
    EXPECT_STREQ(vfs->zName, "closeloop-gather");
}
