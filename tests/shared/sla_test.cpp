// SLA engine tests: business calendars (weekends, holidays, DST in EU/US/UK rules, boundaries,
// large durations) and the SOP step evaluation for every case kind, pauses, escalation and JSON.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <string>

#include "core/json.h"
#include "domain/case.h"
#include "domain/sla.h"

using namespace cl;

namespace {

constexpr int64_t kMin = 60 * 1000;
constexpr int64_t kHour = 60 * kMin;

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {  // independent copy for the tests
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// UTC instant of a UTC wall time.
int64_t utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0) {
    return days_from_civil(y, mo, d) * 24 * kHour + h * kHour + mi * kMin;
}
// UTC instant of a local wall time with a known offset (minutes east of UTC).
int64_t local(int offset_min, int y, unsigned mo, unsigned d, int h, int mi = 0) {
    return utc(y, mo, d, h, mi) - offset_min * kMin;
}

BusinessCalendar cal_utc() { return BusinessCalendar{}; }
BusinessCalendar cal_tz(const std::string& tz) {
    BusinessCalendar c;
    c.tz = tz;
    return c;
}
const char* kCet = "CET-1CEST,M3.5.0,M10.5.0/3";
const char* kUs = "EST5EDT,M3.2.0,M11.1.0";
const char* kUk = "GMT0BST,M3.5.0/1,M10.5.0";

bool small_scale() {
    const char* s = std::getenv("CLOSELOOP_TEST_SCALE");
    return s && std::string(s) == "small";
}

CaseState make_case(const std::string& kind, int64_t created) {
    CaseState c;
    c.id = "c1";
    c.kind = kind;
    c.created_at = created;
    c.status = "new";
    c.status_history.push_back(StatusSpan{"new", created, 0});
    return c;
}

void set_status(CaseState& c, const std::string& to, int64_t at) {
    if (!c.status_history.empty() && c.status_history.back().to == 0) c.status_history.back().to = at;
    c.status_history.push_back(StatusSpan{to, at, 0});
    c.status = to;
    if (to == "resolved" && c.resolved_at == 0) c.resolved_at = at;
    if (to == "closed") c.closed_at = at;
    if (to == "in_progress" || to == "awaiting_client") c.resolved_at = c.closed_at = 0;
}

void contact(CaseState& c, const std::string& step, int64_t at) {
    ContactLog l;
    l.step = step;
    l.at = at;
    c.contacts.push_back(l);
}

const StepStatus& step(const SlaReport& r, const std::string& name) {
    static StepStatus missing;
    const StepStatus* s = r.find(name);
    EXPECT_NE(s, nullptr) << "no step " << name;
    return s ? *s : missing;
}

// Mon 2024-01-08 is a Monday; Fri 2024-01-05 a Friday.
const int64_t kMon = utc(2024, 1, 8, 9);  // Monday 09:00 UTC

}  // namespace

// ---- time zones ---------------------------------------------------------------------------------

TEST(CalendarTz, FixedOffsets) {
    EXPECT_EQ(cal_tz("UTC0").utc_offset_minutes(kMon), 0);
    EXPECT_EQ(cal_tz("IST-5:30").utc_offset_minutes(kMon), 330);
    EXPECT_EQ(cal_tz("<+03>-3").utc_offset_minutes(kMon), 180);
    EXPECT_EQ(cal_tz("<-0330>3:30").utc_offset_minutes(kMon), -210);
}

TEST(CalendarTz, CetTransitions2024) {
    auto c = cal_tz(kCet);
    EXPECT_EQ(c.utc_offset_minutes(utc(2024, 1, 15, 12)), 60);
    EXPECT_EQ(c.utc_offset_minutes(utc(2024, 7, 15, 12)), 120);
    // Spring forward: Sunday 31 March 2024 at 01:00 UTC (02:00 CET -> 03:00 CEST).
    EXPECT_EQ(c.utc_offset_minutes(utc(2024, 3, 31, 1) - 1), 60);
    EXPECT_EQ(c.utc_offset_minutes(utc(2024, 3, 31, 1)), 120);
    // Fall back: Sunday 27 October 2024 at 01:00 UTC (03:00 CEST -> 02:00 CET).
    EXPECT_EQ(c.utc_offset_minutes(utc(2024, 10, 27, 1) - 1), 120);
    EXPECT_EQ(c.utc_offset_minutes(utc(2024, 10, 27, 1)), 60);
    // Another year: 2025-03-30 and 2025-10-26.
    EXPECT_EQ(c.utc_offset_minutes(utc(2025, 3, 30, 1) - 1), 60);
    EXPECT_EQ(c.utc_offset_minutes(utc(2025, 3, 30, 1)), 120);
    EXPECT_EQ(c.utc_offset_minutes(utc(2025, 10, 26, 1)), 60);
}

TEST(CalendarTz, UsAndUkTransitions2024) {
    auto us = cal_tz(kUs);
    // Second Sunday of March (10th) at 02:00 EST = 07:00 UTC; first Sunday of November (3rd) at 02:00 EDT = 06:00 UTC.
    EXPECT_EQ(us.utc_offset_minutes(utc(2024, 3, 10, 7) - 1), -300);
    EXPECT_EQ(us.utc_offset_minutes(utc(2024, 3, 10, 7)), -240);
    EXPECT_EQ(us.utc_offset_minutes(utc(2024, 11, 3, 6) - 1), -240);
    EXPECT_EQ(us.utc_offset_minutes(utc(2024, 11, 3, 6)), -300);
    // "EST5EDT" without rules uses the same US defaults.
    EXPECT_EQ(cal_tz("EST5EDT").utc_offset_minutes(utc(2024, 3, 10, 7)), -240);
    auto uk = cal_tz(kUk);
    EXPECT_EQ(uk.utc_offset_minutes(utc(2024, 3, 31, 1) - 1), 0);
    EXPECT_EQ(uk.utc_offset_minutes(utc(2024, 3, 31, 1)), 60);
    EXPECT_EQ(uk.utc_offset_minutes(utc(2024, 10, 27, 1) - 1), 60);
    EXPECT_EQ(uk.utc_offset_minutes(utc(2024, 10, 27, 1)), 0);
}

TEST(CalendarTz, SouthernHemisphereAndJulianRules) {
    auto syd = cal_tz("AEST-10AEDT,M10.1.0,M4.1.0/3");
    EXPECT_EQ(syd.utc_offset_minutes(utc(2024, 1, 15)), 660);
    EXPECT_EQ(syd.utc_offset_minutes(utc(2024, 7, 15)), 600);
    EXPECT_EQ(syd.utc_offset_minutes(utc(2024, 12, 31, 23)), 660);
    // Jn: day 60 is always 1 March (Feb 29 not counted); n: zero-based with Feb 29 counted.
    auto j = cal_tz("AAA0BBB,J60/0,J300/0");
    EXPECT_EQ(j.utc_offset_minutes(utc(2024, 3, 1) - 1), 0);
    EXPECT_EQ(j.utc_offset_minutes(utc(2024, 3, 1)), 60);
    auto n = cal_tz("AAA0BBB,59/0,300/0");  // day 59 = 29 Feb in a leap year
    EXPECT_EQ(n.utc_offset_minutes(utc(2024, 2, 29) - 1), 0);
    EXPECT_EQ(n.utc_offset_minutes(utc(2024, 2, 29)), 60);
}

