// Network: the simulated network of the sim world — a region / cluster / node topology, the per-message
// delivery decision, and the network faults of the control API.
//
// Contract:
// - Topology. Regions contain clusters contain nodes. Each node hangs off its cluster's switch by its uplink,
//   each cluster switch off its region's router by the cluster uplink, and regions are joined by WAN links
//   (connect_regions). A message between two nodes crosses: the sender's uplink, then (other cluster) both
//   cluster uplinks, then (other region) the WAN links of the shortest path between the two regions by mean
//   latency. Its latency is the sum of one sample per link, its loss the chance that any link loses it, its
//   serialization delay the sum of bytes / bandwidth over the links (no queueing or contention is modelled).
//   A message to the same node takes the loopback latency (default 10us) and is never lost by the topology.
// - Determinism. route() draws only from the Network's own Random, in a fixed order; nothing iterates a hash
//   container. Two Networks built the same way with the same seed return the same verdicts.
// - Cost. route() allocates nothing and costs O(links on the path + active partitions) with one hash lookup
//   when link faults are set. Shortest paths and connectivity are recomputed (Boost.Graph: Dijkstra,
//   connected components over routers and switches) only when the backbone changes: a region, cluster or WAN
//   link is added, a cluster or WAN link is cut or restored. Nodes are leaves, so they never lie on a path
//   between two others and stay out of that graph; adding nodes or isolating one recomputes nothing.
// - Faults are directional from -> to unless named symmetric. Partitions and cuts are absolute (nothing gets
//   through); link faults act per node pair and per message. A node added after a partition is on neither
//   side.
// - Bad ids, probabilities outside [0, 1] and negative durations passed to these methods are bugs in the
//   caller (TANDEM_CHECK). User-supplied numbers are validated first with LinkSpec::make / LatencyModel::make
//   and LinkFault::validate.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/common/result.h"
#include "core/env/random.h"
#include "core/env/time.h"
#include "core/env/transport.h"
#include "sim/latency.h"

namespace tandem::sim {

using RegionId = uint32_t;
using ClusterId = uint32_t;
using PartitionId = uint64_t;

// Limits: the backbone recompute is O(regions * (regions + clusters)) and route tables are regions^2.
inline constexpr size_t kMaxRegions = 256;
inline constexpr size_t kMaxClusters = 1 << 16;
inline constexpr size_t kMaxNodes = 1 << 22;
inline constexpr size_t kMaxActivePartitions = 64;  // each costs one byte per node and a check per message

// Why route() lost a message.
enum class DropCause : uint8_t { kNone, kPartition, kCut, kLoss, kDropFault };
std::string_view drop_cause_name(DropCause cause);

struct NetworkStats {
  uint64_t routed = 0;
  uint64_t dropped_partition = 0;  // an active partition blocks the pair
  uint64_t dropped_cut = 0;        // no path: a node, cluster or WAN link is cut
  uint64_t dropped_loss = 0;       // a link's loss_probability
  uint64_t dropped_fault = 0;      // a link fault's drop_probability
  uint64_t duplicated = 0;
  uint64_t clogged = 0;  // held back by a clog
};

class Network {
 public:
  // The per-message decision of route().
  struct Verdict {
    bool deliver = true;  // false: the message is lost (see cause)
    // From now until arrival: latency + serialization + extra delay + jitter + clog hold.
    Duration delay{};
    bool duplicate = false;      // deliver a second copy too
    Duration duplicate_delay{};  // from now until the copy arrives
    bool may_reorder = false;    // a reorder fault is active on this pair: the world must not force FIFO
    DropCause cause = DropCause::kNone;
  };

  // A directional fault on one node pair, applied per message on top of the topology.
  struct LinkFault {
    double drop_probability = 0;       // lose the message
    double duplicate_probability = 0;  // also deliver a copy, with its own latency sample
    Duration extra_delay{};            // added to every message
    Duration reorder_jitter{};         // > 0: add uniform [0, jitter] and let the pair's messages reorder
    TimePoint clogged_until{};         // messages sent before this arrive no earlier than this

