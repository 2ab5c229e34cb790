// Time helpers: UTC milliseconds since the epoch everywhere; civil-date conversion without a
// time zone database (the browser build has none).
#pragma once
#include <cstdint>
#include <string>

namespace cl {

int64_t wall_now_ms();

struct CivilDate { int year = 1970; unsigned month = 1, day = 1; };
int64_t days_from_civil(int y, unsigned m, unsigned d);
CivilDate civil_from_days(int64_t days);
int weekday_from_days(int64_t days);  // 0 = Sunday

// "2024-06-17T09:30:00Z" (UTC). Milliseconds are omitted when zero.
std::string format_utc(int64_t ms);
// "2024-06-17"
std::string format_date(int64_t ms);
// Parses "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM[:SS][Z]" as UTC; returns false when malformed.
bool parse_utc(const std::string& text, int64_t& ms);

inline constexpr int64_t kMinuteMs = 60 * 1000;
inline constexpr int64_t kHourMs = 60 * kMinuteMs;
inline constexpr int64_t kDayMs = 24 * kHourMs;

}  // namespace cl
