// ServingKeeper and ServingClient across clusters on the sim world: local-first routing, outages, releases.
#include <catch2/catch.hpp>

#include "tests/serving/serving_fixture.h"

namespace tandem::serving::testing {
namespace {

using namespace std::chrono_literals;

ServingFixtureOptions two_clusters() {
  ServingFixtureOptions options;
  options.clusters = {"c1", "c2"};
  options.workers_per_cluster = 3;
  return options;
}

void keeper_deploy(ServingFixture& t, const ServiceSpec& spec) {
  t.make_keeper();
  t.ok(t.on_keeper([&](ServingKeeper& k) { return k.deploy(spec, 60s); }));
}

TEST_CASE("Keeper: an invalid spec is refused with a clear message and nothing is deployed") {
  ServingFixture t(two_clusters());
  t.make_keeper();
  ServiceSpec spec = test_spec("svc", {{"c1", 2}, {"c9", 1}});
  Status refused = t.on_keeper([&](ServingKeeper& k) { return k.deploy(spec, 10s); });
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == Errc::kInvalidArgument);
  CHECK_THAT(refused.error().message, Catch::Contains("c9"));
  spec = test_spec("svc", {{"c1", -3}});
  refused = t.on_keeper([&](ServingKeeper& k) { return k.deploy(spec, 10s); });
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.error().message, Catch::Contains("replicas[c1] = -3"));
  CHECK(t.keeper().services().empty());
  for (const std::string cluster : {"c1", "c2"}) CHECK(t.control_store(cluster).actors().empty());
}

TEST_CASE("Keeper: clients stay local-first while their cluster is healthy") {
  ServingFixture t(two_clusters());
  keeper_deploy(t, test_spec("svc", {{"c1", 3}, {"c2", 3}}));
  auto from_c1 = t.start_load("c1", 100);
  auto from_c2 = t.start_load("c2", 100);
  t.run_for(4s);
  t.drain_loads();
  CHECK(from_c1->failed() == 0);
  CHECK(from_c2->failed() == 0);
  CHECK(from_c1->by_cluster().count("c2") == 0);
  CHECK(from_c2->by_cluster().count("c1") == 0);
}

TEST_CASE("Keeper: a cluster outage shifts traffic to the other cluster, and back after it heals") {
  ServingFixture t(two_clusters());
  keeper_deploy(t, test_spec("svc", {{"c1", 3}, {"c2", 3}}));
  auto load = t.start_load("c1", 200);
  t.run_for(2s);
  // Cut every runtime node of c1 (head and workers) off from the rest of the world.
  std::vector<NodeId> c1_nodes{t.head("c1")};
  for (NodeId node : t.workers("c1")) c1_nodes.push_back(node);
  std::vector<NodeId> others;
  for (NodeId node = 0; node < t.world.node_count(); ++node) {
    if (std::find(c1_nodes.begin(), c1_nodes.end(), node) == c1_nodes.end()) others.push_back(node);
  }
  const TimePoint outage = t.world.now();
  t.world.network().partition(c1_nodes, others);
  t.run_for(6s);
  KeeperServiceState state = *t.keeper().state("svc");
  CHECK(state.down.at("c1"));
  CHECK(state.weights.at("c1") == 0);
  CHECK(state.weights.at("c2") > 0);
  t.world.network().heal_partitions();
  t.run_for(5s);
  state = *t.keeper().state("svc");
  CHECK_FALSE(state.down.at("c1"));
  CHECK(state.weights.at("c1") > 0);
  t.drain_loads();
  INFO(load->first_error());
  // Only requests caught in flight to c1 before the client ejected it may fail.
  const uint64_t failed_late = load->failed_between(outage + 2s, t.world.now());
  CHECK(failed_late == 0);
  CHECK(load->availability() >= 0.99);
  CHECK(load->by_cluster().at("c2") > 0);
}

TEST_CASE("Keeper: canary with a bad version rolls back and the bad version ends with no instance") {
  ServingFixture t(two_clusters());
  ServiceSpec spec = test_spec("svc", {{"c1", 4}, {"c2", 4}});
  keeper_deploy(t, spec);
  auto from_c1 = t.start_load("c1", 200);
  auto from_c2 = t.start_load("c2", 200);
  CanaryPolicy policy;
  policy.weight_steps = {10, 50};
  policy.step_duration = 3s;
  policy.canary_fraction = 0.25;
  Status result = t.on_keeper([&](ServingKeeper& k) { return k.canary("svc", "bad", policy); });
  REQUIRE_FALSE(result.ok());
  CHECK_THAT(result.error().message, Catch::Contains("rolled back") && Catch::Contains("SLO"));
  t.run_for(3s);
  for (const std::string cluster : {"c1", "c2"}) {
    AppMasterStatus status = t.status(cluster);
    CHECK(status.serving.count("bad") == 0);
    CHECK(status.serving.at("v1") == 4);
    CHECK_FALSE(status.split.active);
  }
  CHECK(t.keeper().state("svc")->release.state == ReleaseState::kRolledBack);
  CHECK(t.keeper().state("svc")->spec.version == "v1");
  t.drain_loads();
  // Only the canary's share saw errors, and only until the gate closed it.
  CHECK(from_c1->availability() >= 0.95);
}

