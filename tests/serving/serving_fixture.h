// ServingFixture: a tiny test DSL for the serving control plane — a sim world with N serving clusters (each a
// runtime cluster of its own: a head running the control store, and labelled workers), a discovery node, a
// keeper node and client nodes in every cluster; plus helpers to deploy, drive load and observe.
//
//   ServingFixture t({.clusters = {"c1", "c2"}});
//   t.ok(t.on_head("c1", [&](RuntimeClient& c) { return t.appmaster(c, "c1").apply(spec); }));
//   auto load = t.start_load("c1", 200);           // 200 requests per second from c1's client
//   t.run_for(10s);
//   CHECK(load->failed() == 0);
//
// Every node of one serving cluster shares a sim network cluster; clusters are joined through their cluster
// uplinks (cross-cluster latency ~ 2 x cluster_link). Heartbeats are fast (100 ms, 5 misses).
#pragma once

#include <catch2/catch.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/metrics/registry.h"
#include "core/runtime/runtime_node.h"
#include "core/serving/appmaster_client.h"
#include "core/serving/catalog.h"
#include "core/serving/discovery.h"
#include "core/serving/serving_client.h"
#include "core/serving/serving_keeper.h"
#include "sim/world.h"
#include "tests/runtime/runtime_fixture.h"

namespace tandem::serving::testing {

using runtime::RuntimeClient;
using runtime::testing::RuntimeProcess;
using runtime::testing::TaskValue;

struct ServingFixtureOptions {
  std::vector<std::string> clusters{"c1"};
  size_t workers_per_cluster = 3;
  runtime::ResourceSet worker_resources{{"CPU", 64}, {"memory", 64e9}};
  uint64_t seed = 1;
  Duration heartbeat_period = std::chrono::milliseconds(100);
  uint32_t heartbeat_miss_limit = 5;
  Duration node_link = std::chrono::microseconds(200);
  Duration cluster_link = std::chrono::milliseconds(1);
  size_t clients_per_cluster = 1;
  Duration storage_sync_latency = std::chrono::microseconds(200);
};

// What a node outside the runtime clusters runs: optional serving components and a scope for drivers.
class HostProcess final : public sim::NodeProcess {
 public:
  std::unique_ptr<DiscoveryServer> discovery;
  std::unique_ptr<ServingKeeper> keeper;
  std::vector<std::unique_ptr<ServingClient>> clients;
  Scope drivers;  // last: drivers use everything above
};

// Outcomes of one load generator: every request it issued and how it ended.
struct LoadRecord {
  uint64_t issued = 0;
  std::vector<RequestOutcome> outcomes;
  bool running = true;

