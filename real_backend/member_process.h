// MemberProcess: one member of a real cluster inside this process — the Env built from real parts (event loop
// and clock, gRPC transport, a state store, a seeded random stream, a stderr log) and what runs on it: the
// control store, the serving discovery server (port serving::kDiscoveryPort) and a node daemon on the head, a
// node daemon on a node, only a RuntimeClient on a driver.
//
// Contract:
// - start() binds the member's endpoint from the cluster file, tells the transport every other member's
//   endpoint, opens the member's state store, builds the runtime parts and (when metrics_port is set) serves
//   /metrics. Any failure is returned with what to fix; nothing keeps running then.
// - Everything in core/ runs on loop(); the caller drives it (run() for a daemon, await() for a driver).
// - Destruction stops the runtime parts first (their coroutines die), then /metrics, the transport and the loop.
//
//   constructed ──start()──▶ STARTED ──(loop runs)──▶ destroyed
//        └── start() failed ──▶ destroyed (nothing bound)
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "core/async/scope.h"
#include "core/env/env.h"
#include "core/metrics/registry.h"
#include "core/runtime/runtime_node.h"
#include "core/serving/discovery.h"
#include "real_backend/cluster_file.h"

namespace tandem::real {

class EventLoop;
class GrpcTransport;
class MetricsHttpServer;

struct MemberOptions {
  LogLevel log_level = LogLevel::kWarning;
  uint64_t seed = 0;  // 0: from std::random_device (a real process need not replay)
  bool serve_metrics = true;
};

class MemberProcess {
 public:
  MemberProcess(ClusterFile cluster, NodeId self, MemberOptions options = {});
  ~MemberProcess();
  MemberProcess(const MemberProcess&) = delete;
  MemberProcess& operator=(const MemberProcess&) = delete;

  Status start();

  const ClusterMember& member() const { return *member_; }
  const ClusterFile& cluster() const { return cluster_; }
  EventLoop& loop() { return *loop_; }
  Env& env() { return *env_; }
  metrics::MetricsRegistry& metrics() { return metrics_; }
  runtime::RuntimeClient& client();               // the member's RuntimeClient (daemon's, or the driver's)
  runtime::ControlStore* control_store();         // on the head only
  uint16_t metrics_port() const;                  // 0 when not serving
  Scope& drivers() { return drivers_; }           // coroutines a driver starts live here

  // Runs the loop until done() or the timeout; returns done().
  bool run_until(const std::function<bool()>& done, Duration timeout);

  // Runs `task` on the loop until it returns its value, or kTimeout after `timeout` (T = void: a Status).
  template <typename T>
  Result<T> await(Task<Result<T>> task, Duration timeout) {
    auto slot = std::make_shared<std::optional<Result<T>>>();
    drivers_.spawn(fill(std::move(task), slot));
    if (!run_until([&] { return slot->has_value(); }, timeout)) {
      return make_error(Errc::kTimeout, "no answer within " + format_duration(timeout));
    }
    return std::move(**slot);
  }

  // Waits until the control store lists `count` alive nodes (head and nodes, not drivers).
  Status wait_for_nodes(size_t count, Duration timeout);

 private:
  template <typename T>
  static Task<void> fill(Task<T> task, std::shared_ptr<std::optional<T>> slot) {
    slot->emplace(co_await std::move(task));
  }

  ClusterFile cluster_;
  const ClusterMember* member_ = nullptr;
  MemberOptions options_;
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<GrpcTransport> transport_;
  std::unique_ptr<Storage> storage_;
  std::unique_ptr<Random> random_;
  std::unique_ptr<Log> log_;
  std::unique_ptr<Env> env_;
  metrics::MetricsRegistry metrics_;
  std::unique_ptr<runtime::RuntimeNode> node_;      // head and nodes
  std::unique_ptr<serving::DiscoveryServer> discovery_;  // head
  std::unique_ptr<runtime::RuntimeClient> driver_;  // drivers
  std::unique_ptr<MetricsHttpServer> http_;
  Scope drivers_;  // declared last: driver coroutines die first
};

// Runs a head or node member as a daemon until SIGTERM or SIGINT; returns the process exit code. Prints one
// "ready" line to stdout once serving, and every start-up failure to stderr.
int run_daemon(const ClusterFile& cluster, NodeId self, MemberOptions options);

}  // namespace tandem::real