    // Ok when probabilities are in [0, 1] and durations are not negative; an Error naming the field
    // otherwise.
    Status validate() const;
  };

  explicit Network(Random random);  // its own stream: the world passes root.fork("network")

  // --- Topology --------------------------------------------------------------------------------------------
  // Names are unique within their kind. Ids are dense, counting from 0 in the order of addition.
  RegionId add_region(std::string name);
  ClusterId add_cluster(std::string name, RegionId region, LinkSpec uplink);
  NodeId add_node(std::string name, ClusterId cluster, LinkSpec uplink);
  // One WAN link per region pair; a and b distinct.
  void connect_regions(RegionId a, RegionId b, LinkSpec wan);
  void set_loopback(LatencyModel model);

  size_t region_count() const { return regions_.size(); }
  size_t cluster_count() const { return clusters_.size(); }
  size_t node_count() const { return nodes_.size(); }
  ClusterId cluster_of(NodeId node) const;
  RegionId region_of(ClusterId cluster) const;
  RegionId region_of_node(NodeId node) const { return region_of(cluster_of(node)); }
  const std::string& region_name(RegionId region) const;
  const std::string& cluster_name(ClusterId cluster) const;
  const std::string& node_name(NodeId node) const;
  const LinkSpec& node_uplink(NodeId node) const;
  const LinkSpec& cluster_uplink(ClusterId cluster) const;
  std::vector<NodeId> nodes_in_cluster(ClusterId cluster) const;     // ascending
  std::vector<ClusterId> clusters_in_region(RegionId region) const;  // ascending
  std::optional<NodeId> find_node(std::string_view name) const;
  std::optional<ClusterId> find_cluster(std::string_view name) const;
  std::optional<RegionId> find_region(std::string_view name) const;

  // --- Queries (no randomness) -----------------------------------------------------------------------------
  // Mean latency of the path from -> to, without serialization or link faults; nullopt when a cut or an
  // active partition blocks the direction.
  std::optional<Duration> base_latency(NodeId from, NodeId to) const;
  // True when no cut or partition blocks from -> to. Ignores probabilistic loss and link faults.
  bool reachable(NodeId from, NodeId to) const;

  // --- The per-message decision ----------------------------------------------------------------------------
  // Draws from the network's own Random only. `now` is the send time (used by clogs).
  Verdict route(NodeId from, NodeId to, size_t payload_bytes, TimePoint now);

  // --- Faults (the control API) ----------------------------------------------------------------------------
  // Messages between side_a and side_b are lost both ways until healed. A node may not be on both sides.
  PartitionId partition(const std::vector<NodeId>& side_a, const std::vector<NodeId>& side_b);
  // Messages from `from` to `to` are lost; the other direction still works.
  PartitionId partition_one_way(const std::vector<NodeId>& from, const std::vector<NodeId>& to);
  // Ends one partition; false when it is no longer active (already healed).
  bool heal_partition(PartitionId id);

  // Cut the node's uplink: it reaches no one but itself.
  void isolate_node(NodeId node);
  void restore_node(NodeId node);
  // Cut the cluster uplink: the cluster is off the backbone (an outage), but its nodes still reach each
  // other through their switch.
  void cut_cluster(ClusterId cluster);
  void restore_cluster(ClusterId cluster);
  // Cut one WAN link; traffic takes another path between the regions if there is one.
  void cut_wan(RegionId a, RegionId b);
  void restore_wan(RegionId a, RegionId b);
  // Undo every partition and every cut (link faults stay).
  void heal_partitions();

  void set_link_fault(NodeId from, NodeId to, LinkFault fault);  // replaces the pair's fault (and its clog)
  void clog(NodeId from, NodeId to, TimePoint until);            // FoundationDB's clogPair, one direction
  void clog_pair(NodeId a, NodeId b, TimePoint until);           // both directions
  void clear_link_faults();                                      // every link fault and clog
  void heal_all();                                               // partitions, cuts, link faults and clogs

