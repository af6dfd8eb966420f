// `tandem run --world real` with the fault kinds that act on a member itself or on the backbone: clock_skew and
// storage_failure through each member's Admin service, cluster_outage "network" and wan_cut as the member pairs
// the sim's own backbone model can no longer route (cut at the members' transports), each healed on time.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "scenarios/library.h"

#include "scenarios/real/real_runner.h"
#include "tests/real/real_fixture.h"
#include "tests/real/support/scenario_run.h"

namespace tandem::scenarios {
namespace {

// An AutoML service: a head and GPU workers in cluster dc-a (region east), one more GPU worker in dc-b (west), a
// client in dc-a and one in dc-c (south, no member process there). WAN links: the default full mesh.
std::string automl_scenario(const std::string& events) {
  return R"({
  "name": "automl-real-faults",
  "seed": 5,
  "duration": "9s",
  "topology": {
    "regions": ["east", "west", "south"],
    "clusters": [{"name": "dc-a", "region": "east",
                  "nodes": [{"group": "head", "count": 1, "resources": {"CPU": 8, "control": 100}},
                            {"group": "gpu", "count": 2, "resources": {"CPU": 8, "GPU": 4}},
                            {"group": "client", "count": 1}]},
                 {"name": "dc-b", "region": "west", "nodes": [{"group": "gpu", "count": 1, "resources": {"CPU": 8, "GPU": 4}}]},
                 {"name": "dc-c", "region": "south", "nodes": [{"group": "client", "count": 1}]}]
  },
  "services": [{"kind": "automl", "name": "automl", "head": "head", "workers": "gpu", "clients": "client",
                "candidates": 6, "cost": {"median": "100ms", "sigma": 0.3}, "max_parallel_workers": 3,
                "proxy_resources": {"CPU": 1, "control": 1}, "trainer_resources": {"CPU": 0.01, "control": 1},
                "worker_resources": {"CPU": 1, "GPU": 1}, "heartbeat": {"period": "400ms", "miss_limit": 4},
                "job_timeout": "10s"}],
  "workload": [{"service": "automl", "shape": "constant", "rate": 3, "arrivals": "uniform", "end": "8s"}],
  "events": [)" + events + R"(],
  "expect": {"no_lost_requests": true}
})";
}

using testing::notes_of;

void check_all_pass(const RunResult& run) {
  const reports::RequestTotals totals = run.record.requests.totals();
  CHECK(totals.issued >= 20);
  CHECK(totals.lost == 0);
  for (const reports::CheckResult& check : run.checks) {
    INFO(check.name << ": " << check.summary);
    CHECK(check.status == reports::CheckStatus::kPass);
  }
}

