// Locality-aware cluster shares and outlier ejection: the pure arithmetic of ServingClient's load balancing.
//
// Contract:
// - cluster_shares() follows Envoy's locality rule. A cluster's availability is min(1, overprovisioning x
//   healthy / total) (overprovisioning 1.4 by default). The local cluster keeps all traffic while its
//   availability is 1 (1.4 x healthy share >= 100%); otherwise it keeps its availability as its share and the
//   deficit spills to the other clusters in proportion to weight x availability x latency preference
//   (fastest / own EWMA latency, so nearer clusters get more of the spill). A cluster with weight 0 gets
//   nothing. With no local cluster, every cluster shares by weight x availability. When no cluster has any
//   healthy instance, the shares fall back to weight alone (Envoy's panic mode: trying beats refusing).
//   Shares sum to 1 unless every weight is 0 (then all 0).
// - OutlierDetector ejects an instance after `consecutive_failures` failures in a row, for base x (times
//   ejected so far) capped at `max`; a success resets the run. At most max_fraction of a group may be ejected
//   at once. Pure: times are passed in.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/env/time.h"

namespace tandem::serving {

struct ClusterView {
  std::string cluster;
  uint32_t weight = 0;
  uint32_t healthy = 0;
  uint32_t total = 0;
  double latency_ms = 0;  // EWMA of recent requests; 0 = unknown
};

std::vector<double> cluster_shares(const std::vector<ClusterView>& clusters, const std::string& local,
                                   double overprovisioning = 1.4);
// The same into `shares` (resized to clusters.size()), for a caller that keeps the vector between requests.
void cluster_shares(const std::vector<ClusterView>& clusters, const std::string& local, double overprovisioning,
                    std::vector<double>& shares);

struct OutlierPolicy {
  uint32_t consecutive_failures = 5;
  Duration base = std::chrono::seconds(2);
  Duration max = std::chrono::seconds(30);
  double max_fraction = 1.0;
};

class OutlierDetector {
 public:
  struct State {
    uint32_t failures_in_a_row = 0;
    uint32_t times_ejected = 0;
    TimePoint ejected_until{};
  };

  explicit OutlierDetector(OutlierPolicy policy) : policy_(policy) {}

  bool ejected(const State& state, TimePoint now) const { return state.ejected_until > now; }
  void on_success(State& state) const { state.failures_in_a_row = 0; }
  // Records a failure; ejects when the run is long enough and `ejected_in_group + 1 <= max_fraction x group`.
  // True when this call ejected the instance.
  bool on_failure(State& state, TimePoint now, size_t ejected_in_group, size_t group_size) const;

 private:
  OutlierPolicy policy_;
};

}  // namespace tandem::serving
