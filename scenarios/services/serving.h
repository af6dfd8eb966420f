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
#pragma once

#include <memory>

#include "scenarios/service.h"

namespace tandem::scenarios {

std::unique_ptr<ServiceKind> make_serving_service_kind();

}  // namespace tandem::scenarios