TEST_CASE("Real run: clock_skew and storage_failure are set on the member processes and healed on time") {
  const Scenario scenario = testing::load_text(automl_scenario(R"(
    {"at": "2s", "fault": "clock_skew", "target": "dc-a/gpu0", "skew": "3s", "for": "3s"},
    {"at": "3s", "fault": "clock_skew", "target": "dc-a/gpu0", "skew": "-1s", "for": "1s"},
    {"at": "2s", "fault": "storage_failure", "target": "dc-a/head0", "for": "3s"},
    {"at": "6s", "fault": "clock_skew", "target": "dc-a/client0", "skew": "1s", "for": "1s"})"));
  CHECK(real_world_problems(scenario).empty());
  Result<RunResult> result = testing::run_real(scenario, 1, "real-member-faults");
  INFO((result.ok() ? std::string() : result.error().message));
  REQUIRE(result.ok());
  const reports::RunRecord& record = result.value().record;
  const std::string notes = notes_of(record);
  INFO(notes);
  // The skews as the member reported its own clock: 3 s, then the later -1 s on top of it, back to 3 s when that
  // heals, then none (the sim's injector: the latest active skew wins).
  const size_t three = notes.find("clock skew on dc-a-gpu0: 3s of real time (its clock reads 3s");
  const size_t minus = notes.find("clock skew on dc-a-gpu0: -1s of real time (its clock reads -1s");
  const size_t back = notes.find("clock skew on dc-a-gpu0: 3s of real time", minus);
  const size_t none = notes.find("clock skew on dc-a-gpu0: 0ns of real time (its clock reads 0ns", back);
  CHECK(three != std::string::npos);
  CHECK(minus != std::string::npos);
  CHECK(three < minus);
  CHECK(back != std::string::npos);
  CHECK(none != std::string::npos);
  // The head's state store refused syncs while failing (the control store kept them pending) and works again.
  CHECK(notes.find("state store of dc-a-head0: syncs fail") != std::string::npos);
  const std::string again = "state store of dc-a-head0: syncs work again (";  // "... again (N refused so far)"
  const size_t healed = notes.find(again);
  REQUIRE(healed != std::string::npos);
  CHECK(std::stoull(notes.substr(healed + again.size())) > 0);
  // A client node is the driver: the skew is noted, not applied.
  CHECK(notes.find("dc-a/client0 is not a member process") != std::string::npos);
  REQUIRE(record.faults.size() == 4);
  for (const reports::FaultSpan& fault : record.faults) {
    CHECK_FALSE(fault.skipped);
    CHECK(fault.end_ns.has_value());
  }
  check_all_pass(result.value());
}

TEST_CASE("Real run: a cluster's network outage and WAN cuts cut exactly the member pairs the backbone loses") {
  const Scenario scenario = testing::load_text(automl_scenario(R"(
    {"at": "2s", "fault": "cluster_outage", "target": "dc-b", "mode": "network", "for": "1500ms"},
    {"at": "5s", "fault": "wan_cut", "between": ["east", "west"], "for": "3s"},
    {"at": "6s", "fault": "wan_cut", "between": ["west", "south"], "for": "1s"})"));
  CHECK(real_world_problems(scenario).empty());
  Result<RunResult> result = testing::run_real(scenario, 1, "real-backbone-faults");
  INFO((result.ok() ? std::string() : result.error().message));
  REQUIRE(result.ok());
  const reports::RunRecord& record = result.value().record;
  const std::string notes = notes_of(record);
  INFO(notes);
  // dc-b's one worker against the head and the two other workers, both ways: 6 pairs, healed after 1.5 s.
  CHECK(notes.find("filter: cut 6 member pair(s) for cluster_outage") != std::string::npos);
  CHECK(notes.find("filter: healed 6 member pair(s) for cluster_outage") != std::string::npos);
  // east-west alone cuts nothing: the sim routes it through south, and so does the real run. With west-south
  // cut too, west is alone: the same 6 pairs, until that cut heals.
  CHECK(notes.find("filter: cut 0 member pair(s) for wan_cut east") != std::string::npos);
  CHECK(notes.find("filter: cut 6 member pair(s) for wan_cut west") != std::string::npos);
  CHECK(notes.find("filter: healed 6 member pair(s) for wan_cut west") != std::string::npos);
  CHECK(notes.find("filter: healed 0 member pair(s) for wan_cut east") != std::string::npos);
  CHECK(notes.find("filter on") == std::string::npos);  // every filter was set and cleared
  CHECK(record.figures.at("real.messages_dropped_by_filter") > 0);  // dc-b's heartbeats, at least
  REQUIRE(record.faults.size() == 3);
  for (const reports::FaultSpan& fault : record.faults) {
    REQUIRE(fault.end_ns.has_value());
    CHECK(*fault.end_ns - fault.start_ns >= 900'000'000);
  }
  check_all_pass(result.value());
}

TEST_CASE("Real run: a member restarted or resumed under active faults gets its filters, link faults and skew back") {
  const Scenario scenario = testing::load_text(automl_scenario(R"(
    {"at": "1s", "fault": "clock_skew", "target": "dc-a/gpu1", "skew": "2s", "for": "5s"},
    {"at": "1s", "fault": "link_delay", "from": "dc-a/gpu1", "to": "dc-a/head0", "delay": "5ms", "for": "5s"},
    {"at": "1s", "fault": "partition_one_way", "from": "dc-a/gpu1", "to": "dc-b/gpu0", "for": "5s"},
    {"at": "2s", "fault": "crash", "target": "dc-a/gpu1", "for": "1s"},
    {"at": "4s", "fault": "pause", "target": "dc-a/gpu1", "for": "500ms"})"));
  Result<RunResult> result = testing::run_real(scenario, 1, "real-resync");
  INFO((result.ok() ? std::string() : result.error().message));
  REQUIRE(result.ok());
  const std::string notes = notes_of(result.value().record);
  INFO(notes);
  // The restarted process starts with nothing: its one cut (gpu1 -> dc-b/gpu0), its one delayed link and its
  // skew are sent again. The resumed one kept its filter (nothing to send) and gets every link and its skew.
  const size_t restart = notes.find("resync dc-a-gpu1 after restart: 1 filter(s), 1 link(s), clock skew\n");
  const size_t resume = notes.find("resync dc-a-gpu1 after resume: 0 filter(s), 3 link(s), clock skew, storage\n");
  CHECK(restart != std::string::npos);
  CHECK(resume != std::string::npos);
  size_t skews = 0;
  for (size_t at = notes.find("clock skew on dc-a-gpu1: 2s"); at != std::string::npos;
       at = notes.find("clock skew on dc-a-gpu1: 2s", at + 1)) {
    ++skews;
  }
  CHECK(skews == 3);  // set, after the restart, after the resume
  CHECK(notes.find("failed") == std::string::npos);
  check_all_pass(result.value());
}

TEST_CASE("Real run: a network outage or WAN cut that reaches the serving keeper is refused, naming the event") {
  // The shipped serving scenario with its ops cluster (discovery, and the keeper the driver plays) in a region
  // of its own: cutting c1 is fine (members only), cutting ops or the WAN to ops would cut the driver.
  std::ifstream in(builtin_library_dir() + "/../real/serving-appmaster-kill.json");
  Json scenario_json = Json::parse(in);
  scenario_json.erase("$schema");
  scenario_json["topology"]["regions"] = Json::parse(R"(["r", "r2"])");
  scenario_json["topology"]["clusters"][1]["region"] = "r2";
  scenario_json["events"] = Json::parse(R"([
    {"at": "5s", "fault": "cluster_outage", "target": "c1", "mode": "network", "for": "1s"},
    {"at": "6s", "fault": "cluster_outage", "target": "ops", "mode": "network", "for": "1s"},
    {"at": "8s", "fault": "wan_cut", "between": ["r", "r2"], "for": "1s"}
  ])");
  LoadResult loaded = load_scenario_json(scenario_json);
  INFO(loaded.problems.to_string());
  REQUIRE(loaded.ok());
  const std::vector<std::string> problems = real_world_problems(*loaded.scenario);
  REQUIRE(problems.size() == 2);
  CHECK_THAT(problems[0], Catch::Contains("events/1: fault \"cluster_outage\" hits node ops/keeper0, the serving keeper"));
  CHECK_THAT(problems[1], Catch::Contains("events/2: fault \"wan_cut\" hits node ops/keeper0, the serving keeper"));
  CHECK_THAT(problems[1], Catch::Contains("cannot cut the keeper's messages apart from the clients'"));
}

}  // namespace
}  // namespace tandem::scenarios
