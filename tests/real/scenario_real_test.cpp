// `tandem run --world real`: a scenario's AutoML, serving or fanout service (rpc: rpc_real_test.cpp) deployed
// on `tandem head` / `tandem node` processes, its workload driven from this process, its faults applied as real
// faults (kill -9, SIGSTOP, actor kill, transport cuts and link faults), and the same record and checks as a sim
// run; and the scenarios the real world cannot run yet refused up front.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "scenarios/library.h"
#include "scenarios/real/real_runner.h"
#include "tests/real/real_fixture.h"
#include "tests/real/support/scenario_run.h"

namespace tandem::scenarios {
namespace {

constexpr const char* kAutoMLScenario = R"({
  "name": "automl-real-smoke",
  "seed": 5,
  "duration": "8s",
  "topology": {
    "regions": ["dc"],
    "clusters": [{"name": "dc-a", "region": "dc",
                  "nodes": [{"group": "head", "count": 1, "resources": {"CPU": 8, "control": 100}},
                            {"group": "gpu", "count": 3, "resources": {"CPU": 8, "GPU": 4}},
                            {"group": "client", "count": 1}]}]
  },
  "services": [{"kind": "automl", "name": "automl", "head": "head", "workers": "gpu", "clients": "client",
                "candidates": 6, "cost": {"median": "100ms", "sigma": 0.3}, "max_parallel_workers": 3,
                "proxy_resources": {"CPU": 1, "control": 1}, "trainer_resources": {"CPU": 0.01, "control": 1},
                "worker_resources": {"CPU": 1, "GPU": 1}, "heartbeat": {"period": "400ms", "miss_limit": 4},
                "job_timeout": "10s"}],
  "workload": [{"service": "automl", "shape": "constant", "rate": 4, "arrivals": "uniform", "end": "7s"}],
  "events": [
    {"at": "2s", "fault": "crash", "target": "dc-a/gpu0", "for": "3s"},
    {"at": "3s", "fault": "pause", "target": "dc-a/gpu1", "for": "1s"},
    {"at": "4s", "fault": "kill_actor", "target": "automl"},
    {"at": "5s", "fault": "isolate", "target": "dc-a/gpu2", "for": "1s"}
  ],
  "expect": {"no_lost_requests": true}
})";

std::string real_scenario_path(const std::string& name) {
  return builtin_library_dir() + "/../real/" + name + ".json";
}


