// Report writers: report.json and trace.json parse back, report.html is one self-contained page with SVG
// charts, report.md starts with the verdict.
#include "reports/writers.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "scenarios/runner.h"
#include "tests/scenarios/scenario_test_support.h"

namespace tandem::reports {
namespace {

struct Fixture {
  Fixture() {
    scenarios::LoadResult loaded = scenarios::load_scenario_json(testing::tiny_scenario());
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

}  // namespace
}  // namespace tandem::reports
