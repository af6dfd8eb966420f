#include "fault_injection/fault.h"

#include <array>

#include "core/common/check.h"

namespace tandem::fault_injection {
namespace {

using enum FaultKind;

constexpr std::array kKinds = {
    FaultKindInfo{kCrash, "crash",
                  "crash nodes (process destroyed, unsynced writes lost); healing restarts them",
                  TargetShape::kNodes, false, false},
    FaultKindInfo{kPause, "pause", "freeze nodes (a long GC pause or a stopped VM); healing resumes them",
                  TargetShape::kNodes, false, false},
    FaultKindInfo{kIsolate, "isolate", "cut nodes off the network entirely", TargetShape::kNodes, false,
                  false},
    FaultKindInfo{kPartition, "partition", "two sets of nodes cannot reach each other, either way",
                  TargetShape::kTwoSides, false, false},
    FaultKindInfo{kPartitionOneWay, "partition_one_way",
                  "messages from one set to the other are lost; the way back still works",
                  TargetShape::kTwoSides, false, false},
    FaultKindInfo{kLinkDelay, "link_delay", "extra delay on every message between two sets",
                  TargetShape::kTwoSides, false, false},
    FaultKindInfo{kLinkLoss, "link_loss", "lose messages between two sets with a probability",
                  TargetShape::kTwoSides, false, false},
    FaultKindInfo{kLinkDuplicate, "link_duplicate",
                  "deliver messages between two sets twice with a probability", TargetShape::kTwoSides, false,
                  false},
    FaultKindInfo{kLinkReorder, "link_reorder", "random extra delay that reorders messages between two sets",
                  TargetShape::kTwoSides, false, false},
    FaultKindInfo{kClog, "clog", "hold every message between two sets until the clog ends",
                  TargetShape::kTwoSides, false, true},
    FaultKindInfo{kClockSkew, "clock_skew", "nodes' clocks read ahead of (or behind) world time",
                  TargetShape::kNodes, false, false},
    FaultKindInfo{kStorageFailure, "storage_failure", "nodes' storage syncs fail", TargetShape::kNodes, false,
                  false},
    FaultKindInfo{kClusterOutage, "cluster_outage",
                  "a whole cluster goes away: cut off the backbone (network) or every node crashed (power)",
                  TargetShape::kCluster, false, false},
    FaultKindInfo{kWanCut, "wan_cut", "cut the WAN link between two regions", TargetShape::kRegionPair, false,
                  false},
    FaultKindInfo{kSlowNode, "slow_node", "extra delay on every link into and out of nodes",
                  TargetShape::kNodes, false, false},
    FaultKindInfo{kActorKill, "kill_actor", "kill a named actor (needs the actor runtime)",
                  TargetShape::kActor, true, false},
};
static_assert(kKinds.size() == static_cast<size_t>(kActorKill) + 1, "one row per FaultKind, in enum order");

}  // namespace

std::span<const FaultKindInfo> all_fault_kinds() { return kKinds; }

const FaultKindInfo& kind_info(FaultKind kind) {
  const auto index = static_cast<size_t>(kind);
  TANDEM_CHECK(index < kKinds.size(), "unknown fault kind");
  TANDEM_CHECK(kKinds[index].kind == kind, "the fault kind table is out of enum order");
  return kKinds[index];
}

std::string_view fault_kind_name(FaultKind kind) { return kind_info(kind).name; }

std::optional<FaultKind> parse_fault_kind(std::string_view name) {
  for (const FaultKindInfo& info : kKinds) {
    if (info.name == name) return info.kind;
  }
  return std::nullopt;
}

std::vector<std::string> fault_kind_names() {
  std::vector<std::string> names;
  for (const FaultKindInfo& info : kKinds) names.emplace_back(info.name);
  return names;
}

}  // namespace tandem::fault_injection
