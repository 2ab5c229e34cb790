#include <gtest/gtest.h>

#include <cstdlib>
#include <iterator>
#include <random>
#include <set>

#include "core/time.h"
#include "domain/case.h"
#include "domain/event.h"
#include "domain/report.h"

using namespace cl;

namespace {

int64_t T(const char* iso) {  // no EXPECT here: also used for namespace-scope constants
    int64_t ms = 0;
    if (!parse_utc(iso, ms)) std::abort();
    return ms;
}

// Builds one case from real events, folded like a replica would.
class CaseEvents {
public:
    explicit CaseEvents(std::string id, std::string team = "north") : id_(std::move(id)), team_(std::move(team)) {}
    CaseEvents& add(int64_t t, const std::string& type, const std::string& body) {
        Event e;
        e.device = "d1";
        e.counter = ++n_;
        e.clock = Hlc{t, 0};
        e.case_id = id_;
        e.team = team_;
        e.author = "alice";
        e.type = type;
        e.body = body;
        evs_.push_back(e);
        return *this;
    }
    CaseEvents& survey(int64_t t, int csat, int nps, const std::string& comment = "") {
        std::string body = "{";
        if (csat > 0) body += "\"csat\":" + std::to_string(csat) + ",";
        if (nps >= 0) body += "\"nps\":" + std::to_string(nps) + ",";
        body += "\"comment\":" + json::quote(comment) + "}";
        return add(t, ev::kSurveyRecorded, body);
    }
    CaseState fold() const { return cl::fold(evs_); }

private:
    std::string id_, team_;
    uint64_t n_ = 0;
    std::vector<Event> evs_;
};

CaseEvents feedback(const std::string& id, int64_t created, const std::string& category = "suggestion",
                    const std::string& channel = "email", const std::string& team = "north") {
    CaseEvents b(id, team);
    b.add(created, ev::kCaseCreated,
          R"({"kind":"feedback","description":"Item )" + id + R"(","category":")" + category +
              R"(","client":{"name":"Client )" + id + R"(","channel":")" + channel + R"("}})");
    return b;
}

SurveyResponse resp(int csat, int nps) {
    SurveyResponse r;
    r.csat = csat;
    r.nps = nps;
    return r;
}

SurveyStats stats_of(const std::vector<SurveyResponse>& rs) {
    std::vector<const SurveyResponse*> ptrs;
    for (auto& r : rs) ptrs.push_back(&r);
    return survey_stats(ptrs);
}

const int64_t kJune = T("2024-06-01");       // Saturday
const int64_t kJuly = T("2024-07-01");
const int64_t kNow = T("2024-07-15T12:00:00Z");

ReportQuery june() {
    ReportQuery q;
    q.from = kJune;
    q.to = kJuly;
    return q;
}

Report run(const std::vector<CaseState>& cases, const ReportQuery& q, int64_t now = kNow) {
    return build_report(cases, q, SlaPolicy{}, BusinessCalendar{}, now);
}

}  // namespace

// ---------------------------------------------------------------- surveys

TEST(Survey, NpsAndCsatWorkedExampleOfTenAnswers) {
    // NPS: 10,10,9,9,8,7,6,5,3,0 -> 4 promoters, 2 passives, 4 detractors -> NPS 0.
    // CSAT: 5,5,4,4,4,3,2,1,5,4 -> 7 satisfied of 10 -> 70 %, mean 3.7.
    const int nps[] = {10, 10, 9, 9, 8, 7, 6, 5, 3, 0};
    const int csat[] = {5, 5, 4, 4, 4, 3, 2, 1, 5, 4};
    std::vector<SurveyResponse> rs;
    for (int i = 0; i < 10; ++i) rs.push_back(resp(csat[i], nps[i]));
    SurveyStats s = stats_of(rs);
    EXPECT_EQ(s.nps_responses, 10);
    EXPECT_EQ(s.promoters, 4);
    EXPECT_EQ(s.passives, 2);
    EXPECT_EQ(s.detractors, 4);
    EXPECT_DOUBLE_EQ(s.nps, 0.0);
    EXPECT_EQ(s.csat_responses, 10);
    EXPECT_EQ(s.csat_satisfied, 7);
    EXPECT_DOUBLE_EQ(s.csat_percent, 70.0);
    EXPECT_DOUBLE_EQ(s.csat_mean, 3.7);
}

TEST(Survey, NpsPositiveAndNegativeExamples) {
    // 7 promoters, 2 passives, 1 detractor of 10 -> +60.
    std::vector<SurveyResponse> rs;
    for (int n : {10, 9, 9, 9, 9, 10, 10, 8, 7, 6}) rs.push_back(resp(0, n));
    SurveyStats s = stats_of(rs);
    EXPECT_DOUBLE_EQ(s.nps, 60.0);
    EXPECT_EQ(s.csat_responses, 0);
    EXPECT_DOUBLE_EQ(s.csat_percent, 0.0);

    // All detractors -> -100; 1 promoter of 4 with 3 detractors -> -50.
    EXPECT_DOUBLE_EQ(stats_of({resp(0, 0), resp(0, 6)}).nps, -100.0);
    EXPECT_DOUBLE_EQ(stats_of({resp(0, 9), resp(0, 1), resp(0, 2), resp(0, 3)}).nps, -50.0);
}

TEST(Survey, EmptyAndMissingScoresGiveZeros) {
    SurveyStats s = survey_stats({});
    EXPECT_EQ(s.csat_responses, 0);
    EXPECT_EQ(s.nps_responses, 0);
    EXPECT_DOUBLE_EQ(s.nps, 0);
    EXPECT_DOUBLE_EQ(s.csat_percent, 0);
    EXPECT_DOUBLE_EQ(s.csat_mean, 0);

    // Only CSAT given on one, only NPS on the other, nothing on a third.
    SurveyStats t = stats_of({resp(5, -1), resp(0, 3), resp(0, -1)});
    EXPECT_EQ(t.csat_responses, 1);
    EXPECT_DOUBLE_EQ(t.csat_percent, 100.0);
    EXPECT_DOUBLE_EQ(t.csat_mean, 5.0);
    EXPECT_EQ(t.nps_responses, 1);
    EXPECT_DOUBLE_EQ(t.nps, -100.0);
}

