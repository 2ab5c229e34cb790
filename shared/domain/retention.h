// Retention (R12): which closed cases are due for purge, and the tombstone they leave.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/expected.h"
#include "core/json.h"
#include "domain/case.h"

namespace cl {

struct RetentionPolicy {
    std::map<std::string, int> months_after_closure = {{"aftercare", 12}, {"feedback", 12}, {"follow_up", 12},
                                                       {"improvement", 12}};
    int default_months = 12;
    std::string action = "purge";  // "purge" (anonymisation is not built; validate() refuses it)
    Status validate() const;       // months in [12, 120] (the SOPs keep records at least 12 months)
    int months_for(const std::string& kind) const;
};

// When the case was closed for retention: closed (or resolved, when closed without a time) or
// resolved; 0 while it is open. Case rows keep it (cases.retention_from).
int64_t closure_time(const CaseState& c);
// When the case's retention ends (closure + months), or 0 when it is not closed (never purged).
int64_t retention_ends_at(const CaseState& c, const RetentionPolicy& p);
// Closed (or resolved) long enough, and not on legal hold.
bool due_for_purge(const CaseState& c, const RetentionPolicy& p, int64_t now);

struct Tombstone {  // no personal data: no client, no text
    std::string case_id, reference, kind, team, reason;
    int64_t closed_at = 0, purged_at = 0;
    int64_t seq = 0;  // server sequence when issued (pull cursor)
};
Tombstone make_tombstone(const CaseState& c, int64_t now, const std::string& reason);
// The same from a case row's fields (a sweep decides closed cases without folding them).
Tombstone make_tombstone(std::string case_id, std::string reference, std::string kind, std::string team, int64_t closed_at,
                         int64_t now, const std::string& reason);
void write_tombstone(json::Writer& w, const Tombstone& t);
Expected<Tombstone> tombstone_from_value(const json::Value& v);

std::string retention_to_json(const RetentionPolicy& p);
Expected<RetentionPolicy> retention_from_json(std::string_view text);

// Calendar helper: the UTC instant `months` calendar months after `t` (day clamped to month end).
int64_t add_months_utc(int64_t t, int months);

}  // namespace cl
