// NodeDaemon: the runtime's raylet analogue. One per node: hosts actors and runs tasks there, heartbeats to the
// control store, applies its placement decisions and tells it when an actor dies.
//
// Contract:
// - Resources: the daemon keeps its own account of what the actors and tasks it hosts use and never lets it
//   exceed the node's capacity or go below zero (TANDEM_CHECK); a create or task that does not fit is refused
//   with kUnavailable, so a stale decision of the control store can never overcommit the node.
// - Identity: each start of the daemon is a new NodeInstance (random). Requests carry the instance they were
//   meant for; one for an earlier instance is refused (kPeerDied / kUnavailable), so nothing addressed to a node
//   before it restarted runs after. When the control store no longer knows the instance (it declared the node
//   dead, e.g. across a partition), the daemon ends all its actors and tasks and registers as a new instance.
// - Actors: constructed on the control store's request after the runtime environment is ready, then start()ed;
//   the create is acknowledged only once both are done. Calls name the actor and incarnation; they queue in
//   arrival order and run at most max_concurrency at once. Ending an actor (kill, exit(), reconciliation)
//   destroys its coroutines first, then fails its queued and running calls with kPeerDied.
// - Reconciliation: heartbeats carry a digest of the hosted (actor, incarnation) pairs; when the control store
//   answers with the list it expects here, the daemon ends every actor not on it.
// - Runtime environments: installing one the node lacks takes its modelled setup_delay once (concurrent
//   requests wait for the same installation); installed ones are remembered in Storage and survive restarts,
//   up to max_cached_runtime_envs (least recently used evicted).
// - Everything the daemon queues has a limit in NodeDaemonOptions.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/async/deferred.h"
#include "core/async/rpc.h"
#include "core/async/scope.h"
#include "core/common/id_map.h"
#include "core/env/env.h"
#include "core/metrics/registry.h"
#include "core/runtime/actor.h"
#include "core/runtime/catalog.h"
#include "core/runtime/completion.h"
#include "core/runtime/protocol.h"
#include "core/runtime/runtime_client.h"
#include "core/runtime/types.h"

namespace tandem::runtime {

struct NodeDaemonOptions {
  Address control_store{kNoNode, kControlStorePort};
  ResourceSet resources;                          // the node's capacity
  NodeLabels labels;                              // e.g. {"cluster": "c1", "zone": "a"}
  std::vector<std::string> installed_runtime_envs;  // present from the start, no set-up delay
  Duration heartbeat_period = std::chrono::seconds(1);  // until registered; then the control store's
  Duration actor_start_timeout = std::chrono::seconds(60);  // constructor + start(); then the create fails

  size_t max_actors = 100'000;
  size_t max_running_tasks = 100'000;
  size_t max_queued_calls_per_actor = 100'000;
  size_t max_cached_runtime_envs = 32;
  bool per_actor_metrics = false;  // label call metrics with the actor id too (costly with many actors)

  metrics::MetricsRegistry* metrics = nullptr;  // nullptr: a private registry
  ClientOptions client;                         // for the node's RuntimeClient; control store, catalog and
                                                // metrics are filled in by the daemon
};

class NodeDaemon {
 public:
  NodeDaemon(Env& env, const RuntimeCatalog& catalog, NodeDaemonOptions options);
  ~NodeDaemon();
  NodeDaemon(const NodeDaemon&) = delete;
  NodeDaemon& operator=(const NodeDaemon&) = delete;

  RuntimeClient& client() { return *client_; }
  NodeInstance instance() const { return instance_; }
  bool registered() const { return registered_; }

  // Introspection for tests and reports.
  struct HostedActor {
    ActorId id;
    uint64_t incarnation;
    std::string class_name;
    bool ready;
    size_t queued_calls;
    size_t running_calls;
  };
  std::vector<HostedActor> hosted_actors() const;
  const ResourceSet& capacity() const { return options_.resources; }
  const ResourceSet& in_use() const { return in_use_; }
  size_t running_tasks() const { return tasks_.size(); }
  std::vector<std::string> installed_runtime_envs() const;

 private:
  struct ActorHost;
  struct QueuedCall;
  struct RunnerSlot;
  struct ReplyBuffer;
  struct ClassMetrics;
  struct RunningTask {
    ResourceSet resources;
    std::optional<BundleRef> bundle;
    Completion<Result<Bytes>> done;
    TaskRef task;
    std::shared_ptr<bool> lost = std::make_shared<bool>(false);  // ended by the node, not by the function
  };
  struct EnvEntry {
    bool ready = false;
    bool pinned = false;  // installed with the node: never evicted
    TimePoint last_used{};
    std::unique_ptr<WaitList> waiters;
  };
  struct Ended {
    uint64_t incarnation = 0;
    std::string cause;
    bool exit_requested = false;
  };

