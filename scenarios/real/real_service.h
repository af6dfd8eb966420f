// Inside the real runner (scenarios/real/real_runner.cpp): what a service kind does on the real world, and
// what the run offers it. Not a public API: only the runner and the kinds' real deployments include it.
//
// Contract:
// - A RealService says which runtime clusters to start (groups(): each a head and nodes, with resources and
//   labels; group 0's head is the one the driver's own RuntimeClient talks to), deploys itself once they are
//   up, then issues the workload's requests on behalf of client nodes (issue()), applies operations and actor
//   kills, and adds its figures at the end. It records every request in the run record's RequestLog
//   (service index 0), ending each exactly once.
// - RealHost is the run: the driver process (its loop runs every coroutine), a RuntimeClient per group, the
//   time scale (scenario seconds per real second: scaled() turns a scenario duration into a real one,
//   scenario_now() reads the run's clock in scenario time), the record, and what the faults did to each node.
// - Scenario time 0 is when deploy() returned: during deploy() scenario_now() reads 0 and at() only queues the
//   action, which is scheduled once the clock starts (so a deploy's blocking time never eats scenario time).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/async/scope.h"
#include "core/runtime/runtime_client.h"
#include "fault_injection/fault.h"
#include "real_backend/member_process.h"
#include "reports/run_record.h"
#include "scenarios/scenario.h"

namespace tandem::scenarios::real_world {

inline constexpr Duration kMinPeriod = std::chrono::milliseconds(20);  // no real timer period below this

// One runtime cluster of the run: `tandem head` on `head`, `tandem node` on each of `nodes`.
struct GroupPlan {
  std::string name;  // for logs and the work directory ("c1", "discovery")
  NodeId head = kNoNode;
  std::vector<NodeId> nodes;
  std::map<NodeId, runtime::ResourceSet> resources;
  std::map<NodeId, runtime::NodeLabels> labels;
  std::map<NodeId, std::string> names;  // members that are not topology nodes (an rpc run's control store)
};

class RealHost {
 public:
  virtual ~RealHost() = default;
  virtual real::MemberProcess& driver() = 0;
  virtual runtime::RuntimeClient& runtime(size_t group) = 0;  // the driver's client of group `group`
  virtual Scope& scope() = 0;                            // driver coroutines (cancelled first at the end)
  virtual Duration scaled(Duration scenario) const = 0;  // scenario duration -> real duration
  virtual Duration scenario_now() const = 0;
  virtual void at(Duration scenario_time, std::function<void()> action) = 0;
  virtual reports::RunRecord& record() = 0;
  virtual const Scenario& scenario() const = 0;
  // Is `node` up (not crashed, not paused) now; can `from` reach `to` through the faults applied now.
  virtual bool up(NodeId node) const = 0;
  virtual bool reachable(NodeId from, NodeId to) const = 0;
  virtual void note(NodeId node, const std::string& text) = 0;
  virtual void announce(const std::string& what) = 0;
};

class RealService {
 public:
  virtual ~RealService() = default;
  virtual std::vector<GroupPlan> groups() const = 0;
  // Once every group is up: starts the service (may block on the driver's loop), or says why it cannot.
  virtual Status deploy(RealHost& host) = 0;
  virtual void issue(NodeId client) = 0;
  virtual void operate(const ServiceOperation& operation) = 0;
  // A kill_actor fault; `span` is its index in record().faults (mark it skipped when nothing was killed).
  virtual void kill_actor(const std::string& target, size_t span) = 0;
  virtual bool all_ended() const = 0;  // every request issued has ended
  virtual void finish(reports::RunRecord& record) = 0;
  // Called before the driver goes away: stop everything that uses it.
  virtual void stop() = 0;
  // Failure detection of the runtime clusters, in scenario time (the run scales it, at kMinPeriod or more).
  virtual Duration heartbeat_period() const = 0;
  virtual uint32_t heartbeat_miss_limit() const = 0;
};

// A kill_actor fault on a service that runs no actors for it (the loader refuses those, ServiceSpec::runs_actors();
// should one arrive): recorded as skipped, as the sim would.
inline void skip_actor_kill(reports::RunRecord& record, size_t span) {
  record.faults[span].skipped = true;
  record.faults[span].skip_reason = "no actor runtime runs in this scenario";
}

// The serving kind on real processes (scenarios/real/real_serving.cpp); `spec` must be a serving service.
std::unique_ptr<RealService> make_real_serving(const ServiceSpec& spec, double time_scale);
// The fanout kind on real processes (scenarios/real/real_fanout.cpp); `spec` must be a fanout service.
std::unique_ptr<RealService> make_real_fanout(const Scenario& scenario, const ServiceSpec& spec, double time_scale);
// The rpc kind on real processes (scenarios/real/real_rpc.cpp); `spec` must be an rpc service.
std::unique_ptr<RealService> make_real_rpc(const Scenario& scenario, const ServiceSpec& spec);
// What keeps an rpc service off the real world (each "POINTER: why (fix: ...)"); empty when it can run.
std::vector<std::string> real_rpc_problems(const Scenario& scenario, size_t service_index);
// What keeps a serving service off the real world (each "POINTER: why (fix: ...)"); empty when it can run.
std::vector<std::string> real_serving_problems(const Scenario& scenario, size_t service_index);
// The keeper node of a serving service (the driver plays it: no fault may hit it), nullopt for other kinds;
// fault_hits() says whether `fault` names `node` (itself, its cluster, or its region for a wan_cut);
// keeper_fault_problem() the refusal.
std::optional<NodeId> real_serving_keeper(const ServiceSpec& spec);
bool fault_hits(const fault_injection::Fault& fault, const Scenario& scenario, NodeId node);
std::string keeper_fault_problem(const std::string& where, const fault_injection::Fault& fault,
                                 const Scenario& scenario, NodeId keeper);

}  // namespace tandem::scenarios::real_world
