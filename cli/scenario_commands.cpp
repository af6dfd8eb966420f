#include "cli/scenario_commands.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "cli/command_support.h"
#include "reports/writers.h"
#include "scenarios/library.h"
#include "scenarios/runner.h"
#include "scenarios/scenario.h"
#if TANDEM_HAS_REAL_BACKEND
#include "scenarios/real/real_runner.h"
#endif

namespace tandem::cli {
namespace {

using scenarios::Scenario;

constexpr const char* kRunUsage = R"(Usage: tandem run [SCENARIO] [options]

Runs a scenario on the simulated world (or, with --world real, on real processes), evaluates its checks, writes
its reports and prints a summary.
SCENARIO is a path to a .json file or the name of a library scenario ('tandem list'); default: default.
Exit status: 0 when every check holds, 1 when one fails (or the scenario is invalid), 2 for bad arguments.

Options:
  --world sim|real    sim (default): the deterministic simulation. real: `tandem head`/`tandem node` processes on
                      127.0.0.1 with real faults (kill -9, SIGSTOP, transport cuts and link faults); for
                      "automl", "serving" and "fanout" services and serving "op" events; what it cannot run
                      is refused before anything starts (docs/real_backend.md)
  --netns             real world only: every member process in a network namespace of its own, and isolate,
                      partition and partition_one_way made by the kernel (blackhole routes) instead of the
                      transport filter; client nodes are this process (in the hub namespace): a partition
                      naming one cuts nothing for it, an isolated member is cut from them too. Needs root and
                      `ip netns`; refused up front otherwise (run without --netns then)
  --time-scale X      real world only: scenario seconds per real second (default 1; 10 runs a 60 s scenario
                      in about 6 s, with every time in it divided by 10)
  --seed N            run with this seed instead of the scenario's
  --out DIR           where to write report.json, report.md, report.html, trace.json
                      (default: tandem-out/<scenario>-seed<N>)
  --no-reports        do not write report files
  --determinism       run twice and compare trace hashes even if the scenario does not ask for it
  --no-determinism    skip the second run even if the scenario asks for it
  --strict            a check that could not be evaluated counts as a failure
  --quiet             do not list faults as they happen
  -h, --help          show this help
)";

constexpr const char* kCheckUsage = R"(Usage: tandem check SCENARIO...

Validates scenarios without running them: every problem is printed with its JSON pointer and how to fix it.
Exit status: 0 when all are valid, 1 when any is not, 2 for bad arguments.
)";

constexpr const char* kSweepUsage = R"(Usage: tandem sweep SCENARIO --seeds N [options]

Runs a scenario with N seeds (first-seed, first-seed + 1, ...), shows a progress bar on stderr, then a summary
table and, for each failing seed, the command that replays it. Reports are written for failing seeds only.
Exit status: 0 when every seed passes, 1 otherwise, 2 for bad arguments.

Options:
  --seeds N           how many seeds to run (1 to 100000)
  --first-seed S      the first seed (default 1)
  --out DIR           where failing seeds' reports go (default: tandem-out/sweep-<scenario>)
  --determinism       also run each seed twice and compare trace hashes
  --strict            a check that could not be evaluated counts as a failure
  -h, --help          show this help
)";

constexpr const char* kReplayUsage = R"(Usage: tandem replay DIR [--out DIR2]

Re-runs a previous run from DIR/report.json (its embedded scenario and seed) and confirms that it reproduces:
the same trace hash, the same verdict. With --out, writes the replay's reports there.
Exit status: 0 when the run reproduced, 1 when it did not, 2 for bad arguments.
)";

constexpr const char* kListUsage = R"(Usage: tandem list [--dir DIR]

Lists the scenario library (scenarios/library, or $TANDEM_SCENARIO_LIBRARY, or DIR) with descriptions.
)";

constexpr const char* kDemoUsage = R"(Usage: tandem demo [--seed N] [--quiet] [--out DIR]

Runs the default scenario (scenarios/library/default.json): 3 clusters in 2 regions serving a quote RPC through
a cluster cut-off, a server crash, a one-way partition, a process pause and packet loss. It runs twice with the
same seed to show the replay is exact, prints the checks and availability per fault window, and writes the
reports (default tandem-out/default-seed<N>). Same as 'tandem run default'.
)";