TEST(Survey, ImmediateEscalationReasons) {
    const int64_t t0 = T("2024-06-17T10:00:00Z");
    auto created = [&](const std::string& body) {
        CaseEvents b("c1");
        b.add(t0, ev::kCaseCreated, body);
        return b;
    };
    EXPECT_EQ(immediate_escalation_reason(created(R"({"kind":"feedback","category":"positive"})").fold()), "");
    EXPECT_NE(immediate_escalation_reason(created(R"({"kind":"feedback","urgent":true})").fold()), "");
    EXPECT_NE(immediate_escalation_reason(created(R"({"kind":"feedback","high_impact":true})").fold()), "");
    EXPECT_NE(immediate_escalation_reason(created(R"({"kind":"feedback","priority":"urgent"})").fold()), "");
    EXPECT_EQ(immediate_escalation_reason(created(R"({"kind":"feedback","priority":"high"})").fold()), "");

    // Complaint alone is not immediate; with a low score it is.
    EXPECT_EQ(immediate_escalation_reason(created(R"({"kind":"feedback","category":"complaint"})").fold()), "");
    EXPECT_NE(immediate_escalation_reason(created(R"({"kind":"feedback","category":"complaint"})").survey(t0 + 1, 2, -1).fold()), "");
    EXPECT_NE(immediate_escalation_reason(created(R"({"kind":"feedback","category":"negative"})").survey(t0 + 1, 0, 6).fold()), "");
    EXPECT_EQ(immediate_escalation_reason(created(R"({"kind":"feedback","category":"negative"})").survey(t0 + 1, 3, 7).fold()), "");
    // A low score on positive feedback is not a complaint.
    EXPECT_EQ(immediate_escalation_reason(created(R"({"kind":"feedback","category":"positive"})").survey(t0 + 1, 1, 0).fold()), "");
    // Urgent set later by a field edit.
    EXPECT_NE(immediate_escalation_reason(created(R"({"kind":"feedback"})")
                                              .add(t0 + 5, ev::kFieldSet, R"({"field":"urgent","value":true})")
                                              .fold()),
              "");
}

// ---------------------------------------------------------------- periods

TEST(Report, PeriodFromNameUsesUtcCalendarPeriods) {
    BusinessCalendar cal;
    ReportQuery w = PeriodFromName::make("week", T("2024-06-19T15:00:00Z"), cal);  // Wednesday
    EXPECT_EQ(w.from, T("2024-06-17"));
    EXPECT_EQ(w.to, T("2024-06-24"));
    w = PeriodFromName::make("week", T("2024-06-23T23:59:59Z"), cal);  // Sunday belongs to the week before
    EXPECT_EQ(w.from, T("2024-06-17"));
    w = PeriodFromName::make("week", T("2024-06-24T00:00:00Z"), cal);  // Monday starts a new one
    EXPECT_EQ(w.from, T("2024-06-24"));
    w = PeriodFromName::make("week", T("2025-01-01T12:00:00Z"), cal);  // across the year end
    EXPECT_EQ(w.from, T("2024-12-30"));
    EXPECT_EQ(w.to, T("2025-01-06"));

    ReportQuery m = PeriodFromName::make("month", T("2024-02-29T23:00:00Z"), cal);
    EXPECT_EQ(m.from, T("2024-02-01"));
    EXPECT_EQ(m.to, T("2024-03-01"));
    m = PeriodFromName::make("month", T("2024-12-31T23:59:59Z"), cal);
    EXPECT_EQ(m.from, T("2024-12-01"));
    EXPECT_EQ(m.to, T("2025-01-01"));

    ReportQuery qt = PeriodFromName::make("quarter", T("2024-12-31T10:00:00Z"), cal);
    EXPECT_EQ(qt.from, T("2024-10-01"));
    EXPECT_EQ(qt.to, T("2025-01-01"));
    qt = PeriodFromName::make("quarter", T("2024-04-01"), cal);
    EXPECT_EQ(qt.from, T("2024-04-01"));
    EXPECT_EQ(qt.to, T("2024-07-01"));
    qt = PeriodFromName::make("quarter", T("2024-03-31T23:59:59Z"), cal);
    EXPECT_EQ(qt.from, T("2024-01-01"));

    ReportQuery bad = PeriodFromName::make("fortnight", T("2024-06-19"), cal);
    EXPECT_EQ(bad.from, 0);
    EXPECT_EQ(bad.to, 0);
}

// ---------------------------------------------------------------- totals and filters

TEST(Report, TotalsCountCasesCreatedInPeriodWithBoundaries) {
    std::vector<CaseState> cases = {
        feedback("a", kJune).fold(),                                  // exactly at from: in
        feedback("b", T("2024-06-10T10:00:00Z"), "complaint", "phone").fold(),
        feedback("c", kJuly - 1).add(kJuly + 1000, ev::kResolved, R"({"resolution":"ok"})").fold(),  // last ms: in
        feedback("d", kJuly).fold(),                                  // exactly at to: out
        feedback("e", kJune - 1).fold(),                              // before: out
    };
    Report r = run(cases, june());
    EXPECT_EQ(r.total, 3);
    EXPECT_EQ(r.resolved, 1);
    EXPECT_EQ(r.opened, 2);
    EXPECT_EQ(r.by_status["new"], 2);
    EXPECT_EQ(r.by_status["resolved"], 1);
    EXPECT_EQ(r.by_category["suggestion"], 2);
    EXPECT_EQ(r.by_category["complaint"], 1);
    EXPECT_EQ(r.by_channel["email"], 2);
    EXPECT_EQ(r.by_channel["phone"], 1);
    EXPECT_EQ(r.by_kind["feedback"], 3);
    EXPECT_EQ(r.generated_at, kNow);
}

