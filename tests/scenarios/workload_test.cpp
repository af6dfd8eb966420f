// Workload shapes give the rates they promise, and the runner drives them, a replay log and operations.
#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>

#include "scenarios/runner.h"
#include "scenarios/scenario.h"
#include "tests/scenarios/scenario_test_support.h"

namespace tandem::scenarios {
namespace {

WorkloadStream loaded_stream(const Json& stream) {
  Json doc = testing::tiny_scenario();
  doc["workload"] = {stream};
  LoadResult loaded = load_scenario_json(doc);
  REQUIRE(loaded.problems.to_string() == "");
  return loaded.scenario->workload.at(0);
}

TEST_CASE("Workload: each rate shape gives its rate over time") {
  const WorkloadStream step =
      loaded_stream({{"service", "echo"},
                     {"shape", "step"},
                     {"steps", {{{"at", "0s"}, {"rate", 10}}, {{"at", "2s"}, {"rate", 40}}}}});
  CHECK(step.rate_at(1s) == 10);
  CHECK(step.rate_at(2s) == 40);
  CHECK(step.max_rate() == 40);
  const WorkloadStream ramp = loaded_stream({{"service", "echo"},
                                             {"shape", "ramp"},
                                             {"from", 0},
                                             {"to", 100},
                                             {"ramp_start", "1s"},
                                             {"ramp_end", "3s"}});
  CHECK(ramp.rate_at(500ms) == 0);
  CHECK(ramp.rate_at(2s) == Approx(50));
  CHECK(ramp.rate_at(3500ms) == 100);
  const WorkloadStream diurnal = loaded_stream({{"service", "echo"},
                                                {"shape", "diurnal"},
                                                {"mean", 100},
                                                {"amplitude", 50},
                                                {"period", "4s"},
                                                {"peak", "1s"}});
  CHECK(diurnal.rate_at(1s) == Approx(150));
  CHECK(diurnal.rate_at(3s) == Approx(50));
  const WorkloadStream burst =
      loaded_stream({{"service", "echo"},
                     {"shape", "burst"},
                     {"base", 10},
                     {"bursts", {{{"at", "1s"}, {"for", "500ms"}, {"rate", 90}}}},
                     {"periodic", {{"every", "2s"}, {"for", "100ms"}, {"rate", 50}}}});
  CHECK(burst.rate_at(1200ms) == 90);
  CHECK(burst.rate_at(2050ms) == 50);
  CHECK(burst.rate_at(2500ms) == 10);
  CHECK(burst.expected_requests(4s) == Approx(10 * 4 + 80 * 0.5 + 40 * 0.2).epsilon(0.01));
}

TEST_CASE("Workload: Poisson and uniform arrivals offer about rate x duration requests") {
  for (const char* arrivals : {"poisson", "uniform"}) {
    Json doc = testing::tiny_scenario();
    doc["workload"] = {{{"service", "echo"}, {"shape", "constant"}, {"rate", 250}, {"arrivals", arrivals}}};
    doc.erase("events");
    LoadResult loaded = load_scenario_json(doc);
    REQUIRE(loaded.ok());
    const RunResult result = run_scenario(*loaded.scenario);
    INFO(arrivals);
    CHECK(result.record.requests.totals().issued == Approx(1000).epsilon(0.1));
    CHECK(result.record.requests.totals().ok == result.record.requests.totals().issued);
  }
}

TEST_CASE("Workload: a replay log issues its requests at the recorded times from the recorded clusters") {
  const std::string path = "/tmp/tandem_workload_test_replay.log";
  {
    std::ofstream log(path);
    for (int i = 0; i < 40; ++i) log << (0.1 * i) << (i % 2 == 0 ? ",west-a" : "") << "\n";
  }
  Json doc = testing::tiny_scenario();
  doc["workload"] = {{{"service", "echo"}, {"shape", "replay"}, {"file", path}, {"speed", 2}}};
  doc.erase("events");
  LoadResult loaded = load_scenario_json(doc);
  REQUIRE(loaded.problems.to_string() == "");
  const RunResult result = run_scenario(*loaded.scenario);
  CHECK(result.record.requests.totals().issued == 40);  // at double speed all 40 fit in 2s of the 4s run
  std::remove(path.c_str());
}

TEST_CASE("Runner: a service operation changes the service time from its moment on") {
  Json doc = testing::tiny_scenario();
  doc.erase("events");
  doc["services"][0]["service_time"] = "1ms";
  doc["services"][0]["routing"] = {{"local_fraction", 1.0}};  // no WAN round trips to blur the picture
  doc["events"] = {{{"at", "2s"}, {"op", "set_service_time"}, {"service", "echo"}, {"service_time", "30ms"}}};
  doc["expect"] = {{"latency", {{"p50", "10ms"}}}};
  LoadResult loaded = load_scenario_json(doc);
  REQUIRE(loaded.problems.to_string() == "");
  const RunResult result = run_scenario(*loaded.scenario);
  // Half the requests now take 30ms and more, so the median sits right at the switch; p99 is well above 30ms.
  const std::vector<int64_t>& latencies = result.record.requests.success_latencies_ns();
  const auto slow =
      std::count_if(latencies.begin(), latencies.end(), [](int64_t ns) { return ns >= 30'000'000; });
  CHECK(static_cast<double>(slow) / static_cast<double>(latencies.size()) == Approx(0.5).epsilon(0.15));
  bool noted = false;
  for (const reports::TraceEntry& note : result.record.notes)
    noted |= note.detail.find("set echo service time") != std::string::npos;
  CHECK(noted);
  doc["events"][0]["op"] = "set_service_tme";
  CHECK(testing::problems_of(doc) ==
        std::vector<std::string>{
            "/events/0/op: service \"echo\" (kind rpc) has no operation \"set_service_tme\"; did you "
            "mean \"set_service_time\"? Operations: set_service_time"});
}

}  // namespace
}  // namespace tandem::scenarios
