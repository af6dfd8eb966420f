// ControlStore: the runtime's GCS analogue. One per cluster, on the head node: the node table, the actor table
// (lifecycle in core/runtime/actor_lifecycle.h), the named-actor registry, placement groups, task leases, a KV
// for checkpoints, and the scheduler that places actors, leases and bundles on nodes.
//
// Contract:
// - Durable: nodes, actors, placement groups and KV entries are written to the head's Storage, and a request
//   that changes them is acknowledged only after storage.sync() succeeds (kStorageFailure otherwise — the
//   change may or may not have been kept, like a timeout). A head restart reloads every table, re-reserves the
//   resources of ALIVE actors and placed bundles, requeues actors that were waiting, gives every node a fresh
//   heartbeat grace, and re-adopts running task leases from the next heartbeats. Leases and pending lease
//   requests are not durable: clients re-poll them.
// - Failure detection: a node that has not heartbeated for heartbeat_period * heartbeat_miss_limit is declared
//   dead (Ray's defaults are about 1 s and 5 misses); a node that registers again with a new instance ends its
//   previous instance at once. A dead node's actors restart elsewhere or die (see the lifecycle), its leases
//   and bundles are released, actors owned by drivers on it die unless detached, and clients watching node
//   deaths hear of it.
// - Scheduling runs after every change that can help (a request, a release, a node joining), at most once per
//   event-loop turn, over the queue in arrival order (a request that cannot be placed does not block the ones
//   behind it). A request that no known node could ever satisfy is refused (kResourceExhausted); one that
//   cannot be placed now waits, and pending() says why. Resources are reserved here when placing and freed on
//   death, kill, lease return or removal; the control store never reserves more than a node's total.
// - A node daemon is the authority on what runs on it: heartbeats carry a digest of its actors and its running
//   leases, and the control store answers a mismatch with the list the node should host (the daemon ends the
//   rest), so an actor is never ALIVE in the table on one node while a stale copy keeps running elsewhere.
// - Every table and queue has a limit in ControlStoreOptions; past it requests get kResourceExhausted.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/async/rpc.h"
#include "core/async/scope.h"
#include "core/async/sleep.h"
#include "core/env/env.h"
#include "core/metrics/registry.h"
#include "core/runtime/catalog.h"
#include "core/runtime/completion.h"
#include "core/runtime/protocol.h"
#include "core/runtime/scheduling.h"
#include "core/runtime/types.h"

namespace tandem::runtime {

struct ControlStoreOptions {
  Duration heartbeat_period = std::chrono::seconds(1);  // told to every daemon when it registers
  uint32_t heartbeat_miss_limit = 5;                      // dead after this many periods without a heartbeat
  Duration long_poll_timeout = std::chrono::seconds(10);  // longest a poll is held
  Duration actor_creation_timeout = std::chrono::seconds(120);  // runtime env set-up + constructor + start()
  Duration lease_start_grace = std::chrono::seconds(5);   // a granted lease unseen in heartbeats after this is freed
  Duration lease_request_ttl = std::chrono::seconds(30);  // a pending lease request not re-polled is dropped
  uint32_t max_creation_attempts = 100;                   // placements of one actor that failed to start

  size_t max_nodes = 1 << 16;
  size_t max_actors = 1 << 22;           // not DEAD
  size_t max_dead_actors_kept = 100'000; // oldest DEAD actors are forgotten past this
  size_t max_pending_requests = 1 << 20; // actors + lease requests + placement groups waiting
  size_t max_leases = 1 << 22;
  size_t max_placement_groups = 100'000;   // not removed
  size_t max_removed_groups_kept = 10'000;
  size_t max_kv_entries = 1 << 22;
  size_t max_node_event_log = 4096;      // node deaths remembered for watchers

  const RuntimeCatalog* catalog = nullptr;      // when set: unknown classes and runtime envs are refused
  metrics::MetricsRegistry* metrics = nullptr;  // nullptr: a private registry
};

class ControlStore {
 public:
  ControlStore(Env& env, ControlStoreOptions options);
  ~ControlStore();
  ControlStore(const ControlStore&) = delete;
  ControlStore& operator=(const ControlStore&) = delete;

  Address address() const { return endpoint_.address(); }
  bool ready() const { return ready_; }
  uint64_t epoch() const { return epoch_; }  // bumped on every start of the control store

  // Read-only views, in id order (tests, reports, the CLI).
  std::vector<ActorInfo> actors() const;
  std::optional<ActorInfo> actor(ActorId id) const;
  std::vector<NodeInfo> nodes() const;
  std::vector<PendingRequest> pending() const;
  std::vector<PlacementGroupInfo> placement_groups() const;
  size_t lease_count() const { return leases_.size(); }

