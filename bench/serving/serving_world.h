// ServingWorld: the serving control plane on a sim world for bench programs (no test framework): N serving
// clusters (a head with the control store and labelled workers each), a "global" cluster with discovery, the
// ServingKeeper and client hosts, and helpers to run drivers, deploy through the keeper and offer load.
// Mirrors tests/serving/serving_fixture.h, with failures reported by throwing std::runtime_error.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/metrics/registry.h"
#include "core/runtime/runtime_node.h"
#include "core/serving/catalog.h"
#include "core/serving/discovery.h"
#include "core/serving/serving_client.h"
#include "core/serving/serving_keeper.h"
#include "sim/world.h"

namespace tandem::bench {

using namespace std::chrono_literals;

struct ServingWorldOptions {
  std::vector<std::string> clusters{"c1", "c2"};
  size_t workers_per_cluster = 10;
  runtime::ResourceSet worker_resources{{"CPU", 64}, {"memory", 256e9}};
  uint64_t seed = 1;
  Duration heartbeat_period = 200ms;
  uint32_t heartbeat_miss_limit = 5;
  Duration node_link = 200us;
  Duration cluster_link = 1ms;
  std::function<void(runtime::RuntimeCatalog&)> extra_code;
};

class RuntimeHost final : public sim::NodeProcess {
 public:
  RuntimeHost(Env& env, const runtime::RuntimeCatalog& catalog, runtime::RuntimeNodeOptions options)
      : node(env, catalog, std::move(options)) {}
  runtime::RuntimeNode node;
  Scope drivers;
};

class PlainHost final : public sim::NodeProcess {
 public:
  std::unique_ptr<serving::DiscoveryServer> discovery;
  std::unique_ptr<serving::ServingKeeper> keeper;
  std::vector<std::unique_ptr<serving::ServingClient>> clients;
  Scope drivers;
};

// How the requests of one load generator ended, counted per 100 ms of start time (flat memory over long runs).
struct LoadLog {
  static constexpr Duration kBucket = 100ms;
  struct Bucket {
    uint64_t all = 0;
    uint64_t failed = 0;
  };
  std::vector<Bucket> buckets;  // by start time / kBucket
  uint64_t issued = 0;
  uint64_t completed = 0;
  bool running = true;
  std::string first_error;

  void record(const serving::RequestOutcome& outcome) {
    const size_t index = static_cast<size_t>(to_ns(outcome.start) / kBucket.count());
    if (buckets.size() <= index) buckets.resize(index + 1);
    ++buckets[index].all;
    ++completed;
    if (!outcome.ok()) {
      ++buckets[index].failed;
      if (first_error.empty()) first_error = std::string(errc_name(outcome.code)) + ": " + outcome.error;
    }
  }
  // Failed and all among requests that started in [from, to) (to bucket precision).
  std::pair<uint64_t, uint64_t> failed_of(TimePoint from, TimePoint to) const {
    std::pair<uint64_t, uint64_t> sum{0, 0};
    const size_t first = static_cast<size_t>(to_ns(from) / kBucket.count());
    const size_t last = static_cast<size_t>(to_ns(to) / kBucket.count());
    for (size_t i = first; i < last && i < buckets.size(); ++i) {
      sum.first += buckets[i].failed;
      sum.second += buckets[i].all;
    }
    return sum;
  }
};

class ServingWorld {
 public:
  explicit ServingWorld(ServingWorldOptions options) : options_(std::move(options)), world(world_options(options_)) {
    serving::register_serving_classes(catalog);
    if (options_.extra_code) options_.extra_code(catalog);
    const sim::RegionId region = world.network().add_region("region");
    global_ = world.network().add_cluster("global", region, link(options_.cluster_link));
    for (const std::string& name : options_.clusters) {
      Cluster cluster;
      cluster.net = world.network().add_cluster(name, region, link(options_.cluster_link));
      cluster.head = add_runtime_node(name + "-head", cluster.net, true, kNoNode, {}, {{"cluster", name}});
      for (size_t i = 0; i < options_.workers_per_cluster; ++i) {
        cluster.workers.push_back(add_runtime_node(name + "-w" + std::to_string(i), cluster.net, false, cluster.head,
                                                   options_.worker_resources,
                                                   {{"cluster", name}, {"zone", "z" + std::to_string(i % 2)}}));
      }
      clusters_.emplace(name, std::move(cluster));
    }
    discovery_ = add_host("discovery", global_, true);
    keeper_ = add_host("keeper", global_, false);
    run_until([this] {
      for (auto& [name, cluster] : clusters_) {
        if (!up(cluster.head)) return false;
        size_t alive = 0;
        for (const runtime::NodeInfo& info : runtime_host(cluster.head).node.control_store()->nodes()) {
          alive += info.alive ? 1 : 0;
        }
        if (alive != 1 + cluster.workers.size()) return false;
      }
      return true;
    }, 30s, "the clusters did not form");
  }

