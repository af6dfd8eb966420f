// format_duration: the largest unit that fits, whole counts without decimals, fractions without trailing zeros.
#include <catch2/catch.hpp>

#include "core/env/time.h"

namespace tandem {
namespace {

using namespace std::chrono_literals;

TEST_CASE("format_duration: largest unit, at most three decimals, no trailing zeros") {
  CHECK(format_duration(0ns) == "0ns");
  CHECK(format_duration(750ns) == "750ns");
  CHECK(format_duration(250ms) == "250ms");
  CHECK(format_duration(2s) == "2s");
  CHECK(format_duration(1500ms) == "1.5s");
  CHECK(format_duration(1250us) == "1.25ms");
  CHECK(format_duration(474s) == "7.9min");
  CHECK(format_duration(90min) == "1.5h");
  CHECK(format_duration(1h + 1ms) == "1h");  // below the third decimal of an hour
  CHECK(format_duration(-1500ms) == "-1.5s");
  CHECK(format_duration(1001ms) == "1.001s");
}

}  // namespace
}  // namespace tandem
