#include "fault_injection/nemesis.h"

#include <algorithm>
#include <set>

namespace tandem::fault_injection {
namespace {

using enum FaultKind;

struct Arrival {
  Duration at;
  size_t spec;  // index in NemesisSpec::faults
  friend bool operator<(const Arrival& a, const Arrival& b) {
    return a.at != b.at ? a.at < b.at : a.spec < b.spec;
  }
};

template <typename T>
const T& pick(const std::vector<T>& items, Random& random) {
  return items[random.below(items.size())];
}

template <typename T>
void shuffle(std::vector<T>& items, Random& random) {
  for (size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[random.below(i)]);
}

class TargetPicker {
 public:
  TargetPicker(const NemesisSpec& spec, const sim::Network& network) : spec_(spec), network_(network) {
    std::set<sim::ClusterId> clusters;
    for (NodeId node : spec.nodes) clusters.insert(network.cluster_of(node));
    clusters_.assign(clusters.begin(), clusters.end());
  }

  bool possible(FaultKind kind) const {
    switch (kind_info(kind).shape) {
      case TargetShape::kNodes:
      case TargetShape::kCluster:
        return !spec_.nodes.empty();
      case TargetShape::kTwoSides:
        return spec_.nodes.size() >= 2;
      case TargetShape::kRegionPair:
        return !spec_.wan_links.empty();
      case TargetShape::kActor:
        return false;
    }
    return false;
  }

  // Fills the fault's targets and label.
  void fill(Fault& fault, Random& random) const {
    const std::string name(fault_kind_name(fault.kind));
    switch (kind_info(fault.kind).shape) {
      case TargetShape::kNodes:
        fault.nodes = {pick(spec_.nodes, random)};
        fault.label = name + " " + describe_nodes(network_, fault.nodes);
        break;
      case TargetShape::kCluster:
        fault.cluster = pick(clusters_, random);
        fault.label = name + " " + network_.cluster_name(fault.cluster) +
                      (fault.outage == OutageMode::kPower ? " (power)" : " (network)");
        break;
      case TargetShape::kTwoSides:
        if (fault.kind == kPartition || fault.kind == kPartitionOneWay) {
          split_sides(fault, random);
        } else {
          link_sides(fault, random);
        }
        fault.label = name + " " + describe_nodes(network_, fault.nodes) +
                      (fault.kind == kPartition ? " | " : " -> ") + describe_nodes(network_, fault.other);
        break;
      case TargetShape::kRegionPair: {
        const auto& [a, b] = pick(spec_.wan_links, random);
        fault.region_a = a;
        fault.region_b = b;
        fault.label = name + " " + network_.region_name(a) + " - " + network_.region_name(b);
        break;
      }
      case TargetShape::kActor:
        break;
    }
    fault.target = "nemesis";
  }

 private:
  // Every node of the given clusters, targets or not: a partition or a link fault hits whole clusters'
  // traffic.
  std::vector<NodeId> all_in(const std::vector<sim::ClusterId>& clusters) const {
    std::vector<NodeId> out;
    for (sim::ClusterId cluster : clusters) {
      const std::vector<NodeId> nodes = network_.nodes_in_cluster(cluster);
      out.insert(out.end(), nodes.begin(), nodes.end());
    }
    return out;
  }

  // Partitions: split the targets' clusters in two (random halves of the targets when there is one cluster).
  void split_sides(Fault& fault, Random& random) const {
    if (clusters_.size() >= 2) {
      std::vector<sim::ClusterId> clusters = clusters_;
      shuffle(clusters, random);
      const size_t cut = 1 + random.below(clusters.size() - 1);
      fault.nodes = all_in({clusters.begin(), clusters.begin() + static_cast<std::ptrdiff_t>(cut)});
      fault.other = all_in({clusters.begin() + static_cast<std::ptrdiff_t>(cut), clusters.end()});
    } else {
      std::vector<NodeId> nodes = spec_.nodes;
      shuffle(nodes, random);
      const size_t cut = 1 + random.below(nodes.size() - 1);
      fault.nodes.assign(nodes.begin(), nodes.begin() + static_cast<std::ptrdiff_t>(cut));
      fault.other.assign(nodes.begin() + static_cast<std::ptrdiff_t>(cut), nodes.end());
    }
    std::sort(fault.nodes.begin(), fault.nodes.end());
    std::sort(fault.other.begin(), fault.other.end());
  }

