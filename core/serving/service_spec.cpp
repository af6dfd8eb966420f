#include "core/serving/service_spec.h"

#include <cmath>
#include <set>

namespace tandem::serving {

std::string_view latency_shape_name(LatencyShape shape) {
  switch (shape) {
    case LatencyShape::kConstant: return "constant";
    case LatencyShape::kLognormal: return "lognormal";
    case LatencyShape::kPareto: return "pareto";
  }
  return "unknown";
}

std::string_view autoscale_mode_name(AutoscaleMode mode) {
  switch (mode) {
    case AutoscaleMode::kOff: return "off";
    case AutoscaleMode::kReactive: return "reactive";
    case AutoscaleMode::kPredictive: return "predictive";
  }
  return "unknown";
}

namespace {

bool name_char_ok(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.';
}

std::string name_problem(std::string_view name) {
  if (name.empty()) return "must not be empty";
  if (name.size() > kMaxServiceNameBytes) return "is longer than " + std::to_string(kMaxServiceNameBytes) + " bytes";
  for (char c : name) {
    if (!name_char_ok(c)) return "may contain only letters, digits, '-', '_' and '.'";
  }
  return "";
}

// Collects problems, each "field: what is wrong".
class Problems {
 public:
  void add(std::string field, std::string problem) { items_.push_back(std::move(field) + ": " + std::move(problem)); }
  void check(bool ok, std::string field, std::string problem) {
    if (!ok) add(std::move(field), std::move(problem));
  }
  bool empty() const { return items_.empty(); }
  std::string join() const {
    std::string out;
    for (const std::string& item : items_) {
      if (!out.empty()) out += "; ";
      out += item;
    }
    return out;
  }

