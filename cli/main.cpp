// tandem: the command-line entry point.
#include <cstdio>
#include <string_view>

#include "cli/explore_command.h"
#include "cli/scenario_commands.h"
#if TANDEM_HAS_REAL_BACKEND
#include "cli/real_commands.h"
#endif

namespace {

constexpr const char* kUsage = R"(Usage: tandem <command> [options]

Commands:
  run [SCENARIO]     run a scenario (a .json file or a library name; default: default), evaluate its checks,
                     write report.md/.html/.json and trace.json; exit 0 only when every check holds
  check SCENARIO...  validate scenarios without running them
  sweep SCENARIO --seeds N
                     run many seeds; a summary table and the replay command of each failing seed
  explore SCENARIO   random fault schedules; each failure shrunk to a minimal scenario file
  replay DIR         re-run a previous run from DIR/report.json and confirm the same trace hash
  list               the scenario library, with descriptions
  demo               run the default scenario (the fault-injection demo) and print a summary

Real world (issue 6; docs/real_backend.md):
  head               run the head (control store) of a real cluster, from a cluster file
  node               run a node (hosts actors and tasks) of a real cluster, from a cluster file
  cluster up         start a head and N nodes as local processes on 127.0.0.1 (--automl-demo runs a job)
  help               show this help

Run 'tandem <command> --help' for the options of a command.
)";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string_view command = argv[1];
  if (command == "help" || command == "--help" || command == "-h") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  // Each command gets the arguments after its name.
  const int rest_count = argc - 2;
  char** rest = argv + 2;
  if (command == "run") return tandem::cli::run_command(rest_count, rest);
  if (command == "check") return tandem::cli::check_command(rest_count, rest);
  if (command == "sweep") return tandem::cli::sweep_command(rest_count, rest);
  if (command == "explore") return tandem::cli::explore_command(rest_count, rest);
  if (command == "replay") return tandem::cli::replay_command(rest_count, rest);
  if (command == "list") return tandem::cli::list_command(rest_count, rest);
  if (command == "demo") return tandem::cli::demo_command(rest_count, rest);
#if TANDEM_HAS_REAL_BACKEND
  if (command == "head") return tandem::cli::head_command(rest_count, rest);
  if (command == "node") return tandem::cli::node_command(rest_count, rest);
  if (command == "cluster") return tandem::cli::cluster_command(rest_count, rest);
#else
  if (command == "head" || command == "node" || command == "cluster") {
    std::fprintf(stderr, "tandem: '%s' needs the real backend, which this build left out (fix: install the "
                         "packages of cli/packages.txt and rebuild)\n", argv[1]);
    return 2;
  }
#endif
  std::fprintf(stderr, "tandem: unknown command '%s'\n\n%s", argv[1], kUsage);
  return 2;
}