TEST(Report, FiltersByTeamCategoryAndChannel) {
    const int64_t t = T("2024-06-12T10:00:00Z");
    std::vector<CaseState> cases = {
        feedback("a", t, "complaint", "email", "north").survey(t + 1000, 1, 0).fold(),
        feedback("b", t, "positive", "phone", "north").survey(t + 1000, 5, 10).fold(),
        feedback("c", t, "complaint", "phone", "south").survey(t + 1000, 5, 10).fold(),
    };
    ReportQuery q = june();
    q.team = "north";
    Report r = run(cases, q);
    EXPECT_EQ(r.total, 2);
    EXPECT_EQ(r.surveys.nps_responses, 2);

    q = june();
    q.category = "complaint";
    r = run(cases, q);
    EXPECT_EQ(r.total, 2);
    EXPECT_EQ(r.by_category.size(), 1u);

    q = june();
    q.channel = "phone";
    r = run(cases, q);
    EXPECT_EQ(r.total, 2);
    EXPECT_EQ(r.surveys.promoters, 2);
    EXPECT_DOUBLE_EQ(r.surveys.nps, 100.0);

    q.team = "south";
    q.category = "complaint";
    r = run(cases, q);
    EXPECT_EQ(r.total, 1);

    q.team = "west";
    r = run(cases, q);
    EXPECT_EQ(r.total, 0);
    EXPECT_DOUBLE_EQ(r.escalation_rate, 0);
    EXPECT_EQ(r.surveys.nps_responses, 0);
}

TEST(Report, EmptyInputGivesZeros) {
    Report r = run({}, june());
    EXPECT_EQ(r.total, 0);
    EXPECT_EQ(r.response_hours.count, 0);
    EXPECT_DOUBLE_EQ(r.response_hours.p90, 0);
    EXPECT_TRUE(r.sla.empty());
    EXPECT_TRUE(r.themes.empty());
    EXPECT_TRUE(r.overdue.empty());
    EXPECT_DOUBLE_EQ(r.escalation_rate, 0);
    EXPECT_EQ(r.trend.size(), 5u);  // weeks of 27 May, 3, 10, 17, 24 June
    for (auto& p : r.trend) EXPECT_EQ(p.responses, 0);
    EXPECT_FALSE(report_to_json(r).empty());
    EXPECT_FALSE(report_to_csv(r).empty());
}

TEST(Report, SurveysCountByTheirOwnTimeWithPreviousPeriod) {
    // Previous period of June (30 days) is [2 May, 1 June).
    const int64_t prev_from = kJune - (kJuly - kJune);
    std::vector<CaseState> cases = {
        feedback("old", T("2024-04-20"))
            .survey(prev_from - 1, 5, 10)   // before previous: ignored
            .survey(prev_from, 1, 0)        // previous period
            .survey(kJune - 1, 2, 3)        // previous period
            .survey(kJune, 5, 9)            // current (at from)
            .fold(),
        feedback("new", T("2024-06-05")).survey(T("2024-06-20"), 4, 8).survey(kJuly, 5, 10).fold(),  // at to: out
    };
    Report r = run(cases, june());
    EXPECT_EQ(r.total, 1);
    EXPECT_EQ(r.surveys.nps_responses, 2);
    EXPECT_EQ(r.surveys.promoters, 1);
    EXPECT_EQ(r.surveys.passives, 1);
    EXPECT_DOUBLE_EQ(r.surveys.nps, 50.0);
    EXPECT_DOUBLE_EQ(r.surveys.csat_percent, 100.0);
    EXPECT_DOUBLE_EQ(r.surveys.csat_mean, 4.5);
    EXPECT_EQ(r.previous_surveys.nps_responses, 2);
    EXPECT_DOUBLE_EQ(r.previous_surveys.nps, -100.0);
    EXPECT_DOUBLE_EQ(r.previous_surveys.csat_percent, 0.0);
}

// ---------------------------------------------------------------- times

TEST(Report, ResponseAndResolutionPercentilesNearestRank) {
    std::vector<CaseState> cases;
    const int64_t base = T("2024-06-03T08:00:00Z");
    for (int i = 1; i <= 10; ++i) {
        const std::string id = "r" + std::to_string(i);
        const int64_t created = base + (i - 1) * kDayMs;
        CaseEvents b = feedback(id, created);
        b.add(created + i * kHourMs, ev::kContactLogged, R"({"step":"acknowledged","channel":"email"})");
        b.add(created + (i + 5) * kHourMs, ev::kContactLogged, R"({"step":"responded","channel":"email"})");
        b.add(created + 10 * i * kHourMs, ev::kResolved, R"({"resolution":"done"})");
        cases.push_back(b.fold());
    }
    // Responded before acknowledged: the first of both counts.
    CaseEvents x = feedback("x", base);
    x.add(base + 30 * kMinuteMs, ev::kContactLogged, R"({"step":"responded"})");
    x.add(base + 2 * kHourMs, ev::kContactLogged, R"({"step":"acknowledged"})");
    // No contact: resolution time stands in for the response.
    CaseEvents y = feedback("y", base);
    y.add(base + 100 * kHourMs, ev::kResolved, R"({"resolution":"done"})");
    // A thank-you is not a response; unresolved without response: no sample.
    CaseEvents z = feedback("z", base);
    z.add(base + kHourMs, ev::kContactLogged, R"({"step":"thank_you"})");

    Report r = run(cases, june());
    EXPECT_EQ(r.response_hours.count, 10);
    EXPECT_DOUBLE_EQ(r.response_hours.p50, 5);
    EXPECT_DOUBLE_EQ(r.response_hours.p90, 9);
    EXPECT_DOUBLE_EQ(r.response_hours.p99, 10);
    EXPECT_EQ(r.resolution_hours.count, 10);
    EXPECT_DOUBLE_EQ(r.resolution_hours.p50, 50);
    EXPECT_DOUBLE_EQ(r.resolution_hours.p90, 90);
    EXPECT_DOUBLE_EQ(r.resolution_hours.p99, 100);

    Report r2 = run({x.fold(), y.fold(), z.fold()}, june());
    EXPECT_EQ(r2.response_hours.count, 2);
    EXPECT_DOUBLE_EQ(r2.response_hours.p50, 0.5);
    EXPECT_DOUBLE_EQ(r2.response_hours.p99, 100);
    EXPECT_EQ(r2.resolution_hours.count, 1);

    // One sample: every percentile is that sample.
    Report r3 = run({y.fold()}, june());
    EXPECT_DOUBLE_EQ(r3.resolution_hours.p50, 100);
    EXPECT_DOUBLE_EQ(r3.resolution_hours.p90, 100);
}