std::string describe(const Scenario& scenario) {
  std::string out = std::to_string(scenario.index.node_count()) + " nodes in " +
                    std::to_string(scenario.index.cluster_count()) + " clusters";
  for (const auto& service : scenario.services) out += "; " + service->describe();
  out += "; " + seconds_text(scenario.duration) + " simulated";
  if (!scenario.events.empty()) out += "; " + std::to_string(scenario.events.size()) + " scripted events";
  if (scenario.nemesis) out += "; a random nemesis";
  if (scenario.liveness) out += "; liveness heal at " + format_duration(scenario.liveness->heal_at);
  return out;
}


// Availability of the requests started during each fault (the first dozen), from the fine series.
void print_fault_windows(const reports::RunRecord& record) {
  const auto& series = record.requests.series();
  const int64_t bucket = record.requests.bucket().count();
  size_t shown = 0;
  for (const reports::FaultSpan& fault : record.faults) {
    if (fault.skipped) continue;
    if (shown == 0)
      std::printf("\n  %-9s %-9s %9s %13s  %s\n", "start", "end", "requests", "availability", "fault");
    if (++shown > 12) {
      std::printf("  ... %zu faults in all (report.md lists them)\n", record.faults.size());
      break;
    }
    const int64_t end = fault.end_ns.value_or(record.duration.count());
    uint64_t ok = 0;
    uint64_t judged = 0;
    for (int64_t t = fault.start_ns / bucket * bucket;
         t < end && static_cast<size_t>(t / bucket) < series.size(); t += bucket) {
      ok += series[static_cast<size_t>(t / bucket)].ok;
      judged += series[static_cast<size_t>(t / bucket)].ok + series[static_cast<size_t>(t / bucket)].failed;
    }
    std::printf("  %-9s %-9s %9llu %13s  %s\n", format_duration(Duration(fault.start_ns)).c_str(),
                fault.end_ns ? format_duration(Duration(*fault.end_ns)).c_str() : "(end)",
                static_cast<unsigned long long>(judged),
                judged
                    ? reports::format_percent(static_cast<double>(ok) / static_cast<double>(judged)).c_str()
                    : "n/a",
                fault.label.c_str());
  }
}

void print_checks(const std::vector<reports::CheckResult>& checks) {
  for (const reports::CheckResult& check : checks) {
    std::printf("  %-14s %-24s %s\n", std::string(reports::check_status_name(check.status)).c_str(),
                check.name.c_str(), check.summary.c_str());
  }
}

struct RunArgs {
  std::string scenario = "default";
  std::optional<uint64_t> seed;
  std::optional<std::string> out;
  bool reports = true;
  std::optional<bool> determinism;
  bool strict = false;
  bool quiet = false;
  bool real = false;
  bool netns = false;
  double time_scale = 1;
};

