#include "core/serving/validation.h"

#include <algorithm>
#include <cstdio>

namespace tandem::serving {

namespace {
double p99_ms(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, (values.size() * 99) / 100)];
}

std::string percent(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f%%", value * 100);
  return buffer;
}
}  // namespace

ValidationVerdict judge(const std::vector<ReplaySample>& samples, const UpgradePolicy& policy) {
  ValidationVerdict verdict;
  verdict.samples = static_cast<uint32_t>(samples.size());
  if (samples.empty()) {
    verdict.reason = "no samples to replay";
    return verdict;
  }
  uint32_t candidate_errors = 0;
  uint32_t baseline_errors = 0;
  uint32_t baseline_count = 0;
  uint32_t compared = 0;
  uint32_t diffs = 0;
  uint32_t noise_compared = 0;
  uint32_t noise = 0;
  std::vector<double> candidate_latency;
  std::vector<double> baseline_latency;
  for (const ReplaySample& sample : samples) {
    if (sample.candidate.failed) {
      ++candidate_errors;
    } else {
      candidate_latency.push_back(to_ms(sample.candidate.latency));
    }
    ++baseline_count;
    if (sample.primary.failed) {
      ++baseline_errors;
    } else if (sample.primary.latency > Duration::zero()) {
      baseline_latency.push_back(to_ms(sample.primary.latency));
    }
    if (!sample.candidate.failed && !sample.primary.failed) {
      ++compared;
      if (sample.candidate.answer != sample.primary.answer) ++diffs;
    }
    if (sample.has_secondary) {
      ++baseline_count;
      if (sample.secondary.failed) {
        ++baseline_errors;
      } else {
        baseline_latency.push_back(to_ms(sample.secondary.latency));
      }
      if (!sample.primary.failed && !sample.secondary.failed) {
        ++noise_compared;
        if (sample.primary.answer != sample.secondary.answer) ++noise;
      }
    }
  }
  verdict.candidate_error_rate = static_cast<double>(candidate_errors) / static_cast<double>(samples.size());
  verdict.baseline_error_rate = static_cast<double>(baseline_errors) / static_cast<double>(baseline_count);
  verdict.diff_rate = compared == 0 ? 0 : static_cast<double>(diffs) / static_cast<double>(compared);
  verdict.noise_rate = noise_compared == 0 ? 0 : static_cast<double>(noise) / static_cast<double>(noise_compared);
  verdict.candidate_p99_ms = p99_ms(candidate_latency);
  verdict.baseline_p99_ms = p99_ms(baseline_latency);

  std::string reason;
  if (verdict.candidate_error_rate - verdict.baseline_error_rate > policy.max_error_rate_increase) {
    reason += "error rate " + percent(verdict.candidate_error_rate) + " vs " + percent(verdict.baseline_error_rate) +
              " for the old version; ";
  }
  if (verdict.diff_rate - verdict.noise_rate > policy.max_diff_rate) {
    reason += "answers differ on " + percent(verdict.diff_rate) + " of requests (old-vs-old noise " +
              percent(verdict.noise_rate) + "); ";
  }
  if (!baseline_latency.empty() && !candidate_latency.empty() &&
      verdict.candidate_p99_ms > verdict.baseline_p99_ms * policy.max_latency_ratio + to_ms(kLatencySlack)) {
    char buffer[96];
    std::snprintf(buffer, sizeof buffer, "p99 %.2fms vs %.2fms for the old version; ", verdict.candidate_p99_ms,
                  verdict.baseline_p99_ms);
    reason += buffer;
  }
  verdict.passed = reason.empty();
  verdict.reason = verdict.passed ? "passed on " + std::to_string(samples.size()) + " replayed requests"
                                  : "validation failed: " + reason.substr(0, reason.size() - 2);
  return verdict;
}

}  // namespace tandem::serving
