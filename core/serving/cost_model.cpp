#include "core/serving/cost_model.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>

namespace tandem::serving {

Duration sample_service_time(const ServiceTime& time, Random& random) {
  const double median_ns = static_cast<double>(to_ns(time.median));
  double ns = median_ns;
  switch (time.shape) {
    case LatencyShape::kConstant: break;
    case LatencyShape::kLognormal: ns = random.lognormal(std::log(median_ns), time.sigma); break;
    case LatencyShape::kPareto: ns = random.pareto(median_ns, time.alpha); break;
  }
  ns = std::clamp(ns, 1'000.0, median_ns * 100.0 + 1'000.0);
  return Duration(static_cast<int64_t>(ns));
}

bool sample_error(const VersionSpec& version, Random& random) { return random.chance(version.error_rate); }

namespace {
// prefix + the decimal digits of value, built in place: one string, no temporaries (once per request).
std::string tagged(std::string_view prefix, uint64_t value) {
  char buffer[32];
  std::memcpy(buffer, prefix.data(), prefix.size());
  char* end = std::to_chars(buffer + prefix.size(), buffer + sizeof buffer, value).ptr;
  return std::string(buffer, end);
}
}  // namespace

uint64_t salt_hash(const VersionSpec& version) { return stable_hash(version.salt()); }

std::string answer(const VersionSpec& version, uint64_t version_salt_hash, const std::string& payload,
                   Random& random) {
  if (random.chance(version.output_noise)) return tagged("noise:", random.next_u64());
  return tagged("answer:", stable_hash(payload, version_salt_hash));
}

}  // namespace tandem::serving
