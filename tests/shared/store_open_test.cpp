// Opening a store: a new database file gets the current schema from one script (store.cpp,
// kFreshSchema) instead of replaying every migration, and both ways must give the same database;
// an existing file is checked table by table, and a damaged one is refused.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "store/sqlite_util.h"
#include "store/store.h"

namespace cl {
namespace {

// Schema entries by name: "type table sql" with identifier quotes dropped and runs of white space
// folded (a renamed table's text reads CREATE TABLE "cases"(...), a created one CREATE TABLE cases(...)).
std::map<std::string, std::string> schema_of(sqlite3* db) {
    std::map<std::string, std::string> out;
    sql::Stmt q(db, "SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_master");
    while (q.step()) {
        std::string norm;
        bool space = false;
        for (char c : q.text(3)) {
            if (c == '"') continue;
            if (c == ' ' || c == '\n' || c == '\t') {
                space = true;
                continue;
            }
            if (space && !norm.empty()) norm += ' ';
            space = false;
            norm += c;
        }
        out[q.text(1)] = q.text(0) + " " + q.text(2) + " " + norm;
    }
    return out;
}

std::map<std::string, std::string> meta_of(sqlite3* db) {
    std::map<std::string, std::string> out;
    sql::Stmt q(db, "SELECT key, value FROM meta WHERE key <> 'device_id'");
    while (q.step()) out[q.text(0)] = q.text(1);
    return out;
}

int64_t user_version(sqlite3* db) {
    sql::Stmt q(db, "PRAGMA user_version");
    return q.step() ? q.i64(0) : -1;
}

void remove_db(const std::string& path) {
    for (const char* suffix : {"", "-journal", "-wal", "-shm"}) std::remove((path + suffix).c_str());
}

TEST(StoreSchema, NewFileEqualsReplayedMigrations) {
    for (bool server : {false, true}) {
        SCOPED_TRACE(server ? "server store" : "device store");
        const std::string fresh_path = ::testing::TempDir() + "closeloop_schema_fresh.db";
        const std::string replay_path = ::testing::TempDir() + "closeloop_schema_replay.db";
        remove_db(fresh_path);
        remove_db(replay_path);
        StoreOptions opts;
        opts.server = server;
        opts.wal = server;
        auto fresh = Store::open(fresh_path, opts);
        opts.replay_migrations = true;
        auto replayed = Store::open(replay_path, opts);
        ASSERT_TRUE(fresh.ok()) << fresh.error().message;
        ASSERT_TRUE(replayed.ok()) << replayed.error().message;
        sqlite3* a = (*fresh)->db();
        sqlite3* b = (*replayed)->db();
        EXPECT_EQ(user_version(a), user_version(b));
        EXPECT_GT(user_version(a), 0);
        auto schema_a = schema_of(a), schema_b = schema_of(b);
        EXPECT_GT(schema_a.size(), 20u);
        for (const auto& [name, entry] : schema_b) {
            auto it = schema_a.find(name);
            if (it == schema_a.end())
                ADD_FAILURE() << "the new file lacks " << entry;
            else
                EXPECT_EQ(it->second, entry) << name;
        }
        for (const auto& [name, entry] : schema_a)
            if (!schema_b.count(name)) ADD_FAILURE() << "the replayed migrations have no " << entry;
        EXPECT_EQ(meta_of(a), meta_of(b));
        // Both work as stores: a reopen finds nothing to migrate, and the file passes its check.
        fresh->reset();
        opts.replay_migrations = false;
        auto reopened = Store::open(fresh_path, opts);
        ASSERT_TRUE(reopened.ok()) << reopened.error().message;
        replayed->reset();
        reopened->reset();
        remove_db(fresh_path);
        remove_db(replay_path);
    }
}

// A file that has tables but no schema version is not taken for a new one: it gets the migrations
// (which create only what is missing), never the script (which would fail on the existing tables).
TEST(StoreSchema, FileWithTablesButNoVersionIsMigrated) {
    const std::string path = ::testing::TempDir() + "closeloop_schema_unversioned.db";
    remove_db(path);
    {
        sqlite3* db = nullptr;
        ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
        ASSERT_TRUE(sql::exec(db, "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
                                  "INSERT INTO meta VALUES('kept', 'yes');").ok());
        sqlite3_close(db);
    }
    StoreOptions opts;
    opts.server = false;
    opts.wal = false;
    auto s = Store::open(path, opts);
    ASSERT_TRUE(s.ok()) << s.error().message;
    EXPECT_EQ((*s)->meta("kept").value_or(""), "yes");
    EXPECT_GT(user_version((*s)->db()), 0);
    s->reset();
    remove_db(path);
}

// The per-table check (Store::check_integrity) finds a damaged page in an ordinary table, and the
// open fails with "corrupt" (the client then restores its last good copy).
TEST(StoreIntegrity, DamagedTablePageIsRefused) {
    const std::string path = ::testing::TempDir() + "closeloop_damaged.db";
    remove_db(path);
    StoreOptions opts;
    opts.server = false;
    opts.wal = false;
    int64_t page_size = 0, root = 0;
    {
        auto s = Store::open(path, opts);
        ASSERT_TRUE(s.ok()) << s.error().message;
        // Enough rows for meta to span several pages (its root becomes an interior page).
        ASSERT_TRUE(sql::exec((*s)->db(), "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 2000)"
                                          " INSERT INTO meta(key, value) SELECT 'filler-' || x, hex(randomblob(60)) FROM n").ok());
        sql::Stmt ps((*s)->db(), "PRAGMA page_size");
        ASSERT_TRUE(ps.step());
        page_size = ps.i64(0);
        sql::Stmt rp((*s)->db(), "SELECT rootpage FROM sqlite_master WHERE name = 'meta'");
        ASSERT_TRUE(rp.step());
        root = rp.i64(0);
    }
    {
        auto s = Store::open(path, opts);  // healthy: opens
        ASSERT_TRUE(s.ok()) << s.error().message;
        EXPECT_TRUE((*s)->meta("filler-1500").has_value());
    }
    ASSERT_GT(root, 1);
    {
        // Everything after the page header (cell pointers and cells) overwritten.
        std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
        ASSERT_TRUE(f.good());
        f.seekp((root - 1) * page_size + 12);
        std::string junk(static_cast<size_t>(page_size - 12), '\xff');
        f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
        ASSERT_TRUE(f.good());
    }
    auto damaged = Store::open(path, opts);
    ASSERT_FALSE(damaged.ok());
    EXPECT_EQ(damaged.error().code, "corrupt") << damaged.error().message;
    remove_db(path);
}

}  // namespace
}  // namespace cl