  uint64_t completed() const { return outcomes.size(); }
  uint64_t failed() const {
    uint64_t count = 0;
    for (const RequestOutcome& outcome : outcomes) count += outcome.ok() ? 0 : 1;
    return count;
  }
  uint64_t failed_between(TimePoint from, TimePoint to) const {
    uint64_t count = 0;
    for (const RequestOutcome& outcome : outcomes) {
      if (!outcome.ok() && outcome.start >= from && outcome.start < to) ++count;
    }
    return count;
  }
  double availability() const {
    return outcomes.empty() ? 1.0 : 1.0 - static_cast<double>(failed()) / static_cast<double>(outcomes.size());
  }
  std::map<std::string, uint64_t> by_cluster() const {
    std::map<std::string, uint64_t> out;
    for (const RequestOutcome& outcome : outcomes) {
      if (outcome.ok()) ++out[outcome.cluster];
    }
    return out;
  }
  std::map<std::string, uint64_t> by_version() const {
    std::map<std::string, uint64_t> out;
    for (const RequestOutcome& outcome : outcomes) {
      if (outcome.ok()) ++out[outcome.version];
    }
    return out;
  }
  std::string first_error() const {
    for (const RequestOutcome& outcome : outcomes) {
      if (!outcome.ok()) return std::string(errc_name(outcome.code)) + ": " + outcome.error;
    }
    return "";
  }
};

// A small service spec for tests: two versions that answer alike ("v1", "v2"), a bad one ("bad": errors and
// different answers), fast start-up and reloads.
inline ServiceSpec test_spec(const std::string& name, std::map<std::string, int32_t> replicas) {
  ServiceSpec spec;
  spec.name = name;
  spec.version = "v1";
  VersionSpec v1;
  v1.name = "v1";
  v1.latency = ServiceTime{LatencyShape::kLognormal, std::chrono::milliseconds(4), 0.3, 3.0};
  v1.startup = std::chrono::milliseconds(500);
  v1.reload = std::chrono::milliseconds(200);
  v1.output_salt = "model";
  v1.concurrency = 16;
  VersionSpec v2 = v1;
  v2.name = "v2";
  VersionSpec bad = v1;
  bad.name = "bad";
  bad.error_rate = 0.3;
  bad.output_salt = "broken";
  spec.versions = {v1, v2, bad};
  spec.replicas = std::move(replicas);
  spec.proxies_per_cluster = 2;
  spec.backend_resources = runtime::ResourceSet{{"CPU", 1}};
  spec.proxy_resources = runtime::ResourceSet{{"CPU", 0.5}};
  spec.upgrade.step = 2;
  spec.upgrade.max_unavailable = 2;
  spec.upgrade.drain_timeout = std::chrono::seconds(2);
  spec.upgrade.step_timeout = std::chrono::seconds(10);
  spec.upgrade.validation_requests = 10;
  return spec;
}

class ServingFixture {
 public:
  explicit ServingFixture(ServingFixtureOptions options = {})
      : options_(std::move(options)), world(world_options(options_)) {
    register_serving_classes(catalog);
    const sim::RegionId region = world.network().add_region("region");
    const sim::ClusterId global = world.network().add_cluster("global", region, link(options_.cluster_link));
    for (const std::string& name : options_.clusters) {
      Cluster cluster;
      cluster.name = name;
      cluster.net = world.network().add_cluster(name, region, link(options_.cluster_link));
      cluster.head = add_runtime_node(name + "-head", cluster.net, true, kNoNode, {}, {{"cluster", name}});
      for (size_t i = 0; i < options_.workers_per_cluster; ++i) {
        cluster.workers.push_back(add_runtime_node(name + "-w" + std::to_string(i), cluster.net, false, cluster.head,
                                                   options_.worker_resources,
                                                   {{"cluster", name}, {"zone", "z" + std::to_string(i % 2)}}));
      }
      for (size_t i = 0; i < options_.clients_per_cluster; ++i) {
        cluster.clients.push_back(add_host(name + "-client" + std::to_string(i), cluster.net, false));
      }
      clusters_.emplace(name, std::move(cluster));
    }
    discovery_ = add_host("discovery", global, true);
    keeper_ = add_host("keeper", global, false);
    const bool formed = run_until(
        [this] {
          for (auto& [name, cluster] : clusters_) {
            if (alive_nodes(name) != 1 + cluster.workers.size()) return false;
          }
          return true;
        },
        std::chrono::seconds(10));
    REQUIRE(formed);
  }

  // --- Topology ------------------------------------------------------------------------------------------
  NodeId head(const std::string& cluster) const { return clusters_.at(cluster).head; }
  NodeId worker(const std::string& cluster, size_t index) const { return clusters_.at(cluster).workers.at(index); }
  const std::vector<NodeId>& workers(const std::string& cluster) const { return clusters_.at(cluster).workers; }
  NodeId client_node(const std::string& cluster, size_t index = 0) const {
    return clusters_.at(cluster).clients.at(index);
  }
  NodeId discovery_node() const { return discovery_; }
  NodeId keeper_node() const { return keeper_; }
  Address discovery_address() const { return Address{discovery_, kDiscoveryPort}; }
  Endpoint discovery_endpoint() const { return Endpoint{discovery_, kDiscoveryPort}; }
  sim::ClusterId net_cluster(const std::string& cluster) const { return clusters_.at(cluster).net; }

  RuntimeProcess& runtime_process(NodeId node) {
    auto* process = dynamic_cast<RuntimeProcess*>(world.process(node));
    REQUIRE(process != nullptr);
    return *process;
  }
  HostProcess& host(NodeId node) {
    auto* process = dynamic_cast<HostProcess*>(world.process(node));
    REQUIRE(process != nullptr);
    return *process;
  }
  RuntimeClient& head_client(const std::string& cluster) { return runtime_process(head(cluster)).node.client(); }
  runtime::ControlStore& control_store(const std::string& cluster) {
    return *runtime_process(head(cluster)).node.control_store();
  }
  bool up(NodeId node) const { return world.state(node) == sim::NodeState::kUp; }

