#include "core/runtime/scheduling.h"

#include <algorithm>
#include <map>

#include "core/common/check.h"

namespace tandem::runtime {

std::string_view strategy_name(PlacementStrategy strategy) {
  switch (strategy) {
    case PlacementStrategy::kPack: return "pack";
    case PlacementStrategy::kSpread: return "spread";
  }
  return "unknown";
}

std::string_view bundle_strategy_name(BundleStrategy strategy) {
  switch (strategy) {
    case BundleStrategy::kPack: return "pack";
    case BundleStrategy::kSpread: return "spread";
    case BundleStrategy::kStrictPack: return "strict_pack";
    case BundleStrategy::kStrictSpread: return "strict_spread";
  }
  return "unknown";
}

std::string SchedulingSpec::to_string() const {
  std::string out = resources.to_string();
  if (!labels.empty()) out += " on " + labels.to_string();
  out += ", " + std::string(strategy_name(strategy));
  if (node_affinity) {
    out += ", " + std::string(node_affinity->soft ? "prefer" : "only") + " node " + std::to_string(node_affinity->node);
  }
  if (placement_group) {
    out += ", in placement group " + std::to_string(placement_group->group);
    if (placement_group->bundle_index >= 0) out += " bundle " + std::to_string(placement_group->bundle_index);
  }
  if (!runtime_env.empty()) out += ", runtime env " + runtime_env;
  return out;
}

namespace {

double utilization(const ResourceSet& total, const ResourceSet& available, const ResourceSet& request) {
  double best = 0;
  auto consider = [&](std::string_view name) {
    const int64_t capacity = total.units(name);
    if (capacity <= 0) return;
    const int64_t used = capacity - available.units(name);
    best = std::max(best, static_cast<double>(used) / static_cast<double>(capacity));
  };
  if (request.empty()) {
    consider(kCpu);
  } else {
    for (const auto& [name, units] : request.all_units()) consider(name);
  }
  return best;
}

bool has_env(const SchedulerNode& node, const std::string& env) {
  return node.runtime_envs != nullptr && node.runtime_envs->find(env) != node.runtime_envs->end();
}

bool usable(const SchedulerNode& node, const LabelSelector& labels) {
  return node.alive && labels.matches(*node.labels);
}

// Index into `nodes` of the best candidate by strategy among `candidates` (indices); candidates non-empty.
size_t choose(std::span<const SchedulerNode> nodes, const std::vector<size_t>& candidates,
              const ResourceSet& request, PlacementStrategy strategy, NodeId& spread_cursor) {
  TANDEM_CHECK(!candidates.empty(), "choose() needs candidates");
  // Each candidate's utilisation once (the walks below visit candidates more than once).
  std::vector<double> utils(candidates.size());
  for (size_t c = 0; c < candidates.size(); ++c) {
    utils[c] = utilization(*nodes[candidates[c]].total, *nodes[candidates[c]].available, request);
  }
  if (strategy == PlacementStrategy::kPack) {
    size_t best = candidates.front();
    double best_util = utils.front();
    for (size_t c = 0; c < candidates.size(); ++c) {
      const size_t i = candidates[c];
      const double util = utils[c];
      if (util > best_util) {  // ties keep the lower id
        best = i;
        best_util = util;
      }
    }
    return best;
  }
  // Spread: lowest utilisation, then fewest placements, then round-robin after the cursor.
  double best_util = 2;
  uint64_t best_placements = UINT64_MAX;
  for (size_t c = 0; c < candidates.size(); ++c) {
    const size_t i = candidates[c];
    const double util = utils[c];
    if (util < best_util || (util == best_util && nodes[i].placements < best_placements)) {
      best_util = util;
      best_placements = nodes[i].placements;
    }
  }
  std::optional<size_t> first_tied;
  std::optional<size_t> after_cursor;
  for (size_t c = 0; c < candidates.size(); ++c) {
    const size_t i = candidates[c];
    const double util = utils[c];
    if (util != best_util || nodes[i].placements != best_placements) continue;
    if (!first_tied) first_tied = i;
    if (!after_cursor && (spread_cursor == kNoNode || nodes[i].id > spread_cursor)) after_cursor = i;
  }
  const size_t chosen = after_cursor ? *after_cursor : *first_tied;
  spread_cursor = nodes[chosen].id;
  return chosen;
}

}  // namespace

std::optional<NodeId> pick_node(std::span<const SchedulerNode> nodes, const SchedulingSpec& spec,
                                NodeId& spread_cursor) {
  std::vector<size_t> candidates;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (usable(nodes[i], spec.labels) && spec.resources.fits_in(*nodes[i].available)) candidates.push_back(i);
  }
  if (spec.node_affinity) {
    for (size_t i : candidates) {
      if (nodes[i].id == spec.node_affinity->node) return nodes[i].id;
    }
    if (!spec.node_affinity->soft) return std::nullopt;
  }
  if (candidates.empty()) return std::nullopt;
  if (!spec.runtime_env.empty()) {
    std::vector<size_t> with_env;
    for (size_t i : candidates) {
      if (has_env(nodes[i], spec.runtime_env)) with_env.push_back(i);
    }
    if (!with_env.empty()) candidates = std::move(with_env);
  }
  return nodes[choose(nodes, candidates, spec.resources, spec.strategy, spread_cursor)].id;
}

