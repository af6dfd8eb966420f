// Explorer: property-based fault exploration over a base scenario (`tandem explore`).
//
// RapidCheck generates fault schedules for the base scenario — which fault kinds are on (swarm testing: each
// run draws its own mix), how many faults, when, for how long, on which targets, with which parameters, and
// the run's seed, interleaved with the operations the scenario's services offer for exploration (deploy,
// scale, upgrade, canary, AppMaster kill, ...: ServiceSpec::explore_operations) — runs each as an ordinary scenario and asks every check of the scenario to hold. When one
// fails, RapidCheck shrinks the schedule (fewer events, earlier, shorter, simpler targets) while the same
// check keeps failing, and the smallest failing schedule is returned as a scenario document: the base
// scenario with the generated events appended and the seed fixed. `tandem run` on that file reproduces the
// failure exactly, because a run is a function of (scenario, seed).
//
// Contract:
// - explore() is deterministic in (base scenario, options.seed) as long as the wall-clock budgets do not cut
//   it short (they only ever stop work early; they never change what a run does).
// - Only the judged checks (ExploreOptions::checks) count. Each distinct violation is the first failing check of a run whose name was not found before; once a
//   check has a reproducer, runs that fail only that check count as passing, so the search moves on to
//   other failures.
// - Safety checks are judged over the whole run and liveness after the base scenario's heal point, exactly
//   as `tandem run` judges them: generated faults are placed before the heal point (or, without liveness,
//   in the first 70% of the run so they end in time for the checks to see recovery).
// - A generated schedule the loader refuses is a bug in the generator: explore() reports it as the
//   violation "generator" rather than hiding it.
//
// Lifecycle of one exploration:  generate -> run -> (all hold: next run)
//                                               -> (a new check fails: shrink -> reproducer -> next round)
//                                stop at `runs` runs or when the budget is spent.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "scenarios/problems.h"
#include "scenarios/scenario.h"

namespace tandem::scenarios {

inline constexpr size_t kMaxExploreEvents = 64;

// Safety (no request lost, upgrade safety, one acting AppMaster, autoscaler bounds) throughout, and
// convergence after the heal point (liveness, discovery convergence).
inline constexpr const char* kDefaultExploreChecks[] = {
    "no_lost_requests", "liveness", "upgrade_safety", "single_acting_appmaster", "discovery_convergence",
    "autoscaler_bounds"};

struct ExploreOptions {
  uint64_t seed = 1;                     // RapidCheck's seed: the whole exploration follows from it
  uint64_t runs = 100;                   // generated runs (shrinking steps not counted)
  std::optional<double> budget_seconds;  // wall-clock limit on the search, if any
  double shrink_budget_seconds = 60;     // wall-clock limit on shrinking one violation
  size_t max_events = 6;                 // most generated faults per run
  std::vector<std::string> kinds;        // fault kinds to draw from (names); empty = every applicable kind
  bool vary_seed = true;                 // each run also draws the scenario's seed
  bool swarm = true;                     // each run draws which of the kinds are on
  // Checks that must hold for every generated schedule; empty = kDefaultExploreChecks. Thresholds on
  // availability, latency and recovery time are the scenario author's for the faults they scripted, so a
  // harsher random schedule is expected to break them; judge them too with all_checks.
  std::vector<std::string> checks;
  bool all_checks = false;
  // Called after each run (search or shrink) with the totals so far.
  std::function<void(const struct ExploreProgress&)> progress;
};

struct ExploreProgress {
  uint64_t runs = 0;          // search runs done
  uint64_t shrink_runs = 0;   // runs spent shrinking
  size_t violations = 0;      // distinct violations found
  bool shrinking = false;     // shrinking right now
  double wall_seconds = 0;
};

struct Violation {
  std::string check;      // the first violated check, e.g. "no_lost_requests"
  std::string summary;    // what the check said
  Json reproducer;        // scenario document: base + minimal events, fixed seed
  uint64_t seed = 0;      // the scenario seed of the reproducer
  size_t events = 0;      // generated events in the reproducer
  size_t unshrunk_events = 0;
  std::vector<std::string> event_labels;  // "12.0s crash east-a/server0 for 3.0s", in time order
  uint64_t found_after_runs = 0;
  double seconds_to_find = 0;
  double seconds_to_shrink = 0;
  uint64_t shrink_runs = 0;
};

struct ExploreResult {
  uint64_t runs = 0;
  uint64_t shrink_runs = 0;
  uint64_t checks_evaluated = 0;                     // check verdicts of pass or fail, over the search runs
  std::map<std::string, uint64_t> faults_by_kind;    // generated faults ("op <name>" for operations), search runs
  std::vector<Violation> violations;
  double wall_seconds = 0;
  bool budget_exhausted = false;
  std::vector<std::string> kinds;  // the fault kinds that were drawn from
};

// The fault kinds explore() can generate for this scenario (needs enough nodes, clusters, WAN links).
std::vector<std::string> explorable_fault_kinds(const Scenario& base);

// Refuses options that cannot work (unknown or inapplicable kinds, zero runs, max_events out of range).
Status validate_explore_options(const Scenario& base, const ExploreOptions& options);

ExploreResult explore(const Scenario& base, const ExploreOptions& options);

}  // namespace tandem::scenarios
