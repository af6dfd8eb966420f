// The topology section of a scenario and the index that resolves names and targets against it.
//
// Contract:
// - TopologySpec is the parsed "topology": regions, clusters (each with node groups, its node links and its
//   uplink), WAN links between regions. Node names are "<cluster>/<group><i>" ("east-a/server0"); the group
//   name never ends in a digit, so every name is unique.
// - TopologyIndex numbers nodes exactly as the runner adds them to the sim World (clusters in file order,
// groups
//   in order, i = 0..count-1), so a NodeId resolved at load time is the World's NodeId. Cluster and region
//   ids likewise follow file order.
// - resolve_nodes() understands the target syntax used everywhere in scenarios:
//     "*"                every node
//     "east-a"           every node of a cluster        "east"   every node of a region
//     "east-a/server0"   one node                       "east-a/server*", "*/client*"   a glob on node names
//   and fails with a sentence listing what exists ("no node or cluster named ...; known clusters: ...").
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/common/result.h"
#include "core/env/transport.h"
#include "scenarios/problems.h"
#include "sim/latency.h"
#include "sim/network.h"

namespace tandem::scenarios {

inline constexpr size_t kMaxScenarioRegions = 64;
inline constexpr size_t kMaxScenarioClusters = 1024;
inline constexpr size_t kMaxScenarioNodes = 100'000;
inline constexpr size_t kMaxGroupsPerCluster = 64;
inline constexpr size_t kMaxNameLength = 63;

struct NodeGroupSpec {
  std::string name;
  uint32_t count = 0;
  std::map<std::string, double>
      resources;  // placeholder for the actor runtime's ResourceSet ("CPU", "memory")
  std::map<std::string, std::string> labels;
};

struct ClusterSpec {
  std::string name;
  std::string region;
  std::vector<NodeGroupSpec> groups;
  sim::LinkSpec node_link;  // each node's link to the cluster switch
  sim::LinkSpec uplink;     // the cluster switch's link to its region router
};

struct WanSpec {
  std::string region_a;
  std::string region_b;
  sim::LinkSpec link;
};

struct TopologySpec {
  std::vector<std::string> regions;
  std::vector<ClusterSpec> clusters;
  std::vector<WanSpec> wan;
};

// Parses "topology"; problems go to `problems`. Returns the spec even when partial (the loader stops anyway).
TopologySpec parse_topology(const Json& value, const std::string& pointer, Problems& problems);

// Parses a link: "500us" (constant latency) or {"latency": ..., "loss": p, "bandwidth": bytes_per_second}.
std::optional<sim::LinkSpec> parse_link(const Json& value, const std::string& pointer, Problems& problems);
// Parses a latency model: "2ms" (constant) or {"kind": "lognormal", "mean": "2ms", "stddev": "1ms"}.
std::optional<sim::LatencyModel> parse_latency(const Json& value, const std::string& pointer,
                                               Problems& problems);

class TopologyIndex {
 public:
  TopologyIndex() = default;
  explicit TopologyIndex(const TopologySpec& spec);

  size_t node_count() const { return node_names_.size(); }
  const std::string& node_name(NodeId node) const { return node_names_.at(node); }
  const std::vector<std::string>& node_names() const { return node_names_; }
  sim::ClusterId cluster_of(NodeId node) const { return node_cluster_.at(node); }
  const std::string& group_of(NodeId node) const { return node_group_.at(node); }
  // The node's group "resources" and "labels" (for the actor runtime).
  const std::map<std::string, double>& resources_of(NodeId node) const { return node_resources_.at(node); }
  const std::map<std::string, std::string>& labels_of(NodeId node) const { return node_labels_.at(node); }
  size_t cluster_count() const { return cluster_names_.size(); }
  const std::string& cluster_name(sim::ClusterId cluster) const { return cluster_names_.at(cluster); }
  const std::vector<std::string>& cluster_names() const { return cluster_names_; }
  const std::vector<std::string>& region_names() const { return region_names_; }
  sim::RegionId region_of(sim::ClusterId cluster) const { return cluster_region_.at(cluster); }
  const std::vector<NodeId>& nodes_in_cluster(sim::ClusterId cluster) const {
    return cluster_nodes_.at(cluster);
  }
  std::optional<sim::ClusterId> find_cluster(std::string_view name) const;
  std::optional<sim::RegionId> find_region(std::string_view name) const;
  std::optional<NodeId> find_node(std::string_view name) const;
  // Every group name used by some cluster, sorted.
  std::vector<std::string> group_names() const;
  // Nodes of `group` in the given clusters (all clusters when empty), ascending.
  std::vector<NodeId> nodes_in_group(std::string_view group,
                                     const std::vector<sim::ClusterId>& clusters = {}) const;
  // "server0..server1, client0..client2": a cluster's nodes in a few words.
  std::string describe_cluster_nodes(sim::ClusterId cluster) const;
  const std::vector<std::pair<sim::RegionId, sim::RegionId>>& wan_links() const { return wan_links_; }
  bool has_wan_link(sim::RegionId a, sim::RegionId b) const;

  // Resolves a target (see the header comment) to ascending, distinct NodeIds; never empty on success.
  Result<std::vector<NodeId>> resolve_nodes(std::string_view target) const;

 private:
  std::vector<std::string> node_names_;
  std::vector<sim::ClusterId> node_cluster_;
  std::vector<std::string> node_group_;
  std::vector<std::map<std::string, double>> node_resources_;
  std::vector<std::map<std::string, std::string>> node_labels_;
  std::vector<std::string> cluster_names_;
  std::vector<sim::RegionId> cluster_region_;
  std::vector<std::vector<NodeId>> cluster_nodes_;
  std::vector<std::vector<std::pair<std::string, uint32_t>>> cluster_groups_;
  std::vector<std::string> region_names_;
  std::map<std::string, NodeId, std::less<>> node_by_name_;
  std::vector<std::pair<sim::RegionId, sim::RegionId>> wan_links_;  // (min, max)
};

// Reads a target or a list of targets ("east-a" or ["east-a", "west-a/server0"]) and resolves it; problems
// name the pointer of the offending entry.
std::optional<std::vector<NodeId>> read_targets(const Json& value, const std::string& pointer,
                                                const TopologyIndex& index, Problems& problems);

// Region, cluster, service and scenario names: lowercase letters, digits, '-', '_', '.', starting with a
// letter or digit, at most kMaxNameLength characters.
bool is_valid_name(std::string_view name);
inline constexpr const char* kNameRule =
    "use lowercase letters, digits, '-', '_' or '.', starting with a letter or digit (at most 63 characters)";

// True when `text` matches `pattern`, where '*' matches any run of characters.
bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace tandem::scenarios
