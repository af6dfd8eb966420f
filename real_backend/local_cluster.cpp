#include "real_backend/local_cluster.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <thread>
#include <vector>

#include "real_backend/crash_report.h"

namespace tandem::real {

Result<ClusterFile> make_loopback_cluster(const std::string& work_dir, const LoopbackClusterOptions& options) {
  ClusterFile cluster;
  cluster.storage = options.storage.empty() ? "sqlite:" + work_dir + "/state" : options.storage;
  cluster.auth_token = options.auth_token;
  cluster.tls = options.tls;
  cluster.heartbeat_period_ms = options.heartbeat_period_ms;
  cluster.heartbeat_miss_limit = options.heartbeat_miss_limit;
  auto add = [&](NodeId id, std::string name, MemberRole role, runtime::ResourceSet resources,
                 runtime::NodeLabels labels) -> Status {
    ClusterMember member;
    member.id = id;
    member.name = std::move(name);
    member.role = role;
    member.host = "127.0.0.1";
    Result<uint16_t> port = free_loopback_port();
    if (!port.ok()) return port.error();
    member.port = port.value();
    if (options.metrics && role != MemberRole::kDriver) {
      Result<uint16_t> metrics_port = free_loopback_port();
      if (!metrics_port.ok()) return metrics_port.error();
      member.metrics_port = metrics_port.value();
    }
    member.resources = std::move(resources);
    member.labels = std::move(labels);
    cluster.members.push_back(std::move(member));
    return {};
  };
  if (Status s = add(0, "head", MemberRole::kHead, options.head_resources, {{"node", "head"}}); !s.ok()) return s.error();
  for (size_t i = 1; i <= options.nodes; ++i) {
    const std::string name = "n" + std::to_string(i);
    if (Status s = add(static_cast<NodeId>(i), name, MemberRole::kNode, options.node_resources, {{"node", name}});
        !s.ok()) {
      return s.error();
    }
  }
  for (size_t i = 0; i < options.drivers; ++i) {
    if (Status s = add(static_cast<NodeId>(100 + i), "driver" + std::to_string(i), MemberRole::kDriver, {}, {});
        !s.ok()) {
      return s.error();
    }
  }
  // Round-trip through the parser: what the processes will read must be valid.
  return ClusterFile::parse(cluster.to_json());
}

LocalCluster::LocalCluster(ClusterFile cluster, std::string tandem_binary, std::string work_dir,
                           std::string log_level)
    : cluster_(std::move(cluster)),
      tandem_binary_(std::move(tandem_binary)),
      work_dir_(std::move(work_dir)),
      log_level_(std::move(log_level)) {}

LocalCluster::~LocalCluster() { stop_all(); }

std::string LocalCluster::log_path(NodeId member) const {
  const ClusterMember* found = cluster_.find(member);
  return work_dir_ + "/" + (found ? found->name : std::to_string(member)) + ".log";
}

std::string LocalCluster::log_tail(NodeId member, size_t lines) const {
  std::ifstream in(log_path(member));
  std::deque<std::string> tail;
  std::string line;
  while (std::getline(in, line)) {
    tail.push_back(line);
    if (tail.size() > lines) tail.pop_front();
  }
  std::string out;
  for (const std::string& kept : tail) out += "  | " + kept + "\n";
  return out;
}

Status LocalCluster::start_all(Duration timeout) {
  if (Status saved = cluster_.save(cluster_path()); !saved.ok()) return saved;
  // The head first: nodes register with it.
  if (Status s = start(cluster_.head().id, timeout); !s.ok()) return s;
  for (const ClusterMember& member : cluster_.members) {
    if (member.role != MemberRole::kNode) continue;
    if (Status s = start(member.id, timeout); !s.ok()) return s;
  }
  return {};
}

Status LocalCluster::start(NodeId member_id, Duration timeout) {
  if (Status spawned = spawn(member_id); !spawned.ok()) return spawned;
  const auto give_up = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < give_up) {
    Result<bool> up = ready(member_id);
    if (!up.ok()) return up.error();
    if (up.value()) return {};
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return give_up_start(member_id, timeout);
}

Status LocalCluster::spawn(NodeId member_id) {
  const ClusterMember* member = cluster_.find(member_id);
  TANDEM_CHECK(member != nullptr && (member->role == MemberRole::kHead || member->role == MemberRole::kNode),
               "spawn() of a head or node member");
  TANDEM_CHECK(!running(member_id), "spawn() of a running member");
  // Its last process, killed without waiting, must be gone: it may still hold the member's port.
  for (auto [it, end] = dying_.equal_range(member_id); it != end; it = dying_.erase(it)) {
    ::waitpid(it->second, nullptr, 0);
  }
  const std::string log = log_path(member_id);
  // A marker per start, and the offset after it, so the ready line found is this start's.
  const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return make_error(Errc::kStorageFailure, "cannot write " + log);
  {
    const std::string marker = "=== start of " + member->name + " ===\n";
    [[maybe_unused]] ssize_t n = ::write(log_fd, marker.data(), marker.size());
  }
  const off_t log_start = ::lseek(log_fd, 0, SEEK_END);
  const std::string role = to_string(member->role);
  const std::string id = std::to_string(member_id);
  const std::string path = cluster_path();
  std::vector<std::string> args = {tandem_binary_, role, "--cluster", path, "--id", id, "--log-level", log_level_};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  // posix_spawn, not fork: glibc's is a vfork-style clone that copies no page tables, so a start costs the
  // caller (a driver's event loop) little, where a fork of this large threaded process took milliseconds.
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, log_fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, log_fd, STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  // Its own process group: a Ctrl-C at the launcher's terminal is the launcher's to handle.
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attributes, 0);
  pid_t pid = -1;
  const int spawned = ::posix_spawn(&pid, argv[0], &actions, &attributes, argv.data(), environ);
  posix_spawnattr_destroy(&attributes);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    ::close(log_fd);
    return make_error(Errc::kUnavailable, "cannot run " + tandem_binary_ + ": " + std::strerror(spawned) +
                                              " (fix: build it, or pass the path of the tandem binary)");
  }
  ::close(log_fd);
  children_[member_id] = pid;
  log_starts_[member_id] = log_start;
  return {};
}

