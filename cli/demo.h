// The demo: a small three-cluster world serving RPCs through a timeline of faults, run twice to show that the
// same seed replays the same run. `tandem demo` prints its summary; tests call run_demo() directly.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/env/time.h"

namespace tandem::cli {

struct DemoOptions {
  uint64_t seed = 1;
  Duration simulated = 60s;
  bool verbose = false;  // print each fault as it happens
};

struct DemoPhase {
  std::string name;  // what was going on (the fault in force)
  Duration start{};
  Duration end{};
  uint64_t requests = 0;
  uint64_t retried = 0;  // the first try failed
  uint64_t succeeded = 0;
  uint64_t timed_out = 0;
  uint64_t refused = 0;  // kUnreachable or kPeerDied: fast failures
  double p50_ms = 0;
  double p99_ms = 0;
};

struct DemoResult {
  std::vector<DemoPhase> phases;
  uint64_t events = 0;
  uint64_t messages = 0;
  uint64_t trace_hash = 0;
  double wall_seconds = 0;
  size_t nodes = 0;
};

DemoResult run_demo(const DemoOptions& options);

// Runs the demo twice with the same seed, prints the report; returns the process exit code.
int demo_main(const DemoOptions& options);

}  // namespace tandem::cli