// ---- validation ---------------------------------------------------------------------------------

TEST(CalendarValidate, AcceptsGoodCalendars) {
    for (const char* tz : {"UTC0", kCet, kUs, kUk, "EST5EDT", "<+0530>-5:30", "AEST-10AEDT,M10.1.0,M4.1.0/3"}) {
        auto c = cal_tz(tz);
        c.holidays = {"2024-12-25", "2024-02-29"};
        EXPECT_TRUE(c.validate().ok()) << tz << ": " << c.validate().error().message;
    }
}

TEST(CalendarValidate, RejectsBadTimeZones) {
    for (const char* tz : {"", "UTC", "X0", "CET-1CEST,M13.1.0,M10.5.0", "CET-1CEST,M3.5.0", "CET-1CEST,M3.6.0,M10.5.0",
                           "CET-1CEST,M3.5.7,M10.5.0", "CET-1CEST,M3.5.0,M10.5.0/3junk", "CET-25", "Europe/Paris",
                           "CET-1CEST;M3.5.0,M10.5.0", "CET-1:60", "CET-1CEST,J0,J365"}) {
        Status s = cal_tz(tz).validate();
        ASSERT_FALSE(s.ok()) << "accepted tz '" << tz << "'";
        EXPECT_EQ(s.error().code, "bad_calendar");
        EXPECT_NE(s.error().message.find("time zone"), std::string::npos) << s.error().message;
    }
}

TEST(CalendarValidate, RejectsBadHoursDaysAndHolidays) {
    auto c = cal_utc();
    c.day_start_minute = 17 * 60;
    c.day_end_minute = 9 * 60;
    ASSERT_FALSE(c.validate().ok());
    EXPECT_NE(c.validate().error().message.find("start before it ends"), std::string::npos);
    c.day_end_minute = 17 * 60;  // equal
    EXPECT_FALSE(c.validate().ok());
    c = cal_utc();
    c.day_end_minute = 1441;
    EXPECT_FALSE(c.validate().ok());
    c = cal_utc();
    c.work_days_mask = 0;
    ASSERT_FALSE(c.validate().ok());
    EXPECT_NE(c.validate().error().message.find("work week is empty"), std::string::npos);
    c.work_days_mask = 0x80;
    EXPECT_FALSE(c.validate().ok());
    for (const char* h : {"2024-02-30", "2023-02-29", "2024/01/01", "24-01-01", "2024-1-01", "2024-13-01", "", "2024-01-0x"}) {
        c = cal_utc();
        c.holidays = {"2024-01-01", h};
        Status s = c.validate();
        ASSERT_FALSE(s.ok()) << "accepted holiday '" << h << "'";
        EXPECT_NE(s.error().message.find("YYYY-MM-DD"), std::string::npos);
    }
    c = cal_utc();
    c.day_start_minute = 0;
    c.day_end_minute = 1440;
    EXPECT_TRUE(c.validate().ok());
    // Bounded: every device receives the calendar, and an error must not echo kilobytes back.
    c = cal_utc();
    for (int y = 2000; c.holidays.size() < 1000; ++y)
        for (int d = 1; d <= 28 && c.holidays.size() < 1000; ++d) c.holidays.push_back(std::to_string(y) + "-01-" + (d < 10 ? "0" : "") + std::to_string(d));
    EXPECT_TRUE(c.validate().ok()) << c.validate().error().message;
    c.holidays.push_back("2100-01-01");
    ASSERT_FALSE(c.validate().ok());
    EXPECT_NE(c.validate().error().message.find("at most 1000 holidays"), std::string::npos);
    c = cal_utc();
    c.tz = std::string(5000, 'A');
    ASSERT_FALSE(c.validate().ok());
    EXPECT_LT(c.validate().error().message.size(), 200u);
    c = cal_utc();
    c.holidays = {std::string(5000, '9')};
    ASSERT_FALSE(c.validate().ok());
    EXPECT_LT(c.validate().error().message.size(), 200u);
}

// ---- business time ------------------------------------------------------------------------------

TEST(CalendarBusiness, FridayAfternoonPlusOneDayIsMondayAfternoon) {
    auto c = cal_utc();
    EXPECT_EQ(c.business_day_minutes(), 480);
    EXPECT_EQ(c.add_business_minutes(utc(2024, 1, 5, 16, 30), 480), utc(2024, 1, 8, 16, 30));
    // Same in Paris local time (CET, winter: UTC+1).
    auto p = cal_tz(kCet);
    EXPECT_EQ(p.add_business_minutes(local(60, 2024, 1, 5, 16, 30), 480), local(60, 2024, 1, 8, 16, 30));
    EXPECT_EQ(c.business_minutes_between(utc(2024, 1, 5, 16, 30), utc(2024, 1, 8, 16, 30)), 480);
}

TEST(CalendarBusiness, WeekendsAndWorkingDays) {
    auto c = cal_utc();
    EXPECT_TRUE(c.is_working_day(utc(2024, 1, 5, 12)));
    EXPECT_FALSE(c.is_working_day(utc(2024, 1, 6, 12)));
    EXPECT_FALSE(c.is_working_day(utc(2024, 1, 7, 12)));
    // 2 business days from Thursday 10:00 -> Monday 10:00.
    EXPECT_EQ(c.add_business_minutes(utc(2024, 1, 4, 10), 960), utc(2024, 1, 8, 10));
    // A Sunday-Thursday week (mask bits 0..4).
    c.work_days_mask = 0x1F;
    EXPECT_TRUE(c.is_working_day(utc(2024, 1, 7, 12)));
    EXPECT_FALSE(c.is_working_day(utc(2024, 1, 5, 12)));
    EXPECT_EQ(c.add_business_minutes(utc(2024, 1, 4, 16, 30), 480), utc(2024, 1, 7, 16, 30));
    // Local date decides: 23:30 UTC Friday is already Saturday in Paris.
    auto p = cal_tz(kCet);
    EXPECT_TRUE(cal_utc().is_working_day(utc(2024, 1, 5, 23, 30)));
    EXPECT_FALSE(p.is_working_day(utc(2024, 1, 5, 23, 30)));
}

