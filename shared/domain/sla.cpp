// SLA engine: business calendars with POSIX TZ rules, and the SOP deadlines derived from a case.
//
// Design notes
//  * No tz database: the POSIX TZ rule is parsed here and the civil-date math is done by hand
//    (days_from_civil / civil_from_days after H. Hinnant), so the code is the same natively and
//    under Emscripten.
//  * Working time is a set of UTC intervals, one per working local date: [day_start, day_end) local
//    time converted to UTC with the offset in force at that local time. DST is therefore handled
//    by construction: a 9-17 day stays 9-17 on the local clock; a window that contains a DST
//    transition (e.g. a 0-24 calendar) simply has 23 or 25 real hours that day. Local times that
//    do not exist (spring-forward gap) map to the transition instant; ambiguous ones (fall-back)
//    map to their first occurrence.
//  * Large durations: when no DST transition can fall inside the daily window, every holiday-free
//    week has the same working time, so whole weeks up to the next holiday are skipped
//    arithmetically; otherwise the walk is per day (never per minute).
//  * Deadline boundary: a step's due time is the last allowed instant. now == due is not overdue;
//    now > due is. A step done at exactly its due time is Done (on time).
//  * An invalid calendar (validate() fails) still yields answers: a bad tz counts as UTC, bad
//    holiday dates are ignored, and an empty work week or empty working day falls back to
//    wall-clock time, so nothing loops forever on bad settings.
#include "domain/sla.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <string_view>
#include <utility>

#include "core/time.h"
#include "domain/vocab.h"

