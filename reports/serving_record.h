// ServingRecord: what the serving control plane (core/serving, issue 4) records for its checks. Empty until a
// service kind that runs the serving system fills it; every serving check then says "not evaluated".
//
// Contract for the filler (the serving service kind, scenarios/services/): set `present` when a serving
// service ran, and append samples as the run goes. Times are world nanoseconds since the start of the run.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tandem::reports {

struct ServingRecord {
  bool present = false;

  // Upgrade safety: at each step of an upgrade, how many instances were unavailable and how many the policy
  // allows; and how each upgrade ended.
  struct UnavailableSample {
    int64_t time_ns = 0;
    std::string service;
    uint32_t unavailable = 0;
    uint32_t allowed = 0;
  };
  struct UpgradeOutcome {
    std::string service;
    bool validation_failed = false;  // then every instance must be back on the old version
    uint32_t instances = 0;
    uint32_t instances_on_old_version = 0;  // at the end
  };
  std::vector<UnavailableSample> upgrade_unavailability;
  std::vector<UpgradeOutcome> upgrades;

  // Single acting AppMaster: each interval an AppMaster acted for (service, cluster) under an epoch.
  struct ActingInterval {
    std::string service;
    std::string cluster;
    uint64_t epoch = 0;
    int64_t start_ns = 0;
    std::optional<int64_t> end_ns;
  };
  std::vector<ActingInterval> appmaster_acting;

  // Discovery convergence: after each failure, when discovery again listed exactly the live proxies.
  struct DiscoveryLag {
    std::string service;
    int64_t failure_ns = 0;
    std::optional<int64_t> converged_ns;  // absent: never converged
  };
  std::vector<DiscoveryLag> discovery;

  // Autoscaler bounds and flapping: replica counts over time with the policy's bounds.
  struct ReplicaSample {
    int64_t time_ns = 0;
    std::string service;
    uint32_t replicas = 0;
    uint32_t min_replicas = 0;
    uint32_t max_replicas = 0;
  };
  std::vector<ReplicaSample> replicas;

  // Replicas per version over time (report.html's chart): at each observation of a cluster's AppMaster, its
  // ready and attached backends per version and its desired count. A cluster whose AppMaster did not answer
  // has no sample then; the report carries its last one forward. Capped: past kMaxVersionSamples the filler
  // stops appending (a run observed every millisecond for hours would otherwise grow without bound).
  static constexpr size_t kMaxVersionSamples = 1'000'000;
  struct VersionSample {
    int64_t time_ns = 0;
    std::string service;
    std::string cluster;
    uint32_t desired = 0;
    std::map<std::string, uint32_t> serving;  // version -> ready and attached backends
  };
  std::vector<VersionSample> versions;
};

}  // namespace tandem::reports
