#include "store/report_builder.h"

#include <algorithm>

namespace cl {

Status CaseSweep::start(Store& store, const std::vector<std::string>& teams, int64_t touched_since) {
    *this = CaseSweep();
    auto ids = store.case_ids(teams, touched_since);
    if (!ids) return ids.error();
    ids_ = std::move(*ids);
    cases_.reserve(ids_.size());
    active_ = true;
    return {};
}

Expected<bool> CaseSweep::step(Store& store, size_t max_cases) {
    if (!active_) return cases_.size() == ids_.size();
    const size_t from = cases_.size(), to = std::min(ids_.size(), from + std::max<size_t>(1, max_cases));
    if (from < to) {
        std::vector<std::string> slice(ids_.begin() + static_cast<std::ptrdiff_t>(from), ids_.begin() + static_cast<std::ptrdiff_t>(to));
        auto folded = store.fold_cases(slice);
        if (!folded) {
            active_ = false;
            return folded.error();
        }
        for (auto& c : *folded) cases_.push_back(std::move(c));
    }
    if (cases_.size() < ids_.size()) return false;
    active_ = false;
    return true;
}

Status ReportBuilder::start(Store& store, const ReportQuery& q) {
    query_ = q;
    done_ = false;
    report_ = Report();
    return sweep_.start(store, {}, report_reads_since(q));
}

Expected<bool> ReportBuilder::step(Store& store, size_t max_cases, int64_t now) {
    if (!sweep_.active()) return done_;
    auto all = sweep_.step(store, max_cases);
    if (!all) return all.error();
    if (!*all) return false;
    report_ = build_report(sweep_.cases(), query_, store.sla_policy(), store.calendar(), now);
    sweep_ = CaseSweep();  // the folds are not needed any more
    done_ = true;
    return true;
}

Report ReportBuilder::take_report() {
    done_ = false;
    return std::move(report_);
}

}  // namespace cl
