#include "scenarios/duration.h"

#include <cmath>
#include <cstdint>

namespace tandem::scenarios {
namespace {

struct Unit {
  std::string_view suffix;
  int64_t ns;
};
// Longest suffix first among those sharing a prefix ("ms" before "m", "min" before "m").
constexpr Unit kUnits[] = {{"ns", 1},
                           {"us", 1'000},
                           {"ms", 1'000'000},
                           {"min", 60'000'000'000},
                           {"s", 1'000'000'000},
                           {"m", 60'000'000'000},
                           {"h", 3'600'000'000'000}};

Error invalid(std::string message) { return make_error(Errc::kInvalidArgument, std::move(message)); }

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

Result<Duration> parse_duration(std::string_view text, Sign sign) {
  constexpr std::string_view kHowTo =
      "write a number with a unit, such as \"250ms\", \"10s\", \"5m\" or \"1h30m\"";
  if (text.empty()) return invalid("an empty string is not a duration; " + std::string(kHowTo));
  std::string_view rest = text;
  bool negative = false;
  if (rest.front() == '-' || rest.front() == '+') {
    negative = rest.front() == '-';
    if (negative && sign == Sign::kNonNegative) {
      return invalid(quoted(text) + " is negative; durations here must be zero or more");
    }
    rest.remove_prefix(1);
  }
  if (rest.empty()) return invalid(quoted(text) + " is not a duration; " + std::string(kHowTo));
  // Accumulate in long double nanoseconds: exact for every value below the limit that has at most nanosecond
  // precision, and it cannot overflow before the limit check.
  long double total_ns = 0;
  while (!rest.empty()) {
    size_t digits = 0;
    bool seen_point = false;
    while (digits < rest.size() && (is_digit(rest[digits]) || (rest[digits] == '.' && !seen_point))) {
      seen_point |= rest[digits] == '.';
      ++digits;
    }
    const std::string_view number = rest.substr(0, digits);
    if (number.empty() || number == ".") {
      return invalid(quoted(text) + " is not a duration; " + std::string(kHowTo));
    }
    if (digits > 18) return invalid(quoted(text) + " has a number too long to be a duration");
    rest.remove_prefix(digits);
    size_t letters = 0;
    while (letters < rest.size() && !is_digit(rest[letters]) && rest[letters] != '.') ++letters;
    const std::string_view suffix = rest.substr(0, letters);
    if (suffix.empty()) {
      if (number.size() == text.size()) {
        return invalid(quoted(text) + " has no unit; write \"" + std::string(text) +
                       "s\" for seconds (units: ns, us, ms, s, m, h)");
      }
      return invalid(quoted(text) + " has no unit after " + std::string(number) +
                     "; every number needs one of ns, us, ms, s, m, h");
    }
    const Unit* unit = nullptr;
    for (const Unit& candidate : kUnits) {
      if (candidate.suffix == suffix) unit = &candidate;
    }
    if (unit == nullptr) {
      return invalid(quoted(text) + ": unknown unit " + quoted(suffix) +
                     "; use ns, us, ms, s, m (minutes) or h");
    }
    rest.remove_prefix(letters);
    long double value = 0;
    long double scale = 0;
    for (char c : number) {
      if (c == '.') {
        scale = 1;
        continue;
      }
      value = value * 10 + (c - '0');
      if (scale > 0) scale *= 10;
    }
    if (scale > 0) value /= scale;
    total_ns += value * static_cast<long double>(unit->ns);
    if (total_ns > static_cast<long double>(kMaxScenarioDuration.count())) {
      return invalid(quoted(text) + " is too long; a duration may be at most " +
                     format_scenario_duration(kMaxScenarioDuration) + " (a year)");
    }
  }
  const auto ns = static_cast<int64_t>(std::llroundl(total_ns));
  return Duration(negative ? -ns : ns);
}

std::string format_scenario_duration(Duration duration) {
  int64_t ns = duration.count();
  if (ns == 0) return "0s";
  std::string out;
  if (ns < 0) {
    out = "-";
    ns = -ns;
  }
  struct Part {
    int64_t ns;
    const char* suffix;
  };
  static constexpr Part kParts[] = {{3'600'000'000'000, "h"}, {60'000'000'000, "m"}, {1'000'000'000, "s"},
                                    {1'000'000, "ms"},        {1'000, "us"},         {1, "ns"}};
  for (const Part& part : kParts) {
    if (ns >= part.ns) {
      out += std::to_string(ns / part.ns) + part.suffix;
      ns %= part.ns;
    }
  }
  return out;
}

}  // namespace tandem::scenarios
