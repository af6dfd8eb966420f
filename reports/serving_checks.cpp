#include "reports/serving_checks.h"

#include <algorithm>
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

constexpr const char* kNoServing = "no serving service ran (the serving control plane is not wired in yet)";

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

}  // namespace tandem::reports
