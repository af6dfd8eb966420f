// Every library scenario runs on two seeds with its checks holding, and the same seed twice gives the same
// trace hash.
#include "scenarios/library.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "scenarios/runner.h"
#include "scenarios/scenario.h"
#include "tests/scenarios/scenario_test_support.h"

namespace tandem::scenarios {
namespace {

std::string failures(const RunResult& result) {
  std::string out;
  for (const reports::CheckResult& check : result.checks) {
    if (check.status == reports::CheckStatus::kFail) out += check.name + ": " + check.summary + "\n";
  }
  return out;
}

TEST_CASE("Library: every scenario holds its checks on two seeds and replays to the same trace hash") {
  const std::vector<LibraryEntry> entries = list_library(builtin_library_dir());
  REQUIRE(entries.size() >= 5);
  for (const LibraryEntry& entry : entries) {
    SECTION(entry.name) {
      std::ifstream file(entry.path);
      const Json document = testing::shortened(Json::parse(file));
      LoadResult loaded = load_scenario_json(document, std::filesystem::path(entry.path).parent_path().string());
      REQUIRE(loaded.problems.to_string() == "");
      const Scenario& scenario = *loaded.scenario;
      RunOptions first;
      first.determinism = true;  // simulates twice, adds the determinism check
      const RunResult a = run_scenario(scenario, first);
      CHECK(failures(a) == "");
      CHECK(a.passed);
      REQUIRE_FALSE(a.checks.empty());
      CHECK(a.checks.back().name == "determinism");
      CHECK(a.checks.back().status == reports::CheckStatus::kPass);
      CHECK(a.record.requests.totals().issued > 1000);

      RunOptions second;
      second.seed = scenario.seed + 1;
      second.determinism = false;
      const RunResult b = run_scenario(scenario, second);
      CHECK(failures(b) == "");
      CHECK(b.passed);
      CHECK(b.record.trace_hash != a.record.trace_hash);
    }
  }
}

TEST_CASE("Library: the default scenario is the demo's fault timeline") {
  const std::optional<std::string> path = resolve_scenario_path("default", builtin_library_dir());
  REQUIRE(path);
  LoadResult loaded = load_scenario_file(*path);
  REQUIRE(loaded.ok());
  std::vector<std::string> labels;
  for (const EventSpec& event : loaded.scenario->events) labels.push_back(event.fault.label);
  CHECK(labels == std::vector<std::string>{"cluster_outage west-a (network)", "crash east-a/server0",
                                           "partition_one_way east-b -> west-a", "pause east-b/server1",
                                           "link_loss 20% east-b -> west-a"});
}

}  // namespace
}  // namespace tandem::scenarios
