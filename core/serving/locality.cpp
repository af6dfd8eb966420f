#include "core/serving/locality.h"

#include <algorithm>
#include <cmath>

namespace tandem::serving {

namespace {
double availability(const ClusterView& view, double overprovisioning) {
  if (view.total == 0) return 0;
  return std::min(1.0, overprovisioning * static_cast<double>(view.healthy) / static_cast<double>(view.total));
}
}  // namespace

std::vector<double> cluster_shares(const std::vector<ClusterView>& clusters, const std::string& local,
                                   double overprovisioning) {
  std::vector<double> shares;
  cluster_shares(clusters, local, overprovisioning, shares);
  return shares;
}

void cluster_shares(const std::vector<ClusterView>& clusters, const std::string& local, double overprovisioning,
                    std::vector<double>& shares) {
  const size_t n = clusters.size();
  shares.assign(n, 0.0);
  double fastest = 0;
  for (const ClusterView& view : clusters) {
    if (view.latency_ms > 0 && (fastest == 0 || view.latency_ms < fastest)) fastest = view.latency_ms;
  }
  auto preference = [&](const ClusterView& view) {
    if (fastest == 0 || view.latency_ms <= 0) return 1.0;
    return fastest / view.latency_ms;
  };
  size_t local_index = n;
  bool any_healthy = false;
  for (size_t i = 0; i < n; ++i) {
    if (clusters[i].cluster == local && clusters[i].weight > 0) local_index = i;
    if (clusters[i].weight > 0 && clusters[i].healthy > 0) any_healthy = true;
  }
  if (!any_healthy) {
    // Panic: nothing looks healthy anywhere; spread by weight and let retries sort it out.
    double total = 0;
    for (const ClusterView& view : clusters) total += view.weight;
    if (total == 0) return;
    for (size_t i = 0; i < n; ++i) shares[i] = clusters[i].weight / total;
    return;
  }
  double local_share = 0;
  if (local_index < n) local_share = availability(clusters[local_index], overprovisioning);
  // shares[] holds each remote cluster's pull (weight x availability x preference) until it is normalised.
  double remote_total = 0;
  for (size_t i = 0; i < n; ++i) {
    if (i == local_index) continue;
    shares[i] = clusters[i].weight * availability(clusters[i], overprovisioning) * preference(clusters[i]);
    remote_total += shares[i];
  }
  if (remote_total == 0) {
    // Nowhere to spill: the local cluster keeps everything it can take.
    if (local_index < n) shares[local_index] = 1.0;
    return;
  }
  if (local_index < n) shares[local_index] = local_share;
  const double spill = 1.0 - local_share;
  for (size_t i = 0; i < n; ++i) {
    if (i != local_index) shares[i] = spill * shares[i] / remote_total;
  }
}

bool OutlierDetector::on_failure(State& state, TimePoint now, size_t ejected_in_group, size_t group_size) const {
  ++state.failures_in_a_row;
  if (state.failures_in_a_row < policy_.consecutive_failures) return false;
  if (state.ejected_until > now) return false;
  const double allowed = policy_.max_fraction * static_cast<double>(group_size);
  if (static_cast<double>(ejected_in_group + 1) > allowed + 1e-9) return false;
  ++state.times_ejected;
  const Duration length = std::min(policy_.max, policy_.base * static_cast<int64_t>(state.times_ejected));
  state.ejected_until = now + length;
  state.failures_in_a_row = 0;
  return true;
}

}  // namespace tandem::serving
