// LocalCluster: a real cluster as child processes on this machine — `tandem head` and `tandem node` started
// from one cluster file, with the real faults of issue 6 applied to them (kill -9, restart, SIGSTOP/SIGCONT).
//
// Contract:
// - make_loopback_cluster() writes nothing; it picks free loopback ports for a head, `nodes` nodes and
//   `drivers` drivers (ids 0, 1..nodes, 100..) so tests and `tandem cluster up` get a valid ClusterFile.
// - start_all() saves the cluster file in work_dir, starts the head and every node (each with its stdout and
//   stderr in work_dir/<name>.log) and waits until each prints its ready line (or fails with its log's tail).
// - kill9() is SIGKILL and waitpid; kill9_no_wait() is SIGKILL alone (the exit of a process with gRPC's threads
//   takes tens of milliseconds on a loaded machine, which a loop must not wait out): the member counts as
//   stopped at once and its process is reaped later, by a poll (ready(), reap()), before it is spawned again
//   (so its port is free) or by stop_all(). restart() starts the member again from the same file (same endpoint, same
//   state store, so it recovers what it synced); pause()/resume() are SIGSTOP/SIGCONT.
// - start() blocks until the member is ready. An event loop that must not stall calls spawn() (returns once the
//   process is spawned), then polls ready() (never blocks: true once this start's ready line is in the log, an
//   error once the process has exited or was killed) and calls give_up_start() if it waits too long.
// - Not thread-safe: one thread drives a LocalCluster.
// - The destructor kills every child it started (SIGKILL) and reaps it: no process outlives a test.
//
//   member: STOPPED ──start──▶ RUNNING ──pause──▶ PAUSED ──resume──▶ RUNNING
//                       ▲         │ kill9 / terminate
//                       └─────────┘
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>

#include "core/common/result.h"
#include "core/env/time.h"
#include "real_backend/cluster_file.h"
#include "real_backend/loopback_port.h"  // free_loopback_port()

namespace tandem::real {

struct LoopbackClusterOptions {
  size_t nodes = 3;
  size_t drivers = 1;
  std::string storage;  // empty: sqlite:<work_dir>/state
  runtime::ResourceSet node_resources{{"CPU", 4}, {"GPU", 2}, {"memory", 16e9}};
  runtime::ResourceSet head_resources;  // none: work lands on nodes
  uint32_t heartbeat_period_ms = 200;
  uint32_t heartbeat_miss_limit = 5;
  bool metrics = true;  // give every head and node a /metrics port
  std::string auth_token;
  std::optional<ClusterTls> tls;
};

// A cluster file on 127.0.0.1 with free ports; node i gets the label {"node": "n<i>"}.
Result<ClusterFile> make_loopback_cluster(const std::string& work_dir, const LoopbackClusterOptions& options);

class LocalCluster {
 public:
  // `tandem_binary`: the path of the `tandem` executable; `work_dir` must exist.
  LocalCluster(ClusterFile cluster, std::string tandem_binary, std::string work_dir,
               std::string log_level = "warning");
  ~LocalCluster();
  LocalCluster(const LocalCluster&) = delete;
  LocalCluster& operator=(const LocalCluster&) = delete;

  Status start_all(Duration timeout = std::chrono::seconds(20));
  Status start(NodeId member, Duration timeout = std::chrono::seconds(20));
  Status spawn(NodeId member);
  Result<bool> ready(NodeId member);
  Status give_up_start(NodeId member, Duration timeout);  // kills it; the kTimeout error with its log's tail
  void kill9(NodeId member);
  void kill9_no_wait(NodeId member);
  void reap();  // reaps, without waiting, the processes kill9_no_wait() signalled that have exited
  void terminate(NodeId member);  // SIGTERM, then SIGKILL after 5 s
  Status restart(NodeId member, Duration timeout = std::chrono::seconds(20));
  void pause(NodeId member);
  void resume(NodeId member);
  void stop_all();

  bool running(NodeId member) const;
  std::optional<pid_t> pid(NodeId member) const;  // while running
  const ClusterFile& cluster() const { return cluster_; }
  std::string cluster_path() const { return work_dir_ + "/cluster.json"; }
  std::string log_path(NodeId member) const;
  std::string log_tail(NodeId member, size_t lines = 20) const;

 private:
  ClusterFile cluster_;
  std::string tandem_binary_;
  std::string work_dir_;
  std::string log_level_;
  std::map<NodeId, pid_t> children_;  // running members
  std::map<NodeId, off_t> log_starts_;  // where each member's latest start begins in its log
  std::multimap<NodeId, pid_t> dying_;  // signalled by kill9_no_wait(), not reaped yet
};

}  // namespace tandem::real
