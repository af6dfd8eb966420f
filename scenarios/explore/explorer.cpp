#include "scenarios/explore/explorer.h"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <set>
#include <sstream>

#include <rapidcheck.h>

#include "core/common/check.h"
#include "scenarios/duration.h"
#include "scenarios/runner.h"

namespace tandem::scenarios {
namespace {

using fault_injection::FaultKind;
using fault_injection::FaultKindInfo;
using fault_injection::TargetShape;

using Clock = std::chrono::steady_clock;

constexpr int64_t kMinFaultMs = 100;
constexpr int64_t kMaxFaultMs = 20'000;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string ms_text(int64_t ms) { return std::to_string(ms) + "ms"; }

// Where and when faults may be generated for one base scenario.
struct FaultSpace {
  std::vector<const FaultKindInfo*> kinds;  // applicable, in fault.h order; nullptr = a service operation
  std::vector<std::string> node_targets;    // node names, then cluster names
  std::vector<std::string> clusters;
  std::vector<std::pair<std::string, std::string>> wan_links;
  std::vector<std::string> actors;  // kill_actor targets offered by the services
  std::vector<Json> operations;     // "op" events offered by the services (without "at")
  int64_t window_ms = 0;  // faults start in [0, window_ms) and end by it
};

constexpr std::string_view kOperationKind = "op";

std::vector<std::string> actor_targets(const Scenario& base) {
  std::vector<std::string> actors;
  for (const auto& service : base.services) {
    if (!service->runs_actors()) continue;
    for (std::string& actor : service->explore_actor_targets()) actors.push_back(std::move(actor));
  }
  return actors;
}

std::vector<Json> operations(const Scenario& base) {
  std::vector<Json> out;
  for (const auto& service : base.services)
    for (Json& operation : service->explore_operations()) out.push_back(std::move(operation));
  return out;
}

bool applicable(const FaultKindInfo& info, const Scenario& base) {
  switch (info.shape) {
    case TargetShape::kNodes:
      return base.index.node_count() > 0;
    case TargetShape::kTwoSides:
      return base.index.cluster_count() >= 2 || base.index.node_count() >= 2;
    case TargetShape::kCluster:
      return base.index.cluster_count() >= 1;
    case TargetShape::kRegionPair:
      return !base.index.wan_links().empty();
    case TargetShape::kActor:
      return !actor_targets(base).empty();
  }
  return false;
}

int64_t fault_window_ms(const Scenario& base) {
  const Duration end = base.liveness ? base.liveness->heal_at : base.duration * 7 / 10;
  return std::chrono::duration_cast<std::chrono::milliseconds>(end).count();
}

FaultSpace fault_space(const Scenario& base, const std::vector<std::string>& only) {
  FaultSpace space;
  for (const FaultKindInfo& info : fault_injection::all_fault_kinds()) {
    if (!applicable(info, base)) continue;
    if (!only.empty() && std::find(only.begin(), only.end(), info.name) == only.end()) continue;
    space.kinds.push_back(&info);
  }
  space.operations = operations(base);
  if (!space.operations.empty() &&
      (only.empty() || std::find(only.begin(), only.end(), kOperationKind) != only.end()))
    space.kinds.push_back(nullptr);
  space.actors = actor_targets(base);
  space.node_targets = base.index.node_names();
  space.clusters = base.index.cluster_names();
  for (const std::string& cluster : space.clusters) space.node_targets.push_back(cluster);
  for (const auto& [a, b] : base.index.wan_links())
    space.wan_links.emplace_back(base.index.region_names().at(a), base.index.region_names().at(b));
  space.window_ms = fault_window_ms(base);
  return space;
}

// Two different sides: two clusters when there are two, else two nodes.
std::pair<std::string, std::string> two_sides(const FaultSpace& space, int a, int b) {
  const std::vector<std::string>& pool =
      space.clusters.size() >= 2 ? space.clusters
                                 : std::vector<std::string>(space.node_targets.begin(),
                                                            space.node_targets.end() -
                                                                static_cast<ptrdiff_t>(space.clusters.size()));
  const size_t first = static_cast<size_t>(a) % pool.size();
  size_t second = static_cast<size_t>(b) % (pool.size() - 1);
  if (second >= first) ++second;
  return {pool[first], pool[second]};
}

// One generated fault, as raw numbers RapidCheck shrinks towards zero.
struct Draw {
  int kind = 0;
  int64_t at_ms = 0;
  int64_t for_ms = 0;
  int target = 0;
  int other = 0;
  int parameter = 0;  // 0..999, scaled per kind
};

// A service operation ("op" event) at the draw's time.
Json operation_json(const FaultSpace& space, const Draw& draw) {
  Json event = space.operations.at(static_cast<size_t>(draw.target) % space.operations.size());
  event["at"] = ms_text(std::min(draw.at_ms, space.window_ms - kMinFaultMs));
  return event;
}

Json event_json(const FaultSpace& space, const FaultKindInfo& info, const Draw& draw) {
  Json event = Json::object();
  const int64_t at_ms = std::min(draw.at_ms, space.window_ms - kMinFaultMs);
  const int64_t for_ms = std::clamp(draw.for_ms, kMinFaultMs, std::max(kMinFaultMs, space.window_ms - at_ms));
  event["at"] = ms_text(at_ms);
  event["fault"] = std::string(info.name);
  switch (info.shape) {
    case TargetShape::kNodes:
      event["target"] = space.node_targets.at(static_cast<size_t>(draw.target) % space.node_targets.size());
      break;
    case TargetShape::kTwoSides: {
      auto [a, b] = two_sides(space, draw.target, draw.other);
      if (info.kind == FaultKind::kPartition) {
        event["sides"] = Json::array({Json::array({a}), Json::array({b})});
      } else {
        event["from"] = a;
        event["to"] = b;
      }
      break;
    }
    case TargetShape::kCluster:
      event["target"] = space.clusters.at(static_cast<size_t>(draw.target) % space.clusters.size());
      if (info.kind == FaultKind::kClusterOutage) event["mode"] = draw.other % 2 == 0 ? "network" : "power";
      break;
    case TargetShape::kRegionPair: {
      const auto& [a, b] = space.wan_links.at(static_cast<size_t>(draw.target) % space.wan_links.size());
      event["between"] = Json::array({a, b});
      break;
    }
    case TargetShape::kActor:
      event["target"] = space.actors.at(static_cast<size_t>(draw.target) % space.actors.size());
      break;
  }
  // Parameters grow with `parameter`, so shrinking makes a fault milder.
  const int p = draw.parameter;
  switch (info.kind) {
    case FaultKind::kLinkLoss:
    case FaultKind::kLinkDuplicate:
      event["probability"] = 0.05 + 0.9 * p / 999.0;
      break;
    case FaultKind::kLinkDelay:
    case FaultKind::kSlowNode:
      event["delay"] = ms_text(1 + p / 2);
      break;
    case FaultKind::kLinkReorder:
      event["jitter"] = ms_text(1 + p / 10);
      break;
    case FaultKind::kClockSkew:
      event["skew"] = ms_text((p % 2 == 0 ? 1 : -1) * (10 + p * 10));
      break;
    default:
      break;
  }
  event["for"] = ms_text(for_ms);
  return event;
}

// RapidCheck prints "Using configuration: ..." to stderr the first time it loads its global configuration.
// The explorer passes its own parameters, so that line would only confuse a reader of `tandem explore`.
void load_rapidcheck_configuration_quietly() {
  std::ostringstream sink;
  std::streambuf* saved = std::cerr.rdbuf(sink.rdbuf());
  (void)rc::detail::configuration();
  std::cerr.rdbuf(saved);
}

class Listener final : public rc::detail::TestListener {
 public:
  explicit Listener(std::function<void(bool shrinking)> on_case) : on_case_(std::move(on_case)) {}
  void onTestCaseFinished(const rc::detail::CaseDescription&) override { on_case_(false); }
  void onShrinkTried(const rc::detail::CaseDescription&, bool) override { on_case_(true); }
  void onTestFinished(const rc::detail::TestMetadata&, const rc::detail::TestResult&) override {}

