#include "core/runtime/runtime_node.h"

namespace tandem::runtime {

RuntimeNode::RuntimeNode(Env& env, const RuntimeCatalog& catalog, RuntimeNodeOptions options) {
  const NodeId head = options.head != kNoNode ? options.head : env.node;
  if (options.run_control_store) {
    TANDEM_CHECK(head == env.node, "the control store runs on the head node");
    if (options.control_store.catalog == nullptr) options.control_store.catalog = &catalog;
    control_store_ = std::make_unique<ControlStore>(env, std::move(options.control_store));
  }
  if (options.run_daemon) {
    options.daemon.control_store = Address{head, kControlStorePort};
    daemon_ = std::make_unique<NodeDaemon>(env, catalog, std::move(options.daemon));
  }
}

RuntimeNode::~RuntimeNode() {
  daemon_.reset();
  control_store_.reset();
}

RuntimeClient& RuntimeNode::client() {
  TANDEM_CHECK(daemon_ != nullptr, "this runtime node runs no daemon, so it has no client");
  return daemon_->client();
}

}  // namespace tandem::runtime