namespace cl {

namespace {

// ~190,000 years of minutes: keeps every ms computation far from int64 overflow.
constexpr int64_t kMaxMinutes = int64_t(100000) * 1000 * 1000;

int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
    return q;
}

bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(int64_t y, unsigned m) {
    static const unsigned k[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : k[m - 1];
}

// Civil-date math lives in core/time.h (shared with reports and retention).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) { return cl::days_from_civil(static_cast<int>(y), m, d); }
int weekday_of_days(int64_t z) { return weekday_from_days(z); }

// ---- POSIX TZ rules -------------------------------------------------------------------------

struct TzRule {
    char kind = 'M';  // 'M' = Mm.w.d, 'J' = Jn (1..365, no Feb 29), 'N' = n (0..365)
    int m = 0, w = 0, d = 0, n = 0;
    int64_t time_s = 2 * 3600;  // local time of the transition (may be negative or > 24 h)
};

struct Tz {
    int64_t std_off_ms = 0;  // east of UTC
    bool has_dst = false;
    int64_t dst_off_ms = 0;
    TzRule start, end;

    // Cache of the last year's transitions (per-call objects only; not shared).
    mutable int64_t cached_year = INT64_MIN;
    mutable int64_t cached_start = 0, cached_end = 0;

    int64_t rule_day(const TzRule& r, int64_t y) const {
        if (r.kind == 'J') {
            int64_t day = days_from_civil(y, 1, 1) + r.n - 1;
            if (is_leap(y) && r.n >= 60) ++day;
            return day;
        }
        if (r.kind == 'N') return days_from_civil(y, 1, 1) + r.n;
        const int64_t first = days_from_civil(y, static_cast<unsigned>(r.m), 1);
        int64_t day = first + ((r.d - weekday_of_days(first)) + 7) % 7 + int64_t(r.w - 1) * 7;
        const int64_t last = first + days_in_month(y, static_cast<unsigned>(r.m)) - 1;
        while (day > last) day -= 7;
        return day;
    }

    void transitions(int64_t y, int64_t& s, int64_t& e) const {
        if (y != cached_year) {
            cached_year = y;
            // Start is given in local standard time, end in local daylight time.
            cached_start = rule_day(start, y) * kDayMs + start.time_s * 1000 - std_off_ms;
            cached_end = rule_day(end, y) * kDayMs + end.time_s * 1000 - dst_off_ms;
        }
        s = cached_start;
        e = cached_end;
    }

    int64_t offset_ms(int64_t utc_ms) const {
        if (!has_dst) return std_off_ms;
        const int64_t y = civil_from_days(floor_div(utc_ms + std_off_ms, kDayMs)).year;
        int64_t s, e;
        transitions(y, s, e);
        bool dst;
        if (s < e) dst = utc_ms >= s && utc_ms < e;    // northern hemisphere
        else dst = !(utc_ms >= e && utc_ms < s);       // southern hemisphere: DST spans the new year
        return dst ? dst_off_ms : std_off_ms;
    }

    // UTC instant of a local wall-clock time (ms since the epoch as if local were UTC).
    int64_t local_to_utc(int64_t local_ms) const {
        if (!has_dst) return local_ms - std_off_ms;
        int64_t lo = local_ms - std::max(std_off_ms, dst_off_ms);
        int64_t hi = local_ms - std::min(std_off_ms, dst_off_ms);
        if (offset_ms(lo) == local_ms - lo) return lo;  // earlier occurrence first (fall-back)
        if (offset_ms(hi) == local_ms - hi) return hi;
        // The local time falls in a gap (spring forward): answer the transition instant, whose
        // local time is the first existing one after it.
        const int64_t off_hi = offset_ms(hi);
        while (hi - lo > 1) {
            const int64_t mid = lo + (hi - lo) / 2;
            if (offset_ms(mid) == off_hi) hi = mid;
            else lo = mid;
        }
        return hi;
    }
};

class TzParser {
public:
    explicit TzParser(std::string_view s) : s_(s) {}

    bool parse(Tz& out, std::string& err) {
        if (s_.empty()) return fail(err, "is empty (expected e.g. \"UTC0\" or \"CET-1CEST,M3.5.0,M10.5.0/3\")");
        if (!name()) return fail(err, "expected a zone name of 3+ letters (e.g. CET) or <...>");
        int64_t off = 0;
        if (!hms(off, 24, true)) return fail(err, "expected the standard offset from UTC (e.g. CET-1, EST5)");
        out.std_off_ms = -off * 1000;  // POSIX offsets are west-positive
        out.has_dst = false;
        if (at_end()) return true;
        if (!name()) return fail(err, "expected a daylight-time zone name of 3+ letters after the offset");
        out.has_dst = true;
        out.dst_off_ms = out.std_off_ms + 3600 * 1000;
        if (!at_end() && (std::isdigit(static_cast<unsigned char>(peek())) || peek() == '+' || peek() == '-')) {
            if (!hms(off, 24, true)) return fail(err, "bad daylight-time offset");
            out.dst_off_ms = -off * 1000;
        }
        if (at_end()) {  // no rules: the POSIX default used by glibc (US rules)
            out.start = TzRule{'M', 3, 2, 0, 0, 7200};
            out.end = TzRule{'M', 11, 1, 0, 0, 7200};
            return true;
        }
        if (peek() != ',') return fail(err, "expected ',' before the DST start rule");
        ++i_;
        if (!rule(out.start)) return fail(err, "bad DST start rule (expected Mm.w.d[/time], Jn or n)");
        if (at_end() || peek() != ',') return fail(err, "expected ',' and a DST end rule");
        ++i_;
        if (!rule(out.end)) return fail(err, "bad DST end rule (expected Mm.w.d[/time], Jn or n)");
        if (!at_end()) return fail(err, "unexpected text after the DST end rule");
        return true;
    }

private:
    bool at_end() const { return i_ >= s_.size(); }
    char peek() const { return s_[i_]; }

    bool fail(std::string& err, const std::string& what) {
        err = "time zone \"" + std::string(s_) + "\" " + what + " (at position " + std::to_string(i_) + ")";
        return false;
    }

    bool name() {
        if (at_end()) return false;
        if (peek() == '<') {
            size_t j = i_ + 1, n = 0;
            while (j < s_.size() && s_[j] != '>') {
                const char ch = s_[j];
                if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '+' && ch != '-') return false;
                ++j;
                ++n;
            }
            if (j >= s_.size() || n < 3) return false;
            i_ = j + 1;
            return true;
        }
        size_t j = i_;
        while (j < s_.size() && std::isalpha(static_cast<unsigned char>(s_[j]))) ++j;
        if (j - i_ < 3) return false;
        i_ = j;
        return true;
    }

    bool number(int64_t& out, size_t max_digits) {
        size_t n = 0;
        out = 0;
        while (!at_end() && std::isdigit(static_cast<unsigned char>(peek())) && n < max_digits) {
            out = out * 10 + (peek() - '0');
            ++i_;
            ++n;
        }
        return n > 0 && (at_end() || !std::isdigit(static_cast<unsigned char>(peek())));
    }

    // [+-]hh[:mm[:ss]] in seconds.
    bool hms(int64_t& secs, int64_t max_hours, bool sign_ok) {
        int sign = 1;
        if (!at_end() && (peek() == '+' || peek() == '-')) {
            if (!sign_ok) return false;
            if (peek() == '-') sign = -1;
            ++i_;
        }
        int64_t h = 0, m = 0, s = 0;
        if (!number(h, 3) || h > max_hours) return false;
        if (!at_end() && peek() == ':') {
            ++i_;
            if (!number(m, 2) || m > 59) return false;
            if (!at_end() && peek() == ':') {
                ++i_;
                if (!number(s, 2) || s > 59) return false;
            }
        }
        secs = sign * (h * 3600 + m * 60 + s);
        return true;
    }

    bool rule(TzRule& r) {
        if (at_end()) return false;
        int64_t a = 0, b = 0, c = 0;
        if (peek() == 'M') {
            ++i_;
            if (!number(a, 2) || a < 1 || a > 12) return false;
            if (at_end() || peek() != '.') return false;
            ++i_;
            if (!number(b, 1) || b < 1 || b > 5) return false;
            if (at_end() || peek() != '.') return false;
            ++i_;
            if (!number(c, 1) || c > 6) return false;
            r = TzRule{'M', int(a), int(b), int(c), 0, 7200};
        } else if (peek() == 'J') {
            ++i_;
            if (!number(a, 3) || a < 1 || a > 365) return false;
            r = TzRule{'J', 0, 0, 0, int(a), 7200};
        } else {
            if (!number(a, 3) || a > 365) return false;
            r = TzRule{'N', 0, 0, 0, int(a), 7200};
        }
        if (!at_end() && peek() == '/') {
            ++i_;
            if (!hms(r.time_s, 167, true)) return false;  // RFC 8536 extension: -167..167 h
        }
        return true;
    }

    std::string_view s_;
    size_t i_ = 0;
};

bool parse_tz(std::string_view text, Tz& out, std::string& err) { return TzParser(text).parse(out, err); }

bool parse_date(std::string_view s, int64_t& day) {
    if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
    for (size_t i : {0u, 1u, 2u, 3u, 5u, 6u, 8u, 9u})
        if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    const int64_t y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    const unsigned m = unsigned((s[5] - '0') * 10 + (s[6] - '0'));
    const unsigned d = unsigned((s[8] - '0') * 10 + (s[9] - '0'));
    if (m < 1 || m > 12 || d < 1 || d > days_in_month(y, m)) return false;
    day = days_from_civil(y, m, d);
    return true;
}

bool overlaps(int64_t a0, int64_t a1, int64_t b0, int64_t b1) { return a0 <= b1 && b0 <= a1; }

// A calendar prepared once per computation: parsed zone, sorted holidays, week skipping data.
class Cal {
public:
    explicit Cal(const BusinessCalendar& c) {
        std::string err;
        if (!parse_tz(c.tz, tz_, err)) tz_ = Tz{};
        mask_ = c.work_days_mask & 0x7F;
        start_ms_ = int64_t(c.day_start_minute) * kMinuteMs;
        end_ms_ = int64_t(c.day_end_minute) * kMinuteMs;
        usable_ = mask_ != 0 && c.day_start_minute >= 0 && c.day_end_minute <= 24 * 60 &&
                  c.day_start_minute < c.day_end_minute;
        for (const auto& h : c.holidays) {
            int64_t d;
            if (parse_date(h, d)) holidays_.push_back(d);
        }
        std::sort(holidays_.begin(), holidays_.end());
        holidays_.erase(std::unique(holidays_.begin(), holidays_.end()), holidays_.end());
        int days = 0;
        for (int i = 0; i < 7; ++i) days += (mask_ >> i) & 1;
        week_ms_ = days * (end_ms_ - start_ms_);
        uniform_ = usable_ && !dst_touches_window();
    }