int execute_run(const char* command, const RunArgs& args) {
  std::optional<Scenario> scenario = load_or_report(command, args.scenario);
  if (!scenario) return 1;
  scenarios::RunOptions options;
  options.seed = args.seed;
  options.determinism = args.determinism;
  const uint64_t seed = scenarios::effective_seed(*scenario, options);
  std::printf("tandem %s %s (seed %llu): %s\n", command, scenario->name.c_str(),
              static_cast<unsigned long long>(seed), describe(*scenario).c_str());
  ProgressBar bar(true);
  options.progress = [&bar](Duration reached, Duration total) {
    bar.show(to_seconds(reached) / to_seconds(total), seconds_text(reached) + " simulated");
  };
  if (!args.quiet) {
    options.on_step = [&bar](Duration at, const std::string& what) {
      bar.clear();
      std::printf("  %10s  %s\n", format_duration(at).c_str(), what.c_str());
    };
  }
  scenarios::RunResult result;
  const std::string out_dir =
      args.out.value_or("tandem-out/" + scenario->name + "-seed" + std::to_string(seed) + (args.real ? "-real" : ""));
  if (args.real) {
#if TANDEM_HAS_REAL_BACKEND
    // Refused before anything is created or started: every problem by its pointer, with its fix.
    if (const std::vector<std::string> problems = scenarios::real_world_problems(*scenario); !problems.empty()) {
      std::fprintf(stderr, "tandem %s: %s cannot run on the real world:\n", command, scenario->name.c_str());
      for (const std::string& problem : problems) std::fprintf(stderr, "  %s\n", problem.c_str());
      return 1;
    }
    scenarios::RealRunOptions real_options;
    real_options.seed = args.seed;
    real_options.time_scale = args.time_scale;
    real_options.netns = args.netns;
    real_options.work_dir = out_dir + "/real";
    real_options.progress = [&bar](Duration reached, Duration total) {
      bar.show(to_seconds(reached) / to_seconds(total), seconds_text(reached) + " of scenario time (real)");
    };
    real_options.on_step = options.on_step;
    std::error_code error;
    std::filesystem::create_directories(real_options.work_dir + "/state", error);
    if (error) {
      std::fprintf(stderr, "tandem %s: cannot create %s: %s\n", command, real_options.work_dir.c_str(),
                   error.message().c_str());
      return 1;
    }
    real_options.tandem_binary = std::filesystem::read_symlink("/proc/self/exe", error).string();
    std::printf("  real world: members' logs, cluster.json and state in %s (time scale %g)\n",
                real_options.work_dir.c_str(), args.time_scale);
    Result<scenarios::RunResult> real_result = scenarios::run_scenario_real(*scenario, real_options);
    bar.clear();
    if (!real_result.ok()) {
      std::fprintf(stderr, "tandem %s: %s\n", command, real_result.error().message.c_str());
      return 1;
    }
    result = std::move(real_result).value();
#else
    std::fprintf(stderr, "tandem %s: --world real needs the real backend, which this build left out\n", command);
    return 2;
#endif
  } else {
    result = scenarios::run_scenario(*scenario, options);
  }
  bar.clear();

  reports::Report report;
  report.info.scenario_name = scenario->name;
  report.info.description = scenario->description;
  report.info.scenario_path = scenario->path;
  report.info.scenario_document = scenario->document;
  report.info.seed = seed;
  report.info.wall_seconds = result.wall_seconds;
  report.info.run_command = "tandem run " +
                            shell_quote(scenario->path.empty() ? scenario->name : scenario->path) +
                            " --seed " + std::to_string(seed);
  if (args.real) {
    char scale[32];
    std::snprintf(scale, sizeof scale, "%g", args.time_scale);
    report.info.run_command += std::string(" --world real --time-scale ") + scale + (args.netns ? " --netns" : "");
  }
  // A real run has no trace to replay.
  report.info.replay_command = args.reports && !args.real ? "tandem replay " + shell_quote(out_dir) : "";
  report.record = &result.record;
  report.checks = result.checks;
  const bool passed = reports::all_hold(result.checks, args.strict);

  std::printf("\n%s\n", reports::verdict_line(report).c_str());
  if (!passed && reports::report_passed(report)) {
    std::printf("FAIL under --strict: a check that was not evaluated counts as failed\n");
  }
  print_checks(result.checks);
  print_fault_windows(result.record);
  const double simulated = to_seconds(result.record.duration + result.record.drain);
  if (args.real) {
    std::printf("\n  %s of scenario time ran on real processes in %.2f s wall (time scale %g); not replayable\n",
                seconds_text(result.record.duration + result.record.drain).c_str(), result.wall_seconds,
                args.time_scale);
  } else {
    std::printf("\n  %s simulated in %.2f s wall (%.0fx real time); trace hash %s",
                seconds_text(result.record.duration + result.record.drain).c_str(), result.wall_seconds,
                simulated / std::max(result.wall_seconds, 1e-9), hex64(result.record.trace_hash).c_str());
    if (result.replay_wall_seconds > 0) std::printf("; replayed in %.2f s", result.replay_wall_seconds);
    std::printf("\n");
  }
  if (args.reports) {
    if (Status written = reports::write_report_files(report, out_dir); !written.ok()) {
      std::fprintf(stderr, "tandem %s: %s\n", command, written.error().message.c_str());
      return 1;
    }
    std::printf("  reports: %s/report.md  report.html  report.json  trace.json\n", out_dir.c_str());
  }
  std::printf("  rerun:   %s\n", report.info.run_command.c_str());
  if (!report.info.replay_command.empty()) std::printf("  replay:  %s\n", report.info.replay_command.c_str());
  return passed ? 0 : 1;
}

}  // namespace

