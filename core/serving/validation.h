// Validation of an upgraded instance, as Twitter's Diffy does it: replay recorded requests on the candidate
// and on old instances, and count only the differences beyond the old-vs-old noise; gate like Argo Rollouts /
// Flagger on error rate and p99 too.
//
// Contract: judge() is pure. For each replayed request it sees the candidate's result, the primary (an old
// instance, or the answer recorded live from the old version) and, when a second old instance exists, the
// secondary. It passes when all three hold:
//   candidate error rate - baseline error rate <= max_error_rate_increase
//   diff rate (candidate != primary, both ok) - noise rate (primary != secondary) <= max_diff_rate
//   candidate p99 <= baseline p99 x max_latency_ratio + kLatencySlack
// With no samples at all it passes (nothing to compare; the operator chose to validate an idle service).
// The verdict explains itself in `reason`.
#pragma once

#include <string>
#include <vector>

#include "core/env/time.h"
#include "core/serving/service_spec.h"

namespace tandem::serving {

inline constexpr Duration kLatencySlack = std::chrono::milliseconds(2);

struct ReplayResult {
  bool failed = false;
  std::string answer;
  Duration latency{};
};

struct ReplaySample {
  ReplayResult candidate;
  ReplayResult primary;
  bool has_secondary = false;
  ReplayResult secondary;
};

struct ValidationVerdict {
  bool passed = true;
  uint32_t samples = 0;
  double candidate_error_rate = 0;
  double baseline_error_rate = 0;
  double diff_rate = 0;
  double noise_rate = 0;
  double candidate_p99_ms = 0;
  double baseline_p99_ms = 0;
  std::string reason;
};

ValidationVerdict judge(const std::vector<ReplaySample>& samples, const UpgradePolicy& policy);

}  // namespace tandem::serving