TEST_CASE("Keeper: a good canary is promoted and every instance ends on the new version") {
  ServingFixture t(two_clusters());
  ServiceSpec spec = test_spec("svc", {{"c1", 4}, {"c2", 4}});
  keeper_deploy(t, spec);
  auto load = t.start_load("c1", 200);
  CanaryPolicy policy;
  policy.weight_steps = {10, 50};
  policy.step_duration = 2s;
  policy.canary_fraction = 0.25;
  t.ok(t.on_keeper([&](ServingKeeper& k) { return k.canary("svc", "v2", policy); }));
  t.run_for(3s);
  for (const std::string cluster : {"c1", "c2"}) {
    AppMasterStatus status = t.status(cluster);
    CHECK(status.stable_version == "v2");
    CHECK(status.serving.at("v2") == 4);
    CHECK(status.serving.count("v1") == 0);
    CHECK(status.backends == 4);
  }
  t.drain_loads();
  INFO(load->first_error());
  CHECK(load->failed() == 0);
}

TEST_CASE("Keeper: blue-green switches all traffic at once and retires the old set") {
  ServingFixture t(two_clusters());
  keeper_deploy(t, test_spec("svc", {{"c1", 3}, {"c2", 3}}));
  auto load = t.start_load("c1", 200);
  t.ok(t.on_keeper([&](ServingKeeper& k) { return k.blue_green("svc", "v2", 2s); }));
  const TimePoint switched = t.world.now();
  t.run_for(3s);
  for (const std::string cluster : {"c1", "c2"}) {
    AppMasterStatus status = t.status(cluster);
    CHECK(status.stable_version == "v2");
    CHECK(status.serving.at("v2") == 3);
    CHECK(status.backends == 3);
  }
  t.drain_loads();
  CHECK(load->failed() == 0);
  // After the switch, nothing answers with the old version.
  for (const RequestOutcome& outcome : load->outcomes) {
    if (outcome.start > switched) CHECK(outcome.version == "v2");
  }
}

TEST_CASE("Keeper: a release that fails validation in the second cluster rolls back the first as well") {
  ServingFixture t(two_clusters());
  ServiceSpec spec = test_spec("svc", {{"c1", 4}, {"c2", 4}});
  VersionSpec v3 = spec.versions[0];
  v3.name = "v3";
  v3.broken_in = {"c2"};  // fine in c1, broken in c2
  spec.versions.push_back(v3);
  keeper_deploy(t, spec);
  auto load = t.start_load("c1", 100);
  t.run_for(1s);
  Status result = t.on_keeper([&](ServingKeeper& k) { return k.upgrade("svc", "v3"); });
  REQUIRE_FALSE(result.ok());
  CHECK_THAT(result.error().message, Catch::Contains("rolled back") && Catch::Contains("c2"));
  t.run_for(2s);
  for (const std::string cluster : {"c1", "c2"}) {
    AppMasterStatus status = t.status(cluster);
    INFO(cluster);
    CHECK(status.stable_version == "v1");
    CHECK(status.serving.at("v1") == 4);
    CHECK(status.serving.count("v3") == 0);
    CHECK(status.upgrade.state == UpgradeState::kRolledBack);
  }
  t.drain_loads();
  CHECK(load->failed() == 0);
}

TEST_CASE("Keeper: a rolling release upgrades cluster by cluster and the keeper's state survives its restart") {
  ServingFixture t(two_clusters());
  keeper_deploy(t, test_spec("svc", {{"c1", 3}, {"c2", 3}}));
  auto load = t.start_load("c2", 100);
  t.ok(t.on_keeper([&](ServingKeeper& k) { return k.upgrade("svc", "v2"); }));
  for (const std::string cluster : {"c1", "c2"}) CHECK(t.status(cluster).serving.at("v2") == 3);
  t.world.crash(t.keeper_node());
  t.world.restart(t.keeper_node());
  ServingKeeper& keeper = t.make_keeper();
  std::optional<KeeperServiceState> state = keeper.state("svc");
  REQUIRE(state.has_value());
  CHECK(state->spec.version == "v2");
  CHECK(state->release.state == ReleaseState::kSucceeded);
  CHECK(state->clusters == std::vector<std::string>{"c1", "c2"});
  t.ok(t.on_keeper([&](ServingKeeper& k) { return k.scale("svc", "c1", 5); }));
  REQUIRE(t.wait_serving("c1", "svc", "v2", 5, 20s));
  t.drain_loads();
  CHECK(load->failed() == 0);
}

}  // namespace
}  // namespace tandem::serving::testing