TEST(CalendarBusiness, HolidaysAreSkipped) {
    auto c = cal_utc();
    c.holidays = {"2024-01-08"};  // the Monday
    EXPECT_FALSE(c.is_working_day(utc(2024, 1, 8, 12)));
    EXPECT_EQ(c.add_business_minutes(utc(2024, 1, 5, 16, 30), 480), utc(2024, 1, 9, 16, 30));
    c.holidays = {"2024-01-08", "2024-01-09"};
    EXPECT_EQ(c.add_business_minutes(utc(2024, 1, 5, 16, 30), 480), utc(2024, 1, 10, 16, 30));
    EXPECT_EQ(c.business_minutes_between(utc(2024, 1, 5, 9), utc(2024, 1, 10, 17)), 480 * 2);
    // Christmas week with holidays in Paris local dates.
    auto p = cal_tz(kCet);
    p.holidays = {"2024-12-25", "2024-12-26"};
    EXPECT_EQ(p.add_business_minutes(local(60, 2024, 12, 24, 12), 480), local(60, 2024, 12, 27, 12));
}

TEST(CalendarBusiness, ExactBoundaries) {
    auto c = cal_utc();
    // A full day from the opening ends at the closing of the same day, not the next opening.
    EXPECT_EQ(c.add_business_minutes(kMon, 480), utc(2024, 1, 8, 17));
    EXPECT_EQ(c.add_business_minutes(utc(2024, 1, 8, 16), 60), utc(2024, 1, 8, 17));
    EXPECT_EQ(c.add_business_minutes(utc(2024, 1, 8, 16), 61), utc(2024, 1, 9, 9, 1));
    // Friday 17:00 is closed: one minute later is Monday 09:01.
    EXPECT_EQ(c.add_business_minutes(utc(2024, 1, 5, 17), 1), utc(2024, 1, 8, 9, 1));
    EXPECT_EQ(c.add_business_minutes(utc(2024, 1, 5, 16, 59), 1), utc(2024, 1, 5, 17));
    // Five days from Monday opening = Friday closing.
    EXPECT_EQ(c.add_business_minutes(kMon, 5 * 480), utc(2024, 1, 12, 17));
    EXPECT_EQ(c.add_business_minutes(kMon, 5 * 480 + 1), utc(2024, 1, 15, 9, 1));
    // Zero or negative durations leave the instant unchanged.
    EXPECT_EQ(c.add_business_minutes(utc(2024, 1, 6, 3), 0), utc(2024, 1, 6, 3));
    EXPECT_EQ(c.add_business_minutes(kMon, -5), kMon);
    // Seconds are kept.
    EXPECT_EQ(c.add_business_minutes(kMon + 1234, 1), kMon + kMin + 1234);
}

TEST(CalendarBusiness, StartOutsideWorkingHours) {
    auto c = cal_utc();
    EXPECT_EQ(c.add_business_minutes(utc(2024, 1, 8, 7), 60), utc(2024, 1, 8, 10));    // before opening
    EXPECT_EQ(c.add_business_minutes(utc(2024, 1, 8, 18), 60), utc(2024, 1, 9, 10));   // after closing
    EXPECT_EQ(c.add_business_minutes(utc(2024, 1, 6, 12), 60), utc(2024, 1, 8, 10));   // Saturday
    EXPECT_EQ(c.add_business_minutes(utc(2024, 1, 5, 23, 59), 480), utc(2024, 1, 8, 17));
    c.holidays = {"2024-01-08"};
    EXPECT_EQ(c.add_business_minutes(utc(2024, 1, 6, 12), 60), utc(2024, 1, 9, 10));
}

TEST(CalendarBusiness, MinutesBetween) {
    auto c = cal_utc();
    EXPECT_EQ(c.business_minutes_between(kMon, kMon), 0);
    EXPECT_EQ(c.business_minutes_between(utc(2024, 1, 9), kMon), 0);
    EXPECT_EQ(c.business_minutes_between(utc(2024, 1, 8, 7), utc(2024, 1, 8, 20)), 480);
    EXPECT_EQ(c.business_minutes_between(utc(2024, 1, 5, 16), utc(2024, 1, 8, 10)), 120);
    EXPECT_EQ(c.business_minutes_between(utc(2024, 1, 6), utc(2024, 1, 7, 23)), 0);
    EXPECT_EQ(c.business_minutes_between(kMon, utc(2024, 1, 22, 9)), 10 * 480);
    EXPECT_EQ(c.business_minutes_between(kMon, kMon + 59 * 1000), 0);  // whole minutes
}

TEST(CalendarDst, CetSpringForwardWeek) {
    auto c = cal_tz(kCet);
    // Friday 29 March 2024 16:30 CET (UTC+1) + 1 day -> Monday 1 April 16:30 CEST (UTC+2).
    EXPECT_EQ(c.add_business_minutes(local(60, 2024, 3, 29, 16, 30), 480), local(120, 2024, 4, 1, 16, 30));
    // The working window the Monday after is 09:00-17:00 local = 07:00-15:00 UTC.
    EXPECT_EQ(c.add_business_minutes(local(60, 2024, 3, 29, 17), 1), local(120, 2024, 4, 1, 9, 1));
    EXPECT_EQ(c.business_minutes_between(local(60, 2024, 3, 29, 9), local(120, 2024, 4, 1, 17)), 960);
    // A team that works on Sundays: the transition Sunday is still 09:00-17:00 local.
    c.work_days_mask = 0x7F;
    EXPECT_EQ(c.add_business_minutes(local(60, 2024, 3, 30, 16, 30), 480), local(120, 2024, 3, 31, 16, 30));
    EXPECT_EQ(c.add_business_minutes(local(120, 2024, 3, 31, 9), 480), local(120, 2024, 3, 31, 17));
}

TEST(CalendarDst, CetFallBackWeek) {
    auto c = cal_tz(kCet);
    // Friday 25 October 2024 16:30 CEST -> Monday 28 October 16:30 CET.
    EXPECT_EQ(c.add_business_minutes(local(120, 2024, 10, 25, 16, 30), 480), local(60, 2024, 10, 28, 16, 30));
    EXPECT_EQ(c.business_minutes_between(local(120, 2024, 10, 25, 9), local(60, 2024, 10, 28, 17)), 960);
    c.work_days_mask = 0x7F;
    EXPECT_EQ(c.add_business_minutes(local(120, 2024, 10, 27, 0, 30), 480), local(60, 2024, 10, 27, 17));
}

TEST(CalendarDst, UsSpringAndFallWeeks) {
    auto c = cal_tz(kUs);
    EXPECT_EQ(c.add_business_minutes(local(-300, 2024, 3, 8, 16, 30), 480), local(-240, 2024, 3, 11, 16, 30));
    EXPECT_EQ(c.add_business_minutes(local(-240, 2024, 11, 1, 16, 30), 480), local(-300, 2024, 11, 4, 16, 30));
    EXPECT_EQ(c.business_minutes_between(local(-300, 2024, 3, 8, 9), local(-240, 2024, 3, 11, 17)), 960);
    // Late-evening local Friday is Saturday UTC: still the Friday local working day that counts.
    EXPECT_TRUE(c.is_working_day(local(-240, 2024, 11, 1, 22)));
    auto uk = cal_tz(kUk);
    EXPECT_EQ(uk.add_business_minutes(utc(2024, 3, 29, 16, 30), 480), local(60, 2024, 4, 1, 16, 30));
}

