// `tandem run --world real` from the built binary: a scenario the real world cannot run is refused with exit
// status 1, every problem named by its JSON pointer with a fix, and nothing created (no work directory, no
// process); a small serving scenario runs end to end and exits 0 with its reports written.
#include <catch2/catch.hpp>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
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

TEST_CASE("CLI real: a library scenario with a network outage is refused with its pointer, creating nothing") {
  tandem::testing::TempDir dir("cli-world-real");
  const Outcome refused = tandem_in(dir.path(), "run keeper-cluster-outage --world real --time-scale 3");
  INFO(refused.output);
  CHECK(refused.exit_status == 1);
  CHECK_THAT(refused.output, Catch::Contains("keeper-cluster-outage cannot run on the real world:"));
  CHECK_THAT(refused.output, Catch::Contains("events/0: fault \"cluster_outage\" with \"mode\": \"network\""));
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
