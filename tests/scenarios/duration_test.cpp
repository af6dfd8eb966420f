// Scenario durations: "250ms", "10m", "1h30m" parse exactly; bad ones are refused with a fix.
#include "scenarios/duration.h"

#include <rapidcheck.h>
#include <rapidcheck/catch.h>

#include <catch2/catch.hpp>

namespace tandem::scenarios {
namespace {

Duration parsed(std::string_view text, Sign sign = Sign::kNonNegative) {
  Result<Duration> result = parse_duration(text, sign);
  REQUIRE(result.ok());
  return result.value();
}

std::string refusal(std::string_view text, Sign sign = Sign::kNonNegative) {
  Result<Duration> result = parse_duration(text, sign);
  REQUIRE_FALSE(result.ok());
  return result.error().message;
}

TEST_CASE("Duration: units and compound forms parse to exact nanoseconds") {
  CHECK(parsed("250ms") == std::chrono::milliseconds(250));
  CHECK(parsed("10m") == std::chrono::minutes(10));
  CHECK(parsed("10min") == std::chrono::minutes(10));
  CHECK(parsed("1h30m") == std::chrono::minutes(90));
  CHECK(parsed("1.5s") == std::chrono::milliseconds(1500));
  CHECK(parsed("2s500ms") == std::chrono::milliseconds(2500));
  CHECK(parsed("100us") == std::chrono::microseconds(100));
  CHECK(parsed("7ns") == Duration(7));
  CHECK(parsed("0s") == Duration::zero());
  CHECK(parsed("-2s", Sign::kAllowNegative) == -std::chrono::seconds(2));
}

TEST_CASE("Duration: malformed, negative and absurd durations are refused with how to fix them") {
  CHECK(refusal("") ==
        "an empty string is not a duration; write a number with a unit, such as \"250ms\", \"10s\", \"5m\" "
        "or \"1h30m\"");
  CHECK(refusal("5") == "\"5\" has no unit; write \"5s\" for seconds (units: ns, us, ms, s, m, h)");
  CHECK(refusal("1h30") == "\"1h30\" has no unit after 30; every number needs one of ns, us, ms, s, m, h");
  CHECK(refusal("5x") == "\"5x\": unknown unit \"x\"; use ns, us, ms, s, m (minutes) or h");
  CHECK(refusal("-5s") == "\"-5s\" is negative; durations here must be zero or more");
  CHECK(refusal("9000000h") == "\"9000000h\" is too long; a duration may be at most 8760h (a year)");
  CHECK(
      refusal("s") ==
      "\"s\" is not a duration; write a number with a unit, such as \"250ms\", \"10s\", \"5m\" or \"1h30m\"");
}

TEST_CASE("Duration: formatting writes the shortest form that parses back") {
  CHECK(format_scenario_duration(std::chrono::minutes(90)) == "1h30m");
  CHECK(format_scenario_duration(std::chrono::milliseconds(1500)) == "1s500ms");
  CHECK(format_scenario_duration(Duration::zero()) == "0s");
  CHECK(format_scenario_duration(-std::chrono::seconds(2)) == "-2s");
}

TEST_CASE("Duration: any duration up to a year survives format then parse (property)") {
  rc::prop("round trip", [] {
    const auto ns = *rc::gen::inRange<int64_t>(-kMaxScenarioDuration.count(), kMaxScenarioDuration.count());
    const Result<Duration> back =
        parse_duration(format_scenario_duration(Duration(ns)), Sign::kAllowNegative);
    RC_ASSERT(back.ok());
    RC_ASSERT(back.value() == Duration(ns));
  });
}

}  // namespace
}  // namespace tandem::scenarios
