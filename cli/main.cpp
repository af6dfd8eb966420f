// tandem: the command-line entry point.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cli/demo.h"

namespace {

constexpr const char* kUsage = R"(Usage: tandem <command> [options]

Commands:
  demo      run the fault-injection demo on the simulated world and print a summary
  help      show this help

Run 'tandem <command> --help' for the options of a command.
)";

constexpr const char* kDemoUsage = R"(Usage: tandem demo [--seed N] [--duration SECONDS] [--quiet]

Builds a 3-cluster, 2-region simulated world with RPC servers and clients, applies a timeline of faults
(cluster cut-off, server crash and restart, one-way partition, process pause, packet loss), and prints
availability and latency per phase. The run is repeated with the same seed to show it replays exactly.

Options:
  --seed N            the seed of the run (default 1)
  --duration SECONDS  simulated seconds (default 60; the fault timeline scales with it)
  --quiet             do not list the faults as they happen
)";

bool parse_u64(std::string_view text, uint64_t* out) {
  if (text.empty()) return false;
  char* end = nullptr;
  const std::string copy(text);
  *out = std::strtoull(copy.c_str(), &end, 10);
  return end != nullptr && *end == '\0';
}

int demo_command(int argc, char** argv) {
  tandem::cli::DemoOptions options;
  options.verbose = true;
  for (int i = 2; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kDemoUsage, stdout);
      return 0;
    }
    if (arg == "--quiet") {
      options.verbose = false;
    } else if ((arg == "--seed" || arg == "--duration") && i + 1 < argc) {
      uint64_t value = 0;
      if (!parse_u64(argv[i + 1], &value) || (arg == "--duration" && (value == 0 || value > 86400))) {
        std::fprintf(stderr, "tandem demo: %s needs a %s, got '%s'\n", argv[i],
                     arg == "--seed" ? "non-negative integer" : "whole number of seconds from 1 to 86400",
                     argv[i + 1]);
        return 2;
      }
      if (arg == "--seed") {
        options.seed = value;
      } else {
        options.simulated = std::chrono::seconds(value);
      }
      ++i;
    } else {
      std::fprintf(stderr, "tandem demo: unknown option '%s'\n\n%s", argv[i], kDemoUsage);
      return 2;
    }
  }
  return tandem::cli::demo_main(options);
}

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
  if (command == "demo") return demo_command(argc, argv);
  std::fprintf(stderr, "tandem: unknown command '%s'\n\n%s", argv[1], kUsage);
  return 2;
}