  size_t alive_nodes(const std::string& cluster) {
    if (!up(head(cluster))) return 0;
    size_t alive = 0;
    for (const runtime::NodeInfo& info : control_store(cluster).nodes()) alive += info.alive ? 1 : 0;
    return alive;
  }

  // AppMaster options tuned for tests: short lease and periods.
  AppMasterOptions appmaster_options() const {
    AppMasterOptions options;
    options.discovery = discovery_endpoint();
    options.lease = std::chrono::milliseconds(1000);
    options.health_period = std::chrono::milliseconds(500);
    options.health_timeout = std::chrono::milliseconds(400);
    options.reconcile_period = std::chrono::milliseconds(200);
    options.discovery_period = std::chrono::milliseconds(500);
    options.discovery_ttl = std::chrono::seconds(10);
    options.deregistration_grace = std::chrono::milliseconds(800);
    options.control_timeout = std::chrono::seconds(1);
    options.start_timeout = std::chrono::seconds(20);
    return options;
  }
  AppMasterClient appmaster(RuntimeClient& client, const std::string& cluster, const std::string& service = "svc") {
    AppMasterClientOptions options;
    options.call_timeout = std::chrono::seconds(2);
    return AppMasterClient(client, service, cluster, appmaster_options(), options);
  }

  // --- Running -------------------------------------------------------------------------------------------
  bool run_until(const std::function<bool()>& done, Duration limit = std::chrono::seconds(60)) {
    const TimePoint end = world.now() + limit;
    while (!done()) {
      if (world.now() > end || !world.step()) return done();
    }
    return true;
  }
  void run_for(Duration duration) { world.run_for(duration); }

  // Runs `make(head client)` as a driver on the cluster's head until it returns.
  template <typename Make>
  auto on_head(const std::string& cluster, Make make, Duration limit = std::chrono::seconds(120)) {
    RuntimeProcess& process = runtime_process(head(cluster));
    using Value = typename TaskValue<decltype(make(process.node.client()))>::type;
    auto slot = std::make_shared<std::optional<Value>>();
    process.drivers.spawn(fill(make(process.node.client()), slot));
    const bool done = run_until([&] { return slot->has_value(); }, limit);
    INFO("the driver coroutine did not finish within the limit");
    REQUIRE(done);
    return std::move(**slot);
  }
  // Starts a driver on a cluster's head without waiting.
  template <typename T>
  std::shared_ptr<std::optional<T>> start_on_head(const std::string& cluster, Task<T> task) {
    auto slot = std::make_shared<std::optional<T>>();
    runtime_process(head(cluster)).drivers.spawn(fill(std::move(task), slot));
    return slot;
  }

  template <typename T>
  static T ok(Result<T> result) {
    INFO((result.ok() ? std::string("ok") : result.error().to_string()));
    REQUIRE(result.ok());
    return std::move(result).value();
  }
  static void ok(Status status) {
    INFO((status.ok() ? std::string("ok") : status.error().to_string()));
    REQUIRE(status.ok());
  }

  // Deploys `spec` in every cluster it names (AppMaster job 1) and waits until each serves its replicas.
  void deploy(const ServiceSpec& spec, Duration limit = std::chrono::seconds(30)) {
    for (const std::string& cluster : spec.clusters()) {
      ok(on_head(cluster, [&](RuntimeClient& c) -> Task<Status> {
        AppMasterClient master = appmaster(c, cluster, spec.name);
        Status created = co_await master.ensure(1);
        if (!created.ok()) co_return created;
        co_return co_await master.apply(spec);
      }));
    }
    for (const std::string& cluster : spec.clusters()) {
      const bool serving = wait_serving(cluster, spec.name, spec.version, spec.replicas_in(cluster), limit);
      INFO("cluster " << cluster << " did not serve " << spec.replicas_in(cluster) << " replicas in time");
      REQUIRE(serving);
    }
  }

  AppMasterStatus status(const std::string& cluster, const std::string& service = "svc") {
    return ok(on_head(cluster, [&](RuntimeClient& c) -> Task<Result<AppMasterStatus>> {
      AppMasterClient master = appmaster(c, cluster, service);
      co_return co_await master.status();
    }));
  }

