// Surveys, categorisation, reports and exports (R6, R7, R8, R9, R13).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/json.h"
#include "domain/case.h"
#include "domain/sla.h"

namespace cl {

// ---- surveys ----
struct SurveyStats {
    int csat_responses = 0, csat_satisfied = 0;   // satisfied = 4 or 5
    double csat_percent = 0;                       // share of 4-5 among CSAT answers (0-100)
    double csat_mean = 0;
    int nps_responses = 0, promoters = 0, passives = 0, detractors = 0;
    double nps = 0;                                // %promoters - %detractors (-100..100)
};
SurveyStats survey_stats(const std::vector<const SurveyResponse*>& responses);

// A case must be escalated at once (R7): negative/complaint with a low score (CSAT <= 2 or
// NPS <= 6), or flagged urgent / high impact, or priority urgent. Returns the reason or "".
std::string immediate_escalation_reason(const CaseState& c);

// ---- reports ----
struct ReportQuery {
    int64_t from = 0, to = 0;           // period [from, to), UTC ms
    std::string team, category, channel; // empty = all
};

// Periods are computed on UTC dates: "week" = Monday 00:00 UTC to the next Monday, "month",
// "quarter" (Jan/Apr/Jul/Oct) and also "year" and "day". The calendar is not used (yet); an
// unknown name yields an empty period (from = to = 0).
struct PeriodFromName {                  // helper: "week"/"month"/"quarter" containing `at`
    static ReportQuery make(const std::string& period, int64_t at, const BusinessCalendar& cal);
};

struct Percentiles { double p50 = 0, p90 = 0, p99 = 0; int count = 0; };  // hours

struct StepCompliance { std::string step; int met = 0, missed = 0, open = 0; double percent = 0; };

struct Theme { std::string term; int count = 0; int previous_count = 0; };

struct CaseLine {  // one row of a list in the report / the SOP documentation log
    std::string id, reference, date, stakeholder, description, status, assignee, resolution, category, team;
    int64_t due = 0;
    std::string kind;                // case kind
    std::string reason;              // overdue: "overdue: <steps>"; escalated: the escalation reason
    std::vector<std::string> links;  // improvement plan: linked case ids
};

struct Report {
    ReportQuery query;
    int64_t generated_at = 0;
    int total = 0, opened = 0, resolved = 0;
    std::map<std::string, int> by_status, by_category, by_channel, by_kind;
    SurveyStats surveys, previous_surveys;  // this period and the previous one of equal length
    Percentiles response_hours, resolution_hours;
    std::vector<StepCompliance> sla;
    std::vector<CaseLine> overdue, escalated;
    int escalation_count = 0; double escalation_rate = 0;  // percent of cases in period
    std::vector<Theme> themes;  // most frequent terms/tags in comments, with previous period counts
    std::vector<CaseLine> improvement_plan;  // improvement actions (owner = assignee, due)
    struct TrendPoint { std::string label; double nps = 0, csat = 0; int responses = 0; };
    std::vector<TrendPoint> trend;  // weekly points across the period
};

// Definitions used by build_report:
//  - cohort = cases matching the filters (team, category, client.channel) with created_at in [from, to);
//    total/opened (not resolved or closed now)/resolved (resolved or closed now), by_* counts, response
//    and resolution times (not for improvement actions), SLA compliance and the overdue list use it.
//  - surveys (and their comments/suggestions/tags) and notes count by their own time, for matching cases;
//    previous_surveys/previous theme counts use [from - (to - from), from).
//  - escalated = matching cases with an escalation recorded in the period, plus cohort cases that
//    need escalation now; escalation_count = its size; escalation_rate = escalated cohort cases / total.
//  - improvement_plan = improvement cases of the team (other filters ignored) created before `to` and
//    still open or finished on/after `from`; description = "title: description".
//  - trend = one point per week (Monday UTC) overlapping the period, clipped to it.
//  Empty map keys (no category/channel) are reported as "none". Lists are sorted by due, date, reference.
Report build_report(const std::vector<CaseState>& cases, const ReportQuery& q, const SlaPolicy& policy,
                    const BusinessCalendar& cal, int64_t now);
// The report reads nothing of a case whose every event happened before this instant (the start
// of the previous period of equal length), unless it is an improvement action: such cases can be
// left out of build_report's input. A month's report then folds the cases touched since the
// month before, not the whole store.
int64_t report_reads_since(const ReportQuery& q);

std::string report_to_json(const Report& r);
// Sectioned CSV (CRLF): a title row, a header row and data rows per section, blank line between.
std::string report_to_csv(const Report& r);          // sections: summary, by category/channel/status, SLA, themes, lists
std::string documentation_log_csv(const std::vector<CaseState>& cases);  // SOP table: ID, Date, Stakeholder, ...
std::string csv_escape(const std::string& s);        // guards against formula injection too

// Display label of a status as in the SOP log: Pending, In Progress, Awaiting Client, Resolved,
// Completed (closed).
std::string status_label(const std::string& status);
// Theme tokens of a text: lowercase ASCII, apostrophes dropped, other punctuation splits words,
// words shorter than 3 characters and English stopwords dropped.
std::vector<std::string> theme_terms(const std::string& text);

}  // namespace cl