// ---------------------------------------------------------------- SLA, overdue, escalations

TEST(Report, SlaComplianceMatchesTheEngineAndListsOverdue) {
    // A complaint received in June that nobody acknowledged: overdue by mid-July.
    CaseState ignored = feedback("ignored", T("2024-06-10T10:00:00Z"), "complaint").fold();
    // A suggestion acknowledged and answered at once, resolved, satisfaction confirmed.
    CaseState handled = feedback("handled", T("2024-06-11T10:00:00Z"))
                            .add(T("2024-06-11T10:30:00Z"), ev::kContactLogged, R"({"step":"acknowledged"})")
                            .add(T("2024-06-11T11:00:00Z"), ev::kContactLogged, R"({"step":"responded"})")
                            .add(T("2024-06-11T12:00:00Z"), ev::kResolved, R"({"resolution":"Answered"})")
                            .add(T("2024-06-12T12:00:00Z"), ev::kFollowUpDone, R"({"satisfied":true,"channel":"email"})")
                            .fold();
    std::vector<CaseState> cases = {ignored, handled};
    Report r = run(cases, june());

    // Recompute from the engine: the report must agree step by step.
    std::map<std::string, StepCompliance> expect;
    bool ignored_overdue = false;
    for (const auto& c : cases) {
        SlaReport s = evaluate_sla(c, SlaPolicy{}, BusinessCalendar{}, kNow);
        for (const auto& st : s.steps) {
            if (st.state == StepState::NotApplicable) continue;
            auto& e = expect[st.step];
            if (st.state == StepState::Done) e.met++;
            else if (st.state == StepState::DoneLate || st.state == StepState::Overdue) e.missed++;
            else e.open++;
            if (c.id == "ignored" && st.state == StepState::Overdue) ignored_overdue = true;
        }
    }
    ASSERT_EQ(r.sla.size(), expect.size());
    for (const auto& sc : r.sla) {
        ASSERT_TRUE(expect.count(sc.step)) << sc.step;
        EXPECT_EQ(sc.met, expect[sc.step].met) << sc.step;
        EXPECT_EQ(sc.missed, expect[sc.step].missed) << sc.step;
        EXPECT_EQ(sc.open, expect[sc.step].open) << sc.step;
        const int decided = sc.met + sc.missed;
        EXPECT_DOUBLE_EQ(sc.percent, decided ? 100.0 * sc.met / decided : 0.0) << sc.step;
    }
    EXPECT_TRUE(ignored_overdue) << "an unacknowledged complaint five weeks old should be overdue";
    ASSERT_EQ(r.overdue.size(), ignored_overdue ? 1u : 0u);
    if (!r.overdue.empty()) {
        EXPECT_EQ(r.overdue[0].id, "ignored");
        EXPECT_GT(r.overdue[0].due, 0);
        EXPECT_NE(r.overdue[0].reason.find("overdue"), std::string::npos);
    }
    // The acknowledge step of the handled case is met.
    const StepCompliance* ack = nullptr;
    for (const auto& sc : r.sla)
        if (sc.step == "acknowledge") ack = &sc;
    ASSERT_NE(ack, nullptr);
    EXPECT_GE(ack->met, 1);
}

TEST(Report, EscalationsRecordedInPeriodAreListed) {
    const int64_t t = T("2024-06-12T10:00:00Z");
    std::vector<CaseState> cases = {
        // Created in May, escalated in June: listed, not part of the rate's cohort.
        feedback("may", T("2024-05-20T10:00:00Z"))
            .add(t, ev::kEscalated, R"({"reason":"Client threatened to leave","to":"manager"})")
            .fold(),
        // June case escalated in June.
        feedback("june", t, "complaint")
            .add(t + kHourMs, ev::kEscalated, R"({"reason":"Complaint","to":"manager"})")
            .add(t + 2 * kHourMs, ev::kContactLogged, R"({"step":"acknowledged"})")
            .add(t + 3 * kHourMs, ev::kContactLogged, R"({"step":"responded"})")
            .add(t + 4 * kHourMs, ev::kResolved, R"({"resolution":"Apologised"})")
            .fold(),
        // June case escalated in July: not escalated within June (unless the engine says it needs it).
        feedback("later", t, "positive")
            .add(t + kHourMs, ev::kContactLogged, R"({"step":"acknowledged"})")
            .add(t + 2 * kHourMs, ev::kContactLogged, R"({"step":"responded"})")
            .add(t + 3 * kHourMs, ev::kResolved, R"({"resolution":"Thanked"})")
            .add(T("2024-07-02"), ev::kEscalated, R"({"reason":"late","to":"manager"})")
            .fold(),
    };
    Report r = run(cases, june());
    EXPECT_EQ(r.total, 2);
    std::set<std::string> ids;
    for (auto& l : r.escalated) ids.insert(l.id);
    EXPECT_TRUE(ids.count("may"));
    EXPECT_TRUE(ids.count("june"));
    EXPECT_FALSE(ids.count("later"));
    EXPECT_EQ(r.escalation_count, static_cast<int>(r.escalated.size()));
    EXPECT_DOUBLE_EQ(r.escalation_rate, 50.0);  // 1 of the 2 June cases
    for (auto& l : r.escalated)
        if (l.id == "may") {
            EXPECT_EQ(l.reason, "Client threatened to leave");
        }
}