  std::vector<ActorId> sorted_actor_ids() const;
  Task<Result<Bytes>> handle_create_actor(Address from, Bytes request);
  Task<Result<Bytes>> handle_kill_actor(Address from, Bytes request);
  // Actor calls arrive in batches (protocol.h) and their results leave coalesced per client and event.
  void on_call_batch(Address from, uint64_t batch, const Bytes& payload);
  void post_result(Address to, ActorId actor, uint64_t sequence, uint32_t attempt, protocol::CallOutcome outcome,
                   const Result<Bytes>& result);
  // Runs an inline method's call on arrival (the actor has nothing queued and a free slot) and posts its result.
  void run_inline(ActorHost& actor, const ActorMethod& method, Address from, const protocol::CallEntryView& entry);
  // A call that ran (queued or inline): its outcome (kInternal naming `thrown` when it threw instead), counted in
  // the class's metrics and posted to the caller.
  void report_ran(ActorHost& actor, const ActorMethod& method, Address caller, uint64_t sequence, uint32_t attempt,
                  Duration since_arrival, std::optional<Result<Bytes>>& result, const std::string& thrown);
  void flush_replies();
  Task<Result<Bytes>> handle_run_task(Address from, Bytes request);
  Result<Bytes> probe_actors(const Bytes& request) const;

  Task<void> heartbeat_loop();
  void reconcile(const std::vector<protocol::ActorIncarnation>& expected);
  void new_instance(const std::string& cause);

  bool reserve(const ResourceSet& resources);
  void release(const ResourceSet& resources);
  void dispatch(ActorHost& actor);
  Task<void> run_calls(ActorHost& actor, size_t slot);
  Task<void> run_start(ActorHost& actor, Completion<Status> done);
  Task<void> exit_later(ActorId id, uint64_t incarnation, std::string cause);
  Task<void> run_function(const RemoteFunction* function, std::string name, LeaseId lease, uint32_t attempt,
                          Bytes args, Completion<Result<Bytes>> done);
  // Ends an actor now: its coroutines first, then its pending calls fail with kPeerDied.
  void end_actor(ActorId id, const std::string& cause, bool exit_requested = false);
  void report_death(ActorId id, uint64_t incarnation, const std::string& cause, bool exit_requested);
  void return_lease(LeaseId lease);
  Task<void> notify_control(uint32_t method, Bytes request);
  Task<Status> ensure_env(std::string name);
  void evict_envs();
  ClassMetrics& class_metrics(const std::string& class_name);
  void update_resource_gauges();

  Env& env_;
  const RuntimeCatalog& catalog_;
  NodeDaemonOptions options_;
  std::unique_ptr<metrics::MetricsRegistry> own_metrics_;
  metrics::MetricsRegistry& metrics_;
  NodeInstance instance_ = 0;
  Duration heartbeat_period_;  // options_.heartbeat_period until the control store tells the cluster's
  bool registered_ = false;
  uint64_t actor_digest_ = 0;
  ResourceSet in_use_;

  RpcEndpoint endpoint_;                   // first: binds kNodeDaemonPort before anything allocates a port
  std::unique_ptr<RuntimeClient> client_;  // before the actors and tasks that use it
  std::map<std::string, std::unique_ptr<ClassMetrics>, std::less<>> class_metrics_;
  // Looked up on every call (an IdMap: a multiply and usually one slot); iterated only through
  // sorted_actor_ids(), so its order never reaches behaviour.
  IdMap<ActorHost> actors_;
  std::map<ActorId, Ended> ended_;  // recently ended actors, to report again if the report was lost
  std::deque<ActorId> ended_order_;
  std::map<LeaseId, RunningTask> tasks_;
  std::map<std::string, EnvEntry, std::less<>> envs_;
  std::vector<ReplyBuffer> replies_;  // results of this event, per client, posted after it
  size_t last_reply_ = 0;
  std::vector<protocol::CallEntryView> batch_scratch_;  // emptied after each batch
  std::vector<ActorId> touched_scratch_;                 // the same for the actors a batch gave calls
  Deferred reply_flusher_;
  Scope tasks_scope_;  // running task functions
  Scope scope_;        // last: heartbeats and notifications die first
};

}  // namespace tandem::runtime