    const Tz& tz() const { return tz_; }

    int64_t local_day(int64_t utc) const { return floor_div(utc + tz_.offset_ms(utc), kDayMs); }

    bool working(int64_t day) const {
        if (!((mask_ >> weekday_of_days(day)) & 1)) return false;
        return !std::binary_search(holidays_.begin(), holidays_.end(), day);
    }

    std::pair<int64_t, int64_t> window(int64_t day) const {
        const int64_t ws = tz_.local_to_utc(day * kDayMs + start_ms_);
        const int64_t we = tz_.local_to_utc(day * kDayMs + end_ms_);
        return {ws, std::max(ws, we)};
    }

    // Instant after `ms` of working time from `from`. ms <= 0 answers `from`.
    int64_t add(int64_t from, int64_t ms) const {
        if (ms <= 0) return from;
        if (!usable_) return from + ms;
        int64_t day = local_day(from);
        if (working(day)) {
            auto [ws, we] = window(day);
            if (from < we) {
                const int64_t cur = std::max(from, ws);
                if (ms <= we - cur) return cur + ms;
                ms -= we - cur;
            }
        }
        ++day;
        for (;;) {
            if (uniform_ && ms > week_ms_) {
                int64_t k = (ms - 1) / week_ms_;  // leave a remainder > 0 to place within a day
                auto it = std::lower_bound(holidays_.begin(), holidays_.end(), day);
                if (it != holidays_.end()) k = std::min(k, (*it - day) / 7);
                day += 7 * k;
                ms -= k * week_ms_;
            }
            if (working(day)) {
                auto [ws, we] = window(day);
                if (ms <= we - ws) return ws + ms;
                ms -= we - ws;
            }
            ++day;
        }
    }

