// ServingKeeper: cross-cluster orchestration of services (the seed's slide 9) — start and stop a service in
// several serving clusters, scale it, release new versions cluster by cluster (rolling), as a canary gated by
// the SLO, or blue-green, and steer traffic between clusters through discovery weights when a cluster loses
// capacity or fails.
//
// Contract:
// - The keeper is a process component: it talks to each cluster's AppMaster through that cluster's runtime
//   (an AppMasterClient per cluster) and to discovery for the cluster weights. Its own state — every service
//   it manages, where, with which job ids, base weights, outage marks and the release in progress — is written
//   to its node's Storage and synced before an operation reports success. A restarted keeper reloads it;
//   a release that was running when it died is marked interrupted (the AppMasters keep what they had) and the
//   operator re-issues it.
// - Operations are coroutines the caller awaits; each ends in ok or a typed Error, bounded by the options'
//   timeouts. A spec that does not validate is refused before anything changes (nothing half-applied). Only
//   one release per service runs at a time (kFailedPrecondition otherwise).
// - Rolling release: clusters in name order, each fully upgraded (its AppMaster runs the upgrade state
//   machine) before the next starts. A validation failure in any cluster rolls back every cluster the
//   release touched, so the whole release ends on the old version.
// - Canary: every cluster adds candidate instances (canary_fraction of its replicas, at least one) and gives
//   them the next weight step; after each step the candidate's error rate and p99 (from the proxies) must
//   meet the SLO, else the canary is aborted everywhere. After the last step the candidate is promoted (the
//   rest is upgraded in place). Blue-green: a full candidate set is started everywhere, all traffic switches
//   at once, and after a bake time the old set is retired — or traffic switches back.
// - Weights: each cluster's discovery weight is base_weight x 100 x min(1, serving / desired); a cluster
//   whose AppMaster or proxies fail outage_checks consecutive probes weighs 0 (while another cluster can take
//   the traffic), and gets its weight back once healthy.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/async/rpc.h"
#include "core/async/scope.h"
#include "core/env/env.h"
#include "core/runtime/runtime_client.h"
#include "core/serving/appmaster_client.h"
#include "core/serving/discovery.h"
#include "core/serving/service_spec.h"

namespace tandem::serving {

inline constexpr size_t kMaxKeeperServices = 1'000;
inline constexpr size_t kMaxCanarySteps = 16;

struct KeeperCluster {
  std::string name;
  Address control_store;
};

struct ServingKeeperOptions {
  std::vector<KeeperCluster> clusters;
  Address discovery{kNoNode, kDiscoveryPort};
  AppMasterOptions appmaster;
  AppMasterClientOptions appmaster_client;
  Duration monitor_period = std::chrono::seconds(1);
  Duration probe_timeout = std::chrono::milliseconds(800);
  uint32_t outage_checks = 3;
  Duration release_poll = std::chrono::milliseconds(250);
  Duration release_timeout = std::chrono::minutes(30);  // one cluster's part of a release
};

enum class ReleaseKind : uint8_t { kRolling = 0, kCanary, kBlueGreen };
inline bool codec_valid(ReleaseKind kind) { return kind <= ReleaseKind::kBlueGreen; }
enum class ReleaseState : uint8_t { kNone = 0, kRunning, kSucceeded, kRolledBack, kInterrupted };
inline bool codec_valid(ReleaseState state) { return state <= ReleaseState::kInterrupted; }
std::string_view release_state_name(ReleaseState state);

struct CanaryPolicy {
  std::vector<uint32_t> weight_steps{5, 25, 50};       // candidate's share of traffic, percent, per step
  Duration step_duration = std::chrono::seconds(30);   // observed before the gate
  double canary_fraction = 0.1;                        // candidate instances per cluster, of its replicas
  uint64_t min_requests = 20;                          // per step, before the gate can judge
  TANDEM_CODEC_FIELDS(weight_steps, step_duration, canary_fraction, min_requests)
};

struct ReleaseRecord {
  uint64_t id = 0;
  ReleaseKind kind = ReleaseKind::kRolling;
  ReleaseState state = ReleaseState::kNone;
  std::string from;
  std::string to;
  std::vector<std::string> touched;  // clusters the release changed, in order
  std::string failure;
  TANDEM_CODEC_FIELDS(id, kind, state, from, to, touched, failure)
};

struct KeeperServiceState {
  ServiceSpec spec;
  std::vector<std::string> clusters;
  std::map<std::string, uint64_t> job_ids;
  std::map<std::string, uint32_t> base_weights;
  std::map<std::string, bool> down;
  std::map<std::string, uint32_t> weights;  // last pushed to discovery
  uint64_t weights_version = 0;
  ReleaseRecord release;
  std::vector<ReleaseRecord> history;
  bool stopped = false;
  TANDEM_CODEC_FIELDS(spec, clusters, job_ids, base_weights, down, weights, weights_version, release, history, stopped)
};

class ServingKeeper {
 public:
  ServingKeeper(Env& env, ServingKeeperOptions options);
  ServingKeeper(const ServingKeeper&) = delete;
  ServingKeeper& operator=(const ServingKeeper&) = delete;