 private:
  struct Slot {
    NodeId node = kNoNode;
    NodeInstance instance = 0;
    PlacementGroupId group = 0;
    int32_t bundle = -1;
  };
  struct NodeRecord {
    NodeInfo info;
    std::set<std::string, std::less<>> envs;
    TimePoint last_heartbeat{};
    std::set<ActorId> actors;
    uint64_t actor_digest = 0;
    std::set<LeaseId> leases;
    // A creation there was refused (the node is down, or its daemon gone) before failure detection said so:
    // nothing is placed there until it heartbeats again, so a restart does not spin its creation attempts on it.
    bool refused_creation = false;
  };
  struct ActorRecord {
    ActorInfo info;
    ActorOptions options;
    Bytes args;
    ClientId client = 0;
    uint64_t request = 0;
    uint32_t creation_attempts = 0;
    std::optional<Slot> slot;  // reserved resources, while placed
    bool creating = false;     // a create is in flight for info.incarnation
    uint64_t queue_key = 0;    // in queue_ when non-zero
    TimePoint pending_since{};
    std::unique_ptr<WaitList> waiters;
    bool persist_pending = false;  // listed in dirty_actors_
  };
  struct LeaseRecord {
    LeaseId id = 0;
    Slot slot;
    ResourceSet resources;
    TimePoint granted_at{};
    ClientId client = 0;
    uint64_t request = 0;
  };
  struct LeaseRequestRecord {
    protocol::LeaseRequest request;
    TimePoint since{};
    TimePoint last_polled{};
    uint64_t queue_key = 0;
    LeaseId granted = 0;
    std::optional<Error> failed;
    std::unique_ptr<WaitList> waiters;
  };
  struct GroupRecord {
    PlacementGroupInfo info;
    std::vector<NodeInstance> bundle_instances;
    std::vector<ResourceSet> bundle_free;
    ClientId client = 0;
    uint64_t request = 0;
    uint64_t queue_key = 0;
    TimePoint pending_since{};
    std::set<ActorId> actors;
    std::unique_ptr<WaitList> waiters;
  };
  enum class QueueKind : uint8_t { kActor, kLease, kGroup };
  struct QueueEntry {
    QueueKind kind;
    uint64_t id = 0;                          // actor / group id
    std::pair<ClientId, uint64_t> lease_key;  // lease requests
    Bytes shape;                              // the encoded SchedulingSpec; empty for groups and group-bound
  };
  struct NodeEvent {
    uint64_t version;
    protocol::NodeIncarnation node;
  };
  using Handler = Task<Result<Bytes>> (ControlStore::*)(Address from, Bytes request);

  // Start-up and persistence.
  void load();
  Task<void> start();
  // Group commit: one storage sync in flight at a time; callers that arrive meanwhile share the next one, so
  // a burst of N requests costs a handful of syncs, not N.
  Task<Status> sync();
  Task<void> run_syncs();
  void persist_soon();  // a background sync, at most one queued
  Task<void> sync_later();
  // Actor records and the meta record are written behind: marked here, put into storage just before the next
  // sync (which is what makes them durable anyway), so a record that changes several times between two syncs
  // (PENDING, placed, ALIVE) is encoded and written once.
  void persist_meta();
  void persist_node(const NodeRecord& node);
  void persist_actor(ActorRecord& actor);
  void write_behind();
  void persist_group(const GroupRecord& group);
  void serve(uint32_t method, Handler handler);
  Task<Result<Bytes>> guarded(Handler handler, Address from, Bytes request);

  // Handlers.
  Task<Result<Bytes>> handle_register_node(Address from, Bytes request);
  Task<Result<Bytes>> handle_heartbeat(Address from, Bytes request);
  Task<Result<Bytes>> handle_create_actor(Address from, Bytes request);
  Task<Result<Bytes>> handle_get_actor(Address from, Bytes request);
  Task<Result<Bytes>> handle_wait_actor(Address from, Bytes request);
  Task<Result<Bytes>> handle_list_actors(Address from, Bytes request);
  Task<Result<Bytes>> handle_kill_actor(Address from, Bytes request);
  Task<Result<Bytes>> handle_actor_died(Address from, Bytes request);
  Task<Result<Bytes>> handle_request_lease(Address from, Bytes request);
  Task<Result<Bytes>> handle_return_lease(Address from, Bytes request);
  Task<Result<Bytes>> handle_watch_nodes(Address from, Bytes request);
  Task<Result<Bytes>> handle_kv_put(Address from, Bytes request);
  Task<Result<Bytes>> handle_kv_get(Address from, Bytes request);
  Task<Result<Bytes>> handle_kv_delete(Address from, Bytes request);
  Task<Result<Bytes>> handle_kv_list(Address from, Bytes request);
  Task<Result<Bytes>> handle_create_group(Address from, Bytes request);
  Task<Result<Bytes>> handle_get_group(Address from, Bytes request);
  Task<Result<Bytes>> handle_wait_group(Address from, Bytes request);
  Task<Result<Bytes>> handle_remove_group(Address from, Bytes request);
  Task<Result<Bytes>> handle_list_pending(Address from, Bytes request);
  Task<Result<Bytes>> handle_list_nodes(Address from, Bytes request);

