// SLA engine (R3, R4): business calendars and the SOP deadlines, computed from a case's history.
//
// Nothing here is stored: for a case and a "now" the engine derives every step's due time and
// state from the folded case, so changing a calendar or policy recomputes every open case.
// Times are UTC milliseconds since the epoch.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/expected.h"
#include "core/json.h"
#include "domain/case.h"

namespace cl {

// A team's working time. The time zone is a POSIX TZ rule (e.g. "UTC0",
// "CET-1CEST,M3.5.0,M10.5.0/3", "EST5EDT,M3.2.0,M11.1.0"), so DST needs no tz database (the
// browser build has none).
struct BusinessCalendar {
    std::string tz = "UTC0";
    int work_days_mask = 0x3E;          // bit d set = day d is a working day (0 = Sunday): Mon-Fri
    int day_start_minute = 9 * 60;      // local time
    int day_end_minute = 17 * 60;
    std::vector<std::string> holidays;  // local dates "YYYY-MM-DD"

    Status validate() const;
    int64_t business_day_minutes() const { return day_end_minute - day_start_minute; }

    // Local offset from UTC (minutes, e.g. +60 for CET) in force at a UTC instant.
    int utc_offset_minutes(int64_t utc_ms) const;
    bool is_working_day(int64_t utc_ms) const;  // the local date of that instant
    // The instant reached after `minutes` of working time starting at `from` (counting only
    // working hours of working days that are not holidays). 1 business day = business_day_minutes().
    int64_t add_business_minutes(int64_t from, int64_t minutes) const;
    // Working minutes between two instants (0 if to <= from).
    int64_t business_minutes_between(int64_t from, int64_t to) const;
};

// One timed step of the SOPs.
struct SlaTarget {
    std::string step;         // see SlaPolicy::targets
    bool business = true;     // business time (true) or wall-clock hours (false)
    int64_t minutes = 0;      // duration: for business targets, working minutes (480 = 1 business day of 9-17)
};

// Policy with the SOP defaults (all configurable per team):
//  thank_you          24 h wall clock after service completion            (aftercare)
//  survey             48 h wall clock after service completion            (aftercare)
//  follow_up_contact  2 business days after service completion (2-5)      (aftercare, follow_up)
//  acknowledge        1 business day after the feedback was received      (feedback)
//  respond            2 business days; 1 for negative feedback/complaints (feedback)
//  escalate           1 business day after a case needs escalation (serious, urgent, high impact,
//                     negative with low scores, or overdue on respond)    (all but improvement)
//  confirm_satisfaction 2 business days after resolution (R10)            (feedback, aftercare, follow_up)
//  improvement        the improvement action's own deadline (due_at)      (improvement)
struct SlaPolicy {
    int64_t thank_you_hours = 24;
    int64_t survey_hours = 48;
    int64_t follow_up_business_days = 2;
    int64_t acknowledge_business_days = 1;
    int64_t respond_business_days = 2;
    int64_t respond_negative_business_days = 1;
    int64_t escalate_business_days = 1;
    int64_t confirm_business_days = 2;
    int64_t due_soon_percent = 25;      // warn when less than this share of the step's time is left
    bool pause_when_awaiting_client = true;

    Status validate() const;
};

enum class StepState { Done, DoneLate, Pending, DueSoon, Overdue, Paused, NotApplicable };
const char* step_state_name(StepState s);

struct StepStatus {
    std::string step;
    StepState state = StepState::NotApplicable;
    int64_t start = 0;   // when the clock started
    int64_t due = 0;     // deadline (pauses included)
    int64_t done_at = 0; // when the step was done, 0 if not
};

struct SlaReport {
    std::vector<StepStatus> steps;
    bool needs_escalation = false;   // serious/urgent/negative or a step overdue, not yet escalated
    std::string escalation_reason;
    bool escalated = false;
    int64_t next_due = 0;            // earliest due time among open steps, 0 if none
    int overdue_count = 0;
    int due_soon_count = 0;

    const StepStatus* find(const std::string& step) const;
};

SlaReport evaluate_sla(const CaseState& c, const SlaPolicy& policy, const BusinessCalendar& cal, int64_t now);

// JSON (settings stored by the server and sent to clients).
std::string calendar_to_json(const BusinessCalendar& c);
Expected<BusinessCalendar> calendar_from_json(std::string_view text);
std::string policy_to_json(const SlaPolicy& p);
Expected<SlaPolicy> policy_from_json(std::string_view text);
void write_sla(json::Writer& w, const SlaReport& r);

}  // namespace cl
