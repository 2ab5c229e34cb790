// Reports and exports read many cases: these fold them a slice at a time, so a view can spread
// the folds over frames and never block one. A month's report at 100k cases folds ~10k cases
// (~130 ms native, several times that in the browser), a documentation log folds every case, and
// a sync changes the data many times a minute.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/expected.h"
#include "domain/report.h"
#include "store/store.h"

namespace cl {

// The folds of what Store::all_cases(teams, touched_since) returns, in its order, a slice at a
// time.
class CaseSweep {
public:
    // Lists the cases; folding starts with step().
    Status start(Store& store, const std::vector<std::string>& teams = {},
                 int64_t touched_since = std::numeric_limits<int64_t>::min());
    // Folds up to max_cases more cases; true once every case is folded. On an error the sweep
    // stops (active() is false); start() begins anew. A case purged since start() folds to an
    // empty state (which no report or log counts).
    Expected<bool> step(Store& store, size_t max_cases);

    bool active() const { return active_; }  // started, not finished nor failed
    size_t folded() const { return cases_.size(); }
    size_t total() const { return ids_.size(); }
    const std::vector<CaseState>& cases() const { return cases_; }
    std::vector<CaseState> take_cases() { return std::move(cases_); }

private:
    std::vector<std::string> ids_;
    std::vector<CaseState> cases_;
    bool active_ = false;
};

// A period's report, built from a CaseSweep of the cases it reads (report_reads_since(q)).
class ReportBuilder {
public:
    Status start(Store& store, const ReportQuery& q);
    // Folds up to max_cases more cases; once all are folded, builds the report as of `now`.
    // Returns done(). On an error the build stops (active() is false); start() begins anew.
    Expected<bool> step(Store& store, size_t max_cases, int64_t now);

    bool active() const { return sweep_.active(); }  // started, not finished nor failed
    bool done() const { return done_; }              // the report is ready (take_report)
    size_t folded() const { return sweep_.folded(); }
    size_t total() const { return sweep_.total(); }
    Report take_report();

private:
    ReportQuery query_;
    CaseSweep sweep_;
    Report report_;
    bool done_ = false;
};

}  // namespace cl