int run_command(int argc, char** argv) {
  RunArgs args;
  bool have_scenario = false;
  for (int i = 0; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&](const char* name) -> std::optional<std::string> {
      if (i + 1 >= argc) return std::nullopt;
      (void)name;
      return std::string(argv[++i]);
    };
    if (is_help(arg)) {
      std::fputs(kRunUsage, stdout);
      return 0;
    } else if (arg == "--seed") {
      const std::optional<std::string> text = value("--seed");
      if (!text || !parse_u64(*text))
        return usage_error("run", "--seed needs a non-negative integer", kRunUsage);
      args.seed = parse_u64(*text);
    } else if (arg == "--out") {
      args.out = value("--out");
      if (!args.out || args.out->empty()) return usage_error("run", "--out needs a directory", kRunUsage);
    } else if (arg == "--no-reports") {
      args.reports = false;
    } else if (arg == "--determinism") {
      args.determinism = true;
    } else if (arg == "--no-determinism") {
      args.determinism = false;
    } else if (arg == "--strict") {
      args.strict = true;
    } else if (arg == "--quiet") {
      args.quiet = true;
    } else if (arg == "--world") {
      const std::optional<std::string> text = value("--world");
      if (!text || (*text != "sim" && *text != "real")) {
        return usage_error("run", "--world needs sim or real", kRunUsage);
      }
      args.real = *text == "real";
    } else if (arg == "--netns") {
      args.netns = true;
    } else if (arg == "--time-scale") {
      const std::optional<std::string> text = value("--time-scale");
      char* end = nullptr;
      const double scale = text ? std::strtod(text->c_str(), &end) : 0;
      if (!text || end == text->c_str() || *end != '\0' || !(scale > 0) || scale > 10'000) {
        return usage_error("run", "--time-scale needs a number above 0 and at most 10000, e.g. 10", kRunUsage);
      }
      args.time_scale = scale;
    } else if (!arg.empty() && arg[0] == '-') {
      return usage_error("run", "unknown option '" + std::string(arg) + "'", kRunUsage);
    } else if (!have_scenario) {
      args.scenario = std::string(arg);
      have_scenario = true;
    } else {
      return usage_error("run",
                         "one scenario at a time; got '" + args.scenario + "' and '" + std::string(arg) + "'",
                         kRunUsage);
    }
  }
  if (args.time_scale != 1 && !args.real) {
    return usage_error("run", "--time-scale applies to --world real only", kRunUsage);
  }
  if (args.netns && !args.real) {
    return usage_error("run", "--netns applies to --world real only", kRunUsage);
  }
  if (args.real && args.determinism.value_or(false)) {
    return usage_error("run", "--determinism needs the sim world: a real run cannot be replayed", kRunUsage);
  }
  return execute_run("run", args);
}

int demo_command(int argc, char** argv) {
  RunArgs args;
  args.determinism = true;
  for (int i = 0; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (is_help(arg)) {
      std::fputs(kDemoUsage, stdout);
      return 0;
    } else if (arg == "--seed" && i + 1 < argc && parse_u64(argv[i + 1])) {
      args.seed = parse_u64(argv[++i]);
    } else if (arg == "--out" && i + 1 < argc) {
      args.out = argv[++i];
    } else if (arg == "--quiet") {
      args.quiet = true;
    } else if (arg == "--seed") {
      return usage_error("demo", "--seed needs a non-negative integer", kDemoUsage);
    } else if (arg == "--duration") {
      return usage_error(
          "demo",
          "--duration is gone: the demo runs scenarios/library/default.json; copy it and change "
          "\"duration\" (and the event times), then 'tandem run your.json'",
          kDemoUsage);
    } else {
      return usage_error("demo", "unknown option '" + std::string(arg) + "'", kDemoUsage);
    }
  }
  return execute_run("demo", args);
}

