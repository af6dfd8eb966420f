// A tiny test DSL over sim::World: a one-region, one-cluster world with N nodes on constant-latency links,
// and helpers to run coroutines on nodes. Tests read as `t.spawn(0, ...)`, `t.world.crash(t.node(1))`.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/async/scope.h"
#include "core/async/task.h"
#include "sim/world.h"

#include <catch2/catch.hpp>

namespace tandem::testing {

struct SimFixture {
  // `link_latency` is each node's uplink latency, so node-to-node latency is twice that.
  // `boot_for(i)` says what node i runs; by default a ScopeProcess.
  explicit SimFixture(size_t node_count, uint64_t seed = 1, Duration link_latency = 500us,
                      sim::WorldOptions options = {}, const std::function<sim::Boot(size_t)>& boot_for = {})
      : world(with_seed(options, seed)) {
    const sim::RegionId region = world.network().add_region("region");
    cluster = world.network().add_cluster("cluster", region, constant_link(1us));
    for (size_t i = 0; i < node_count; ++i) {
      nodes.push_back(world.add_node("n" + std::to_string(i), cluster, constant_link(link_latency),
                                     boot_for ? boot_for(i) : boot_scope()));
    }
  }

  static sim::WorldOptions with_seed(sim::WorldOptions options, uint64_t seed) {
    options.seed = seed;
    return options;
  }

  static sim::LinkSpec constant_link(Duration latency) {
    sim::LinkSpec link;
    link.latency = sim::LatencyModel::constant(latency);
    return link;
  }

  static sim::Boot boot_scope() {
    return [](Env&) { return std::make_unique<sim::ScopeProcess>(); };
  }

  NodeId node(size_t index) const { return nodes.at(index); }
  Env& env(size_t index) { return world.env(nodes.at(index)); }

  // The Scope of the node's current process (a ScopeProcess); the node must be up.
  Scope& scope(size_t index) {
    auto* process = dynamic_cast<sim::ScopeProcess*>(world.process(nodes.at(index)));
    TANDEM_CHECK(process != nullptr, "the node runs no ScopeProcess");
    return process->scope;
  }

  // Starts `make(env)` as a root task on node `index`.
  TaskRef spawn(size_t index, const std::function<Task<void>(Env&)>& make) {
    return scope(index).spawn(make(env(index)));
  }

  sim::World world;
  sim::ClusterId cluster = 0;
  std::vector<NodeId> nodes;
};

}  // namespace tandem::testing

// Readable failures: Catch prints TimePoints and Durations as "12.5ms".
namespace Catch {
template <>
struct StringMaker<tandem::TimePoint> {
  static std::string convert(const tandem::TimePoint& time) {
    return "t=" + tandem::format_duration(time.time_since_epoch());
  }
};
template <>
struct StringMaker<tandem::Duration> {
  static std::string convert(const tandem::Duration& duration) { return tandem::format_duration(duration); }
};
}  // namespace Catch
