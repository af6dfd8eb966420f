#include "core/env/time.h"

#include <cstdio>

namespace tandem {

std::string format_duration(Duration d) {
  const int64_t ns = d.count();
  const int64_t magnitude = ns < 0 ? -ns : ns;
  char buffer[48];
  struct Unit {
    int64_t ns;
    const char* suffix;
  };
  static constexpr Unit kUnits[] = {{3'600'000'000'000, "h"}, {60'000'000'000, "min"}, {1'000'000'000, "s"},
                                    {1'000'000, "ms"},        {1'000, "us"}};
  for (const Unit& unit : kUnits) {
    if (magnitude >= unit.ns) {
      if (ns % unit.ns == 0) {
        std::snprintf(buffer, sizeof buffer, "%lld%s", static_cast<long long>(ns / unit.ns), unit.suffix);
        return buffer;
      }
      // Three decimals at most, without trailing zeros: "7.9min", not "7.900min".
      int length = std::snprintf(buffer, sizeof buffer, "%.3f", static_cast<double>(ns) / static_cast<double>(unit.ns));
      while (length > 0 && buffer[length - 1] == '0') --length;
      if (length > 0 && buffer[length - 1] == '.') --length;
      std::snprintf(buffer + length, sizeof buffer - static_cast<size_t>(length), "%s", unit.suffix);
      return buffer;
    }
  }
  std::snprintf(buffer, sizeof buffer, "%lldns", static_cast<long long>(ns));
  return buffer;
}

}  // namespace tandem
