// Pure placement decisions: pack and spread, labels, affinity, runtime envs, feasibility, bundles.
#include <catch2/catch.hpp>
#include <rapidcheck.h>
#include <rapidcheck/catch.h>

#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/runtime/scheduling.h"

namespace tandem::runtime {
namespace {

// A small table of nodes the scheduler functions can look at.
struct Cluster {
  struct Node {
    ResourceSet total;
    ResourceSet available;
    NodeLabels labels;
    std::set<std::string, std::less<>> envs;
    bool alive = true;
  };
  std::deque<Node> nodes;

  Cluster& add(ResourceSet total, NodeLabels labels = {}, double used_cpu = 0) {
    Node node{total, total, std::move(labels), {}, true};
    if (used_cpu > 0) node.available.subtract(ResourceSet{{"CPU", used_cpu}});
    nodes.push_back(std::move(node));
    return *this;
  }
  std::vector<SchedulerNode> view() const {
    std::vector<SchedulerNode> out;
    for (size_t i = 0; i < nodes.size(); ++i) {
      const Node& n = nodes[i];
      out.push_back(SchedulerNode{static_cast<NodeId>(i), n.alive, &n.total, &n.available, &n.labels, &n.envs, 0});
    }
    return out;
  }
};

SchedulingSpec cpus(double amount, PlacementStrategy strategy = PlacementStrategy::kPack) {
  SchedulingSpec spec;
  spec.resources = ResourceSet{{"CPU", amount}};
  spec.strategy = strategy;
  return spec;
}

TEST_CASE("Scheduling: pack picks the busiest node that fits, spread the idlest") {
  Cluster c;
  c.add({{"CPU", 8}}, {}, 2).add({{"CPU", 8}}, {}, 6).add({{"CPU", 8}});
  NodeId cursor = kNoNode;
  CHECK(pick_node(c.view(), cpus(1), cursor) == NodeId{1});
  CHECK(pick_node(c.view(), cpus(3), cursor) == NodeId{0});  // node 1 has only 2 free
  CHECK(pick_node(c.view(), cpus(1, PlacementStrategy::kSpread), cursor) == NodeId{2});
  CHECK_FALSE(pick_node(c.view(), cpus(9), cursor).has_value());
}

TEST_CASE("Scheduling: spread goes round-robin among equally idle nodes") {
  Cluster c;
  c.add({{"CPU", 4}}).add({{"CPU", 4}}).add({{"CPU", 4}});
  NodeId cursor = kNoNode;
  std::vector<NodeId> chosen;
  for (int i = 0; i < 4; ++i) chosen.push_back(*pick_node(c.view(), cpus(0, PlacementStrategy::kSpread), cursor));
  CHECK(chosen == std::vector<NodeId>{0, 1, 2, 0});
}

TEST_CASE("Scheduling: labels, dead nodes, affinity and installed runtime envs") {
  Cluster c;
  c.add({{"CPU", 4}}, {{"zone", "a"}}).add({{"CPU", 4}}, {{"zone", "b"}}).add({{"CPU", 4}}, {{"zone", "b"}});
  c.nodes[2].envs.insert("torch");
  NodeId cursor = kNoNode;
  SchedulingSpec in_b = cpus(1);
  in_b.labels = LabelSelector{{"zone", "b"}};
  CHECK(pick_node(c.view(), in_b, cursor) == NodeId{1});
  in_b.runtime_env = "torch";
  CHECK(pick_node(c.view(), in_b, cursor) == NodeId{2});  // the node that has the env wins
  c.nodes[2].alive = false;
  CHECK(pick_node(c.view(), in_b, cursor) == NodeId{1});
  SchedulingSpec pinned = cpus(1);
  pinned.node_affinity = NodeAffinity{2, false};
  CHECK_FALSE(pick_node(c.view(), pinned, cursor).has_value());  // hard affinity to a dead node: wait
  pinned.node_affinity->soft = true;
  CHECK(pick_node(c.view(), pinned, cursor).has_value());
  LabelSelector not_a;
  not_a.not_in("zone", {"a"});
  CHECK(not_a.matches({{"zone", "b"}}));
  CHECK(not_a.matches({}));
  CHECK_FALSE(not_a.matches({{"zone", "a"}}));
}

TEST_CASE("Scheduling: infeasible forever is judged against totals of every known node, dead or alive") {
  Cluster c;
  c.add({{"CPU", 4}, {"GPU", 1}}, {}, 4).add({{"CPU", 16}});
  c.nodes[1].alive = false;
  const std::vector<SchedulerNode> view = c.view();
  CHECK(ever_feasible(view, ResourceSet{{"CPU", 16}}, {}));  // the dead node may come back
  CHECK_FALSE(ever_feasible(view, ResourceSet{{"CPU", 17}}, {}));
  CHECK_FALSE(ever_feasible(view, ResourceSet{{"CPU", 1}, {"GPU", 2}}, {}));
  CHECK_FALSE(ever_feasible(view, ResourceSet{{"TPU", 1}}, {}));
  SchedulingSpec gpu = cpus(1);
  gpu.resources.set("GPU", 1);
  CHECK_THAT(explain_unplaceable(view, gpu), Catch::Contains("CPU: want 1, have 0"));
}

TEST_CASE("Scheduling: bundles are placed all or nothing, by strategy") {
  Cluster c;
  c.add({{"CPU", 4}}).add({{"CPU", 4}}).add({{"CPU", 2}});
  const std::vector<SchedulerNode> view = c.view();
  const std::vector<std::optional<NodeId>> none3(3);
  const std::vector<ResourceSet> three_twos(3, ResourceSet{{"CPU", 2}});
  auto pack = place_bundles(view, three_twos, none3, BundleStrategy::kPack, {});
  REQUIRE(pack);
  CHECK(std::set<NodeId>(pack->begin(), pack->end()).size() == 2);
  auto spread = place_bundles(view, three_twos, none3, BundleStrategy::kStrictSpread, {});
  REQUIRE(spread);
  CHECK(std::set<NodeId>(spread->begin(), spread->end()).size() == 3);
  CHECK_FALSE(place_bundles(view, three_twos, none3, BundleStrategy::kStrictPack, {}));
  const std::vector<ResourceSet> two_twos(2, ResourceSet{{"CPU", 2}});
  auto strict_pack = place_bundles(view, two_twos, std::vector<std::optional<NodeId>>(2), BundleStrategy::kStrictPack, {});
  REQUIRE(strict_pack);
  CHECK((*strict_pack)[0] == (*strict_pack)[1]);
  // Re-placing one lost bundle keeps the other where it is and honours strict spread.
  auto repaired = place_bundles(view, two_twos, {NodeId{1}, std::nullopt}, BundleStrategy::kStrictSpread, {});
  REQUIRE(repaired);
  CHECK((*repaired)[0] == 1);
  CHECK((*repaired)[1] != 1);
  CHECK(bundles_ever_feasible(view, three_twos, BundleStrategy::kStrictSpread, {}));
  CHECK_FALSE(bundles_ever_feasible(view, std::vector<ResourceSet>(4, ResourceSet{{"CPU", 1}}),
                                    BundleStrategy::kStrictSpread, {}));
}

TEST_CASE("Property: bundle placement never puts more on a node than it has free") {
  rc::prop("bundles fit", [](const std::vector<uint8_t>& frees, const std::vector<uint8_t>& sizes, uint8_t strategy) {
    RC_PRE(!frees.empty() && !sizes.empty() && sizes.size() <= 16);
    Cluster c;
    for (uint8_t free : frees) c.add({{"CPU", static_cast<double>(free % 9)}});
    std::vector<ResourceSet> bundles;
    for (uint8_t size : sizes) bundles.push_back(ResourceSet{{"CPU", 1.0 + size % 4}});
    const auto kind = static_cast<BundleStrategy>(strategy % 4);
    auto placed = place_bundles(c.view(), bundles, std::vector<std::optional<NodeId>>(bundles.size()), kind, {});
    if (!placed) return;
    std::map<NodeId, ResourceSet> used;
    for (size_t b = 0; b < bundles.size(); ++b) used[(*placed)[b]].add(bundles[b]);
    for (const auto& [node, amount] : used) RC_ASSERT(amount.fits_in(c.nodes[node].available));
    if (kind == BundleStrategy::kStrictSpread) RC_ASSERT(used.size() == bundles.size());
    if (kind == BundleStrategy::kStrictPack) RC_ASSERT(used.size() == 1u);
  });
}

TEST_CASE("Resources: fixed-point amounts add up exactly and refuse bad input") {
  ResourceSet sum;
  for (int i = 0; i < 10; ++i) sum.add(ResourceSet{{"CPU", 0.1}});
  CHECK(sum == ResourceSet{{"CPU", 1}});
  CHECK(sum.to_string() == "CPU=1");
  CHECK(ResourceSet({{"GPU", 0.5}}).to_string() == "GPU=0.5");
  CHECK(ResourceSet::make({{"CPU", -1}}).code() == Errc::kInvalidArgument);
  CHECK(ResourceSet::make({{"", 1}}).code() == Errc::kInvalidArgument);
  CHECK(ResourceSet::make({{"CPU", std::nan("")}}).code() == Errc::kInvalidArgument);
  CHECK(ResourceSet({{"CPU", 0}}).empty());
}

}  // namespace
}  // namespace tandem::runtime