  // --- Introspection ---------------------------------------------------------------------------------------
  size_t active_partition_count() const { return partitions_.size(); }
  size_t link_fault_count() const { return link_faults_.size(); }
  size_t cut_count() const { return cut_link_count_; }  // isolated nodes + cut clusters + cut WAN links
  bool has_faults() const { return !partitions_.empty() || !link_faults_.empty() || cut_count() > 0; }
  // "2 partitions (1 one-way), 1 isolated node, 1 cut cluster, 3 link faults" or "no network faults".
  std::string describe_faults() const;
  const NetworkStats& stats() const { return stats_; }
  Random& random() { return random_; }

 private:
  using LinkId = uint32_t;
  struct Path;

  struct Link {
    LinkSpec spec;
    double survival = 1;     // 1 - loss_probability, precomputed for route()
    double ns_per_byte = 0;  // 1e9 / bandwidth, 0 when unlimited
    bool cut = false;
    int64_t fixed_ns = -1;   // >= 0: constant latency, no loss, unlimited bandwidth (route()'s fast path)
  };
  struct Region {
    std::string name;
    std::vector<ClusterId> clusters;  // ascending
  };
  struct Cluster {
    std::string name;
    RegionId region;
    LinkId uplink;
    std::vector<NodeId> nodes;  // ascending
  };
  struct Node {
    std::string name;
    ClusterId cluster;
    LinkId uplink;
  };
  // The precomputed path between two region routers.
  struct RegionRoute {
    bool connected = false;
    Duration constant_latency{};  // sum over the constant links of the path
    Duration mean_latency{};
    double survival = 1;
    double ns_per_byte = 0;
    uint32_t random_links_begin = 0;  // the links needing a sample, in wan_random_links_
    uint32_t random_links_count = 0;
  };
  struct Partition {
    PartitionId id;
    bool one_way;
    std::vector<uint8_t> side;  // by NodeId: 0 neither, 1 side A / from, 2 side B / to
  };

  LinkId add_link(LinkSpec spec);
  bool set_link_cut(LinkId link, bool cut);  // true when the state changed
  void rebuild_routes();
  PartitionId add_partition(const std::vector<NodeId>& side_a, const std::vector<NodeId>& side_b,
                            bool one_way);
  bool partitioned(NodeId from, NodeId to) const;
  DropCause find_path(NodeId from, NodeId to, Path& path) const;
  Duration sample_path(const Path& path, size_t payload_bytes);
  Duration apply_fault(const LinkFault* fault, Duration delay, TimePoint now, bool& may_reorder);
  const LinkFault* find_fault(NodeId from, NodeId to) const;
  LinkId wan_link(RegionId a, RegionId b) const;
  static uint64_t pair_key(NodeId from, NodeId to) { return (static_cast<uint64_t>(from) << 32) | to; }

  Random random_;
  LatencyModel loopback_ = LatencyModel::constant(std::chrono::microseconds(10));
  std::vector<Link> links_;
  size_t cut_link_count_ = 0;
  std::vector<Region> regions_;
  std::vector<Cluster> clusters_;
  std::vector<Node> nodes_;
  std::map<std::string, RegionId, std::less<>> region_by_name_;
  std::map<std::string, ClusterId, std::less<>> cluster_by_name_;
  std::map<std::string, NodeId, std::less<>> node_by_name_;
  std::map<std::pair<RegionId, RegionId>, LinkId> wan_links_;  // key (min, max)

  // Derived from the backbone by rebuild_routes().
  std::vector<uint32_t> cluster_component_;  // connected component of each cluster switch (cut links removed)
  std::vector<RegionRoute> region_routes_;   // [from * region_count + to]
  std::vector<LinkId> wan_random_links_;

  std::vector<Partition> partitions_;  // in creation order
  PartitionId next_partition_id_ = 1;
  std::unordered_map<uint64_t, LinkFault> link_faults_;  // by pair_key; looked up, never iterated
  NetworkStats stats_;
};

}  // namespace tandem::sim
