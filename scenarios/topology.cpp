#include "scenarios/topology.h"

#include <algorithm>
#include <numeric>
#include <set>

namespace tandem::scenarios {

bool is_valid_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  auto allowed = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
  };
  if (!((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= '0' && name[0] <= '9'))) return false;
  return std::all_of(name.begin(), name.end(), allowed);
}

namespace {

bool valid_group_name(std::string_view name) {
  if (!is_valid_name(name) || !(name[0] >= 'a' && name[0] <= 'z')) return false;
  const char last = name.back();
  return !(last >= '0' && last <= '9');
}

std::optional<std::string> read_name(const Json& value, const std::string& pointer, Problems& problems) {
  std::optional<std::string> name = read_string(value, pointer, problems, "a name");
  if (name && !is_valid_name(*name)) {
    problems.add(pointer, "\"" + *name + "\" is not a valid name; " + kNameRule);
    return std::nullopt;
  }
  return name;
}

sim::LinkSpec constant_link(Duration latency) {
  sim::LinkSpec link;
  link.latency = sim::LatencyModel::constant(latency);
  return link;
}

sim::LinkSpec default_node_link() {
  sim::LinkSpec link;
  link.latency = sim::LatencyModel::uniform(std::chrono::microseconds(100), std::chrono::microseconds(300));
  return link;
}

sim::LinkSpec default_wan_link() {
  sim::LinkSpec link;
  link.latency = sim::LatencyModel::normal(std::chrono::milliseconds(20), std::chrono::milliseconds(2));
  return link;
}

std::map<std::string, double> read_resources(const Json& value, const std::string& pointer,
                                             Problems& problems) {
  std::map<std::string, double> out;
  if (!value.is_object()) {
    problems.add(pointer,
                 "expected an object of resource amounts such as {\"CPU\": 8, \"memory\": 3.2e10}, got " +
                     describe_json(value));
    return out;
  }
  if (value.size() > 64)
    problems.add(pointer, "has " + std::to_string(value.size()) + " resources; at most 64");
  for (const auto& [name, amount] : value.items()) {
    if (name.empty()) {
      problems.add(child_pointer(pointer, name), "a resource needs a non-empty name");
      continue;
    }
    if (std::optional<double> number = read_number(amount, child_pointer(pointer, name), problems, 0, 9e14)) {
      out[name] = *number;
    }
  }
  return out;
}

std::map<std::string, std::string> read_labels(const Json& value, const std::string& pointer,
                                               Problems& problems) {
  std::map<std::string, std::string> out;
  if (!value.is_object()) {
    problems.add(pointer, "expected an object of string labels such as {\"zone\": \"a\"}, got " +
                              describe_json(value));
    return out;
  }
  for (const auto& [key, text] : value.items()) {
    if (std::optional<std::string> label = read_string(text, child_pointer(pointer, key), problems)) {
      out[key] = *label;
    }
  }
  return out;
}

std::string unknown_name(std::string_view kind, std::string_view name,
                         const std::vector<std::string>& known) {
  std::vector<std::string> sorted = known;
  std::sort(sorted.begin(), sorted.end());
  return "no " + std::string(kind) + " named \"" + std::string(name) + "\"" +
         suggestion(name, sorted, "known " + std::string(kind) + "s");
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view text) {
  // Iterative wildcard match with backtracking to the last '*'.
  size_t p = 0;
  size_t t = 0;
  size_t star = std::string_view::npos;
  size_t resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] != '*' && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::optional<sim::LatencyModel> parse_latency(const Json& value, const std::string& pointer,
                                               Problems& problems) {
  using Kind = sim::LatencyModel::Kind;
  if (value.is_string()) {
    const std::optional<Duration> latency = read_duration(value, pointer, problems);
    if (!latency) return std::nullopt;
    Result<sim::LatencyModel> model = sim::LatencyModel::make(Kind::kConstant, *latency);
    if (!model.ok()) {
      problems.add(pointer, model.error().message);
      return std::nullopt;
    }
    return model.value();
  }
  ObjectReader reader(value, pointer, problems, "a latency (\"2ms\" or {\"kind\": \"uniform\", ...})");
  if (!reader.ok()) return std::nullopt;
  const std::optional<std::string> kind_name =
      reader.string("kind", Need::kRequired, "give one of constant, uniform, normal, lognormal, exponential");
  if (!kind_name) {
    reader.finish();
    return std::nullopt;
  }
  Result<Kind> kind = sim::parse_latency_kind(*kind_name);
  if (!kind.ok()) {
    problems.add(reader.child("kind"), kind.error().message);
    return std::nullopt;
  }
  std::optional<Duration> first;
  std::optional<Duration> second = Duration::zero();
  const std::string context = "for latency kind \"" + *kind_name + "\"";
  switch (kind.value()) {
    case Kind::kConstant:
      first = reader.duration("value", Need::kRequired, "give the latency, e.g. \"500us\"");
      break;
    case Kind::kUniform:
      first = reader.duration("low", Need::kRequired, "give the smallest latency, e.g. \"100us\"");
      second = reader.duration("high", Need::kRequired, "give the largest latency, e.g. \"300us\"");
      break;
    case Kind::kNormal:
    case Kind::kLogNormal:
      first = reader.duration("mean", Need::kRequired, "give the mean latency, e.g. \"2ms\"");
      second = reader.duration("stddev", Need::kRequired, "give the standard deviation, e.g. \"1ms\"");
      break;
    case Kind::kExponential:
      first = reader.duration("mean", Need::kRequired, "give the mean latency, e.g. \"2ms\"");
      if (reader.has("floor"))
        second = reader.duration("floor", Need::kOptional);
      else
        reader.optional("floor");
      break;
  }
  reader.finish(context);
  if (!first || !second) return std::nullopt;
  Result<sim::LatencyModel> model = sim::LatencyModel::make(kind.value(), *first, *second);
  if (!model.ok()) {
    problems.add(pointer, model.error().message);
    return std::nullopt;
  }
  return model.value();
}

std::optional<sim::LinkSpec> parse_link(const Json& value, const std::string& pointer, Problems& problems) {
  if (value.is_string()) {
    std::optional<sim::LatencyModel> latency = parse_latency(value, pointer, problems);
    if (!latency) return std::nullopt;
    sim::LinkSpec link;
    link.latency = *latency;
    return link;
  }
  ObjectReader reader(value, pointer, problems, "a link (\"500us\" or {\"latency\": ..., \"loss\": ...})");
  if (!reader.ok()) return std::nullopt;
  std::optional<sim::LatencyModel> latency;
  if (const Json* field = reader.required("latency", "give the link's latency, e.g. \"500us\"")) {
    latency = parse_latency(*field, reader.child("latency"), problems);
  }
  const std::optional<double> loss = reader.number("loss", Need::kOptional, 0, 1, "(a probability)");
  const std::optional<double> bandwidth =
      reader.number("bandwidth", Need::kOptional, 0, 1e15, "bytes per second (0 = unlimited)");
  reader.finish("in a link");
  if (!latency) return std::nullopt;
  Result<sim::LinkSpec> link = sim::LinkSpec::make(*latency, loss.value_or(0), bandwidth.value_or(0));
  if (!link.ok()) {
    problems.add(pointer, link.error().message);
    return std::nullopt;
  }
  return link.value();
}

TopologySpec parse_topology(const Json& value, const std::string& pointer, Problems& problems) {
  TopologySpec spec;
  ObjectReader reader(value, pointer, problems, "the topology");
  if (!reader.ok()) return spec;

  // Defaults first: clusters and WAN links fall back on them.
  sim::LinkSpec node_link = default_node_link();
  sim::LinkSpec uplink = constant_link(std::chrono::microseconds(500));
  sim::LinkSpec wan_link = default_wan_link();
  if (const Json* defaults = reader.optional("defaults")) {
    ObjectReader d(*defaults, reader.child("defaults"), problems, "link defaults");
    if (const Json* v = d.optional("node_link")) {
      if (auto link = parse_link(*v, d.child("node_link"), problems)) node_link = *link;
    }
    if (const Json* v = d.optional("uplink")) {
      if (auto link = parse_link(*v, d.child("uplink"), problems)) uplink = *link;
    }
    if (const Json* v = d.optional("wan")) {
      if (auto link = parse_link(*v, d.child("wan"), problems)) wan_link = *link;
    }
    d.finish("in topology defaults");
  }

  std::set<std::string> region_set;
  if (const Json* regions = reader.required("regions", "list the regions, e.g. [\"east\", \"west\"]")) {
    const std::string at = reader.child("regions");
    if (const Json* array = read_array(*regions, at, problems, kMaxScenarioRegions, "region names")) {
      if (array->empty()) problems.add(at, "is empty; a topology needs at least one region");
      for (size_t i = 0; i < array->size(); ++i) {
        const std::optional<std::string> name = read_name((*array)[i], child_pointer(at, i), problems);
        if (!name) continue;
        if (!region_set.insert(*name).second) {
          problems.add(child_pointer(at, i),
                       "region \"" + *name + "\" is listed twice; region names must be unique");
          continue;
        }
        spec.regions.push_back(*name);
      }
    }
  }

  std::set<std::string> cluster_set;
  size_t total_nodes = 0;
  if (const Json* clusters = reader.required(
          "clusters",
          "list the clusters, e.g. [{\"name\": \"east-a\", \"region\": \"east\", \"nodes\": 3}]")) {
    const std::string at = reader.child("clusters");
    if (const Json* array = read_array(*clusters, at, problems, kMaxScenarioClusters, "clusters")) {
      if (array->empty()) problems.add(at, "is empty; a topology needs at least one cluster");
      for (size_t i = 0; i < array->size(); ++i) {
        const std::string cluster_at = child_pointer(at, i);
        ObjectReader c((*array)[i], cluster_at, problems, "a cluster");
        if (!c.ok()) continue;
        ClusterSpec cluster;
        cluster.node_link = node_link;
        cluster.uplink = uplink;
        bool good = true;
        if (const Json* name = c.required("name", "give the cluster a name, e.g. \"east-a\"")) {
          if (std::optional<std::string> text = read_name(*name, c.child("name"), problems)) {
            cluster.name = *text;
            if (region_set.contains(*text)) {
              problems.add(c.child("name"), "\"" + *text +
                                                "\" is also a region name; a cluster and a region may " +
                                                "not share a name, since targets name either");
              good = false;
            } else if (!cluster_set.insert(*text).second) {
              problems.add(c.child("name"),
                           "cluster \"" + *text + "\" is defined twice; cluster names must be unique");
              good = false;
            }
          } else {
            good = false;
          }
        } else {
          good = false;
        }
        if (std::optional<std::string> region =
                c.string("region", Need::kRequired, "name the cluster's region")) {
          if (!region_set.contains(*region)) {
            problems.add(c.child("region"), unknown_name("region", *region, spec.regions));
            good = false;
          }
          cluster.region = *region;
        } else {
          good = false;
        }
        if (const Json* v = c.optional("node_link")) {
          if (auto link = parse_link(*v, c.child("node_link"), problems)) cluster.node_link = *link;
        }
        if (const Json* v = c.optional("uplink")) {
          if (auto link = parse_link(*v, c.child("uplink"), problems)) cluster.uplink = *link;
        }
        if (const Json* nodes = c.required(
                "nodes", "give a node count (3) or groups ([{\"group\": \"server\", \"count\": 2}])")) {
          const std::string nodes_at = c.child("nodes");
          if (nodes->is_number()) {
            if (auto count = read_integer(*nodes, nodes_at, problems, 1, kMaxScenarioNodes, "nodes")) {
              cluster.groups.push_back(NodeGroupSpec{"node", static_cast<uint32_t>(*count), {}, {}});
            }
          } else if (const Json* groups =
                         read_array(*nodes, nodes_at, problems, kMaxGroupsPerCluster, "node groups")) {
            if (groups->empty()) problems.add(nodes_at, "is empty; a cluster needs at least one node");
            std::set<std::string> group_set;
            for (size_t g = 0; g < groups->size(); ++g) {
              ObjectReader gr((*groups)[g], child_pointer(nodes_at, g), problems, "a node group");
              if (!gr.ok()) continue;
              NodeGroupSpec group;
              if (std::optional<std::string> name =
                      gr.string("group", Need::kRequired, "name the group, e.g. \"server\"")) {
                if (!valid_group_name(*name)) {
                  problems.add(gr.child("group"), "\"" + *name + "\" is not a valid group name; " +
                                                      kNameRule +
                                                      ", starting with a letter and not ending in a digit "
                                                      "(nodes are named <group><index>)");
                } else if (!group_set.insert(*name).second) {
                  problems.add(gr.child("group"), "group \"" + *name + "\" appears twice in this cluster");
                } else {
                  group.name = *name;
                }
              }
              if (auto count = gr.integer("count", Need::kRequired, 1, kMaxScenarioNodes, "nodes",
                                          "give the number of nodes in the group")) {
                group.count = static_cast<uint32_t>(*count);
              }
              if (const Json* v = gr.optional("resources"))
                group.resources = read_resources(*v, gr.child("resources"), problems);
              if (const Json* v = gr.optional("labels"))
                group.labels = read_labels(*v, gr.child("labels"), problems);
              gr.finish("in a node group");
              if (!group.name.empty() && group.count > 0) cluster.groups.push_back(std::move(group));
            }
          }
          for (const NodeGroupSpec& group : cluster.groups) total_nodes += group.count;
        }
        c.finish("in a cluster");
        if (good) spec.clusters.push_back(std::move(cluster));
      }
    }
  }
  if (total_nodes > kMaxScenarioNodes) {
    problems.add(reader.child("clusters"), "the clusters hold " + std::to_string(total_nodes) +
                                               " nodes in all; a scenario may have at most " +
                                               std::to_string(kMaxScenarioNodes));
  }

  // WAN links: a full mesh of default links unless listed; when listed, they must connect every region.
  if (const Json* wan = reader.optional("wan")) {
    const std::string at = reader.child("wan");
    std::set<std::pair<std::string, std::string>> pairs;
    if (const Json* array =
            read_array(*wan, at, problems, kMaxScenarioRegions * kMaxScenarioRegions, "WAN links")) {
      for (size_t i = 0; i < array->size(); ++i) {
        ObjectReader w((*array)[i], child_pointer(at, i), problems, "a WAN link");
        if (!w.ok()) continue;
        WanSpec link{"", "", wan_link};
        bool good = false;
        if (const Json* between = w.required("between", "name the two regions, e.g. [\"east\", \"west\"]")) {
          const std::string between_at = w.child("between");
          if (!between->is_array() || between->size() != 2) {
            problems.add(between_at, "expected two region names such as [\"east\", \"west\"], got " +
                                         describe_json(*between));
          } else {
            const std::optional<std::string> a =
                read_string((*between)[0], child_pointer(between_at, 0), problems, "a region name");
            const std::optional<std::string> b =
                read_string((*between)[1], child_pointer(between_at, 1), problems, "a region name");
            good = a && b;
            if (a && !region_set.contains(*a)) {
              problems.add(child_pointer(between_at, 0), unknown_name("region", *a, spec.regions));
              good = false;
            }
            if (b && !region_set.contains(*b)) {
              problems.add(child_pointer(between_at, 1), unknown_name("region", *b, spec.regions));
              good = false;
            }
            if (good && *a == *b) {
              problems.add(between_at,
                           "a WAN link joins two different regions; both ends are \"" + *a + "\"");
              good = false;
            }
            if (good && !pairs.insert(std::minmax(*a, *b)).second) {
              problems.add(between_at,
                           "regions \"" + *a + "\" and \"" + *b + "\" are linked twice; keep one link");
              good = false;
            }
            if (good) {
              link.region_a = *a;
              link.region_b = *b;
            }
          }
        }
        if (const Json* v = w.optional("link")) {
          if (auto parsed = parse_link(*v, w.child("link"), problems)) link.link = *parsed;
        }
        w.finish("in a WAN link");
        if (good) spec.wan.push_back(std::move(link));
      }
    }
    // Every region must reach every other, or clusters would be silently cut off from the start.
    if (spec.regions.size() > 1 && problems.empty()) {
      std::vector<size_t> parent(spec.regions.size());
      std::iota(parent.begin(), parent.end(), 0);
      auto find = [&](size_t x) {
        while (parent[x] != x) x = parent[x] = parent[parent[x]];
        return x;
      };
      auto index = [&](const std::string& name) {
        return static_cast<size_t>(std::find(spec.regions.begin(), spec.regions.end(), name) -
                                   spec.regions.begin());
      };
      for (const WanSpec& link : spec.wan) parent[find(index(link.region_a))] = find(index(link.region_b));
      for (size_t r = 1; r < spec.regions.size(); ++r) {
        if (find(r) != find(0)) {
          problems.add(at, "region \"" + spec.regions[r] + "\" is not connected to \"" + spec.regions[0] +
                               "\" by WAN links; add {\"between\": [\"" + spec.regions[0] + "\", \"" +
                               spec.regions[r] + "\"]} or leave \"wan\" out for a full mesh");
          break;
        }
      }
    }
  } else {
    for (size_t a = 0; a < spec.regions.size(); ++a) {
      for (size_t b = a + 1; b < spec.regions.size(); ++b)
        spec.wan.push_back(WanSpec{spec.regions[a], spec.regions[b], wan_link});
    }
  }
  reader.finish("in the topology");
  return spec;
}

// --- TopologyIndex -----------------------------------------------------------------------------------------

TopologyIndex::TopologyIndex(const TopologySpec& spec) : region_names_(spec.regions) {
  for (const ClusterSpec& cluster : spec.clusters) {
    const auto cluster_id = static_cast<sim::ClusterId>(cluster_names_.size());
    cluster_names_.push_back(cluster.name);
    const auto region = std::find(region_names_.begin(), region_names_.end(), cluster.region);
    cluster_region_.push_back(static_cast<sim::RegionId>(region - region_names_.begin()));
    cluster_nodes_.emplace_back();
    cluster_groups_.emplace_back();
    for (const NodeGroupSpec& group : cluster.groups) {
      cluster_groups_.back().emplace_back(group.name, group.count);
      for (uint32_t i = 0; i < group.count; ++i) {
        const auto node = static_cast<NodeId>(node_names_.size());
        node_names_.push_back(cluster.name + "/" + group.name + std::to_string(i));
        node_cluster_.push_back(cluster_id);
        node_group_.push_back(group.name);
        node_resources_.push_back(group.resources);
        node_labels_.push_back(group.labels);
        cluster_nodes_.back().push_back(node);
        node_by_name_.emplace(node_names_.back(), node);
      }
    }
  }
  for (const WanSpec& link : spec.wan) {
    const auto a = static_cast<sim::RegionId>(
        std::find(region_names_.begin(), region_names_.end(), link.region_a) - region_names_.begin());
    const auto b = static_cast<sim::RegionId>(
        std::find(region_names_.begin(), region_names_.end(), link.region_b) - region_names_.begin());
    wan_links_.push_back(std::minmax(a, b));
  }
}

std::optional<sim::ClusterId> TopologyIndex::find_cluster(std::string_view name) const {
  const auto it = std::find(cluster_names_.begin(), cluster_names_.end(), name);
  if (it == cluster_names_.end()) return std::nullopt;
  return static_cast<sim::ClusterId>(it - cluster_names_.begin());
}

std::optional<sim::RegionId> TopologyIndex::find_region(std::string_view name) const {
  const auto it = std::find(region_names_.begin(), region_names_.end(), name);
  if (it == region_names_.end()) return std::nullopt;
  return static_cast<sim::RegionId>(it - region_names_.begin());
}

std::optional<NodeId> TopologyIndex::find_node(std::string_view name) const {
  const auto it = node_by_name_.find(name);
  if (it == node_by_name_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> TopologyIndex::group_names() const {
  std::set<std::string> names(node_group_.begin(), node_group_.end());
  return {names.begin(), names.end()};
}

std::vector<NodeId> TopologyIndex::nodes_in_group(std::string_view group,
                                                  const std::vector<sim::ClusterId>& clusters) const {
  std::vector<NodeId> out;
  for (NodeId node = 0; node < node_names_.size(); ++node) {
    if (node_group_[node] != group) continue;
    if (!clusters.empty() &&
        std::find(clusters.begin(), clusters.end(), node_cluster_[node]) == clusters.end())
      continue;
    out.push_back(node);
  }
  return out;
}

std::string TopologyIndex::describe_cluster_nodes(sim::ClusterId cluster) const {
  std::string out;
  for (const auto& [group, count] : cluster_groups_.at(cluster)) {
    if (!out.empty()) out += ", ";
    out += group + "0";
    if (count > 1) out += ".." + group + std::to_string(count - 1);
  }
  return out;
}

bool TopologyIndex::has_wan_link(sim::RegionId a, sim::RegionId b) const {
  const std::pair<sim::RegionId, sim::RegionId> key(std::min(a, b), std::max(a, b));
  return std::find(wan_links_.begin(), wan_links_.end(), key) != wan_links_.end();
}

Result<std::vector<NodeId>> TopologyIndex::resolve_nodes(std::string_view target) const {
  auto fail = [](std::string message) { return make_error(Errc::kNotFound, std::move(message)); };
  const std::string clusters_list = join_names(cluster_names_);
  std::vector<NodeId> out;
  if (target.empty())
    return fail(
        "an empty target names nothing; name a node (\"east-a/server0\"), a cluster, a region or \"*\"");
  if (target == "*") {
    out.resize(node_names_.size());
    std::iota(out.begin(), out.end(), 0);
    return out;
  }
  const size_t slash = target.find('/');
  if (slash == std::string_view::npos) {
    if (target.find('*') != std::string_view::npos) {
      for (sim::ClusterId c = 0; c < cluster_names_.size(); ++c) {
        if (glob_match(target, cluster_names_[c]))
          out.insert(out.end(), cluster_nodes_[c].begin(), cluster_nodes_[c].end());
      }
      if (out.empty())
        return fail("no cluster matches \"" + std::string(target) + "\"; known clusters: " + clusters_list);
    } else if (std::optional<sim::ClusterId> cluster = find_cluster(target)) {
      out = cluster_nodes_[*cluster];
    } else if (std::optional<sim::RegionId> region = find_region(target)) {
      for (sim::ClusterId c = 0; c < cluster_names_.size(); ++c) {
        if (cluster_region_[c] == *region)
          out.insert(out.end(), cluster_nodes_[c].begin(), cluster_nodes_[c].end());
      }
    } else {
      return fail("no node, cluster or region named \"" + std::string(target) +
                  "\"; known clusters: " + clusters_list + "; known regions: " + join_names(region_names_));
    }
  } else {
    const std::string_view cluster_part = target.substr(0, slash);
    const std::string_view node_part = target.substr(slash + 1);
    std::vector<sim::ClusterId> clusters;
    for (sim::ClusterId c = 0; c < cluster_names_.size(); ++c) {
      if (glob_match(cluster_part, cluster_names_[c])) clusters.push_back(c);
    }
    if (clusters.empty()) {
      return fail("no node or cluster named \"" + std::string(target) +
                  "\"; known clusters: " + clusters_list);
    }
    for (sim::ClusterId c : clusters) {
      for (NodeId node : cluster_nodes_[c]) {
        const std::string_view short_name =
            std::string_view(node_names_[node]).substr(cluster_names_[c].size() + 1);
        if (glob_match(node_part, short_name)) out.push_back(node);
      }
    }
    if (out.empty()) {
      if (clusters.size() == 1) {
        return fail("cluster \"" + cluster_names_[clusters[0]] + "\" has no node \"" +
                    std::string(node_part) + "\"; its nodes are " + describe_cluster_nodes(clusters[0]));
      }
      return fail("no node matches \"" + std::string(target) + "\"");
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::optional<std::vector<NodeId>> read_targets(const Json& value, const std::string& pointer,
                                                const TopologyIndex& index, Problems& problems) {
  std::vector<NodeId> out;
  auto one = [&](const Json& item, const std::string& at) {
    std::optional<std::string> target =
        read_string(item, at, problems, "a target (\"east-a/server0\", \"east-a\", \"*\")");
    if (!target) return false;
    Result<std::vector<NodeId>> nodes = index.resolve_nodes(*target);
    if (!nodes.ok()) {
      problems.add(at, nodes.error().message);
      return false;
    }
    out.insert(out.end(), nodes.value().begin(), nodes.value().end());
    return true;
  };
  bool good = true;
  if (value.is_array()) {
    if (value.empty()) {
      problems.add(pointer, "is an empty list; name at least one target");
      return std::nullopt;
    }
    if (value.size() > kMaxScenarioNodes) {
      problems.add(pointer, "lists too many targets");
      return std::nullopt;
    }
    for (size_t i = 0; i < value.size(); ++i) good &= one(value[i], child_pointer(pointer, i));
  } else {
    good = one(value, pointer);
  }
  if (!good) return std::nullopt;
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace tandem::scenarios
