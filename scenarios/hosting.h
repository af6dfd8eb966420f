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

  template <typename T>
  static T* part(sim::World& world, NodeId node, size_t slot) {
    auto* host = dynamic_cast<HostProcess*>(world.process(node));
    if (host == nullptr || slot >= host->parts.size()) return nullptr;
    return dynamic_cast<T*>(host->parts[slot].get());
  }

 private:
  std::vector<std::vector<PartFactory>> factories_;
};

}  // namespace tandem::scenarios
