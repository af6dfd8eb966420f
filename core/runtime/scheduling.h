// Scheduling: what a request asks of its node (SchedulingSpec) and the pure placement decisions the control
// store makes with it — which node gets an actor or a task lease, and where the bundles of a placement group go.
//
// Contract:
// - Pure and deterministic: the functions here read a snapshot of nodes (ascending NodeId) and return a
//   decision; they reserve nothing and do no I/O. The control store applies the decision to its tables.
// - A node is a candidate when it is alive, its labels match the selector, and the request fits in what it has
//   free now. Among candidates:
//     kPack    the most utilised node first (fill nodes up, keep others empty for big requests);
//     kSpread  the least utilised node first, ties by fewest placements, then round-robin from a cursor.
//   Utilisation is the largest used/total fraction over the resources the request names (CPU when it names
//   none). Nodes that already have the request's runtime environment installed win over nodes that do not.
//   A hard node affinity allows only that node; a soft one prefers it and falls back to the strategy.
// - ever_feasible() answers "could any known node run this if it were empty?" — against totals, not free
//   amounts, over every node ever registered (dead ones may come back). False means the request can never run
//   in this cluster and is refused with an error; true but no candidate now means it waits.
// - place_bundles() places every not-yet-placed bundle of a placement group or none (all-or-nothing), on a
//   scratch copy of the free amounts, keeping bundles already placed where they are:
//     kPack          prefer nodes the group already uses, then pack order;
//     kSpread        prefer nodes the group does not use yet, then spread order;
//     kStrictPack    every bundle on one node;
//     kStrictSpread  every bundle on a different node (greedy, largest bundle first).
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "core/env/transport.h"
#include "core/runtime/codec.h"
#include "core/runtime/labels.h"
#include "core/runtime/resources.h"

namespace tandem::runtime {

using PlacementGroupId = uint64_t;

inline constexpr size_t kMaxBundlesPerGroup = 256;

enum class PlacementStrategy : uint8_t { kPack = 0, kSpread };
inline bool codec_valid(PlacementStrategy s) { return s <= PlacementStrategy::kSpread; }
std::string_view strategy_name(PlacementStrategy strategy);

enum class BundleStrategy : uint8_t { kPack = 0, kSpread, kStrictPack, kStrictSpread };
inline bool codec_valid(BundleStrategy s) { return s <= BundleStrategy::kStrictSpread; }
std::string_view bundle_strategy_name(BundleStrategy strategy);

struct NodeAffinity {
  NodeId node = kNoNode;
  bool soft = false;  // soft: prefer the node, run elsewhere when it cannot take the request
  friend bool operator==(const NodeAffinity&, const NodeAffinity&) = default;
  TANDEM_CODEC_FIELDS(node, soft)
};

// A slot in a placement group: run inside bundle `bundle_index` (-1: any bundle of the group that fits).
struct BundleRef {
  PlacementGroupId group = 0;
  int32_t bundle_index = -1;
  friend bool operator==(const BundleRef&, const BundleRef&) = default;
  TANDEM_CODEC_FIELDS(group, bundle_index)
};

struct SchedulingSpec {
  ResourceSet resources;
  LabelSelector labels;
  PlacementStrategy strategy = PlacementStrategy::kPack;
  std::optional<NodeAffinity> node_affinity;
  std::optional<BundleRef> placement_group;
  std::string runtime_env;  // empty: none needed

  // "CPU=1 GPU=1 on zone in (a), pack"
  std::string to_string() const;
  friend bool operator==(const SchedulingSpec&, const SchedulingSpec&) = default;
  TANDEM_CODEC_FIELDS(resources, labels, strategy, node_affinity, placement_group, runtime_env)
};

// What the scheduler sees of one node.
struct SchedulerNode {
  NodeId id = kNoNode;
  bool alive = false;
  const ResourceSet* total = nullptr;
  const ResourceSet* available = nullptr;
  const NodeLabels* labels = nullptr;
  const std::set<std::string, std::less<>>* runtime_envs = nullptr;  // installed; may be nullptr
  uint64_t placements = 0;  // actors and leases on the node now (spread tie-break)
};

// Picks a node for `spec` among `nodes` (ascending id); nullopt when none can take it now. `spread_cursor`
// is the round-robin position for kSpread ties; the caller keeps it between calls.
std::optional<NodeId> pick_node(std::span<const SchedulerNode> nodes, const SchedulingSpec& spec,
                                NodeId& spread_cursor);

// True when some node (alive or not) could hold `resources` with `labels` if it were empty.
bool ever_feasible(std::span<const SchedulerNode> nodes, const ResourceSet& resources, const LabelSelector& labels,
                   const std::optional<NodeAffinity>& affinity = std::nullopt);

// Why nothing can take `spec` now, for pending-request reports: "no alive node matches zone in (b)",
// "no alive node has enough free resources (best: node 3, GPU: want 2, have 1)".
std::string explain_unplaceable(std::span<const SchedulerNode> nodes, const SchedulingSpec& spec);

// Placement of a group's bundles. `placed[i]` holds the node of bundle i when it is already placed (it stays
// there), nullopt when it needs a node. Returns the node of every bundle, or nullopt when they cannot all be
// placed now.
std::optional<std::vector<NodeId>> place_bundles(std::span<const SchedulerNode> nodes,
                                                 const std::vector<ResourceSet>& bundles,
                                                 const std::vector<std::optional<NodeId>>& placed,
                                                 BundleStrategy strategy, const LabelSelector& labels);

// Whether the bundles could ever be placed on the known nodes if all were empty.
bool bundles_ever_feasible(std::span<const SchedulerNode> nodes, const std::vector<ResourceSet>& bundles,
                           BundleStrategy strategy, const LabelSelector& labels);

}  // namespace tandem::runtime
