// FaultInjector: each fault applies through the world's control API and heals exactly; overlapping faults
// compose.
#include "fault_injection/injector.h"

#include <catch2/catch.hpp>

#include "fault_injection/schedule.h"
#include "tests/support/sim_fixture.h"

namespace tandem::fault_injection {
namespace {

using testing::SimFixture;

Fault crash_of(std::vector<NodeId> nodes) {
  Fault fault;
  fault.kind = FaultKind::kCrash;
  fault.nodes = std::move(nodes);
  fault.label = "crash";
  return fault;
}

TEST_CASE("Injector: a node crashed by two faults restarts only when the last one heals") {
  SimFixture t(3);
  FaultInjector injector(t.world);
  const FaultId first = injector.apply(crash_of({t.node(0), t.node(1)}), "test");
  const FaultId second = injector.apply(crash_of({t.node(1)}), "test");
  CHECK(t.world.state(t.node(0)) == sim::NodeState::kDown);
  CHECK(t.world.state(t.node(1)) == sim::NodeState::kDown);
  injector.heal(first);
  CHECK(t.world.state(t.node(0)) == sim::NodeState::kUp);
  CHECK(t.world.state(t.node(1)) == sim::NodeState::kDown);
  injector.heal(second);
  CHECK(t.world.state(t.node(1)) == sim::NodeState::kUp);
  CHECK(injector.active_count() == 0);
  CHECK(injector.timeline().size() == 2);
  CHECK(injector.timeline()[0].end.has_value());
}

TEST_CASE("Injector: an explicit restart ends the crash fault it released") {
  SimFixture t(2);
  FaultInjector injector(t.world);
  const FaultId crash = injector.apply(crash_of({t.node(0)}), "events/0");
  t.world.run_for(1s);
  injector.restart(t.node(0), "events/1");
  CHECK(t.world.state(t.node(0)) == sim::NodeState::kUp);
  CHECK_FALSE(injector.active(crash));
  REQUIRE(injector.record_of(crash).end.has_value());
  CHECK(*injector.record_of(crash).end == TimePoint(1s));
}

TEST_CASE("Injector: two link faults on one pair combine, and healing one leaves the other") {
  SimFixture t(2);
  FaultInjector injector(t.world);
  Fault delay;
  delay.kind = FaultKind::kLinkDelay;
  delay.nodes = {t.node(0)};
  delay.other = {t.node(1)};
  delay.delay = 50ms;
  Fault more = delay;
  more.delay = 30ms;
  const FaultId a = injector.apply(delay, "test");
  injector.apply(more, "test");
  // Base latency is 1ms (two 500us uplinks); the extra delays add up.
  auto verdict = t.world.network().route(t.node(0), t.node(1), 0, t.world.now());
  CHECK(verdict.delay == 81ms);
  injector.heal(a);
  verdict = t.world.network().route(t.node(0), t.node(1), 0, t.world.now());
  CHECK(verdict.delay == 31ms);
  CHECK(t.world.network().route(t.node(1), t.node(0), 0, t.world.now()).delay == 1ms);  // one direction only
}

TEST_CASE(
    "Injector: a partition heals alone, and one beyond the network's limit is skipped with the reason") {
  SimFixture t(2);
  FaultInjector injector(t.world);
  Fault partition;
  partition.kind = FaultKind::kPartition;
  partition.nodes = {t.node(0)};
  partition.other = {t.node(1)};
  std::vector<FaultId> ids;
  for (size_t i = 0; i < sim::kMaxActivePartitions; ++i) ids.push_back(injector.apply(partition, "test"));
  CHECK_FALSE(t.world.network().reachable(t.node(0), t.node(1)));
  const FaultId extra = injector.apply(partition, "test");
  CHECK(injector.record_of(extra).skipped);
  CHECK(injector.record_of(extra).skip_reason == "too many partitions in force at once (limit 64)");
  for (FaultId id : ids) injector.heal(id);
  CHECK(t.world.network().reachable(t.node(0), t.node(1)));
}

TEST_CASE("Injector: heal_all leaves the world whole: nodes up, no network faults, no skew") {
  SimFixture t(3);
  FaultInjector injector(t.world);
  injector.apply(crash_of({t.node(0)}), "test");
  Fault pause;
  pause.kind = FaultKind::kPause;
  pause.nodes = {t.node(1)};
  injector.apply(pause, "test");
  Fault skew;
  skew.kind = FaultKind::kClockSkew;
  skew.nodes = {t.node(2)};
  skew.skew = -2s;
  injector.apply(skew, "test");
  Fault slow;
  slow.kind = FaultKind::kSlowNode;
  slow.nodes = {t.node(2)};
  slow.delay = 10ms;
  injector.apply(slow, "test");
  Fault outage;
  outage.kind = FaultKind::kClusterOutage;
  outage.cluster = t.cluster;
  injector.apply(outage, "test");
  t.world.run_for(1s);
  CHECK(t.world.env(t.node(2)).clock.now() == t.world.now() - 2s);
  injector.heal_all("liveness");
  CHECK(t.world.state(t.node(0)) == sim::NodeState::kUp);
  CHECK(t.world.state(t.node(1)) == sim::NodeState::kUp);
  CHECK(t.world.env(t.node(2)).clock.now() == t.world.now());
  CHECK_FALSE(t.world.network().has_faults());
  CHECK(injector.active_count() == 0);
}

TEST_CASE("Injector: an actor kill without an actor runtime is recorded as skipped, not dropped") {
  SimFixture t(1);
  FaultInjector injector(t.world);
  Fault kill;
  kill.kind = FaultKind::kActorKill;
  kill.actor = "appmaster";
  const FaultId id = injector.apply(kill, "test");
  CHECK(injector.record_of(id).skipped);
  std::string killed;
  injector.set_actor_kill_hook([&](const std::string& actor) {
    killed = actor;
    return Status{};
  });
  const FaultId second = injector.apply(kill, "test");
  CHECK(killed == "appmaster");
  CHECK_FALSE(injector.record_of(second).skipped);
}

TEST_CASE("Schedule: a fault with a duration heals itself, and steps are noted in the trace") {
  SimFixture t(2);
  FaultInjector injector(t.world);
  Schedule schedule;
  schedule.add_fault(1s, 2s, crash_of({t.node(0)}), "events/0");
  std::vector<std::string> steps;
  schedule.install(t.world, injector, [&](const std::string& step) { steps.push_back(step); });
  t.world.run_until(TimePoint(1500ms));
  CHECK(t.world.state(t.node(0)) == sim::NodeState::kDown);
  t.world.run_until(TimePoint(3500ms));
  CHECK(t.world.state(t.node(0)) == sim::NodeState::kUp);
  CHECK(steps == std::vector<std::string>{"crash for 2s", "heal crash"});
  size_t notes = 0;
  for (const sim::TraceRecord& record : t.world.trace().records())
    notes += record.category == "fault-injection" ? 1 : 0;
  CHECK(notes == 2);
}

}  // namespace
}  // namespace tandem::fault_injection
