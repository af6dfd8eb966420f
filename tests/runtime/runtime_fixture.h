// RuntimeFixture: a tiny test DSL for the actor runtime — a sim world with a head node (control store + daemon)
// and N worker nodes, the shared test catalog, and helpers that run driver coroutines to completion:
//
//   RuntimeFixture t({.workers = 3});
//   ActorHandle counter = t.ok(t.await([](RuntimeClient& c) { return c.create_actor("Counter", {}, int64_t{1}); }));
//   CHECK(t.ok(t.await([&](RuntimeClient&) { return counter.call<int64_t>("add", 2); })) == 3);
//   t.crash(t.worker(0));
//
// Heartbeats are fast (100 ms, 5 misses) so failure detection takes half a second of virtual time.
#pragma once

#include <catch2/catch.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/metrics/registry.h"
#include "core/runtime/runtime_node.h"
#include "sim/world.h"
#include "tests/runtime/test_actors.h"

namespace tandem::runtime::testing {

struct RuntimeFixtureOptions {
  size_t workers = 3;
  uint64_t seed = 1;
  ResourceSet head_resources;  // none by default: work lands on workers
  ResourceSet worker_resources{{"CPU", 4}, {"memory", 8e9}};
  std::function<ResourceSet(size_t)> worker_resources_for;  // overrides worker_resources when set
  std::function<NodeLabels(size_t)> worker_labels;
  std::vector<std::string> worker_installed_envs;
  Duration heartbeat_period = std::chrono::milliseconds(100);
  uint32_t heartbeat_miss_limit = 5;
  Duration link_latency = std::chrono::microseconds(250);
  bool wait_for_nodes = true;  // run until every node has registered
  std::function<void(RuntimeCatalog&)> extra_code;
};

// What each simulated node runs: a RuntimeNode and a scope for test drivers (declared after, so they die first).
class RuntimeProcess final : public sim::NodeProcess {
 public:
  RuntimeProcess(Env& env, const RuntimeCatalog& catalog, RuntimeNodeOptions options)
      : node(env, catalog, std::move(options)) {}
  RuntimeNode node;
  Scope drivers;
};

template <typename T>
struct TaskValue;
template <typename T>
struct TaskValue<Task<T>> {
  using type = T;
};

class RuntimeFixture {
 public:
  explicit RuntimeFixture(RuntimeFixtureOptions options = {})
      : options_(std::move(options)), world(make_world_options(options_.seed)) {
    register_test_code(catalog);
    if (options_.extra_code) options_.extra_code(catalog);
    const sim::RegionId region = world.network().add_region("region");
    sim::LinkSpec switch_link;
    switch_link.latency = sim::LatencyModel::constant(std::chrono::microseconds(1));
    cluster_ = world.network().add_cluster("cluster", region, switch_link);
    head_ = add_node("head", true, options_.head_resources, {}, {});
    for (size_t i = 0; i < options_.workers; ++i) {
      const ResourceSet resources =
          options_.worker_resources_for ? options_.worker_resources_for(i) : options_.worker_resources;
      const NodeLabels labels = options_.worker_labels ? options_.worker_labels(i) : NodeLabels{};
      workers_.push_back(add_node("w" + std::to_string(i), false, resources, labels, options_.worker_installed_envs));
    }
    if (options_.wait_for_nodes) {
      const bool formed = run_until([this] { return alive_nodes() == 1 + workers_.size(); }, std::chrono::seconds(10));
      REQUIRE(formed);
    }
  }

  // Adds a worker later (it registers on its own); returns its node id.
  NodeId add_worker(ResourceSet resources, NodeLabels labels = {}) {
    const NodeId id = add_node("w" + std::to_string(workers_.size()), false, std::move(resources),
                               std::move(labels), options_.worker_installed_envs);
    workers_.push_back(id);
    return id;
  }

  NodeId head() const { return head_; }
  NodeId worker(size_t index) const { return workers_.at(index); }
  size_t worker_count() const { return workers_.size(); }

