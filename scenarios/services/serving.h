// The "serving" service kind: a service on the serving control plane (core/serving) over the actor runtime
// (core/runtime) — the seed's Ant Ray Serving. Every serving cluster of the scenario is a runtime cluster of
// its own: one head node (control store + daemon), worker nodes (daemons that host the AppMaster, proxies and
// backends) and client nodes (ServingClients); one discovery node and one keeper node (ServingKeeper) serve
// every cluster.
//
// Scenario entry (see scenarios/schema.json, "servingService"; every field but "versions" is optional):
//   {"kind": "serving", "name": "ranker",
//    "clusters": ["c1", "c2"],                       // default: every cluster with a node of group `heads`
//    "heads": "head", "workers": "worker",           // node groups in each serving cluster
//    "clients": "client",                            // a group anywhere: local-first in a serving cluster,
//                                                    // by discovery weights elsewhere (an "edge" cluster)
//    "discovery": "discovery", "keeper": "keeper",   // a node ("ops/discovery0") or a group (its first node)
//    "version": "v1",                                // default: the first version
//    "versions": [{"name": "v1", "latency": {"shape": "lognormal", "median": "4ms", "sigma": 0.3},
//                  "error_rate": 0, "startup": "2s", "reload": "500ms", "concurrency": 8,
//                  "output_salt": "m1", "output_noise": 0, "reload_fails": false, "broken_in": ["c2"]}],
//    "replicas": 3 | {"c1": 3, "c2": 2},            // backends per cluster
//    "proxies_per_cluster": 2, "backend_resources": {"CPU": 1}, "proxy_resources": {"CPU": 0.5},
//    "upgrade": {"step": 2, "max_unavailable": 2, "max_surge": 0, "drain_timeout": "2s", "step_timeout": "30s",
//                "validate": true, "validation_requests": 10, ...},
//    "autoscale": {"mode": "reactive" | "predictive" | "off", "min_replicas": 1, "max_replicas": 10,
//                  "target_concurrency": 4, "tick": "1s", "season": "10m", "lead_time": "1m", ...},
//    "proxy": {"max_inflight": 256, "max_queue": 512, "max_attempts": 3},
//    "slo": {"availability": 0.999, "latency_p99": "250ms"},
//    "client": {"deadline": "1s", "per_try_timeout": "300ms", "pull_interval": "1s", "max_attempts": 3},
//    "runtime": {"heartbeat_period": "200ms", "heartbeat_miss_limit": 5},
//    "deploy_at": "0s", "auto_deploy": true, "observe_every": "1s"}
//
// Operations ("op" events), each run by the ServingKeeper on the keeper node; the outcome goes to the trace:
//   deploy (the service deploys itself at deploy_at unless "auto_deploy" is false),
//   scale {cluster, replicas}, upgrade {version} (rolling, cluster by cluster),
//   canary {version, weight_steps, step_duration, canary_fraction, min_requests}, blue_green {version, bake},
//   kill_appmaster {cluster} (an actor restart), restart_job {cluster, kill_members} (a whole-job restart),
//   set_weight {cluster, weight}.
// kill_actor faults name "<cluster>:<actor name>" ("c1:serving/ranker/appmaster") or an actor name alone (in
// every serving cluster).
//
// What the kind records for the serving checks (reports/serving_record.h), from an observer on the keeper node
// that probes each AppMaster every observe_every, and from discovery and the control stores read in-process:
// upgrade unavailability against the policy's allowance, each release's outcome, AppMaster acting intervals by
// epoch, discovery convergence after each divergence, desired replicas against the autoscaler's bounds, and
// each cluster's serving backends per version with its desired count (the report's replicas-per-version chart).
//
// The sim instance and the real runner (scenarios/real/) share what is not world-specific: the parsed entry
// (ServingServiceConfig), the control-plane options the kind gives AppMasters, the keeper and clients, and how
// an operation runs on the keeper.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/serving/appmaster.h"
#include "core/serving/discovery.h"
#include "core/serving/serving_client.h"
#include "core/serving/serving_keeper.h"
#include "core/serving/service_spec.h"
#include "reports/run_record.h"
#include "scenarios/service.h"

