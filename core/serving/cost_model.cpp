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

std::string answer(const VersionSpec& version, const std::string& payload, Random& random) {
  if (random.chance(version.output_noise)) return "noise:" + std::to_string(random.next_u64());
  return "answer:" + std::to_string(stable_hash(payload, stable_hash(version.salt())));
}

}  // namespace tandem::serving