 private:
  std::function<void(bool)> on_case_;
};

// What the last failing run looked like; after RapidCheck is done shrinking this is the minimal one.
struct Failing {
  std::string check;
  std::string summary;
  Json document;
  uint64_t seed = 0;
  size_t events = 0;
};

}  // namespace

std::vector<std::string> explorable_fault_kinds(const Scenario& base) {
  std::vector<std::string> names;
  for (const FaultKindInfo* info : fault_space(base, {}).kinds)
    names.emplace_back(info == nullptr ? kOperationKind : info->name);
  return names;
}

Status validate_explore_options(const Scenario& base, const ExploreOptions& options) {
  if (options.runs == 0) return make_error(Errc::kInvalidArgument, "runs must be at least 1");
  if (options.max_events == 0 || options.max_events > kMaxExploreEvents)
    return make_error(Errc::kInvalidArgument,
                      "max events must be between 1 and " + std::to_string(kMaxExploreEvents));
  if (fault_window_ms(base) < 2 * kMinFaultMs)
    return make_error(Errc::kInvalidArgument, "scenario '" + base.name +
                                                  "' leaves no time for faults: make its duration (or "
                                                  "liveness.heal_at) at least 1s");
  const std::vector<std::string> known = explorable_fault_kinds(base);
  if (known.empty())
    return make_error(Errc::kInvalidArgument, "no fault kind applies to scenario '" + base.name + "'");
  for (const std::string& kind : options.kinds) {
    if (std::find(known.begin(), known.end(), kind) == known.end()) {
      std::string list;
      for (const std::string& name : known) list += (list.empty() ? "" : ", ") + name;
      return make_error(Errc::kInvalidArgument,
                        "fault kind '" + kind + "' cannot be generated for this scenario; choose from: " + list);
    }
  }
  // Every check name reports/ can produce; "determinism" is left out: explore runs each schedule once.
  static const std::vector<std::string> kKnownChecks = {
      "no_lost_requests", "liveness",          "upgrade_safety", "single_acting_appmaster", "discovery_convergence",
      "autoscaler_bounds", "availability", "latency",        "recovery"};
  for (const std::string& check : options.checks) {
    if (std::find(kKnownChecks.begin(), kKnownChecks.end(), check) == kKnownChecks.end()) {
      std::string list;
      for (const std::string& name : kKnownChecks) list += (list.empty() ? "" : ", ") + name;
      return make_error(Errc::kInvalidArgument, "unknown check '" + check + "'; choose from: " + list);
    }
  }
  if (options.budget_seconds && *options.budget_seconds <= 0)
    return make_error(Errc::kInvalidArgument, "the budget must be positive, e.g. 60s");
  return Status{};
}

ExploreResult explore(const Scenario& base, const ExploreOptions& options) {
  TANDEM_CHECK(validate_explore_options(base, options).ok(), "call validate_explore_options first");
  load_rapidcheck_configuration_quietly();
  const FaultSpace space = fault_space(base, options.kinds);
  const std::string base_dir = base.path.empty() ? "." : base.path.substr(0, base.path.find_last_of('/') + 1);
  const size_t base_events = base.document.contains("events") ? base.document["events"].size() : 0;
  const int kind_count = static_cast<int>(space.kinds.size());

  ExploreResult result;
  for (const FaultKindInfo* info : space.kinds)
    result.kinds.emplace_back(info == nullptr ? kOperationKind : info->name);
  const Clock::time_point start = Clock::now();
  std::set<std::string> found;
  bool shrinking = false;
  Clock::time_point shrink_start = start;
  std::optional<Failing> failing;
  std::vector<std::string> judged = options.checks;
  if (judged.empty()) judged.assign(std::begin(kDefaultExploreChecks), std::end(kDefaultExploreChecks));
  auto is_judged = [&](const std::string& name) {
    return options.all_checks || std::find(judged.begin(), judged.end(), name) != judged.end();
  };

  auto over_budget = [&] {
    if (shrinking) return seconds_since(shrink_start) > options.shrink_budget_seconds;
    return options.budget_seconds && seconds_since(start) > *options.budget_seconds;
  };
  auto report = [&] {
    if (!options.progress) return;
    ExploreProgress progress{result.runs, result.shrink_runs, result.violations.size(), shrinking,
                             seconds_since(start)};
    options.progress(progress);
  };

  auto property = [&]() {
    if (over_budget()) return;  // counts as a pass: the budget only ever stops work
    const uint64_t seed =
        options.vary_seed ? *rc::gen::resize(100, rc::gen::inRange<uint64_t>(1, 1'000'000)) : base.seed;
    std::vector<int> enabled;  // indexes into space.kinds
    if (options.swarm && kind_count > 1) {
      const auto on = *rc::gen::container<std::vector<bool>>(static_cast<size_t>(kind_count),
                                                           rc::gen::arbitrary<bool>());
      for (int k = 0; k < kind_count; ++k)
        if (!on[static_cast<size_t>(k)]) enabled.push_back(k);  // false (the shrink target) = enabled
      if (enabled.empty()) enabled.push_back(*rc::gen::resize(100, rc::gen::inRange(0, kind_count)));
    } else {
      for (int k = 0; k < kind_count; ++k) enabled.push_back(k);
    }
    const int enabled_count = static_cast<int>(enabled.size());
    // RapidCheck scales inRange by the test size, which starts at 0; at size 100 every value is reachable,
    // so early runs are not confined to the first kinds and the first moments of the run.
    const auto draw_gen = rc::gen::resize(100, rc::gen::map(
        rc::gen::tuple(rc::gen::inRange(0, enabled_count), rc::gen::inRange<int64_t>(0, space.window_ms),
                       rc::gen::inRange<int64_t>(kMinFaultMs, kMaxFaultMs), rc::gen::inRange(0, 1 << 16),
                       rc::gen::inRange(0, 1 << 16), rc::gen::inRange(0, 1000)),
        [](const std::tuple<int, int64_t, int64_t, int, int, int>& t) {
          return Draw{std::get<0>(t), std::get<1>(t), std::get<2>(t),
                      std::get<3>(t), std::get<4>(t), std::get<5>(t)};
        }));
    auto draws = *rc::gen::resize(static_cast<int>(options.max_events),
                                  rc::gen::nonEmpty(rc::gen::container<std::vector<Draw>>(draw_gen)));
    if (draws.size() > options.max_events) draws.resize(options.max_events);

    Json document = base.document;
    document["seed"] = seed;
    if (!document.contains("events")) document["events"] = Json::array();
    std::vector<std::pair<int64_t, Json>> events;
    for (const Draw& draw : draws) {
      const FaultKindInfo* info = space.kinds.at(static_cast<size_t>(enabled.at(static_cast<size_t>(draw.kind))));
      Json event = info == nullptr ? operation_json(space, draw) : event_json(space, *info, draw);
      if (!shrinking)
        ++result.faults_by_kind[info == nullptr ? "op " + event["op"].get<std::string>() : std::string(info->name)];
      events.emplace_back(draw.at_ms, std::move(event));
    }
    std::stable_sort(events.begin(), events.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto& [at, event] : events) document["events"].push_back(std::move(event));

    LoadResult loaded = load_scenario_json(document, base_dir);
    std::vector<std::string> failed;
    std::string summary;
    if (!loaded.ok()) {
      failed.push_back("generator");
      summary = "the generated scenario was refused: " + loaded.problems.to_string();
    } else {
      RunOptions run_options;
      run_options.determinism = false;
      const RunResult run = run_scenario(*loaded.scenario, run_options);
      for (const reports::CheckResult& check : run.checks) {
        if (!is_judged(check.name)) continue;
        if (!shrinking && check.status != reports::CheckStatus::kNotEvaluated) ++result.checks_evaluated;
        if (check.status == reports::CheckStatus::kFail && !found.contains(check.name)) {
          if (failed.empty()) summary = check.summary;
          failed.push_back(check.name);
        }
      }
    }
    (shrinking ? result.shrink_runs : result.runs) += 1;
    report();
    if (failed.empty()) return;
    // While shrinking, only schedules that break the same check count as failing.
    if (shrinking && std::find(failed.begin(), failed.end(), failing->check) == failed.end()) return;
    const std::string check = shrinking ? failing->check : failed.front();
    failing = Failing{check, summary, std::move(document), seed, draws.size()};
    RC_FAIL(check + ": " + summary);
  };

  uint64_t round = 0;
  while (result.runs < options.runs && !over_budget()) {
    const uint64_t runs_before = result.runs;
    failing.reset();
    shrinking = false;
    size_t unshrunk = 0;
    double seconds_to_find = 0;
    uint64_t shrink_runs_before = result.shrink_runs;
    Listener listener([&](bool shrink_step) {
      if (shrink_step || shrinking || !failing) return;
      // The first failing case just finished: RapidCheck starts shrinking next.
      shrinking = true;
      shrink_start = Clock::now();
      unshrunk = failing->events;
      seconds_to_find = seconds_since(start);
      shrink_runs_before = result.shrink_runs;
    });
    rc::detail::TestParams params;
    params.seed = options.seed + 0x9E3779B97F4A7C15ull * round++;
    params.maxSuccess = static_cast<int>(std::min<uint64_t>(options.runs - result.runs, 1'000'000));
    params.maxSize = 100;
    params.maxDiscardRatio = 10;
    const rc::detail::TestResult outcome = rc::detail::checkProperty(
        rc::detail::toProperty(property), rc::detail::TestMetadata{}, params, listener);
    shrinking = false;
    if (!failing || outcome.template is<rc::detail::SuccessResult>()) break;
    Violation violation;
    violation.check = failing->check;
    violation.summary = failing->summary;
    violation.reproducer = failing->document;
    violation.reproducer["description"] =
        "Minimal reproducer found by tandem explore (seed " + std::to_string(options.seed) + ") for the check " +
        failing->check + ". " + base.description;
    violation.seed = failing->seed;
    violation.events = failing->events;
    violation.unshrunk_events = unshrunk == 0 ? failing->events : unshrunk;
    violation.found_after_runs = result.runs - runs_before;
    violation.seconds_to_find = seconds_to_find;
    violation.seconds_to_shrink = seconds_since(shrink_start);
    violation.shrink_runs = result.shrink_runs - shrink_runs_before;
    LoadResult reloaded = load_scenario_json(violation.reproducer, base_dir);
    if (reloaded.ok()) {
      for (const EventSpec& event : reloaded.scenario->events) {
        const bool operation = event.kind == EventSpec::Kind::kOperation;
        if (event.kind != EventSpec::Kind::kFault && !operation) continue;
        const size_t index = std::stoul(event.source.substr(event.source.find('/') + 1));
        if (index < base_events) continue;
        std::string label = "at " + format_scenario_duration(event.at) + ": " +
                            (operation ? event.operation->description : event.fault.label);
        if (event.duration) label += " for " + format_scenario_duration(*event.duration);
        violation.event_labels.push_back(std::move(label));
      }
    }
    found.insert(violation.check);
    result.violations.push_back(std::move(violation));
    if (failing->check == "generator") break;  // a generator bug: no point searching on
  }
  result.budget_exhausted = options.budget_seconds && result.runs < options.runs &&
                            seconds_since(start) > *options.budget_seconds;
  result.wall_seconds = seconds_since(start);
  return result;
}

}  // namespace tandem::scenarios