  // Link faults: one target node towards every node of another of the targets' clusters (another target
  // when there is one cluster), so the number of affected pairs stays proportional to a cluster's size.
  void link_sides(Fault& fault, Random& random) const {
    const NodeId from = pick(spec_.nodes, random);
    fault.nodes = {from};
    std::vector<sim::ClusterId> others;
    for (sim::ClusterId cluster : clusters_) {
      if (cluster != network_.cluster_of(from)) others.push_back(cluster);
    }
    if (!others.empty()) {
      fault.other = all_in({pick(others, random)});
    } else {
      std::vector<NodeId> rest;
      for (NodeId node : spec_.nodes) {
        if (node != from) rest.push_back(node);
      }
      fault.other = {pick(rest, random)};
    }
  }

  const NemesisSpec& spec_;
  const sim::Network& network_;
  std::vector<sim::ClusterId> clusters_;
};

}  // namespace

std::string describe_nodes(const sim::Network& network, const std::vector<NodeId>& nodes) {
  if (nodes.empty()) return "(no nodes)";
  std::vector<NodeId> sorted = nodes;
  std::sort(sorted.begin(), sorted.end());
  const sim::ClusterId first_cluster = network.cluster_of(sorted.front());
  if (sorted == network.nodes_in_cluster(first_cluster)) return network.cluster_name(first_cluster);
  std::string out;
  const size_t shown = std::min<size_t>(sorted.size(), 4);
  for (size_t i = 0; i < shown; ++i) {
    if (i > 0) out += ",";
    out += network.node_name(sorted[i]);
  }
  if (sorted.size() > shown) out += " +" + std::to_string(sorted.size() - shown) + " more";
  return out;
}

NemesisPlan plan_nemesis(const NemesisSpec& spec, const sim::Network& network, Random random) {
  NemesisPlan plan;
  const TargetPicker picker(spec, network);

  // Which kinds this run uses.
  std::vector<bool> enabled(spec.faults.size(), false);
  std::vector<size_t> possible;
  for (size_t i = 0; i < spec.faults.size(); ++i) {
    if (picker.possible(spec.faults[i].parameters.kind)) possible.push_back(i);
  }
  Random swarm = random.fork("swarm");
  for (size_t i : possible) enabled[i] = !spec.swarm || swarm.chance(0.5);
  if (spec.swarm && !possible.empty() &&
      std::none_of(enabled.begin(), enabled.end(), [](bool on) { return on; })) {
    enabled[pick(possible, swarm)] = true;
  }
  for (size_t i = 0; i < spec.faults.size(); ++i) {
    if (enabled[i]) plan.enabled.push_back(spec.faults[i].parameters.kind);
  }
  if (spec.end <= spec.start) return plan;

  // Arrivals: one Poisson process per enabled kind, each from its own stream.
  std::vector<Arrival> arrivals;
  for (size_t i = 0; i < spec.faults.size(); ++i) {
    if (!enabled[i]) continue;
    Random stream = random.fork("arrivals", i);
    const double mean_ns = static_cast<double>(std::max<int64_t>(1, spec.faults[i].mean_interval.count()));
    Duration t = spec.start;
    while (arrivals.size() < 4 * kMaxPlannedFaults) {
      t += Duration(static_cast<int64_t>(stream.exponential(mean_ns)) + 1);
      if (t >= spec.end) break;
      arrivals.push_back(Arrival{t, i});
    }
  }
  std::sort(arrivals.begin(), arrivals.end());

  Random choices = random.fork("choices");
  std::vector<Duration> active_until;
  for (const Arrival& arrival : arrivals) {
    if (plan.faults.size() >= kMaxPlannedFaults) break;
    Duration limit = spec.end;
    if (spec.quiet_every > Duration::zero()) {
      const int64_t period = (arrival.at - spec.start) / spec.quiet_every;
      const Duration quiet_start =
          spec.start + spec.quiet_every * period + (spec.quiet_every - spec.quiet_for);
      if (arrival.at >= quiet_start) continue;
      limit = std::min(limit, quiet_start);
    }
    std::erase_if(active_until, [&](Duration until) { return until <= arrival.at; });
    if (active_until.size() >= spec.max_concurrent) continue;
    const NemesisFaultSpec& kind = spec.faults[arrival.spec];
    Duration duration(choices.between(kind.min_duration.count(), kind.max_duration.count()));
    duration = std::min(duration, limit - arrival.at);
    PlannedFault planned{arrival.at, duration, kind.parameters};
    picker.fill(planned.fault, choices);
    if (planned.fault.kind == kClog) planned.fault.clog_for = duration;
    active_until.push_back(arrival.at + duration);
    plan.faults.push_back(std::move(planned));
  }
  return plan;
}

void add_to_schedule(const NemesisPlan& plan, Schedule& schedule) {
  for (const PlannedFault& planned : plan.faults) {
    schedule.add_fault(planned.at, planned.duration, planned.fault, "nemesis");
  }
}

}  // namespace tandem::fault_injection