  // Polls the AppMaster until `version` serves `replicas` instances with proxies registered.
  bool wait_serving(const std::string& cluster, const std::string& service, const std::string& version,
                    int32_t replicas, Duration limit) {
    const TimePoint end = world.now() + limit;
    while (world.now() < end) {
      AppMasterStatus now = status(cluster, service);
      auto it = now.serving.find(version);
      const uint32_t serving = it == now.serving.end() ? 0 : it->second;
      if (static_cast<int32_t>(serving) == replicas && now.backends == static_cast<uint32_t>(replicas) &&
          now.proxies_ready == now.proxies && (replicas == 0 || now.proxies_ready > 0)) {
        return true;
      }
      run_for(std::chrono::milliseconds(200));
    }
    return false;
  }

  // Builds the ServingKeeper on the keeper node (again after a crash and restart of that node).
  ServingKeeper& make_keeper(std::function<void(ServingKeeperOptions&)> tweak = {}) {
    ServingKeeperOptions keeper_options;
    for (const auto& [name, cluster] : clusters_) {
      keeper_options.clusters.push_back(KeeperCluster{name, Address{cluster.head, runtime::kControlStorePort}});
    }
    keeper_options.discovery = discovery_address();
    keeper_options.appmaster = appmaster_options();
    keeper_options.appmaster_client.call_timeout = std::chrono::seconds(2);
    keeper_options.monitor_period = std::chrono::milliseconds(500);
    keeper_options.probe_timeout = std::chrono::milliseconds(300);
    keeper_options.outage_checks = 2;
    keeper_options.release_poll = std::chrono::milliseconds(100);
    keeper_options.release_timeout = std::chrono::minutes(2);
    if (tweak) tweak(keeper_options);
    HostProcess& process = host(keeper_);
    process.keeper = std::make_unique<ServingKeeper>(world.env(keeper_), keeper_options);
    return *process.keeper;
  }
  ServingKeeper& keeper() {
    HostProcess& process = host(keeper_);
    REQUIRE(process.keeper != nullptr);
    return *process.keeper;
  }
  // Runs `make(keeper)` as a driver on the keeper node until it returns.
  template <typename Make>
  auto on_keeper(Make make, Duration limit = std::chrono::minutes(5)) {
    HostProcess& process = host(keeper_);
    using Value = typename TaskValue<decltype(make(keeper()))>::type;
    auto slot = std::make_shared<std::optional<Value>>();
    process.drivers.spawn(fill(make(keeper()), slot));
    const bool done = run_until([&] { return slot->has_value(); }, limit);
    INFO("the keeper driver did not finish within the limit");
    REQUIRE(done);
    return std::move(**slot);
  }
  template <typename T>
  std::shared_ptr<std::optional<T>> start_on_keeper(Task<T> task) {
    auto slot = std::make_shared<std::optional<T>>();
    host(keeper_).drivers.spawn(fill(std::move(task), slot));
    return slot;
  }

  // Creates a ServingClient on a client node of `cluster` (local cluster = that cluster).
  ServingClient& make_client(const std::string& cluster, const std::string& service = "svc", size_t index = 0,
                             std::function<void(ServingClientOptions&)> tweak = {}) {
    HostProcess& process = host(client_node(cluster, index));
    ServingClientOptions client_options;
    client_options.service = service;
    client_options.local_cluster = cluster;
    client_options.discovery = discovery_address();
    client_options.pull_interval = std::chrono::milliseconds(300);
    client_options.deadline = std::chrono::milliseconds(800);
    client_options.per_try_timeout = std::chrono::milliseconds(250);
    client_options.outlier.base = std::chrono::seconds(1);
    client_options.outlier.max = std::chrono::seconds(10);
    if (tweak) tweak(client_options);
    process.clients.push_back(std::make_unique<ServingClient>(world.env(client_node(cluster, index)), client_options));
    ServingClient& client = *process.clients.back();
    client.start();
    return client;
  }

  // make_client(), then the world run until the client has pulled a resolution listing a proxy (10 s at most).
  ServingClient& ready_client(const std::string& cluster, const std::string& service = "svc", size_t index = 0,
                              std::function<void(ServingClientOptions&)> tweak = {}) {
    ServingClient& client = make_client(cluster, service, index, std::move(tweak));
    REQUIRE(run_until([&] { return client.ready(); }, std::chrono::seconds(10)));
    return client;
  }

