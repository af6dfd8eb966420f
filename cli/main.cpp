// tandem: the command-line entry point.
#include <cstdio>
#include <string_view>

#include "cli/explore_command.h"
#include "cli/scenario_commands.h"

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
  std::fprintf(stderr, "tandem: unknown command '%s'\n\n%s", argv[1], kUsage);
  return 2;
}
