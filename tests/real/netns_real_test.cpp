// Kernel-made partitions (real_backend/netns.h): a `tandem head` and a `tandem node` each in a network namespace
// of its own, joined by veth pairs to a bridge, and this test's driver in the hub namespace. A blackhole route in
// the node's namespace cuts its path to the head: its heartbeats stop arriving and the head declares it dead;
// removing the route heals the path and the node registers again.
//
// Needs root and `ip netns`; without them the test prints a WARN saying why it did not run, and passes.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "real_backend/cluster_file.h"
#include "real_backend/member_process.h"
#include "real_backend/netns.h"
#include "tests/real/real_fixture.h"

namespace tandem::real {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// A head or node started with `ip netns exec NS tandem ...`, its output in `log`; SIGKILLed on destruction.
class NamespacedMember {
 public:
  NamespacedMember(const std::string& ns, const std::string& role, const std::string& cluster_path, NodeId id,
                   std::string log)
      : log_(std::move(log)) {
    std::vector<std::string> args = NetnsNetwork::exec_argv(
        ns, {TANDEM_CLI_PATH, role, "--cluster", cluster_path, "--id", std::to_string(id), "--log-level", "info"});
    const int log_fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    REQUIRE(log_fd >= 0);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::dup2(log_fd, STDOUT_FILENO);
      ::dup2(log_fd, STDERR_FILENO);
      ::setpgid(0, 0);
      std::vector<char*> argv;
      for (std::string& arg : args) argv.push_back(arg.data());
      argv.push_back(nullptr);
      ::execvp(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(log_fd);
  }
  ~NamespacedMember() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);  // `ip netns exec` execs the command: this pid is tandem's
      ::waitpid(pid_, nullptr, 0);
    }
  }

  bool wait_ready(std::chrono::seconds timeout) const {
    const auto give_up = Clock::now() + timeout;
    while (Clock::now() < give_up) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) return false;
      std::ifstream in(log_);
      std::string line;
      while (std::getline(in, line)) {
        if (line.find(" ready on ") != std::string::npos) return true;
      }
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }
  std::string log_text() const {
    std::ifstream in(log_);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

 private:
  std::string log_;
  pid_t pid_ = -1;
};

// Alive state of node `id` in the head's control store, as the driver sees it; nullopt when the call failed.
std::optional<bool> alive(MemberProcess& driver, NodeId id) {
  Result<std::vector<runtime::NodeInfo>> nodes = driver.await(driver.client().nodes(), 2s);
  if (!nodes.ok()) return std::nullopt;
  for (const runtime::NodeInfo& info : nodes.value()) {
    if (info.node == id) return info.alive;
  }
  return false;
}

bool poll(MemberProcess& driver, const std::function<bool()>& done, std::chrono::seconds timeout) {
  const auto give_up = Clock::now() + timeout;
  while (Clock::now() < give_up) {
    if (done()) return true;
    driver.run_until([] { return false; }, 100ms);
  }
  return false;
}

