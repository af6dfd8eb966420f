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

#include <memory>

#include "scenarios/service.h"

namespace tandem::scenarios {

std::unique_ptr<ServiceKind> make_automl_service_kind();

}  // namespace tandem::scenarios
