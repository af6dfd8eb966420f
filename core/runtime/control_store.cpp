#include "core/runtime/control_store.h"

#include <algorithm>
#include <cstdio>

#include "core/async/sleep.h"

namespace tandem::runtime {

using namespace protocol;  // NOLINT: the wire records are this file's vocabulary

namespace {

constexpr std::string_view kMetaKey = "cs/meta";
constexpr std::string_view kNodePrefix = "cs/node/";
constexpr std::string_view kActorPrefix = "cs/actor/";
constexpr std::string_view kGroupPrefix = "cs/group/";
constexpr std::string_view kKvPrefix = "cs/kv/";

struct DurableMeta {
  uint64_t epoch = 0;
  ActorId next_actor_id = 1;
  PlacementGroupId next_group_id = 1;
  TANDEM_CODEC_FIELDS(epoch, next_actor_id, next_group_id)
};

struct DurableActor {
  ActorInfo info;
  ActorOptions options;
  Bytes args;
  ClientId client = 0;
  uint64_t request = 0;
  uint32_t creation_attempts = 0;
  TANDEM_CODEC_FIELDS(info, options, args, client, request, creation_attempts)
};

struct DurableGroup {
  PlacementGroupInfo info;
  std::vector<NodeInstance> bundle_instances;
  ClientId client = 0;
  uint64_t request = 0;
  TANDEM_CODEC_FIELDS(info, bundle_instances, client, request)
};

// Zero-padded decimal, so keys sort by id (hand-rolled: snprintf was 3% of creating an actor).
std::string padded(uint64_t id, int width) {
  char digits[20];
  int count = 0;
  do {
    digits[count++] = static_cast<char>('0' + id % 10);
    id /= 10;
  } while (id > 0);
  std::string out(static_cast<size_t>(std::max(width, count)), '0');
  for (int i = 0; i < count; ++i) out[out.size() - 1 - static_cast<size_t>(i)] = digits[i];
  return out;
}
std::string node_key(NodeId id) { return std::string(kNodePrefix) + padded(id, 10); }
std::string actor_key(ActorId id) { return std::string(kActorPrefix) + padded(id, 20); }
std::string group_key(PlacementGroupId id) { return std::string(kGroupPrefix) + padded(id, 20); }

template <typename T>
T decode_durable(const Bytes& bytes, std::string_view what) {
  Result<T> decoded = decode<T>(bytes);
  // Our own durable records: corruption here means the store is broken, not that a user erred.
  TANDEM_CHECK(decoded.ok(), "a durable control-store record does not decode");
  (void)what;
  return std::move(decoded).value();
}

Result<Bytes> storage_failed(const Status& status) {
  return Error{Errc::kStorageFailure, "the control store could not make the change durable: " +
                                          status.error().message};
}

std::string describe_actor(const ActorInfo& info) {
  std::string out = "actor " + std::to_string(info.id) + " (" + info.class_name;
  if (!info.name.empty()) out += " '" + info.name + "'";
  return out + ")";
}

}  // namespace

ControlStore::ControlStore(Env& env, ControlStoreOptions options)
    : env_(env),
      options_(std::move(options)),
      own_metrics_(options_.metrics == nullptr ? std::make_unique<metrics::MetricsRegistry>() : nullptr),
      metrics_(options_.metrics != nullptr ? *options_.metrics : *own_metrics_),
      ready_waiters_(env.clock),
      node_waiters_(env.clock),
      actors_created_(metrics_.counter("runtime_actors_created_total")),
      actor_restarts_(metrics_.counter("runtime_actor_restarts_total")),
      actor_deaths_(metrics_.counter("runtime_actor_deaths_total")),
      node_deaths_(metrics_.counter("runtime_node_deaths_total")),
      leases_granted_(metrics_.counter("runtime_leases_granted_total")),
      leases_reclaimed_(metrics_.counter("runtime_leases_reclaimed_total")),
      endpoint_(env.transport, env.clock, kControlStorePort) {
  TANDEM_CHECK(options_.heartbeat_period > Duration::zero(), "heartbeat_period must be positive");
  TANDEM_CHECK(options_.heartbeat_miss_limit >= 1, "heartbeat_miss_limit must be at least 1");
  serve(kRegisterNode, &ControlStore::handle_register_node);
  serve(kHeartbeat, &ControlStore::handle_heartbeat);
  serve(kCreateActor, &ControlStore::handle_create_actor);
  serve(kGetActor, &ControlStore::handle_get_actor);
  serve(kWaitActor, &ControlStore::handle_wait_actor);
  serve(kListActors, &ControlStore::handle_list_actors);
  serve(kKillActor, &ControlStore::handle_kill_actor);
  serve(kActorDied, &ControlStore::handle_actor_died);
  serve(kRequestLease, &ControlStore::handle_request_lease);
  serve(kReturnLease, &ControlStore::handle_return_lease);
  serve(kWatchNodes, &ControlStore::handle_watch_nodes);
  serve(kKvPut, &ControlStore::handle_kv_put);
  serve(kKvGet, &ControlStore::handle_kv_get);
  serve(kKvDelete, &ControlStore::handle_kv_delete);
  serve(kKvList, &ControlStore::handle_kv_list);
  serve(kCreatePlacementGroup, &ControlStore::handle_create_group);
  serve(kGetPlacementGroup, &ControlStore::handle_get_group);
  serve(kWaitPlacementGroup, &ControlStore::handle_wait_group);
  serve(kRemovePlacementGroup, &ControlStore::handle_remove_group);
  serve(kListPending, &ControlStore::handle_list_pending);
  serve(kListNodes, &ControlStore::handle_list_nodes);
  load();
  scope_.spawn(start());
}

ControlStore::~ControlStore() { scope_.cancel_all(); }

void ControlStore::serve(uint32_t method, Handler handler) {
  endpoint_.serve(method, [this, handler](Address from, Bytes request) {
    return guarded(handler, from, std::move(request));
  });
}

Task<Result<Bytes>> ControlStore::guarded(Handler handler, Address from, Bytes request) {
  if (!ready_) {
    co_await ready_waiters_.wait_until(env_.clock.now() + options_.long_poll_timeout);
    if (!ready_) co_return Error{Errc::kUnavailable, "the control store is still starting"};
  }
  co_return co_await (this->*handler)(from, std::move(request));
}

// --- Start-up and persistence ----------------------------------------------------------------------------

void ControlStore::load() {
  DurableMeta meta;
  if (std::optional<Bytes> bytes = env_.storage.get(kMetaKey)) meta = decode_durable<DurableMeta>(*bytes, "meta");
  epoch_ = meta.epoch + 1;
  next_actor_id_ = meta.next_actor_id;
  next_group_id_ = meta.next_group_id;
  const TimePoint now = env_.clock.now();

  for (const auto& [key, bytes] : env_.storage.scan(kNodePrefix)) {
    NodeRecord record;
    record.info = decode_durable<NodeInfo>(bytes, "node");
    record.info.available = record.info.total;
    record.info.actors = record.info.leases = 0;
    record.envs.insert(record.info.runtime_envs.begin(), record.info.runtime_envs.end());
    record.last_heartbeat = now;  // a fresh grace period: the nodes had no one to heartbeat to
    nodes_[record.info.node] = std::move(record);
  }

  for (const auto& [key, bytes] : env_.storage.scan(kGroupPrefix)) {
    DurableGroup durable = decode_durable<DurableGroup>(bytes, "placement group");
    GroupRecord& group = groups_[durable.info.id];
    group.info = std::move(durable.info);
    group.bundle_instances = std::move(durable.bundle_instances);
    group.bundle_instances.resize(group.info.bundles.size(), 0);
    group.bundle_free.assign(group.info.bundles.size(), ResourceSet{});
    group.client = durable.client;
    group.request = durable.request;
    next_group_id_ = std::max(next_group_id_, group.info.id + 1);
    group_creations_[{group.client, group.request}] = group.info.id;
    if (group.info.state == PlacementGroupState::kRemoved) {
      removed_groups_.push_back(group.info.id);
      continue;
    }
    bool all_placed = true;
    for (size_t b = 0; b < group.info.bundles.size(); ++b) {
      NodeRecord* node = live_node(group.info.bundle_nodes[b], group.bundle_instances[b]);
      if (node != nullptr && group.info.bundles[b].fits_in(node->info.available)) {
        node->info.available.subtract(group.info.bundles[b]);
        group.bundle_free[b] = group.info.bundles[b];
      } else {
        group.info.bundle_nodes[b] = kNoNode;
        group.bundle_instances[b] = 0;
        all_placed = false;
      }
    }
    group.info.state = all_placed ? PlacementGroupState::kCreated : PlacementGroupState::kPending;
    if (!all_placed) {
      group.pending_since = now;
      group.queue_key = enqueue(QueueEntry{QueueKind::kGroup, group.info.id, {}, {}}, nullptr);
    }
  }

  std::vector<ActorId> lost;
  for (const auto& [key, bytes] : env_.storage.scan(kActorPrefix)) {
    DurableActor durable = decode_durable<DurableActor>(bytes, "actor");
    const ActorId id = durable.info.id;
    ActorRecord& actor = actors_[id];
    actor.info = std::move(durable.info);
    actor.options = std::move(durable.options);
    actor.args = std::move(durable.args);
    actor.client = durable.client;
    actor.request = durable.request;
    actor.creation_attempts = durable.creation_attempts;
    next_actor_id_ = std::max(next_actor_id_, id + 1);
    creations_[{actor.client, actor.request}] = id;
    if (actor.info.state == ActorState::kDead) {
      dead_order_.push_back(id);
      continue;
    }
    if (!actor.info.name.empty()) names_[actor.info.name] = id;
    if (!actor.info.detached) {
      if (actor.info.owner.actor != kNoActor) {
        children_[actor.info.owner.actor].insert(id);
      } else {
        node_owned_[actor.info.owner.node].insert(id);
      }
    }
    if (actor.options.placement_group) {
      if (auto group = groups_.find(actor.options.placement_group->group); group != groups_.end()) {
        group->second.actors.insert(id);
      }
    }
    if (actor.info.state == ActorState::kAlive) {
      Slot slot{actor.info.node, actor.info.node_instance, 0, -1};
      if (actor.info.placement_group) {
        slot.group = actor.info.placement_group->group;
        slot.bundle = actor.info.placement_group->bundle_index;
      }
      NodeRecord* node = live_node(slot.node, slot.instance);
      bool reserved = false;
      if (node != nullptr) {
        const ResourceSet* pool = &node->info.available;
        if (slot.group != 0) {
          auto group = groups_.find(slot.group);
          const bool bundle_here = group != groups_.end() &&
                                   group->second.info.state != PlacementGroupState::kRemoved && slot.bundle >= 0 &&
                                   static_cast<size_t>(slot.bundle) < group->second.bundle_free.size() &&
                                   group->second.info.bundle_nodes[slot.bundle] == slot.node;
          pool = bundle_here ? &group->second.bundle_free[slot.bundle] : nullptr;
        }
        if (pool != nullptr && actor.options.resources.fits_in(*pool)) {
          debit(slot, actor.options.resources);
          actor.slot = slot;
          node->actors.insert(id);
          node->actor_digest ^= actor_digest_term(id, actor.info.incarnation);
          node->info.actors = node->actors.size();
          reserved = true;
        }
      }
      if (!reserved) lost.push_back(id);
    } else {
      // PENDING or RESTARTING: whatever creation was in flight is unknown; place it again (new incarnation).
      actor.info.node = kNoNode;
      actor.info.node_instance = 0;
      actor.queue_key = enqueue_actor(actor);
    }
  }
  for (ActorId id : lost) {
    actor_life_ended(actors_.at(id), "its node was lost while the control store was down", true);
  }
  kv_entries_ = env_.storage.scan(kKvPrefix).size();
  persist_meta();
}

Task<void> ControlStore::start() {
  // The new epoch must be durable before anything is granted under it (lease ids carry it). No attempt limit:
  // without durable storage the control store has nothing to offer, so it keeps trying, one heartbeat apart.
  while (true) {
    Status synced = co_await sync();
    if (synced.ok()) break;
    env_.log.write(LogLevel::kError, "control", "storage sync failed at start-up; retrying: " + synced.error().message);
    co_await sleep(env_.clock, options_.heartbeat_period);
  }
  ready_ = true;
  ready_waiters_.notify_all();
  scope_.spawn(detect_failures());
  request_schedule();
}

Task<Status> ControlStore::sync() {
  if (!next_sync_) next_sync_ = std::make_shared<SyncBatch>(env_.clock);
  std::shared_ptr<SyncBatch> batch = next_sync_;  // its sync starts after this call: it covers our writes
  if (!syncing_) {
    syncing_ = true;
    scope_.spawn(run_syncs());
  }
  co_await batch->done.wait();
  co_return batch->result;
}

Task<void> ControlStore::run_syncs() {
  while (next_sync_) {
    std::shared_ptr<SyncBatch> batch = std::move(next_sync_);
    next_sync_.reset();
    write_behind();
    batch->result = co_await env_.storage.sync();
    batch->done.set();
  }
  syncing_ = false;
}

void ControlStore::persist_meta() { meta_dirty_ = true; }

void ControlStore::write_behind() {
  if (meta_dirty_) {
    meta_dirty_ = false;
    env_.storage.put(kMetaKey, encode(DurableMeta{epoch_, next_actor_id_, next_group_id_}));
  }
  for (ActorId id : dirty_actors_) {
    auto it = actors_.find(id);
    if (it == actors_.end() || !it->second.persist_pending) continue;  // forgotten (its key erased) since
    const ActorRecord& actor = it->second;
    it->second.persist_pending = false;
    env_.storage.put(actor_key(id), encode(DurableActor{actor.info, actor.options, actor.args, actor.client,
                                                         actor.request, actor.creation_attempts}));
  }
  dirty_actors_.clear();
}

void ControlStore::persist_node(const NodeRecord& node) { env_.storage.put(node_key(node.info.node), encode(node.info)); }

void ControlStore::persist_actor(ActorRecord& actor) {
  if (actor.persist_pending) return;
  actor.persist_pending = true;
  dirty_actors_.push_back(actor.info.id);
}

void ControlStore::persist_group(const GroupRecord& group) {
  env_.storage.put(group_key(group.info.id),
                   encode(DurableGroup{group.info, group.bundle_instances, group.client, group.request}));
}

void ControlStore::persist_soon() {
  if (sync_posted_) return;
  sync_posted_ = true;
  scope_.spawn(sync_later());
}

Task<void> ControlStore::sync_later() {
  co_await yield(env_.clock);
  sync_posted_ = false;
  Status synced = co_await sync();
  if (!synced.ok()) env_.log.write(LogLevel::kWarning, "control", "background sync failed: " + synced.error().message);
}

// --- Read-only views -------------------------------------------------------------------------------------

std::vector<ActorInfo> ControlStore::actors() const {
  std::vector<ActorInfo> out;
  out.reserve(actors_.size());
  for (const auto& [id, actor] : actors_) out.push_back(actor.info);
  return out;
}

std::optional<ActorInfo> ControlStore::actor(ActorId id) const {
  auto it = actors_.find(id);
  if (it == actors_.end()) return std::nullopt;
  return it->second.info;
}

std::vector<NodeInfo> ControlStore::nodes() const {
  std::vector<NodeInfo> out;
  for (const auto& [id, node] : nodes_) out.push_back(node.info);
  return out;
}

std::vector<PlacementGroupInfo> ControlStore::placement_groups() const {
  std::vector<PlacementGroupInfo> out;
  for (const auto& [id, group] : groups_) out.push_back(group.info);
  return out;
}

std::string ControlStore::why_waiting(const SchedulingSpec& spec) const {
  if (spec.placement_group) {
    auto group = groups_.find(spec.placement_group->group);
    if (group == groups_.end()) return "its placement group is gone";
    if (group->second.info.state != PlacementGroupState::kCreated) {
      return "placement group " + std::to_string(group->first) + " is not placed yet";
    }
    return "no bundle of placement group " + std::to_string(group->first) + " has enough free resources";
  }
  return explain_unplaceable(scheduler_view(), spec);
}

std::vector<PendingRequest> ControlStore::pending() const {
  std::vector<PendingRequest> out;
  for (const auto& [key, entry] : queue_) {
    PendingRequest request;
    switch (entry.kind) {
      case QueueKind::kActor: {
        const ActorRecord& actor = actors_.at(entry.id);
        request.kind = PendingRequest::Kind::kActor;
        request.id = entry.id;
        request.what = describe_actor(actor.info);
        request.spec = actor.options.scheduling();
        request.since = actor.pending_since;
        break;
      }
      case QueueKind::kLease: {
        const LeaseRequestRecord& lease = lease_requests_.at(entry.lease_key);
        request.kind = PendingRequest::Kind::kTask;
        request.id = entry.lease_key.second;
        request.what = "task " + lease.request.function;
        request.spec = lease.request.spec;
        request.since = lease.since;
        break;
      }
      case QueueKind::kGroup: {
        const GroupRecord& group = groups_.at(entry.id);
        request.kind = PendingRequest::Kind::kPlacementGroup;
        request.id = entry.id;
        request.what = "placement group " + std::to_string(entry.id) +
                       (group.info.name.empty() ? "" : " '" + group.info.name + "'") + " (" +
                       std::to_string(group.info.bundles.size()) + " bundles, " +
                       std::string(bundle_strategy_name(group.info.strategy)) + ")";
        request.spec.labels = group.info.labels;
        request.since = group.pending_since;
        request.reason = "not every bundle fits on the alive nodes now";
        out.push_back(std::move(request));
        continue;
      }
    }
    request.reason = why_waiting(request.spec);
    out.push_back(std::move(request));
  }
  return out;
}

// --- Scheduling ------------------------------------------------------------------------------------------

std::vector<SchedulerNode> ControlStore::scheduler_view() const {
  std::vector<SchedulerNode> view;
  view.reserve(nodes_.size());
  for (const auto& [id, node] : nodes_) {
    view.push_back(SchedulerNode{id, node.info.alive && !node.refused_creation, &node.info.total, &node.info.available, &node.info.labels,
                                 &node.envs, node.actors.size() + node.leases.size()});
  }
  return view;
}

ControlStore::NodeRecord* ControlStore::live_node(NodeId node, NodeInstance instance) {
  auto it = nodes_.find(node);
  if (it == nodes_.end() || !it->second.info.alive || it->second.info.instance != instance) return nullptr;
  return &it->second;
}

Status ControlStore::check_feasible(const SchedulingSpec& spec) const {
  if (spec.placement_group) {
    auto group = groups_.find(spec.placement_group->group);
    if (group == groups_.end()) {
      return Error{Errc::kNotFound, "no placement group " + std::to_string(spec.placement_group->group)};
    }
    const PlacementGroupInfo& info = group->second.info;
    if (info.state == PlacementGroupState::kRemoved) {
      return Error{Errc::kFailedPrecondition, "placement group " + std::to_string(info.id) + " was removed"};
    }
    const int32_t index = spec.placement_group->bundle_index;
    if (index >= static_cast<int32_t>(info.bundles.size())) {
      return Error{Errc::kInvalidArgument, "placement group " + std::to_string(info.id) + " has " +
                                               std::to_string(info.bundles.size()) + " bundles; bundle_index " +
                                               std::to_string(index) + " is out of range"};
    }
    for (size_t b = 0; b < info.bundles.size(); ++b) {
      if (index >= 0 && static_cast<size_t>(index) != b) continue;
      if (spec.resources.fits_in(info.bundles[b])) return Status{};
    }
    return Error{Errc::kResourceExhausted, "the request (" + spec.resources.to_string() +
                                               ") is larger than any bundle of placement group " +
                                               std::to_string(info.id) + " it may use"};
  }
  const std::vector<SchedulerNode> view = scheduler_view();
  if (view.empty()) return Status{};  // the cluster is still forming: wait for nodes
  if (spec.node_affinity && !spec.node_affinity->soft && nodes_.count(spec.node_affinity->node) == 0) {
    return Error{Errc::kInvalidArgument,
                 "node affinity to node " + std::to_string(spec.node_affinity->node) + ", which is not in the cluster"};
  }
  if (ever_feasible(view, spec.resources, spec.labels, spec.node_affinity)) return Status{};
  // Say what the cluster offers at most, per requested resource, on nodes with the right labels.
  std::string largest;
  for (const auto& [name, units] : spec.resources.all_units()) {
    double best = 0;
    for (const SchedulerNode& node : view) {
      if (spec.labels.matches(*node.labels)) best = std::max(best, node.total->get(name));
    }
    largest += (largest.empty() ? "" : ", ") + name + " " + std::to_string(best);
  }
  return Error{Errc::kResourceExhausted,
               "no node of this cluster could ever run it: it needs " + spec.to_string() + "; " +
                   std::to_string(view.size()) + " known nodes offer at most " +
                   (largest.empty() ? std::string("nothing matching") : largest)};
}

std::optional<ControlStore::Slot> ControlStore::find_slot(const SchedulingSpec& spec,
                                                          std::vector<SchedulerNode>& view) {
  if (spec.placement_group) {
    auto it = groups_.find(spec.placement_group->group);
    if (it == groups_.end() || it->second.info.state != PlacementGroupState::kCreated) return std::nullopt;
    GroupRecord& group = it->second;
    for (size_t b = 0; b < group.info.bundles.size(); ++b) {
      if (spec.placement_group->bundle_index >= 0 && static_cast<size_t>(spec.placement_group->bundle_index) != b) {
        continue;
      }
      NodeRecord* node = live_node(group.info.bundle_nodes[b], group.bundle_instances[b]);
      if (node == nullptr || !spec.labels.matches(node->info.labels)) continue;
      if (spec.resources.fits_in(group.bundle_free[b])) {
        return Slot{node->info.node, node->info.instance, group.info.id, static_cast<int32_t>(b)};
      }
    }
    return std::nullopt;
  }
  std::optional<NodeId> chosen = pick_node(view, spec, spread_cursor_);
  if (!chosen) return std::nullopt;
  return Slot{*chosen, nodes_.at(*chosen).info.instance, 0, -1};
}

namespace {
void count_placement(std::vector<SchedulerNode>& view, NodeId node) {
  auto it = std::lower_bound(view.begin(), view.end(), node,
                             [](const SchedulerNode& entry, NodeId id) { return entry.id < id; });
  if (it != view.end() && it->id == node) ++it->placements;
}
}  // namespace

void ControlStore::request_schedule() {
  if (schedule_posted_ || !ready_) return;
  schedule_posted_ = true;
  scope_.spawn(schedule_soon());
}

Task<void> ControlStore::schedule_soon() {
  co_await yield(env_.clock);
  schedule_posted_ = false;
  schedule_pass();
}

void ControlStore::schedule_pass() {
  std::vector<SchedulerNode> view = scheduler_view();
  // Placement groups and requests bound to one: few, each judged on its own, in arrival order.
  const std::vector<uint64_t> special(special_.begin(), special_.end());
  for (uint64_t key : special) {
    auto it = queue_.find(key);
    if (it == queue_.end()) continue;
    const QueueEntry entry = it->second;
    switch (entry.kind) {
      case QueueKind::kActor: try_place_actor(actors_.at(entry.id), view); break;
      case QueueKind::kLease: try_grant_lease(lease_requests_.at(entry.lease_key), view); break;
      case QueueKind::kGroup: try_place_group(groups_.at(entry.id), view); break;
    }
  }
  // Everything else by shape (identical scheduling specs), the shape whose oldest request is oldest first:
  // requests of one shape are placed from the oldest until one does not fit, and the rest of that shape then
  // cannot fit either. A pass costs O(shapes + placements), not O(waiting requests).
  std::vector<std::pair<uint64_t, Bytes>> heads;
  heads.reserve(shapes_.size());
  for (const auto& [shape, keys] : shapes_) heads.emplace_back(*keys.begin(), shape);
  std::sort(heads.begin(), heads.end());
  for (const auto& [head, shape] : heads) {
    while (true) {
      auto waiting = shapes_.find(shape);
      if (waiting == shapes_.end()) break;
      const QueueEntry entry = queue_.at(*waiting->second.begin());
      const bool placed = entry.kind == QueueKind::kActor
                              ? try_place_actor(actors_.at(entry.id), view)
                              : try_grant_lease(lease_requests_.at(entry.lease_key), view);
      if (!placed) break;
    }
  }
  update_gauges();
}

bool ControlStore::try_place_actor(ActorRecord& actor, std::vector<SchedulerNode>& view) {
  std::optional<Slot> slot = find_slot(actor.options.scheduling(), view);
  if (!slot) return false;
  dequeue(actor.queue_key);
  place_actor(actor, *slot);
  count_placement(view, slot->node);
  return true;
}

bool ControlStore::try_grant_lease(LeaseRequestRecord& request, std::vector<SchedulerNode>& view) {
  const SchedulingSpec& spec = request.request.spec;
  std::optional<Slot> slot = find_slot(spec, view);
  if (!slot) return false;
  dequeue(request.queue_key);
  const LeaseId id = (epoch_ << 40) | next_lease_sequence_++;
  debit(*slot, spec.resources);
  leases_.emplace(id, LeaseRecord{id, *slot, spec.resources, env_.clock.now(), request.request.client,
                                  request.request.request});
  NodeRecord& node = nodes_.at(slot->node);
  node.leases.insert(id);
  node.info.leases = node.leases.size();
  request.granted = id;
  if (request.waiters) request.waiters->notify_all();
  leases_granted_.increment();
  count_placement(view, slot->node);
  return true;
}

void ControlStore::try_place_group(GroupRecord& group, std::vector<SchedulerNode>& view) {
  const size_t count = group.info.bundles.size();
  std::vector<std::optional<NodeId>> placed(count);
  for (size_t b = 0; b < count; ++b) {
    if (live_node(group.info.bundle_nodes[b], group.bundle_instances[b]) != nullptr) {
      placed[b] = group.info.bundle_nodes[b];
    } else {
      group.info.bundle_nodes[b] = kNoNode;
      group.bundle_instances[b] = 0;
      group.bundle_free[b] = ResourceSet{};
    }
  }
  std::optional<std::vector<NodeId>> result =
      place_bundles(view, group.info.bundles, placed, group.info.strategy, group.info.labels);
  if (!result) return;
  for (size_t b = 0; b < count; ++b) {
    if (placed[b]) continue;
    NodeRecord& node = nodes_.at((*result)[b]);
    node.info.available.subtract(group.info.bundles[b]);
    group.info.bundle_nodes[b] = node.info.node;
    group.bundle_instances[b] = node.info.instance;
    group.bundle_free[b] = group.info.bundles[b];
    count_placement(view, node.info.node);
  }
  dequeue(group.queue_key);
  group.info.state = PlacementGroupState::kCreated;
  persist_group(group);
  persist_soon();
  if (group.waiters) group.waiters->notify_all();
}

uint64_t ControlStore::enqueue(QueueEntry entry, const SchedulingSpec* spec) {
  const uint64_t key = next_queue_key_++;
  if (spec != nullptr && !spec->placement_group) {
    entry.shape = encode(*spec);
    shapes_[entry.shape].insert(key);
  } else {
    special_.insert(key);
  }
  queue_.emplace(key, std::move(entry));
  return key;
}

uint64_t ControlStore::enqueue_actor(ActorRecord& actor) {
  const SchedulingSpec spec = actor.options.scheduling();
  actor.pending_since = env_.clock.now();
  return enqueue(QueueEntry{QueueKind::kActor, actor.info.id, {}, {}}, &spec);
}

void ControlStore::dequeue(uint64_t& queue_key) {
  if (queue_key == 0) return;
  auto it = queue_.find(queue_key);
  if (it != queue_.end()) {
    if (it->second.shape.empty()) {
      special_.erase(queue_key);
    } else if (auto shape = shapes_.find(it->second.shape); shape != shapes_.end()) {
      shape->second.erase(queue_key);
      if (shape->second.empty()) shapes_.erase(shape);
    }
    queue_.erase(it);
  }
  queue_key = 0;
}

void ControlStore::debit(const Slot& slot, const ResourceSet& resources) {
  NodeRecord* node = live_node(slot.node, slot.instance);
  TANDEM_CHECK(node != nullptr, "reserving resources on a node that is not alive");
  if (slot.group != 0) {
    GroupRecord& group = groups_.at(slot.group);
    ResourceSet& free = group.bundle_free.at(static_cast<size_t>(slot.bundle));
    TANDEM_CHECK(resources.fits_in(free), "reserving more than a bundle has free");
    free.subtract(resources);
    return;
  }
  TANDEM_CHECK(resources.fits_in(node->info.available), "reserving more than a node has free");
  node->info.available.subtract(resources);
}

void ControlStore::credit(const Slot& slot, const ResourceSet& resources) {
  NodeRecord* node = live_node(slot.node, slot.instance);
  if (node == nullptr) return;  // the node died: its whole capacity was reset then
  if (slot.group != 0) {
    auto it = groups_.find(slot.group);
    if (it != groups_.end()) {
      GroupRecord& group = it->second;
      const auto b = static_cast<size_t>(slot.bundle);
      if (group.info.state != PlacementGroupState::kRemoved && b < group.bundle_free.size() &&
          group.info.bundle_nodes[b] == slot.node && group.bundle_instances[b] == slot.instance) {
        group.bundle_free[b].add(resources);
        TANDEM_CHECK(group.bundle_free[b].fits_in(group.info.bundles[b]), "a bundle got back more than it holds");
        return;
      }
    }
    // The group is gone: its bundle returned only its unused part to the node, the rest comes back here.
  }
  node->info.available.add(resources);
  TANDEM_CHECK(node->info.available.fits_in(node->info.total), "a node got back more than its total");
}

// --- Actor lifecycle -------------------------------------------------------------------------------------

bool ControlStore::restarts_left(const ActorRecord& actor) const {
  return actor.info.max_restarts == kUnlimited || actor.info.restarts_used < actor.info.max_restarts;
}

void ControlStore::transition(ActorRecord& actor, ActorState to) {
  TANDEM_CHECK(legal_transition(actor.info.state, to), "an actor transition the lifecycle does not allow");
  actor.info.state = to;
}

void ControlStore::place_actor(ActorRecord& actor, const Slot& slot) {
  debit(slot, actor.options.resources);
  actor.slot = slot;
  actor.info.node = slot.node;
  actor.info.node_instance = slot.instance;
  actor.info.incarnation += 1;
  actor.info.placement_group.reset();
  if (slot.group != 0) actor.info.placement_group = BundleRef{slot.group, slot.bundle};
  actor.creating = true;
  ++actor.creation_attempts;
  NodeRecord& node = nodes_.at(slot.node);
  node.actors.insert(actor.info.id);
  node.actor_digest ^= actor_digest_term(actor.info.id, actor.info.incarnation);
  node.info.actors = node.actors.size();
  persist_actor(actor);
  scope_.spawn(create_on_node(actor.info.id, actor.info.incarnation));
}

void ControlStore::detach_actor(ActorRecord& actor) {
  if (actor.slot) {
    credit(*actor.slot, actor.options.resources);
    actor.slot.reset();
  }
  if (actor.info.node != kNoNode) {
    auto node = nodes_.find(actor.info.node);
    if (node != nodes_.end() && node->second.info.instance == actor.info.node_instance &&
        node->second.actors.erase(actor.info.id) > 0) {
      node->second.actor_digest ^= actor_digest_term(actor.info.id, actor.info.incarnation);
      node->second.info.actors = node->second.actors.size();
    }
  }
  actor.info.node = kNoNode;
  actor.info.node_instance = 0;
  actor.creating = false;
}

void ControlStore::notify_actor(ActorRecord& actor) {
  if (actor.waiters) actor.waiters->notify_all();
}

void ControlStore::actor_life_ended(ActorRecord& actor, const std::string& cause, bool restart_allowed) {
  const ActorState before = actor.info.state;
  if (before == ActorState::kDead) return;
  detach_actor(actor);
  if (before == ActorState::kAlive) {
    if (!restart_allowed || !restarts_left(actor)) {
      mark_dead(actor, cause);
      return;
    }
    transition(actor, ActorState::kRestarting);
    ++actor.info.restarts_used;
    TANDEM_CHECK(actor.info.max_restarts == kUnlimited || actor.info.restarts_used <= actor.info.max_restarts,
                 "an actor restarted more often than max_restarts allows");
    actor_restarts_.increment();
    metrics_.counter("runtime_actor_restarts_by_class_total", {{"class", actor.info.class_name}}).increment();
    actor.queue_key = enqueue_actor(actor);
    persist_actor(actor);
    notify_actor(actor);
    kill_children(actor.info.id, kNoNode, describe_actor(actor.info) + " restarted");
  } else {
    // A creation in flight was lost with its node: back to the queue, no restart counted.
    if (actor.queue_key == 0) actor.queue_key = enqueue_actor(actor);
    persist_actor(actor);
    notify_actor(actor);
  }
  request_schedule();
  persist_soon();
}

void ControlStore::mark_dead(ActorRecord& actor, const std::string& cause) {
  if (actor.info.state == ActorState::kDead) return;
  detach_actor(actor);
  dequeue(actor.queue_key);
  transition(actor, ActorState::kDead);
  actor.info.death_cause = cause;
  const ActorId id = actor.info.id;
  if (auto name = names_.find(actor.info.name); name != names_.end() && name->second == id) names_.erase(name);
  if (!actor.info.detached) {
    if (actor.info.owner.actor != kNoActor) {
      if (auto it = children_.find(actor.info.owner.actor); it != children_.end()) it->second.erase(id);
    } else if (auto it = node_owned_.find(actor.info.owner.node); it != node_owned_.end()) {
      it->second.erase(id);
    }
  }
  if (actor.options.placement_group) {
    if (auto group = groups_.find(actor.options.placement_group->group); group != groups_.end()) {
      group->second.actors.erase(id);
    }
  }
  dead_order_.push_back(id);
  actor_deaths_.increment();
  persist_actor(actor);
  notify_actor(actor);
  kill_children(id, kNoNode, describe_actor(actor.info) + " died");
  request_schedule();
  persist_soon();
  forget_oldest_dead_actors();
}

void ControlStore::kill_children(ActorId owner, NodeId owner_node, const std::string& cause) {
  std::vector<ActorId> doomed;
  if (owner != kNoActor) {
    if (auto it = children_.find(owner); it != children_.end()) {
      doomed.assign(it->second.begin(), it->second.end());
      children_.erase(it);
    }
  } else if (auto it = node_owned_.find(owner_node); it != node_owned_.end()) {
    doomed.assign(it->second.begin(), it->second.end());
    node_owned_.erase(it);
  }
  for (ActorId id : doomed) {
    auto it = actors_.find(id);
    if (it == actors_.end() || it->second.info.state == ActorState::kDead) continue;
    ActorRecord& child = it->second;
    if (child.info.node != kNoNode) {
      send_kill(child.info.node, child.info.node_instance, id, child.info.incarnation, "its owner died");
    }
    mark_dead(child, "its owner died: " + cause);
  }
}

void ControlStore::forget_oldest_dead_actors() {
  while (dead_order_.size() > options_.max_dead_actors_kept) {
    const ActorId id = dead_order_.front();
    dead_order_.pop_front();
    auto it = actors_.find(id);
    if (it == actors_.end()) continue;
    if (it->second.waiters && it->second.waiters->waiting() > 0) {
      dead_order_.push_back(id);  // someone still polls it; forget it later
      break;
    }
    creations_.erase({it->second.client, it->second.request});
    actors_.erase(it);  // (a pending write-behind of its record is dropped with it)
    env_.storage.erase(actor_key(id));
  }
}

void ControlStore::send_kill(NodeId node, NodeInstance instance, ActorId actor, uint64_t incarnation,
                             std::string cause) {
  KillActorOnNodeRequest request{instance, actor, incarnation, std::move(cause)};
  scope_.spawn([](RpcEndpoint& endpoint, Address to, Bytes bytes, Duration timeout) -> Task<void> {
    // Best effort: a kill that is lost is repaired by the next heartbeat's actor digest.
    (void)co_await endpoint.call(to, kKillActorOnNode, std::move(bytes), timeout);
  }(endpoint_, Address{node, kNodeDaemonPort}, encode(request), options_.heartbeat_period * 2));
}

Task<void> ControlStore::create_on_node(ActorId id, uint64_t incarnation) {
  (void)co_await sync();  // the placement is durable before the node acts on it
  auto it = actors_.find(id);
  if (it == actors_.end() || it->second.info.incarnation != incarnation || !it->second.creating) co_return;
  CreateActorOnNodeRequest request{it->second.info.node_instance, it->second.info, it->second.options,
                                   it->second.args};
  const Address target = it->second.info.address();
  Result<Bytes> reply =
      co_await endpoint_.call(target, kCreateActorOnNode, encode(request), options_.actor_creation_timeout);
  it = actors_.find(id);
  if (it == actors_.end() || it->second.info.incarnation != incarnation || !it->second.creating) co_return;
  ActorRecord& actor = it->second;
  actor.creating = false;
  if (reply.ok()) {
    transition(actor, ActorState::kAlive);
    persist_actor(actor);
    (void)co_await sync();
    it = actors_.find(id);
    if (it != actors_.end()) notify_actor(it->second);
    co_return;
  }
  const Errc code = reply.error().code;
  const bool retryable = code == Errc::kUnreachable || code == Errc::kPeerDied || code == Errc::kTimeout ||
                         code == Errc::kUnavailable;
  const NodeId node = actor.info.node;
  const NodeInstance instance = actor.info.node_instance;
  detach_actor(actor);
  if (code == Errc::kTimeout) send_kill(node, instance, id, incarnation, "its creation timed out");
  if (code == Errc::kUnreachable || code == Errc::kPeerDied) {
    // Refused before any daemon saw it: not an attempt that failed, and not a node to try again right away.
    --actor.creation_attempts;
    auto refused = nodes_.find(node);
    if (refused != nodes_.end() && refused->second.info.instance == instance) refused->second.refused_creation = true;
  }
  if (retryable && actor.creation_attempts < options_.max_creation_attempts) {
    actor.queue_key = enqueue_actor(actor);
    persist_actor(actor);
    request_schedule();
    persist_soon();
    co_return;
  }
  mark_dead(actor, "its creation failed on node " + std::to_string(node) + ": " + reply.error().to_string());
}

// --- Nodes, leases, groups -----------------------------------------------------------------------------------

Task<void> ControlStore::detect_failures() {
  while (true) {
    co_await sleep(env_.clock, options_.heartbeat_period);
    const TimePoint now = env_.clock.now();
    const Duration limit = options_.heartbeat_period * options_.heartbeat_miss_limit;
    std::vector<NodeId> dead;
    for (const auto& [id, node] : nodes_) {
      if (node.info.alive && now - node.last_heartbeat > limit) dead.push_back(id);
    }
    for (NodeId id : dead) {
      NodeRecord& node = nodes_.at(id);
      declare_node_dead(node, "no heartbeat for " + format_duration(now - node.last_heartbeat) + " (limit " +
                                  format_duration(limit) + ")");
    }
    // Lease requests nobody polls any more (the submitter gave up or died).
    for (auto it = lease_requests_.begin(); it != lease_requests_.end();) {
      LeaseRequestRecord& request = it->second;
      if (request.granted == 0 && now - request.last_polled > options_.lease_request_ttl &&
          (!request.waiters || request.waiters->waiting() == 0)) {
        dequeue(request.queue_key);
        it = lease_requests_.erase(it);
      } else {
        ++it;
      }
    }
  }
}

void ControlStore::declare_node_dead(NodeRecord& node, const std::string& cause) {
  if (!node.info.alive) return;
  const NodeId id = node.info.node;
  env_.log.write(LogLevel::kInfo, "control", "node " + std::to_string(id) + " is dead: " + cause);
  node.info.alive = false;
  node.info.death_cause = cause;
  node_deaths_.increment();
  ++node_version_;
  node_events_.push_back(NodeEvent{node_version_, NodeIncarnation{id, node.info.instance}});
  while (node_events_.size() > options_.max_node_event_log) {
    dropped_node_version_ = node_events_.front().version;
    node_events_.pop_front();
  }
  node_waiters_.notify_all();

  const std::vector<ActorId> on_node(node.actors.begin(), node.actors.end());
  for (ActorId actor : on_node) {
    actor_life_ended(actors_.at(actor), "node " + std::to_string(id) + " died (" + cause + ")", true);
  }
  const std::vector<LeaseId> leases(node.leases.begin(), node.leases.end());
  for (LeaseId lease : leases) release_lease(lease);
  node.actors.clear();
  node.actor_digest = 0;
  node.leases.clear();
  node.info.available = node.info.total;
  node.info.actors = 0;
  node.info.leases = 0;
  unplace_group_bundles_on(id);
  kill_children(kNoActor, id, "the drivers of node " + std::to_string(id) + " died with it");
  persist_node(node);
  persist_soon();
  request_schedule();
  update_gauges();
}

void ControlStore::release_lease(LeaseId id) {
  auto it = leases_.find(id);
  if (it == leases_.end()) return;
  const LeaseRecord lease = it->second;
  leases_.erase(it);
  credit(lease.slot, lease.resources);
  if (auto node = nodes_.find(lease.slot.node); node != nodes_.end() && node->second.leases.erase(id) > 0) {
    node->second.info.leases = node->second.leases.size();
  }
  if (auto request = lease_requests_.find({lease.client, lease.request});
      request != lease_requests_.end() && request->second.granted == id) {
    lease_requests_.erase(request);
  }
  request_schedule();
}

void ControlStore::unplace_group_bundles_on(NodeId node) {
  for (auto& [id, group] : groups_) {
    if (group.info.state == PlacementGroupState::kRemoved) continue;
    bool changed = false;
    for (size_t b = 0; b < group.info.bundles.size(); ++b) {
      if (group.info.bundle_nodes[b] != node) continue;
      group.info.bundle_nodes[b] = kNoNode;
      group.bundle_instances[b] = 0;
      group.bundle_free[b] = ResourceSet{};
      changed = true;
    }
    if (!changed) continue;
    group.info.state = PlacementGroupState::kPending;
    if (group.queue_key == 0) {
      group.pending_since = env_.clock.now();
      group.queue_key = enqueue(QueueEntry{QueueKind::kGroup, id, {}, {}}, nullptr);
    }
    persist_group(group);
    if (group.waiters) group.waiters->notify_all();
  }
}

void ControlStore::remove_group(GroupRecord& group, const std::string& cause) {
  for (size_t b = 0; b < group.info.bundles.size(); ++b) {
    NodeRecord* node = live_node(group.info.bundle_nodes[b], group.bundle_instances[b]);
    if (node != nullptr) {
      node->info.available.add(group.bundle_free[b]);  // the unused part; the rest returns as users release it
      TANDEM_CHECK(node->info.available.fits_in(node->info.total), "a node got back more than its total");
    }
    group.bundle_free[b] = ResourceSet{};
  }
  group.info.state = PlacementGroupState::kRemoved;
  removed_groups_.push_back(group.info.id);
  dequeue(group.queue_key);
  const std::vector<ActorId> members(group.actors.begin(), group.actors.end());
  for (ActorId id : members) {
    auto it = actors_.find(id);
    if (it == actors_.end()) continue;
    ActorRecord& actor = it->second;
    if (actor.info.node != kNoNode) {
      send_kill(actor.info.node, actor.info.node_instance, id, actor.info.incarnation, cause);
    }
    mark_dead(actor, "its placement group " + std::to_string(group.info.id) + " was removed");
  }
  group.actors.clear();
  for (auto& [key, request] : lease_requests_) {
    if (request.granted != 0 || !request.request.spec.placement_group ||
        request.request.spec.placement_group->group != group.info.id) {
      continue;
    }
    dequeue(request.queue_key);
    request.failed = Error{Errc::kFailedPrecondition,
                           "placement group " + std::to_string(group.info.id) + " was removed"};
    if (request.waiters) request.waiters->notify_all();
  }
  persist_group(group);
  if (group.waiters) group.waiters->notify_all();
  request_schedule();
}

void ControlStore::forget_removed_groups() {
  while (removed_groups_.size() > options_.max_removed_groups_kept) {
    const PlacementGroupId id = removed_groups_.front();
    removed_groups_.pop_front();
    auto it = groups_.find(id);
    if (it == groups_.end()) continue;
    if (it->second.waiters && it->second.waiters->waiting() > 0) {
      removed_groups_.push_back(id);  // someone still polls it; forget it later
      break;
    }
    group_creations_.erase({it->second.client, it->second.request});
    groups_.erase(it);
    env_.storage.erase(group_key(id));
  }
}

void ControlStore::update_gauges() {
  size_t alive = 0;
  for (const auto& [id, node] : nodes_) alive += node.info.alive ? 1 : 0;
  metrics_.gauge("runtime_nodes_alive").set(static_cast<double>(alive));
  metrics_.gauge("runtime_pending_requests").set(static_cast<double>(queue_.size()));
  metrics_.gauge("runtime_actors_not_dead").set(static_cast<double>(live_actor_count()));
  metrics_.gauge("runtime_leases").set(static_cast<double>(leases_.size()));
}

// --- Handlers: nodes -----------------------------------------------------------------------------------------

Task<Result<Bytes>> ControlStore::handle_register_node(Address from, Bytes bytes) {
  Result<RegisterNodeRequest> decoded = decode_request<RegisterNodeRequest>(bytes, "RegisterNode");
  if (!decoded.ok()) co_return decoded.error();
  RegisterNodeRequest& request = decoded.value();
  if (request.node != from.node) {
    co_return Error{Errc::kInvalidArgument, "a node daemon registers its own node only"};
  }
  if (request.instance == 0) co_return Error{Errc::kInvalidArgument, "a node instance must not be 0"};
  auto it = nodes_.find(request.node);
  if (it != nodes_.end() && it->second.info.alive && it->second.info.instance == request.instance) {
    co_return encode(RegisterNodeReply{epoch_, options_.heartbeat_period});  // a retry of a registration that already took
  }
  if (it == nodes_.end() && nodes_.size() >= options_.max_nodes) {
    co_return Error{Errc::kResourceExhausted, "the cluster already has max_nodes nodes"};
  }
  if (it != nodes_.end() && it->second.info.alive) {
    declare_node_dead(it->second, "it registered again as a new instance (restarted)");
  }
  NodeRecord& node = nodes_[request.node];
  node.info = NodeInfo{request.node,    request.instance, true, request.total, request.total, request.labels,
                       request.runtime_envs, 0, 0, ""};
  node.envs = std::set<std::string, std::less<>>(request.runtime_envs.begin(), request.runtime_envs.end());
  node.last_heartbeat = env_.clock.now();
  node.actors.clear();
  node.actor_digest = 0;
  node.leases.clear();
  persist_node(node);
  Status synced = co_await sync();
  if (!synced.ok()) co_return storage_failed(synced);
  request_schedule();
  update_gauges();
  co_return encode(RegisterNodeReply{epoch_, options_.heartbeat_period});
}

Task<Result<Bytes>> ControlStore::handle_heartbeat(Address from, Bytes bytes) {
  (void)from;
  Result<HeartbeatRequest> decoded = decode_request<HeartbeatRequest>(bytes, "Heartbeat");
  if (!decoded.ok()) co_return decoded.error();
  const HeartbeatRequest& request = decoded.value();
  HeartbeatReply reply;
  auto it = nodes_.find(request.node);
  if (it == nodes_.end() || !it->second.info.alive || it->second.info.instance != request.instance) {
    reply.known = false;
    co_return encode(reply);
  }
  NodeRecord& node = it->second;
  const TimePoint now = env_.clock.now();
  node.last_heartbeat = now;
  if (node.refused_creation) {
    node.refused_creation = false;  // it answers again: placements may go there
    request_schedule();
  }
  if (request.runtime_envs != node.info.runtime_envs) {
    node.info.runtime_envs = request.runtime_envs;
    node.envs = std::set<std::string, std::less<>>(request.runtime_envs.begin(), request.runtime_envs.end());
  }

  // Leases: free granted ones the node does not run (never used, or returned and the return was lost), and
  // adopt running ones this control store does not know (it restarted since granting them).
  std::map<LeaseId, const LeaseUsage*> listed;
  for (const LeaseUsage& usage : request.leases) listed.emplace(usage.lease, &usage);
  const std::vector<LeaseId> known(node.leases.begin(), node.leases.end());
  for (LeaseId id : known) {
    const LeaseRecord& lease = leases_.at(id);
    if (listed.count(id) == 0 && now - lease.granted_at >= options_.lease_start_grace) {
      release_lease(id);
      leases_reclaimed_.increment();
    }
  }
  for (const auto& [id, usage] : listed) {
    if (leases_.count(id) > 0 || leases_.size() >= options_.max_leases) continue;
    Slot slot{node.info.node, node.info.instance, 0, -1};
    const ResourceSet* pool = &node.info.available;
    if (usage->bundle) {
      auto group = groups_.find(usage->bundle->group);
      const auto b = static_cast<size_t>(std::max(usage->bundle->bundle_index, 0));
      if (group != groups_.end() && group->second.info.state != PlacementGroupState::kRemoved &&
          usage->bundle->bundle_index >= 0 && b < group->second.bundle_free.size() &&
          group->second.info.bundle_nodes[b] == node.info.node &&
          group->second.bundle_instances[b] == node.info.instance) {
        slot.group = usage->bundle->group;
        slot.bundle = usage->bundle->bundle_index;
        pool = &group->second.bundle_free[b];
      }
    }
    if (!usage->resources.fits_in(*pool)) continue;
    debit(slot, usage->resources);
    leases_.emplace(id, LeaseRecord{id, slot, usage->resources, now, 0, 0});
    node.leases.insert(id);
    node.info.leases = node.leases.size();
  }

  if (request.actor_count != node.actors.size() || request.actor_digest != node.actor_digest) {
    std::vector<ActorIncarnation> expected;
    expected.reserve(node.actors.size());
    for (ActorId id : node.actors) expected.push_back(ActorIncarnation{id, actors_.at(id).info.incarnation});
    reply.expected_actors = std::move(expected);
  }
  co_return encode(reply);
}

Task<Result<Bytes>> ControlStore::handle_watch_nodes(Address from, Bytes bytes) {
  (void)from;
  Result<WatchNodesRequest> decoded = decode_request<WatchNodesRequest>(bytes, "WatchNodes");
  if (!decoded.ok()) co_return decoded.error();
  const WatchNodesRequest request = decoded.value();
  const TimePoint deadline = env_.clock.now() + std::clamp(request.max_wait, Duration::zero(), options_.long_poll_timeout);
  while (node_version_ <= request.after_version && env_.clock.now() < deadline) {
    co_await node_waiters_.wait_until(deadline);
  }
  WatchNodesReply reply;
  reply.version = node_version_;
  reply.truncated = dropped_node_version_ > request.after_version;
  for (const NodeEvent& event : node_events_) {
    if (event.version > request.after_version) reply.dead.push_back(event.node);
  }
  if (reply.truncated) {
    for (const auto& [id, node] : nodes_) {
      if (node.info.alive) reply.alive.push_back(NodeIncarnation{id, node.info.instance});
    }
  }
  co_return encode(reply);
}

Task<Result<Bytes>> ControlStore::handle_list_nodes(Address from, Bytes bytes) {
  (void)from;
  (void)bytes;
  co_return encode(nodes());
}

Task<Result<Bytes>> ControlStore::handle_list_pending(Address from, Bytes bytes) {
  (void)from;
  (void)bytes;
  co_return encode(pending());
}

// --- Handlers: actors ----------------------------------------------------------------------------------------

Task<Result<Bytes>> ControlStore::handle_create_actor(Address from, Bytes bytes) {
  (void)from;
  Result<CreateActorRequest> decoded = decode_request<CreateActorRequest>(bytes, "CreateActor");
  if (!decoded.ok()) co_return decoded.error();
  CreateActorRequest& request = decoded.value();
  const std::pair<ClientId, uint64_t> key{request.client, request.request};
  if (auto done = creations_.find(key); done != creations_.end()) {
    if (auto actor = actors_.find(done->second); actor != actors_.end()) co_return encode(actor->second.info);
  }
  if (Status s = validate_name(request.class_name, "the actor class name"); !s.ok()) co_return s.error();
  if (Status s = request.options.validate(); !s.ok()) co_return s.error();
  if (request.args.size() > kMaxArgsBytes) co_return Error{Errc::kInvalidArgument, "constructor arguments exceed kMaxArgsBytes"};
  if (options_.catalog != nullptr) {
    if (options_.catalog->actor_classes.find(request.class_name) == nullptr) {
      co_return Error{Errc::kNotFound, "unknown actor class '" + request.class_name + "'"};
    }
    if (!request.options.runtime_env.empty() &&
        options_.catalog->find_runtime_env(request.options.runtime_env) == nullptr) {
      co_return Error{Errc::kNotFound, "unknown runtime env '" + request.options.runtime_env + "'"};
    }
  }
  const std::string name = request.options.name;
  if (!name.empty()) {
    if (auto taken = names_.find(name); taken != names_.end()) {
      const ActorRecord& holder = actors_.at(taken->second);
      if (request.options.get_if_exists) co_return encode(holder.info);
      co_return Error{Errc::kAlreadyExists, "the actor name '" + name + "' is taken by " +
                                                describe_actor(holder.info) + ", which is " +
                                                std::string(actor_state_name(holder.info.state))};
    }
  }
  if (request.owner.actor != kNoActor) {
    auto owner = actors_.find(request.owner.actor);
    if (owner == actors_.end() || owner->second.info.state == ActorState::kDead) {
      co_return Error{Errc::kFailedPrecondition,
                      "the owner actor " + std::to_string(request.owner.actor) + " is dead"};
    }
  }
  if (Status s = check_feasible(request.options.scheduling()); !s.ok()) {
    co_return Error{s.error().code, "cannot create " + request.class_name + ": " + s.error().message};
  }
  if (live_actor_count() >= options_.max_actors) {
    co_return Error{Errc::kResourceExhausted, "the cluster already has max_actors live actors"};
  }
  if (queue_.size() >= options_.max_pending_requests) {
    co_return Error{Errc::kResourceExhausted, "max_pending_requests requests are already waiting"};
  }
  const ActorId id = next_actor_id_++;
  persist_meta();
  ActorRecord& actor = actors_[id];
  actor.info.id = id;
  actor.info.class_name = request.class_name;
  actor.info.name = name;
  actor.info.state = ActorState::kPending;
  actor.info.max_restarts = request.options.max_restarts;
  actor.info.max_task_retries = request.options.max_task_retries;
  actor.info.detached = request.options.detached;
  actor.info.owner = request.owner;
  actor.options = std::move(request.options);
  actor.args = std::move(request.args);
  actor.client = request.client;
  actor.request = request.request;
  creations_[key] = id;
  if (!name.empty()) names_[name] = id;
  if (!actor.info.detached) {
    if (actor.info.owner.actor != kNoActor) {
      children_[actor.info.owner.actor].insert(id);
    } else {
      node_owned_[actor.info.owner.node].insert(id);
    }
  }
  if (actor.options.placement_group) groups_.at(actor.options.placement_group->group).actors.insert(id);
  actor.queue_key = enqueue_actor(actor);
  persist_actor(actor);
  actors_created_.increment();
  Status synced = co_await sync();
  if (!synced.ok()) co_return storage_failed(synced);
  request_schedule();
  auto it = actors_.find(id);
  if (it == actors_.end()) co_return Error{Errc::kInternal, "the actor vanished while being registered"};
  co_return encode(it->second.info);
}

Task<Result<Bytes>> ControlStore::handle_get_actor(Address from, Bytes bytes) {
  (void)from;
  Result<GetActorRequest> decoded = decode_request<GetActorRequest>(bytes, "GetActor");
  if (!decoded.ok()) co_return decoded.error();
  const GetActorRequest& request = decoded.value();
  ActorId id = request.actor;
  if (id == kNoActor) {
    auto named = names_.find(request.name);
    if (named == names_.end()) co_return Error{Errc::kNotFound, "no live actor is named '" + request.name + "'"};
    id = named->second;
  }
  auto it = actors_.find(id);
  if (it == actors_.end()) co_return Error{Errc::kNotFound, "no actor " + std::to_string(id)};
  co_return encode(it->second.info);
}

Task<Result<Bytes>> ControlStore::handle_wait_actor(Address from, Bytes bytes) {
  (void)from;
  Result<WaitActorRequest> decoded = decode_request<WaitActorRequest>(bytes, "WaitActor");
  if (!decoded.ok()) co_return decoded.error();
  const WaitActorRequest request = decoded.value();
  const TimePoint deadline =
      env_.clock.now() + std::clamp(request.max_wait, Duration::zero(), options_.long_poll_timeout);
  while (true) {
    auto it = actors_.find(request.actor);
    if (it == actors_.end()) co_return Error{Errc::kNotFound, "no actor " + std::to_string(request.actor)};
    ActorRecord& actor = it->second;
    const bool answer = actor.info.state == ActorState::kDead ||
                        (actor.info.state == ActorState::kAlive && actor.info.incarnation > request.after_incarnation);
    if (answer || env_.clock.now() >= deadline) co_return encode(actor.info);
    if (!actor.waiters) actor.waiters = std::make_unique<WaitList>(env_.clock);
    co_await actor.waiters->wait_until(deadline);
  }
}

Task<Result<Bytes>> ControlStore::handle_list_actors(Address from, Bytes bytes) {
  (void)from;
  Result<ListActorsRequest> decoded = decode_request<ListActorsRequest>(bytes, "ListActors");
  if (!decoded.ok()) co_return decoded.error();
  ActorList list;
  for (const auto& [id, actor] : actors_) {
    if (decoded.value().named_only && actor.info.name.empty()) continue;
    if (!decoded.value().include_dead && actor.info.state == ActorState::kDead) continue;
    list.actors.push_back(actor.info);
  }
  co_return encode(list);
}

Task<Result<Bytes>> ControlStore::handle_kill_actor(Address from, Bytes bytes) {
  (void)from;
  Result<KillActorRequest> decoded = decode_request<KillActorRequest>(bytes, "KillActor");
  if (!decoded.ok()) co_return decoded.error();
  const KillActorRequest& request = decoded.value();
  auto it = actors_.find(request.actor);
  if (it == actors_.end()) co_return Error{Errc::kNotFound, "no actor " + std::to_string(request.actor)};
  ActorRecord& actor = it->second;
  if (actor.info.state == ActorState::kDead) co_return Bytes{};
  if (actor.info.node != kNoNode) {
    send_kill(actor.info.node, actor.info.node_instance, actor.info.id, actor.info.incarnation, request.cause);
  }
  if (request.no_restart) {
    mark_dead(actor, "killed (" + request.cause + ")");
  } else {
    actor_life_ended(actor, "killed (" + request.cause + ")", true);
  }
  Status synced = co_await sync();
  if (!synced.ok()) co_return storage_failed(synced);
  co_return Bytes{};
}

Task<Result<Bytes>> ControlStore::handle_actor_died(Address from, Bytes bytes) {
  (void)from;
  Result<ActorDiedRequest> decoded = decode_request<ActorDiedRequest>(bytes, "ActorDied");
  if (!decoded.ok()) co_return decoded.error();
  const ActorDiedRequest& request = decoded.value();
  auto it = actors_.find(request.actor);
  if (it == actors_.end()) co_return Bytes{};
  ActorRecord& actor = it->second;
  if (actor.info.state == ActorState::kDead || actor.info.node != request.node ||
      actor.info.node_instance != request.instance || actor.info.incarnation != request.incarnation) {
    co_return Bytes{};  // about a life that already ended here
  }
  if (request.exit_requested) {
    mark_dead(actor, request.cause);
  } else {
    actor_life_ended(actor, request.cause, true);
  }
  Status synced = co_await sync();
  if (!synced.ok()) co_return storage_failed(synced);
  co_return Bytes{};
}

// --- Handlers: leases ----------------------------------------------------------------------------------------

Task<Result<Bytes>> ControlStore::handle_request_lease(Address from, Bytes bytes) {
  (void)from;
  Result<LeaseRequest> decoded = decode_request<LeaseRequest>(bytes, "RequestLease");
  if (!decoded.ok()) co_return decoded.error();
  const LeaseRequest request = decoded.value();
  if (Status s = validate_name(request.function, "the function name"); !s.ok()) co_return s.error();
  const std::pair<ClientId, uint64_t> key{request.client, request.request};
  const TimePoint deadline =
      env_.clock.now() + std::clamp(request.max_wait, Duration::zero(), options_.long_poll_timeout);
  while (true) {
    auto it = lease_requests_.find(key);
    if (it == lease_requests_.end()) {
      if (Status s = check_feasible(request.spec); !s.ok()) {
        co_return Error{s.error().code, "cannot run task " + request.function + ": " + s.error().message};
      }
      if (options_.catalog != nullptr && !request.spec.runtime_env.empty() &&
          options_.catalog->find_runtime_env(request.spec.runtime_env) == nullptr) {
        co_return Error{Errc::kNotFound, "unknown runtime env '" + request.spec.runtime_env + "'"};
      }
      if (queue_.size() >= options_.max_pending_requests || leases_.size() >= options_.max_leases) {
        co_return Error{Errc::kResourceExhausted, "the control store holds too many leases and requests"};
      }
      LeaseRequestRecord record;
      record.request = request;
      record.since = env_.clock.now();
      record.queue_key = enqueue(QueueEntry{QueueKind::kLease, 0, key, {}}, &request.spec);
      it = lease_requests_.emplace(key, std::move(record)).first;
      request_schedule();
    }
    LeaseRequestRecord& record = it->second;
    record.last_polled = env_.clock.now();
    if (record.failed) co_return *record.failed;
    if (record.granted != 0) {
      const LeaseRecord& lease = leases_.at(record.granted);
      LeaseReply reply{true, lease.id, lease.slot.node, lease.slot.instance, "", std::nullopt};
      if (lease.slot.group != 0) reply.bundle = BundleRef{lease.slot.group, lease.slot.bundle};
      co_return encode(reply);
    }
    if (env_.clock.now() >= deadline) {
      co_return encode(LeaseReply{false, 0, kNoNode, 0, why_waiting(record.request.spec), std::nullopt});
    }
    if (!record.waiters) record.waiters = std::make_unique<WaitList>(env_.clock);
    co_await record.waiters->wait_until(deadline);
  }
}

Task<Result<Bytes>> ControlStore::handle_return_lease(Address from, Bytes bytes) {
  (void)from;
  Result<ReturnLeaseRequest> decoded = decode_request<ReturnLeaseRequest>(bytes, "ReturnLease");
  if (!decoded.ok()) co_return decoded.error();
  const ReturnLeaseRequest& request = decoded.value();
  if (request.lease != 0) {
    release_lease(request.lease);
    co_return Bytes{};
  }
  auto it = lease_requests_.find({request.client, request.request});
  if (it == lease_requests_.end()) co_return Bytes{};
  if (it->second.granted != 0) {
    release_lease(it->second.granted);
    co_return Bytes{};
  }
  dequeue(it->second.queue_key);
  it->second.failed = Error{Errc::kCancelled, "the lease request was withdrawn"};
  if (it->second.waiters) it->second.waiters->notify_all();
  co_return Bytes{};
}

// --- Handlers: KV --------------------------------------------------------------------------------------------

namespace {
Status validate_kv_key(const std::string& key) {
  if (key.empty()) return Error{Errc::kInvalidArgument, "a KV key must not be empty"};
  if (key.size() > kMaxKvKeyBytes) {
    return Error{Errc::kInvalidArgument, "a KV key is longer than " + std::to_string(kMaxKvKeyBytes) + " bytes"};
  }
  return Status{};
}
}  // namespace

Task<Result<Bytes>> ControlStore::handle_kv_put(Address from, Bytes bytes) {
  (void)from;
  Result<KvPutRequest> decoded = decode_request<KvPutRequest>(bytes, "KvPut");
  if (!decoded.ok()) co_return decoded.error();
  KvPutRequest& request = decoded.value();
  if (Status s = validate_kv_key(request.key); !s.ok()) co_return s.error();
  if (request.value.size() > kMaxKvValueBytes) {
    co_return Error{Errc::kInvalidArgument, "a KV value is larger than kMaxKvValueBytes"};
  }
  const std::string key = std::string(kKvPrefix) + request.key;
  const bool existed = env_.storage.get(key).has_value();
  if (existed && !request.overwrite) co_return encode(false);
  if (!existed && kv_entries_ >= options_.max_kv_entries) {
    co_return Error{Errc::kResourceExhausted, "the KV already holds max_kv_entries entries"};
  }
  env_.storage.put(key, std::move(request.value));
  if (!existed) ++kv_entries_;
  Status synced = co_await sync();
  if (!synced.ok()) co_return storage_failed(synced);
  co_return encode(true);
}

Task<Result<Bytes>> ControlStore::handle_kv_get(Address from, Bytes bytes) {
  (void)from;
  Result<KvKeyRequest> decoded = decode_request<KvKeyRequest>(bytes, "KvGet");
  if (!decoded.ok()) co_return decoded.error();
  if (Status s = validate_kv_key(decoded.value().key); !s.ok()) co_return s.error();
  co_return encode(env_.storage.get(std::string(kKvPrefix) + decoded.value().key));
}

Task<Result<Bytes>> ControlStore::handle_kv_delete(Address from, Bytes bytes) {
  (void)from;
  Result<KvKeyRequest> decoded = decode_request<KvKeyRequest>(bytes, "KvDelete");
  if (!decoded.ok()) co_return decoded.error();
  if (Status s = validate_kv_key(decoded.value().key); !s.ok()) co_return s.error();
  const std::string key = std::string(kKvPrefix) + decoded.value().key;
  const bool existed = env_.storage.get(key).has_value();
  if (!existed) co_return encode(false);
  env_.storage.erase(key);
  --kv_entries_;
  Status synced = co_await sync();
  if (!synced.ok()) co_return storage_failed(synced);
  co_return encode(true);
}

Task<Result<Bytes>> ControlStore::handle_kv_list(Address from, Bytes bytes) {
  (void)from;
  Result<KvListRequest> decoded = decode_request<KvListRequest>(bytes, "KvList");
  if (!decoded.ok()) co_return decoded.error();
  std::vector<std::string> keys;
  for (const auto& [key, value] : env_.storage.scan(std::string(kKvPrefix) + decoded.value().prefix)) {
    if (keys.size() >= kMaxKvListKeys) {
      co_return Error{Errc::kResourceExhausted, "more than kMaxKvListKeys keys match; use a longer prefix"};
    }
    keys.push_back(key.substr(kKvPrefix.size()));
  }
  co_return encode(keys);
}

// --- Handlers: placement groups ------------------------------------------------------------------------------

Task<Result<Bytes>> ControlStore::handle_create_group(Address from, Bytes bytes) {
  (void)from;
  Result<CreatePlacementGroupRequest> decoded = decode_request<CreatePlacementGroupRequest>(bytes, "CreatePlacementGroup");
  if (!decoded.ok()) co_return decoded.error();
  CreatePlacementGroupRequest& request = decoded.value();
  const std::pair<ClientId, uint64_t> key{request.client, request.request};
  if (auto done = group_creations_.find(key); done != group_creations_.end()) {
    co_return encode(groups_.at(done->second).info);
  }
  if (request.bundles.empty() || request.bundles.size() > kMaxBundlesPerGroup) {
    co_return Error{Errc::kInvalidArgument, "a placement group needs 1 to " + std::to_string(kMaxBundlesPerGroup) +
                                                " bundles, got " + std::to_string(request.bundles.size())};
  }
  for (size_t b = 0; b < request.bundles.size(); ++b) {
    if (request.bundles[b].empty()) {
      co_return Error{Errc::kInvalidArgument, "bundle " + std::to_string(b) + " asks for no resources"};
    }
  }
  if (request.name.size() > kMaxNameBytes) co_return Error{Errc::kInvalidArgument, "the group name is too long"};
  const std::vector<SchedulerNode> view = scheduler_view();
  if (!view.empty() && !bundles_ever_feasible(view, request.bundles, request.strategy, request.labels)) {
    co_return Error{Errc::kResourceExhausted,
                    "placement group with " + std::to_string(request.bundles.size()) + " bundles (" +
                        std::string(bundle_strategy_name(request.strategy)) +
                        ") could never be placed on the nodes of this cluster"};
  }
  if (groups_.size() - removed_groups_.size() >= options_.max_placement_groups ||
      queue_.size() >= options_.max_pending_requests) {
    co_return Error{Errc::kResourceExhausted, "too many placement groups"};
  }
  const PlacementGroupId id = next_group_id_++;
  persist_meta();
  GroupRecord& group = groups_[id];
  group.info = PlacementGroupInfo{id,
                                  std::move(request.name),
                                  PlacementGroupState::kPending,
                                  request.strategy,
                                  std::move(request.labels),
                                  std::move(request.bundles),
                                  {}};
  const size_t count = group.info.bundles.size();
  group.info.bundle_nodes.assign(count, kNoNode);
  group.bundle_instances.assign(count, 0);
  group.bundle_free.assign(count, ResourceSet{});
  group.client = request.client;
  group.request = request.request;
  group.pending_since = env_.clock.now();
  group.queue_key = enqueue(QueueEntry{QueueKind::kGroup, id, {}, {}}, nullptr);
  group_creations_[key] = id;
  persist_group(group);
  Status synced = co_await sync();
  if (!synced.ok()) co_return storage_failed(synced);
  request_schedule();
  co_return encode(groups_.at(id).info);
}

Task<Result<Bytes>> ControlStore::handle_get_group(Address from, Bytes bytes) {
  (void)from;
  Result<PlacementGroupRequest> decoded = decode_request<PlacementGroupRequest>(bytes, "GetPlacementGroup");
  if (!decoded.ok()) co_return decoded.error();
  auto it = groups_.find(decoded.value().group);
  if (it == groups_.end()) co_return Error{Errc::kNotFound, "no placement group " + std::to_string(decoded.value().group)};
  co_return encode(it->second.info);
}

Task<Result<Bytes>> ControlStore::handle_wait_group(Address from, Bytes bytes) {
  (void)from;
  Result<PlacementGroupRequest> decoded = decode_request<PlacementGroupRequest>(bytes, "WaitPlacementGroup");
  if (!decoded.ok()) co_return decoded.error();
  const PlacementGroupRequest request = decoded.value();
  const TimePoint deadline =
      env_.clock.now() + std::clamp(request.max_wait, Duration::zero(), options_.long_poll_timeout);
  while (true) {
    auto it = groups_.find(request.group);
    if (it == groups_.end()) co_return Error{Errc::kNotFound, "no placement group " + std::to_string(request.group)};
    GroupRecord& group = it->second;
    if (group.info.state != PlacementGroupState::kPending || env_.clock.now() >= deadline) co_return encode(group.info);
    if (!group.waiters) group.waiters = std::make_unique<WaitList>(env_.clock);
    co_await group.waiters->wait_until(deadline);
  }
}

Task<Result<Bytes>> ControlStore::handle_remove_group(Address from, Bytes bytes) {
  (void)from;
  Result<PlacementGroupRequest> decoded = decode_request<PlacementGroupRequest>(bytes, "RemovePlacementGroup");
  if (!decoded.ok()) co_return decoded.error();
  auto it = groups_.find(decoded.value().group);
  if (it == groups_.end()) co_return Error{Errc::kNotFound, "no placement group " + std::to_string(decoded.value().group)};
  if (it->second.info.state != PlacementGroupState::kRemoved) {
    remove_group(it->second, "its placement group was removed");
    forget_removed_groups();
  }
  Status synced = co_await sync();
  if (!synced.ok()) co_return storage_failed(synced);
  co_return Bytes{};
}

}  // namespace tandem::runtime
