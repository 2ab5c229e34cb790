// The page cache wrapper (store/page_cache.h): truncations above every cached page return at once,
// and a truncation with pages to drop (a rolled-back transaction's, above the file's size) still
// reaches SQLite's cache. That is the contract checked here, by the counters: with every
// truncation skipped, SQLite 3.53 still kept the file whole in these steps and in auto_vacuum
// shrinks (it zeroes a page it adds past the end), so the rows and the integrity check below show
// that the file is whole, not that a needed truncation ran.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "store/page_cache.h"
#include "store/sqlite_util.h"

namespace cl {
namespace {

void remove_db(const std::string& path) {
    for (const char* suffix : {"", "-journal", "-wal", "-shm"}) std::remove((path + suffix).c_str());
}

// Rows with texts in random order under an index: inserts split pages all over the index, which
// is where SQLite moves pages through the lock page's number (balance_nonroot).
void insert_rows(sqlite3* db, int from, int count, const char* salt) {
    sql::Stmt ins(db, "INSERT INTO t(k, v) VALUES(?1, printf('%08x-%s-%s', (?1 * 2654435761) % 4294967296, ?2, hex(randomblob(24))))");
    ASSERT_TRUE(ins.ok());
    for (int k = from; k < from + count; ++k) ASSERT_TRUE(ins.reset().bind(1, k).bind(2, salt).run()) << sqlite3_errmsg(db);
}

std::string one_text(sqlite3* db, const char* query) {
    sql::Stmt q(db, query);
    EXPECT_TRUE(q.ok()) << sqlite3_errmsg(db);
    return q.step() ? q.text(0) : std::string("(no row)");
}

TEST(PageCache, SkipsTruncationsAboveEveryPageAndStillDropsARolledBackTransactionsPages) {
    ASSERT_TRUE(sql::install_page_cache()) << "SQLite initialized before the page cache was installed";
    for (const char* journal : {"WAL", "DELETE"}) {
        SCOPED_TRACE(journal);
        const std::string path = ::testing::TempDir() + "closeloop_page_cache.db";
        remove_db(path);
        sqlite3* db = nullptr;
        ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
        ASSERT_TRUE(sql::exec(db, (std::string("PRAGMA journal_mode=") + journal + "; PRAGMA cache_size=-16384;"
                                   " CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT NOT NULL); CREATE INDEX t_v ON t(v);").c_str()));
        const sql::PageCacheStats before = sql::page_cache_stats();
        // Commits of a growing file: their truncations to the file's size have nothing to drop.
        for (int batch = 0; batch < 40; ++batch) {
            ASSERT_TRUE(sql::exec(db, "BEGIN"));
            insert_rows(db, batch * 250, 250, "kept");
            ASSERT_TRUE(sql::exec(db, "COMMIT"));
        }
        const sql::PageCacheStats grown = sql::page_cache_stats();
        EXPECT_GE(grown.truncations_skipped - before.truncations_skipped, 40);

        // A transaction that grows the file by hundreds of pages, rolled back: those pages lie
        // above the file's size now and must leave the cache.
        const std::string pages_before = one_text(db, "PRAGMA page_count");
        ASSERT_TRUE(sql::exec(db, "BEGIN"));
        insert_rows(db, 100000, 6000, "rolled-back");
        ASSERT_GT(std::stoll(one_text(db, "PRAGMA page_count")), std::stoll(pages_before) + 100);
        ASSERT_TRUE(sql::exec(db, "ROLLBACK"));
        EXPECT_GT(sql::page_cache_stats().truncations_passed, grown.truncations_passed);
        EXPECT_EQ(one_text(db, "PRAGMA page_count"), pages_before);

        // The same page numbers again, with other contents: every one must come from the file.
        for (int batch = 0; batch < 8; ++batch) {
            ASSERT_TRUE(sql::exec(db, "BEGIN"));
            insert_rows(db, 200000 + batch * 750, 750, "after");
            ASSERT_TRUE(sql::exec(db, "COMMIT"));
        }
        EXPECT_EQ(one_text(db, "PRAGMA integrity_check"), "ok");
        EXPECT_EQ(one_text(db, "SELECT count(*) || ' ' || sum(v LIKE '%-kept-%') || ' ' || sum(v LIKE '%-after-%') ||"
                               " ' ' || sum(v LIKE '%-rolled-back-%') FROM t"),
                  "16000 10000 6000 0");
        // Read through the index, in its order: a stale page there shows as a wrong row count.
        EXPECT_EQ(one_text(db, "SELECT count(*) FROM t INDEXED BY t_v WHERE v > ''"), "16000");
        ASSERT_EQ(sqlite3_close(db), SQLITE_OK);
        // And from a new connection (a cold cache) the file says the same.
        ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
        EXPECT_EQ(one_text(db, "PRAGMA integrity_check"), "ok");
        EXPECT_EQ(one_text(db, "SELECT count(*) FROM t INDEXED BY t_v WHERE v > ''"), "16000");
        ASSERT_EQ(sqlite3_close(db), SQLITE_OK);
        remove_db(path);
    }
}

}  // namespace
}  // namespace cl