    // Working ms in [from, to).
    int64_t between(int64_t from, int64_t to) const {
        if (to <= from) return 0;
        if (!usable_) return to - from;
        const int64_t d0 = local_day(from), d1 = local_day(to);
        int64_t total = 0;
        for (int64_t day = d0; day <= d1;) {
            if (uniform_ && day > d0 && day + 7 <= d1) {
                int64_t k = (d1 - day) / 7;
                auto it = std::lower_bound(holidays_.begin(), holidays_.end(), day);
                if (it != holidays_.end()) k = std::min(k, (*it - day) / 7);
                if (k > 0) {
                    total += k * week_ms_;
                    day += 7 * k;
                    continue;
                }
            }
            if (working(day)) {
                auto [ws, we] = window(day);
                const int64_t a = std::max(ws, from), b = std::min(we, to);
                if (b > a) total += b - a;
            }
            ++day;
        }
        return total;
    }

private:
    // Whether a DST transition can change the length of a working window (only then do weeks
    // differ in working time).
    bool dst_touches_window() const {
        if (!tz_.has_dst) return false;
        const int64_t delta = tz_.dst_off_ms - tz_.std_off_ms;
        const int64_t lo_d = std::min<int64_t>(0, delta), hi_d = std::max<int64_t>(0, delta);
        // Start: at local standard time t the clock jumps by delta; end: at local daylight time t
        // it jumps back by delta. Affected local times of day, as closed intervals.
        auto mod_day = [](int64_t ms) { return ((ms % kDayMs) + kDayMs) % kDayMs; };
        const int64_t ts = mod_day(tz_.start.time_s * 1000);
        const int64_t te = mod_day(tz_.end.time_s * 1000);
        const std::pair<int64_t, int64_t> affected[] = {{ts + lo_d, ts + hi_d}, {te - hi_d, te - lo_d}};
        for (const auto& [a, b] : affected)
            for (int64_t shift : {-kDayMs, int64_t(0), kDayMs})
                if (overlaps(start_ms_, end_ms_, a + shift, b + shift)) return true;
        return false;
    }

    Tz tz_;
    int mask_ = 0;
    int64_t start_ms_ = 0, end_ms_ = 0, week_ms_ = 0;
    bool usable_ = false, uniform_ = false;
    std::vector<int64_t> holidays_;
};

int64_t clamp_minutes(int64_t m) { return std::max<int64_t>(0, std::min(m, kMaxMinutes)); }

}  // namespace

// ---- BusinessCalendar ---------------------------------------------------------------------------