// ---------------------------------------------------------------- themes

TEST(Report, ThemeTermsDropStopwordsShortWordsAndPunctuation) {
    EXPECT_EQ(theme_terms("The DELIVERY was late, and the driver wasn't polite!"),
              (std::vector<std::string>{"delivery", "late", "driver", "polite"}));
    EXPECT_EQ(theme_terms("It's ok; we're OK... go to it"), std::vector<std::string>{});
    EXPECT_EQ(theme_terms("billing/invoice: 2x invoice-errors"),
              (std::vector<std::string>{"billing", "invoice", "invoice", "errors"}));
    EXPECT_TRUE(theme_terms("").empty());
}

TEST(Report, ThemesCountCommentsSuggestionsNotesAndTagsWithPreviousPeriod) {
    const int64_t may = T("2024-05-20T10:00:00Z");
    const int64_t jun = T("2024-06-12T10:00:00Z");
    std::vector<CaseState> cases = {
        feedback("a", may)
            .add(may + 1, ev::kSurveyRecorded, R"({"csat":2,"comment":"Delivery was late","tags":["delivery"]})")
            .add(jun, ev::kSurveyRecorded,
                 R"({"csat":2,"comment":"The delivery was LATE again!","suggestion":"Call before delivery","tags":["Delivery","Billing"]})")
            .add(jun + 1, ev::kNoteAdded, R"({"text":"Driver was late; billing error too"})")
            .fold(),
        feedback("b", jun)
            .add(jun + 5, ev::kSurveyRecorded, R"({"nps":9,"comment":"Friendly driver and quick billing"})")
            .add(kJuly, ev::kSurveyRecorded, R"({"nps":9,"comment":"zebra zebra zebra zebra zebra"})")  // at `to`
            .fold(),
    };
    Report r = run(cases, june());
    std::map<std::string, Theme> by;
    for (auto& t : r.themes) by[t.term] = t;
    ASSERT_FALSE(r.themes.empty());
    // billing: tag, note, comment = 3 (none before); delivery: comment, suggestion, tag = 3
    // (previous: comment + tag = 2). Ties sort alphabetically.
    ASSERT_GE(r.themes.size(), 2u);
    EXPECT_EQ(r.themes[0].term, "billing");
    EXPECT_EQ(r.themes[1].term, "delivery");
    EXPECT_EQ(r.themes[1].count, 3);
    EXPECT_EQ(r.themes[1].previous_count, 2);
    EXPECT_EQ(by["billing"].count, 3);
    EXPECT_EQ(by["billing"].previous_count, 0);
    EXPECT_EQ(by["late"].count, 2);         // comment, note
    EXPECT_EQ(by["late"].previous_count, 1);
    EXPECT_EQ(by["driver"].count, 2);
    EXPECT_FALSE(by.count("the"));
    EXPECT_FALSE(by.count("was"));
    EXPECT_FALSE(by.count("and"));
    EXPECT_FALSE(by.count("zebra"));        // recorded exactly at `to`
    // Sorted by count, then alphabetically.
    for (size_t i = 1; i < r.themes.size(); ++i) {
        const Theme& a = r.themes[i - 1];
        const Theme& b = r.themes[i];
        EXPECT_TRUE(a.count > b.count || (a.count == b.count && a.term < b.term)) << a.term << " " << b.term;
    }
}

TEST(Report, ThemesKeepTopTen) {
    std::string comment;
    for (int i = 0; i < 15; ++i) comment += "word" + std::string(1, static_cast<char>('a' + i)) + " ";
    const int64_t jun = T("2024-06-12T10:00:00Z");
    CaseState c = feedback("a", jun)
                      .add(jun + 1, ev::kSurveyRecorded, "{\"comment\":" + json::quote(comment) + "}")
                      .add(jun + 2, ev::kSurveyRecorded, R"({"comment":"wordo wordo wordn"})")
                      .fold();
    Report r = run({c}, june());
    ASSERT_EQ(r.themes.size(), 10u);
    EXPECT_EQ(r.themes[0].term, "wordo");
    EXPECT_EQ(r.themes[0].count, 3);
    EXPECT_EQ(r.themes[1].term, "wordn");
    EXPECT_EQ(r.themes[2].term, "worda");
    EXPECT_EQ(r.themes[9].term, "wordh");
}

// ---------------------------------------------------------------- improvement plan and trend