  bool up(NodeId node) const { return world.state(node) == sim::NodeState::kUp; }
  NodeId head(const std::string& cluster) const { return clusters_.at(cluster).head; }
  const std::vector<NodeId>& workers(const std::string& cluster) const { return clusters_.at(cluster).workers; }
  sim::ClusterId net(const std::string& cluster) const { return clusters_.at(cluster).net; }
  Address discovery_address() const { return Address{discovery_, serving::kDiscoveryPort}; }
  RuntimeHost& runtime_host(NodeId node) {
    auto* host = dynamic_cast<RuntimeHost*>(world.process(node));
    if (host == nullptr) throw std::runtime_error("not a runtime node or down");
    return *host;
  }
  PlainHost& host(NodeId node) {
    auto* host = dynamic_cast<PlainHost*>(world.process(node));
    if (host == nullptr) throw std::runtime_error("not a plain host or down");
    return *host;
  }

  void run_until(const std::function<bool()>& done, Duration limit, const std::string& what) {
    const TimePoint end = world.now() + limit;
    while (!done()) {
      if (world.now() > end || !world.step()) {
        if (done()) return;
        throw std::runtime_error(what);
      }
    }
  }

  serving::AppMasterOptions appmaster_options() const {
    serving::AppMasterOptions options;
    options.discovery = serving::Endpoint::of(discovery_address());
    return options;
  }

  serving::ServingKeeper& make_keeper() {
    serving::ServingKeeperOptions keeper_options;
    for (const auto& [name, cluster] : clusters_) {
      keeper_options.clusters.push_back(serving::KeeperCluster{name, Address{cluster.head, runtime::kControlStorePort}});
    }
    keeper_options.discovery = discovery_address();
    keeper_options.appmaster = appmaster_options();
    keeper_options.monitor_period = 1s;
    keeper_options.probe_timeout = 500ms;
    keeper_options.outage_checks = 2;
    PlainHost& process = host(keeper_);
    process.keeper = std::make_unique<serving::ServingKeeper>(world.env(keeper_), keeper_options);
    return *process.keeper;
  }
  serving::ServingKeeper& keeper() { return *host(keeper_).keeper; }

  // Runs `make(keeper)` on the keeper node until it returns.
  template <typename T>
  T on_keeper(std::function<Task<T>(serving::ServingKeeper&)> make, Duration limit, const std::string& what) {
    auto slot = std::make_shared<std::optional<T>>();
    host(keeper_).drivers.spawn(fill<T>(make(keeper()), slot));
    run_until([&] { return slot->has_value(); }, limit, what + ": did not finish");
    return std::move(**slot);
  }
  template <typename T>
  std::shared_ptr<std::optional<T>> start_on_keeper(Task<T> task) {
    auto slot = std::make_shared<std::optional<T>>();
    host(keeper_).drivers.spawn(fill<T>(std::move(task), slot));
    return slot;
  }

  // Runs `make(client)` as a driver on the cluster's head until it returns.
  template <typename T>
  T on_head(const std::string& cluster, std::function<Task<T>(runtime::RuntimeClient&)> make, Duration limit,
            const std::string& what) {
    RuntimeHost& process = runtime_host(head(cluster));
    auto slot = std::make_shared<std::optional<T>>();
    process.drivers.spawn(fill<T>(make(process.node.client()), slot));
    run_until([&] { return slot->has_value(); }, limit, what + ": did not finish");
    return std::move(**slot);
  }

