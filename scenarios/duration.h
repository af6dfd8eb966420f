// Durations as scenario files write them: "250ms", "10s", "10m", "1h30m", "1.5s".
//
// Contract: parse_duration() accepts one or more <number><unit> parts, largest unit first or not, with units
// ns, us, ms, s, m (minutes), min, h; numbers may have a fraction ("1.5s"). The result is exact integer
// nanoseconds (fractions are rounded to the nearest nanosecond). Refused, with a sentence that says how to
// fix it: an empty string, a bare number, an unknown unit, a negative value (unless the caller allows a sign,
// as a clock skew does) and anything longer than kMaxScenarioDuration. format_scenario_duration() writes the
// shortest string that parses back to the same value ("1h30m", "250ms", "1.5s" is written "1s500ms").
#pragma once

#include <string>
#include <string_view>

#include "core/common/result.h"
#include "core/env/time.h"

namespace tandem::scenarios {

// No duration in a scenario may exceed this (a year of simulated time is already absurd for one run).
inline constexpr Duration kMaxScenarioDuration = std::chrono::hours(24 * 365);

enum class Sign : uint8_t { kNonNegative, kAllowNegative };

Result<Duration> parse_duration(std::string_view text, Sign sign = Sign::kNonNegative);

std::string format_scenario_duration(Duration duration);

}  // namespace tandem::scenarios
