// The real world's runner: `tandem run --world real SCENARIO` — the scenario's services deployed on real
// processes (`tandem head` / `tandem node` on 127.0.0.1, real_backend/), its workload driven from this process,
// its faults applied as real faults, and the same record, checks and reports as a sim run.
//
// Contract:
// - real_world_problems() says, before anything starts, everything that keeps a scenario off the real world:
//   a service kind with no real deployment (today "automl", "serving" and "fanout" have one), a fault kind
//   not applied to real processes yet, a fault that hits the serving keeper's node (the driver plays it).
//   Empty when it can run. Every problem starts with the JSON pointer of what to change and ends with the fix.
// - Time: the run is compressed by time_scale (scenario seconds per real second): every time in the scenario —
//   event times, durations, rates, the service's cost model, heartbeats and timeouts — is divided by it, and
//   every time recorded is converted back, so reports read in scenario time. A real run is not replayable:
//   the record has no trace hash and the determinism check is not evaluated.
// - Members: each runtime cluster of the service has a cluster file of its own: its head node runs `tandem head`,
//   each worker node a `tandem node` (resources from the topology, labels cluster and node); every file lists
//   the other clusters' processes as peers. automl and fanout: one cluster. serving: one per serving cluster,
//   plus the discovery node as a `tandem head` of its own. Client nodes are the driver — this process — issuing on
//   their behalf (a crashed or paused client node issues nothing, as in sim); so is a serving keeper node.
// - Operations ("op" events, serving only): deploy, scale, upgrade, canary, blue_green, kill_appmaster,
//   restart_job and set_weight run on the ServingKeeper in the driver, as the sim runs them on the keeper node
//   (canary steps and blue-green bakes scaled like every time).
// - Faults: crash (kill -9; healed by starting the process again on the same endpoint and state store),
//   pause (SIGSTOP/SIGCONT), kill_actor (the runtime's kill with a restart allowed), cluster_outage with
//   "mode": "power" (every member of the cluster killed), isolate / partition / partition_one_way (each
//   member's transport filter, set through its Admin service; client nodes share the driver's transport and
//   are not cut; with RealRunOptions::netns, blackhole routes between the members' network namespaces, see
//   below), link_delay / link_loss / link_duplicate / link_reorder / clog (the sending member's transport
//   link faults, through the same Admin service; times scaled by time_scale, draws seeded from the run's
//   seed), slow_node (a delay on every link into and out of the node's process, at each sending member).
//   Refused: clock_skew, storage_failure, wan_cut, cluster_outage "mode": "network" (no per-process clock or
//   disk fault, and no kernel network shaping on this host). Every process started is killed when the run
//   ends.
// - Network namespaces (netns): each head and node runs under `ip netns exec` in a namespace of its own, listening
//   on its namespace address (10.213.0.x, port 7100; the cluster files allow remote and carry a token made for the
//   run); this process, the driver, joins the hub namespace (the bridge). A cut is a blackhole route in the
//   sender's namespace, kept across a kill and restart of the process; partition_one_way stalls TCP both ways
//   (a one-way route still stops the acknowledgements). Client nodes are the driver, i.e. the hub: a partition
//   naming a client node cuts nothing for it (as with the filter), but an isolated member is cut from the hub
//   too, so the driver, every client node and the serving keeper lose it as well (in sim an isolated node
//   reaches no one). At most 16 members. Every namespace is deleted when the run ends; those of a killed run
//   are deleted by the next netns run.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/common/result.h"
#include "scenarios/runner.h"
#include "scenarios/scenario.h"

namespace tandem::scenarios {

struct RealRunOptions {
  std::optional<uint64_t> seed;  // overrides the scenario's (it seeds the workload, job draws and nemesis)
  double time_scale = 1;         // scenario seconds per real second; > 0
  std::string work_dir;          // cluster.json, members' logs and state stores go here (must exist)
  std::string tandem_binary;     // the `tandem` executable that runs the members
  // Every member in a network namespace of its own (real_backend/netns.h), this process in the hub namespace,
  // and isolate / partition / partition_one_way made by the kernel (blackhole routes) instead of the transport
  // filter. Needs root and `ip netns` (kUnavailable otherwise, saying why) and a process with one thread: the
  // driver joins the hub namespace before it makes any thread or socket, and stays there after the run.
  bool netns = false;
  std::function<void(Duration reached, Duration total)> progress;         // scenario time
  std::function<void(Duration at, const std::string& what)> on_step;      // scenario time
};

std::vector<std::string> real_world_problems(const Scenario& scenario);

// Runs `scenario` on real processes. Errors: kInvalidArgument (real_world_problems, or a bad time_scale),
// kUnavailable (a member did not start; the message has its log's tail).
Result<RunResult> run_scenario_real(const Scenario& scenario, const RealRunOptions& options);

}  // namespace tandem::scenarios