  // A client host in the global cluster whose users sit near `prefer` (its local cluster), offering `rate`/s.
  std::shared_ptr<LoadLog> start_load(const std::string& prefer, double rate, const std::string& service = "svc") {
    const NodeId node = add_host("client-" + prefer + "-" + std::to_string(loads_.size()), global_, false);
    PlainHost& process = host(node);
    serving::ServingClientOptions client_options;
    client_options.service = service;
    client_options.local_cluster = prefer;
    client_options.discovery = discovery_address();
    client_options.pull_interval = 1s;
    client_options.deadline = 1s;
    client_options.per_try_timeout = 150ms;  // ~15x the service p99: a dead cluster is noticed fast
    process.clients.push_back(std::make_unique<serving::ServingClient>(world.env(node), client_options));
    serving::ServingClient& client = *process.clients.back();
    client.start();
    run_until([&] { return client.ready(); }, 20s, "the client found no proxy");
    auto log = std::make_shared<LoadLog>();
    process.drivers.spawn(load_loop(client, process.drivers, world.env(node).clock,
                                    Duration(static_cast<int64_t>(1e9 / rate)), log));
    loads_.push_back(log);
    return log;
  }
  void stop_loads(Duration drain = 3s) {
    for (auto& log : loads_) log->running = false;
    world.run_for(drain);
  }
  const std::vector<std::shared_ptr<LoadLog>>& loads() const { return loads_; }
  // Failed and all requests of every load that started in [from, to).
  std::pair<uint64_t, uint64_t> failed_of(TimePoint from, TimePoint to) const {
    std::pair<uint64_t, uint64_t> sum{0, 0};
    for (const auto& log : loads_) {
      auto [failed, all] = log->failed_of(from, to);
      sum.first += failed;
      sum.second += all;
    }
    return sum;
  }

  runtime::RuntimeCatalog catalog;
  metrics::MetricsRegistry metrics;

 private:
  struct Cluster {
    sim::ClusterId net = 0;
    NodeId head = kNoNode;
    std::vector<NodeId> workers;
  };

  static sim::WorldOptions world_options(const ServingWorldOptions& options) {
    sim::WorldOptions world;
    world.seed = options.seed;
    world.storage_sync_latency = 200us;
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
    node_options.daemon.client.long_poll_timeout = 2s;
    const runtime::RuntimeCatalog* catalog_pointer = &catalog;
    return world.add_node(name, net, link(options_.node_link), [catalog_pointer, node_options](Env& env) {
      return std::make_unique<RuntimeHost>(env, *catalog_pointer, node_options);
    });
  }
  NodeId add_host(const std::string& name, sim::ClusterId net, bool runs_discovery) {
    return world.add_node(name, net, link(options_.node_link), [runs_discovery](Env& env) {
      auto process = std::make_unique<PlainHost>();
      if (runs_discovery) process->discovery = std::make_unique<serving::DiscoveryServer>(env);
      return process;
    });
  }
  template <typename T>
  static Task<void> fill(Task<T> task, std::shared_ptr<std::optional<T>> slot) {
    slot->emplace(co_await std::move(task));
  }
  static Task<void> one_request(serving::ServingClient& client, uint64_t n, std::shared_ptr<LoadLog> log) {
    log->record(co_await client.request("req-" + std::to_string(n % 997)));
  }
  static Task<void> load_loop(serving::ServingClient& client, Scope& scope, Clock& clock, Duration interval,
                              std::shared_ptr<LoadLog> log) {
    uint64_t n = 0;
    while (log->running) {
      ++log->issued;
      scope.spawn(one_request(client, n++, log));
      co_await sleep(clock, interval);
    }
  }

  ServingWorldOptions options_;

 public:
  sim::World world;

 private:
  std::map<std::string, Cluster> clusters_;
  sim::ClusterId global_ = 0;
  NodeId discovery_ = kNoNode;
  NodeId keeper_ = kNoNode;
  std::vector<std::shared_ptr<LoadLog>> loads_;
};

}  // namespace tandem::bench
