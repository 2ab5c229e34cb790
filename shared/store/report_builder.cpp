#include "store/report_builder.h"

#include <algorithm>

namespace cl {

Status ReportBuilder::start(Store& store, const ReportQuery& q) {
    *this = ReportBuilder();
    query_ = q;
    auto ids = store.case_ids({}, report_reads_since(q));
    if (!ids) return ids.error();
    ids_ = std::move(*ids);
    cases_.reserve(ids_.size());
    active_ = true;
    return {};
}

Expected<bool> ReportBuilder::step(Store& store, size_t max_cases, int64_t now) {
    if (!active_) return done_;
    const size_t from = cases_.size(), to = std::min(ids_.size(), from + std::max<size_t>(1, max_cases));
    if (from < to) {
        std::vector<std::string> slice(ids_.begin() + static_cast<std::ptrdiff_t>(from), ids_.begin() + static_cast<std::ptrdiff_t>(to));
        auto folded = store.fold_cases(slice);
        if (!folded) {
            active_ = false;
            return folded.error();
        }
        // (a case purged since start() folds to an empty state, which no report counts)
        for (auto& c : *folded) cases_.push_back(std::move(c));
    }
    if (cases_.size() < ids_.size()) return false;
    report_ = build_report(cases_, query_, store.sla_policy(), store.calendar(), now);
    active_ = false;
    done_ = true;
    return true;
}

Report ReportBuilder::take_report() {
    done_ = false;
    return std::move(report_);
}

}  // namespace cl
