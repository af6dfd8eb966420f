// The runner: builds a loaded Scenario on a sim World, drives its workload, injects its faults, heals for
// liveness, and returns what happened as a RunRecord with the checks' verdicts.
//
// Contract:
// - simulate() is a pure function of (scenario, seed): the same inputs give the same RunRecord and trace
// hash.
//   It never fails: everything that could go wrong was refused by the loader, so a TANDEM_CHECK here is a
//   bug.
// - The world runs for the scenario's duration, then `drain` longer with no new requests, so every request in
//   flight ends (or is judged lost).
// - run_scenario() = simulate() + the checks; with determinism on (expect.determinism, or forced by the
//   options) it simulates a second time and compares trace hashes.
// - Wall time is measured here only for reporting; nothing in the run reads it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "fault_injection/schedule.h"
#include "reports/checks.h"
#include "reports/run_record.h"
#include "scenarios/scenario.h"
#include "sim/world.h"

namespace tandem::scenarios {

struct RunOptions {
  std::optional<uint64_t> seed;     // overrides the scenario's seed
  std::optional<bool> determinism;  // overrides expect.determinism
  // Called about a hundred times with the simulated time reached and the total.
  std::function<void(Duration reached, Duration total)> progress;
  // Called for each scheduled step as it happens ("crash east-a/server0 for 5s").
  std::function<void(Duration at, const std::string& what)> on_step;
};

struct RunResult {
  reports::RunRecord record;
  std::vector<reports::CheckResult> checks;
  double wall_seconds = 0;  // of the first simulation
  double replay_wall_seconds = 0;
  bool passed = false;  // every check passed or was not evaluated
};

uint64_t effective_seed(const Scenario& scenario, const RunOptions& options);

// Building blocks shared with the real world's runner (scenarios/real/real_runner.h):
// the scenario's regions, clusters and WAN links on `network`; then its nodes, numbered as the topology index does
// (boot_for may be empty: nodes that run nothing, e.g. to plan a nemesis);
void add_topology(const Scenario& scenario, sim::Network& network);
void add_nodes(const Scenario& scenario, sim::World& world, const std::function<sim::Boot(NodeId)>& boot_for);
// the empty record of a run — names, clusters, the request log's buckets;
reports::RunRecord new_run_record(const Scenario& scenario, uint64_t seed);
// the scenario's scripted faults and actions (not its "op" events, which need service instances) followed by its
// nemesis plan (drawn from root.fork("nemesis"); the kinds enabled are noted in the record), as one schedule.
fault_injection::Schedule fault_schedule(const Scenario& scenario, const sim::Network& network, const Random& root,
                                         reports::RunRecord& record);

reports::RunRecord simulate(const Scenario& scenario, uint64_t seed, const RunOptions& options = {});

RunResult run_scenario(const Scenario& scenario, const RunOptions& options = {});

}  // namespace tandem::scenarios
