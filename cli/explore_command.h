// `tandem explore`: property-based fault exploration of a scenario (scenarios/explore/explorer.h) from the
// command line — progress bar, summary table, and a minimal reproducer file for each distinct violation,
// re-run once to confirm it reproduces. Exit code: 0 no violation, 1 violations found (or the scenario is
// invalid), 2 bad arguments.
#pragma once

namespace tandem::cli {

int explore_command(int argc, char** argv);

}  // namespace tandem::cli
