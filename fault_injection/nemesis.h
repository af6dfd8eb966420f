// Nemesis: random faults drawn from the run's seed — Jepsen's nemesis with swarm testing's feature omission.
//
// Contract:
// - plan_nemesis() turns a NemesisSpec into a fixed list of faults (start, duration, resolved targets) using
//   only the Random it is given, so the same seed gives the same plan, and the plan is known before the run
//   starts (it is shown in reports, and a failing seed can be read off without re-running).
// - Each enabled fault kind arrives as a Poisson process with the given mean interval, from `start` to `end`.
//   With `swarm`, each run first draws which kinds are enabled (each with probability 1/2, at least one), so
//   different seeds explore different fault mixes (Groce et al., "Swarm Testing", ISSTA 2012).
// - At most `max_concurrent` nemesis faults are in force at once; an arrival that would exceed it is dropped.
// - Quiet periods: when quiet_every > 0, the last quiet_for of every quiet_every (counted from `start`) is
//   quiet — no fault starts in it and every fault is clipped to end before it — so the system gets regular
//   chances to recover, and recovery times can be measured.
// - Targets are drawn from `nodes` (and the clusters those nodes are in, and `wan_links`). A kind whose
// target
//   cannot be formed (a partition with one node, a WAN cut without WAN links) is not enabled.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/env/random.h"
#include "fault_injection/fault.h"
#include "fault_injection/schedule.h"
#include "sim/network.h"

namespace tandem::fault_injection {

struct NemesisFaultSpec {
  Fault parameters;  // kind and its numbers (probability, delay, jitter, skew, outage mode); targets ignored
  Duration mean_interval = std::chrono::seconds(10);
  Duration min_duration = std::chrono::seconds(1);
  Duration max_duration = std::chrono::seconds(5);
};

struct NemesisSpec {
  Duration start{};
  Duration end{};
  std::vector<NemesisFaultSpec> faults;
  std::vector<NodeId> nodes;  // candidate targets
  std::vector<std::pair<sim::RegionId, sim::RegionId>> wan_links;
  bool swarm = false;
  uint32_t max_concurrent = 1;
  Duration quiet_every{};
  Duration quiet_for{};
};

struct PlannedFault {
  Duration at{};
  Duration duration{};
  Fault fault;
};

struct NemesisPlan {
  std::vector<FaultKind> enabled;    // after the swarm draw, in spec order
  std::vector<PlannedFault> faults;  // by start time
};

// Most faults one plan may hold: a mean interval of 1ms over a day would otherwise plan millions.
inline constexpr size_t kMaxPlannedFaults = 20'000;

NemesisPlan plan_nemesis(const NemesisSpec& spec, const sim::Network& network, Random random);

// Adds the plan's faults to a schedule with source "nemesis".
void add_to_schedule(const NemesisPlan& plan, Schedule& schedule);

// "east-a" when `nodes` is exactly a cluster, else up to four node names and "+N more".
std::string describe_nodes(const sim::Network& network, const std::vector<NodeId>& nodes);

}  // namespace tandem::fault_injection
