// Builds a period's report a slice of cases at a time, so a view can spread the folds over frames
// and never block one: a month's report at 100k cases folds ~10k cases (~130 ms native, several
// times that in the browser), and a sync changes the data many times a minute.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/expected.h"
#include "domain/report.h"
#include "store/store.h"

namespace cl {

class ReportBuilder {
public:
    // Lists the cases the report for q reads (report_reads_since(q)); folding starts with step().
    Status start(Store& store, const ReportQuery& q);
    // Folds up to max_cases more cases; once all are folded, builds the report as of `now`.
    // Returns done(). On an error the build stops (active() is false); start() begins anew.
    Expected<bool> step(Store& store, size_t max_cases, int64_t now);

    bool active() const { return active_; }       // started, not finished nor failed
    bool done() const { return done_; }           // the report is ready (take_report)
    size_t folded() const { return cases_.size(); }
    size_t total() const { return ids_.size(); }
    const ReportQuery& query() const { return query_; }
    Report take_report();

private:
    ReportQuery query_;
    std::vector<std::string> ids_;
    std::vector<CaseState> cases_;
    Report report_;
    bool active_ = false, done_ = false;
};

}  // namespace cl
