// ServiceSpec: what an operator asks the serving control plane to run — a named service, the versions it knows
// (each with its simulated cost model), how many backends and proxies each cluster runs, and the policies for
// upgrades, autoscaling, the proxies' queues and retries, and the SLO the releases are judged by.
//
// Contract:
// - A spec is a plain value: it crosses the wire with the runtime codec (AppMaster arguments, persisted
//   metadata, ServingKeeper state), so fields are appended, never reordered.
// - validate() checks every field and returns ONE kInvalidArgument Error listing every problem found, each
//   naming the field ("replicas[c1] = -1: ..."), so an operator fixes a spec in one round. Nothing in
//   core/serving applies a spec that did not validate: the keeper and the AppMaster validate before they
//   change any state, so a refused spec leaves nothing half-applied.
// - A version is named once in `versions` and referred to by name elsewhere (`version`, upgrades, canaries);
//   an unknown version name is an input error, never a crash.
// - Every count has a named upper limit here (kMax*), so a typo cannot ask for a million actors.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/result.h"
#include "core/env/time.h"
#include "core/runtime/codec.h"
#include "core/runtime/labels.h"
#include "core/runtime/resources.h"

namespace tandem::serving {

inline constexpr size_t kMaxServiceNameBytes = 128;
inline constexpr size_t kMaxVersions = 32;
inline constexpr size_t kMaxClustersPerService = 64;
inline constexpr int32_t kMaxReplicasPerCluster = 10'000;
inline constexpr int32_t kMaxProxiesPerCluster = 1'000;
inline constexpr uint32_t kMaxBackendConcurrency = 4'096;
inline constexpr uint32_t kMaxValidationRequests = 1'000;

// How long one request takes on an idle backend.
enum class LatencyShape : uint8_t { kConstant = 0, kLognormal, kPareto };
inline bool codec_valid(LatencyShape shape) { return shape <= LatencyShape::kPareto; }
std::string_view latency_shape_name(LatencyShape shape);

struct ServiceTime {
  LatencyShape shape = LatencyShape::kLognormal;
  Duration median = std::chrono::milliseconds(5);  // kPareto: the scale (minimum)
  double sigma = 0.3;                              // kLognormal: spread of log(latency)
  double alpha = 3.0;                              // kPareto: tail index (> 1)
  TANDEM_CODEC_FIELDS(shape, median, sigma, alpha)
  friend bool operator==(const ServiceTime&, const ServiceTime&) = default;
};

// One version of the model / user function and what it costs to run (the simulated cost model).
struct VersionSpec {
  std::string name;                                   // "v1"
  ServiceTime latency;                                // per request, before queueing
  double error_rate = 0;                              // fraction of requests that fail (kInternal)
  Duration startup = std::chrono::seconds(2);         // a new instance: process start + model load
  Duration reload = std::chrono::milliseconds(500);   // an in-place reload to this version
  std::string output_salt;                            // versions with equal salts answer alike; empty: the name
  double output_noise = 0;                            // fraction of answers that differ run to run (Diffy noise)
  uint32_t concurrency = 8;                           // requests one instance serves at once; the rest wait
  bool reload_fails = false;                          // in-place reload to this version fails (then: replace)
  std::vector<std::string> broken_in;                 // clusters where every request fails (an environment-
                                                      // specific defect, e.g. a missing dependency)
  TANDEM_CODEC_FIELDS(name, latency, error_rate, startup, reload, output_salt, output_noise, concurrency,
                      reload_fails, broken_in)
  friend bool operator==(const VersionSpec&, const VersionSpec&) = default;
  const std::string& salt() const { return output_salt.empty() ? name : output_salt; }
};

// How a rolling upgrade proceeds (see core/serving/upgrade.h for the state machine).
struct UpgradePolicy {
  uint32_t step = 1;              // instances upgraded per batch (>= 1)
  uint32_t max_unavailable = 1;   // instances out of traffic at once because of the upgrade
  uint32_t max_surge = 0;         // extra instances allowed during the upgrade to keep capacity
  Duration drain_timeout = std::chrono::seconds(5);  // detached instance: wait this long for in-flight requests
  Duration step_timeout = std::chrono::seconds(60);  // one instance's reload or start; then the batch fails
  bool validate = true;                              // replay recorded requests before re-attaching
  uint32_t validation_requests = 20;                 // replayed per upgraded instance
  double max_error_rate_increase = 0.05;             // candidate error rate - old error rate
  double max_latency_ratio = 2.0;                    // candidate p99 / old p99 (slack: kLatencySlack)
  double max_diff_rate = 0.05;                       // answers that differ beyond old-vs-old noise
  TANDEM_CODEC_FIELDS(step, max_unavailable, max_surge, drain_timeout, step_timeout, validate, validation_requests,
                      max_error_rate_increase, max_latency_ratio, max_diff_rate)
  friend bool operator==(const UpgradePolicy&, const UpgradePolicy&) = default;
};

enum class AutoscaleMode : uint8_t { kOff = 0, kReactive, kPredictive };
inline bool codec_valid(AutoscaleMode mode) { return mode <= AutoscaleMode::kPredictive; }
std::string_view autoscale_mode_name(AutoscaleMode mode);

// Autoscaling (see core/serving/autoscaler.h): Knative-KPA-style reactive, or Holt-Winters predictive on top.
struct AutoscalePolicy {
  AutoscaleMode mode = AutoscaleMode::kOff;
  int32_t min_replicas = 1;                  // per cluster
  int32_t max_replicas = 10;                 // per cluster
  double target_concurrency = 4;             // in-flight requests per backend the scaler aims for
  Duration tick = std::chrono::seconds(1);   // how often load is sampled and a decision taken
  Duration stable_window = std::chrono::seconds(60);
  Duration panic_window = std::chrono::seconds(6);
  double panic_threshold = 2.0;              // panic when the panic window wants >= this x current replicas
  double max_scale_up_rate = 10.0;           // at most x current replicas in one decision
  double max_scale_down_rate = 2.0;          // at least current / this in one decision
  Duration scale_down_delay = std::chrono::seconds(30);  // the highest wish within this delay wins on the way down
  Duration provisioning_delay = Duration::zero();        // extra start-up of a scaled-up instance (node start)
  // Predictive (Holt-Winters, additive seasonality):
  Duration season = std::chrono::hours(24);  // one period of the load pattern
  uint32_t season_buckets = 96;              // samples per season the forecaster keeps
  Duration lead_time = std::chrono::minutes(10);  // forecast this far ahead (>= provisioning + start-up)
  double level_smoothing = 0.3;              // Holt-Winters alpha
  double trend_smoothing = 0.05;             // beta
  double season_smoothing = 0.3;             // gamma
  TANDEM_CODEC_FIELDS(mode, min_replicas, max_replicas, target_concurrency, tick, stable_window, panic_window,
                      panic_threshold, max_scale_up_rate, max_scale_down_rate, scale_down_delay, provisioning_delay,
                      season, season_buckets, lead_time, level_smoothing, trend_smoothing, season_smoothing)
  friend bool operator==(const AutoscalePolicy&, const AutoscalePolicy&) = default;
};

// The proxies' admission and retry limits.
struct ProxyPolicy {
  uint32_t max_inflight = 256;     // requests sent to backends at once by one proxy
  uint32_t max_queue = 512;        // requests waiting for an in-flight slot; beyond: shed (kResourceExhausted)
  double retry_ratio = 0.2;        // retries allowed as a fraction of requests (retry budget)
  uint32_t min_retries_per_second = 10;
  uint32_t max_attempts = 3;       // per request, first try included
  TANDEM_CODEC_FIELDS(max_inflight, max_queue, retry_ratio, min_retries_per_second, max_attempts)
  friend bool operator==(const ProxyPolicy&, const ProxyPolicy&) = default;
};

// What releases are judged by (canary gate, keeper alerts).
struct SloSpec {
  double availability = 0.999;                       // successful / all, per window
  Duration latency_p99 = std::chrono::milliseconds(250);
  TANDEM_CODEC_FIELDS(availability, latency_p99)
  friend bool operator==(const SloSpec&, const SloSpec&) = default;
};

struct ServiceSpec {
  std::string name;                                  // "ranker": letters, digits, '-', '_', '.'
  std::string version;                               // the version every backend runs when stable
  std::vector<VersionSpec> versions;                 // every version the service may run
  std::map<std::string, int32_t> replicas;           // cluster -> backends (>= 0)
  int32_t proxies_per_cluster = 2;                   // in every cluster with replicas > 0
  runtime::ResourceSet backend_resources{{"CPU", 1}};
  runtime::ResourceSet proxy_resources{{"CPU", 0.5}};
  runtime::LabelSelector backend_labels;             // e.g. zone constraints, within the cluster
  UpgradePolicy upgrade;
  AutoscalePolicy autoscale;
  ProxyPolicy proxy;
  SloSpec slo;
  TANDEM_CODEC_FIELDS(name, version, versions, replicas, proxies_per_cluster, backend_resources, proxy_resources,
                      backend_labels, upgrade, autoscale, proxy, slo)
  friend bool operator==(const ServiceSpec&, const ServiceSpec&) = default;

  // kInvalidArgument listing every problem, or ok.
  Status validate() const;
  // The version named `name`, or nullptr.
  const VersionSpec* find_version(std::string_view name) const;
  // The backends wanted in `cluster` (0 when the cluster is not named).
  int32_t replicas_in(std::string_view cluster) const;
  // The clusters named in `replicas`, in name order.
  std::vector<std::string> clusters() const;
};

// Checks a service or cluster name: non-empty, at most kMaxServiceNameBytes, [A-Za-z0-9._-] only.
Status validate_service_name(std::string_view name, std::string_view what);

}  // namespace tandem::serving
