#include "cli/explore_command.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cli/command_support.h"
#include "reports/checks.h"
#include "scenarios/duration.h"
#include "scenarios/explore/explorer.h"
#include "scenarios/runner.h"

namespace tandem::cli {
namespace {

constexpr const char* kExploreUsage = R"(Usage: tandem explore SCENARIO [options]

Generates random fault schedules over SCENARIO (which fault kinds are on, how many faults, when, for how long,
on which targets, and the run's seed), runs each and requires every check of the scenario to hold. A failure
is shrunk to the smallest schedule that still breaks the same check and written as a scenario file that
'tandem run' replays exactly. Searching continues for other checks until the runs or the budget are spent.

Options:
  --runs N            generated runs (default 100)
  --budget DURATION   wall-clock limit on the search, e.g. 60s or 10m (default: none)
  --shrink-budget D   wall-clock limit on shrinking one failure (default 60s)
  --seed N            seed of the exploration itself (default 1): the same seed explores the same schedules
  --max-events N      most generated faults per run (default 6)
  --kinds a,b,...     only these fault kinds (default: every kind that applies to the scenario)
  --checks a,b,...    checks that must hold (default: no_lost_requests, liveness, upgrade_safety,
                      single_acting_appmaster, discovery_convergence, autoscaler_bounds)
  --all-checks        also judge availability, latency and recovery thresholds
  --no-swarm          every run may draw every kind (default: each run draws its own subset)
  --fixed-seed        keep the scenario's own seed instead of drawing one per run
  --out DIR           where reproducers go (default tandem-out/explore-<scenario>)
  --quiet             no progress bar
Exit status: 0 when no violation was found, 1 when one was (or the scenario is invalid), 2 for bad arguments.
)";

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    const size_t end = comma == std::string::npos ? text.size() : comma;
    if (end > start) out.push_back(text.substr(start, end - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

// Whether running the reproducer file once more fails `check` (the reproduction promise).
bool reproduces(const std::string& path, const std::string& check) {
  scenarios::LoadResult loaded = scenarios::load_scenario_file(path);
  if (!loaded.ok()) return false;
  scenarios::RunOptions options;
  options.determinism = false;
  const scenarios::RunResult run = scenarios::run_scenario(*loaded.scenario, options);
  for (const reports::CheckResult& result : run.checks)
    if (result.name == check && result.status == reports::CheckStatus::kFail) return true;
  return false;
}

}  // namespace

int explore_command(int argc, char** argv) {
  std::optional<std::string> scenario_name;
  scenarios::ExploreOptions options;
  std::optional<std::string> out;
  bool quiet = false;
  std::vector<std::string> kinds;
  for (int i = 0; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (is_help(arg)) {
      std::fputs(kExploreUsage, stdout);
      return 0;
    } else if (arg == "--runs" || arg == "--seed" || arg == "--max-events") {
      if (!has_value || !parse_u64(argv[i + 1]))
        return usage_error("explore", std::string(arg) + " needs a non-negative integer", kExploreUsage);
      const uint64_t value = *parse_u64(argv[++i]);
      if (arg == "--runs") {
        if (value == 0 || value > 10'000'000)
          return usage_error("explore", "--runs must be between 1 and 10000000", kExploreUsage);
        options.runs = value;
      } else if (arg == "--seed") {
        options.seed = value;
      } else {
        if (value == 0 || value > scenarios::kMaxExploreEvents)
          return usage_error("explore",
                             "--max-events must be between 1 and " + std::to_string(scenarios::kMaxExploreEvents),
                             kExploreUsage);
        options.max_events = value;
      }
    } else if (arg == "--budget" || arg == "--shrink-budget") {
      if (!has_value) return usage_error("explore", std::string(arg) + " needs a duration, e.g. 60s", kExploreUsage);
      Result<Duration> budget = scenarios::parse_duration(argv[++i]);
      if (!budget.ok() || budget.value() <= Duration::zero())
        return usage_error("explore",
                           std::string(arg) + " '" + argv[i] + "' is not a positive duration; give e.g. 60s or 10m",
                           kExploreUsage);
      if (arg == "--budget") {
        options.budget_seconds = to_seconds(budget.value());
      } else {
        options.shrink_budget_seconds = to_seconds(budget.value());
      }
    } else if (arg == "--kinds") {
      if (!has_value) return usage_error("explore", "--kinds needs a list, e.g. crash,partition", kExploreUsage);
      kinds = split_commas(argv[++i]);
    } else if (arg == "--checks") {
      if (!has_value) return usage_error("explore", "--checks needs a list, e.g. no_lost_requests,liveness", kExploreUsage);
      options.checks = split_commas(argv[++i]);
    } else if (arg == "--all-checks") {
      options.all_checks = true;
    } else if (arg == "--no-swarm") {
      options.swarm = false;
    } else if (arg == "--fixed-seed") {
      options.vary_seed = false;
    } else if (arg == "--out") {
      if (!has_value) return usage_error("explore", "--out needs a directory", kExploreUsage);
      out = argv[++i];
    } else if (arg == "--quiet") {
      quiet = true;
    } else if (!arg.empty() && arg[0] == '-') {
      return usage_error("explore", "unknown option '" + std::string(arg) + "'", kExploreUsage);
    } else if (!scenario_name) {
      scenario_name = std::string(arg);
    } else {
      return usage_error("explore", "one scenario at a time", kExploreUsage);
    }
  }
  if (!scenario_name) return usage_error("explore", "name a scenario (a .json file or a library name)", kExploreUsage);
  options.kinds = kinds;
  std::optional<scenarios::Scenario> scenario = load_or_report("explore", *scenario_name);
  if (!scenario) return 1;
  if (Status valid = scenarios::validate_explore_options(*scenario, options); !valid.ok())
    return usage_error("explore", valid.error().message, kExploreUsage);

  const std::string out_dir = out.value_or("tandem-out/explore-" + scenario->name);
  std::string kind_list;
  for (const std::string& kind : options.kinds.empty() ? scenarios::explorable_fault_kinds(*scenario) : options.kinds)
    kind_list += (kind_list.empty() ? "" : ", ") + kind;
  std::printf("tandem explore %s: %llu runs, seed %llu, up to %zu faults per run%s%s\n  kinds: %s\n",
              scenario->name.c_str(), static_cast<unsigned long long>(options.runs),
              static_cast<unsigned long long>(options.seed), options.max_events,
              options.swarm ? ", swarm" : "",
              options.budget_seconds ? (", budget " + std::to_string(static_cast<long>(*options.budget_seconds)) + "s").c_str() : "",
              kind_list.c_str());
  std::fflush(stdout);

  ProgressBar bar(!quiet);
  options.progress = [&](const scenarios::ExploreProgress& p) {
    if (p.shrinking) {
      bar.show(static_cast<double>(p.runs) / static_cast<double>(options.runs),
               "shrinking a failure: " + std::to_string(p.shrink_runs) + " tries");
    } else {
      bar.show(static_cast<double>(p.runs) / static_cast<double>(options.runs),
               std::to_string(p.runs) + "/" + std::to_string(options.runs) + " runs, " +
                   std::to_string(p.violations) + " violation" + (p.violations == 1 ? "" : "s"));
    }
  };
  const scenarios::ExploreResult result = scenarios::explore(*scenario, options);
  bar.clear();

  std::printf("\n  %-28s %s\n", "runs", std::to_string(result.runs).c_str());
  std::printf("  %-28s %.1f (search and shrink)\n", "runs per second",
              result.wall_seconds > 0 ? static_cast<double>(result.runs + result.shrink_runs) / result.wall_seconds
                                      : 0.0);
  std::printf("  %-28s %llu\n", "checks evaluated", static_cast<unsigned long long>(result.checks_evaluated));
  std::printf("  %-28s %llu\n", "shrink runs", static_cast<unsigned long long>(result.shrink_runs));
  std::printf("  %-28s %zu\n", "violations", result.violations.size());
  std::printf("  %-28s %.1f s%s\n", "wall time", result.wall_seconds,
              result.budget_exhausted ? " (budget spent before all runs)" : "");
  std::printf("  faults and operations injected, by kind:\n");
  for (const auto& [kind, count] : result.faults_by_kind)
    std::printf("    %-26s %llu\n", kind.c_str(), static_cast<unsigned long long>(count));

  if (result.violations.empty()) {
    std::printf("\nno violation found: every check held in every run\n");
    return 0;
  }
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) {
    std::fprintf(stderr, "tandem explore: cannot create %s: %s\n", out_dir.c_str(), ec.message().c_str());
    return 1;
  }
  for (const scenarios::Violation& violation : result.violations) {
    const std::string path = out_dir + "/" + scenario->name + "-" + violation.check + ".json";
    {
      std::ofstream file(path);
      file << violation.reproducer.dump(2) << "\n";
      if (!file) {
        std::fprintf(stderr, "tandem explore: cannot write %s\n", path.c_str());
        return 1;
      }
    }
    std::printf("\nVIOLATION %s: %s\n", violation.check.c_str(), violation.summary.c_str());
    std::printf("  found after %llu runs (%.1f s); shrunk from %zu to %zu events in %llu tries (%.1f s)\n",
                static_cast<unsigned long long>(violation.found_after_runs), violation.seconds_to_find,
                violation.unshrunk_events, violation.events, static_cast<unsigned long long>(violation.shrink_runs),
                violation.seconds_to_shrink);
    std::printf("  scenario seed %llu; the events that lead to it:\n", static_cast<unsigned long long>(violation.seed));
    for (const std::string& label : violation.event_labels) std::printf("    %s\n", label.c_str());
    const bool again = violation.check == "generator" || reproduces(path, violation.check);
    std::printf("  reproducer: %s (%s)\n    tandem run %s\n", path.c_str(),
                again ? "re-run: fails the same check" : "WARNING: the re-run did not fail; please report this",
                shell_quote(path).c_str());
  }
  return 1;
}

}  // namespace tandem::cli