TEST(CalendarDst, RoundTheClockCalendarCountsRealTime) {
    // 24h, 7-day calendar: the spring Sunday has 23 working hours, the autumn one 25.
    auto c = cal_tz(kCet);
    c.work_days_mask = 0x7F;
    c.day_start_minute = 0;
    c.day_end_minute = 1440;
    EXPECT_EQ(c.business_minutes_between(local(60, 2024, 3, 31, 0), local(120, 2024, 4, 1, 0)), 23 * 60);
    EXPECT_EQ(c.business_minutes_between(local(120, 2024, 10, 27, 0), local(60, 2024, 10, 28, 0)), 25 * 60);
    // Working time is real elapsed time here.
    const int64_t from = local(60, 2024, 3, 30, 12);
    EXPECT_EQ(c.add_business_minutes(from, 48 * 60), from + 48 * kHour);
    // A window opening inside the spring gap (02:30 local) opens at the transition (03:00 CEST).
    c.day_start_minute = 150;
    EXPECT_EQ(c.add_business_minutes(local(60, 2024, 3, 31, 1), 1), utc(2024, 3, 31, 1) + kMin);
}

TEST(CalendarBusiness, AddAndBetweenAreInverse) {
    // Property check over many instants (in and out of hours, across DST, with holidays).
    for (const char* tz : {"UTC0", kCet, kUs}) {
        for (int window : {0, 1}) {
            auto c = cal_tz(tz);
            c.holidays = {"2024-03-29", "2024-04-01", "2024-05-01", "2024-12-25", "2024-12-26"};
            if (window) {
                c.day_start_minute = 0;
                c.day_end_minute = 1440;
                c.work_days_mask = 0x7F;
            }
            uint64_t x = 12345;
            for (int i = 0; i < 400; ++i) {
                x = x * 6364136223846793005ULL + 1442695040888963407ULL;
                const int64_t from = utc(2024, 1, 1) + static_cast<int64_t>((x >> 20) % (366ULL * 24 * 60)) * kMin;
                const int64_t m = static_cast<int64_t>((x >> 7) % 20000);
                const int64_t to = c.add_business_minutes(from, m);
                ASSERT_GE(to, from);
                ASSERT_EQ(c.business_minutes_between(from, to), m) << tz << " from " << from << " +" << m;
                if (m > 0) {
                    ASSERT_EQ(c.business_minutes_between(from, to - kMin), m - 1);
                }
            }
        }
    }
}

TEST(CalendarBusiness, LargeDurationsAreFastAndExact) {
    auto c = cal_tz(kCet);
    c.holidays = {"2024-12-25", "2030-01-01", "2100-05-03"};
    // 52 weeks of 5 days from a Monday opening end on a Friday closing (no holiday in 2024-01..2025-01 on weekdays but 25 Dec).
    auto u = cal_utc();
    EXPECT_EQ(u.add_business_minutes(kMon, 480LL * 5 * 52), utc(2025, 1, 3, 17));
    const auto t0 = std::chrono::steady_clock::now();
    const int64_t big = 480LL * 1000000;  // a million business days (~3,800 years)
    const int64_t to = c.add_business_minutes(kMon, big);
    EXPECT_GT(to, kMon + 3800LL * 365 * 24 * kHour);
    EXPECT_EQ(c.business_minutes_between(kMon, to), big);
    // A calendar with DST inside its window takes the per-day path; still quick.
    auto r = cal_tz(kCet);
    r.work_days_mask = 0x7F;
    r.day_start_minute = 0;
    r.day_end_minute = 1440;
    const int64_t days = small_scale() ? 20000 : 200000;
    EXPECT_EQ(r.business_minutes_between(kMon, r.add_business_minutes(kMon, days * 1440)), days * 1440);
    EXPECT_EQ(r.add_business_minutes(kMon, days * 1440), kMon + days * 24 * kHour);  // whole days: DST cancels out
    // Absurd inputs do not overflow or hang.
    EXPECT_GT(u.add_business_minutes(kMon, INT64_MAX), kMon);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_LT(secs, 5.0);
}

TEST(CalendarBusiness, InvalidCalendarsStillAnswer) {
    auto c = cal_utc();
    c.work_days_mask = 0;  // no working day: falls back to wall-clock time instead of looping
    EXPECT_EQ(c.add_business_minutes(kMon, 60), kMon + kHour);
    c = cal_tz("nonsense");
    EXPECT_EQ(c.utc_offset_minutes(kMon), 0);
    EXPECT_EQ(c.add_business_minutes(utc(2024, 1, 5, 16, 30), 480), utc(2024, 1, 8, 16, 30));
}

// ---- SLA evaluation -----------------------------------------------------------------------------

TEST(SlaAftercare, StepsDueAfterServiceCompletion) {
    auto c = make_case("aftercare", utc(2024, 1, 8, 8));
    c.service_completed_at = utc(2024, 1, 5, 16, 30);  // Friday
    SlaPolicy p;
    auto r = evaluate_sla(c, p, cal_utc(), utc(2024, 1, 5, 17));
    ASSERT_EQ(r.steps.size(), 5u);
    EXPECT_EQ(step(r, "thank_you").start, c.service_completed_at);
    EXPECT_EQ(step(r, "thank_you").due, c.service_completed_at + 24 * kHour);
    EXPECT_EQ(step(r, "thank_you").state, StepState::Pending);
    EXPECT_EQ(step(r, "survey").due, c.service_completed_at + 48 * kHour);
    EXPECT_EQ(step(r, "follow_up_contact").due, utc(2024, 1, 9, 16, 30));  // 2 business days
    EXPECT_EQ(step(r, "escalate").state, StepState::NotApplicable);
    EXPECT_EQ(step(r, "confirm_satisfaction").state, StepState::NotApplicable);
    EXPECT_EQ(r.next_due, c.service_completed_at + 24 * kHour);
    EXPECT_EQ(r.overdue_count, 0);
    EXPECT_FALSE(r.needs_escalation);
    // Without a service completion time the clock starts at creation.
    c.service_completed_at = 0;
    r = evaluate_sla(c, p, cal_utc(), utc(2024, 1, 8, 9));
    EXPECT_EQ(step(r, "thank_you").due, utc(2024, 1, 9, 8));
}

