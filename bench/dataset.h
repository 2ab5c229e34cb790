// Deterministic benchmark data set shared by closeloop_bench, closeloop_bench_scenarios and the
// node peer scripts (which read the NDJSON export). Same (cases, events, seed) -> same bytes.
//
// Shape: `cases` cases spread over 8 teams, 4 devices per team, 3 authors per team; every case
// starts with case.created; the remaining events are spread over the cases at random and follow a
// valid status machine (new -> in_progress <-> awaiting_client -> resolved -> closed): field edits,
// notes, assignments, contacts, surveys, escalations, resolutions, follow-ups. Clocks are spread
// over 2024 (a case lives up to 30 days); per-device counters and HLC stamps are monotonic.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "domain/event.h"

namespace clbench {

struct DatasetSpec {
    int cases = 10000;
    int events = 100000;
    uint64_t seed = 42;
};

struct Dataset {
    DatasetSpec spec;
    std::vector<cl::Event> events;  // in clock order (the order devices produced them)
    std::vector<std::string> case_ids;
};

Dataset generate(const DatasetSpec& spec);

// One event JSON per line (the closeloop wire format of an event, see docs/protocol.md).
bool write_ndjson(const Dataset& d, const std::string& path);

// The merge scenario's split of the first `union` events: a shared base (all creations plus the
// earliest events) and two divergent branches, so |A| = |B| = replica and |A ∩ B| = overlap.
struct MergeSplit {
    std::vector<cl::Event> base, only_a, only_b;  // each in clock order
};
MergeSplit merge_split(const Dataset& d, int replica_events, double overlap);

inline constexpr int64_t kEpoch2024 = 1704067200000;  // 2024-01-01T00:00:00Z

}  // namespace clbench
