// The runtime's public value types: ids, the options of actors, tasks and calls, and what queries return.
//
// Contract: every type here is a plain value that crosses the wire through the codec (core/runtime/codec.h),
// so the same struct is what a driver passes, what the control store stores and what a report reads. Options
// are validated by validate() on the client before anything is sent; the control store validates again
// (a malformed message gets kInvalidArgument, never a crash). Fields are appended, never reordered.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/common/result.h"
#include "core/env/time.h"
#include "core/env/transport.h"
#include "core/runtime/actor_lifecycle.h"
#include "core/runtime/codec.h"
#include "core/runtime/labels.h"
#include "core/runtime/resources.h"
#include "core/runtime/scheduling.h"

namespace tandem::runtime {

using ActorId = uint64_t;       // assigned by the control store, never reused; 0 = none
using LeaseId = uint64_t;       // a grant of resources on one node for one task attempt
using ClientId = uint64_t;      // one RuntimeClient's life (random)
using NodeInstance = uint64_t;  // one node daemon's life: new on every start of the daemon

inline constexpr ActorId kNoActor = 0;
inline constexpr int32_t kUnlimited = -1;  // max_restarts / max_task_retries: no count limit

// Well-known ports: bound first by the processes that own them, before any allocate_port().
inline constexpr Port kControlStorePort = 1;
inline constexpr Port kNodeDaemonPort = 2;

// Limits on what options may ask for.
inline constexpr size_t kMaxNameBytes = 256;            // actor names, class and function names, env names
inline constexpr int32_t kMaxRetriesLimit = 1'000'000;  // any finite max_restarts / max_task_retries / max_retries
inline constexpr uint32_t kMaxConcurrencyLimit = 10'000;

// Who created an actor: a driver on a node (actor == 0) or another actor. Non-detached actors die with it.
struct OwnerRef {
  NodeId node = kNoNode;
  ActorId actor = kNoActor;
  friend bool operator==(const OwnerRef&, const OwnerRef&) = default;
  TANDEM_CODEC_FIELDS(node, actor)
};

struct ActorOptions {
  std::string name;  // empty: anonymous. Unique among actors that are not DEAD.
  ResourceSet resources;  // none by default (Ray's num_cpus=0 actors): such an actor may run on any node
  LabelSelector labels;
  PlacementStrategy strategy = PlacementStrategy::kPack;
  std::optional<NodeAffinity> node_affinity;
  std::optional<BundleRef> placement_group;
  std::string runtime_env;
  int32_t max_restarts = 0;      // restarts after node or process death; -1 = unlimited
  int32_t max_task_retries = 0;  // times a call is resent after the actor died mid-call; -1 = until DEAD
  uint32_t max_concurrency = 1;  // calls that run at once; 1 = one after the other, in arrival order
  bool detached = false;         // outlives its owner
  bool get_if_exists = false;    // when the name is taken by a live actor, return that actor instead of failing

  SchedulingSpec scheduling() const;
  Status validate() const;
  TANDEM_CODEC_FIELDS(name, resources, labels, strategy, node_affinity, placement_group, runtime_env, max_restarts,
                      max_task_retries, max_concurrency, detached, get_if_exists)
};

struct TaskOptions {
  ResourceSet resources{{"CPU", 1}};  // Ray's default for tasks
  LabelSelector labels;
  PlacementStrategy strategy = PlacementStrategy::kPack;
  std::optional<NodeAffinity> node_affinity;
  std::optional<BundleRef> placement_group;
  std::string runtime_env;
  int32_t max_retries = 3;  // re-runs after the node running it died (Ray's default); never after app errors
  Duration timeout = std::chrono::minutes(10);  // the whole task: waiting for resources, every attempt

  SchedulingSpec scheduling() const;
  Status validate() const;
};

struct CallOptions {
  Duration timeout = std::chrono::seconds(60);  // the whole call: waiting for the actor, every attempt
};

struct ActorInfo {
  ActorId id = kNoActor;
  std::string class_name;
  std::string name;
  ActorState state = ActorState::kPending;
  NodeId node = kNoNode;  // where it runs or is being created; kNoNode while queued or DEAD
  NodeInstance node_instance = 0;
  uint64_t incarnation = 0;  // bumped on every placement attempt
  int32_t restarts_used = 0;
  int32_t max_restarts = 0;
  int32_t max_task_retries = 0;
  bool detached = false;
  OwnerRef owner;
  std::string death_cause;  // set when DEAD
  std::optional<BundleRef> placement_group;

  Address address() const { return Address{node, kNodeDaemonPort}; }
  TANDEM_CODEC_FIELDS(id, class_name, name, state, node, node_instance, incarnation, restarts_used, max_restarts,
                      max_task_retries, detached, owner, death_cause, placement_group)
};

struct NodeInfo {
  NodeId node = kNoNode;
  NodeInstance instance = 0;
  bool alive = false;
  ResourceSet total;
  ResourceSet available;  // the control store's view: total minus what it has placed there
  NodeLabels labels;
  std::vector<std::string> runtime_envs;  // installed, as last reported
  uint64_t actors = 0;                    // placed there (ALIVE or being created)
  uint64_t leases = 0;                    // task leases granted there
  std::string death_cause;
  TANDEM_CODEC_FIELDS(node, instance, alive, total, available, labels, runtime_envs, actors, leases, death_cause)
};

enum class PlacementGroupState : uint8_t { kPending = 0, kCreated, kRemoved };
inline bool codec_valid(PlacementGroupState state) { return state <= PlacementGroupState::kRemoved; }
std::string_view placement_group_state_name(PlacementGroupState state);

struct PlacementGroupInfo {
  PlacementGroupId id = 0;
  std::string name;
  PlacementGroupState state = PlacementGroupState::kPending;
  BundleStrategy strategy = BundleStrategy::kPack;
  LabelSelector labels;
  std::vector<ResourceSet> bundles;
  std::vector<NodeId> bundle_nodes;  // kNoNode: not placed (yet, or again after its node died)
  TANDEM_CODEC_FIELDS(id, name, state, strategy, labels, bundles, bundle_nodes)
};

// A request the scheduler holds because nothing can take it now: visible, never silently dropped.
struct PendingRequest {
  enum class Kind : uint8_t { kActor = 0, kTask, kPlacementGroup };
  Kind kind = Kind::kActor;
  uint64_t id = 0;    // actor id, lease request number, placement group id
  std::string what;   // "actor 7 (Trainer 'trainer-3')", "task train", "placement group 2"
  SchedulingSpec spec;
  TimePoint since{};  // on the control store's clock
  std::string reason;
  TANDEM_CODEC_FIELDS(kind, id, what, spec, since, reason)
};
inline bool codec_valid(PendingRequest::Kind kind) { return kind <= PendingRequest::Kind::kPlacementGroup; }

// Validates a name given by a user: non-empty, at most kMaxNameBytes. `what` names it in the message.
Status validate_name(std::string_view name, std::string_view what);

}  // namespace tandem::runtime
