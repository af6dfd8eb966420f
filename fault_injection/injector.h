// FaultInjector: applies faults to a sim World through its control API and undoes each one exactly.
//
// Contract:
// - apply() puts a fault in force now and returns its id; heal(id) undoes that fault alone. Faults overlap
//   freely: a node crashed by two faults restarts when the last of them heals; two link faults on one pair
//   combine (delays add, loss and duplicate probabilities compound, the longest clog wins) and healing one
//   leaves the other in force. The injector is the only thing that should change fault state in the world
//   while it is in use; heal_all() also clears what others left behind.
// - Every apply and heal is written to the world trace (category "fault-injection", so it is part of the
// trace
//   hash) and to timeline(): one FaultRecord per fault with its start, its end (when healed) and where it
//   came from ("events/3", "nemesis", "liveness"). A fault that cannot be applied (too many partitions at
//   once, an actor kill with no runtime) is recorded as skipped with the reason, never silently dropped.
// - Call it only between events (from World::at actions or outside run loops), never from a node's coroutine.
//
// One fault's life:
//
//   apply ──> ACTIVE ──heal(id) / heal_all──> HEALED (end time recorded)
//     └──(cannot apply)──> SKIPPED (reason recorded, no end)
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/common/result.h"
#include "fault_injection/fault.h"
#include "sim/world.h"

namespace tandem::fault_injection {

using FaultId = uint64_t;

struct FaultRecord {
  FaultId id = 0;
  FaultKind kind = FaultKind::kCrash;
  std::string label;
  std::string target;
  std::string source;  // "events/3", "nemesis", "liveness", ...
  TimePoint start{};
  std::optional<TimePoint> end;  // when healed
  bool skipped = false;
  std::string skip_reason;
  std::vector<NodeId> nodes;  // nodes whose process is hit (crash, pause, power outage), for the report
};

class FaultInjector {
 public:
  // Most faults one run may apply; a nemesis gone wild is refused beyond this rather than eating memory.
  static constexpr size_t kMaxFaultsPerRun = 100'000;

  // Kills a named actor; provided by a service kind that runs the actor runtime. Returns an error when the
  // actor does not exist.
  using ActorKillHook = std::function<Status(const std::string& actor)>;

  explicit FaultInjector(sim::World& world);

  FaultId apply(const Fault& fault, std::string_view source);
  // Undoes one fault; a no-op when it already healed or was skipped.
  void heal(FaultId id);
  // Heals every active fault, then restarts any down node, resumes any paused one, zeroes any clock skew and
  // clears every network fault, whoever caused it: after this the world is whole.
  void heal_all(std::string_view source);
  // Ends the crash faults on `node` and restarts it (the scenario action "restart").
  void restart(NodeId node, std::string_view source);
  // Ends the pause faults on `node` and resumes it (the scenario action "resume").
  void resume(NodeId node, std::string_view source);

  void set_actor_kill_hook(ActorKillHook hook) { actor_kill_hook_ = std::move(hook); }

  bool active(FaultId id) const { return active_.contains(id); }
  size_t active_count() const { return active_.size(); }
  const std::vector<FaultRecord>& timeline() const { return timeline_; }
  const FaultRecord& record_of(FaultId id) const {
    TANDEM_CHECK(id >= 1 && id <= timeline_.size(), "unknown fault id");
    return timeline_[id - 1];  // ids count from 1, one record each
  }

 private:
  struct LinkContribution {
    FaultId id;
    sim::Network::LinkFault fault;
  };
  struct Active {
    Fault fault;
    size_t record;  // index in timeline_
    sim::PartitionId partition = 0;
    std::vector<uint64_t> link_pairs;  // pairs this fault contributes to
  };

  FaultId record(const Fault& fault, std::string_view source, bool skipped, std::string reason);
  void note(const std::string& text);
  uint32_t& count(std::map<uint64_t, uint32_t>& counts, uint64_t key) { return counts[key]; }
  void crash_node(NodeId node, FaultId id);
  void uncrash_node(NodeId node, FaultId id);
  void pause_node(NodeId node, FaultId id);
  void unpause_node(NodeId node, FaultId id);
  void add_link(FaultId id, NodeId from, NodeId to, const sim::Network::LinkFault& fault, Active& active);
  void refresh_link(uint64_t pair);
  void undo(FaultId id, Active& active);
  void end_released_faults();
  static uint64_t pair_key(NodeId from, NodeId to) { return (static_cast<uint64_t>(from) << 32) | to; }

  sim::World& world_;
  ActorKillHook actor_kill_hook_;
  FaultId next_id_ = 1;
  std::map<FaultId, Active> active_;  // ordered: heal_all heals in apply order
  std::vector<FaultRecord> timeline_;
  // The faults holding each node down / paused: it comes back when the last lets go (or an explicit
  // restart/resume action clears the list).
  std::map<NodeId, std::vector<FaultId>> crashed_;
  std::map<NodeId, std::vector<FaultId>> paused_;
  // Reference counts of overlapping faults, by node / cluster / region pair.
  std::map<uint64_t, uint32_t> isolated_;
  std::map<uint64_t, uint32_t> storage_failing_;
  std::map<uint64_t, uint32_t> clusters_cut_;
  std::map<uint64_t, uint32_t> wans_cut_;
  std::map<NodeId, std::vector<std::pair<FaultId, Duration>>> skews_;  // the newest active skew is in force
  std::map<uint64_t, std::vector<LinkContribution>> links_;            // by (from, to)
};

}  // namespace tandem::fault_injection