  RuntimeProcess& process(NodeId node) {
    auto* process = dynamic_cast<RuntimeProcess*>(world.process(node));
    REQUIRE(process != nullptr);
    return *process;
  }
  RuntimeClient& client(NodeId node) { return process(node).node.client(); }
  RuntimeClient& client() { return client(head_); }
  ControlStore& control_store() { return *process(head_).node.control_store(); }
  NodeDaemon& daemon(NodeId node) { return *process(node).node.daemon(); }
  bool up(NodeId node) const { return world.state(node) == sim::NodeState::kUp; }

  size_t alive_nodes() {
    if (!up(head_)) return 0;
    size_t alive = 0;
    for (const NodeInfo& info : control_store().nodes()) alive += info.alive ? 1 : 0;
    return alive;
  }
  std::optional<ActorInfo> actor(ActorId id) { return control_store().actor(id); }

  // Steps the world until `done()` or until `limit` of virtual time has passed; returns done().
  bool run_until(const std::function<bool()>& done, Duration limit = std::chrono::seconds(60)) {
    const TimePoint end = world.now() + limit;
    while (!done()) {
      if (world.now() > end || !world.step()) return done();
    }
    return true;
  }
  void run_for(Duration duration) { world.run_for(duration); }

  // Starts `make(client)` as a driver coroutine on `node` and runs the world until it returns its value.
  template <typename Make>
  auto await(Make make, Duration limit = std::chrono::seconds(120), std::optional<NodeId> node = std::nullopt) {
    const NodeId on = node.value_or(head_);
    using Value = typename TaskValue<decltype(make(client(on)))>::type;
    return await_impl<Value>(make(client(on)), on, limit);
  }

  // Starts a driver coroutine without waiting; the returned slot fills in when it returns.
  template <typename T>
  std::shared_ptr<std::optional<T>> start(Task<T> task, std::optional<NodeId> node = std::nullopt) {
    auto slot = std::make_shared<std::optional<T>>();
    process(node.value_or(head_)).drivers.spawn(fill(std::move(task), slot));
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

  void crash(NodeId node) { world.crash(node); }
  void restart(NodeId node) { world.restart(node); }

  RuntimeCatalog catalog;
  metrics::MetricsRegistry metrics;

 private:
  static sim::WorldOptions make_world_options(uint64_t seed) {
    sim::WorldOptions options;
    options.seed = seed;
    return options;
  }

  NodeId add_node(const std::string& name, bool is_head, ResourceSet resources, NodeLabels labels,
                  std::vector<std::string> envs) {
    RuntimeNodeOptions node_options;
    node_options.head = is_head ? kNoNode : head_;
    node_options.run_control_store = is_head;
    node_options.control_store.heartbeat_period = options_.heartbeat_period;
    node_options.control_store.heartbeat_miss_limit = options_.heartbeat_miss_limit;
    node_options.control_store.lease_start_grace = options_.heartbeat_period * 10;
    node_options.control_store.metrics = &metrics;
    node_options.daemon.resources = std::move(resources);
    node_options.daemon.labels = std::move(labels);
    node_options.daemon.installed_runtime_envs = std::move(envs);
    node_options.daemon.heartbeat_period = options_.heartbeat_period;
    node_options.daemon.metrics = &metrics;
    node_options.daemon.client.long_poll_timeout = std::chrono::seconds(2);
    sim::LinkSpec uplink;
    uplink.latency = sim::LatencyModel::constant(options_.link_latency);
    const RuntimeCatalog* catalog_pointer = &catalog;
    return world.add_node(name, cluster_, uplink, [catalog_pointer, node_options](Env& env) {
      return std::make_unique<RuntimeProcess>(env, *catalog_pointer, node_options);
    });
  }

  template <typename T>
  static Task<void> fill(Task<T> task, std::shared_ptr<std::optional<T>> slot) {
    slot->emplace(co_await std::move(task));
  }

  template <typename T>
  T await_impl(Task<T> task, NodeId on, Duration limit) {
    auto slot = start(std::move(task), on);
    const bool done = run_until([&] { return slot->has_value(); }, limit);
    INFO("the driver coroutine did not finish within the limit");
    REQUIRE(done);
    return std::move(**slot);
  }

  RuntimeFixtureOptions options_;

 public:
  sim::World world;

 private:
  sim::ClusterId cluster_ = 0;
  NodeId head_ = kNoNode;
  std::vector<NodeId> workers_;
};

}  // namespace tandem::runtime::testing
