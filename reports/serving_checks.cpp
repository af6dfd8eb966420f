#include "reports/serving_checks.h"

#include <algorithm>
#include <deque>
#include <map>
#include <tuple>

namespace tandem::reports {
namespace {

CheckResult not_evaluated(std::string name, std::string reason, std::string expected) {
  CheckResult result;
  result.name = std::move(name);
  result.status = CheckStatus::kNotEvaluated;
  result.summary = std::move(reason);
  result.expected = std::move(expected);
  return result;
}

constexpr const char* kNoServing = "no serving service ran";
constexpr uint32_t kMaxPathValues = 12;  // values of the replica target quoted in a flapping summary

}  // namespace

CheckResult check_upgrade_safety(const ServingRecord& record) {
  const std::string expected =
      "never more instances unavailable than the policy allows; a failed validation ends on the old version";
  if (!record.present) return not_evaluated("upgrade_safety", kNoServing, expected);
  if (record.upgrade_unavailability.empty() && record.upgrades.empty()) {
    return not_evaluated("upgrade_safety", "no upgrade happened in this run", expected);
  }
  CheckResult result;
  result.name = "upgrade_safety";
  result.expected = expected;
  uint32_t worst_excess = 0;
  size_t violations = 0;
  for (const ServingRecord::UnavailableSample& sample : record.upgrade_unavailability) {
    if (sample.unavailable > sample.allowed) {
      ++violations;
      worst_excess = std::max(worst_excess, sample.unavailable - sample.allowed);
    }
  }
  size_t bad_rollbacks = 0;
  for (const ServingRecord::UpgradeOutcome& upgrade : record.upgrades) {
    if (upgrade.validation_failed && upgrade.instances_on_old_version != upgrade.instances) ++bad_rollbacks;
  }
  result.status = violations == 0 && bad_rollbacks == 0 ? CheckStatus::kPass : CheckStatus::kFail;
  result.summary = std::to_string(violations) + " samples over the unavailability limit (worst by " +
                   std::to_string(worst_excess) + "), " + std::to_string(bad_rollbacks) +
                   " failed validations not fully rolled back, over " +
                   std::to_string(record.upgrades.size()) + " upgrades";
  result.figures = {
      {"violations", violations}, {"worst_excess", worst_excess}, {"bad_rollbacks", bad_rollbacks}};
  return result;
}

CheckResult check_single_acting_appmaster(const ServingRecord& record) {
  const std::string expected = "at most one AppMaster acts for a service in a cluster at any time";
  if (!record.present) return not_evaluated("single_acting_appmaster", kNoServing, expected);
  if (record.appmaster_acting.empty()) {
    return not_evaluated("single_acting_appmaster", "no AppMaster acting intervals were recorded", expected);
  }
  std::map<std::pair<std::string, std::string>, std::vector<const ServingRecord::ActingInterval*>> by_key;
  for (const auto& interval : record.appmaster_acting)
    by_key[{interval.service, interval.cluster}].push_back(&interval);
  size_t overlaps = 0;
  for (auto& [key, intervals] : by_key) {
    std::sort(intervals.begin(), intervals.end(), [](const auto* a, const auto* b) {
      return std::tie(a->start_ns, a->epoch) < std::tie(b->start_ns, b->epoch);
    });
    int64_t acting_until = INT64_MIN;
    for (const auto* interval : intervals) {
      if (interval->start_ns < acting_until) ++overlaps;
      acting_until = std::max(acting_until, interval->end_ns.value_or(INT64_MAX));
    }
  }
  CheckResult result;
  result.name = "single_acting_appmaster";
  result.expected = expected;
  result.status = overlaps == 0 ? CheckStatus::kPass : CheckStatus::kFail;
  result.summary = std::to_string(overlaps) + " overlapping acting intervals over " +
                   std::to_string(by_key.size()) + " (service, cluster) pairs";
  result.figures = {{"overlaps", overlaps}, {"intervals", record.appmaster_acting.size()}};
  return result;
}

CheckResult check_discovery_convergence(const ServingRecord& record, Duration within) {
  const std::string expected =
      "discovery lists exactly the live proxies within " + format_duration(within) + " of each failure";
  if (!record.present) return not_evaluated("discovery_convergence", kNoServing, expected);
  if (record.discovery.empty()) {
    return not_evaluated("discovery_convergence", "no failure affected discovery in this run", expected);
  }
  size_t slow = 0;
  int64_t worst_ns = 0;
  for (const ServingRecord::DiscoveryLag& lag : record.discovery) {
    if (!lag.converged_ns) {
      ++slow;
      continue;
    }
    const int64_t took = *lag.converged_ns - lag.failure_ns;
    worst_ns = std::max(worst_ns, took);
    if (took > within.count()) ++slow;
  }
  CheckResult result;
  result.name = "discovery_convergence";
  result.expected = expected;
  result.status = slow == 0 ? CheckStatus::kPass : CheckStatus::kFail;
  result.summary = "worst " + format_duration(Duration(worst_ns)) + " over " +
                   std::to_string(record.discovery.size()) + " failures; " + std::to_string(slow) +
                   " too slow";
  result.figures = {{"failures", record.discovery.size()},
                    {"slow", slow},
                    {"worst_ms", static_cast<double>(worst_ns) / 1e6}};
  return result;
}

CheckResult check_autoscaler_bounds(const ServingRecord& record) {
  const std::string expected = "replica counts stay within the autoscaler's [min, max]";
  if (!record.present) return not_evaluated("autoscaler_bounds", kNoServing, expected);
  if (record.replicas.empty()) {
    return not_evaluated("autoscaler_bounds", "no replica counts were recorded", expected);
  }
  size_t outside = 0;
  for (const ServingRecord::ReplicaSample& sample : record.replicas) {
    if (sample.replicas < sample.min_replicas || sample.replicas > sample.max_replicas) ++outside;
  }
  CheckResult result;
  result.name = "autoscaler_bounds";
  result.expected = expected;
  result.status = outside == 0 ? CheckStatus::kPass : CheckStatus::kFail;
  result.summary = std::to_string(outside) + " of " + std::to_string(record.replicas.size()) +
                   " replica samples outside the bounds";
  result.figures = {{"samples", record.replicas.size()}, {"outside", outside}};
  return result;
}

CheckResult check_autoscaler_flapping(const ServingRecord& record, const FlappingExpectation& expectation) {
  const std::string expected = "the replica target reverses direction at most " +
                               std::to_string(expectation.max_direction_changes) + " times within any " +
                               format_duration(expectation.window);
  if (!record.present) return not_evaluated("autoscaler_flapping", kNoServing, expected);
  if (record.replicas.empty()) {
    return not_evaluated("autoscaler_flapping", "no replica counts were recorded (is autoscaling off?)", expected);
  }
  // Per service@cluster, in time order (samples arrive in time order), the times the target reversed.
  std::map<std::string, std::vector<const ServingRecord::ReplicaSample*>> by_service;
  for (const ServingRecord::ReplicaSample& sample : record.replicas) by_service[sample.service].push_back(&sample);
  size_t reversals = 0;
  size_t worst = 0;
  std::string worst_service;
  int64_t worst_from_ns = 0;
  int64_t worst_to_ns = 0;
  std::string worst_path;  // the target's values over the worst window: "4 -> 9 -> 5 -> 8"
  for (const auto& [service, samples] : by_service) {
    int direction = 0;  // +1 rising, -1 falling, 0 not moved yet
    std::deque<size_t> in_window;  // indexes (into samples) of reversals within the window ending now
    for (size_t i = 1; i < samples.size(); ++i) {
      const uint32_t before = samples[i - 1]->replicas;
      const uint32_t now = samples[i]->replicas;
      if (now == before) continue;
      const int moved = now > before ? 1 : -1;
      const bool reversed = direction != 0 && moved != direction;
      direction = moved;
      if (!reversed) continue;
      ++reversals;
      const int64_t at_ns = samples[i]->time_ns;
      in_window.push_back(i);
      while (samples[in_window.front()]->time_ns <= at_ns - expectation.window.count()) in_window.pop_front();
      if (in_window.size() <= worst) continue;
      worst = in_window.size();
      worst_service = service;
      worst_from_ns = samples[in_window.front()]->time_ns;
      worst_to_ns = at_ns;
      // The values from just before the first reversal of the window to the last, changes only.
      worst_path.clear();
      uint32_t shown = 0;
      for (size_t k = in_window.front() - 1; k <= i; ++k) {
        if (k != in_window.front() - 1 && samples[k]->replicas == samples[k - 1]->replicas) continue;
        if (++shown > kMaxPathValues) {
          worst_path += " -> ...";
          break;
        }
        worst_path += (worst_path.empty() ? "" : " -> ") + std::to_string(samples[k]->replicas);
      }
    }
  }
  CheckResult result;
  result.name = "autoscaler_flapping";
  result.expected = expected;
  result.status = worst <= expectation.max_direction_changes ? CheckStatus::kPass : CheckStatus::kFail;
  if (worst == 0) {
    result.summary = "the replica target never reversed direction (" + std::to_string(by_service.size()) +
                     " service clusters, " + std::to_string(record.replicas.size()) + " samples)";
  } else {
    const std::string when = worst_from_ns == worst_to_ns
                                 ? "at " + format_duration(Duration(worst_to_ns))
                                 : "between " + format_duration(Duration(worst_from_ns)) + " and " +
                                       format_duration(Duration(worst_to_ns));
    result.summary = "worst " + std::to_string(worst) + " reversals within " +
                     format_duration(expectation.window) + " (" +
                     std::to_string(expectation.max_direction_changes) + " allowed): " + worst_service + " " +
                     when + " (target " + worst_path + "); " + std::to_string(reversals) + " reversals in all";
  }
  result.figures = {{"reversals", reversals},
                    {"worst_in_window", worst},
                    {"allowed_in_window", expectation.max_direction_changes},
                    {"window_seconds", to_seconds(expectation.window)},
                    {"samples", record.replicas.size()}};
  if (worst > 0) {
    result.figures["worst_service"] = worst_service;
    result.figures["worst_from_seconds"] = static_cast<double>(worst_from_ns) / 1e9;
    result.figures["worst_to_seconds"] = static_cast<double>(worst_to_ns) / 1e9;
  }
  return result;
}

}  // namespace tandem::reports
