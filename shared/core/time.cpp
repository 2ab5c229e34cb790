#include "core/time.h"

#include <chrono>
#include <cstdio>

namespace cl {

int64_t wall_now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// Howard Hinnant's civil date algorithms.
int64_t days_from_civil(int y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

CivilDate civil_from_days(int64_t z) {
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t y = static_cast<int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    return CivilDate{static_cast<int>(y + (m <= 2)), m, d};
}

int weekday_from_days(int64_t z) { return static_cast<int>(z >= -4 ? (z + 4) % 7 : (z + 5) % 7 + 6); }

static int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

std::string format_utc(int64_t ms) {
    int64_t days = floor_div(ms, kDayMs);
    int64_t rem = ms - days * kDayMs;
    CivilDate d = civil_from_days(days);
    int h = static_cast<int>(rem / kHourMs), mi = static_cast<int>(rem / kMinuteMs % 60), s = static_cast<int>(rem / 1000 % 60);
    int milli = static_cast<int>(rem % 1000);
    char buf[40];
    if (milli) std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", d.year, d.month, d.day, h, mi, s, milli);
    else std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", d.year, d.month, d.day, h, mi, s);
    return buf;
}

std::string format_date(int64_t ms) {
    CivilDate d = civil_from_days(floor_div(ms, kDayMs));
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", d.year, d.month, d.day);
    return buf;
}

bool parse_utc(const std::string& t, int64_t& out) {
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
    auto digits = [&](size_t pos, size_t n, int& v) {
        if (pos + n > t.size()) return false;
        v = 0;
        for (size_t i = pos; i < pos + n; ++i) {
            if (t[i] < '0' || t[i] > '9') return false;
            v = v * 10 + (t[i] - '0');
        }
        return true;
    };
    if (!digits(0, 4, y) || t.size() < 10 || t[4] != '-' || !digits(5, 2, mo) || t[7] != '-' || !digits(8, 2, d)) return false;
    if (mo < 1 || mo > 12 || d < 1 || d > 31) return false;
    size_t pos = 10;
    if (t.size() > 10) {
        if (t[10] != 'T' && t[10] != ' ') return false;
        if (!digits(11, 2, h) || t.size() < 16 || t[13] != ':' || !digits(14, 2, mi)) return false;
        pos = 16;
        if (t.size() > 16 && t[16] == ':') {
            if (!digits(17, 2, s)) return false;
            pos = 19;
        }
        if (pos < t.size() && t[pos] == 'Z') ++pos;
        if (h > 23 || mi > 59 || s > 60) return false;
    }
    if (pos != t.size()) return false;
    // reject impossible dates such as 2023-02-30
    CivilDate back = civil_from_days(days_from_civil(y, mo, d));
    if (back.year != y || static_cast<int>(back.month) != mo || static_cast<int>(back.day) != d) return false;
    out = days_from_civil(y, mo, d) * kDayMs + h * kHourMs + mi * kMinuteMs + s * 1000LL;
    return true;
}

}  // namespace cl