TEST_CASE("Real run: an AutoML scenario with crash, pause, actor-kill and isolate faults runs on real processes") {
  const Scenario scenario = testing::load_text(kAutoMLScenario);
  CHECK(real_world_problems(scenario).empty());
  const std::string dir = real::testing::make_temp_dir("scenario");
  std::filesystem::create_directories(dir + "/state");
  RealRunOptions options;
  options.time_scale = 2;
  options.work_dir = dir;
  options.tandem_binary = TANDEM_CLI_PATH;
  std::vector<std::string> steps;
  options.on_step = [&](Duration, const std::string& what) { steps.push_back(what); };
  Result<RunResult> result = run_scenario_real(scenario, options);
  INFO((result.ok() ? std::string() : result.error().message));
  REQUIRE(result.ok());
  const reports::RunRecord& record = result.value().record;
  // About 4 jobs a second for 7 s; each ended (none lost) and most found the true best despite the faults.
  const reports::RequestTotals totals = record.requests.totals();
  CHECK(totals.issued >= 20);
  CHECK(totals.lost == 0);
  CHECK(record.figures.at("automl.automl.jobs_best_found") >= 0.8 * static_cast<double>(totals.issued));
  CHECK(record.figures.at("automl.automl.jobs_wrong_best") == 0);
  // The faults happened, in scenario time, and were healed.
  REQUIRE(record.faults.size() == 4);
  CHECK(record.faults[0].kind == "crash");
  CHECK(record.faults[0].start_ns >= 2'000'000'000);
  REQUIRE(record.faults[0].end_ns);
  CHECK(*record.faults[0].end_ns - record.faults[0].start_ns >= 2'900'000'000);
  CHECK(record.faults[1].kind == "pause");
  INFO(record.faults[2].skip_reason);
  CHECK_FALSE(record.faults[2].skipped);
  CHECK(record.faults[3].kind == "isolate");
  CHECK(record.figures.at("real.messages_dropped_by_filter") > 0);  // the isolated node's heartbeats, at least
  CHECK(record.figures.at("real.messages_delivered") > 1000);
  REQUIRE(record.faults[3].end_ns);
  for (const reports::TraceEntry& note : record.notes) {
    CHECK_THAT(note.detail, !Catch::Contains("filter on"));  // every member's filter was set and cleared
  }
  CHECK(record.node_spans.size() == 2);  // gpu0 down, gpu1 paused
  CHECK(std::find(steps.begin(), steps.end(), "crash dc-a/gpu0") != steps.end());
  for (const reports::CheckResult& check : result.value().checks) {
    INFO(check.name << ": " << check.summary);
    CHECK(check.status != reports::CheckStatus::kFail);
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

TEST_CASE("Real run: link_delay and link_loss events become the sending member's transport link faults") {
  std::string text = kAutoMLScenario;
  const size_t events_at = text.find(R"("events": [)");
  const size_t events_end = text.find("],", events_at) + 2;
  text.replace(events_at, events_end - events_at, R"("events": [
    {"at": "2s", "fault": "link_delay", "from": "dc-a/head0", "to": "dc-a/gpu0", "delay": "200ms", "for": "3s"},
    {"at": "2s", "fault": "link_loss", "from": "dc-a/gpu1", "to": "dc-a/head0", "probability": 0.5, "for": "3s"}
  ],)");
  const Scenario scenario = testing::load_text(text);
  CHECK(real_world_problems(scenario).empty());
  const std::string dir = real::testing::make_temp_dir("scenario-link");
  std::filesystem::create_directories(dir + "/state");
  RealRunOptions options;
  options.time_scale = 4;
  options.work_dir = dir;
  options.tandem_binary = TANDEM_CLI_PATH;
  Result<RunResult> result = run_scenario_real(scenario, options);
  INFO((result.ok() ? std::string() : result.error().message));
  REQUIRE(result.ok());
  const reports::RunRecord& record = result.value().record;
  REQUIRE(record.faults.size() == 2);
  CHECK(record.faults[0].kind == "link_delay");
  CHECK(record.faults[1].kind == "link_loss");
  for (const reports::FaultSpan& fault : record.faults) {
    CHECK(fault.start_ns >= 2'000'000'000);
    REQUIRE(fault.end_ns);
    CHECK(*fault.end_ns - fault.start_ns >= 2'900'000'000);
  }
  // The head's messages to gpu0 were held, and about half of gpu1's to the head lost, at the members' transports.
  CHECK(record.figures.at("real.messages_delayed_by_link_fault") > 0);
  CHECK(record.figures.at("real.messages_lost_by_link_fault") > 0);
  for (const reports::TraceEntry& note : record.notes) {
    CHECK_THAT(note.detail, !Catch::Contains("link faults on"));  // every member's link faults were set
  }
  CHECK(record.requests.totals().lost == 0);
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

TEST_CASE("Real run: what the real world cannot run yet is refused before anything starts, naming each part") {
  std::string text = kAutoMLScenario;
  const std::string events = R"("events": [)";
  text.replace(text.find(events), events.size(),
               R"("events": [{"at": "1s", "fault": "clock_skew", "target": "dc-a/gpu0", "skew": "2s", "for": "1s"},)");
  // Every fault kind has a real application (real_runner.cpp).
  CHECK(real_world_problems(testing::load_text(text)).empty());
  RealRunOptions options;
  options.work_dir = "/nonexistent";
  options.time_scale = 0;
  CHECK_THAT(run_scenario_real(testing::load_text(kAutoMLScenario), options).error().message,
             Catch::Contains("the time scale must be a number above 0"));

  const Scenario rpc = testing::load_text(R"({"name": "rpc-only", "duration": "1s",
    "topology": {"regions": ["r"], "clusters": [{"name": "c", "region": "r",
      "nodes": [{"group": "server", "count": 1}, {"group": "client", "count": 1}]}]},
    "services": [{"kind": "rpc", "name": "quote", "servers": "server", "clients": "client",
                  "planted_bug": "no_deadline"}],
    "workload": [{"service": "quote", "shape": "constant", "rate": 10}]})");
  const std::vector<std::string> rpc_problems = real_world_problems(rpc);
  REQUIRE(rpc_problems.size() == 1);  // the rpc kind deploys; its planted bug is sim-only
  CHECK_THAT(rpc_problems[0], Catch::Contains("/services/0/planted_bug: planted bugs exist for tandem explore"));
  options.time_scale = 1;
  Result<RunResult> refused = run_scenario_real(rpc, options);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.code() == Errc::kInvalidArgument);
  CHECK_THAT(refused.error().message, Catch::Contains("rpc-only cannot run on the real world:"));
}

TEST_CASE("Real run: a serving scenario - the AppMaster actor killed under 100 req/s, not one request fails") {
  LoadResult loaded = load_scenario_file(real_scenario_path("serving-appmaster-kill"));
  INFO(loaded.problems.to_string());
  REQUIRE(loaded.ok());
  const Scenario& scenario = *loaded.scenario;
  CHECK(real_world_problems(scenario).empty());
  Result<RunResult> result = testing::run_real(scenario, 1, "serving-real");
  INFO((result.ok() ? std::string() : result.error().message));
  REQUIRE(result.ok());
  const reports::RunRecord& record = result.value().record;
  // 100 requests a second from 4 s to 11 s, through discovery and the proxies to the backends on real processes.
  const reports::RequestTotals totals = record.requests.totals();
  CHECK(totals.issued >= 600);
  CHECK(totals.lost == 0);
  CHECK(record.figures.at("serving.ranker.answered.c1.v1") == static_cast<double>(totals.issued));
  CHECK(record.figures.at("serving.ranker.operations_ok") == 1);  // the deploy
  CHECK(record.figures.at("serving.ranker.c1.serving.v1") == 3);
  CHECK(record.figures.at("real.clusters") == 2);  // c1, and discovery's own
  // The kill happened at 7 s and the restarted AppMaster (a new epoch) took over from the old one.
  REQUIRE(record.faults.size() == 1);
  INFO(record.faults[0].skip_reason);
  CHECK_FALSE(record.faults[0].skipped);
  CHECK(record.faults[0].start_ns >= 7'000'000'000);
  REQUIRE(record.serving.appmaster_acting.size() == 2);
  CHECK(record.serving.appmaster_acting[1].epoch > record.serving.appmaster_acting[0].epoch);
  bool availability_checked = false;
  for (const reports::CheckResult& check : result.value().checks) {
    INFO(check.name << ": " << check.summary);
    CHECK(check.status != reports::CheckStatus::kFail);
    if (check.name == "availability") availability_checked = check.status == reports::CheckStatus::kPass;
  }
  CHECK(availability_checked);  // "overall": 1.0 — zero failed requests
}

TEST_CASE("Real run: serving operations - a rolling upgrade, an AppMaster kill and a scale-up by the keeper") {
  LoadResult loaded = load_scenario_file(real_scenario_path("serving-upgrade"));
  INFO(loaded.problems.to_string());
  REQUIRE(loaded.ok());
  const Scenario& scenario = *loaded.scenario;
  CHECK(real_world_problems(scenario).empty());
  Result<RunResult> result = testing::run_real(scenario, 1, "serving-ops");
  INFO((result.ok() ? std::string() : result.error().message));
  REQUIRE(result.ok());
  const reports::RunRecord& record = result.value().record;
  // Every operation ended well: the deploy, the upgrade, the AppMaster kill and the scale.
  for (const reports::TraceEntry& note : record.notes) INFO(note.detail);
  CHECK(record.figures.at("serving.ranker.operations_ok") == 4);
  CHECK(record.figures.at("serving.ranker.operations_failed") == 0);
  // The upgrade completed (no rollback) and the service ends on v2 with the scaled-up count.
  REQUIRE(record.serving.upgrades.size() == 1);
  CHECK_FALSE(record.serving.upgrades[0].validation_failed);
  CHECK(record.figures.at("serving.ranker.c1.serving.v2") == 4);
  CHECK(record.figures.count("serving.ranker.c1.serving.v1") == 0);
  CHECK(record.figures.at("serving.ranker.desired_replicas_at_end") == 4);
  // Requests were answered by both versions, and none failed.
  const reports::RequestTotals totals = record.requests.totals();
  CHECK(totals.issued >= 1'000);
  CHECK(record.figures.at("serving.ranker.answered.c1.v1") > 0);
  CHECK(record.figures.at("serving.ranker.answered.c1.v2") > 0);
  CHECK(record.figures.at("serving.ranker.answered.c1.v1") + record.figures.at("serving.ranker.answered.c1.v2") ==
        static_cast<double>(totals.issued));
  // The killed AppMaster was replaced by a new epoch, and the observer saw the upgrade in progress.
  REQUIRE(record.serving.appmaster_acting.size() >= 2);
  CHECK(record.serving.appmaster_acting.back().epoch > record.serving.appmaster_acting.front().epoch);
  CHECK_FALSE(record.serving.upgrade_unavailability.empty());
  for (const reports::CheckResult& check : result.value().checks) {
    INFO(check.name << ": " << check.summary);
    CHECK(check.status == reports::CheckStatus::kPass);
  }
}

TEST_CASE("Real run: slow_node, clog and link_reorder on a serving scenario become transport link faults") {
  std::ifstream in(real_scenario_path("serving-appmaster-kill"));
  Json scenario_json = Json::parse(in);
  scenario_json.erase("$schema");
  scenario_json["events"] = Json::parse(R"([
    {"at": "5s", "fault": "slow_node", "target": "c1/worker0", "delay": "40ms", "for": "2s"},
    {"at": "7s", "fault": "clog", "from": "c1/head0", "to": "c1/worker1", "for": "600ms"},
    {"at": "8s", "fault": "link_reorder", "from": "c1/worker*", "to": "c1/worker*", "jitter": "5ms", "for": "2s"}
  ])");
  LoadResult loaded = load_scenario_json(scenario_json);
  INFO(loaded.problems.to_string());
  REQUIRE(loaded.ok());
  CHECK(real_world_problems(*loaded.scenario).empty());
  Result<RunResult> result = testing::run_real(*loaded.scenario, 1, "serving-links");
  INFO((result.ok() ? std::string() : result.error().message));
  REQUIRE(result.ok());
  const reports::RunRecord& record = result.value().record;
  REQUIRE(record.faults.size() == 3);
  CHECK(record.faults[0].kind == "slow_node");
  CHECK(record.faults[1].kind == "clog");
  CHECK(record.faults[2].kind == "link_reorder");
  for (const reports::FaultSpan& fault : record.faults) {
    REQUIRE(fault.end_ns);
    CHECK(*fault.end_ns > fault.start_ns);
  }
  for (const reports::TraceEntry& note : record.notes) {
    CHECK_THAT(note.detail, !Catch::Contains("link faults on"));  // every member's link faults were set
  }
  // Held at the members' transports: worker0's traffic both ways, the head's to worker1, the workers' among
  // themselves — while every request still ended, answered within its deadline.
  CHECK(record.figures.at("real.messages_delayed_by_link_fault") > 100);
  const reports::RequestTotals totals = record.requests.totals();
  CHECK(totals.issued >= 600);
  CHECK(totals.lost == 0);
  for (const reports::CheckResult& check : result.value().checks) {
    INFO(check.name << ": " << check.summary);
    CHECK(check.status != reports::CheckStatus::kFail);
  }
}

TEST_CASE("Real run: the strategy fan-out with a worker node killed by kill -9 - answers by the deadline, recovers") {
  LoadResult loaded = load_scenario_file(real_scenario_path("fanout-node-kill"));
  INFO(loaded.problems.to_string());
  REQUIRE(loaded.ok());
  const Scenario& scenario = *loaded.scenario;
  CHECK(real_world_problems(scenario).empty());
  LoadResult library = load_scenario_file(builtin_library_dir() + "/fanout-node-crash.json");
  REQUIRE(library.ok());
  CHECK(real_world_problems(*library.scenario).empty());  // the library's fan-out scenario runs too
  Result<RunResult> result = testing::run_real(scenario, 1, "fanout-real");
  INFO((result.ok() ? std::string() : result.error().message));
  REQUIRE(result.ok());
  const reports::RunRecord& record = result.value().record;
  for (const reports::TraceEntry& note : record.notes) INFO(note.detail);
  // One runtime cluster: the head and three worker processes; the app deployed once, every worker pre-started.
  CHECK(record.figures.at("real.clusters") == 1);
  CHECK(record.figures.at("real.processes") == 4);
  CHECK(record.figures.at("fanout.strategy.deploy_attempts") == 1);
  CHECK(std::any_of(record.notes.begin(), record.notes.end(), [](const reports::TraceEntry& note) {
    return note.detail == "fanout strategy deployed: every worker pre-started";
  }));
  // 40 requests a second from 3 s to 11 s, every one ended (complete, partial or an explicit error), none late.
  const reports::RequestTotals totals = record.requests.totals();
  CHECK(totals.issued >= 280);
  CHECK(totals.lost == 0);
  CHECK(totals.late == 0);
  const double complete = record.figures.at("fanout.strategy.complete");
  CHECK(complete + record.figures.at("fanout.strategy.partial") + record.figures.at("fanout.strategy.failed") ==
        static_cast<double>(totals.issued));
  CHECK(complete == static_cast<double>(totals.ok));
  CHECK(complete >= 0.9 * static_cast<double>(totals.issued));
  CHECK(record.figures.at("fanout.strategy.max_latency_ms") <= 350);
  // worker1 was killed at 6 s and stayed down until the end of the run.
  REQUIRE(record.faults.size() == 1);
  CHECK(record.faults[0].kind == "crash");
  CHECK_FALSE(record.faults[0].skipped);
  CHECK(record.faults[0].start_ns >= 6'000'000'000);
  REQUIRE(record.node_spans.size() == 1);
  CHECK(record.node_spans[0].state == "down");
  // Recovered: the runtime restarted the dead node's workers on the other two, the Dispatchers routed around
  // them, and every request issued from 9 s on got a complete answer.
  const auto bucket_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(record.requests.bucket()).count();
  uint64_t late_issued = 0;
  uint64_t late_failed = 0;
  const std::vector<reports::SeriesBucket>& series = record.requests.series();
  for (size_t b = static_cast<size_t>(9'000'000'000 / bucket_ns); b < series.size(); ++b) {
    late_issued += series[b].issued;
    late_failed += series[b].failed;
  }
  CHECK(late_issued >= 60);
  CHECK(late_failed == 0);
  for (const reports::CheckResult& check : result.value().checks) {
    INFO(check.name << ": " << check.summary);
    CHECK(check.status == reports::CheckStatus::kPass);
  }
}

TEST_CASE("Real run: a fan-out worker node isolated, then another paused, at time scale 2") {
  std::ifstream in(real_scenario_path("fanout-node-kill"));
  Json scenario_json = Json::parse(in);
  scenario_json.erase("$schema");
  scenario_json["events"] = Json::parse(R"([
    {"at": "5s", "fault": "isolate", "target": "f1/worker0", "for": "1s"},
    {"at": "8s", "fault": "pause", "target": "f1/worker2", "for": "1s"}
  ])");
  // Two faults cost more answers than one: the sim run of this scenario gets 80.4% complete (seed 1).
  scenario_json["expect"]["availability"]["overall"] = 0.75;
  LoadResult loaded = load_scenario_json(scenario_json);
  INFO(loaded.problems.to_string());
  REQUIRE(loaded.ok());
  CHECK(real_world_problems(*loaded.scenario).empty());
  Result<RunResult> result = testing::run_real(*loaded.scenario, 2, "fanout-kill-actor");
  INFO((result.ok() ? std::string() : result.error().message));
  REQUIRE(result.ok());
  const reports::RunRecord& record = result.value().record;
  REQUIRE(record.faults.size() == 2);
  CHECK(record.faults[0].kind == "isolate");
  CHECK(record.faults[1].kind == "pause");
  for (const reports::FaultSpan& fault : record.faults) {
    REQUIRE(fault.end_ns);
    CHECK(*fault.end_ns - fault.start_ns >= 900'000'000);  // 1 s in scenario time (0.5 s real)
  }
  CHECK(record.figures.at("real.messages_dropped_by_filter") > 0);  // worker0's traffic, cut at its transport
  for (const reports::TraceEntry& note : record.notes) {
    CHECK_THAT(note.detail, !Catch::Contains("filter on"));  // every member's filter was set and cleared
  }
  REQUIRE(record.node_spans.size() == 1);
  CHECK(record.node_spans[0].state == "paused");
  const reports::RequestTotals totals = record.requests.totals();
  CHECK(totals.issued >= 280);
  CHECK(totals.lost == 0);
  CHECK(totals.late == 0);
  CHECK(record.figures.at("fanout.strategy.complete") >= 0.75 * static_cast<double>(totals.issued));
  CHECK(record.figures.at("fanout.strategy.partial") + record.figures.at("fanout.strategy.failed") > 0);
  // Once both faults are healed, every request issued gets a complete answer again.
  const auto bucket_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(record.requests.bucket()).count();
  uint64_t after_issued = 0;
  uint64_t after_failed = 0;
  const std::vector<reports::SeriesBucket>& series = record.requests.series();
  for (size_t b = static_cast<size_t>(10'000'000'000 / bucket_ns); b < series.size(); ++b) {
    after_issued += series[b].issued;
    after_failed += series[b].failed;
  }
  CHECK(after_issued >= 30);
  CHECK(after_failed == 0);
  for (const reports::CheckResult& check : result.value().checks) {
    INFO(check.name << ": " << check.summary);
    CHECK(check.status == reports::CheckStatus::kPass);
  }
}

TEST_CASE("Real run: a serving scenario whose faults hit the keeper node is refused, naming the event") {
  LoadResult loaded = load_scenario_file(real_scenario_path("serving-appmaster-kill"));
  REQUIRE(loaded.ok());
  Json document = Json::parse(R"({"at": "2s", "fault": "crash", "target": "ops/keeper0", "for": "1s"})");
  std::ifstream in(real_scenario_path("serving-appmaster-kill"));
  Json scenario_json = Json::parse(in);
  scenario_json["events"].push_back(document);
  scenario_json.erase("$schema");
  LoadResult changed = load_scenario_json(scenario_json);
  INFO(changed.problems.to_string());
  REQUIRE(changed.ok());
  const std::vector<std::string> problems = real_world_problems(*changed.scenario);
  REQUIRE(problems.size() == 1);
  CHECK_THAT(problems[0], Catch::Contains("events/1: fault \"crash\" hits node ops/keeper0, the serving keeper"));
  CHECK_THAT(problems[0], Catch::Contains("fix:"));

  // A nemesis may draw the keeper too: known once the seed's plan is drawn, and refused before any process starts.
  scenario_json["events"] = Json::array();
  scenario_json["nemesis"] = Json::parse(
      R"({"start": "1s", "end": "10s", "targets": ["ops/*"], "faults": [{"fault": "pause", "every": "2s", "for": "1s"}]})");
  LoadResult drawn = load_scenario_json(scenario_json);
  INFO(drawn.problems.to_string());
  REQUIRE(drawn.ok());
  CHECK(real_world_problems(*drawn.scenario).empty());
  RealRunOptions options;
  options.work_dir = "/nonexistent";  // nothing may be written or started
  options.tandem_binary = "/nonexistent/tandem";
  Result<RunResult> refused = run_scenario_real(*drawn.scenario, options);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.code() == Errc::kInvalidArgument);
  CHECK_THAT(refused.error().message, Catch::Contains("hits node ops/keeper0, the serving keeper"));
}

}  // namespace
}  // namespace tandem::scenarios
