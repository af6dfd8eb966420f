// Scenario helpers for real-world run tests: load a scenario (the test fails with the loader's problems when it
// does not load) and run it on real processes in a fresh directory under $TMPDIR, removed afterwards.
#pragma once

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <system_error>

#include "scenarios/library.h"
#include "scenarios/real/real_runner.h"
#include "tests/real/real_fixture.h"

namespace tandem::scenarios::testing {

inline Scenario load_or_fail(LoadResult loaded) {
  INFO(loaded.problems.to_string());
  REQUIRE(loaded.ok());
  return std::move(*loaded.scenario);
}
inline Scenario load_text(const std::string& text) { return load_or_fail(load_scenario_text(text)); }
inline Scenario load_file(const std::string& path) { return load_or_fail(load_scenario_file(path)); }

// The notes of a run, in order, one per line (for INFO and for finding what was applied).
inline std::string notes_of(const reports::RunRecord& record) {
  std::string all;
  for (const reports::TraceEntry& note : record.notes) all += note.detail + "\n";
  return all;
}

// `tandem run --world real` in-process, with the CLI binary built beside the tests as the members' program.
inline Result<RunResult> run_real(const Scenario& scenario, double time_scale, const char* tag) {
  const std::string dir = real::testing::make_temp_dir(tag);
  RealRunOptions options;
  options.time_scale = time_scale;
  options.work_dir = dir;
  options.tandem_binary = TANDEM_CLI_PATH;
  Result<RunResult> result = run_scenario_real(scenario, options);
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return result;
}

}  // namespace tandem::scenarios::testing