bool ever_feasible(std::span<const SchedulerNode> nodes, const ResourceSet& resources, const LabelSelector& labels,
                   const std::optional<NodeAffinity>& affinity) {
  for (const SchedulerNode& node : nodes) {
    if (affinity && !affinity->soft && node.id != affinity->node) continue;
    if (labels.matches(*node.labels) && resources.fits_in(*node.total)) return true;
  }
  return false;
}

std::string explain_unplaceable(std::span<const SchedulerNode> nodes, const SchedulingSpec& spec) {
  if (spec.node_affinity && !spec.node_affinity->soft) {
    for (const SchedulerNode& node : nodes) {
      if (node.id != spec.node_affinity->node) continue;
      if (!node.alive) return "its affinity node " + std::to_string(node.id) + " is not alive";
      if (!spec.labels.matches(*node.labels)) {
        return "its affinity node " + std::to_string(node.id) + " does not match " + spec.labels.to_string();
      }
      return "its affinity node " + std::to_string(node.id) + " lacks free resources (" +
             spec.resources.shortfall(*node.available) + ")";
    }
    return "its affinity node " + std::to_string(spec.node_affinity->node) + " is unknown";
  }
  bool any_alive = false;
  const SchedulerNode* closest = nullptr;
  for (const SchedulerNode& node : nodes) {
    if (!node.alive) continue;
    any_alive = true;
    if (!spec.labels.matches(*node.labels)) continue;
    if (closest == nullptr) closest = &node;
  }
  if (!any_alive) return "no node is alive";
  if (closest == nullptr) return "no alive node matches " + spec.labels.to_string();
  return "no alive node has enough free resources (e.g. node " + std::to_string(closest->id) + ": " +
         spec.resources.shortfall(*closest->available) + ")";
}

namespace {

int64_t size_of(const ResourceSet& set) {
  int64_t sum = 0;
  for (const auto& [name, units] : set.all_units()) sum += units;
  return sum;
}

// Bundle order for greedy placement: largest first for strict spread (harder ones first), else as given.
std::vector<size_t> bundle_order(const std::vector<ResourceSet>& bundles, const std::vector<size_t>& indices,
                                 BundleStrategy strategy) {
  std::vector<size_t> order = indices;
  if (strategy == BundleStrategy::kStrictSpread) {
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return size_of(bundles[a]) > size_of(bundles[b]); });
  }
  return order;
}

}  // namespace