Status BusinessCalendar::validate() const {
    // Bounds first: every device receives the calendar with /settings, and an error message must
    // not echo kilobytes back. A POSIX TZ rule is a few dozen characters; 1000 holidays is decades.
    if (tz.size() > 128) return make_error("bad_calendar", "tz must be at most 128 characters (got " + std::to_string(tz.size()) + ")");
    if (holidays.size() > 1000)
        return make_error("bad_calendar", "at most 1000 holidays (got " + std::to_string(holidays.size()) + ")");
    Tz tzr;
    std::string err;
    if (!parse_tz(tz, tzr, err)) return make_error("bad_calendar", err);
    if (work_days_mask < 0 || work_days_mask > 0x7F)
        return make_error("bad_calendar", "work_days_mask must be a 7-bit mask (bit 0 = Sunday), got " +
                                              std::to_string(work_days_mask));
    if ((work_days_mask & 0x7F) == 0) return make_error("bad_calendar", "the work week is empty (no working day)");
    if (day_start_minute < 0 || day_start_minute >= 24 * 60)
        return make_error("bad_calendar", "day_start_minute must be in 0..1439, got " + std::to_string(day_start_minute));
    if (day_end_minute < 1 || day_end_minute > 24 * 60)
        return make_error("bad_calendar", "day_end_minute must be in 1..1440, got " + std::to_string(day_end_minute));
    if (day_start_minute >= day_end_minute)
        return make_error("bad_calendar", "the working day must start before it ends (day_start_minute " +
                                              std::to_string(day_start_minute) + " >= day_end_minute " +
                                              std::to_string(day_end_minute) + ")");
    for (const auto& h : holidays) {
        int64_t d;
        if (!parse_date(h, d))
            return make_error("bad_calendar", "holiday \"" + h.substr(0, 40) + "\" is not a valid date in the form YYYY-MM-DD");
    }
    return Status{};
}

int BusinessCalendar::utc_offset_minutes(int64_t utc_ms) const {
    Tz t;
    std::string err;
    if (!parse_tz(tz, t, err)) return 0;
    return static_cast<int>(t.offset_ms(utc_ms) / kMinuteMs);
}

bool BusinessCalendar::is_working_day(int64_t utc_ms) const {
    Cal cal(*this);
    return cal.working(cal.local_day(utc_ms));
}

int64_t BusinessCalendar::add_business_minutes(int64_t from, int64_t minutes) const {
    return Cal(*this).add(from, clamp_minutes(minutes) * kMinuteMs);
}

int64_t BusinessCalendar::business_minutes_between(int64_t from, int64_t to) const {
    return Cal(*this).between(from, to) / kMinuteMs;
}

// ---- SlaPolicy ----------------------------------------------------------------------------------

Status SlaPolicy::validate() const {
    struct Field {
        const char* name;
        int64_t value, max;
    };
    const Field fields[] = {
        {"thank_you_hours", thank_you_hours, 24 * 366},
        {"survey_hours", survey_hours, 24 * 366},
        {"follow_up_business_days", follow_up_business_days, 366},
        {"acknowledge_business_days", acknowledge_business_days, 366},
        {"respond_business_days", respond_business_days, 366},
        {"respond_negative_business_days", respond_negative_business_days, 366},
        {"escalate_business_days", escalate_business_days, 366},
        {"confirm_business_days", confirm_business_days, 366},
        {"due_soon_percent", due_soon_percent, 100},
    };
    for (const auto& f : fields)
        if (f.value < 0 || f.value > f.max)
            return make_error("bad_policy", std::string(f.name) + " must be in 0.." + std::to_string(f.max) + ", got " +
                                                std::to_string(f.value));
    return Status{};
}

const char* step_state_name(StepState s) {
    switch (s) {
        case StepState::Done: return "done";
        case StepState::DoneLate: return "done_late";
        case StepState::Pending: return "pending";
        case StepState::DueSoon: return "due_soon";
        case StepState::Overdue: return "overdue";
        case StepState::Paused: return "paused";
        case StepState::NotApplicable: return "n/a";
    }
    return "n/a";
}

const StepStatus* SlaReport::find(const std::string& step) const {
    for (const auto& s : steps)
        if (s.step == step) return &s;
    return nullptr;
}

// ---- evaluate_sla -------------------------------------------------------------------------------

namespace {

int64_t earliest(std::initializer_list<int64_t> xs) {  // smallest non-zero, 0 if none
    int64_t best = 0;
    for (int64_t x : xs)
        if (x != 0 && (best == 0 || x < best)) best = x;
    return best;
}

struct Evaluator {
    const CaseState& c;
    const SlaPolicy& p;
    const Cal& cal;
    int64_t now;

