// `tandem run --world real` from the built binary: a scenario the real world cannot run (a fault on the serving
// keeper, which the driver plays) is refused with exit status 1, every problem named by its JSON pointer with a
// fix, and nothing created (no work directory, no process); a small serving scenario runs end to end and exits 0
// with its reports written.
#include <catch2/catch.hpp>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "scenarios/library.h"
#include "tests/real/support/temp_dir.h"

namespace tandem::scenarios {
namespace {

struct Outcome {
  int exit_status = -1;
  std::string output;  // stdout and stderr
};

// Runs `tandem ARGS` in `dir` and waits for it; bounded by `timeout 60`.
Outcome tandem_in(const std::string& dir, const std::string& args) {
  const std::string command =
      "cd '" + dir + "' && timeout 60 " + std::string(TANDEM_CLI_PATH) + " " + args + " 2>&1";
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

TEST_CASE("CLI real: a scenario whose fault hits the serving keeper is refused with its pointer, creating nothing") {
  tandem::testing::TempDir dir("cli-world-real");
  // The shipped serving scenario plus a crash of the keeper node, which the driver plays on the real world.
  std::ifstream in(builtin_library_dir() + "/../real/serving-appmaster-kill.json");
  std::stringstream text;
  text << in.rdbuf();
  std::string scenario = text.str();
  const std::string kill = R"({"at": "7s", "fault": "kill_actor", "target": "c1:serving/ranker/appmaster"})";
  REQUIRE(scenario.find(kill) != std::string::npos);
  scenario.replace(scenario.find(kill), kill.size(),
                   kill + R"(, {"at": "8s", "fault": "crash", "target": "ops/keeper0", "for": "1s"})");
  scenario.replace(scenario.find(R"("$schema")"), std::string(R"("$schema": "../schema.json",)").size(), "");
  std::ofstream(dir.path() + "/keeper-crash.json") << scenario;
  const Outcome refused = tandem_in(dir.path(), "run keeper-crash.json --world real");
  INFO(refused.output);
  CHECK(refused.exit_status == 1);
  CHECK_THAT(refused.output, Catch::Contains("serving-appmaster-kill cannot run on the real world:"));
  CHECK_THAT(refused.output, Catch::Contains("events/1: fault \"crash\" hits node ops/keeper0, the serving keeper"));
  CHECK_THAT(refused.output, Catch::Contains("fix:"));
  CHECK_FALSE(std::filesystem::exists(dir.path() + "/tandem-out"));
}

TEST_CASE("CLI real: the shipped serving scenario runs on real processes and exits 0 with its reports") {
  tandem::testing::TempDir dir("cli-world-real");
  const std::string scenario = builtin_library_dir() + "/../real/serving-appmaster-kill.json";
  const Outcome ran = tandem_in(dir.path(), "run '" + scenario + "' --world real --out out");
  INFO(ran.output);
  CHECK(ran.exit_status == 0);
  CHECK_THAT(ran.output, Catch::Contains("PASS  serving-appmaster-kill seed 1"));
  CHECK_THAT(ran.output, Catch::Contains("kill_actor c1:serving/ranker/appmaster"));
  for (const char* report : {"report.json", "report.md", "report.html", "trace.json"}) {
    CHECK(std::filesystem::exists(dir.path() + "/out/" + report));
  }
  CHECK(std::filesystem::exists(dir.path() + "/out/real/c1/cluster.json"));         // c1's cluster file
  CHECK(std::filesystem::exists(dir.path() + "/out/real/discovery/cluster.json"));  // discovery's own
}

}  // namespace
}  // namespace tandem::scenarios
