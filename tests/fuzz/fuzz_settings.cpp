// Settings the server stores and sends to clients: calendar_from_json, policy_from_json,
// retention_from_json. A calendar that validates is exercised (offsets, business-time arithmetic
// and a report period) at times derived from the input; a policy drives evaluate_sla on a small
// case. Invariants: no crash/UB/hang; valid settings round-trip through their JSON.
#include <cstring>

#include "domain/case.h"
#include "domain/report.h"
#include "domain/retention.h"
#include "domain/sla.h"
#include "fuzz_common.h"

using namespace cl;

namespace {
int64_t take_i64(const uint8_t* data, size_t size, size_t at) {
    uint64_t v = 0;
    for (size_t i = 0; i < 8 && at + i < size; ++i) v = (v << 8) | data[at + i];
    return static_cast<int64_t>(v);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text = fuzz::as_text(data, size);
    // Times within year 1970..2100 derived from the input bytes (for the calendar math).
    const int64_t span = 4102444800000LL;
    int64_t t = (take_i64(data, size, 0) % span + span) % span;
    int64_t minutes = (take_i64(data, size, 8) % (60 * 24 * 400) + 60 * 24 * 400) % (60 * 24 * 400);

    if (auto cal = calendar_from_json(text); cal && cal->validate()) {
        auto back = calendar_from_json(calendar_to_json(*cal));
        if (!back) fuzz::fail("calendar round trip", back.error().message);
        (void)cal->utc_offset_minutes(t);
        (void)cal->is_working_day(t);
        int64_t end = cal->add_business_minutes(t, minutes);
        if (end < t) fuzz::fail("add_business_minutes went backwards");
        (void)cal->business_minutes_between(t, end);
        for (const char* p : {"day", "week", "month", "quarter", "year"}) (void)PeriodFromName::make(p, t, *cal);
    }
    if (auto pol = policy_from_json(text); pol && pol->validate()) {
        auto back = policy_from_json(policy_to_json(*pol));
        if (!back) fuzz::fail("policy round trip", back.error().message);
        CaseState c;
        c.id = "c1";
        c.kind = "feedback";
        c.created_at = fuzz::kNow - 3 * 86400000LL;
        c.status_history.push_back({"new", c.created_at, 0});
        (void)evaluate_sla(c, *pol, BusinessCalendar{}, fuzz::kNow);
    }
    if (auto ret = retention_from_json(text); ret && ret->validate()) {
        auto back = retention_from_json(retention_to_json(*ret));
        if (!back) fuzz::fail("retention round trip", back.error().message);
        CaseState c;
        c.kind = "feedback";
        c.status = "closed";
        c.closed_at = t;
        (void)retention_ends_at(c, *ret);
        (void)due_for_purge(c, *ret, fuzz::kNow);
    }
    return 0;
}
