#include "real_backend/member_process.h"

#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <map>
#include <random>
#include <thread>

#include "real_backend/crash_report.h"
#include "real_backend/metrics_http.h"
#include "real_backend/net/event_loop.h"
#include "real_backend/net/grpc_transport.h"
#include "real_backend/net/stderr_log.h"
#include "real_backend/prometheus.h"
#include "real_backend/real_catalog.h"
#include "real_backend/storage/failing_storage.h"
#include "real_backend/storage/memory_storage.h"
#include "real_backend/storage/storage_config.h"

namespace tandem::real {
namespace {

uint64_t fresh_seed() {
  std::random_device device;
  return (uint64_t{device()} << 32) ^ device();
}

}  // namespace

MemberProcess::MemberProcess(ClusterFile cluster, NodeId self, MemberOptions options)
    : cluster_(std::move(cluster)), options_(options) {
  member_ = cluster_.find(self);
  TANDEM_CHECK(member_ != nullptr, "MemberProcess of a node id the cluster file does not list");
}

MemberProcess::~MemberProcess() {
  drivers_.cancel_all();
  http_.reset();
  driver_.reset();
  discovery_.reset();
  node_.reset();
  if (transport_) transport_->shutdown();
}

Status MemberProcess::start() {
  TANDEM_CHECK(loop_ == nullptr, "MemberProcess started twice");
  if (member_->role == MemberRole::kPeer) {
    return make_error(Errc::kInvalidArgument, member_->name + " is a peer in this cluster file: it runs from its own "
                                              "cluster's file (fix: start it with that file)");
  }
  loop_ = std::make_unique<EventLoop>();
  log_ = std::make_unique<StderrLog>(options_.log_level, member_->name, loop_->clock());

  TransportOptions transport_options;
  transport_options.listen_host = member_->host;
  transport_options.listen_port = member_->port;
  transport_options.auth_token = cluster_.auth_token;
  transport_options.log = log_.get();
  auto storage_fault = std::make_shared<StorageFaultSwitch>();
  if (member_->role != MemberRole::kDriver) transport_options.storage_fault = storage_fault;
  if (cluster_.tls) {
    transport_options.tls = TlsFiles{cluster_.tls->cert_path, cluster_.tls->key_path, cluster_.tls->ca_path};
  }
  transport_ = std::make_unique<GrpcTransport>(*loop_, member_->id, transport_options);
  if (Status started = transport_->start(); !started.ok()) {
    return make_error(started.code(), member_->name + ": cannot listen on " + member_->endpoint() + ": " +
                                          started.error().message);
  }
  for (const ClusterMember& peer : cluster_.members) {
    if (peer.id != member_->id) transport_->set_peer(peer.id, peer.endpoint());
  }

  if (member_->role == MemberRole::kDriver) {
    storage_ = std::make_unique<MemoryStorage>();
  } else {
    Result<std::unique_ptr<Storage>> opened = open_storage(cluster_.storage_of(*member_), member_->name);
    if (!opened.ok()) {
      return make_error(opened.code(), member_->name + ": cannot open its state store: " + opened.error().message);
    }
    // Wrapped so the Admin service's storage_failure fault can fail its syncs (FailingStorage).
    storage_ = std::make_unique<FailingStorage>(std::move(opened).value(), storage_fault);
  }
  random_ = std::make_unique<Random>(options_.seed != 0 ? options_.seed : fresh_seed());
  env_ = std::make_unique<Env>(Env{member_->id, loop_->clock(), *transport_, *storage_, *random_, *log_});

  const NodeId head = cluster_.head().id;
  const Duration heartbeat = std::chrono::milliseconds(cluster_.heartbeat_period_ms);
  if (member_->role == MemberRole::kDriver) {
    runtime::ClientOptions client_options;
    client_options.control_store = Address{head, runtime::kControlStorePort};
    client_options.catalog = &real_catalog();
    client_options.metrics = &metrics_;
    driver_ = std::make_unique<runtime::RuntimeClient>(*env_, client_options);
  } else {
    runtime::RuntimeNodeOptions node_options;
    node_options.head = member_->role == MemberRole::kHead ? kNoNode : head;
    node_options.run_control_store = member_->role == MemberRole::kHead;
    node_options.control_store.heartbeat_period = heartbeat;
    node_options.control_store.heartbeat_miss_limit = cluster_.heartbeat_miss_limit;
    node_options.control_store.lease_start_grace = heartbeat * 10;
    node_options.control_store.metrics = &metrics_;
    node_options.daemon.resources = member_->resources;
    node_options.daemon.labels = member_->labels;
    node_options.daemon.heartbeat_period = heartbeat;
    node_options.daemon.metrics = &metrics_;
    node_ = std::make_unique<runtime::RuntimeNode>(*env_, real_catalog(), node_options);
    if (member_->role == MemberRole::kHead) discovery_ = std::make_unique<serving::DiscoveryServer>(*env_);
  }

  if (options_.serve_metrics && member_->metrics_port != 0) {
    http_ = std::make_unique<MetricsHttpServer>(
        *loop_, [this] { return prometheus_text(metrics_, metrics::Labels{{"member", member_->name}}); },
        cluster_.auth_token);
    if (Status serving = http_->start(member_->host, member_->metrics_port); !serving.ok()) {
      return make_error(serving.code(), member_->name + ": " + serving.error().message);
    }
  }
  return {};
}

runtime::RuntimeClient& MemberProcess::client() {
  if (driver_) return *driver_;
  TANDEM_CHECK(node_ != nullptr, "client() before start()");
  return node_->client();
}

runtime::ControlStore* MemberProcess::control_store() { return node_ ? node_->control_store() : nullptr; }

uint16_t MemberProcess::metrics_port() const { return http_ ? http_->port() : 0; }

bool MemberProcess::run_until(const std::function<bool()>& done, Duration timeout) {
  return loop_->run_until(done, timeout);
}

Status MemberProcess::wait_for_nodes(size_t count, Duration timeout) {
  const auto give_up = std::chrono::steady_clock::now() + timeout;
  size_t alive = 0;
  while (std::chrono::steady_clock::now() < give_up) {
    Result<std::vector<runtime::NodeInfo>> nodes = await(client().nodes(), std::chrono::seconds(5));
    if (nodes.ok()) {
      alive = 0;
      for (const runtime::NodeInfo& info : nodes.value()) alive += info.alive ? 1 : 0;
      if (alive >= count) return {};
    }
    run_until([] { return false; }, std::chrono::milliseconds(100));
  }
  return make_error(Errc::kTimeout, std::to_string(alive) + " of " + std::to_string(count) +
                                        " nodes alive after " + format_duration(timeout) +
                                        " (fix: check each member's log for a start-up error)");
}

int run_daemon(const ClusterFile& cluster, NodeId self, MemberOptions options) {
  // SIGTERM and SIGINT go to one thread that stops the loop; every other thread (gRPC's included) blocks them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  MemberProcess process(cluster, self, options);
  install_crash_report(std::string("tandem ") + to_string(process.member().role) + " " + process.member().name);
  if (Status started = process.start(); !started.ok()) {
    std::fprintf(stderr, "tandem %s: %s\n", to_string(process.member().role), started.error().message.c_str());
    return 1;
  }
  EventLoop& loop = process.loop();
  std::thread waiter([&loop, stop_signals] {
    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
    if (signal_number != 0) loop.stop();
  });
  std::printf("tandem %s %s (id %u) ready on %s%s\n", to_string(process.member().role),
              process.member().name.c_str(), process.member().id, process.member().endpoint().c_str(),
              process.metrics_port() != 0
                  ? (", /metrics on port " + std::to_string(process.metrics_port())).c_str()
                  : "");
  std::fflush(stdout);
  loop.run();
  // The loop stopped on a signal; wake the waiter if it is still waiting (stop() came from elsewhere).
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  return 0;
}

}  // namespace tandem::real