  // Scheduling.
  std::vector<SchedulerNode> scheduler_view() const;
  Status check_feasible(const SchedulingSpec& spec) const;
  std::optional<Slot> find_slot(const SchedulingSpec& spec, std::vector<SchedulerNode>& view);
  std::string why_waiting(const SchedulingSpec& spec) const;
  void request_schedule();
  Task<void> schedule_soon();
  void schedule_pass();
  bool try_place_actor(ActorRecord& actor, std::vector<SchedulerNode>& view);
  bool try_grant_lease(LeaseRequestRecord& request, std::vector<SchedulerNode>& view);
  void try_place_group(GroupRecord& group, std::vector<SchedulerNode>& view);
  uint64_t enqueue(QueueEntry entry, const SchedulingSpec* spec);
  uint64_t enqueue_actor(ActorRecord& actor);
  void dequeue(uint64_t& queue_key);
  void debit(const Slot& slot, const ResourceSet& resources);
  void credit(const Slot& slot, const ResourceSet& resources);
  NodeRecord* live_node(NodeId node, NodeInstance instance);

  // Actor lifecycle.
  void transition(ActorRecord& actor, ActorState to);
  void place_actor(ActorRecord& actor, const Slot& slot);
  void detach_actor(ActorRecord& actor);
  void actor_life_ended(ActorRecord& actor, const std::string& cause, bool restart_allowed);
  void mark_dead(ActorRecord& actor, const std::string& cause);
  void kill_children(ActorId owner, NodeId owner_node, const std::string& cause);
  void notify_actor(ActorRecord& actor);
  void forget_oldest_dead_actors();
  Task<void> create_on_node(ActorId id, uint64_t incarnation);
  void send_kill(NodeId node, NodeInstance instance, ActorId actor, uint64_t incarnation, std::string cause);
  bool restarts_left(const ActorRecord& actor) const;
  size_t live_actor_count() const { return actors_.size() - dead_order_.size(); }

  // Nodes, leases, groups.
  Task<void> detect_failures();
  void declare_node_dead(NodeRecord& node, const std::string& cause);
  void release_lease(LeaseId id);
  void unplace_group_bundles_on(NodeId node);
  void remove_group(GroupRecord& group, const std::string& cause);
  void forget_removed_groups();
  void update_gauges();

  Env& env_;
  ControlStoreOptions options_;
  std::unique_ptr<metrics::MetricsRegistry> own_metrics_;
  metrics::MetricsRegistry& metrics_;
  uint64_t epoch_ = 0;
  bool ready_ = false;
  WaitList ready_waiters_;

  ActorId next_actor_id_ = 1;
  PlacementGroupId next_group_id_ = 1;
  uint64_t next_lease_sequence_ = 1;
  uint64_t next_queue_key_ = 1;
  uint64_t node_version_ = 0;
  NodeId spread_cursor_ = kNoNode;
  bool schedule_posted_ = false;
  bool sync_posted_ = false;
  struct SyncBatch {
    explicit SyncBatch(Clock& clock) : done(clock) {}
    Event done;
    Status result;
  };
  std::shared_ptr<SyncBatch> next_sync_;  // the batch that waits for the next storage sync
  bool syncing_ = false;                  // run_syncs() is running
  std::vector<ActorId> dirty_actors_;     // records to put before the next sync, in the order first marked
  bool meta_dirty_ = false;
  uint64_t dropped_node_version_ = 0;  // newest node event no longer in node_events_

  std::map<NodeId, NodeRecord> nodes_;
  std::map<ActorId, ActorRecord> actors_;
  std::deque<ActorId> dead_order_;  // DEAD actors in death order, for forgetting the oldest
  std::map<std::string, ActorId, std::less<>> names_;
  std::map<std::pair<ClientId, uint64_t>, ActorId> creations_;
  std::map<ActorId, std::set<ActorId>> children_;     // non-detached actors by owner actor
  std::map<NodeId, std::set<ActorId>> node_owned_;    // non-detached actors owned by drivers on a node
  std::map<LeaseId, LeaseRecord> leases_;
  std::map<std::pair<ClientId, uint64_t>, LeaseRequestRecord> lease_requests_;
  std::map<PlacementGroupId, GroupRecord> groups_;
  std::map<std::pair<ClientId, uint64_t>, PlacementGroupId> group_creations_;
  std::deque<PlacementGroupId> removed_groups_;  // in removal order, for forgetting the oldest
  std::map<uint64_t, QueueEntry> queue_;          // by arrival: what pending() lists
  std::map<Bytes, std::set<uint64_t>> shapes_;    // the same entries by shape, for the scheduler
  std::set<uint64_t> special_;                    // groups and group-bound requests
  std::deque<NodeEvent> node_events_;
  WaitList node_waiters_;
  size_t kv_entries_ = 0;

  metrics::Counter& actors_created_;
  metrics::Counter& actor_restarts_;
  metrics::Counter& actor_deaths_;
  metrics::Counter& node_deaths_;
  metrics::Counter& leases_granted_;
  metrics::Counter& leases_reclaimed_;

  RpcEndpoint endpoint_;  // after the tables its handlers use
  Scope scope_;           // last: background coroutines die first
};

}  // namespace tandem::runtime
