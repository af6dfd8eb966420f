// The explorer (scenarios/explore/explorer.h): it finds planted bugs and shrinks them to small reproducers
// that replay exactly, finds nothing in correct services, and explores each library scenario on a fixed seed.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "scenarios/explore/explorer.h"
#include "scenarios/library.h"
#include "scenarios/runner.h"
#include "tests/scenarios/scenario_test_support.h"

namespace tandem::testing {
namespace {

using scenarios::ExploreOptions;
using scenarios::ExploreResult;
using scenarios::Json;

// Two clusters, six servers, liveness after 8s: room for a few random faults and a heal.
Json explore_base(const std::string& planted_bug) {
  Json document = Json::parse(R"({
    "name": "explore-base",
    "description": "an rpc service with retries, for exploration tests",
    "seed": 3,
    "duration": "12s",
    "topology": {
      "regions": ["east", "west"],
      "clusters": [
        {"name": "east-a", "region": "east", "nodes": [{"group": "server", "count": 3}, {"group": "client", "count": 2}]},
        {"name": "west-a", "region": "west", "nodes": [{"group": "server", "count": 3}, {"group": "client", "count": 2}]}
      ]
    },
    "services": [{"kind": "rpc", "name": "echo", "servers": "server", "clients": "client", "deadline": "100ms",
                  "retry": {"attempts": 3, "prefer": "remote"}}],
    "workload": [{"service": "echo", "shape": "constant", "rate": 100}],
    "liveness": {"heal_at": "8s", "within": "3s", "availability": 0.9},
    "expect": {"no_lost_requests": true, "availability": {"overall": 0.97}}
  })");
  if (!planted_bug.empty()) document["services"][0]["planted_bug"] = planted_bug;
  return document;
}

scenarios::Scenario load(const Json& document) {
  scenarios::LoadResult loaded = scenarios::load_scenario_json(document);
  INFO(loaded.problems.to_string());
  REQUIRE(loaded.ok());
  return std::move(*loaded.scenario);
}

// Runs a reproducer twice: it must fail `check` both times with one trace hash.
void require_reproduces(const Json& reproducer, const std::string& check) {
  const scenarios::Scenario scenario = load(reproducer);
  scenarios::RunOptions options;
  options.determinism = false;
  const scenarios::RunResult first = scenarios::run_scenario(scenario, options);
  const scenarios::RunResult second = scenarios::run_scenario(scenario, options);
  CHECK(first.record.trace_hash == second.record.trace_hash);
  const auto failed = std::find_if(first.checks.begin(), first.checks.end(), [&](const reports::CheckResult& c) {
    return c.name == check && c.status == reports::CheckStatus::kFail;
  });
  CHECK(failed != first.checks.end());
}

}  // namespace

TEST_CASE("Explore: a planted lost-request bug is found and shrunk to a reproducer of at most 5 events") {
  const scenarios::Scenario base = load(explore_base("no_deadline"));
  ExploreOptions options;
  options.seed = 11;
  options.runs = 40;
  options.max_events = 6;
  const ExploreResult result = scenarios::explore(base, options);
  REQUIRE(result.violations.size() >= 1);
  const scenarios::Violation& violation = result.violations.front();
  CHECK(violation.check == "no_lost_requests");
  CHECK(violation.events >= 1);
  CHECK(violation.events <= 5);
  CHECK(violation.events <= violation.unshrunk_events);
  CHECK(violation.event_labels.size() == violation.events);
  CHECK(violation.reproducer["seed"].get<uint64_t>() == violation.seed);
  require_reproduces(violation.reproducer, "no_lost_requests");
}

TEST_CASE("Explore: a planted retry bug is found by the availability check and shrunk") {
  const scenarios::Scenario base = load(explore_base("retry_same_server"));
  ExploreOptions options;
  options.seed = 5;
  options.runs = 40;
  options.checks = {"availability"};
  options.kinds = {"crash", "pause", "isolate"};
  const ExploreResult result = scenarios::explore(base, options);
  REQUIRE(result.violations.size() == 1);
  const scenarios::Violation& violation = result.violations.front();
  CHECK(violation.check == "availability");
  CHECK(violation.events <= 5);
  require_reproduces(violation.reproducer, "availability");
}

