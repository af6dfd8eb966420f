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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <thread>

#include "real_backend/cluster_file.h"
#include "real_backend/member_process.h"
#include "real_backend/netns.h"
#include "scenarios/library.h"
#include "tests/real/real_fixture.h"
#include "tests/real/support/temp_dir.h"

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

  const tandem::testing::TempDir temp_dir("netns", "/tmp");  // removed at the end
  const std::string& dir = temp_dir.path();
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

// `tandem run --world real --netns`: the CLI binary runs a fan-out scenario with every member in a namespace of
// its own; the isolate and the partition become blackhole routes (not the transport filter), the head declares
// the isolated worker dead, the checks hold and no namespace is left. Without root or `ip netns` the same command
// must be refused up front saying why and how to run without --netns (that is checked, then a WARN).
namespace tandem::real {
namespace {

struct CliRun {
  int exit_code = -1;  // -1: killed (timeout) or not exited
  std::string output;  // stdout and stderr
  pid_t pid = -1;
};

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Runs TANDEM_CLI_PATH with `args` in `dir` (as `uid` when set), killed after `timeout`.
CliRun run_cli(const std::string& dir, const std::vector<std::string>& args, std::chrono::seconds timeout,
               std::optional<uid_t> uid = std::nullopt) {
  CliRun run;
  const std::string log = dir + "/cli.out";
  const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  REQUIRE(log_fd >= 0);
  std::vector<std::string> argv_text = {TANDEM_CLI_PATH};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  std::fflush(nullptr);
  run.pid = ::fork();
  REQUIRE(run.pid >= 0);
  if (run.pid == 0) {
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::setpgid(0, 0);
    if (::chdir(dir.c_str()) != 0) ::_exit(126);
    if (uid && (::setgid(*uid) != 0 || ::setuid(*uid) != 0)) ::_exit(125);
    std::vector<char*> argv;
    for (std::string& arg : argv_text) argv.push_back(arg.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(log_fd);
  int status = 0;
  const auto give_up = Clock::now() + timeout;
  bool exited = false;
  while (Clock::now() < give_up) {
    if (::waitpid(run.pid, &status, WNOHANG) == run.pid) {
      exited = true;
      break;
    }
    std::this_thread::sleep_for(50ms);
  }
  if (!exited) {
    ::kill(-run.pid, SIGKILL);
    ::waitpid(run.pid, &status, 0);
    NetnsNetwork::remove_stale("tdmrun");  // its namespaces and the members inside
  } else if (WIFEXITED(status)) {
    run.exit_code = WEXITSTATUS(status);
  }
  run.output = read_text(log);
  return run;
}

}  // namespace

TEST_CASE("netns: tandem run --world real --netns makes isolate and partition with the kernel, checks hold",
          "[real][netns]") {
  // Under /tmp, which the unprivileged run below can reach; removed at the end.
  const tandem::testing::TempDir temp_dir("netns-run", "/tmp");
  const std::string& dir = temp_dir.path();
  ::chmod(dir.c_str(), 0777);  // the unprivileged run below writes here too

  // scenarios/real/fanout-node-kill.json with a worker isolated for 3 s and a 1 s partition worker1 | head0
  // (scenario time; the run is at time scale 2).
  std::ifstream in(scenarios::builtin_library_dir() + "/../real/fanout-node-kill.json");
  REQUIRE(in);
  nlohmann::json scenario = nlohmann::json::parse(in);
  scenario.erase("$schema");
  scenario["name"] = "fanout-netns";
  scenario["events"] = nlohmann::json::parse(R"([
    {"at": "5s", "fault": "isolate", "target": "f1/worker0", "for": "3s"},
    {"at": "9s", "fault": "partition", "sides": [["f1/worker1"], ["f1/head0"]], "for": "1s"}
  ])");
  scenario["expect"]["availability"]["overall"] = 0.7;  // a 3 s isolation costs answers (84.9% in a run here)
  {
    std::ofstream out(dir + "/fanout-netns.json");
    out << scenario.dump(1);
  }
  const std::vector<std::string> args = {"run", "fanout-netns.json", "--world", "real", "--netns", "--time-scale",
                                         "2", "--out", "out", "--quiet"};

  Result<std::unique_ptr<NetnsNetwork>> probe = NetnsNetwork::create("tdmnp", {"a"});
  const bool available = probe.ok() || probe.error().code != Errc::kUnavailable;
  const std::string why = probe.ok() ? std::string() : probe.error().message;
  probe = make_error(Errc::kCancelled, "released");  // deletes the probe's namespaces
  if (available) {
    // As uid 65534 the same command is refused before anything starts, saying why and what to do.
    const CliRun refused = run_cli(dir, args, 20s, 65534);
    INFO(refused.output);
    CHECK(refused.exit_code == 1);
    CHECK(refused.output.find("--netns: cannot make network namespaces: network namespaces need root") !=
          std::string::npos);
    CHECK(refused.output.find("or run without --netns") != std::string::npos);
    std::error_code ignored;
    std::filesystem::remove_all(dir + "/out", ignored);
  } else {
    const CliRun refused = run_cli(dir, args, 20s);
    INFO(refused.output);
    CHECK(refused.exit_code == 1);
    CHECK(refused.output.find("--netns: cannot make network namespaces") != std::string::npos);
    CHECK(refused.output.find("or run without --netns") != std::string::npos);
    WARN("netns run NOT RUN: " << why << " (checked only that --netns is refused up front)");
    return;
  }

  const auto start = Clock::now();
  const CliRun run = run_cli(dir, args, 50s);
  const std::string head_log = read_text(dir + "/out/real/strategy/f1-head0.log");
  INFO(run.output << "\nhead log (tail):\n"
                  << head_log.substr(head_log.size() > 4000 ? head_log.size() - 4000 : 0));
  std::fprintf(stderr, "netns: tandem run --netns took %.1f s\n", seconds_since(start));
  REQUIRE(run.exit_code == 0);  // every check holds
  CHECK(run.output.find("PASS  fanout-netns seed 1: 3 of 3 checks hold") != std::string::npos);
  // Members listened on their namespace addresses, not loopback.
  CHECK(head_log.find("ready on 10.213.0.2:7100") != std::string::npos);
  // The kernel made the cuts: 8 routes for the isolation (worker0 <-> hub and the 3 other members), 2 for the
  // partition, and the transport filter dropped nothing.
  const nlohmann::json report = nlohmann::json::parse(read_text(dir + "/out/report.json"));
  CHECK(report["metrics"]["world"]["real.kernel_blackhole_routes"] == 10);
  CHECK(report["metrics"]["world"]["real.messages_dropped_by_filter"] == 0);
  const std::string trace = read_text(dir + "/out/trace.json");
  CHECK(trace.find("kernel: added 8 blackhole route(s) for isolate f1/worker0") != std::string::npos);
  CHECK(trace.find("kernel: removed 2 blackhole route(s) for partition f1/worker1 | f1/head0") != std::string::npos);
  // The head's own account: the isolated worker (id 1) missed its heartbeats.
  CHECK(head_log.find("node 1 is dead: no heartbeat") != std::string::npos);
  // No namespace of the run is left.
  const CommandOutput list = run_command({"ip", "netns", "list"});
  CHECK(list.output.find("tdmrun" + std::to_string(run.pid) + "-") == std::string::npos);
}

TEST_CASE("netns: a cluster's network outage and a WAN cut become blackhole routes for the member pairs cut",
          "[real][netns]") {
  Result<std::unique_ptr<NetnsNetwork>> probe = NetnsNetwork::create("tdmnp", {"a"});
  if (!probe.ok() && probe.error().code == Errc::kUnavailable) {
    WARN("netns backbone run NOT RUN: " << probe.error().message << " (the refusal is checked above)");
    return;
  }
  probe = make_error(Errc::kCancelled, "released");  // deletes the probe's namespaces
  const tandem::testing::TempDir temp_dir("netns-backbone", "/tmp");  // removed at the end
  const std::string& dir = temp_dir.path();
  // An AutoML service on 4 member processes: head and 2 GPU workers in dc-a (east), one in dc-b (west); a client
  // in dc-c (south), so the WAN cut east - west alone is routed around through south, as in sim.
  {
    std::ofstream out(dir + "/backbone.json");
    out << R"({"name": "automl-netns-backbone", "seed": 5, "duration": "6s",
      "topology": {"regions": ["east", "west", "south"], "clusters": [
        {"name": "dc-a", "region": "east", "nodes": [{"group": "head", "count": 1, "resources": {"CPU": 8, "control": 100}},
          {"group": "gpu", "count": 2, "resources": {"CPU": 8, "GPU": 4}}, {"group": "client", "count": 1}]},
        {"name": "dc-b", "region": "west", "nodes": [{"group": "gpu", "count": 1, "resources": {"CPU": 8, "GPU": 4}}]},
        {"name": "dc-c", "region": "south", "nodes": [{"group": "client", "count": 1}]}]},
      "services": [{"kind": "automl", "name": "automl", "head": "head", "workers": "gpu", "clients": "client",
        "candidates": 6, "cost": {"median": "100ms", "sigma": 0.3}, "max_parallel_workers": 3,
        "proxy_resources": {"CPU": 1, "control": 1}, "trainer_resources": {"CPU": 0.01, "control": 1},
        "worker_resources": {"CPU": 1, "GPU": 1}, "heartbeat": {"period": "400ms", "miss_limit": 4}, "job_timeout": "10s"}],
      "workload": [{"service": "automl", "shape": "constant", "rate": 3, "arrivals": "uniform", "end": "5s"}],
      "events": [
        {"at": "1s", "fault": "cluster_outage", "target": "dc-b", "mode": "network", "for": "1s"},
        {"at": "3s", "fault": "wan_cut", "between": ["east", "west"], "for": "2s"},
        {"at": "3500ms", "fault": "wan_cut", "between": ["west", "south"], "for": "1s"}],
      "expect": {"no_lost_requests": true}})";
  }
  const CliRun run = run_cli(dir, {"run", "backbone.json", "--world", "real", "--netns", "--out", "out", "--quiet"},
                             50s);
  INFO(run.output);
  REQUIRE(run.exit_code == 0);  // every check holds
  // dc-b's worker against the 3 other members, both ways: 6 routes for the outage, none for east - west alone,
  // 6 more once west - south is cut too; the filter dropped nothing.
  const nlohmann::json report = nlohmann::json::parse(read_text(dir + "/out/report.json"));
  CHECK(report["metrics"]["world"]["real.kernel_blackhole_routes"] == 12);
  CHECK(report["metrics"]["world"]["real.messages_dropped_by_filter"] == 0);
  const std::string trace = read_text(dir + "/out/trace.json");
  CHECK(trace.find("kernel: added 6 blackhole route(s) for cluster_outage dc-b (network)") != std::string::npos);
  CHECK(trace.find("kernel: removed 6 blackhole route(s) for cluster_outage dc-b (network)") != std::string::npos);
  CHECK(trace.find("kernel: added 0 blackhole route(s) for wan_cut east - west") != std::string::npos);
  CHECK(trace.find("kernel: added 6 blackhole route(s) for wan_cut west - south") != std::string::npos);
  CHECK(trace.find("kernel: removed 6 blackhole route(s) for wan_cut west - south") != std::string::npos);
  const CommandOutput list = run_command({"ip", "netns", "list"});
  CHECK(list.output.find("tdmrun" + std::to_string(run.pid) + "-") == std::string::npos);
}

}  // namespace tandem::real
