#include "sim/network.h"

#include <algorithm>
#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/connected_components.hpp>
#include <boost/graph/dijkstra_shortest_paths.hpp>
#include <cmath>
#include <utility>

namespace tandem::sim {
namespace {

constexpr uint8_t kSideNone = 0;
constexpr uint8_t kSideA = 1;  // side_a of a symmetric partition, `from` of a one-way one
constexpr uint8_t kSideB = 2;

// Keeps bytes * ns_per_byte in integer range; a day of serialization is already a broken scenario.
constexpr Duration kMaxSerializationDelay = std::chrono::hours(24);

// The backbone as Boost.Graph sees it: vertex r < region_count is region r's router, vertex
// region_count + c is cluster c's switch. Only links that are not cut become edges.
struct BackboneEdge {
  uint32_t link;
  int64_t weight_ns;  // mean latency: shortest paths minimise the mean
};
using Backbone =
    boost::adjacency_list<boost::vecS, boost::vecS, boost::undirectedS, boost::no_property, BackboneEdge>;
using Vertex = boost::graph_traits<Backbone>::vertex_descriptor;

void check_ok(const Status& status) { TANDEM_CHECK(status.ok(), status.error().message.c_str()); }

bool is_empty(const Network::LinkFault& fault) {
  return fault.drop_probability == 0 && fault.duplicate_probability == 0 &&
         fault.extra_delay == Duration::zero() && fault.reorder_jitter == Duration::zero() &&
         fault.clogged_until == TimePoint{};
}

std::string plural(size_t count, const char* noun) {
  return std::to_string(count) + " " + noun + (count == 1 ? "" : "s");
}

}  // namespace

// The links a message between two distinct nodes crosses, gathered by find_path() without allocating.
struct Network::Path {
  const Link* links[4] = {};  // node uplinks, then cluster uplinks when the clusters differ
  int link_count = 0;
  const RegionRoute* wan = nullptr;  // when the regions differ
};

std::string_view drop_cause_name(DropCause cause) {
  switch (cause) {
    case DropCause::kNone:
      return "none";
    case DropCause::kPartition:
      return "partition";
    case DropCause::kCut:
      return "cut";
    case DropCause::kLoss:
      return "loss";
    case DropCause::kDropFault:
      return "drop fault";
  }
  return "unknown";
}

Status Network::LinkFault::validate() const {
  auto invalid = [](std::string message) { return make_error(Errc::kInvalidArgument, std::move(message)); };
  if (!(drop_probability >= 0 && drop_probability <= 1)) {
    return invalid("link fault drop probability is " + std::to_string(drop_probability) +
                   "; it must be between 0 and 1");
  }
  if (!(duplicate_probability >= 0 && duplicate_probability <= 1)) {
    return invalid("link fault duplicate probability is " + std::to_string(duplicate_probability) +
                   "; it must be between 0 and 1");
  }
  if (extra_delay < Duration::zero()) {
    return invalid("link fault extra delay is " + format_duration(extra_delay) + "; it must not be negative");
  }
  if (reorder_jitter < Duration::zero()) {
    return invalid("link fault reorder jitter is " + format_duration(reorder_jitter) +
                   "; it must not be negative");
  }
  return {};
}

Network::Network(Random random) : random_(random) { rebuild_routes(); }

// --- Topology ----------------------------------------------------------------------------------------------

Network::LinkId Network::add_link(LinkSpec spec) {
  check_ok(spec.validate());
  Link link;
  link.spec = spec;
  link.survival = 1.0 - spec.loss_probability;
  link.ns_per_byte = spec.bandwidth_bytes_per_second > 0 ? 1e9 / spec.bandwidth_bytes_per_second : 0.0;
  if (spec.latency.is_constant() && spec.loss_probability == 0 && link.ns_per_byte == 0) {
    link.fixed_ns = spec.latency.base.count();
  }
  links_.push_back(link);
  return static_cast<LinkId>(links_.size() - 1);
}

RegionId Network::add_region(std::string name) {
  TANDEM_CHECK(regions_.size() < kMaxRegions, "too many regions (kMaxRegions)");
  TANDEM_CHECK(!region_by_name_.contains(name), "a region of this name exists already");
  const auto id = static_cast<RegionId>(regions_.size());
  region_by_name_.emplace(name, id);
  regions_.push_back(Region{std::move(name), {}});
  rebuild_routes();
  return id;
}

ClusterId Network::add_cluster(std::string name, RegionId region, LinkSpec uplink) {
  TANDEM_CHECK(region < regions_.size(), "add_cluster: unknown region id");
  TANDEM_CHECK(clusters_.size() < kMaxClusters, "too many clusters (kMaxClusters)");
  TANDEM_CHECK(!cluster_by_name_.contains(name), "a cluster of this name exists already");
  const auto id = static_cast<ClusterId>(clusters_.size());
  const LinkId link = add_link(uplink);
  cluster_by_name_.emplace(name, id);
  clusters_.push_back(Cluster{std::move(name), region, link, {}});
  regions_[region].clusters.push_back(id);
  rebuild_routes();
  return id;
}

NodeId Network::add_node(std::string name, ClusterId cluster, LinkSpec uplink) {
  TANDEM_CHECK(cluster < clusters_.size(), "add_node: unknown cluster id");
  TANDEM_CHECK(nodes_.size() < kMaxNodes, "too many nodes (kMaxNodes)");
  TANDEM_CHECK(!node_by_name_.contains(name), "a node of this name exists already");
  const auto id = static_cast<NodeId>(nodes_.size());
  const LinkId link = add_link(uplink);
  node_by_name_.emplace(name, id);
  nodes_.push_back(Node{std::move(name), cluster, link});
  clusters_[cluster].nodes.push_back(id);
  // A node is a leaf: no shortest path or component of the backbone changes.
  return id;
}

void Network::connect_regions(RegionId a, RegionId b, LinkSpec wan) {
  TANDEM_CHECK(a < regions_.size(), "connect_regions: unknown region id a");
  TANDEM_CHECK(b < regions_.size(), "connect_regions: unknown region id b");
  TANDEM_CHECK(a != b, "connect_regions: a region cannot be linked to itself");
  const auto key = std::minmax(a, b);
  TANDEM_CHECK(!wan_links_.contains(key), "connect_regions: these regions are linked already");
  wan_links_.emplace(key, add_link(wan));
  rebuild_routes();
}

void Network::set_loopback(LatencyModel model) {
  check_ok(model.validate());
  loopback_ = model;
}

ClusterId Network::cluster_of(NodeId node) const {
  TANDEM_CHECK(node < nodes_.size(), "unknown node id");
  return nodes_[node].cluster;
}

RegionId Network::region_of(ClusterId cluster) const {
  TANDEM_CHECK(cluster < clusters_.size(), "unknown cluster id");
  return clusters_[cluster].region;
}

const std::string& Network::region_name(RegionId region) const {
  TANDEM_CHECK(region < regions_.size(), "unknown region id");
  return regions_[region].name;
}

const std::string& Network::cluster_name(ClusterId cluster) const {
  TANDEM_CHECK(cluster < clusters_.size(), "unknown cluster id");
  return clusters_[cluster].name;
}

const std::string& Network::node_name(NodeId node) const {
  TANDEM_CHECK(node < nodes_.size(), "unknown node id");
  return nodes_[node].name;
}

const LinkSpec& Network::node_uplink(NodeId node) const {
  TANDEM_CHECK(node < nodes_.size(), "unknown node id");
  return links_[nodes_[node].uplink].spec;
}

const LinkSpec& Network::cluster_uplink(ClusterId cluster) const {
  TANDEM_CHECK(cluster < clusters_.size(), "unknown cluster id");
  return links_[clusters_[cluster].uplink].spec;
}

std::vector<NodeId> Network::nodes_in_cluster(ClusterId cluster) const {
  TANDEM_CHECK(cluster < clusters_.size(), "unknown cluster id");
  return clusters_[cluster].nodes;
}

std::vector<ClusterId> Network::clusters_in_region(RegionId region) const {
  TANDEM_CHECK(region < regions_.size(), "unknown region id");
  return regions_[region].clusters;
}

std::optional<NodeId> Network::find_node(std::string_view name) const {
  const auto it = node_by_name_.find(name);
  if (it == node_by_name_.end()) return std::nullopt;
  return it->second;
}

std::optional<ClusterId> Network::find_cluster(std::string_view name) const {
  const auto it = cluster_by_name_.find(name);
  if (it == cluster_by_name_.end()) return std::nullopt;
  return it->second;
}

std::optional<RegionId> Network::find_region(std::string_view name) const {
  const auto it = region_by_name_.find(name);
  if (it == region_by_name_.end()) return std::nullopt;
  return it->second;
}

// --- Backbone routes ---------------------------------------------------------------------------------------

void Network::rebuild_routes() {
  const size_t region_count = regions_.size();
  const size_t vertex_count = region_count + clusters_.size();
  Backbone graph(vertex_count);
  auto add_edge = [&](size_t u, size_t v, LinkId link) {
    boost::add_edge(u, v, BackboneEdge{link, links_[link].spec.latency.mean().count()}, graph);
  };
  for (ClusterId c = 0; c < clusters_.size(); ++c) {
    if (!links_[clusters_[c].uplink].cut)
      add_edge(region_count + c, clusters_[c].region, clusters_[c].uplink);
  }
  for (const auto& [regions, link] : wan_links_) {  // a std::map: a fixed order, so fixed tie-breaks
    if (!links_[link].cut) add_edge(regions.first, regions.second, link);
  }

  std::vector<int> component(vertex_count);
  if (vertex_count > 0) boost::connected_components(graph, component.data());
  cluster_component_.assign(clusters_.size(), 0);
  for (ClusterId c = 0; c < clusters_.size(); ++c) {
    cluster_component_[c] = static_cast<uint32_t>(component[region_count + c]);
  }

  region_routes_.assign(region_count * region_count, RegionRoute{});
  wan_random_links_.clear();
  std::vector<Vertex> predecessor(vertex_count);
  std::vector<int64_t> distance_ns(vertex_count);
  for (RegionId from = 0; from < region_count; ++from) {
    boost::dijkstra_shortest_paths(graph, from,
                                   boost::predecessor_map(predecessor.data())
                                       .distance_map(distance_ns.data())
                                       .weight_map(boost::get(&BackboneEdge::weight_ns, graph)));
    for (RegionId to = 0; to < region_count; ++to) {
      RegionRoute& route = region_routes_[from * region_count + to];
      if (component[from] != component[to]) continue;  // stays disconnected
      route.connected = true;
      route.random_links_begin = static_cast<uint32_t>(wan_random_links_.size());
      for (Vertex v = to; v != from; v = predecessor[v]) {
        TANDEM_CHECK(predecessor[v] != v, "a router in the same component must have a shortest path");
        const auto [edge, found] = boost::edge(predecessor[v], v, graph);
        TANDEM_CHECK(found, "a shortest-path step must be an edge of the backbone");
        const LinkId link_id = graph[edge].link;
        const Link& link = links_[link_id];
        if (link.spec.latency.is_constant()) {
          route.constant_latency += link.spec.latency.base;
        } else {
          wan_random_links_.push_back(link_id);
        }
        route.mean_latency += link.spec.latency.mean();
        route.survival *= link.survival;
        route.ns_per_byte += link.ns_per_byte;
      }
      TANDEM_CHECK(route.mean_latency.count() == distance_ns[to],
                   "the path's mean must be Dijkstra's distance");
      route.random_links_count = static_cast<uint32_t>(wan_random_links_.size()) - route.random_links_begin;
    }
  }
}

Network::LinkId Network::wan_link(RegionId a, RegionId b) const {
  TANDEM_CHECK(a < regions_.size(), "unknown region id a");
  TANDEM_CHECK(b < regions_.size(), "unknown region id b");
  const auto it = wan_links_.find(std::minmax(a, b));
  TANDEM_CHECK(it != wan_links_.end(), "no WAN link between these regions");
  return it->second;
}

// --- Queries and the per-message decision ------------------------------------------------------------------

bool Network::partitioned(NodeId from, NodeId to) const {
  for (const Partition& partition : partitions_) {
    if (from >= partition.side.size() || to >= partition.side.size()) continue;  // added after the partition
    const uint8_t from_side = partition.side[from];
    const uint8_t to_side = partition.side[to];
    if (from_side == kSideA && to_side == kSideB) return true;
    if (!partition.one_way && from_side == kSideB && to_side == kSideA) return true;
  }
  return false;
}

DropCause Network::find_path(NodeId from, NodeId to, Path& path) const {
  const Node& sender = nodes_[from];
  const Node& receiver = nodes_[to];
  const Link& sender_uplink = links_[sender.uplink];
  const Link& receiver_uplink = links_[receiver.uplink];
  if (sender_uplink.cut || receiver_uplink.cut) return DropCause::kCut;
  path.links[path.link_count++] = &sender_uplink;
  path.links[path.link_count++] = &receiver_uplink;
  if (sender.cluster != receiver.cluster) {
    // A cut cluster uplink leaves the switch alone in its component, so equal components imply both are up.
    if (cluster_component_[sender.cluster] != cluster_component_[receiver.cluster]) return DropCause::kCut;
    const Cluster& sender_cluster = clusters_[sender.cluster];
    const Cluster& receiver_cluster = clusters_[receiver.cluster];
    path.links[path.link_count++] = &links_[sender_cluster.uplink];
    path.links[path.link_count++] = &links_[receiver_cluster.uplink];
    if (sender_cluster.region != receiver_cluster.region) {
      path.wan = &region_routes_[sender_cluster.region * regions_.size() + receiver_cluster.region];
      TANDEM_CHECK(path.wan->connected, "connected clusters must have a route between their regions");
    }
  }
  if (partitioned(from, to)) return DropCause::kPartition;
  return DropCause::kNone;
}

Duration Network::sample_path(const Path& path, size_t payload_bytes) {
  Duration latency{};
  double ns_per_byte = 0;
  for (int i = 0; i < path.link_count; ++i) {
    const LatencyModel& model = path.links[i]->spec.latency;
    latency += model.is_constant() ? model.base : model.sample(random_);  // constant links: no call
    ns_per_byte += path.links[i]->ns_per_byte;
  }
  if (path.wan != nullptr) {
    latency += path.wan->constant_latency;
    for (uint32_t i = 0; i < path.wan->random_links_count; ++i) {
      latency += links_[wan_random_links_[path.wan->random_links_begin + i]].spec.latency.sample(random_);
    }
    ns_per_byte += path.wan->ns_per_byte;
  }
  if (ns_per_byte > 0 && payload_bytes > 0) {
    const double serialization_ns = static_cast<double>(payload_bytes) * ns_per_byte;
    latency += serialization_ns >= static_cast<double>(kMaxSerializationDelay.count())
                   ? kMaxSerializationDelay
                   : Duration(std::llround(serialization_ns));
  }
  return latency;
}

const Network::LinkFault* Network::find_fault(NodeId from, NodeId to) const {
  if (link_faults_.empty()) return nullptr;  // the common case costs no hashing
  const auto it = link_faults_.find(pair_key(from, to));
  return it == link_faults_.end() ? nullptr : &it->second;
}

Duration Network::apply_fault(const LinkFault* fault, Duration delay, TimePoint now, bool& may_reorder) {
  if (fault == nullptr) return delay;
  delay += fault->extra_delay;
  if (fault->reorder_jitter > Duration::zero()) {
    delay += Duration(random_.between(0, fault->reorder_jitter.count()));
    may_reorder = true;
  }
  // FoundationDB's clogging: arrival = max(now + delay, clogged_until).
  if (fault->clogged_until > now) delay = std::max(delay, fault->clogged_until - now);
  return delay;
}

std::optional<Duration> Network::base_latency(NodeId from, NodeId to) const {
  TANDEM_CHECK(from < nodes_.size(), "base_latency: unknown sender node");
  TANDEM_CHECK(to < nodes_.size(), "base_latency: unknown receiver node");
  if (from == to) return loopback_.mean();
  Path path;
  if (find_path(from, to, path) != DropCause::kNone) return std::nullopt;
  Duration mean{};
  for (int i = 0; i < path.link_count; ++i) mean += path.links[i]->spec.latency.mean();
  if (path.wan != nullptr) mean += path.wan->mean_latency;
  return mean;
}

bool Network::reachable(NodeId from, NodeId to) const {
  TANDEM_CHECK(from < nodes_.size(), "reachable: unknown sender node");
  TANDEM_CHECK(to < nodes_.size(), "reachable: unknown receiver node");
  if (from == to) return true;
  Path path;
  return find_path(from, to, path) == DropCause::kNone;
}

Network::Verdict Network::route(NodeId from, NodeId to, size_t payload_bytes, TimePoint now) {
  TANDEM_CHECK(from < nodes_.size(), "route: unknown sender node");
  TANDEM_CHECK(to < nodes_.size(), "route: unknown receiver node");
  ++stats_.routed;
  Verdict verdict;
  // Fast path: no partition or link fault anywhere, both nodes in one region, every link on the path fixed and
  // not cut. Draws nothing, exactly as the general path would for such links.
  if (partitions_.empty() && link_faults_.empty() && from != to) {
    const Node& sender = nodes_[from];
    const Node& receiver = nodes_[to];
    const Link& up = links_[sender.uplink];
    const Link& down = links_[receiver.uplink];
    if (up.fixed_ns >= 0 && down.fixed_ns >= 0 && !up.cut && !down.cut) {
      int64_t ns = up.fixed_ns + down.fixed_ns;
      bool fixed = true;
      if (sender.cluster != receiver.cluster) {
        const Cluster& a = clusters_[sender.cluster];
        const Cluster& b = clusters_[receiver.cluster];
        const Link& a_up = links_[a.uplink];
        const Link& b_up = links_[b.uplink];
        fixed = a.region == b.region && a_up.fixed_ns >= 0 && b_up.fixed_ns >= 0 && !a_up.cut && !b_up.cut;
        ns += a_up.fixed_ns + b_up.fixed_ns;
      }
      if (fixed) {
        verdict.delay = Duration(ns);
        return verdict;
      }
    }
  }
  auto drop = [&](DropCause cause, uint64_t& counter) {
    ++counter;
    verdict.deliver = false;
    verdict.cause = cause;
    return verdict;
  };

  // The draw order below is part of the determinism contract: loss, drop fault, latency (+ jitter),
  // duplicate, the copy's latency (+ jitter). Constant links and zero probabilities draw nothing.
  const bool loopback = from == to;  // never leaves the host: no partition, cut or link loss applies
  Path path;
  if (!loopback) {
    const DropCause cause = find_path(from, to, path);
    if (cause == DropCause::kCut) return drop(cause, stats_.dropped_cut);
    if (cause == DropCause::kPartition) return drop(cause, stats_.dropped_partition);
    double survival = 1;
    for (int i = 0; i < path.link_count; ++i) survival *= path.links[i]->survival;
    if (path.wan != nullptr) survival *= path.wan->survival;
    if (random_.chance(1.0 - survival)) return drop(DropCause::kLoss, stats_.dropped_loss);
  }
  const LinkFault* fault = find_fault(from, to);
  if (fault != nullptr && random_.chance(fault->drop_probability)) {
    return drop(DropCause::kDropFault, stats_.dropped_fault);
  }
  auto transit = [&] { return loopback ? loopback_.sample(random_) : sample_path(path, payload_bytes); };
  verdict.delay = apply_fault(fault, transit(), now, verdict.may_reorder);
  if (fault != nullptr && fault->clogged_until > now) ++stats_.clogged;
  if (fault != nullptr && random_.chance(fault->duplicate_probability)) {
    ++stats_.duplicated;
    verdict.duplicate = true;
    verdict.duplicate_delay = apply_fault(fault, transit(), now, verdict.may_reorder);
  }
  return verdict;
}

// --- Faults ------------------------------------------------------------------------------------------------

PartitionId Network::add_partition(const std::vector<NodeId>& side_a, const std::vector<NodeId>& side_b,
                                   bool one_way) {
  TANDEM_CHECK(partitions_.size() < kMaxActivePartitions, "too many active partitions; heal some first");
  Partition partition{next_partition_id_++, one_way, std::vector<uint8_t>(nodes_.size(), kSideNone)};
  for (NodeId node : side_a) {
    TANDEM_CHECK(node < nodes_.size(), "partition: unknown node id");
    partition.side[node] = kSideA;
  }
  for (NodeId node : side_b) {
    TANDEM_CHECK(node < nodes_.size(), "partition: unknown node id");
    TANDEM_CHECK(partition.side[node] != kSideA, "partition: a node cannot be on both sides");
    partition.side[node] = kSideB;
  }
  partitions_.push_back(std::move(partition));
  return partitions_.back().id;
}

PartitionId Network::partition(const std::vector<NodeId>& side_a, const std::vector<NodeId>& side_b) {
  return add_partition(side_a, side_b, /*one_way=*/false);
}

PartitionId Network::partition_one_way(const std::vector<NodeId>& from, const std::vector<NodeId>& to) {
  return add_partition(from, to, /*one_way=*/true);
}

bool Network::heal_partition(PartitionId id) {
  const auto it = std::find_if(partitions_.begin(), partitions_.end(),
                               [id](const Partition& partition) { return partition.id == id; });
  if (it == partitions_.end()) return false;
  partitions_.erase(it);
  return true;
}

bool Network::set_link_cut(LinkId link, bool cut) {
  if (links_[link].cut == cut) return false;
  links_[link].cut = cut;
  if (cut) {
    ++cut_link_count_;
  } else {
    --cut_link_count_;
  }
  return true;
}

void Network::isolate_node(NodeId node) {
  TANDEM_CHECK(node < nodes_.size(), "isolate_node: unknown node id");
  set_link_cut(nodes_[node].uplink, true);  // a leaf: the backbone routes stand
}

void Network::restore_node(NodeId node) {
  TANDEM_CHECK(node < nodes_.size(), "restore_node: unknown node id");
  set_link_cut(nodes_[node].uplink, false);
}

void Network::cut_cluster(ClusterId cluster) {
  TANDEM_CHECK(cluster < clusters_.size(), "cut_cluster: unknown cluster id");
  if (set_link_cut(clusters_[cluster].uplink, true)) rebuild_routes();
}

void Network::restore_cluster(ClusterId cluster) {
  TANDEM_CHECK(cluster < clusters_.size(), "restore_cluster: unknown cluster id");
  if (set_link_cut(clusters_[cluster].uplink, false)) rebuild_routes();
}

void Network::cut_wan(RegionId a, RegionId b) {
  if (set_link_cut(wan_link(a, b), true)) rebuild_routes();
}

void Network::restore_wan(RegionId a, RegionId b) {
  if (set_link_cut(wan_link(a, b), false)) rebuild_routes();
}

void Network::heal_partitions() {
  partitions_.clear();
  bool backbone_changed = false;
  for (const Cluster& cluster : clusters_) backbone_changed |= set_link_cut(cluster.uplink, false);
  for (const auto& [regions, link] : wan_links_) backbone_changed |= set_link_cut(link, false);
  for (const Node& node : nodes_) set_link_cut(node.uplink, false);
  TANDEM_CHECK(cut_link_count_ == 0, "every cut link is a node, cluster or WAN link");
  if (backbone_changed) rebuild_routes();
}

void Network::set_link_fault(NodeId from, NodeId to, LinkFault fault) {
  TANDEM_CHECK(from < nodes_.size(), "set_link_fault: unknown sender node");
  TANDEM_CHECK(to < nodes_.size(), "set_link_fault: unknown receiver node");
  check_ok(fault.validate());
  if (is_empty(fault)) {
    link_faults_.erase(pair_key(from, to));  // an empty fault is no fault: keep link_fault_count() honest
  } else {
    link_faults_[pair_key(from, to)] = fault;
  }
}

void Network::clog(NodeId from, NodeId to, TimePoint until) {
  TANDEM_CHECK(from < nodes_.size(), "clog: unknown sender node");
  TANDEM_CHECK(to < nodes_.size(), "clog: unknown receiver node");
  LinkFault& fault = link_faults_[pair_key(from, to)];
  fault.clogged_until = std::max(fault.clogged_until, until);  // a clog only ever extends
}

void Network::clog_pair(NodeId a, NodeId b, TimePoint until) {
  clog(a, b, until);
  clog(b, a, until);
}

void Network::clear_link_faults() { link_faults_.clear(); }

void Network::heal_all() {
  heal_partitions();
  clear_link_faults();
}

std::string Network::describe_faults() const {
  if (!has_faults()) return "no network faults";
  std::vector<std::string> parts;
  if (!partitions_.empty()) {
    const auto one_way = static_cast<size_t>(
        std::count_if(partitions_.begin(), partitions_.end(), [](const Partition& p) { return p.one_way; }));
    parts.push_back(plural(partitions_.size(), "partition") +
                    (one_way > 0 ? " (" + std::to_string(one_way) + " one-way)" : ""));
  }
  size_t isolated = 0;
  for (const Node& node : nodes_) isolated += links_[node.uplink].cut ? 1 : 0;
  size_t cut_clusters = 0;
  for (const Cluster& cluster : clusters_) cut_clusters += links_[cluster.uplink].cut ? 1 : 0;
  size_t cut_wans = 0;
  for (const auto& [regions, link] : wan_links_) cut_wans += links_[link].cut ? 1 : 0;
  if (isolated > 0) parts.push_back(plural(isolated, "isolated node"));
  if (cut_clusters > 0) parts.push_back(plural(cut_clusters, "cut cluster"));
  if (cut_wans > 0) parts.push_back(plural(cut_wans, "cut WAN link"));
  if (!link_faults_.empty()) parts.push_back(plural(link_faults_.size(), "link fault"));
  std::string out;
  for (const std::string& part : parts) {
    if (!out.empty()) out += ", ";
    out += part;
  }
  return out;
}

}  // namespace tandem::sim