 private:
  std::vector<std::string> items_;
};

bool fraction(double value) { return std::isfinite(value) && value >= 0 && value <= 1; }
bool positive(double value) { return std::isfinite(value) && value > 0; }

void check_version(const VersionSpec& version, const std::string& at, Problems& problems) {
  if (std::string problem = name_problem(version.name); !problem.empty()) problems.add(at + ".name", problem);
  const ServiceTime& latency = version.latency;
  problems.check(latency.median > Duration::zero(), at + ".latency.median", "must be positive");
  problems.check(latency.median <= std::chrono::minutes(10), at + ".latency.median", "must be at most 10min");
  if (latency.shape == LatencyShape::kLognormal) {
    problems.check(std::isfinite(latency.sigma) && latency.sigma >= 0 && latency.sigma <= 5, at + ".latency.sigma",
                   "must be in [0, 5]");
  }
  if (latency.shape == LatencyShape::kPareto) {
    problems.check(std::isfinite(latency.alpha) && latency.alpha > 1 && latency.alpha <= 100, at + ".latency.alpha",
                   "must be in (1, 100] (a tail index <= 1 has no mean)");
  }
  problems.check(fraction(version.error_rate), at + ".error_rate", "must be in [0, 1]");
  problems.check(fraction(version.output_noise), at + ".output_noise", "must be in [0, 1]");
  problems.check(version.startup >= Duration::zero() && version.startup <= std::chrono::hours(1), at + ".startup",
                 "must be in [0, 1h]");
  problems.check(version.reload >= Duration::zero() && version.reload <= std::chrono::hours(1), at + ".reload",
                 "must be in [0, 1h]");
  problems.check(version.broken_in.size() <= kMaxClustersPerService, at + ".broken_in",
                 "at most " + std::to_string(kMaxClustersPerService) + " clusters");
  problems.check(version.concurrency >= 1 && version.concurrency <= kMaxBackendConcurrency, at + ".concurrency",
                 "must be in [1, " + std::to_string(kMaxBackendConcurrency) + "]");
}

void check_upgrade(const UpgradePolicy& policy, Problems& problems) {
  problems.check(policy.step >= 1, "upgrade.step", "must be at least 1 (instances per batch)");
  problems.check(policy.max_unavailable > 0 || policy.max_surge > 0, "upgrade.max_unavailable",
                 "max_unavailable and max_surge are both 0: no instance could ever be upgraded; allow at least one");
  problems.check(policy.max_unavailable <= static_cast<uint32_t>(kMaxReplicasPerCluster), "upgrade.max_unavailable",
                 "must be at most " + std::to_string(kMaxReplicasPerCluster));
  problems.check(policy.max_surge <= static_cast<uint32_t>(kMaxReplicasPerCluster), "upgrade.max_surge",
                 "must be at most " + std::to_string(kMaxReplicasPerCluster));
  problems.check(policy.drain_timeout >= Duration::zero(), "upgrade.drain_timeout", "must not be negative");
  problems.check(policy.step_timeout > Duration::zero(), "upgrade.step_timeout", "must be positive");
  problems.check(policy.validation_requests <= kMaxValidationRequests, "upgrade.validation_requests",
                 "must be at most " + std::to_string(kMaxValidationRequests));
  problems.check(fraction(policy.max_error_rate_increase), "upgrade.max_error_rate_increase", "must be in [0, 1]");
  problems.check(std::isfinite(policy.max_latency_ratio) && policy.max_latency_ratio >= 1,
                 "upgrade.max_latency_ratio", "must be at least 1");
  problems.check(fraction(policy.max_diff_rate), "upgrade.max_diff_rate", "must be in [0, 1]");
}

void check_autoscale(const AutoscalePolicy& policy, Problems& problems) {
  if (policy.mode == AutoscaleMode::kOff) return;
  problems.check(policy.min_replicas >= 0, "autoscale.min_replicas", "must be >= 0");
  problems.check(policy.max_replicas >= 1 && policy.max_replicas <= kMaxReplicasPerCluster, "autoscale.max_replicas",
                 "must be in [1, " + std::to_string(kMaxReplicasPerCluster) + "]");
  problems.check(policy.min_replicas <= policy.max_replicas, "autoscale.min_replicas",
                 "min_replicas (" + std::to_string(policy.min_replicas) + ") is greater than max_replicas (" +
                     std::to_string(policy.max_replicas) + ")");
  problems.check(positive(policy.target_concurrency), "autoscale.target_concurrency", "must be positive");
  problems.check(policy.tick > Duration::zero(), "autoscale.tick", "must be positive");
  problems.check(policy.panic_window > Duration::zero(), "autoscale.panic_window", "must be positive");
  problems.check(policy.stable_window >= policy.panic_window, "autoscale.stable_window",
                 "must be at least the panic window");
  problems.check(policy.stable_window >= policy.tick, "autoscale.stable_window", "must be at least one tick");
  problems.check(std::isfinite(policy.panic_threshold) && policy.panic_threshold > 1, "autoscale.panic_threshold",
                 "must be greater than 1");
  problems.check(std::isfinite(policy.max_scale_up_rate) && policy.max_scale_up_rate > 1,
                 "autoscale.max_scale_up_rate", "must be greater than 1");
  problems.check(std::isfinite(policy.max_scale_down_rate) && policy.max_scale_down_rate > 1,
                 "autoscale.max_scale_down_rate", "must be greater than 1");
  problems.check(policy.scale_down_delay >= Duration::zero(), "autoscale.scale_down_delay", "must not be negative");
  problems.check(policy.provisioning_delay >= Duration::zero(), "autoscale.provisioning_delay",
                 "must not be negative");
  if (policy.mode == AutoscaleMode::kPredictive) {
    problems.check(policy.season > Duration::zero(), "autoscale.season", "must be positive");
    problems.check(policy.season_buckets >= 2 && policy.season_buckets <= 10'000, "autoscale.season_buckets",
                   "must be in [2, 10000]");
    problems.check(policy.lead_time >= Duration::zero() && policy.lead_time < policy.season, "autoscale.lead_time",
                   "must be in [0, season)");
    problems.check(fraction(policy.level_smoothing) && policy.level_smoothing > 0, "autoscale.level_smoothing",
                   "must be in (0, 1]");
    problems.check(fraction(policy.trend_smoothing), "autoscale.trend_smoothing", "must be in [0, 1]");
    problems.check(fraction(policy.season_smoothing), "autoscale.season_smoothing", "must be in [0, 1]");
  }
}

void check_proxy(const ProxyPolicy& policy, Problems& problems) {
  problems.check(policy.max_inflight >= 1 && policy.max_inflight <= 100'000, "proxy.max_inflight",
                 "must be in [1, 100000]");
  problems.check(policy.max_queue <= 1'000'000, "proxy.max_queue", "must be at most 1000000");
  problems.check(fraction(policy.retry_ratio), "proxy.retry_ratio", "must be in [0, 1]");
  problems.check(policy.max_attempts >= 1 && policy.max_attempts <= 10, "proxy.max_attempts", "must be in [1, 10]");
}

}  // namespace

Status validate_service_name(std::string_view name, std::string_view what) {
  if (std::string problem = name_problem(name); !problem.empty()) {
    return Error{Errc::kInvalidArgument, std::string(what) + " '" + std::string(name) + "' " + problem};
  }
  return Status{};
}

Status ServiceSpec::validate() const {
  Problems problems;
  if (std::string problem = name_problem(name); !problem.empty()) problems.add("name", problem);

  problems.check(!versions.empty(), "versions", "must list at least one version");
  problems.check(versions.size() <= kMaxVersions, "versions", "at most " + std::to_string(kMaxVersions));
  std::set<std::string> seen;
  for (size_t i = 0; i < versions.size(); ++i) {
    const std::string at = "versions[" + std::to_string(i) + "]";
    check_version(versions[i], at, problems);
    if (!seen.insert(versions[i].name).second) problems.add(at + ".name", "'" + versions[i].name + "' is listed twice");
  }
  if (version.empty()) {
    problems.add("version", "must name the version to run");
  } else if (find_version(version) == nullptr) {
    problems.add("version", "unknown version '" + version + "': add it to `versions` first");
  }

  problems.check(!replicas.empty(), "replicas", "must name at least one cluster");
  problems.check(replicas.size() <= kMaxClustersPerService, "replicas",
                 "at most " + std::to_string(kMaxClustersPerService) + " clusters");
  for (const auto& [cluster, count] : replicas) {
    const std::string at = "replicas[" + cluster + "]";
    if (std::string problem = name_problem(cluster); !problem.empty()) problems.add(at, "cluster name " + problem);
    const std::string valued = at + " = " + std::to_string(count);
    problems.check(count >= 0, valued, "replica counts must be >= 0");
    problems.check(count <= kMaxReplicasPerCluster, valued, "at most " + std::to_string(kMaxReplicasPerCluster));
    if (autoscale.mode != AutoscaleMode::kOff && count >= 0) {
      problems.check(count >= autoscale.min_replicas && count <= autoscale.max_replicas, valued,
                     "must lie within autoscale [min_replicas, max_replicas]");
    }
  }
  problems.check(proxies_per_cluster >= 1 && proxies_per_cluster <= kMaxProxiesPerCluster, "proxies_per_cluster",
                 "must be in [1, " + std::to_string(kMaxProxiesPerCluster) + "]");
  check_upgrade(upgrade, problems);
  check_autoscale(autoscale, problems);
  check_proxy(proxy, problems);
  problems.check(fraction(slo.availability), "slo.availability", "must be in [0, 1]");
  problems.check(slo.latency_p99 > Duration::zero(), "slo.latency_p99", "must be positive");

  if (problems.empty()) return Status{};
  return Error{Errc::kInvalidArgument,
               "service spec '" + name + "' is invalid (nothing was applied): " + problems.join()};
}

const VersionSpec* ServiceSpec::find_version(std::string_view wanted) const {
  for (const VersionSpec& candidate : versions) {
    if (candidate.name == wanted) return &candidate;
  }
  return nullptr;
}

int32_t ServiceSpec::replicas_in(std::string_view cluster) const {
  auto it = replicas.find(std::string(cluster));
  return it == replicas.end() ? 0 : it->second;
}

std::vector<std::string> ServiceSpec::clusters() const {
  std::vector<std::string> out;
  for (const auto& [cluster, count] : replicas) out.push_back(cluster);
  return out;
}

}  // namespace tandem::serving