int check_command(int argc, char** argv) {
  std::vector<std::string> names;
  for (int i = 0; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (is_help(arg)) {
      std::fputs(kCheckUsage, stdout);
      return 0;
    }
    if (!arg.empty() && arg[0] == '-')
      return usage_error("check", "unknown option '" + std::string(arg) + "'", kCheckUsage);
    names.emplace_back(arg);
  }
  if (names.empty()) return usage_error("check", "name at least one scenario", kCheckUsage);
  bool all_ok = true;
  for (const std::string& name : names) {
    const std::optional<std::string> path = scenarios::resolve_scenario_path(name, library_dir());
    if (!path) {
      std::printf("%s: no such file or library scenario\n", name.c_str());
      all_ok = false;
      continue;
    }
    scenarios::LoadResult loaded = scenarios::load_scenario_file(*path);
    if (loaded.ok()) {
      std::printf("ok  %s: %s — %s\n", path->c_str(), loaded.scenario->name.c_str(),
                  describe(*loaded.scenario).c_str());
    } else {
      all_ok = false;
      std::printf("INVALID  %s (%zu problem%s):\n", path->c_str(), loaded.problems.size(),
                  loaded.problems.size() == 1 ? "" : "s");
      for (const scenarios::Problem& problem : loaded.problems.items())
        std::printf("  %s\n", problem.to_string().c_str());
      if (loaded.problems.dropped() > 0) std::printf("  ... and %zu more\n", loaded.problems.dropped());
    }
  }
  return all_ok ? 0 : 1;
}

