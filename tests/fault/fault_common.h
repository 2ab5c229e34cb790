// Helpers shared by the fault tests: temporary folders, store snapshots, integrity checks.
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>

#include "store/sqlite_util.h"
#include "store/store.h"

namespace cl::test {

// A fresh folder under the test temp dir, removed at the end of the scope.
struct TempDir {
    std::string path;
    explicit TempDir(const std::string& name) {
        static int n = 0;
        path = ::testing::TempDir() + "closeloop-" + name + "-" + std::to_string(::getpid()) + "-" + std::to_string(++n);
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    std::string file(const std::string& name) const { return path + "/" + name; }
};

inline void remove_db(const std::string& path) {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::filesystem::remove(path + suffix);
}

// Copies a closed database (no WAL left after a clean close) to a new path.
inline void copy_db(const std::string& from, const std::string& to) {
    remove_db(to);
    std::filesystem::copy_file(from, to);
}

inline std::string integrity(Store& store) {
    sql::Stmt s(store.db(), "PRAGMA integrity_check");
    std::string out;
    while (s.step()) out += (out.empty() ? "" : "; ") + s.text(0);
    return out;
}

// Everything a store holds, as comparable text: case JSON, events (with seq), tombstones, meta.
struct Snapshot {
    std::map<std::string, std::string> cases;   // id -> materialised case JSON
    std::map<std::string, std::string> events;  // id -> "case|seq|type|body"
    std::map<std::string, std::string> tombs;   // case id -> fields (seq only when with_seq)
    std::map<std::string, int64_t> tomb_seq;    // case id -> seq
    std::map<std::string, std::string> meta;

    bool operator==(const Snapshot& o) const {
        return cases == o.cases && events == o.events && tombs == o.tombs && meta == o.meta;
    }
    bool operator!=(const Snapshot& o) const { return !(*this == o); }
};

inline Snapshot snapshot_of(Store& store, bool tomb_seq_in_compare = true) {
    Snapshot s;
    {
        // The materialised row's columns (the case itself is re-folded from its events on read).
        sql::Stmt q(store.db(), "SELECT id, reference || '|' || status || '|' || team || '|' || assignee || '|' || updated_at"
                                " || '|' || closed_at || '|' || next_due || '|' || conflicts || '|' || search FROM cases");
        while (q.step()) s.cases[q.text(0)] = q.text(1);
    }
    {
        sql::Stmt q(store.db(), "SELECT id, case_id, coalesce(seq,0), type, body FROM events");
        while (q.step()) s.events[q.text(0)] = q.text(1) + "|" + std::to_string(q.i64(2)) + "|" + q.text(3) + "|" + q.text(4);
    }
    {
        sql::Stmt q(store.db(), "SELECT case_id, reference, kind, team, reason, closed_at, purged_at, coalesce(seq,0) FROM tombstones");
        while (q.step()) {
            std::string v = q.text(1) + "|" + q.text(2) + "|" + q.text(3) + "|" + q.text(4) + "|" + std::to_string(q.i64(5)) + "|" +
                            std::to_string(q.i64(6));
            if (tomb_seq_in_compare) v += "|" + std::to_string(q.i64(7));
            s.tombs[q.text(0)] = v;
            s.tomb_seq[q.text(0)] = q.i64(7);
        }
    }
    {
        sql::Stmt q(store.db(), "SELECT key, value FROM meta");
        while (q.step()) s.meta[q.text(0)] = q.text(1);
    }
    return s;
}

inline std::string diff(const Snapshot& want, const Snapshot& got) {
    std::ostringstream o;
    auto cmp = [&](const char* what, const auto& a, const auto& b) {
        for (const auto& [k, v] : a) {
            auto it = b.find(k);
            if (it == b.end()) o << "  " << what << " " << k << " missing\n";
            else if (it->second != v) o << "  " << what << " " << k << " differs: want " << v << "\n      got " << it->second << "\n";
        }
        for (const auto& [k, v] : b)
            if (!a.count(k)) o << "  " << what << " " << k << " unexpected: " << v << "\n";
    };
    cmp("case", want.cases, got.cases);
    cmp("event", want.events, got.events);
    cmp("tombstone", want.tombs, got.tombs);
    cmp("meta", want.meta, got.meta);
    return o.str();
}

inline bool long_mode() {
    const char* v = std::getenv("CLOSELOOP_LONG");
    return v && *v && std::string(v) != "0";
}

}  // namespace cl::test
