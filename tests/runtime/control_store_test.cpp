// The control store on the simulated runtime: node table and failure detection, durability across a head
// restart, the KV, placement groups.
#include <catch2/catch.hpp>

#include "tests/runtime/runtime_fixture.h"

namespace tandem::runtime {
namespace {

using testing::RuntimeFixture;
using testing::RuntimeFixtureOptions;

const NodeInfo* find_node(const std::vector<NodeInfo>& nodes, NodeId id) {
  for (const NodeInfo& node : nodes) {
    if (node.node == id) return &node;
  }
  return nullptr;
}

TEST_CASE("ControlStore: every node registers with its resources and labels") {
  RuntimeFixtureOptions options;
  options.worker_labels = [](size_t i) { return NodeLabels{{"zone", i % 2 == 0 ? "a" : "b"}}; };
  RuntimeFixture t(options);
  std::vector<NodeInfo> nodes = t.ok(t.await([](RuntimeClient& c) { return c.nodes(); }));
  REQUIRE(nodes.size() == 4);
  const NodeInfo* w1 = find_node(nodes, t.worker(1));
  REQUIRE(w1 != nullptr);
  CHECK(w1->alive);
  CHECK(w1->total == ResourceSet({{"CPU", 4}, {"memory", 8e9}}));
  CHECK(w1->available == w1->total);
  CHECK(w1->labels.at("zone") == "b");
  CHECK(t.metrics.find_gauge("runtime_nodes_alive")->value() == 4);
}

TEST_CASE("ControlStore: a silent node is declared dead after heartbeat_period x miss_limit (P=100ms, N=5)") {
  RuntimeFixture t;
  const TimePoint crashed_at = t.world.now();
  t.crash(t.worker(1));
  REQUIRE(t.run_until([&] { return t.alive_nodes() == 3; }));
  const Duration detection = t.world.now() - crashed_at;
  CHECK(detection > std::chrono::milliseconds(500));
  CHECK(detection <= std::chrono::milliseconds(700));
  const std::vector<NodeInfo> nodes = t.control_store().nodes();
  const NodeInfo* dead = find_node(nodes, t.worker(1));
  CHECK_FALSE(dead->alive);
  CHECK_THAT(dead->death_cause, Catch::Contains("no heartbeat"));
  CHECK(t.metrics.counter_sum("runtime_node_deaths_total") == 1);
}

TEST_CASE("ControlStore: a node that restarts before it is missed replaces its old instance at once") {
  RuntimeFixture t;
  ActorOptions options;
  options.resources = ResourceSet{{"CPU", 4}};
  options.node_affinity = NodeAffinity{t.worker(0), false};
  options.max_restarts = 1;
  ActorHandle h = t.ok(t.await([&](RuntimeClient& c) { return c.create_actor("Counter", options, int64_t{0}); }));
  t.ok(t.await([&](RuntimeClient& c) { return c.wait_actor_alive(h.id(), std::chrono::seconds(5)); }));
  const NodeInstance before = find_node(t.control_store().nodes(), t.worker(0))->instance;
  t.crash(t.worker(0));
  t.restart(t.worker(0));
  REQUIRE(t.run_until([&] { return find_node(t.control_store().nodes(), t.worker(0))->instance != before; },
                      std::chrono::milliseconds(300)));
  // The actor pinned to that node restarts on its new instance.
  t.ok(t.await([&](RuntimeClient& c) { return c.wait_actor_alive(h.id(), std::chrono::seconds(5)); }));
  CHECK(t.actor(h.id())->restarts_used == 1);
  CHECK(t.actor(h.id())->node == t.worker(0));
}

TEST_CASE("ControlStore: the KV stores, lists, conditionally writes and deletes") {
  RuntimeFixture t;
  t.ok(t.await([](RuntimeClient& c) { return c.kv_put("job/1", "a"); }));
  t.ok(t.await([](RuntimeClient& c) { return c.kv_put("job/2", "b"); }));
  t.ok(t.await([](RuntimeClient& c) { return c.kv_put("other", "c"); }));
  CHECK(t.ok(t.await([](RuntimeClient& c) { return c.kv_get("job/2"); })) == std::optional<Bytes>("b"));
  CHECK_FALSE(t.ok(t.await([](RuntimeClient& c) { return c.kv_get("missing"); })).has_value());
  CHECK(t.ok(t.await([](RuntimeClient& c) { return c.kv_keys("job/"); })) ==
        std::vector<std::string>{"job/1", "job/2"});
  CHECK_FALSE(t.ok(t.await([](RuntimeClient& c) { return c.kv_put_if_absent("job/1", "z"); })));
  CHECK(t.ok(t.await([](RuntimeClient& c) { return c.kv_put_if_absent("job/3", "z"); })));
  CHECK(t.ok(t.await([](RuntimeClient& c) { return c.kv_delete("job/1"); })));
  CHECK_FALSE(t.ok(t.await([](RuntimeClient& c) { return c.kv_delete("job/1"); })));
  CHECK(t.await([](RuntimeClient& c) { return c.kv_put("", "x"); }).code() == Errc::kInvalidArgument);
}

TEST_CASE("ControlStore: a head restart keeps actors, names, the KV and placement groups") {
  RuntimeFixture t;
  ActorOptions options;
  options.name = "survivor";
  options.detached = true;  // the driver on the head dies with the head; a detached actor does not
  options.resources = ResourceSet{{"CPU", 1}};
  ActorHandle h = t.ok(t.await([&](RuntimeClient& c) { return c.create_actor("Counter", options, int64_t{5}); }));
  CHECK(t.ok(t.await([&](RuntimeClient&) { return h.call<int64_t>("add", 1); })) == 6);
  t.ok(t.await([](RuntimeClient& c) { return c.kv_put("ckpt/x", "42"); }));
  PlacementGroupInfo group = t.ok(t.await([](RuntimeClient& c) {
    return c.create_placement_group({ResourceSet{{"CPU", 2}}, ResourceSet{{"CPU", 2}}}, BundleStrategy::kStrictSpread);
  }));
  group = t.ok(t.await([&](RuntimeClient& c) { return c.wait_placement_group_ready(group.id, std::chrono::seconds(5)); }));
  const NodeId actor_node = t.actor(h.id())->node;
  const uint64_t epoch = t.control_store().epoch();

  t.crash(t.head());
  t.run_for(std::chrono::milliseconds(300));
  t.restart(t.head());
  REQUIRE(t.run_until([&] { return t.alive_nodes() == 4; }));
  CHECK(t.control_store().epoch() == epoch + 1);

  ActorHandle again = t.ok(t.await([](RuntimeClient& c) { return c.get_actor("survivor"); }));
  CHECK(again.id() == h.id());
  CHECK(t.actor(h.id())->state == ActorState::kAlive);
  CHECK(t.actor(h.id())->node == actor_node);  // not restarted: its node never died
  CHECK(t.actor(h.id())->restarts_used == 0);
  CHECK(t.ok(t.await([&](RuntimeClient&) { return again.call<int64_t>("add", 1); })) == 7);
  CHECK(t.ok(t.await([](RuntimeClient& c) { return c.kv_get("ckpt/x"); })) == std::optional<Bytes>("42"));
  PlacementGroupInfo restored = t.ok(t.await([&](RuntimeClient& c) { return c.placement_group(group.id); }));
  CHECK(restored.state == PlacementGroupState::kCreated);
  CHECK(restored.bundle_nodes == group.bundle_nodes);
  // Reservations were rebuilt: 1 (actor) + 2 + 2 (bundles) CPUs are taken out of 12.
  double available = 0;
  for (const NodeInfo& node : t.control_store().nodes()) available += node.available.get("CPU");
  CHECK(available == 7);
}

TEST_CASE("ControlStore: placement groups place all bundles or none, by strategy") {
  RuntimeFixture t;  // 3 workers x 4 CPUs
  SECTION("strict spread puts each bundle on its own node") {
    PlacementGroupInfo g = t.ok(t.await([](RuntimeClient& c) {
      return c.create_placement_group({ResourceSet{{"CPU", 1}}, ResourceSet{{"CPU", 1}}, ResourceSet{{"CPU", 1}}},
                                      BundleStrategy::kStrictSpread);
    }));
    g = t.ok(t.await([&](RuntimeClient& c) { return c.wait_placement_group_ready(g.id, std::chrono::seconds(5)); }));
    std::set<NodeId> nodes(g.bundle_nodes.begin(), g.bundle_nodes.end());
    CHECK(nodes.size() == 3);
    // A fourth distinct node does not exist: refused, never placed.
    Result<PlacementGroupInfo> four = t.await([](RuntimeClient& c) {
      return c.create_placement_group(std::vector<ResourceSet>(4, ResourceSet{{"CPU", 1}}),
                                      BundleStrategy::kStrictSpread);
    });
    CHECK(four.code() == Errc::kResourceExhausted);
  }
  SECTION("strict pack puts every bundle on one node") {
    PlacementGroupInfo g = t.ok(t.await([](RuntimeClient& c) {
      return c.create_placement_group({ResourceSet{{"CPU", 2}}, ResourceSet{{"CPU", 2}}}, BundleStrategy::kStrictPack);
    }));
    g = t.ok(t.await([&](RuntimeClient& c) { return c.wait_placement_group_ready(g.id, std::chrono::seconds(5)); }));
    CHECK(g.bundle_nodes[0] == g.bundle_nodes[1]);
  }
  SECTION("a group that does not fit now waits whole, visibly, and nothing of it is reserved") {
    PlacementGroupInfo big = t.ok(t.await([](RuntimeClient& c) {
      return c.create_placement_group({ResourceSet{{"CPU", 4}}, ResourceSet{{"CPU", 4}}, ResourceSet{{"CPU", 4}}},
                                      BundleStrategy::kSpread);
    }));
    t.ok(t.await([&](RuntimeClient& c) { return c.wait_placement_group_ready(big.id, std::chrono::seconds(5)); }));
    PlacementGroupInfo more = t.ok(t.await([](RuntimeClient& c) {
      return c.create_placement_group({ResourceSet{{"CPU", 1}}, ResourceSet{{"CPU", 1}}}, BundleStrategy::kPack);
    }));
    t.run_for(std::chrono::seconds(1));
    CHECK(t.ok(t.await([&](RuntimeClient& c) { return c.placement_group(more.id); })).state ==
          PlacementGroupState::kPending);
    std::vector<PendingRequest> pending = t.ok(t.await([](RuntimeClient& c) { return c.pending_requests(); }));
    REQUIRE(pending.size() == 1);
    CHECK(pending[0].kind == PendingRequest::Kind::kPlacementGroup);
    t.ok(t.await([&](RuntimeClient& c) { return c.remove_placement_group(big.id); }));
    t.ok(t.await([&](RuntimeClient& c) { return c.wait_placement_group_ready(more.id, std::chrono::seconds(5)); }));
  }
}

TEST_CASE("ControlStore: actors and tasks run inside a placement group's bundles, removal kills its actors") {
  RuntimeFixture t;
  PlacementGroupInfo g = t.ok(t.await([](RuntimeClient& c) {
    return c.create_placement_group({ResourceSet{{"CPU", 2}}, ResourceSet{{"CPU", 2}}}, BundleStrategy::kStrictSpread);
  }));
  g = t.ok(t.await([&](RuntimeClient& c) { return c.wait_placement_group_ready(g.id, std::chrono::seconds(5)); }));
  ActorOptions in_bundle_1;
  in_bundle_1.resources = ResourceSet{{"CPU", 2}};
  in_bundle_1.placement_group = BundleRef{g.id, 1};
  ActorHandle h = t.ok(t.await([&](RuntimeClient& c) { return c.create_actor("Counter", in_bundle_1, int64_t{0}); }));
  t.ok(t.await([&](RuntimeClient& c) { return c.wait_actor_alive(h.id(), std::chrono::seconds(5)); }));
  CHECK(t.actor(h.id())->node == g.bundle_nodes[1]);
  // Bundle 1 is full now; a task asking for it waits, a task for bundle 0 runs on bundle 0's node.
  TaskOptions task_in_0;
  task_in_0.resources = ResourceSet{{"CPU", 1}};
  task_in_0.placement_group = BundleRef{g.id, 0};
  CHECK(t.ok(t.await([&](RuntimeClient& c) { return c.submit<uint32_t>("where", task_in_0); })) == g.bundle_nodes[0]);
  ActorOptions too_big = in_bundle_1;
  too_big.resources = ResourceSet{{"CPU", 3}};
  CHECK(t.await([&](RuntimeClient& c) { return c.create_actor("Counter", too_big, int64_t{0}); }).code() ==
        Errc::kResourceExhausted);
  t.ok(t.await([&](RuntimeClient& c) { return c.remove_placement_group(g.id); }));
  REQUIRE(t.run_until([&] { return t.actor(h.id())->state == ActorState::kDead; }));
  CHECK_THAT(t.actor(h.id())->death_cause, Catch::Contains("placement group"));
  t.run_for(std::chrono::milliseconds(300));
  for (const NodeInfo& node : t.control_store().nodes()) CHECK(node.available == node.total);
}

TEST_CASE("ControlStore: a placement group whose node dies is placed again") {
  RuntimeFixture t;
  PlacementGroupInfo g = t.ok(t.await([](RuntimeClient& c) {
    return c.create_placement_group({ResourceSet{{"CPU", 1}}, ResourceSet{{"CPU", 1}}}, BundleStrategy::kStrictSpread);
  }));
  g = t.ok(t.await([&](RuntimeClient& c) { return c.wait_placement_group_ready(g.id, std::chrono::seconds(5)); }));
  const NodeId lost = g.bundle_nodes[0];
  t.crash(lost);
  REQUIRE(t.run_until([&] {
    PlacementGroupInfo now = t.control_store().placement_groups().at(0);
    return now.state == PlacementGroupState::kCreated && now.bundle_nodes[0] != lost;
  }));
  PlacementGroupInfo now = t.control_store().placement_groups().at(0);
  CHECK(now.bundle_nodes[1] == g.bundle_nodes[1]);
  CHECK(now.bundle_nodes[0] != now.bundle_nodes[1]);
}

TEST_CASE("ControlStore: a heartbeat digest mismatch makes the daemon end actors it should not host") {
  RuntimeFixture t;
  ActorOptions options;
  options.resources = ResourceSet{{"CPU", 1}};
  ActorHandle h = t.ok(t.await([&](RuntimeClient& c) { return c.create_actor("Counter", options, int64_t{0}); }));
  t.ok(t.await([&](RuntimeClient& c) { return c.wait_actor_alive(h.id(), std::chrono::seconds(5)); }));
  const NodeId node = t.actor(h.id())->node;
  // Partition the node from the head long enough to be declared dead; the actor is dead in the table
  // (no restarts), but the partitioned daemon still hosts it until it hears back from the control store.
  t.world.network().partition({node}, {t.head()});
  REQUIRE(t.run_until([&] { return t.actor(h.id())->state == ActorState::kDead; }));
  CHECK(t.daemon(node).hosted_actors().size() == 1);
  t.world.network().heal_all();
  REQUIRE(t.run_until([&] { return t.daemon(node).hosted_actors().empty(); }, std::chrono::seconds(2)));
  REQUIRE(t.run_until([&] { return t.alive_nodes() == 4; }));  // back as a new instance
}

}  // namespace
}  // namespace tandem::runtime
