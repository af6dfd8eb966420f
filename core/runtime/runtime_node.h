// RuntimeNode: what one machine of a runtime cluster runs — the control store (on the head only) and a node
// daemon — built from the node's Env. The sim world boots one per simulated node; the real backend's node
// binary builds the same object.
//
// Contract: the control store is constructed first, then the daemon, so both bind their well-known ports before
// anything allocates one; destruction runs the other way. A worker names the head's node in `head`; on the head
// `head` may stay kNoNode (it is the node itself). The catalog must outlive the node.
#pragma once

#include <memory>

#include "core/env/env.h"
#include "core/runtime/catalog.h"
#include "core/runtime/control_store.h"
#include "core/runtime/node_daemon.h"

namespace tandem::runtime {

struct RuntimeNodeOptions {
  NodeId head = kNoNode;       // the node running the control store
  bool run_control_store = false;
  ControlStoreOptions control_store;
  bool run_daemon = true;
  NodeDaemonOptions daemon;    // control_store address filled in from `head`
};

class RuntimeNode {
 public:
  RuntimeNode(Env& env, const RuntimeCatalog& catalog, RuntimeNodeOptions options);
  ~RuntimeNode();
  RuntimeNode(const RuntimeNode&) = delete;
  RuntimeNode& operator=(const RuntimeNode&) = delete;

  ControlStore* control_store() { return control_store_.get(); }
  NodeDaemon* daemon() { return daemon_.get(); }
  // The daemon's client: drivers on this node use it.
  RuntimeClient& client();

 private:
  std::unique_ptr<ControlStore> control_store_;
  std::unique_ptr<NodeDaemon> daemon_;
};

}  // namespace tandem::runtime
