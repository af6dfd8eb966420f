// NodeHosting: several services' processes on one simulated node.
//
// Contract: a sim node runs one NodeProcess. A scenario may put parts of several services on the same node
// (an rpc server and a serving proxy, later), so each node runs a HostProcess holding one part per service
// that registered a factory for it, built in registration order and destroyed in reverse. On restart the
// node's Boot builds fresh parts from the same factories. Services find their live part with part<T>(world,
// node, slot); it is nullptr while the node is down.
#pragma once

#include <functional>
#include <memory>
#include <type_traits>
#include <typeinfo>
#include <vector>

#include "core/env/env.h"
#include "sim/world.h"

namespace tandem::scenarios {

class HostProcess final : public sim::NodeProcess {
 public:
  ~HostProcess() override {
    while (!parts.empty()) parts.pop_back();  // reverse order: later parts may use earlier ones
  }
  std::vector<std::unique_ptr<sim::NodeProcess>> parts;
};

class NodeHosting {
 public:
  using PartFactory = std::function<std::unique_ptr<sim::NodeProcess>(Env&)>;

  explicit NodeHosting(size_t node_count) : factories_(node_count) {}

  // Registers a part for `node`; returns its slot in the node's HostProcess.
  size_t add_part(NodeId node, PartFactory factory) {
    factories_.at(node).push_back(std::move(factory));
    return factories_[node].size() - 1;
  }

  // What the node boots: a HostProcess with every registered part. The hosting must outlive the world.
  sim::Boot boot_for(NodeId node) const {
    return [this, node](Env& env) {
      auto host = std::make_unique<HostProcess>();
      for (const PartFactory& factory : factories_.at(node)) host->parts.push_back(factory(env));
      return host;
    };
  }

  // Exact-type checks (typeid) rather than dynamic_cast: the workloads ask once per request, and a
  // dynamic_cast walk cost 1% of a busy run.
  template <typename T>
  static T* part(sim::World& world, NodeId node, size_t slot) {
    static_assert(std::is_final_v<T>, "parts are looked up by exact type");
    sim::NodeProcess* process = world.process(node);
    if (process == nullptr || typeid(*process) != typeid(HostProcess)) return nullptr;
    auto* host = static_cast<HostProcess*>(process);
    if (slot >= host->parts.size()) return nullptr;
    sim::NodeProcess* found = host->parts[slot].get();
    if (found == nullptr || typeid(*found) != typeid(T)) return nullptr;
    return static_cast<T*>(found);
  }

 private:
  std::vector<std::vector<PartFactory>> factories_;
};

}  // namespace tandem::scenarios
