// Fault kinds and one resolved fault: what goes wrong, where, and with which parameters.
//
// Contract:
// - FaultKind lists every fault tandem knows; kind_info() gives each one's scenario name, a one-line summary,
//   the shape of its target and whether it needs a part of the system that may be absent (actor faults need
//   the actor runtime). New kinds are appended at the end and get a row in kKinds (fault.cpp); a
//   static_assert keeps the table and the enum the same length.
// - A Fault names its targets by NodeId / ClusterId / RegionId, resolved from scenario names by the caller,
// and
//   carries a human label ("crash east-a/server0") for traces and reports. Every fault has an exact undo,
//   done by FaultInjector::heal (fault_injection/injector.h).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/env/time.h"
#include "core/env/transport.h"
#include "sim/network.h"

namespace tandem::fault_injection {

enum class FaultKind : uint8_t {
  kCrash,            // node process destroyed, unsynced writes lost; heal = restart
  kPause,            // node frozen (a GC pause, a stopped VM); heal = resume
  kIsolate,          // node's uplink cut: it reaches no one and no one reaches it
  kPartition,        // two sets of nodes cannot talk, both ways
  kPartitionOneWay,  // messages from one set to the other are lost; the way back works
  kLinkDelay,        // extra delay on every message of the pairs
  kLinkLoss,         // each message of the pairs lost with a probability
  kLinkDuplicate,    // each message of the pairs also delivered twice with a probability
  kLinkReorder,      // random extra delay that lets messages of a pair overtake each other
  kClog,             // messages of the pairs held back until the clog ends (FoundationDB's clogPair)
  kClockSkew,        // node's clock reads world time + skew
  kStorageFailure,   // node's storage syncs fail
  kClusterOutage,    // whole cluster gone: cut off the backbone (network) or every node crashed (power)
  kWanCut,           // the WAN link between two regions cut
  kSlowNode,         // extra delay on every link into and out of a node
  kActorKill,        // kill a named actor (needs a service kind that runs the actor runtime and sets the hook)
};

// How a fault kind names what it hits.
enum class TargetShape : uint8_t {
  kNodes,       // "target": node, cluster, region, glob or "*"
  kTwoSides,    // "from"/"to" (or "sides" for a symmetric partition): two node sets
  kCluster,     // "target": one cluster
  kRegionPair,  // "between": two regions joined by a WAN link
  kActor,       // "target": an actor name
};

struct FaultKindInfo {
  FaultKind kind;
  std::string_view name;  // as written in scenarios: "crash", "partition_one_way", ...
  std::string_view summary;
  TargetShape shape;
  bool needs_runtime;   // only meaningful when an actor runtime runs in the scenario
  bool needs_duration;  // must be given a "for" (a clog is defined by when it ends)
};

std::span<const FaultKindInfo> all_fault_kinds();
const FaultKindInfo& kind_info(FaultKind kind);
std::string_view fault_kind_name(FaultKind kind);
std::optional<FaultKind> parse_fault_kind(std::string_view name);
std::vector<std::string> fault_kind_names();

// The cluster outage modes.
enum class OutageMode : uint8_t { kNetwork, kPower };

struct Fault {
  FaultKind kind = FaultKind::kCrash;
  std::vector<NodeId> nodes;  // kNodes targets; side A of a partition; `from` of link faults
  std::vector<NodeId> other;  // side B of a partition; `to` of link faults
  sim::ClusterId cluster = 0;
  OutageMode outage = OutageMode::kNetwork;
  sim::RegionId region_a = 0;
  sim::RegionId region_b = 0;
  double probability = 0;  // link loss / duplicate
  Duration delay{};        // link delay, slow node
  Duration jitter{};       // link reorder
  Duration skew{};         // clock skew (may be negative)
  Duration clog_for{};     // clog: how long messages are held
  std::string actor;       // actor kill
  std::string label;       // "crash east-a/server0": shown in traces and reports
  std::string target;      // what the scenario named ("east-a/server*"), for reports
};

}  // namespace tandem::fault_injection