    // Computes due (pauses included) and state of one step. `dur_ms` is working ms for business
    // steps, wall ms otherwise. `pausable` = awaiting-client time extends it.
    StepStatus make(const std::string& name, int64_t start, bool business, int64_t dur_ms, int64_t done_at,
                    bool pausable = true) const {
        StepStatus s;
        s.step = name;
        s.start = start;
        s.done_at = done_at;
        int64_t due = business ? cal.add(start, dur_ms) : start + dur_ms;
        bool paused_now = false;
        if (pausable && p.pause_when_awaiting_client) {
            struct Span {
                int64_t from, to;
                bool open;  // still awaiting the client at `now`
                bool operator<(const Span& o) const { return from < o.from; }
            };
            std::vector<Span> spans;
            for (const auto& sp : c.status_history) {
                if (sp.status != "awaiting_client" || sp.from > now) continue;
                const bool open = sp.to == 0 || sp.to > now;
                spans.push_back({sp.from, open ? now : sp.to, open});
            }
            std::sort(spans.begin(), spans.end());
            for (const auto& [from, to, open] : spans) {
                const int64_t a = std::max(from, start);
                int64_t b = to;
                if (done_at != 0) b = std::min(b, done_at);
                if (a >= due) break;  // already past the deadline when the pause began
                if (done_at != 0 && a >= done_at) break;
                if (b <= a) continue;
                if (business) due = cal.add(b, cal.between(a, due));
                else due += b - a;
                // Paused now only if the pause began before the deadline (a breach is not hidden).
                if (open && done_at == 0) paused_now = true;
            }
        }
        s.due = due;
        if (done_at != 0) s.state = done_at <= due ? StepState::Done : StepState::DoneLate;
        else if (paused_now) s.state = StepState::Paused;
        else if (now > due) s.state = StepState::Overdue;
        else {
            const int64_t left = business ? cal.between(now, due) : due - now;
            s.state = left * 100 < p.due_soon_percent * dur_ms ? StepState::DueSoon : StepState::Pending;
        }
        return s;
    }

    static StepStatus na(const std::string& name) {
        StepStatus s;
        s.step = name;
        s.state = StepState::NotApplicable;
        return s;
    }
};

int64_t clamp_days(int64_t d) { return std::max<int64_t>(0, std::min<int64_t>(d, 100000)); }

}  // namespace

