// A daemon that dies of a fatal signal says so in its log, with its stack, and the launcher's error names the
// signal: without both, a member that crashed during start-up left an empty log and "exited during start-up".
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "real_backend/crash_report.h"
#include "tests/real/real_fixture.h"
#include "tests/real/support/temp_dir.h"

namespace tandem::real {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST_CASE("Crash report: a member killed by SIGSEGV logs the signal and its stack, and the launcher names it") {
  const tandem::testing::TempDir temp("crash");
  const std::string& dir = temp.path();
  LoopbackClusterOptions options;
  options.nodes = 0;
  Result<ClusterFile> file = make_loopback_cluster(dir, options);
  REQUIRE(file.ok());
  LocalCluster processes(file.value(), TANDEM_CLI_PATH, dir);
  const NodeId head = file.value().head().id;
  Status started = processes.start_all();
  INFO((started.ok() ? std::string() : started.error().message));
  REQUIRE(started.ok());
  const std::optional<pid_t> pid = processes.pid(head);
  REQUIRE(pid.has_value());

  REQUIRE(::kill(*pid, SIGSEGV) == 0);
  Result<bool> ready = true;
  for (int i = 0; i < 250 && ready.ok(); ++i) {  // up to 5 s for it to die
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ready = processes.ready(head);
  }
  REQUIRE_FALSE(ready.ok());
  INFO(ready.error().message);
  CHECK(ready.error().message.find("was killed by signal 11 (Segmentation fault)") != std::string::npos);
  CHECK_FALSE(processes.running(head));

  const std::string log = read_file(processes.log_path(head));
  INFO(log);
  CHECK(log.find("tandem head head: fatal signal 11 (SEGV); stack:") != std::string::npos);
  CHECK(log.find("tandem(") != std::string::npos);  // at least one frame of the binary itself
  processes.stop_all();
}

TEST_CASE("Crash report: exit statuses are described as a person would say them") {
  CHECK(describe_exit_status(1 << 8) == "exited with code 1");
  CHECK(describe_exit_status(0) == "exited with code 0");
  CHECK(describe_exit_status(SIGKILL) == "was killed by signal 9 (Killed)");
  CHECK(describe_exit_status(SIGSEGV | 0x80) == "was killed by signal 11 (Segmentation fault), core dumped");
}

}  // namespace
}  // namespace tandem::real