std::optional<std::vector<NodeId>> place_bundles(std::span<const SchedulerNode> nodes,
                                                 const std::vector<ResourceSet>& bundles,
                                                 const std::vector<std::optional<NodeId>>& placed,
                                                 BundleStrategy strategy, const LabelSelector& labels) {
  TANDEM_CHECK(placed.size() == bundles.size(), "place_bundles needs one entry of `placed` per bundle");
  // Scratch copies of what is free, for the usable nodes only.
  std::vector<size_t> usable_nodes;
  std::map<NodeId, ResourceSet> free;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!usable(nodes[i], labels)) continue;
    usable_nodes.push_back(i);
    free.emplace(nodes[i].id, *nodes[i].available);
  }
  std::vector<NodeId> result(bundles.size(), kNoNode);
  std::set<NodeId> used;
  std::vector<size_t> missing;
  for (size_t b = 0; b < bundles.size(); ++b) {
    if (placed[b]) {
      result[b] = *placed[b];
      used.insert(*placed[b]);
    } else {
      missing.push_back(b);
    }
  }
  if (missing.empty()) return result;

  if (strategy == BundleStrategy::kStrictPack) {
    ResourceSet sum;
    for (size_t b : missing) sum.add(bundles[b]);
    std::optional<size_t> target;
    double best_util = -1;
    for (size_t i : usable_nodes) {
      if (!used.empty() && used.count(nodes[i].id) == 0) continue;  // must join the node already used
      if (!sum.fits_in(free.at(nodes[i].id))) continue;
      const double util = utilization(*nodes[i].total, free.at(nodes[i].id), sum);
      if (util > best_util) {
        best_util = util;
        target = i;
      }
    }
    if (!target) return std::nullopt;
    for (size_t b : missing) result[b] = nodes[*target].id;
    return result;
  }

  for (size_t b : bundle_order(bundles, missing, strategy)) {
    std::optional<size_t> best;
    bool best_preferred = false;
    double best_util = 0;
    for (size_t i : usable_nodes) {
      const NodeId id = nodes[i].id;
      if (!bundles[b].fits_in(free.at(id))) continue;
      const bool in_use = used.count(id) > 0;
      if (strategy == BundleStrategy::kStrictSpread && in_use) continue;
      const bool preferred = strategy == BundleStrategy::kPack ? in_use : !in_use;
      const double util = utilization(*nodes[i].total, free.at(id), bundles[b]);
      const bool pack_order = strategy == BundleStrategy::kPack;
      bool better = false;
      if (!best) {
        better = true;
      } else if (preferred != best_preferred) {
        better = preferred;
      } else {
        better = pack_order ? util > best_util : util < best_util;
      }
      if (better) {
        best = i;
        best_preferred = preferred;
        best_util = util;
      }
    }
    if (!best) return std::nullopt;
    const NodeId id = nodes[*best].id;
    free.at(id).subtract(bundles[b]);
    used.insert(id);
    result[b] = id;
  }
  return result;
}

bool bundles_ever_feasible(std::span<const SchedulerNode> nodes, const std::vector<ResourceSet>& bundles,
                           BundleStrategy strategy, const LabelSelector& labels) {
  if (strategy == BundleStrategy::kPack || strategy == BundleStrategy::kSpread) {
    // Lenient on purpose: greedy bin packing could call a feasible group infeasible, and that is refused.
    for (const ResourceSet& bundle : bundles) {
      if (!ever_feasible(nodes, bundle, labels)) return false;
    }
    return true;
  }
  // Pretend every known node is alive and empty.
  std::vector<SchedulerNode> empty_nodes(nodes.begin(), nodes.end());
  for (SchedulerNode& node : empty_nodes) {
    node.alive = true;
    node.available = node.total;
  }
  const std::vector<std::optional<NodeId>> none(bundles.size());
  return place_bundles(empty_nodes, bundles, none, strategy, labels).has_value();
}

}  // namespace tandem::runtime