TEST(Report, ImprovementPlanListsActionsWithOwnersAndDeadlines) {
    const int64_t t = T("2024-06-05T09:00:00Z");
    std::vector<CaseState> cases = {
        CaseEvents("imp1")
            .add(t, ev::kCaseCreated,
                 R"({"kind":"improvement","title":"Call before delivery","description":"Drivers phone ahead","assignee":"bob","due_at":)" +
                     std::to_string(T("2024-07-31")) + "}")
            .add(t + 1, ev::kImprovementLinked, R"({"case":"c-1"})")
            .add(t + 2, ev::kImprovementLinked, R"({"case":"c-2"})")
            .fold(),
        CaseEvents("imp2")
            .add(t, ev::kCaseCreated, R"({"kind":"improvement","title":"Fix invoices","assignee":"carol","due_at":)" +
                                          std::to_string(T("2024-06-20")) + "}")
            .add(t + kDayMs, ev::kResolved, R"({"resolution":"Template fixed"})")
            .fold(),
        // Finished before the period: not in the plan.
        CaseEvents("imp3")
            .add(T("2024-04-01"), ev::kCaseCreated, R"({"kind":"improvement","title":"Old"})")
            .add(T("2024-04-02"), ev::kResolved, R"({"resolution":"done"})")
            .add(T("2024-04-03"), ev::kStatusChanged, R"({"to":"closed","from":"resolved"})")
            .fold(),
        // Other team.
        CaseEvents("imp4", "south").add(t, ev::kCaseCreated, R"({"kind":"improvement","title":"South"})").fold(),
    };
    ReportQuery q = june();
    q.team = "north";
    Report r = run(cases, q);
    ASSERT_EQ(r.improvement_plan.size(), 2u);
    const CaseLine& first = r.improvement_plan[0];  // earliest deadline first
    EXPECT_EQ(first.id, "imp2");
    EXPECT_EQ(first.assignee, "carol");
    EXPECT_EQ(first.status, "resolved");
    EXPECT_EQ(first.due, T("2024-06-20"));
    const CaseLine& second = r.improvement_plan[1];
    EXPECT_EQ(second.id, "imp1");
    EXPECT_EQ(second.description, "Call before delivery: Drivers phone ahead");
    EXPECT_EQ(second.assignee, "bob");
    EXPECT_EQ(second.links, (std::vector<std::string>{"c-1", "c-2"}));
    EXPECT_EQ(r.by_kind["improvement"], 2);
    EXPECT_EQ(r.response_hours.count, 0);  // improvement actions have no client response time
}

TEST(Report, WeeklyTrendWithNpsAndCsat) {
    std::vector<CaseState> cases = {
        feedback("a", T("2024-06-03T09:00:00Z"))
            .survey(T("2024-06-04T09:00:00Z"), 5, 10)
            .survey(T("2024-06-05T09:00:00Z"), 2, 3)
            .survey(T("2024-06-18T09:00:00Z"), 4, 9)
            .survey(T("2024-05-31T09:00:00Z"), 1, 0)  // in the first week, but before the period
            .fold(),
    };
    Report r = run(cases, june());
    ASSERT_EQ(r.trend.size(), 5u);
    EXPECT_EQ(r.trend[0].label, "2024-05-27");
    EXPECT_EQ(r.trend[0].responses, 0);
    EXPECT_EQ(r.trend[1].label, "2024-06-03");
    EXPECT_EQ(r.trend[1].responses, 2);
    EXPECT_DOUBLE_EQ(r.trend[1].nps, 0.0);
    EXPECT_DOUBLE_EQ(r.trend[1].csat, 50.0);
    EXPECT_EQ(r.trend[2].responses, 0);
    EXPECT_EQ(r.trend[3].label, "2024-06-17");
    EXPECT_DOUBLE_EQ(r.trend[3].nps, 100.0);
    EXPECT_DOUBLE_EQ(r.trend[3].csat, 100.0);
    EXPECT_EQ(r.trend[4].label, "2024-06-24");

    // A very long period keeps the most recent 530 weeks.
    ReportQuery all;
    all.from = 0;
    all.to = kJuly;
    Report longest = run(cases, all);
    ASSERT_EQ(longest.trend.size(), 530u);
    EXPECT_EQ(longest.trend.back().label, "2024-06-24");
    int responses = 0;
    for (auto& p : longest.trend) responses += p.responses;
    EXPECT_EQ(responses, 4);

    ReportQuery wk = PeriodFromName::make("week", T("2024-06-19"), BusinessCalendar{});
    Report w = run(cases, wk);
    ASSERT_EQ(w.trend.size(), 1u);
    EXPECT_EQ(w.trend[0].label, "2024-06-17");
    EXPECT_EQ(w.trend[0].responses, 1);
}

// ---------------------------------------------------------------- JSON and CSV

TEST(Report, JsonHasAllFieldsInStableOrder) {
    const int64_t t = T("2024-06-12T10:00:00Z");
    std::vector<CaseState> cases = {
        feedback("a", t, "complaint").survey(t + 1, 5, 10, "Great \"service\"").fold(),
        feedback("b", t + 1).fold(),
    };
    ReportQuery q = june();
    q.team = "north";
    Report r = run(cases, q);
    const std::string text = report_to_json(r);
    EXPECT_EQ(text, report_to_json(run(cases, q)));  // deterministic
    auto doc = json::parse(text);
    ASSERT_TRUE(doc.ok()) << doc.error().message;
    const json::Value& v = doc->root();
    const char* keys[] = {"query", "generated_at", "total", "opened", "resolved", "by_status", "by_category",
                          "by_channel", "by_kind", "surveys", "previous_surveys", "response_hours",
                          "resolution_hours", "sla", "overdue", "escalated", "escalation_count", "escalation_rate",
                          "themes", "improvement_plan", "trend"};
    size_t i = 0;
    for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it, ++i) {
        ASSERT_LT(i, std::size(keys));
        EXPECT_STREQ(it->name.GetString(), keys[i]);
    }
    EXPECT_EQ(i, std::size(keys));
    int64_t total = 0;
    EXPECT_TRUE(json::get(v, "total", total));
    EXPECT_EQ(total, 2);
    std::string team;
    EXPECT_TRUE(json::get(*json::member(v, "query"), "team", team));
    EXPECT_EQ(team, "north");
    double nps = 0;
    EXPECT_TRUE(json::get(*json::member(v, "surveys"), "nps", nps));
    EXPECT_DOUBLE_EQ(nps, 100.0);
    int complaints = 0;
    EXPECT_TRUE(json::get(*json::member(v, "by_category"), "complaint", complaints));
    EXPECT_EQ(complaints, 1);
    EXPECT_TRUE(json::member(v, "trend")->IsArray());
    EXPECT_EQ(json::member(v, "trend")->Size(), 5u);
}