SlaReport evaluate_sla(const CaseState& c, const SlaPolicy& policy, const BusinessCalendar& calendar, int64_t now) {
    SlaReport r;
    r.escalated = !c.escalations.empty();
    const std::string& kind = c.kind;
    const bool aftercare = kind == "aftercare", feedback = kind == "feedback", follow_up = kind == "follow_up",
               improvement = kind == "improvement";
    if (!aftercare && !feedback && !follow_up && !improvement) return r;

    const Cal cal(calendar);
    const int64_t day_ms = std::max<int64_t>(0, calendar.business_day_minutes()) * kMinuteMs;
    const bool closed = vocab::is_closed_status(c.status);
    Evaluator ev{c, policy, cal, now};
    const int64_t hour_ms = 60 * kMinuteMs;

    auto add = [&](StepStatus s) {
        // A resolved/closed case stops its response clocks: open steps there are not applicable.
        if (closed && s.done_at == 0 && s.step != "confirm_satisfaction" && s.step != "improvement")
            s = Evaluator::na(s.step);
        r.steps.push_back(std::move(s));
    };

    if (improvement) {
        if (c.due_at == 0) {
            add(Evaluator::na("improvement"));
        } else {
            const int64_t done = closed ? earliest({c.resolved_at, c.closed_at}) : 0;
            const int64_t start = c.created_at != 0 && c.created_at <= c.due_at ? c.created_at : c.due_at;
            add(ev.make("improvement", start, false, c.due_at - start, done, false));
        }
    } else {
        const int64_t svc = c.service_completed_at != 0 ? c.service_completed_at : c.created_at;
        StepStatus respond;
        bool have_respond = false;
        if (aftercare) {
            add(ev.make("thank_you", svc, false, std::max<int64_t>(0, policy.thank_you_hours) * hour_ms,
                        c.first_contact("thank_you")));
            int64_t first_survey = 0;
            for (const auto& s : c.surveys) first_survey = earliest({first_survey, s.at});
            add(ev.make("survey", svc, false, std::max<int64_t>(0, policy.survey_hours) * hour_ms,
                        earliest({c.first_contact("survey_sent"), first_survey})));
        }
        if (aftercare || follow_up) {
            add(ev.make("follow_up_contact", svc, true, clamp_days(policy.follow_up_business_days) * day_ms,
                        c.first_contact("follow_up_contact")));
        }
        if (feedback) {
            const int64_t responded = earliest({c.first_contact("responded"), c.resolved_at});
            add(ev.make("acknowledge", c.created_at, true, clamp_days(policy.acknowledge_business_days) * day_ms,
                        earliest({c.first_contact("acknowledged"), responded})));
            const int64_t days = c.is_negative() ? policy.respond_negative_business_days : policy.respond_business_days;
            respond = ev.make("respond", c.created_at, true, clamp_days(days) * day_ms, responded);
            add(respond);
            respond = r.steps.back();
            have_respond = true;
        }

        // Escalation: the earliest time a reason became true starts the clock.
        std::vector<std::string> reasons;
        int64_t reason_at = 0;
        auto reason = [&](const std::string& why, int64_t at) {
            reasons.push_back(why);
            if (reason_at == 0 || at < reason_at) reason_at = at;
        };
        if (c.urgent) reason("urgent", c.created_at);
        if (c.high_impact) reason("high impact", c.created_at);
        if (c.priority == "urgent") reason("urgent priority", c.created_at);
        if (c.category == "complaint") reason("complaint", c.created_at);
        int64_t low_at = 0;
        for (const auto& s : c.surveys)
            if ((s.csat >= 1 && s.csat <= 2) || (s.nps >= 0 && s.nps <= 6)) low_at = earliest({low_at, s.at});
        if (low_at != 0) reason("low score", low_at);
        // An overdue response needs escalating; a late response that was escalated is judged too.
        if (have_respond && (respond.state == StepState::Overdue || (respond.state == StepState::DoneLate && r.escalated)))
            reason("response overdue", respond.due);

        int64_t first_esc = 0;
        for (const auto& e : c.escalations) first_esc = earliest({first_esc, e.at});
        if (!reasons.empty()) {
            std::string joined;
            for (const auto& x : reasons) joined += (joined.empty() ? "" : ", ") + x;
            r.escalation_reason = joined;
            add(ev.make("escalate", reason_at, true, clamp_days(policy.escalate_business_days) * day_ms, first_esc));
            r.needs_escalation = !r.escalated && !closed;
        } else if (first_esc != 0) {
            StepStatus s;  // escalated without a listed reason: done at once
            s.step = "escalate";
            s.state = StepState::Done;
            s.start = s.due = s.done_at = first_esc;
            add(s);
        } else {
            add(Evaluator::na("escalate"));
        }

        const int64_t resolved = c.resolved_at != 0 ? c.resolved_at : (c.status == "closed" ? c.closed_at : 0);
        if (resolved != 0) {
            int64_t confirmed = 0;
            for (const auto& f : c.follow_ups)
                if (f.at >= resolved) confirmed = earliest({confirmed, f.at});
            add(ev.make("confirm_satisfaction", resolved, true, clamp_days(policy.confirm_business_days) * day_ms,
                        confirmed));
        } else {
            add(Evaluator::na("confirm_satisfaction"));
        }
    }

    for (const auto& s : r.steps) {
        if (s.state == StepState::Overdue) ++r.overdue_count;
        if (s.state == StepState::DueSoon) ++r.due_soon_count;
        if (s.state == StepState::Pending || s.state == StepState::DueSoon || s.state == StepState::Overdue)
            if (r.next_due == 0 || s.due < r.next_due) r.next_due = s.due;
    }
    return r;
}

// ---- JSON ---------------------------------------------------------------------------------------

std::string calendar_to_json(const BusinessCalendar& c) {
    json::Writer w;
    w.begin_object()
        .kv("tz", c.tz)
        .kv("work_days_mask", c.work_days_mask)
        .kv("day_start_minute", c.day_start_minute)
        .kv("day_end_minute", c.day_end_minute);
    w.key("holidays").begin_array();
    for (const auto& h : c.holidays) w.str(h);
    w.end_array().end_object();
    return w.take();
}