int sweep_command(int argc, char** argv) {
  std::optional<std::string> scenario_name;
  std::optional<uint64_t> seeds;
  uint64_t first_seed = 1;
  std::optional<std::string> out;
  bool determinism = false;
  bool strict = false;
  for (int i = 0; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (is_help(arg)) {
      std::fputs(kSweepUsage, stdout);
      return 0;
    } else if (arg == "--seeds" || arg == "--first-seed") {
      if (i + 1 >= argc || !parse_u64(argv[i + 1])) {
        return usage_error("sweep", std::string(arg) + " needs a non-negative integer", kSweepUsage);
      }
      const uint64_t value = *parse_u64(argv[++i]);
      if (arg == "--seeds") {
        if (value == 0 || value > 100'000)
          return usage_error("sweep", "--seeds must be between 1 and 100000", kSweepUsage);
        seeds = value;
      } else {
        first_seed = value;
      }
    } else if (arg == "--out" && i + 1 < argc) {
      out = argv[++i];
    } else if (arg == "--determinism") {
      determinism = true;
    } else if (arg == "--strict") {
      strict = true;
    } else if (!arg.empty() && arg[0] == '-') {
      return usage_error("sweep", "unknown option '" + std::string(arg) + "'", kSweepUsage);
    } else if (!scenario_name) {
      scenario_name = std::string(arg);
    } else {
      return usage_error("sweep", "one scenario at a time", kSweepUsage);
    }
  }
  if (!scenario_name) return usage_error("sweep", "name a scenario", kSweepUsage);
  if (!seeds) return usage_error("sweep", "say how many seeds with --seeds N", kSweepUsage);
  if (first_seed > UINT64_MAX - *seeds)
    return usage_error("sweep", "--first-seed + --seeds overflows", kSweepUsage);
  std::optional<Scenario> scenario = load_or_report("sweep", *scenario_name);
  if (!scenario) return 1;
  const std::string out_dir = out.value_or("tandem-out/sweep-" + scenario->name);
  std::printf("tandem sweep %s: seeds %llu..%llu; %s\n", scenario->name.c_str(),
              static_cast<unsigned long long>(first_seed),
              static_cast<unsigned long long>(first_seed + *seeds - 1), describe(*scenario).c_str());

  struct Row {
    uint64_t seed;
    bool passed;
    double availability;
    double p99_ms;
    std::string failed_checks;
    std::string report_dir;
  };
  std::vector<Row> rows;
  ProgressBar bar(true);
  const auto start = std::chrono::steady_clock::now();
  size_t failing = 0;
  for (uint64_t k = 0; k < *seeds; ++k) {
    const uint64_t seed = first_seed + k;
    bar.show(
        static_cast<double>(k) / static_cast<double>(*seeds),
        std::to_string(k) + "/" + std::to_string(*seeds) + " seeds, " + std::to_string(failing) + " failing");
    scenarios::RunOptions options;
    options.seed = seed;
    options.determinism = determinism;
    scenarios::RunResult result = scenarios::run_scenario(*scenario, options);
    Row row{
        seed, reports::all_hold(result.checks, strict), result.record.requests.totals().availability(), 0, "",
        ""};
    const nlohmann::json latency = reports::latency_summary_ms(result.record);
    if (!latency.is_null()) row.p99_ms = latency["p99"].get<double>();
    for (const reports::CheckResult& check : result.checks) {
      if (check.status == reports::CheckStatus::kFail ||
          (strict && check.status == reports::CheckStatus::kNotEvaluated)) {
        row.failed_checks += (row.failed_checks.empty() ? "" : ",") + check.name;
      }
    }
    if (!row.passed) {
      ++failing;
      row.report_dir = out_dir + "/" + scenario->name + "-seed" + std::to_string(seed);
      reports::Report report;
      report.info = {scenario->name,
                     scenario->description,
                     scenario->path,
                     scenario->document,
                     seed,
                     result.wall_seconds,
                     "tandem run " + shell_quote(scenario->path) + " --seed " + std::to_string(seed),
                     "tandem replay " + shell_quote(row.report_dir)};
      report.record = &result.record;
      report.checks = result.checks;
      if (Status written = reports::write_report_files(report, row.report_dir); !written.ok()) {
        bar.clear();
        std::fprintf(stderr, "tandem sweep: %s\n", written.error().message.c_str());
        row.report_dir.clear();
      }
    }
    rows.push_back(std::move(row));
  }
  bar.show(1.0, std::to_string(*seeds) + "/" + std::to_string(*seeds) + " seeds, " + std::to_string(failing) +
                    " failing");
  bar.clear();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::printf("\n%-22s %-6s %13s %10s  %s\n", "seed", "result", "availability", "p99 ms", "failed checks");
  const size_t max_rows = 40;
  size_t printed = 0;
  for (const Row& row : rows) {
    if (rows.size() > max_rows && row.passed) continue;  // many seeds: show the failures only
    if (++printed > max_rows) break;
    std::printf("%-22llu %-6s %13s %10.2f  %s\n", static_cast<unsigned long long>(row.seed),
                row.passed ? "pass" : "FAIL", reports::format_percent(row.availability).c_str(), row.p99_ms,
                row.failed_checks.c_str());
  }
  double worst = 1;
  for (const Row& row : rows) worst = std::min(worst, row.availability);
  std::printf("\n%zu of %llu seeds passed; worst availability %s; %.2f s wall (%.2f s per seed)\n",
              rows.size() - failing, static_cast<unsigned long long>(*seeds),
              reports::format_percent(worst).c_str(), wall, wall / static_cast<double>(*seeds));
  if (failing > 0) {
    std::printf("\nfailing seeds (replay one with the command shown):\n");
    for (const Row& row : rows) {
      if (row.passed) continue;
      std::printf("  seed %llu: %s\n    tandem run %s --seed %llu\n",
                  static_cast<unsigned long long>(row.seed), row.failed_checks.c_str(),
                  shell_quote(scenario->path).c_str(), static_cast<unsigned long long>(row.seed));
      if (!row.report_dir.empty()) std::printf("    reports: %s/report.md\n", row.report_dir.c_str());
    }
  }
  return failing == 0 ? 0 : 1;
}

int replay_command(int argc, char** argv) {
  std::optional<std::string> directory;
  std::optional<std::string> out;
  for (int i = 0; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (is_help(arg)) {
      std::fputs(kReplayUsage, stdout);
      return 0;
    } else if (arg == "--out" && i + 1 < argc) {
      out = argv[++i];
    } else if (!arg.empty() && arg[0] == '-') {
      return usage_error("replay", "unknown option '" + std::string(arg) + "'", kReplayUsage);
    } else if (!directory) {
      directory = std::string(arg);
    } else {
      return usage_error("replay", "one run directory at a time", kReplayUsage);
    }
  }
  if (!directory)
    return usage_error("replay", "name the directory of a previous run (it holds report.json)", kReplayUsage);
  const std::string report_path = *directory + "/report.json";
  std::ifstream in(report_path);
  if (!in) {
    std::fprintf(stderr,
                 "tandem replay: cannot read %s; give the directory 'tandem run' wrote its reports to\n",
                 report_path.c_str());
    return 1;
  }
  nlohmann::json report_json;
  try {
    report_json = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& error) {
    std::fprintf(stderr, "tandem replay: %s is not valid JSON: %s\n", report_path.c_str(), error.what());
    return 1;
  }
  const auto* document = report_json.contains("scenario") ? &report_json["scenario"] : nullptr;
  if (document == nullptr || !document->contains("document") || !report_json.contains("seed") ||
      !report_json["seed"].is_number_unsigned() || !report_json.contains("run") ||
      !report_json["run"].contains("trace_hash")) {
    std::fprintf(stderr,
                 "tandem replay: %s is not a tandem report (no scenario document, seed or trace hash)\n",
                 report_path.c_str());
    return 1;
  }
  const std::string original_path = (*document).value("path", "");
  const std::string base_dir =
      original_path.empty() ? "." : std::filesystem::path(original_path).parent_path().string();
  scenarios::LoadResult loaded =
      scenarios::load_scenario_json((*document)["document"], base_dir.empty() ? "." : base_dir);
  if (!loaded.ok()) {
    std::fprintf(stderr, "tandem replay: the scenario embedded in %s no longer loads:\n%s",
                 report_path.c_str(), loaded.problems.to_string().c_str());
    return 1;
  }
  Scenario& scenario = *loaded.scenario;
  scenario.path = original_path;
  const uint64_t seed = report_json["seed"].get<uint64_t>();
  const std::string recorded_hash = report_json["run"]["trace_hash"].get<std::string>();
  const std::string recorded_verdict = report_json.value("verdict", "");
  std::printf("tandem replay %s: %s seed %llu, recorded trace hash %s\n", directory->c_str(),
              scenario.name.c_str(), static_cast<unsigned long long>(seed), recorded_hash.c_str());
  scenarios::RunOptions options;
  options.seed = seed;
  options.determinism = false;
  ProgressBar bar(true);
  options.progress = [&bar](Duration reached, Duration total) {
    bar.show(to_seconds(reached) / to_seconds(total), seconds_text(reached) + " simulated");
  };
  scenarios::RunResult result = scenarios::run_scenario(scenario, options);
  bar.clear();
  const std::string hash = hex64(result.record.trace_hash);
  const bool same_hash = hash == recorded_hash;
  const std::string verdict = result.passed ? "pass" : "fail";
  // The recorded verdict may include a determinism check the replay does not repeat; compare the hash first.
  std::printf("%s: trace hash %s %s the recorded %s; verdict %s (recorded %s)\n",
              same_hash ? "REPRODUCED" : "DIVERGED", hash.c_str(), same_hash ? "matches" : "differs from",
              recorded_hash.c_str(), verdict.c_str(), recorded_verdict.c_str());
  print_checks(result.checks);
  if (out) {
    reports::Report report;
    report.info = {scenario.name,
                   scenario.description,
                   scenario.path,
                   scenario.document,
                   seed,
                   result.wall_seconds,
                   "tandem run " + shell_quote(scenario.path.empty() ? scenario.name : scenario.path) +
                       " --seed " + std::to_string(seed),
                   "tandem replay " + shell_quote(*out)};
    report.record = &result.record;
    report.checks = result.checks;
    if (Status written = reports::write_report_files(report, *out); !written.ok()) {
      std::fprintf(stderr, "tandem replay: %s\n", written.error().message.c_str());
      return 1;
    }
    std::printf("  reports: %s/report.md\n", out->c_str());
  }
  if (!same_hash) {
    std::printf(
        "The run did not reproduce: the code or the scenario's inputs (a replay log?) changed since it was "
        "recorded, or there is a determinism bug.\n");
  }
  return same_hash ? 0 : 1;
}

int list_command(int argc, char** argv) {
  std::string directory = library_dir();
  for (int i = 0; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (is_help(arg)) {
      std::fputs(kListUsage, stdout);
      return 0;
    } else if (arg == "--dir" && i + 1 < argc) {
      directory = argv[++i];
    } else {
      return usage_error("list", "unknown argument '" + std::string(arg) + "'", kListUsage);
    }
  }
  const std::vector<scenarios::LibraryEntry> entries = scenarios::list_library(directory);
  if (entries.empty()) {
    std::printf("no scenarios in %s\n", directory.c_str());
    return 1;
  }
  std::printf("Scenario library (%s):\n\n", directory.c_str());
  for (const scenarios::LibraryEntry& entry : entries) {
    std::printf("  %-22s %s\n", entry.name.c_str(), entry.description.c_str());
  }
  std::printf("\nRun one with 'tandem run NAME'; validate with 'tandem check NAME'.\n");
  return 0;
}

}  // namespace tandem::cli
