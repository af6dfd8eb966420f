// Every library scenario runs on two seeds with its checks holding, and the same seed twice gives the same
// trace hash.
#include "scenarios/library.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "scenarios/runner.h"
#include "scenarios/scenario.h"

namespace tandem::scenarios {
namespace {

std::string failures(const RunResult& result) {
  std::string out;
  for (const reports::CheckResult& check : result.checks) {
    if (check.status == reports::CheckStatus::kFail) out += check.name + ": " + check.summary + "\n";
  }
  return out;
}

// The suite must stay fast: a scenario that simulates more than kLongRun (upgrade-1000: 30 minutes of 1,000
// instances at 2,000 requests/s; the diurnal autoscaling pair) runs here as a shortened variant — the same
// file with its run cut to kLongRun, events past the cut dropped, serving replicas capped at 40 per cluster
// and rates capped at 400/s. The full runs are measured by `tandem run` (README, "Scenario library").
constexpr Duration kLongRun = std::chrono::minutes(3);

Json shortened(Json document) {
  const auto duration = parse_duration(document["duration"].get<std::string>());
  if (!duration.ok() || duration.value() <= kLongRun) return document;
  document["duration"] = format_scenario_duration(kLongRun);
  Json events = Json::array();
  for (const Json& event : document.value("events", Json::array())) {
    if (parse_duration(event["at"].get<std::string>()).value() < kLongRun) events.push_back(event);
  }
  document["events"] = events;
  for (Json& service : document["services"]) {
    if (service.value("kind", "") != "serving" || !service.contains("replicas")) continue;
    if (service["replicas"].is_number() && service["replicas"].get<int>() > 40) {
      service["replicas"] = 40;
      for (const char* key : {"step", "max_unavailable"}) {
        if (service.contains("upgrade") && service["upgrade"].value(key, 1) > 4) service["upgrade"][key] = 4;
      }
    }
  }
  for (Json& stream : document["workload"]) {
    for (const char* key : {"rate", "mean", "amplitude"}) {
      if (stream.contains(key) && stream[key].get<double>() > 400) stream[key] = 400;
    }
    if (stream.contains("mean") && stream.contains("amplitude") && stream["amplitude"] >= stream["mean"]) {
      stream["amplitude"] = stream["mean"].get<double>() * 0.8;
    }
    if (stream.contains("period")) stream["period"] = "1m";
  }
  return document;
}

TEST_CASE("Library: every scenario holds its checks on two seeds and replays to the same trace hash") {
  const std::vector<LibraryEntry> entries = list_library(builtin_library_dir());
  REQUIRE(entries.size() >= 5);
  for (const LibraryEntry& entry : entries) {
    SECTION(entry.name) {
      std::ifstream file(entry.path);
      const Json document = shortened(Json::parse(file));
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