TEST_CASE("Explore: a planted discovery bug in the serving system is found and shrunk") {
  std::ifstream file(scenarios::builtin_library_dir() + "/../planted/serving-discovery-keeps-dead-proxies.json");
  REQUIRE(file.good());
  const scenarios::Scenario base = load(Json::parse(file));
  ExploreOptions options;
  options.seed = 2;
  options.runs = 10;
  options.max_events = 2;
  options.kinds = {"crash", "op"};
  const ExploreResult result = scenarios::explore(base, options);
  REQUIRE(result.violations.size() == 1);
  const scenarios::Violation& violation = result.violations.front();
  CHECK(violation.check == "discovery_convergence");
  CHECK(violation.events <= 2);
  INFO(violation.reproducer.dump(2));
  require_reproduces(violation.reproducer, "discovery_convergence");
}

TEST_CASE("Explore: without the planted bug the same search finds nothing and counts what it did") {
  const scenarios::Scenario base = load(explore_base(""));
  ExploreOptions options;
  options.seed = 11;
  options.runs = 25;
  const ExploreResult result = scenarios::explore(base, options);
  INFO((result.violations.empty() ? std::string() : result.violations.front().check + ": " +
                                                        result.violations.front().summary));
  CHECK(result.violations.empty());
  CHECK(result.runs == 25);
  CHECK(result.checks_evaluated >= 25);  // no_lost_requests and liveness are judged in every run
  uint64_t faults = 0;
  for (const auto& [kind, count] : result.faults_by_kind) faults += count;
  CHECK(faults >= 25);
  CHECK(result.faults_by_kind.size() >= 5);  // swarm runs draw many different kinds
}

TEST_CASE("Explore: the same exploration seed explores the same schedules") {
  const scenarios::Scenario base = load(explore_base("no_deadline"));
  ExploreOptions options;
  options.seed = 11;
  options.runs = 40;
  const ExploreResult first = scenarios::explore(base, options);
  const ExploreResult second = scenarios::explore(base, options);
  REQUIRE(first.violations.size() == second.violations.size());
  CHECK(first.faults_by_kind == second.faults_by_kind);
  CHECK(first.runs == second.runs);
  for (size_t i = 0; i < first.violations.size(); ++i)
    CHECK(first.violations[i].reproducer == second.violations[i].reproducer);
}

TEST_CASE("Explore: bad options are refused with the reason") {
  const scenarios::Scenario base = load(explore_base(""));
  ExploreOptions options;
  options.kinds = {"meteor_strike"};
  Status status = scenarios::validate_explore_options(base, options);
  REQUIRE_FALSE(status.ok());
  CHECK_THAT(status.error().message, Catch::Contains("meteor_strike") && Catch::Contains("crash"));
  options.kinds = {"kill_actor"};  // needs an actor runtime, which an rpc service has not
  CHECK_FALSE(scenarios::validate_explore_options(base, options).ok());
  options.kinds = {};
  options.checks = {"availabilty"};
  status = scenarios::validate_explore_options(base, options);
  REQUIRE_FALSE(status.ok());
  CHECK_THAT(status.error().message, Catch::Contains("availabilty") && Catch::Contains("availability"));
  options.checks = {};
  options.runs = 0;
  CHECK_FALSE(scenarios::validate_explore_options(base, options).ok());
}

TEST_CASE("Explore: every library scenario survives a short fixed-seed exploration") {
  for (const scenarios::LibraryEntry& entry : scenarios::list_library(scenarios::builtin_library_dir())) {
    std::ifstream file(entry.path);
    scenarios::LoadResult loaded = scenarios::load_scenario_json(
        shortened(Json::parse(file)), std::filesystem::path(entry.path).parent_path().string());
    INFO(entry.path + "\n" + loaded.problems.to_string());
    REQUIRE(loaded.ok());
    ExploreOptions options;
    options.seed = 20261123;
    options.runs = 2;
    options.max_events = 3;
    const ExploreResult result = scenarios::explore(*loaded.scenario, options);
    for (const scenarios::Violation& violation : result.violations) {
      FAIL_CHECK(violation.check + ": " + violation.summary + "\n" + violation.reproducer.dump(2));
    }
    CHECK(result.runs == 2);
  }
}

}  // namespace tandem::testing
