// Autoscaler: how many backends a cluster should run for the load it sees — reactive in the style of
// Knative's KPA (and Ray Serve's target ongoing requests), plus an optional Holt-Winters forecast that scales
// ahead of a recurring (daily) peak so new instances have finished provisioning and starting by then.
//
// Contract (pure; the AppMaster feeds it on every tick and applies the answer):
// - observe(now, concurrency) records the requests in flight and queued across the cluster's proxies.
//   Samples older than the stable window are dropped (and at most kMaxAutoscaleSamples are kept).
// - desire(now, current):
//     stable  = ceil(mean concurrency over the stable window / target_concurrency)
//     panic   = ceil(mean over the panic window / target)
//   Panic mode starts when panic >= panic_threshold x current and lasts a stable window from the last time
//   that held; while panicking the answer never goes below current or the highest panic answer so far
//   (KPA never scales down in panic). Otherwise the answer is `stable`, and on the way down the highest answer
//   within scale_down_delay wins (no flapping). Predictive mode raises the answer to
//   ceil(highest forecast over [now, now + lead_time] / target): what is asked for now is ready by the end of
//   the lead time, and capacity asked for a coming peak is not given back before the peak has passed. Then the rates apply: at most ceil(current x max_scale_up_rate),
//   at least floor(current / max_scale_down_rate); and finally [min_replicas, max_replicas] — always.
// - With current = 0 and any load, the answer is at least 1 (scale from zero), still within the bounds.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <utility>
#include <vector>

#include "core/env/time.h"
#include "core/serving/service_spec.h"

namespace tandem::serving {

inline constexpr size_t kMaxAutoscaleSamples = 100'000;

// Additive Holt-Winters over fixed buckets of one season.
class HoltWinters {
 public:
  HoltWinters(Duration season, uint32_t buckets, double alpha, double beta, double gamma);
  void observe(TimePoint now, double value);
  // The forecast for `when` (>= the last observation); nullopt until one full season has been seen.
  std::optional<double> forecast(TimePoint when) const;
  // The highest forecast over [from, to], bucket by bucket: capacity must be there for the whole window.
  std::optional<double> forecast_max(TimePoint from, TimePoint to) const;

 private:
  void close_bucket(int64_t bucket, double value);
  Duration bucket_length_;
  uint32_t buckets_;
  double alpha_;
  double beta_;
  double gamma_;
  int64_t current_bucket_ = -1;
  double bucket_sum_ = 0;
  uint32_t bucket_count_ = 0;
  int64_t first_bucket_ = -1;
  bool initialised_ = false;
  std::vector<double> first_season_;
  double level_ = 0;
  double trend_ = 0;
  std::vector<double> seasonal_;
  int64_t last_closed_ = -1;
};

class Autoscaler {
 public:
  explicit Autoscaler(AutoscalePolicy policy);

  void observe(TimePoint now, double concurrency);
  int32_t desire(TimePoint now, int32_t current);
  bool panicking(TimePoint now) const { return now < panic_until_; }
  std::optional<double> forecast(TimePoint when) const;
  const AutoscalePolicy& policy() const { return policy_; }

 private:
  double mean_since(TimePoint since) const;
  AutoscalePolicy policy_;
  std::deque<std::pair<TimePoint, double>> samples_;
  TimePoint panic_until_{};
  int32_t panic_high_ = 0;
  std::deque<std::pair<TimePoint, int32_t>> recent_;  // answers within scale_down_delay
  std::optional<HoltWinters> forecaster_;
};

}  // namespace tandem::serving