namespace tandem::scenarios {

std::unique_ptr<ServiceKind> make_serving_service_kind();

// A serving entry, parsed.
struct ServingServiceConfig {
  std::string name;
  serving::ServiceSpec spec;
  bool spec_replicas_uniform = false;
  std::vector<std::string> clusters;             // serving clusters, in scenario order
  std::map<std::string, NodeId> heads;           // cluster -> head node
  std::map<std::string, std::vector<NodeId>> workers;
  std::vector<NodeId> clients;                   // ascending
  std::map<NodeId, std::string> client_cluster;  // node -> serving cluster ("" for an edge client)
  std::map<NodeId, std::pair<std::map<std::string, double>, std::map<std::string, std::string>>> node_resources;
  NodeId discovery = kNoNode;
  NodeId keeper = kNoNode;
  Duration client_deadline = std::chrono::seconds(1);
  Duration per_try_timeout = std::chrono::milliseconds(300);
  Duration pull_interval = std::chrono::seconds(1);
  uint32_t client_attempts = 3;
  Duration heartbeat_period = std::chrono::milliseconds(200);
  uint32_t heartbeat_miss_limit = 5;
  Duration deploy_at{};
  bool auto_deploy = true;  // false: only "deploy" operations deploy
  Duration observe_every = std::chrono::seconds(1);
  serving::DiscoveryPlantedBugs planted;  // "planted_bug": tandem explore's self-test only
};

// The configuration of `spec` when it is a serving service; nullptr for other kinds.
const ServingServiceConfig* serving_config(const ServiceSpec& spec);

// A parsed "op" event of a serving service.
struct ServingOperation : ServiceOperation {
  std::string cluster;
  std::string version;
  int32_t replicas = 0;
  uint32_t weight = 0;
  bool kill_members = true;
  serving::CanaryPolicy canary;
  Duration bake = std::chrono::seconds(10);
};

// What the kind gives every AppMaster, the keeper and each client (times as in the scenario).
serving::AppMasterOptions serving_appmaster_options(const ServingServiceConfig& config);
serving::ServingKeeperOptions serving_keeper_options(const ServingServiceConfig& config);
serving::ServingClientOptions serving_client_options(const ServingServiceConfig& config, NodeId client);
// How long the deploy operation waits for every cluster to serve its replicas.
inline constexpr Duration kServingDeployTimeout = std::chrono::minutes(10);

// What the observer makes of its samples, the same on both worlds (the sim reads discovery and control stores
// in-process, the real runner over RPC): AppMaster acting intervals by epoch, upgrade unavailability, serving
// backends per version and the replica target from each AppMaster probe; discovery's divergences (from the first
// time it converged); answers per (cluster, version); and the service's figures at the end.
class ServingObservations {
 public:
  ServingObservations(const ServingServiceConfig& config, reports::ServingRecord& serving)
      : config_(config), serving_(serving) {}
  void take(const std::string& cluster, const serving::AppMasterStatus& status, int64_t now_ns);
  // The proxy nodes discovery lists for `cluster`, and the cluster's weight there.
  static std::pair<std::multiset<NodeId>, uint32_t> listed(const serving::Resolution& resolution,
                                                          const std::string& cluster);
  // A discovery check: `converged` as the caller judged it; `listed_any` whether discovery listed any cluster.
  void discovery(bool converged, bool listed_any, int64_t now_ns);
  void answered(const std::string& cluster, const std::string& version);
  // Closes open acting intervals and adds the figures (prefix "serving.<name>.").
  void finish(reports::RunRecord& record, uint64_t operations_ok, uint64_t operations_failed);

 private:
  const ServingServiceConfig& config_;
  reports::ServingRecord& serving_;
  std::map<std::string, serving::AppMasterStatus> last_status_;
  std::map<std::string, std::optional<size_t>> acting_open_;  // cluster -> index in appmaster_acting
  std::map<std::string, int64_t> last_seen_acting_;
  // Successes per (cluster, version): a short list searched in place, so a request builds no key (a handful of
  // pairs exist at most); finish() reports them in key order.
  struct Answered {
    std::string cluster;
    std::string version;
    uint64_t count = 0;
  };
  std::vector<Answered> answered_by_;
  bool ever_converged_ = false;
  bool diverged_ = false;
};

// Runs `op` (any operation but "deploy") on `keeper`; a release's outcome goes to `serving` for the
// upgrade-safety check.
Task<Status> run_serving_operation(serving::ServingKeeper& keeper, std::string service, ServingOperation op,
                                   reports::ServingRecord& serving);

}  // namespace tandem::scenarios