TEST(Report, CsvEscapeQuotesAndBlocksFormulaInjection) {
    EXPECT_EQ(csv_escape("plain"), "plain");
    EXPECT_EQ(csv_escape(""), "");
    EXPECT_EQ(csv_escape("a,b"), "\"a,b\"");
    EXPECT_EQ(csv_escape("say \"hi\""), "\"say \"\"hi\"\"\"");
    EXPECT_EQ(csv_escape("line1\nline2"), "\"line1\nline2\"");
    EXPECT_EQ(csv_escape("cr\r\nlf"), "\"cr\r\nlf\"");
    EXPECT_EQ(csv_escape("=SUM(A1:A9)"), "'=SUM(A1:A9)");
    EXPECT_EQ(csv_escape("+1 555"), "'+1 555");
    EXPECT_EQ(csv_escape("-2+3"), "'-2+3");
    EXPECT_EQ(csv_escape("@cmd"), "'@cmd");
    EXPECT_EQ(csv_escape("=HYPERLINK(\"http://x\",\"a\")"), "\"'=HYPERLINK(\"\"http://x\"\",\"\"a\"\")\"");
    EXPECT_EQ(csv_escape("a=b"), "a=b");  // only a leading sign is dangerous
    EXPECT_EQ(csv_escape("Café, naïve"), "\"Café, naïve\"");
}

TEST(Report, CsvHasSectionsWithHeaderRows) {
    const int64_t t = T("2024-06-12T10:00:00Z");
    CaseState evil = CaseEvents("evil")
                         .add(t, ev::kCaseCreated,
                              R"({"kind":"feedback","category":"complaint","description":"=cmd|' /C calc'!A0","client":{"name":"@Mallory, Inc","channel":"email"}})")
                         .add(t + 1, ev::kEscalated, R"({"reason":"Angry, \"very\"","to":"manager"})")
                         .add(t + 2, ev::kSurveyRecorded, R"({"csat":1,"comment":"terrible service"})")
                         .fold();
    Report r = run({evil}, june());
    const std::string csv = report_to_csv(r);
    for (const char* s : {"Summary\r\nMetric,Value\r\n", "\r\n\r\nSurveys\r\nPeriod,CSAT responses,",
                          "\r\n\r\nBy status\r\nStatus,Count\r\nnew,1\r\n", "\r\n\r\nBy category\r\nCategory,Count\r\ncomplaint,1\r\n",
                          "\r\n\r\nBy channel\r\nChannel,Count\r\n", "\r\n\r\nBy kind\r\nKind,Count\r\n",
                          "\r\n\r\nSLA compliance\r\nStep,Met,Missed,Open,Percent\r\n",
                          "\r\n\r\nThemes\r\nTerm,Count,Previous count\r\n", "\r\n\r\nTrend\r\nWeek,Responses,NPS,CSAT %\r\n",
                          "\r\n\r\nOverdue\r\nID,Date,", "\r\n\r\nEscalated\r\nID,Date,",
                          "\r\n\r\nImprovement plan\r\nID,Action,Owner,Deadline,Status,Linked cases\r\n",
                          "Total cases,1\r\n", "terrible,1,0\r\n"})
        EXPECT_NE(csv.find(s), std::string::npos) << s;
    // Figures with nothing behind them are empty cells (the screen shows a dash), not 0.
    for (const char* s : {"Response hours p50,\r\n", "Resolution hours p99,\r\n", "current,1,0,0.0,1.0,0,0,0,0,\r\n",
                          "previous,0,0,,,0,0,0,0,\r\n"})
        EXPECT_NE(csv.find(s), std::string::npos) << s;
    // User text is escaped: quoted where needed, formula prefixes neutralised.
    EXPECT_NE(csv.find(",\"'@Mallory, Inc\","), std::string::npos);
    EXPECT_NE(csv.find(",'=cmd|' /C calc'!A0,"), std::string::npos);
    EXPECT_NE(csv.find("\"Angry, \"\"very\"\"\""), std::string::npos);
    EXPECT_EQ(csv.find(",=cmd"), std::string::npos);
    EXPECT_EQ(csv.find(",@Mallory"), std::string::npos);
}

