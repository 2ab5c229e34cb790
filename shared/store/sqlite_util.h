// Small RAII helpers over the SQLite C API (prepared statements, errors as cl::Error).
#pragma once
#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <vector>
#include <string_view>

#include "core/expected.h"

namespace cl::sql {

inline Error db_error(sqlite3* db, const std::string& what) {
    int code = sqlite3_extended_errcode(db);
    std::string c = (code & 0xff) == SQLITE_FULL ? "disk_full" : (code & 0xff) == SQLITE_BUSY ? "busy" : "storage";
    return make_error(c, what + ": " + sqlite3_errmsg(db));
}

class Stmt {
public:
    Stmt(sqlite3* db, std::string_view sql) : db_(db) {
        prepare_rc_ = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &st_, nullptr);
        rc_ = prepare_rc_;
    }
    ~Stmt() { sqlite3_finalize(st_); }
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;

    bool ok() const { return prepare_rc_ == SQLITE_OK && st_ != nullptr; }
    Error error(const std::string& what) const { return db_error(db_, what); }
    sqlite3_stmt* get() { return st_; }

    Stmt& reset() { sqlite3_reset(st_); sqlite3_clear_bindings(st_); return *this; }
    Stmt& bind(int i, std::string_view s) { sqlite3_bind_text(st_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT); return *this; }
    // Not copied: the text must stay alive and unchanged while the statement runs with this
    // binding (Store::stmt() clears the bindings before the statement's next use).
    Stmt& bind_static(int i, const std::string& s) { sqlite3_bind_text(st_, i, s.data(), static_cast<int>(s.size()), SQLITE_STATIC); return *this; }
    Stmt& bind(int i, const char* s) { return bind(i, std::string_view(s)); }
    Stmt& bind(int i, const std::string& s) { return bind(i, std::string_view(s)); }
    Stmt& bind(int i, int64_t v) { sqlite3_bind_int64(st_, i, v); return *this; }
    Stmt& bind(int i, int v) { sqlite3_bind_int64(st_, i, v); return *this; }
    Stmt& bind(int i, uint64_t v) { sqlite3_bind_int64(st_, i, static_cast<int64_t>(v)); return *this; }
    Stmt& bind(int i, bool v) { sqlite3_bind_int(st_, i, v ? 1 : 0); return *this; }
    Stmt& bind_null(int i) { sqlite3_bind_null(st_, i); return *this; }
    // Binds v as carray(?i), not copied: reset() the statement before v changes or goes away.
    bool bind_array(int i, const std::vector<int64_t>& v) {
        return sqlite3_carray_bind(st_, i, const_cast<int64_t*>(v.data()), static_cast<int>(v.size()), SQLITE_CARRAY_INT64,
                                   SQLITE_STATIC) == SQLITE_OK;
    }

    // SQLITE_ROW -> true; SQLITE_DONE -> false; errors -> false with last_rc() set.
    bool step() { rc_ = sqlite3_step(st_); return rc_ == SQLITE_ROW; }
    // Runs to completion; true on SQLITE_DONE.
    bool run() { rc_ = sqlite3_step(st_); bool ok = rc_ == SQLITE_DONE || rc_ == SQLITE_ROW; sqlite3_reset(st_); return ok; }
    int last_rc() const { return rc_; }
    bool done_ok() const { return rc_ == SQLITE_DONE || rc_ == SQLITE_ROW; }

    int64_t i64(int col) { return sqlite3_column_int64(st_, col); }
    bool is_null(int col) { return sqlite3_column_type(st_, col) == SQLITE_NULL; }
    std::string text(int col) {
        const unsigned char* p = sqlite3_column_text(st_, col);
        return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(st_, col))) : std::string();
    }

private:
    sqlite3* db_;
    sqlite3_stmt* st_ = nullptr;
    int rc_ = SQLITE_OK;
    int prepare_rc_ = SQLITE_OK;
};

inline Status exec(sqlite3* db, const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
        std::string msg = err ? err : "unknown error";
        sqlite3_free(err);
        return make_error("storage", msg);
    }
    return {};
}

}  // namespace cl::sql