Result<bool> LocalCluster::ready(NodeId member_id) {
  reap();
  auto child = children_.find(member_id);
  if (child == children_.end()) {
    return make_error(Errc::kUnavailable, cluster_.find(member_id)->name + " is not running (killed while starting)");
  }
  int status = 0;
  if (::waitpid(child->second, &status, WNOHANG) == child->second) {
    children_.erase(child);
    return make_error(Errc::kUnavailable, cluster_.find(member_id)->name + " " + describe_exit_status(status) +
                                              " during start-up; its log (" + log_path(member_id) + "):\n" +
                                              log_tail(member_id));
  }
  std::ifstream in(log_path(member_id));
  in.seekg(log_starts_[member_id]);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(" ready on ") != std::string::npos) return true;
  }
  return false;
}

Status LocalCluster::give_up_start(NodeId member_id, Duration timeout) {
  kill9(member_id);
  return make_error(Errc::kTimeout, cluster_.find(member_id)->name + " was not ready within " +
                                        format_duration(timeout) + "; its log (" + log_path(member_id) + "):\n" +
                                        log_tail(member_id));
}

void LocalCluster::kill9(NodeId member) {
  auto it = children_.find(member);
  if (it == children_.end()) return;
  ::kill(it->second, SIGKILL);
  ::waitpid(it->second, nullptr, 0);
  children_.erase(it);
}

void LocalCluster::kill9_no_wait(NodeId member) {
  auto it = children_.find(member);
  if (it == children_.end()) return;
  ::kill(it->second, SIGKILL);
  dying_.emplace(member, it->second);
  children_.erase(it);
}

void LocalCluster::reap() {
  std::erase_if(dying_, [](const auto& entry) { return ::waitpid(entry.second, nullptr, WNOHANG) != 0; });
}

void LocalCluster::terminate(NodeId member) {
  auto it = children_.find(member);
  if (it == children_.end()) return;
  const pid_t pid = it->second;
  ::kill(pid, SIGCONT);  // a paused member cannot handle SIGTERM
  ::kill(pid, SIGTERM);
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < give_up) {
    if (::waitpid(pid, nullptr, WNOHANG) == pid) {
      children_.erase(member);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill9(member);
}

Status LocalCluster::restart(NodeId member, Duration timeout) {
  kill9(member);
  return start(member, timeout);
}

void LocalCluster::pause(NodeId member) {
  auto it = children_.find(member);
  if (it != children_.end()) ::kill(it->second, SIGSTOP);
}

void LocalCluster::resume(NodeId member) {
  auto it = children_.find(member);
  if (it != children_.end()) ::kill(it->second, SIGCONT);
}

void LocalCluster::stop_all() {
  while (!children_.empty()) kill9(children_.begin()->first);
  for (const auto& [member, pid] : dying_) ::waitpid(pid, nullptr, 0);
  dying_.clear();
}

bool LocalCluster::running(NodeId member) const { return children_.count(member) != 0; }

std::optional<pid_t> LocalCluster::pid(NodeId member) const {
  auto it = children_.find(member);
  return it == children_.end() ? std::nullopt : std::optional<pid_t>(it->second);
}

}  // namespace tandem::real