TEST(Report, DocumentationLogMatchesSopExampleColumns) {
    // The SOP's example table (seed 004): FF-2024-015 Client A ... Completed / John Smith.
    CaseState a = CaseEvents("c-d1-15")
                      .add(T("2024-06-17T09:12:00Z"), ev::kCaseCreated,
                           R"({"kind":"follow_up","description":"Requested clarification on delivery dates.","assignee":"John Smith","client":{"name":"Client A","channel":"email"}})")
                      .add(T("2024-06-17T09:13:00Z"), ev::kRefAssigned, R"({"ref":"FF-2024-015"})")
                      .add(T("2024-06-17T15:00:00Z"), ev::kResolved,
                           R"({"resolution":"Provided updated schedule and confirmation email."})")
                      .add(T("2024-06-18T09:00:00Z"), ev::kStatusChanged, R"({"to":"closed","from":"resolved"})")
                      .fold();
    CaseState b = CaseEvents("c-d1-16")
                      .add(T("2024-06-18T10:00:00Z"), ev::kCaseCreated,
                           R"({"kind":"feedback","description":"Reported recurring software issue.","assignee":"IT Support","client":{"name":"Team Member B"}})")
                      .add(T("2024-06-18T10:01:00Z"), ev::kRefAssigned, R"({"ref":"FF-2024-016"})")
                      .add(T("2024-06-18T11:00:00Z"), ev::kStatusChanged, R"({"to":"in_progress","from":"new"})")
                      .add(T("2024-06-18T12:00:00Z"), ev::kNoteAdded, R"({"text":"Awaiting patch deployment."})")
                      .fold();
    CaseState c = CaseEvents("c-d1-17")
                      .add(T("2024-06-19T10:00:00Z"), ev::kCaseCreated,
                           R"({"kind":"feedback","description":"=1+1 \"quoted\"\nsecond line","client":{"name":"-Client C"}})")
                      .fold();
    CaseState d = CaseEvents("c-d1-18")
                      .add(T("2024-06-20T10:00:00Z"), ev::kCaseCreated, R"({"kind":"feedback","title":"Waiting"})")
                      .add(T("2024-06-20T11:00:00Z"), ev::kStatusChanged, R"({"to":"awaiting_client","from":"new"})")
                      .fold();
    CaseState e = CaseEvents("c-d1-19")
                      .add(T("2024-06-21T10:00:00Z"), ev::kCaseCreated, R"({"kind":"feedback","description":"Fixed"})")
                      .add(T("2024-06-21T11:00:00Z"), ev::kResolved, R"({"resolution":"Done"})")
                      .fold();

    const std::string log = documentation_log_csv({d, c, b, a, e});  // sorted by date in the output
    const std::string expected =
        "ID,Date,Stakeholder,Feedback/Follow-up,Status,Assigned to,Resolution/Comments\r\n"
        "FF-2024-015,2024-06-17,Client A,Requested clarification on delivery dates.,Completed,John Smith,"
        "Provided updated schedule and confirmation email.\r\n"
        "FF-2024-016,2024-06-18,Team Member B,Reported recurring software issue.,In Progress,IT Support,"
        "Awaiting patch deployment.\r\n"
        "c-d1-17,2024-06-19,'-Client C,\"'=1+1 \"\"quoted\"\"\nsecond line\",Pending,,\r\n"
        "c-d1-18,2024-06-20,,Waiting,Awaiting Client,,\r\n"
        "c-d1-19,2024-06-21,,Fixed,Resolved,,Done\r\n";
    EXPECT_EQ(log, expected);
    EXPECT_EQ(documentation_log_csv({}), "ID,Date,Stakeholder,Feedback/Follow-up,Status,Assigned to,Resolution/Comments\r\n");
    EXPECT_EQ(status_label("closed"), "Completed");
    EXPECT_EQ(status_label("new"), "Pending");
}

// A report only needs the cases touched since report_reads_since() and the improvement actions
// (the store hands it just those): on random stores and periods, the report from that subset is
// the report from every case.
TEST(Report, CasesUntouchedSinceThePreviousPeriodChangeNothing) {
    std::mt19937_64 rng(7);
    int smaller = 0, with_cohort = 0;
    auto pick = [&](int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo)); };
    const int64_t start = T("2023-01-01"), end = T("2025-01-01");
    const char* words[] = {"late delivery", "friendly driver", "billing error", "refund please", "great service"};
    for (int round = 0; round < 20; ++round) {
        SCOPED_TRACE("round " + std::to_string(round));
        std::vector<CaseState> all;
        for (int i = 0; i < 60; ++i) {
            const std::string id = "c" + std::to_string(i);
            int64_t t = pick(start, end);
            const bool improvement = i % 10 == 0;
            CaseEvents b(id, i % 3 ? "north" : "south");
            if (improvement)
                b.add(t, ev::kCaseCreated, R"({"kind":"improvement","title":"Action )" + id + R"(","assignee":"bob"})");
            else
                b = feedback(id, t, i % 2 ? "complaint" : "suggestion", "email", i % 3 ? "north" : "south");
            const int n = static_cast<int>(rng() % 8);
            for (int k = 0; k < n; ++k) {
                t += pick(kHourMs, 40 * kDayMs);
                switch (rng() % 6) {
                    case 0: b.survey(t, 1 + static_cast<int>(rng() % 5), static_cast<int>(rng() % 11), words[rng() % 5]); break;
                    case 1: b.add(t, ev::kNoteAdded, std::string(R"({"text":")") + words[rng() % 5] + "\"}"); break;
                    case 2: b.add(t, ev::kEscalated, R"({"reason":"unhappy","to":"manager"})"); break;
                    case 3: b.add(t, ev::kContactLogged, R"({"step":"acknowledged"})"); break;
                    case 4: b.add(t, ev::kResolved, R"({"resolution":"done"})"); break;
                    default: b.add(t, ev::kStatusChanged, R"({"to":"closed"})"); break;
                }
            }
            all.push_back(b.fold());
        }
        const char* periods[] = {"week", "month", "quarter"};
        ReportQuery q = PeriodFromName::make(periods[round % 3], pick(start, end), BusinessCalendar{});
        if (round % 4 == 1) q.team = "north";
        const int64_t since = report_reads_since(q);
        std::vector<CaseState> read;
        for (const auto& c : all)
            if (c.updated_at >= since || c.kind == "improvement") read.push_back(c);
        const int64_t now = end + kDayMs;
        const Report full = build_report(all, q, SlaPolicy{}, BusinessCalendar{}, now);
        EXPECT_EQ(report_to_json(build_report(read, q, SlaPolicy{}, BusinessCalendar{}, now)), report_to_json(full));
        smaller += read.size() < all.size();
        with_cohort += full.total > 0 && full.surveys.csat_responses > 0 && full.previous_surveys.csat_responses > 0;
    }
    // the comparisons mean something: cases were left out, and the reports were not empty
    EXPECT_GE(smaller, 10);
    EXPECT_GE(with_cohort, 5);
}
