// The `tandem` command end to end, from the built binary: --help on every scenario command, exit status 0 only
// when every check holds (1 when one fails or the scenario is invalid, 2 for bad arguments), `check` naming the
// JSON pointer, `run` writing the four reports, `replay` reproducing a run, `sweep` printing the replay command
// of each failing seed, `list` showing the library. Labelled `real` with the other tests that start processes.
#include <catch2/catch.hpp>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "scenarios/scenario.h"
#include "tests/real/support/temp_dir.h"
#include "tests/scenarios/scenario_test_support.h"

namespace tandem::scenarios {
namespace {

struct Outcome {
  int exit_status = -1;
  std::string output;  // stdout and stderr
};

// Runs `tandem ARGS` (ARGS already shell-quoted where needed) and waits for it; bounded by `timeout 120`.
Outcome tandem(const std::string& args) {
  const std::string command = std::string("timeout 120 ") + TANDEM_CLI_PATH + " " + args + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  Outcome outcome;
  char buffer[4096];
  size_t read = 0;
  while ((read = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) outcome.output.append(buffer, read);
  const int status = ::pclose(pipe);
  outcome.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return outcome;
}

std::string write_scenario(const std::string& dir, const std::string& name, const Json& document) {
  const std::string path = dir + "/" + name + ".json";
  std::ofstream(path) << document.dump(2);
  return path;
}

// The tiny rpc scenario without its crash: every check holds.
Json holding_scenario() {
  Json document = testing::tiny_scenario();
  document["events"] = Json::array();
  document["expect"] = {{"availability", {{"overall", 0.99}}}};
  return document;
}

// The same, with a latency bound no request can meet: the latency check fails on every seed.
Json failing_scenario() {
  Json document = holding_scenario();
  document["expect"]["latency"] = {{"max", "1us"}};
  return document;
}

TEST_CASE("CLI: every scenario command has --help, and bad arguments exit 2") {
  for (const char* command : {"run", "check", "sweep", "replay", "list"}) {
    INFO(command);
    const Outcome help = tandem(std::string(command) + " --help");
    CHECK(help.exit_status == 0);
    CHECK_THAT(help.output, Catch::StartsWith(std::string("Usage: tandem ") + command));
  }
  CHECK(tandem("--help").exit_status == 0);
  CHECK(tandem("run --seed minus-one").exit_status == 2);
  CHECK(tandem("sweep default").exit_status == 2);  // no --seeds
  CHECK(tandem("check").exit_status == 2);
  CHECK(tandem("replay").exit_status == 2);
}

TEST_CASE("CLI: check exits 0 for a valid scenario and 1 for a malformed one, naming the pointer") {
  testing::TempDir dir("cli-check");
  CHECK(tandem("check " + write_scenario(dir.path(), "good", holding_scenario())).exit_status == 0);
  Json bad = holding_scenario();
  bad["workload"][0]["rate"] = -5;
  const Outcome refused = tandem("check " + write_scenario(dir.path(), "bad", bad));
  CHECK(refused.exit_status == 1);
  CHECK_THAT(refused.output, Catch::Contains("/workload/0/rate: "));
}

TEST_CASE("CLI: run exits 0 when every check holds, writes the reports, and replay reproduces the run") {
  testing::TempDir dir("cli-run");
  const std::string out = dir.path() + "/out";
  const Outcome run = tandem("run " + write_scenario(dir.path(), "good", holding_scenario()) + " --seed 11 --out " + out);
  INFO(run.output);
  CHECK(run.exit_status == 0);
  CHECK_THAT(run.output, Catch::Contains("PASS") && Catch::Contains("real time"));
  for (const char* name : {"report.json", "report.md", "report.html", "trace.json"}) {
    INFO(name);
    CHECK(std::filesystem::file_size(out + "/" + name) > 100);
  }
  const Outcome replay = tandem("replay " + out);
  INFO(replay.output);
  CHECK(replay.exit_status == 0);
}

TEST_CASE("CLI: run exits 1 when a check fails, and sweep lists each failing seed with its replay command") {
  testing::TempDir dir("cli-fail");
  const std::string path = write_scenario(dir.path(), "failing", failing_scenario());
  const Outcome run = tandem("run " + path + " --no-reports");
  INFO(run.output);
  CHECK(run.exit_status == 1);
  CHECK_THAT(run.output, Catch::Contains("FAIL"));

  const Outcome sweep = tandem("sweep " + path + " --seeds 2 --first-seed 5 --out " + dir.path() + "/sweep");
  INFO(sweep.output);
  CHECK(sweep.exit_status == 1);
  CHECK_THAT(sweep.output, Catch::Contains("0 of 2 seeds passed"));
  CHECK_THAT(sweep.output, Catch::Contains("tandem run " + path + " --seed 5"));
  CHECK_THAT(sweep.output, Catch::Contains("tandem run " + path + " --seed 6"));

  const Outcome passing = tandem("sweep " + write_scenario(dir.path(), "good", holding_scenario()) + " --seeds 2");
  INFO(passing.output);
  CHECK(passing.exit_status == 0);
  CHECK_THAT(passing.output, Catch::Contains("2 of 2 seeds passed"));
}

TEST_CASE("CLI: list shows the library scenarios with their descriptions") {
  const Outcome list = tandem("list");
  CHECK(list.exit_status == 0);
  for (const char* name : {"default", "appmaster-crash", "upgrade-1000", "diurnal-autoscale-reactive", "storm"}) {
    CHECK_THAT(list.output, Catch::Contains(name));
  }
}

}  // namespace
}  // namespace tandem::scenarios
