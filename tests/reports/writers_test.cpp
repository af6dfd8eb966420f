// Report writers: report.json and trace.json parse back, report.html is one self-contained page with SVG
// charts (replicas per version for a serving service), report.md starts with the verdict.
#include "reports/writers.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "scenarios/runner.h"
#include "tests/scenarios/scenario_test_support.h"

namespace tandem::reports {
namespace {

struct Fixture {
  explicit Fixture(const nlohmann::json& document = testing::tiny_scenario()) {
    scenarios::LoadResult loaded = scenarios::load_scenario_json(document);
    INFO(loaded.problems.to_string());
    REQUIRE(loaded.ok());
    scenario = std::move(*loaded.scenario);
    result = scenarios::run_scenario(scenario);
    report.info.scenario_name = scenario.name;
    report.info.description = scenario.description;
    report.info.scenario_document = scenario.document;
    report.info.seed = scenario.seed;
    report.info.wall_seconds = result.wall_seconds;
    report.info.run_command = "tandem run tiny.json --seed 7";
    report.info.replay_command = "tandem replay out";
    report.record = &result.record;
    report.checks = result.checks;
  }
  scenarios::Scenario scenario;
  scenarios::RunResult result;
  Report report;
};

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST_CASE("Writers: report.json parses back with the scenario, seed, checks and fault timeline") {
  Fixture f;
  const nlohmann::json json = nlohmann::json::parse(report_json(f.report).dump());
  CHECK(json["seed"] == 7);
  CHECK(json["scenario"]["document"] == testing::tiny_scenario());
  CHECK(json["verdict"] == (f.result.passed ? "pass" : "fail"));
  REQUIRE(json["checks"].is_array());
  CHECK(json["checks"].size() == f.result.checks.size());
  REQUIRE(json["faults"].size() == 1);
  CHECK(json["faults"][0]["label"] == "crash east-a/server0");
  CHECK(json["faults"][0]["start_seconds"] == 1.0);
  CHECK(json["faults"][0]["end_seconds"] == 2.0);
  CHECK(json["metrics"]["requests"]["issued"].get<uint64_t>() > 200);
  CHECK(json["series"]["t_seconds"].size() == json["series"]["availability_percent"].size());
  CHECK(json["run"]["trace_hash"].get<std::string>().size() == 16);
}

TEST_CASE("Writers: trace.json is Chrome trace events with fault spans, node spans and counters") {
  Fixture f;
  const nlohmann::json trace = nlohmann::json::parse(chrome_trace(f.report).dump());
  REQUIRE(trace["traceEvents"].is_array());
  size_t fault_spans = 0;
  size_t node_spans = 0;
  size_t counters = 0;
  for (const nlohmann::json& event : trace["traceEvents"]) {
    REQUIRE(event.contains("ph"));
    if (event["ph"] == "X" && event["cat"] == "fault") ++fault_spans;
    if (event["ph"] == "X" && event["cat"] == "node") {
      ++node_spans;
      CHECK(event["name"] == "down");
      CHECK(event["ts"] == 1e6);
      CHECK(event["dur"] == 1e6);
    }
    if (event["ph"] == "C") ++counters;
  }
  CHECK(fault_spans == 1);
  CHECK(node_spans == 1);
  CHECK(counters > 10);
}

TEST_CASE("Writers: report.html is one self-contained page with inline SVG charts and the checks") {
  Fixture f;
  const std::string html = report_html(f.report);
  CHECK(html.rfind("<!doctype html>", 0) == 0);
  CHECK(html.find("<svg") != std::string::npos);
  CHECK(html.find("Availability") != std::string::npos);
  CHECK(html.find("Fault timeline") != std::string::npos);
  CHECK(html.find("crash east-a/server0") != std::string::npos);
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("src=") == std::string::npos);
  CHECK(html.find("<link") == std::string::npos);
}

TEST_CASE("Writers: report.md opens with the verdict, then the checks table and the replay command") {
  Fixture f;
  const std::string md = report_markdown(f.report);
  CHECK(md.rfind(std::string("# ") + (f.result.passed ? "PASS" : "FAIL") + "  tiny seed 7: ", 0) == 0);
  CHECK(md.find("| check | result | figures | expected |") != std::string::npos);
  CHECK(md.find("tandem run tiny.json --seed 7") != std::string::npos);
}

TEST_CASE("Writers: write_report_files writes the four files") {
  Fixture f;
  const std::string directory = std::filesystem::temp_directory_path().string() + "/tandem_writers_test";
  std::filesystem::remove_all(directory);
  REQUIRE(write_report_files(f.report, directory).ok());
  for (const char* name : {"report.json", "report.md", "report.html", "trace.json"}) {
    INFO(name);
    CHECK(std::filesystem::file_size(directory + "/" + name) > 100);
  }
  CHECK_NOTHROW(nlohmann::json::parse(read(directory + "/report.json")));
  CHECK_NOTHROW(nlohmann::json::parse(read(directory + "/trace.json")));
  std::filesystem::remove_all(directory);
}

// The tiny serving service (2 backends in each of 2 clusters) upgraded from v1 to v2 at 8s, observed every
// 200ms.
nlohmann::json upgrade_scenario() {
  nlohmann::json document = testing::tiny_serving();
  document["events"] = {{{"at", "8s"}, {"op", "upgrade"}, {"service", "ranker"}, {"version", "v2"}}};
  document["services"][0]["observe_every"] = "200ms";
  return document;
}

double last(const nlohmann::json& values) { return values.back().get<double>(); }

TEST_CASE("Writers: a rolling upgrade shows as replicas per version: v1 falls to 0 as v2 rises to the total") {
  Fixture f(upgrade_scenario());
  const std::vector<ReplicaSeries> all = replica_series(f.result.record);
  REQUIRE(all.size() == 3);  // the service's sum, then c1 and c2
  const ReplicaSeries& total = all[0];
  CHECK(total.service == "ranker");
  CHECK(total.cluster.empty());
  CHECK(all[1].cluster == "c1");
  CHECK(all[2].cluster == "c2");
  REQUIRE(total.versions == std::vector<std::string>{"v1", "v2"});
  const std::vector<double>& v1 = total.serving[0];
  const std::vector<double>& v2 = total.serving[1];
  REQUIRE(total.t_seconds.size() >= 4);
  CHECK(*std::max_element(v1.begin(), v1.end()) == 4);
  CHECK(v1.back() == 0);
  CHECK(v2.back() == 4);
  CHECK(total.desired.back() == 4);
  for (size_t p = 0; p < total.t_seconds.size(); ++p) {
    INFO("at " << total.t_seconds[p] << "s");
    if (total.t_seconds[p] < 8) CHECK(v2[p] == 0);  // nothing on v2 before the upgrade
    CHECK(v1[p] + v2[p] <= 4);                      // max_surge 0: never more than the desired 4
    if (p > 0) CHECK(total.t_seconds[p] > total.t_seconds[p - 1]);
  }
  // v2 came in within the run, after v1 had all four.
  const auto first_v2 = std::find_if(v2.begin(), v2.end(), [](double n) { return n > 0; });
  REQUIRE(first_v2 != v2.end());
  CHECK(total.t_seconds[static_cast<size_t>(first_v2 - v2.begin())] >= 8);
  CHECK(all[1].serving[1].back() == 2);
  CHECK(all[2].serving[1].back() == 2);

  const nlohmann::json json = nlohmann::json::parse(report_json(f.report).dump());
  REQUIRE(json["replicas_per_version"].size() == 3);
  const nlohmann::json& sum = json["replicas_per_version"][0];
  CHECK(sum["service"] == "ranker");
  CHECK(sum["cluster"].is_null());
  CHECK(sum["t_seconds"].size() == total.t_seconds.size());
  CHECK(last(sum["serving"]["v1"]) == 0);
  CHECK(last(sum["serving"]["v2"]) == 4);
  CHECK(last(sum["desired"]) == 4);
  CHECK(json["replicas_per_version"][1]["cluster"] == "c1");

  const std::string html = report_html(f.report);
  const size_t chart = html.find("aria-label='Replicas of ranker per version'");
  REQUIRE(chart != std::string::npos);
  const std::string svg = html.substr(chart, html.find("</svg>", chart) - chart);
  CHECK(svg.find("<polygon") != std::string::npos);            // the stacked versions
  CHECK(svg.find("stroke-dasharray") != std::string::npos);    // the desired count
  CHECK(svg.find("<title>v2</title>") != std::string::npos);
  CHECK(html.find("<script") == std::string::npos);

  CHECK(report_markdown(f.report).find("- ranker at the end: 4 on v2 (desired 4)") != std::string::npos);
  size_t counters = 0;
  const nlohmann::json trace = chrome_trace(f.report);
  for (const nlohmann::json& event : trace["traceEvents"]) {
    if (event["ph"] == "C" && event["name"] == "replicas of ranker per version") ++counters;
  }
  CHECK(counters == total.t_seconds.size());
}

TEST_CASE("Writers: replica series carry each cluster's last observation forward and keep only changes") {
  RunRecord record;
  const auto sample = [&](int64_t second, const std::string& cluster, uint32_t desired,
                          std::map<std::string, uint32_t> serving) {
    record.serving.versions.push_back({second * 1'000'000'000, "svc", cluster, desired, std::move(serving)});
  };
  sample(1, "c1", 2, {{"v1", 2}});
  sample(1, "c2", 2, {{"v1", 2}});
  sample(2, "c1", 2, {{"v1", 2}});  // no change: no point
  // c2's AppMaster does not answer at 2s and 3s: its 2 backends on v1 still count.
  sample(3, "c1", 2, {{"v1", 1}, {"v2", 1}});
  sample(4, "c1", 2, {{"v2", 2}});
  sample(4, "c2", 2, {{"v2", 2}});
  sample(5, "c1", 2, {{"v2", 2}});  // the last observation: kept, though unchanged
  const std::vector<ReplicaSeries> all = replica_series(record);
  REQUIRE(all.size() == 3);
  const ReplicaSeries& total = all[0];
  CHECK(total.versions == std::vector<std::string>{"v1", "v2"});
  // Samples at the same time make one point.
  CHECK(total.t_seconds == std::vector<double>{1, 3, 4, 5});
  CHECK(total.serving[0] == std::vector<double>{4, 3, 0, 0});
  CHECK(total.serving[1] == std::vector<double>{0, 1, 4, 4});
  CHECK(total.desired == std::vector<double>{4, 4, 4, 4});
  CHECK(all[2].cluster == "c2");
  CHECK(all[2].t_seconds == std::vector<double>{1, 4});
  CHECK(all[2].serving[1] == std::vector<double>{0, 2});

  // A target that changes at every one of 10,001 observations is thinned to the cap, ending on the last one.
  record.serving.versions.clear();
  for (int64_t second = 0; second <= 10'000; ++second) {
    sample(second, "c1", static_cast<uint32_t>(1 + second % 2), {{"v1", static_cast<uint32_t>(1 + second % 2)}});
  }
  const ReplicaSeries thinned = replica_series(record).at(0);
  CHECK(thinned.t_seconds.size() <= ReplicaSeries::kMaxReplicaPoints);
  CHECK(thinned.t_seconds.size() > ReplicaSeries::kMaxReplicaPoints / 2);
  CHECK(thinned.t_seconds.back() == 10'000);
  CHECK(thinned.serving[0].back() == 1);
}

TEST_CASE("Writers: a run without a serving service has no replica series and no replica chart") {
  Fixture f;
  CHECK(replica_series(f.result.record).empty());
  CHECK(report_json(f.report)["replicas_per_version"].empty());
  CHECK(report_html(f.report).find("Replicas of") == std::string::npos);
}

}  // namespace
}  // namespace tandem::reports