TEST(SlaAftercare, DoneOnTimeLateAndSurveyByResponse) {
    auto c = make_case("aftercare", kMon);
    c.service_completed_at = kMon;
    contact(c, "thank_you", kMon + 24 * kHour);  // exactly at the deadline: on time
    SurveyResponse s;
    s.csat = 5;
    s.nps = 9;
    s.at = kMon + 48 * kHour + 1;  // a survey response counts as the survey step, here late
    c.surveys.push_back(s);
    contact(c, "follow_up_contact", utc(2024, 1, 9, 12));
    auto r = evaluate_sla(c, SlaPolicy{}, cal_utc(), utc(2024, 1, 20));
    EXPECT_EQ(step(r, "thank_you").state, StepState::Done);
    EXPECT_EQ(step(r, "thank_you").done_at, kMon + 24 * kHour);
    EXPECT_EQ(step(r, "survey").state, StepState::DoneLate);
    EXPECT_EQ(step(r, "follow_up_contact").state, StepState::Done);
    EXPECT_EQ(r.next_due, 0);
    // A survey_sent contact before the deadline wins over the later response.
    contact(c, "survey_sent", kMon + kHour);
    r = evaluate_sla(c, SlaPolicy{}, cal_utc(), utc(2024, 1, 20));
    EXPECT_EQ(step(r, "survey").state, StepState::Done);
    EXPECT_EQ(step(r, "survey").done_at, kMon + kHour);
}

TEST(SlaBoundary, DueIsTheLastAllowedInstant) {
    auto c = make_case("aftercare", kMon);
    c.service_completed_at = kMon;
    const int64_t due = kMon + 24 * kHour;
    SlaPolicy p;
    EXPECT_NE(evaluate_sla(c, p, cal_utc(), due).find("thank_you")->state, StepState::Overdue);
    EXPECT_EQ(evaluate_sla(c, p, cal_utc(), due).find("thank_you")->state, StepState::DueSoon);
    EXPECT_EQ(evaluate_sla(c, p, cal_utc(), due + 1).find("thank_you")->state, StepState::Overdue);
    EXPECT_EQ(evaluate_sla(c, p, cal_utc(), due + 1).overdue_count, 1);
    // Due soon: less than 25% of 24 h (6 h) left.
    EXPECT_EQ(evaluate_sla(c, p, cal_utc(), due - 6 * kHour).find("thank_you")->state, StepState::Pending);
    EXPECT_EQ(evaluate_sla(c, p, cal_utc(), due - 6 * kHour + 1).find("thank_you")->state, StepState::DueSoon);
    EXPECT_EQ(evaluate_sla(c, p, cal_utc(), due - 6 * kHour + 1).due_soon_count, 1);
    p.due_soon_percent = 0;
    EXPECT_EQ(evaluate_sla(c, p, cal_utc(), due).find("thank_you")->state, StepState::Pending);
    // Business step: due soon counts business time left, so Friday evening before a Monday 10:00
    // deadline (1 business hour left of 8) is due soon.
    auto f = make_case("feedback", utc(2024, 1, 5, 10));
    auto r = evaluate_sla(f, SlaPolicy{}, cal_utc(), utc(2024, 1, 5, 20));
    EXPECT_EQ(step(r, "acknowledge").due, utc(2024, 1, 8, 10));
    EXPECT_EQ(step(r, "acknowledge").state, StepState::DueSoon);
    EXPECT_EQ(evaluate_sla(f, SlaPolicy{}, cal_utc(), utc(2024, 1, 5, 11)).find("acknowledge")->state,
              StepState::Pending);
    EXPECT_EQ(evaluate_sla(f, SlaPolicy{}, cal_utc(), utc(2024, 1, 8, 10)).find("acknowledge")->state,
              StepState::DueSoon);
    EXPECT_EQ(evaluate_sla(f, SlaPolicy{}, cal_utc(), utc(2024, 1, 8, 10) + 1).find("acknowledge")->state,
              StepState::Overdue);
}

TEST(SlaFeedback, AcknowledgeAndRespond) {
    auto c = make_case("feedback", utc(2024, 1, 5, 16, 30));  // Friday afternoon
    c.category = "suggestion";
    auto r = evaluate_sla(c, SlaPolicy{}, cal_utc(), utc(2024, 1, 5, 17));
    ASSERT_EQ(r.steps.size(), 4u);
    EXPECT_EQ(step(r, "acknowledge").due, utc(2024, 1, 8, 16, 30));
    EXPECT_EQ(step(r, "respond").due, utc(2024, 1, 9, 16, 30));
    EXPECT_EQ(r.next_due, utc(2024, 1, 8, 16, 30));
    // A response also acknowledges.
    contact(c, "responded", utc(2024, 1, 8, 11));
    r = evaluate_sla(c, SlaPolicy{}, cal_utc(), utc(2024, 1, 8, 12));
    EXPECT_EQ(step(r, "acknowledge").state, StepState::Done);
    EXPECT_EQ(step(r, "acknowledge").done_at, utc(2024, 1, 8, 11));
    EXPECT_EQ(step(r, "respond").state, StepState::Done);
    // An explicit acknowledgement is used when it came first.
    contact(c, "acknowledged", utc(2024, 1, 8, 10));
    r = evaluate_sla(c, SlaPolicy{}, cal_utc(), utc(2024, 1, 8, 12));
    EXPECT_EQ(step(r, "acknowledge").done_at, utc(2024, 1, 8, 10));
}

TEST(SlaFeedback, NegativeFeedbackGetsOneBusinessDayOthersTwo) {
    const int64_t created = utc(2024, 1, 5, 16, 30);
    auto c = make_case("feedback", created);
    c.category = "positive";
    EXPECT_EQ(evaluate_sla(c, SlaPolicy{}, cal_utc(), created).find("respond")->due, utc(2024, 1, 9, 16, 30));
    c.category = "negative";
    EXPECT_EQ(evaluate_sla(c, SlaPolicy{}, cal_utc(), created).find("respond")->due, utc(2024, 1, 8, 16, 30));
    // A low score makes positive-looking feedback negative too.
    c.category = "positive";
    SurveyResponse s;
    s.csat = 2;
    s.at = created;
    c.surveys.push_back(s);
    EXPECT_EQ(evaluate_sla(c, SlaPolicy{}, cal_utc(), created).find("respond")->due, utc(2024, 1, 8, 16, 30));
    SlaPolicy p;
    p.respond_negative_business_days = 3;
    EXPECT_EQ(evaluate_sla(c, p, cal_utc(), created).find("respond")->due, utc(2024, 1, 10, 16, 30));
}

