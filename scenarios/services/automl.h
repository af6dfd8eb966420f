// The "automl" service kind: the seed's AutoML service (core/apps/automl) on the actor runtime, as a scenario
// service. Each workload request is one AutoML job: a client submits a candidate space drawn from the
// service's random stream, waits for the job to end, and the request succeeds only when the job SUCCEEDED
// with the true best candidate (computed from the candidate definitions). A wrong best is kInternal, a FAILED
// job kFailedPrecondition, anything else the error the client saw.
//
// Scenario entry (see scenarios/schema.json, the "automl" branch):
//   {"kind": "automl", "name": "automl",
//    "head": "head",          // node group; its first node runs the control store (+ a daemon)
//    "workers": "gpu",        // node group(s) running node daemons, with their topology "resources"
//    "clients": "client",     // node group that submits jobs (a driver each; may overlap the others)
//    "proxy_name": "proxy",   // default: the service name
//    "candidates": 16,        // per job
//    "cost": {"median": "1s", "sigma": 0.5},   // training time of one candidate (log-normal)
//    "max_parallel_workers": 8, "max_candidate_attempts": 20, "worker_max_retries": 3,
//    "proxy_resources": {"CPU": 1}, "trainer_resources": {"CPU": 1}, "worker_resources": {"CPU": 1, "GPU": 1},
//    "heartbeat": {"period": "1s", "miss_limit": 5},  // node failure detection (Ray: about 3 s x 5)
//    "supervise_period": "2s", "job_timeout": "5m"}
// Faults: crash/pause/... of any node; "kill_actor" kills a named actor ("proxy", "proxy/trainer/job-2") with
// a restart allowed, as a process crash would.
//
// A runtime node binds the runtime's well-known ports (1, 2): give the service's head and workers nodes of
// their own, not nodes where another service's client allocates ports first.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/apps/automl/config.h"
#include "core/apps/automl/job.h"
#include "scenarios/service.h"

namespace tandem::scenarios {

std::unique_ptr<ServiceKind> make_automl_service_kind();

// An automl service entry, parsed: what the sim instance and the real runner (scenarios/real/) both build from.
struct AutoMLServiceConfig {
  std::string name;
  NodeId head = kNoNode;
  std::vector<NodeId> workers;  // ascending; the head is not among them
  std::vector<NodeId> clients;  // ascending
  apps::automl::AutoMLConfig app;
  int64_t candidates = 16;
  apps::automl::CostModel cost{1000, 0.5};
  Duration heartbeat_period = std::chrono::seconds(1);
  int64_t heartbeat_miss_limit = 5;
  Duration job_timeout = std::chrono::minutes(5);
  std::map<NodeId, runtime::ResourceSet> resources;  // of the head and the workers, from the topology
};

// The configuration of `spec` when it is an automl service; nullptr for other kinds.
const AutoMLServiceConfig* automl_config(const ServiceSpec& spec);

// Job number `job` (1, 2, ...) of a run: its candidate space drawn from `random` (the service's stream), so the
// sim and the real world submit the same jobs for the same seed.
apps::automl::JobSpec draw_automl_job(const AutoMLServiceConfig& config, uint64_t job, Random& random);

}  // namespace tandem::scenarios