// The driver's side, in a forked child that joined the hub namespace before it made any thread or socket.
// Returns the exit code: 0 when every step held, else the step that failed (its reason is on stderr).
int drive(const ClusterFile& file, NetnsNetwork& net) {
  const std::string path = "/run/netns/" + net.hub_namespace();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) {
    std::fprintf(stderr, "driver: cannot join %s: %s\n", path.c_str(), std::strerror(errno));
    return 10;
  }
  ::close(fd);
  MemberOptions options;
  options.serve_metrics = false;
  MemberProcess driver(file, 100, options);
  if (Status s = driver.start(); !s.ok()) {
    std::fprintf(stderr, "driver: start: %s\n", s.error().to_string().c_str());
    return 11;
  }
  auto start = Clock::now();
  if (Status s = driver.wait_for_nodes(2, 20s); !s.ok()) {
    std::fprintf(stderr, "driver: %s\n", s.error().to_string().c_str());
    return 12;
  }
  std::fprintf(stderr, "netns: head (%s) and n1 (%s) alive, seen from the hub (%s), after %.2f s\n",
               net.address_of("head").c_str(), net.address_of("n1").c_str(), net.hub_address().c_str(),
               seconds_since(start));

  // The kernel cuts n1 → head: a blackhole route for the head's address in n1's namespace.
  if (Status s = net.cut("n1", "head"); !s.ok()) {
    std::fprintf(stderr, "driver: cut: %s\n", s.error().to_string().c_str());
    return 13;
  }
  start = Clock::now();
  if (!poll(driver, [&] { return alive(driver, 1) == std::optional<bool>(false); }, 10s)) {
    std::fprintf(stderr, "driver: n1 still alive 10 s after the cut\n");
    return 14;
  }
  std::fprintf(stderr, "netns: blackhole %s in n1's namespace: the head declared n1 dead after %.2f s "
                       "(heartbeat 200 ms x 5)\n", net.address_of("head").c_str(), seconds_since(start));
  // The head itself stays reachable from the hub: the cut is exactly n1's path.
  if (alive(driver, 0) != std::optional<bool>(true)) {
    std::fprintf(stderr, "driver: the head is not answering during the cut\n");
    return 15;
  }

  if (Status s = net.heal("n1", "head"); !s.ok()) {
    std::fprintf(stderr, "driver: heal: %s\n", s.error().to_string().c_str());
    return 16;
  }
  start = Clock::now();
  if (!poll(driver, [&] { return alive(driver, 1) == std::optional<bool>(true); }, 20s)) {
    std::fprintf(stderr, "driver: n1 not alive again 20 s after the heal\n");
    return 17;
  }
  std::fprintf(stderr, "netns: route removed: n1 registered again and is alive after %.2f s\n",
               seconds_since(start));

  // A symmetric partition head <-> n1 (a route in each namespace) also kills it, and healing brings it back.
  if (Status s = net.partition("head", "n1"); !s.ok()) {
    std::fprintf(stderr, "driver: partition: %s\n", s.error().to_string().c_str());
    return 18;
  }
  start = Clock::now();
  if (!poll(driver, [&] { return alive(driver, 1) == std::optional<bool>(false); }, 10s)) {
    std::fprintf(stderr, "driver: n1 still alive 10 s after the partition\n");
    return 19;
  }
  std::fprintf(stderr, "netns: partition head <-> n1: n1 declared dead after %.2f s\n", seconds_since(start));
  if (Status s = net.heal_all(); !s.ok()) {
    std::fprintf(stderr, "driver: heal_all: %s\n", s.error().to_string().c_str());
    return 20;
  }
  start = Clock::now();
  if (!poll(driver, [&] { return alive(driver, 1) == std::optional<bool>(true); }, 20s)) {
    std::fprintf(stderr, "driver: n1 not alive again 20 s after healing the partition\n");
    return 21;
  }
  std::fprintf(stderr, "netns: partition healed: n1 alive again after %.2f s\n", seconds_since(start));
  return 0;
}

}  // namespace

