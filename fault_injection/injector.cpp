#include "fault_injection/injector.h"

#include <algorithm>

namespace tandem::fault_injection {
namespace {

using enum FaultKind;

sim::Network::LinkFault link_fault_for(const Fault& fault, TimePoint now) {
  sim::Network::LinkFault link;
  switch (fault.kind) {
    case kLinkDelay:
    case kSlowNode:
      link.extra_delay = fault.delay;
      break;
    case kLinkLoss:
      link.drop_probability = fault.probability;
      break;
    case kLinkDuplicate:
      link.duplicate_probability = fault.probability;
      break;
    case kLinkReorder:
      link.reorder_jitter = fault.jitter;
      break;
    case kClog:
      link.clogged_until = now + fault.clog_for;
      break;
    default:
      break;
  }
  return link;
}

uint64_t region_pair(sim::RegionId a, sim::RegionId b) {
  return (static_cast<uint64_t>(std::min(a, b)) << 32) | std::max(a, b);
}

}  // namespace

FaultInjector::FaultInjector(sim::World& world) : world_(world) {}

void FaultInjector::note(const std::string& text) { world_.note(kNoNode, "fault-injection", text); }

FaultId FaultInjector::record(const Fault& fault, std::string_view source, bool skipped, std::string reason) {
  const FaultId id = next_id_++;
  FaultRecord record;
  record.id = id;
  record.kind = fault.kind;
  record.label = fault.label.empty() ? std::string(fault_kind_name(fault.kind)) : fault.label;
  record.target = fault.target;
  record.source = std::string(source);
  record.start = world_.now();
  record.skipped = skipped;
  record.skip_reason = std::move(reason);
  if (fault.kind == kCrash || fault.kind == kPause) record.nodes = fault.nodes;
  if (fault.kind == kClusterOutage && fault.outage == OutageMode::kPower) {
    record.nodes = world_.network().nodes_in_cluster(fault.cluster);
  }
  timeline_.push_back(std::move(record));
  return id;
}

FaultId FaultInjector::apply(const Fault& fault, std::string_view source) {
  const std::string label = fault.label.empty() ? std::string(fault_kind_name(fault.kind)) : fault.label;
  auto skip = [&](std::string reason) {
    note("skip " + label + " (" + std::string(source) + "): " + reason);
    return record(fault, source, true, std::move(reason));
  };
  if (timeline_.size() >= kMaxFaultsPerRun) return skip("the run has reached its limit of faults");
  sim::Network& network = world_.network();
  switch (fault.kind) {
    case kPartition:
    case kPartitionOneWay:
      if (network.active_partition_count() >= sim::kMaxActivePartitions) {
        return skip("too many partitions in force at once (limit " +
                    std::to_string(sim::kMaxActivePartitions) + ")");
      }
      break;
    case kActorKill:
      if (!actor_kill_hook_) return skip("no actor runtime runs in this scenario");
      break;
    default:
      break;
  }
  const sim::Network::LinkFault link = link_fault_for(fault, world_.now());
  if (Status valid = link.validate(); !valid.ok()) return skip(valid.error().message);

  const FaultId id = record(fault, source, false, "");
  note("apply #" + std::to_string(id) + " " + label + " (" + std::string(source) + ")");
  Active active{fault, timeline_.size() - 1, 0, {}};
  switch (fault.kind) {
    case kCrash:
      for (NodeId node : fault.nodes) crash_node(node, id);
      break;
    case kPause:
      for (NodeId node : fault.nodes) pause_node(node, id);
      break;
    case kIsolate:
      for (NodeId node : fault.nodes) {
        if (count(isolated_, node)++ == 0) network.isolate_node(node);
      }
      break;
    case kPartition:
      active.partition = network.partition(fault.nodes, fault.other);
      break;
    case kPartitionOneWay:
      active.partition = network.partition_one_way(fault.nodes, fault.other);
      break;
    case kLinkDelay:
    case kLinkLoss:
    case kLinkDuplicate:
    case kLinkReorder:
    case kClog:
      for (NodeId from : fault.nodes) {
        for (NodeId to : fault.other) add_link(id, from, to, link, active);
      }
      break;
    case kSlowNode:
      for (NodeId slow : fault.nodes) {
        for (NodeId other = 0; other < world_.node_count(); ++other) {
          add_link(id, slow, other, link, active);
          add_link(id, other, slow, link, active);
        }
      }
      break;
    case kClockSkew:
      for (NodeId node : fault.nodes) {
        skews_[node].emplace_back(id, fault.skew);
        world_.set_clock_skew(node, fault.skew);
      }
      break;
    case kStorageFailure:
      for (NodeId node : fault.nodes) {
        if (count(storage_failing_, node)++ == 0) world_.set_storage_failing(node, true);
      }
      break;
    case kClusterOutage:
      if (fault.outage == OutageMode::kPower) {
        for (NodeId node : network.nodes_in_cluster(fault.cluster)) crash_node(node, id);
      } else if (count(clusters_cut_, fault.cluster)++ == 0) {
        network.cut_cluster(fault.cluster);
      }
      break;
    case kWanCut:
      if (count(wans_cut_, region_pair(fault.region_a, fault.region_b))++ == 0) {
        network.cut_wan(fault.region_a, fault.region_b);
      }
      break;
    case kActorKill:
      if (Status killed = actor_kill_hook_(fault.actor); !killed.ok()) {
        timeline_[active.record].skipped = true;
        timeline_[active.record].skip_reason = killed.error().message;
        note("skip #" + std::to_string(id) + ": " + killed.error().message);
        return id;
      }
      // An actor kill is instantaneous: the runtime restarts the actor by its own policy.
      timeline_[active.record].end = world_.now();
      return id;
  }
  active_.emplace(id, std::move(active));
  return id;
}

void FaultInjector::heal(FaultId id) {
  const auto it = active_.find(id);
  if (it == active_.end()) return;
  Active active = std::move(it->second);
  active_.erase(it);
  undo(id, active);
}

void FaultInjector::undo(FaultId id, Active& active) {
  const Fault& fault = active.fault;
  sim::Network& network = world_.network();
  FaultRecord& record = timeline_[active.record];
  record.end = world_.now();
  note("heal #" + std::to_string(id) + " " + record.label);
  switch (fault.kind) {
    case kCrash:
      for (NodeId node : fault.nodes) uncrash_node(node, id);
      break;
    case kPause:
      for (NodeId node : fault.nodes) unpause_node(node, id);
      break;
    case kIsolate:
      for (NodeId node : fault.nodes) {
        if (--count(isolated_, node) == 0) network.restore_node(node);
      }
      break;
    case kPartition:
    case kPartitionOneWay:
      network.heal_partition(active.partition);
      break;
    case kLinkDelay:
    case kLinkLoss:
    case kLinkDuplicate:
    case kLinkReorder:
    case kClog:
    case kSlowNode:
      for (uint64_t pair : active.link_pairs) {
        std::vector<LinkContribution>& contributions = links_[pair];
        std::erase_if(contributions, [id](const LinkContribution& c) { return c.id == id; });
        refresh_link(pair);
        if (contributions.empty()) links_.erase(pair);
      }
      break;
    case kClockSkew:
      for (NodeId node : fault.nodes) {
        auto& stack = skews_[node];
        std::erase_if(stack, [id](const auto& entry) { return entry.first == id; });
        world_.set_clock_skew(node, stack.empty() ? Duration::zero() : stack.back().second);
        if (stack.empty()) skews_.erase(node);
      }
      break;
    case kStorageFailure:
      for (NodeId node : fault.nodes) {
        if (--count(storage_failing_, node) == 0) world_.set_storage_failing(node, false);
      }
      break;
    case kClusterOutage:
      if (fault.outage == OutageMode::kPower) {
        for (NodeId node : network.nodes_in_cluster(fault.cluster)) uncrash_node(node, id);
      } else if (--count(clusters_cut_, fault.cluster) == 0) {
        network.restore_cluster(fault.cluster);
      }
      break;
    case kWanCut:
      if (--count(wans_cut_, region_pair(fault.region_a, fault.region_b)) == 0) {
        network.restore_wan(fault.region_a, fault.region_b);
      }
      break;
    case kActorKill:
      break;
  }
}

void FaultInjector::heal_all(std::string_view source) {
  note("heal all (" + std::string(source) + "): " + std::to_string(active_.size()) + " active faults");
  while (!active_.empty()) heal(active_.begin()->first);
  for (NodeId node = 0; node < world_.node_count(); ++node) {
    if (world_.state(node) == sim::NodeState::kDown) world_.restart(node);
    if (world_.state(node) == sim::NodeState::kPaused) world_.resume(node);
    if (world_.env(node).clock.now() != world_.now()) world_.set_clock_skew(node, Duration::zero());
  }
  if (world_.network().has_faults()) world_.network().heal_all();
}

void FaultInjector::restart(NodeId node, std::string_view source) {
  note("restart node " + world_.network().node_name(node) + " (" + std::string(source) + ")");
  crashed_.erase(node);
  if (world_.state(node) == sim::NodeState::kDown) {
    world_.restart(node);
    if (paused_.contains(node)) world_.pause(node);
  }
  end_released_faults();
}

void FaultInjector::resume(NodeId node, std::string_view source) {
  note("resume node " + world_.network().node_name(node) + " (" + std::string(source) + ")");
  paused_.erase(node);
  if (world_.state(node) == sim::NodeState::kPaused) world_.resume(node);
  end_released_faults();
}

void FaultInjector::end_released_faults() {
  // A crash or pause fault whose every node was restarted or resumed by an explicit action is over: record
  // its end now, with nothing left to undo.
  auto holds = [](const std::map<NodeId, std::vector<FaultId>>& holders, NodeId node, FaultId id) {
    const auto it = holders.find(node);
    return it != holders.end() && std::find(it->second.begin(), it->second.end(), id) != it->second.end();
  };
  std::vector<FaultId> released;
  for (const auto& [id, active] : active_) {
    const Fault& fault = active.fault;
    std::vector<NodeId> nodes;
    const std::map<NodeId, std::vector<FaultId>>* holders = nullptr;
    if (fault.kind == kCrash || fault.kind == kPause) {
      nodes = fault.nodes;
      holders = fault.kind == kCrash ? &crashed_ : &paused_;
    } else if (fault.kind == kClusterOutage && fault.outage == OutageMode::kPower) {
      nodes = world_.network().nodes_in_cluster(fault.cluster);
      holders = &crashed_;
    } else {
      continue;
    }
    if (std::none_of(nodes.begin(), nodes.end(), [&](NodeId node) { return holds(*holders, node, id); })) {
      released.push_back(id);
    }
  }
  for (FaultId id : released) {
    timeline_[active_.at(id).record].end = world_.now();
    note("end #" + std::to_string(id) + " " + timeline_[active_.at(id).record].label +
         " (every node recovered)");
    active_.erase(id);
  }
}

void FaultInjector::crash_node(NodeId node, FaultId id) {
  std::vector<FaultId>& holders = crashed_[node];
  holders.push_back(id);
  if (holders.size() == 1) world_.crash(node);
}

void FaultInjector::uncrash_node(NodeId node, FaultId id) {
  const auto it = crashed_.find(node);
  if (it == crashed_.end()) return;  // restarted by an explicit "restart" action meanwhile
  std::erase(it->second, id);
  if (!it->second.empty()) return;
  crashed_.erase(it);
  world_.restart(node);
  // A pause fault that is still in force applies to the new incarnation too.
  if (paused_.contains(node)) world_.pause(node);
}

void FaultInjector::pause_node(NodeId node, FaultId id) {
  std::vector<FaultId>& holders = paused_[node];
  holders.push_back(id);
  if (holders.size() == 1) world_.pause(node);
}

void FaultInjector::unpause_node(NodeId node, FaultId id) {
  const auto it = paused_.find(node);
  if (it == paused_.end()) return;
  std::erase(it->second, id);
  if (!it->second.empty()) return;
  paused_.erase(it);
  world_.resume(node);
}

void FaultInjector::add_link(FaultId id, NodeId from, NodeId to, const sim::Network::LinkFault& fault,
                             Active& active) {
  if (from == to) return;  // loopback never crosses a link
  const uint64_t pair = pair_key(from, to);
  links_[pair].push_back(LinkContribution{id, fault});
  active.link_pairs.push_back(pair);
  refresh_link(pair);
}

void FaultInjector::refresh_link(uint64_t pair) {
  sim::Network::LinkFault combined;
  double deliver = 1;
  double single = 1;
  for (const LinkContribution& contribution : links_[pair]) {
    const sim::Network::LinkFault& fault = contribution.fault;
    deliver *= 1 - fault.drop_probability;
    single *= 1 - fault.duplicate_probability;
    combined.extra_delay += fault.extra_delay;
    combined.reorder_jitter = std::max(combined.reorder_jitter, fault.reorder_jitter);
    combined.clogged_until = std::max(combined.clogged_until, fault.clogged_until);
  }
  combined.drop_probability = std::clamp(1 - deliver, 0.0, 1.0);
  combined.duplicate_probability = std::clamp(1 - single, 0.0, 1.0);
  world_.network().set_link_fault(static_cast<NodeId>(pair >> 32), static_cast<NodeId>(pair & 0xffffffffu),
                                  combined);
}

}  // namespace tandem::fault_injection
