#include "core/serving/cost_model.h"

#include <algorithm>
#include <cmath>

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
// A one-letter tag, ':' and the low 52 bits of `value` in 13 hex digits: 15 characters, which std::string keeps
// inline, so the answer allocates nothing at the backend, the proxy or the client (once per request each).
std::string tagged(char tag, uint64_t value) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(15, '0');
  out[0] = tag;
  out[1] = ':';
  for (size_t i = 14; i >= 2; --i, value >>= 4) out[i] = kHex[value & 0xf];
  return out;
}
}  // namespace

uint64_t salt_hash(const VersionSpec& version) { return stable_hash(version.salt()); }

std::string answer(const VersionSpec& version, uint64_t version_salt_hash, const std::string& payload,
                   Random& random) {
  if (random.chance(version.output_noise)) return tagged('n', random.next_u64());  // noise
  return tagged('a', stable_hash(payload, version_salt_hash));
}

}  // namespace tandem::serving