TEST_CASE("netns: a blackhole route cuts a node from its head in the kernel, and removing it heals",
          "[real][netns]") {
  NetnsNetwork::remove_stale("tdmnt");  // left by a run killed before its destructor ran
  Result<std::unique_ptr<NetnsNetwork>> created = NetnsNetwork::create("tdmnt", {"head", "n1"});
  if (!created.ok() && created.error().code == Errc::kUnavailable) {
    WARN("netns test NOT RUN: " << created.error().message
                                << " (kernel-made partitions need root and `ip netns`; the transport filter's "
                                   "partitions are tested in net_filter_real_test)");
    return;
  }
  INFO((created.ok() ? std::string() : created.error().to_string()));
  REQUIRE(created.ok());
  NetnsNetwork& net = *created.value();

  const std::string dir = testing::make_temp_dir("netns");
  struct RemoveDir {
    std::string dir;
    ~RemoveDir() {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  } remove_dir{dir};
  std::filesystem::create_directories(dir + "/state");

  // Members listen on their namespace addresses: not loopback, so the file allows remote and sets a token.
  nlohmann::json json = {
      {"storage", "sqlite:" + dir + "/state"},
      {"auth_token", "netns-test-token"},
      {"allow_remote", true},
      {"heartbeat_period_ms", 200},
      {"heartbeat_miss_limit", 5},
      {"members",
       {{{"id", 0}, {"name", "head"}, {"role", "head"}, {"endpoint", net.address_of("head") + ":7100"}},
        {{"id", 1},
         {"name", "n1"},
         {"role", "node"},
         {"endpoint", net.address_of("n1") + ":7101"},
         {"resources", {{"CPU", 2}}}},
        {{"id", 100}, {"name", "driver"}, {"role", "driver"}, {"endpoint", net.hub_address() + ":7200"}}}}};
  Result<ClusterFile> file = ClusterFile::parse(json);
  INFO((file.ok() ? std::string() : file.error().to_string()));
  REQUIRE(file.ok());
  const std::string cluster_path = dir + "/cluster.json";
  REQUIRE(file.value().save(cluster_path).ok());

  NamespacedMember head(net.namespace_of("head"), "head", cluster_path, 0, dir + "/head.log");
  INFO("head log:\n" << head.log_text());
  REQUIRE(head.wait_ready(20s));
  NamespacedMember node(net.namespace_of("n1"), "node", cluster_path, 1, dir + "/n1.log");
  REQUIRE(node.wait_ready(20s));

  std::fflush(nullptr);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    int code = 1;
    try {
      code = drive(file.value(), net);
    } catch (...) {
      code = 2;
    }
    std::fflush(nullptr);
    ::_exit(code);  // never runs the parent's destructors (the namespaces and processes are the parent's)
  }
  int status = 0;
  const auto give_up = Clock::now() + 50s;
  bool exited = false;
  while (Clock::now() < give_up) {
    if (::waitpid(child, &status, WNOHANG) == child) {
      exited = true;
      break;
    }
    std::this_thread::sleep_for(50ms);
  }
  if (!exited) {
    ::kill(child, SIGKILL);
    ::waitpid(child, &status, 0);
  }
  INFO("head log:\n" << head.log_text() << "\nn1 log:\n" << node.log_text());
  REQUIRE(exited);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  // The head's own account of the cut.
  CHECK(head.log_text().find("node 1 is dead: no heartbeat") != std::string::npos);
}

}  // namespace tandem::real

namespace tandem::real {

TEST_CASE("netns: a failing ip command is reported with the command and its stderr, and nothing is left behind",
          "[real][netns]") {
  Result<std::unique_ptr<NetnsNetwork>> created = NetnsNetwork::create("tdmnf", {"a"}, "300.1.1");
  if (!created.ok() && created.error().code == Errc::kUnavailable) {
    WARN("netns test NOT RUN: " << created.error().message << " (needs root and `ip netns`)");
    return;
  }
  REQUIRE_FALSE(created.ok());
  INFO(created.error().to_string());
  CHECK(created.error().code == Errc::kInternal);
  CHECK(created.error().message.find("`ip -n tdmnf") != std::string::npos);
  CHECK(created.error().message.find("addr add 300.1.1.1/24 dev br0` failed (exit ") != std::string::npos);
  CHECK(created.error().message.find("rror") != std::string::npos);  // ip's own "Error: ..." line
  const CommandOutput list = run_command({"ip", "netns", "list"});
  REQUIRE(list.exit_code == 0);
  CHECK(list.output.find("tdmnf" + std::to_string(::getpid())) == std::string::npos);
}

}  // namespace tandem::real