  // Starts the AppMasters in every cluster the spec names and applies the spec; waits until each cluster
  // serves its replicas (or `ready_timeout`).
  Task<Status> deploy(ServiceSpec spec, Duration ready_timeout = std::chrono::minutes(5));
  Task<Status> stop(std::string service);
  Task<Status> scale(std::string service, std::string cluster, int32_t replicas);
  Task<Status> upgrade(std::string service, std::string version);
  Task<Status> canary(std::string service, std::string version, CanaryPolicy policy);
  Task<Status> blue_green(std::string service, std::string version, Duration bake);
  Task<Status> restart_job(std::string service, std::string cluster, bool kill_members);
  Task<Status> kill_appmaster(std::string service, std::string cluster);
  Task<Status> set_base_weight(std::string service, std::string cluster, uint32_t weight);

  // Reads (for drivers, reports, tests).
  Task<Result<AppMasterStatus>> status(std::string service, std::string cluster);
  std::optional<KeeperServiceState> state(const std::string& service) const;
  std::vector<std::string> services() const;

 private:
  Task<Status> save(const std::string& service);
  void load();
  AppMasterClient& master(const std::string& service, const std::string& cluster);
  Task<Status> push_weights(const std::string& service);
  Task<void> monitor_loop();
  Task<void> monitor_service(std::string service);
  Task<Status> wait_release(const std::string& service, const std::string& cluster, uint64_t release,
                            bool want_rolled_back, UpgradeState* final_state, std::string* failure);
  Task<Status> wait_serving(const std::string& service, const std::string& cluster, const std::string& version,
                            int32_t count, Duration timeout);
  Task<Status> rollback_touched(const std::string& service, const std::string& reason);
  Status begin_release(const std::string& service, ReleaseKind kind, const std::string& to);
  // Aborts a canary / blue-green everywhere it started: the old version takes all traffic back.
  Task<Status> abort_split_release(const std::string& service, std::string reason);
  Task<Status> end_release(const std::string& service, ReleaseState state, std::string failure);
  Task<Result<std::map<std::string, VersionStats>>> candidate_stats(const std::string& service);

  Env& env_;
  ServingKeeperOptions options_;
  std::map<std::string, std::unique_ptr<runtime::RuntimeClient>> runtimes_;   // per cluster
  std::map<std::string, KeeperServiceState> services_;
  std::map<std::pair<std::string, std::string>, std::unique_ptr<AppMasterClient>> masters_;
  std::map<std::pair<std::string, std::string>, uint32_t> failed_probes_;
  uint64_t next_release_ = 1;
  RpcEndpoint endpoint_;
  Scope scope_;  // last: the monitor uses everything above
};

}  // namespace tandem::serving