Expected<BusinessCalendar> calendar_from_json(std::string_view text) {
    auto doc = json::parse(text, 1u << 20);
    if (!doc) return doc.error();
    const json::Value& o = doc->root();
    if (!o.IsObject()) return make_error("bad_calendar", "a calendar must be a JSON object");
    const std::string unknown =
        json::unknown_member(o, {"tz", "work_days_mask", "day_start_minute", "day_end_minute", "holidays"});
    if (!unknown.empty()) return make_error("bad_calendar", "unknown calendar field \"" + unknown + "\"");
    BusinessCalendar c;
    auto wrong = [](const char* k, const char* t) {
        return make_error("bad_calendar", std::string("calendar field \"") + k + "\" must be " + t);
    };
    if (json::has(o, "tz") && !json::get(o, "tz", c.tz)) return wrong("tz", "a string");
    if (json::has(o, "work_days_mask") && !json::get(o, "work_days_mask", c.work_days_mask))
        return wrong("work_days_mask", "an integer");
    if (json::has(o, "day_start_minute") && !json::get(o, "day_start_minute", c.day_start_minute))
        return wrong("day_start_minute", "an integer");
    if (json::has(o, "day_end_minute") && !json::get(o, "day_end_minute", c.day_end_minute))
        return wrong("day_end_minute", "an integer");
    if (const json::Value* h = json::member(o, "holidays")) {
        if (!h->IsArray()) return wrong("holidays", "an array of \"YYYY-MM-DD\" strings");
        for (const auto& x : h->GetArray()) {
            if (!x.IsString()) return wrong("holidays", "an array of \"YYYY-MM-DD\" strings");
            c.holidays.emplace_back(x.GetString(), x.GetStringLength());
        }
    }
    Status st = c.validate();
    if (!st) return st.error();
    return c;
}

std::string policy_to_json(const SlaPolicy& p) {
    json::Writer w;
    w.begin_object()
        .kv("thank_you_hours", p.thank_you_hours)
        .kv("survey_hours", p.survey_hours)
        .kv("follow_up_business_days", p.follow_up_business_days)
        .kv("acknowledge_business_days", p.acknowledge_business_days)
        .kv("respond_business_days", p.respond_business_days)
        .kv("respond_negative_business_days", p.respond_negative_business_days)
        .kv("escalate_business_days", p.escalate_business_days)
        .kv("confirm_business_days", p.confirm_business_days)
        .kv("due_soon_percent", p.due_soon_percent)
        .kv("pause_when_awaiting_client", p.pause_when_awaiting_client)
        .end_object();
    return w.take();
}

Expected<SlaPolicy> policy_from_json(std::string_view text) {
    auto doc = json::parse(text, 1u << 20);
    if (!doc) return doc.error();
    const json::Value& o = doc->root();
    if (!o.IsObject()) return make_error("bad_policy", "an SLA policy must be a JSON object");
    SlaPolicy p;
    struct IntField {
        const char* name;
        int64_t* out;
    };
    const IntField ints[] = {
        {"thank_you_hours", &p.thank_you_hours},
        {"survey_hours", &p.survey_hours},
        {"follow_up_business_days", &p.follow_up_business_days},
        {"acknowledge_business_days", &p.acknowledge_business_days},
        {"respond_business_days", &p.respond_business_days},
        {"respond_negative_business_days", &p.respond_negative_business_days},
        {"escalate_business_days", &p.escalate_business_days},
        {"confirm_business_days", &p.confirm_business_days},
        {"due_soon_percent", &p.due_soon_percent},
    };
    std::vector<std::string_view> allowed;
    for (const auto& f : ints) allowed.push_back(f.name);
    allowed.push_back("pause_when_awaiting_client");
    const std::string unknown = json::unknown_member(o, allowed);
    if (!unknown.empty()) return make_error("bad_policy", "unknown policy field \"" + unknown + "\"");
    for (const auto& f : ints)
        if (json::has(o, f.name) && !json::get(o, f.name, *f.out))
            return make_error("bad_policy", std::string("policy field \"") + f.name + "\" must be an integer");
    if (json::has(o, "pause_when_awaiting_client") &&
        !json::get(o, "pause_when_awaiting_client", p.pause_when_awaiting_client))
        return make_error("bad_policy", "policy field \"pause_when_awaiting_client\" must be true or false");
    Status st = p.validate();
    if (!st) return st.error();
    return p;
}

void write_sla(json::Writer& w, const SlaReport& r) {
    w.begin_object()
        .kv("needs_escalation", r.needs_escalation)
        .kv("escalation_reason", r.escalation_reason)
        .kv("escalated", r.escalated)
        .kv("next_due", r.next_due)
        .kv("overdue_count", r.overdue_count)
        .kv("due_soon_count", r.due_soon_count);
    w.key("steps").begin_array();
    for (const auto& s : r.steps)
        w.begin_object()
            .kv("step", s.step)
            .kv("state", step_state_name(s.state))
            .kv("start", s.start)
            .kv("due", s.due)
            .kv("done_at", s.done_at)
            .end_object();
    w.end_array().end_object();
}

}  // namespace cl