TEST(SlaFeedback, ResolutionSatisfiesRespondAndStopsOpenSteps) {
    auto c = make_case("feedback", kMon);
    set_status(c, "in_progress", kMon + kHour);
    set_status(c, "resolved", utc(2024, 1, 12, 12));  // after the respond deadline
    auto r = evaluate_sla(c, SlaPolicy{}, cal_utc(), utc(2024, 1, 12, 13));
    EXPECT_EQ(step(r, "respond").state, StepState::DoneLate);
    EXPECT_EQ(step(r, "respond").done_at, utc(2024, 1, 12, 12));
    EXPECT_EQ(step(r, "acknowledge").state, StepState::DoneLate);
    EXPECT_EQ(step(r, "confirm_satisfaction").state, StepState::Pending);
    EXPECT_EQ(step(r, "confirm_satisfaction").start, utc(2024, 1, 12, 12));
    EXPECT_EQ(step(r, "confirm_satisfaction").due, utc(2024, 1, 16, 12));
    EXPECT_FALSE(r.needs_escalation);
    EXPECT_EQ(r.next_due, utc(2024, 1, 16, 12));
    // Aftercare closed without a thank-you: that step no longer applies (and is not overdue).
    auto a = make_case("aftercare", kMon);
    a.service_completed_at = kMon;
    set_status(a, "closed", utc(2024, 1, 20));
    r = evaluate_sla(a, SlaPolicy{}, cal_utc(), utc(2024, 1, 25));
    EXPECT_EQ(step(r, "thank_you").state, StepState::NotApplicable);
    EXPECT_EQ(step(r, "follow_up_contact").state, StepState::NotApplicable);
    EXPECT_EQ(step(r, "confirm_satisfaction").start, utc(2024, 1, 20));
    EXPECT_EQ(step(r, "confirm_satisfaction").state, StepState::Overdue);
    EXPECT_EQ(r.overdue_count, 1);
}

TEST(SlaConfirm, FollowUpAfterResolutionConfirms) {
    auto c = make_case("follow_up", kMon);
    c.service_completed_at = kMon;
    auto r = evaluate_sla(c, SlaPolicy{}, cal_utc(), kMon);
    ASSERT_EQ(r.steps.size(), 3u);
    EXPECT_EQ(step(r, "follow_up_contact").due, utc(2024, 1, 9, 17));
    EXPECT_EQ(step(r, "escalate").state, StepState::NotApplicable);
    EXPECT_EQ(step(r, "confirm_satisfaction").state, StepState::NotApplicable);
    contact(c, "follow_up_contact", utc(2024, 1, 9, 10));
    set_status(c, "resolved", utc(2024, 1, 9, 11));
    FollowUp early;
    early.at = utc(2024, 1, 9, 10);  // before the resolution: does not confirm it
    c.follow_ups.push_back(early);
    r = evaluate_sla(c, SlaPolicy{}, cal_utc(), utc(2024, 1, 11, 10, 30));
    EXPECT_EQ(step(r, "follow_up_contact").state, StepState::Done);
    EXPECT_EQ(step(r, "confirm_satisfaction").start, utc(2024, 1, 9, 11));
    EXPECT_EQ(step(r, "confirm_satisfaction").due, utc(2024, 1, 11, 11));  // 2 business days
    EXPECT_EQ(step(r, "confirm_satisfaction").state, StepState::DueSoon);  // 30 of 960 minutes left
    EXPECT_EQ(evaluate_sla(c, SlaPolicy{}, cal_utc(), utc(2024, 1, 11, 12)).find("confirm_satisfaction")->state,
              StepState::Overdue);
    FollowUp f;
    f.at = utc(2024, 1, 11, 11);
    f.satisfied = true;
    c.follow_ups.push_back(f);
    r = evaluate_sla(c, SlaPolicy{}, cal_utc(), utc(2024, 1, 11, 12));
    EXPECT_EQ(step(r, "confirm_satisfaction").state, StepState::Done);
    EXPECT_EQ(step(r, "confirm_satisfaction").done_at, utc(2024, 1, 11, 11));
}

TEST(SlaEscalation, ImmediateReasonsStartAtTheirTime) {
    auto c = make_case("feedback", kMon);
    auto r = evaluate_sla(c, SlaPolicy{}, cal_utc(), kMon);
    EXPECT_FALSE(r.needs_escalation);
    EXPECT_EQ(step(r, "escalate").state, StepState::NotApplicable);
    c.urgent = true;
    r = evaluate_sla(c, SlaPolicy{}, cal_utc(), kMon + kHour);
    EXPECT_TRUE(r.needs_escalation);
    EXPECT_NE(r.escalation_reason.find("urgent"), std::string::npos);
    EXPECT_EQ(step(r, "escalate").start, kMon);
    EXPECT_EQ(step(r, "escalate").due, utc(2024, 1, 8, 17));
    EXPECT_EQ(step(r, "escalate").state, StepState::Pending);
    c.urgent = false;
    c.high_impact = true;
    EXPECT_TRUE(evaluate_sla(c, SlaPolicy{}, cal_utc(), kMon).needs_escalation);
    c.high_impact = false;
    c.priority = "urgent";
    EXPECT_TRUE(evaluate_sla(c, SlaPolicy{}, cal_utc(), kMon).needs_escalation);
    c.priority = "high";
    c.category = "complaint";
    r = evaluate_sla(c, SlaPolicy{}, cal_utc(), kMon);
    EXPECT_TRUE(r.needs_escalation);
    EXPECT_NE(r.escalation_reason.find("complaint"), std::string::npos);
    // Negative feedback without low scores only shortens the response, it does not escalate.
    c.category = "negative";
    EXPECT_FALSE(evaluate_sla(c, SlaPolicy{}, cal_utc(), kMon).needs_escalation);
    // A low score starts the clock when it arrived (aftercare too).
    auto a = make_case("aftercare", kMon);
    a.service_completed_at = kMon;
    SurveyResponse s;
    s.nps = 3;
    s.at = utc(2024, 1, 10, 12);
    a.surveys.push_back(s);
    r = evaluate_sla(a, SlaPolicy{}, cal_utc(), utc(2024, 1, 10, 13));
    EXPECT_TRUE(r.needs_escalation);
    EXPECT_NE(r.escalation_reason.find("low score"), std::string::npos);
    EXPECT_EQ(step(r, "escalate").start, utc(2024, 1, 10, 12));
    EXPECT_EQ(step(r, "escalate").due, utc(2024, 1, 11, 12));
    // Escalating satisfies it.
    Escalation e;
    e.at = utc(2024, 1, 11, 9);
    e.to = "manager";
    a.escalations.push_back(e);
    r = evaluate_sla(a, SlaPolicy{}, cal_utc(), utc(2024, 1, 11, 13));
    EXPECT_FALSE(r.needs_escalation);
    EXPECT_TRUE(r.escalated);
    EXPECT_EQ(step(r, "escalate").state, StepState::Done);
    a.escalations[0].at = utc(2024, 1, 11, 12) + 1;
    EXPECT_EQ(evaluate_sla(a, SlaPolicy{}, cal_utc(), utc(2024, 1, 12)).find("escalate")->state, StepState::DoneLate);
}