  // Issues `rate` requests per second from the client until stop_load() or `duration`; outcomes in the record.
  std::shared_ptr<LoadRecord> start_load(ServingClient& client, NodeId node, double rate,
                                         Duration duration = std::chrono::hours(1)) {
    auto record = std::make_shared<LoadRecord>();
    HostProcess& process = host(node);
    const Duration interval(static_cast<int64_t>(1e9 / rate));
    process.drivers.spawn(load_loop(client, process.drivers, world.env(node).clock, interval, duration, record));
    loads_.push_back(record);
    return record;
  }
  std::shared_ptr<LoadRecord> start_load(const std::string& cluster, double rate,
                                         Duration duration = std::chrono::hours(1)) {
    ServingClient& client = make_client(cluster);
    REQUIRE(run_until([&] { return client.ready(); }, std::chrono::seconds(10)));
    return start_load(client, client_node(cluster), rate, duration);
  }
  void stop_load(const std::shared_ptr<LoadRecord>& record) { record->running = false; }
  // Stops every load and lets the requests in flight finish.
  void drain_loads(Duration wait = std::chrono::seconds(2)) {
    for (auto& record : loads_) record->running = false;
    run_for(wait);
  }

  runtime::RuntimeCatalog catalog;
  metrics::MetricsRegistry metrics;

 private:
  struct Cluster {
    std::string name;
    sim::ClusterId net = 0;
    NodeId head = kNoNode;
    std::vector<NodeId> workers;
    std::vector<NodeId> clients;
  };

  static sim::WorldOptions world_options(const ServingFixtureOptions& options) {
    sim::WorldOptions world;
    world.seed = options.seed;
    world.storage_sync_latency = options.storage_sync_latency;
    return world;
  }
  static sim::LinkSpec link(Duration latency) {
    sim::LinkSpec spec;
    spec.latency = sim::LatencyModel::constant(latency);
    return spec;
  }

  NodeId add_runtime_node(const std::string& name, sim::ClusterId net, bool is_head, NodeId head_node,
                          runtime::ResourceSet resources, runtime::NodeLabels labels) {
    runtime::RuntimeNodeOptions node_options;
    node_options.head = head_node;
    node_options.run_control_store = is_head;
    node_options.control_store.heartbeat_period = options_.heartbeat_period;
    node_options.control_store.heartbeat_miss_limit = options_.heartbeat_miss_limit;
    node_options.control_store.lease_start_grace = options_.heartbeat_period * 10;
    node_options.control_store.metrics = &metrics;
    node_options.daemon.resources = std::move(resources);
    node_options.daemon.labels = std::move(labels);
    node_options.daemon.heartbeat_period = options_.heartbeat_period;
    node_options.daemon.metrics = &metrics;
    node_options.daemon.client.long_poll_timeout = std::chrono::seconds(2);
    const runtime::RuntimeCatalog* catalog_pointer = &catalog;
    return world.add_node(name, net, link(options_.node_link), [catalog_pointer, node_options](Env& env) {
      return std::make_unique<RuntimeProcess>(env, *catalog_pointer, node_options);
    });
  }

  NodeId add_host(const std::string& name, sim::ClusterId net, bool runs_discovery) {
    return world.add_node(name, net, link(options_.node_link), [runs_discovery](Env& env) {
      auto process = std::make_unique<HostProcess>();
      if (runs_discovery) process->discovery = std::make_unique<DiscoveryServer>(env);
      return process;
    });
  }

  template <typename T>
  static Task<void> fill(Task<T> task, std::shared_ptr<std::optional<T>> slot) {
    slot->emplace(co_await std::move(task));
  }

  static Task<void> one_request(ServingClient& client, uint64_t n, std::shared_ptr<LoadRecord> record) {
    RequestOutcome outcome = co_await client.request("req-" + std::to_string(n % 997));
    record->outcomes.push_back(std::move(outcome));
  }

  static Task<void> load_loop(ServingClient& client, Scope& scope, Clock& clock, Duration interval,
                              Duration duration, std::shared_ptr<LoadRecord> record) {
    const TimePoint end = clock.now() + duration;
    uint64_t n = 0;
    while (record->running && clock.now() < end) {
      ++record->issued;
      scope.spawn(one_request(client, n++, record));
      co_await sleep(clock, interval);
    }
    record->running = false;
  }

  ServingFixtureOptions options_;

 public:
  sim::World world;

 private:
  std::map<std::string, Cluster> clusters_;
  NodeId discovery_ = kNoNode;
  NodeId keeper_ = kNoNode;
  std::vector<std::shared_ptr<LoadRecord>> loads_;
};

}  // namespace tandem::serving::testing
