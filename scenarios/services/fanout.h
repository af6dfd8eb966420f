// The "fanout" service kind: the seed's strategy/indicator fan-out (core/apps/fanout) on the actor runtime —
// a Trigger takes each request, L1 workers (one call per bank) fan out to L2 workers (one call per indicator),
// and the answer is gathered within the deadline. One runtime cluster: a head node (control store) and
// worker nodes; clients anywhere call the Triggers through a driver RuntimeClient.
//
// Scenario entry (see scenarios/schema.json, the "fanout" branch of "service"):
//   {"kind": "fanout", "name": "strategy", "head": "head", "workers": "worker", "clients": "client",
//    "banks": 8, "indicators": 4, "triggers": 2, "l1_workers": 4, "l2_workers": 8, "l2_concurrency": 8,
//    "l1_time": "1ms", "l2_time": "10ms", "l2_sigma": 0.5,      // L2: lognormal with this median and sigma
//    "deadline": "250ms", "worker_startup": "1s", "deploy_at": "0s", "heartbeat": "100ms",
//    "worker_cpus": 64}                                            // each worker node's CPUs for the scheduler
// The app is deployed at deploy_at (workers pre-started, Triggers last); requests issued before it is ready
// fail at once with kUnavailable ("not deployed yet"), so start the workload after it.
//
// A request's outcome: kOk for a complete answer; kTimeout for a partial one (the deadline passed with values
// missing — an explicit answer, but not a good one); the Trigger's error when none answered. Figures:
// fanout.<name>.complete / .partial / .failed, .max_latency_ms.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/apps/fanout/deploy.h"
#include "core/apps/fanout/fanout_spec.h"
#include "reports/run_record.h"
#include "scenarios/service.h"

namespace tandem::scenarios {

std::unique_ptr<ServiceKind> make_fanout_service_kind();

// A fanout service as the loader read it: shared by the sim instance and the real world's deployment
// (scenarios/real/real_fanout.cpp), so both run the same app with the same options.
struct FanoutServiceConfig {
  std::string name;
  NodeId head = kNoNode;
  std::vector<NodeId> workers;  // in the head's cluster
  std::vector<NodeId> clients;
  apps::FanoutSpec spec;
  Duration deploy_at{};
  Duration heartbeat = std::chrono::milliseconds(100);
  double worker_cpus = 64;  // each worker node's "CPU" for the runtime's scheduler
};

// One hop back from the Trigger: the client waits the deadline plus this before it gives up on a Trigger.
inline constexpr Duration kFanoutClientGrace = std::chrono::milliseconds(20);
// The longest a request may take as its client sees it (the record's budget for it): deadline, grace, margin.
inline Duration fanout_request_budget(const apps::FanoutSpec& spec) {
  return spec.deadline + kFanoutClientGrace + std::chrono::milliseconds(30);
}
// The configuration of `spec` when it is a fanout service; nullptr for other kinds.
const FanoutServiceConfig* fanout_config(const ServiceSpec& spec);

// How the requests of a fanout service ended, the same on both worlds: complete, partial (an answer with some
// strategies missing, recorded as kTimeout: explicit, not good) or failed; and the slowest.
struct FanoutTally {
  uint64_t complete = 0;
  uint64_t partial = 0;
  uint64_t failed = 0;
  Duration max_latency{};
  // Counts `outcome` and returns the code the run record gets for it.
  Errc add(const apps::FanoutOutcome& outcome);
  // The fanout.<name>.* figures; `latency_scale` turns max_latency into scenario time (real runs).
  void write(reports::RunRecord& record, const std::string& name, size_t workers, double latency_scale = 1) const;
};

}  // namespace tandem::scenarios