TEST(SlaEscalation, OverdueResponseNeedsEscalation) {
    auto c = make_case("feedback", kMon);
    const int64_t respond_due = utc(2024, 1, 9, 17);
    auto r = evaluate_sla(c, SlaPolicy{}, cal_utc(), respond_due);
    EXPECT_FALSE(r.needs_escalation);
    r = evaluate_sla(c, SlaPolicy{}, cal_utc(), respond_due + 1);
    EXPECT_EQ(step(r, "respond").state, StepState::Overdue);
    EXPECT_TRUE(r.needs_escalation);
    EXPECT_NE(r.escalation_reason.find("overdue"), std::string::npos);
    EXPECT_EQ(step(r, "escalate").start, respond_due);
    EXPECT_EQ(step(r, "escalate").due, utc(2024, 1, 10, 17));
    EXPECT_EQ(r.overdue_count, 2);  // acknowledge and respond
    r = evaluate_sla(c, SlaPolicy{}, cal_utc(), utc(2024, 1, 11));
    EXPECT_EQ(step(r, "escalate").state, StepState::Overdue);
    EXPECT_EQ(r.overdue_count, 3);
    EXPECT_EQ(r.next_due, utc(2024, 1, 8, 17));
}

TEST(SlaPause, AwaitingClientExtendsTheDeadline) {
    auto c = make_case("feedback", kMon);  // respond due Tue 17:00 without pauses
    contact(c, "acknowledged", kMon + kHour);
    set_status(c, "in_progress", kMon + kHour);
    set_status(c, "awaiting_client", utc(2024, 1, 8, 10));
    // While waiting: paused, never overdue, even past the original deadline.
    auto r = evaluate_sla(c, SlaPolicy{}, cal_utc(), utc(2024, 1, 12, 12));
    EXPECT_EQ(step(r, "respond").state, StepState::Paused);
    EXPECT_EQ(r.overdue_count, 0);
    EXPECT_EQ(r.next_due, 0);
    EXPECT_FALSE(r.needs_escalation);
    // Resumed Tuesday 10:00: 8 business hours paused, due moves from Tue 17:00 to Wed 17:00.
    set_status(c, "in_progress", utc(2024, 1, 9, 10));
    r = evaluate_sla(c, SlaPolicy{}, cal_utc(), utc(2024, 1, 9, 11));
    EXPECT_EQ(step(r, "respond").due, utc(2024, 1, 10, 17));
    EXPECT_EQ(step(r, "respond").state, StepState::Pending);
    EXPECT_EQ(step(r, "acknowledge").state, StepState::Done);
    // With pausing disabled the original deadline stands.
    SlaPolicy np;
    np.pause_when_awaiting_client = false;
    r = evaluate_sla(c, np, cal_utc(), utc(2024, 1, 9, 18));
    EXPECT_EQ(step(r, "respond").due, utc(2024, 1, 9, 17));
    EXPECT_EQ(step(r, "respond").state, StepState::Overdue);
}

TEST(SlaPause, PauseOutsideWorkingTimeAddsNothing) {
    auto c = make_case("feedback", utc(2024, 1, 5, 10));  // Friday: respond due Tuesday 10:00
    set_status(c, "awaiting_client", utc(2024, 1, 6, 9));  // Saturday to Sunday
    set_status(c, "in_progress", utc(2024, 1, 7, 9));
    auto r = evaluate_sla(c, SlaPolicy{}, cal_utc(), utc(2024, 1, 8, 9));
    EXPECT_EQ(step(r, "respond").due, utc(2024, 1, 9, 10));
    // A pause from Friday 16:00 to Monday 11:00 costs 3 business hours.
    set_status(c, "awaiting_client", utc(2024, 1, 8, 9));  // (re-shape the history)
    c.status_history = {StatusSpan{"new", c.created_at, utc(2024, 1, 5, 16)},
                        StatusSpan{"awaiting_client", utc(2024, 1, 5, 16), utc(2024, 1, 8, 11)},
                        StatusSpan{"in_progress", utc(2024, 1, 8, 11), 0}};
    c.status = "in_progress";
    r = evaluate_sla(c, SlaPolicy{}, cal_utc(), utc(2024, 1, 8, 12));
    EXPECT_EQ(step(r, "respond").due, utc(2024, 1, 9, 13));
    EXPECT_EQ(step(r, "acknowledge").due, utc(2024, 1, 8, 13));
}

TEST(SlaPause, WallClockStepsAndBreachesBeforeThePause) {
    auto c = make_case("aftercare", kMon);
    c.service_completed_at = kMon;
    set_status(c, "awaiting_client", kMon + 2 * kHour);
    set_status(c, "in_progress", kMon + 5 * kHour);
    auto r = evaluate_sla(c, SlaPolicy{}, cal_utc(), kMon + 6 * kHour);
    EXPECT_EQ(step(r, "thank_you").due, kMon + 27 * kHour);  // 3 wall hours paused
    // A pause that begins after the deadline does not hide the breach.
    auto f = make_case("feedback", kMon);
    set_status(f, "awaiting_client", utc(2024, 1, 9, 18));  // respond was due Tue 17:00
    r = evaluate_sla(f, SlaPolicy{}, cal_utc(), utc(2024, 1, 10, 12));
    EXPECT_EQ(step(r, "respond").state, StepState::Overdue);
    EXPECT_EQ(step(r, "respond").due, utc(2024, 1, 9, 17));
    EXPECT_TRUE(r.needs_escalation);
    // A step already done is judged against the deadline of its time, not paused.
    auto d = make_case("feedback", kMon);
    contact(d, "responded", kMon + kHour);
    set_status(d, "awaiting_client", kMon + 2 * kHour);
    r = evaluate_sla(d, SlaPolicy{}, cal_utc(), utc(2024, 1, 20));
    EXPECT_EQ(step(r, "respond").state, StepState::Done);
    EXPECT_EQ(step(r, "respond").due, utc(2024, 1, 9, 17));
}

TEST(SlaImprovement, OwnDeadline) {
    auto c = make_case("improvement", kMon);
    auto r = evaluate_sla(c, SlaPolicy{}, cal_utc(), kMon);
    ASSERT_EQ(r.steps.size(), 1u);
    EXPECT_EQ(step(r, "improvement").state, StepState::NotApplicable);
    c.due_at = utc(2024, 2, 1);
    r = evaluate_sla(c, SlaPolicy{}, cal_utc(), kMon);
    EXPECT_EQ(step(r, "improvement").state, StepState::Pending);
    EXPECT_EQ(step(r, "improvement").due, utc(2024, 2, 1));
    EXPECT_EQ(r.next_due, utc(2024, 2, 1));
    EXPECT_EQ(r.find("escalate"), nullptr);
    EXPECT_EQ(evaluate_sla(c, SlaPolicy{}, cal_utc(), utc(2024, 2, 1) + 1).find("improvement")->state,
              StepState::Overdue);
    c.urgent = true;  // improvement actions have no escalation step
    EXPECT_FALSE(evaluate_sla(c, SlaPolicy{}, cal_utc(), kMon).needs_escalation);
    set_status(c, "in_progress", kMon + kHour);
    set_status(c, "resolved", utc(2024, 1, 31));
    r = evaluate_sla(c, SlaPolicy{}, cal_utc(), utc(2024, 3, 1));
    EXPECT_EQ(step(r, "improvement").state, StepState::Done);
    EXPECT_EQ(step(r, "improvement").done_at, utc(2024, 1, 31));
}

TEST(SlaEvaluate, UnknownKindHasNoSteps) {
    auto c = make_case("", kMon);
    auto r = evaluate_sla(c, SlaPolicy{}, cal_utc(), kMon);
    EXPECT_TRUE(r.steps.empty());
    EXPECT_EQ(r.next_due, 0);
}

TEST(SlaEvaluate, UsesTheTeamCalendar) {
    // Feedback received Friday 16:30 in New York during the US spring-forward weekend.
    auto c = make_case("feedback", local(-300, 2024, 3, 8, 16, 30));
    auto cal = cal_tz(kUs);
    cal.holidays = {"2024-03-11"};
    auto r = evaluate_sla(c, SlaPolicy{}, cal, c.created_at);
    EXPECT_EQ(step(r, "acknowledge").due, local(-240, 2024, 3, 12, 16, 30));
    EXPECT_EQ(step(r, "respond").due, local(-240, 2024, 3, 13, 16, 30));
}

// ---- JSON ---------------------------------------------------------------------------------------

TEST(CalendarJson, RoundTrip) {
    BusinessCalendar c;
    c.tz = kCet;
    c.work_days_mask = 0x1F;
    c.day_start_minute = 8 * 60 + 30;
    c.day_end_minute = 16 * 60;
    c.holidays = {"2024-12-25", "2025-01-01"};
    const std::string j = calendar_to_json(c);
    auto back = calendar_from_json(j);
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(back->tz, c.tz);
    EXPECT_EQ(back->work_days_mask, 0x1F);
    EXPECT_EQ(back->day_start_minute, 510);
    EXPECT_EQ(back->day_end_minute, 960);
    EXPECT_EQ(back->holidays, c.holidays);
    EXPECT_EQ(calendar_to_json(*back), j);
    // Missing fields take the defaults.
    auto d = calendar_from_json("{}");
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->tz, "UTC0");
    EXPECT_EQ(d->work_days_mask, 0x3E);
}

TEST(CalendarJson, RejectsBadInput) {
    EXPECT_EQ(calendar_from_json("{nope").error().code, "bad_json");
    EXPECT_EQ(calendar_from_json("[]").error().code, "bad_calendar");
    auto e = calendar_from_json(R"({"tz":"UTC0","weekend":[0,6]})");
    ASSERT_FALSE(e.ok());
    EXPECT_NE(e.error().message.find("weekend"), std::string::npos);
    EXPECT_FALSE(calendar_from_json(R"({"tz":5})").ok());
    EXPECT_FALSE(calendar_from_json(R"({"day_start_minute":"9"})").ok());
    EXPECT_FALSE(calendar_from_json(R"({"day_start_minute":540.5})").ok());
    EXPECT_FALSE(calendar_from_json(R"({"holidays":"2024-12-25"})").ok());
    EXPECT_FALSE(calendar_from_json(R"({"holidays":[20241225]})").ok());
    // Validation runs too.
    e = calendar_from_json(R"({"holidays":["2024-13-01"]})");
    ASSERT_FALSE(e.ok());
    EXPECT_EQ(e.error().code, "bad_calendar");
    EXPECT_FALSE(calendar_from_json(R"({"tz":"Mars/Olympus"})").ok());
    EXPECT_FALSE(calendar_from_json(R"({"day_start_minute":600,"day_end_minute":600})").ok());
    EXPECT_FALSE(calendar_from_json(R"({"work_days_mask":0})").ok());
}

TEST(SlaJson, PolicyRoundTripAndErrors) {
    SlaPolicy p;
    p.follow_up_business_days = 5;
    p.respond_negative_business_days = 1;
    p.due_soon_percent = 10;
    p.pause_when_awaiting_client = false;
    const std::string j = policy_to_json(p);
    auto back = policy_from_json(j);
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(back->follow_up_business_days, 5);
    EXPECT_EQ(back->due_soon_percent, 10);
    EXPECT_FALSE(back->pause_when_awaiting_client);
    EXPECT_EQ(back->thank_you_hours, 24);
    EXPECT_EQ(policy_to_json(*back), j);
    EXPECT_EQ(policy_from_json("{").error().code, "bad_json");
    EXPECT_EQ(policy_from_json("3").error().code, "bad_policy");
    EXPECT_EQ(policy_from_json(R"({"respond_hours":4})").error().code, "bad_policy");
    EXPECT_EQ(policy_from_json(R"({"survey_hours":"48"})").error().code, "bad_policy");
    EXPECT_EQ(policy_from_json(R"({"survey_hours":1.5})").error().code, "bad_policy");
    EXPECT_EQ(policy_from_json(R"({"pause_when_awaiting_client":1})").error().code, "bad_policy");
    EXPECT_EQ(policy_from_json(R"({"respond_business_days":-1})").error().code, "bad_policy");
    EXPECT_EQ(policy_from_json(R"({"due_soon_percent":101})").error().code, "bad_policy");
    EXPECT_TRUE(SlaPolicy{}.validate().ok());
}

TEST(SlaJson, WriteReport) {
    EXPECT_STREQ(step_state_name(StepState::Done), "done");
    EXPECT_STREQ(step_state_name(StepState::DoneLate), "done_late");
    EXPECT_STREQ(step_state_name(StepState::Pending), "pending");
    EXPECT_STREQ(step_state_name(StepState::DueSoon), "due_soon");
    EXPECT_STREQ(step_state_name(StepState::Overdue), "overdue");
    EXPECT_STREQ(step_state_name(StepState::Paused), "paused");
    EXPECT_STREQ(step_state_name(StepState::NotApplicable), "n/a");
    auto c = make_case("feedback", kMon);
    c.urgent = true;
    auto r = evaluate_sla(c, SlaPolicy{}, cal_utc(), utc(2024, 1, 8, 18));
    json::Writer w;
    write_sla(w, r);
    auto doc = json::parse(w.take());
    ASSERT_TRUE(doc.ok());
    const auto& o = doc->root();
    bool needs = false;
    std::string reason;
    int64_t next_due = 0;
    ASSERT_TRUE(json::get(o, "needs_escalation", needs));
    EXPECT_TRUE(needs);
    ASSERT_TRUE(json::get(o, "escalation_reason", reason));
    EXPECT_EQ(reason, r.escalation_reason);
    ASSERT_TRUE(json::get(o, "next_due", next_due));
    EXPECT_EQ(next_due, r.next_due);
    const json::Value* steps = json::member(o, "steps");
    ASSERT_TRUE(steps && steps->IsArray());
    ASSERT_EQ(steps->Size(), r.steps.size());
    std::string name, state;
    ASSERT_TRUE(json::get((*steps)[2], "step", name));
    ASSERT_TRUE(json::get((*steps)[2], "state", state));
    EXPECT_EQ(name, "escalate");
    EXPECT_EQ(state, "overdue");
    int64_t due = 0;
    ASSERT_TRUE(json::get((*steps)[2], "due", due));
    EXPECT_EQ(due, utc(2024, 1, 8, 17));
}
