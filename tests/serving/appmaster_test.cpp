// AppMaster, proxies and backends on the sim world: deploy, serve, health checks, upgrades, recovery.
#include <catch2/catch.hpp>

#include <algorithm>

#include "core/serving/catalog.h"
#include "tests/serving/serving_fixture.h"

namespace tandem::serving::testing {
namespace {

using namespace std::chrono_literals;

TEST_CASE("AppMaster: a deployed service serves every request through proxies and backends (R=4)") {
  ServingFixture t;
  ServiceSpec spec = test_spec("svc", {{"c1", 4}});
  t.deploy(spec);
  AppMasterStatus status = t.status("c1");
  CHECK(status.recovery == RecoveryMode::kFresh);
  CHECK(status.acting);
  CHECK(status.proxies_ready == 2);
  CHECK(status.serving.at("v1") == 4);
  CHECK(status.persisted_generation == status.generation);

  auto load = t.start_load("c1", 200, 5s);
  t.run_for(6s);
  t.drain_loads();
  CHECK(load->completed() == load->issued);
  INFO(load->first_error());
  CHECK(load->failed() == 0);
  CHECK(load->issued >= 990);
  CHECK(load->by_version().at("v1") == load->completed());
}

TEST_CASE("AppMaster: invalid apply, scale and upgrade are refused naming the problem and nothing changes") {
  ServingFixture t;
  ServiceSpec spec = test_spec("svc", {{"c1", 3}});
  t.deploy(spec);
  const ServiceMetadata before = t.ok(t.on_head("c1", [&](RuntimeClient& c) -> Task<Result<ServiceMetadata>> {
    AppMasterClient master = t.appmaster(c, "c1");
    co_return co_await master.metadata();
  }));
  auto refused = [&](std::function<Task<Status>(AppMasterClient)> call) {
    Status status = t.on_head("c1", [&](RuntimeClient& c) { return call(t.appmaster(c, "c1")); });
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().code == Errc::kInvalidArgument);
    return status.error().message;
  };
  ServiceSpec bad = spec;
  bad.replicas = {{"c1", -1}};
  bad.version = "v2";  // a valid part (an upgrade) must not be applied either
  CHECK_THAT(refused([&](AppMasterClient m) -> Task<Status> { co_return co_await m.apply(bad); }),
             Catch::Contains("replicas[c1] = -1"));
  bad = spec;
  bad.autoscale.mode = AutoscaleMode::kReactive;
  bad.autoscale.min_replicas = 4;
  bad.autoscale.max_replicas = 2;
  CHECK_THAT(refused([&](AppMasterClient m) -> Task<Status> { co_return co_await m.apply(bad); }),
             Catch::Contains("min_replicas (4) is greater than max_replicas (2)"));
  CHECK_THAT(refused([](AppMasterClient m) -> Task<Status> { co_return co_await m.scale(-2); }),
             Catch::Contains("-2"));
  CHECK_THAT(refused([](AppMasterClient m) -> Task<Status> { co_return co_await m.upgrade("v9", 5); }),
             Catch::Contains("unknown version 'v9'"));
  t.run_for(2s);
  const ServiceMetadata after = t.ok(t.on_head("c1", [&](RuntimeClient& c) -> Task<Result<ServiceMetadata>> {
    AppMasterClient master = t.appmaster(c, "c1");
    co_return co_await master.metadata();
  }));
  CHECK(after.spec == before.spec);
  CHECK(after.desired == before.desired);
  CHECK(after.upgrade == before.upgrade);
  CHECK(after.backends == before.backends);
  AppMasterStatus now = t.status("c1");
  CHECK(now.serving.at("v1") == 3);
}

TEST_CASE("AppMaster: a dead backend is replaced and a crashed node's instances come back elsewhere") {
  ServingFixture t({.workers_per_cluster = 4});
  ServiceSpec spec = test_spec("svc", {{"c1", 6}});
  t.deploy(spec);
  auto load = t.start_load("c1", 100);
  t.run_for(2s);
  t.world.crash(t.worker("c1", 0));
  t.run_for(3s);  // failure detection (0.5s) and health checks notice the loss
  const bool healed = t.wait_serving("c1", "svc", "v1", 6, 20s);
  CHECK(healed);
  t.drain_loads();
  // Requests caught on the crashed node may fail before the proxies eject it; the rest must succeed.
  INFO(load->first_error());
  CHECK(load->availability() >= 0.99);
  CHECK(load->completed() == load->issued);
}

TEST_CASE("AppMaster: health rounds ping a backend until it answers this epoch, then probe it, and still find one lost") {
  ServingFixture t({.workers_per_cluster = 4});
  t.deploy(test_spec("svc", {{"c1", 4}}));
  t.run_for(2s);  // rounds every 500 ms: every backend has answered ping(epoch)
  auto backend_calls = [&] { return t.metrics.counter_sum("runtime_actor_calls_total", {{"class", kBackendClass}}); };
  auto members = [&] {
    const ServiceMetadata meta = t.ok(t.on_head("c1", [&](RuntimeClient& c) -> Task<Result<ServiceMetadata>> {
      co_return co_await t.appmaster(c, "c1").metadata();
    }));
    std::vector<ActorId> ids;
    for (const BackendRecord& record : meta.backends) ids.push_back(record.id);
    return ids;
  };
  const uint64_t calls_before = backend_calls();
  REQUIRE(calls_before > 0);
  t.run_for(5s);  // ten rounds of four backends
  CHECK(backend_calls() == calls_before);  // probed: not one call reached a backend
  CHECK(t.status("c1").serving.at("v1") == 4);

  SECTION("a backend killed behind the AppMaster's back: its node no longer hosts it, a ping learns it died") {
    const std::vector<ActorId> before = members();
    REQUIRE(before.size() == 4u);
    t.ok(t.on_head("c1", [&](RuntimeClient& c) { return c.kill_actor(before[0]); }));
    const TimePoint killed = t.world.now();
    while (t.world.now() - killed < 5s) {
      const std::vector<ActorId> now = members();
      if (std::find(now.begin(), now.end(), before[0]) == now.end()) break;
      t.run_for(50ms);
    }
    // Dropped on the round's kPeerDied (at most two rounds), not after health_failures (3) failed rounds.
    CHECK(t.world.now() - killed <= 1200ms);
    CHECK(t.wait_serving("c1", "svc", "v1", 4, 20s));
  }
  SECTION("a paused node answers no probe: its backends fail health_failures rounds and are replaced") {
    const std::vector<ActorId> before = members();
    NodeId victim = kNoNode;
    for (const runtime::ActorInfo& info : t.control_store("c1").actors()) {
      if (info.id == before[0]) victim = info.node;
    }
    REQUIRE(victim != kNoNode);
    size_t on_victim = 0;
    for (const runtime::ActorInfo& info : t.control_store("c1").actors()) {
      if (info.node == victim && std::find(before.begin(), before.end(), info.id) != before.end()) ++on_victim;
    }
    t.world.pause(victim);
    t.run_for(4s);  // 3 failed rounds of 500 ms each, then replacements start elsewhere
    const std::vector<ActorId> now = members();
    size_t kept = 0;
    for (ActorId id : before) kept += std::find(now.begin(), now.end(), id) != now.end() ? 1 : 0;
    CHECK(kept == before.size() - on_victim);
    CHECK(t.wait_serving("c1", "svc", "v1", 4, 20s));
    t.world.resume(victim);
  }
}

}  // namespace
}  // namespace tandem::serving::testing

namespace tandem::serving::testing {
namespace {

using namespace std::chrono_literals;

// Waits until the AppMaster's release `release` ends (succeeded or rolled back); returns the final status.
AppMasterStatus wait_release(ServingFixture& t, const std::string& cluster, uint64_t release,
                             Duration limit = 60s) {
  const TimePoint end = t.world.now() + limit;
  AppMasterStatus now;
  while (t.world.now() < end) {
    now = t.status(cluster);
    if (now.upgrade.release == release &&
        (now.upgrade.state == UpgradeState::kSucceeded || now.upgrade.state == UpgradeState::kRolledBack)) {
      return now;
    }
    t.run_for(100ms);
  }
  FAIL("release " << release << " did not finish; state " << upgrade_state_name(now.upgrade.state));
  return now;
}

Status start_upgrade(ServingFixture& t, const std::string& cluster, const std::string& version, uint64_t release) {
  return t.on_head(cluster, [&](RuntimeClient& c) -> Task<Status> {
    AppMasterClient master = t.appmaster(c, cluster);
    co_return co_await master.upgrade(version, release);
  });
}

// Samples the AppMaster every `period` while the world runs `duration`; checks the upgrade never detaches more
// than the policy allows.
uint32_t max_detached_while(ServingFixture& t, const std::string& cluster, Duration duration, Duration period,
                            uint32_t* worst_allowed = nullptr) {
  uint32_t worst = 0;
  const TimePoint end = t.world.now() + duration;
  while (t.world.now() < end) {
    AppMasterStatus now = t.status(cluster);
    if (now.detached_for_upgrade > worst) {
      worst = now.detached_for_upgrade;
      if (worst_allowed != nullptr) *worst_allowed = now.allowed_unavailable;
    }
    CHECK(now.detached_for_upgrade <= now.allowed_unavailable);
    t.run_for(period);
  }
  return worst;
}

TEST_CASE("Upgrade: a rolling upgrade moves every instance to the new version without failing a request (R=6)") {
  ServingFixture t;
  ServiceSpec spec = test_spec("svc", {{"c1", 6}});
  t.deploy(spec);
  auto load = t.start_load("c1", 200);
  t.run_for(2s);
  t.ok(start_upgrade(t, "c1", "v2", 7));
  const uint32_t worst = max_detached_while(t, "c1", 6s, 50ms);
  CHECK(worst >= 1);
  AppMasterStatus done = wait_release(t, "c1", 7);
  CHECK(done.upgrade.state == UpgradeState::kSucceeded);
  CHECK(done.stable_version == "v2");
  CHECK(done.serving.at("v2") == 6);
  CHECK(done.serving.count("v1") == 0);
  t.run_for(1s);
  t.drain_loads();
  INFO(load->first_error());
  CHECK(load->failed() == 0);
  CHECK(load->completed() == load->issued);
  CHECK(load->by_version().at("v2") > 0);
}

TEST_CASE("Upgrade: with max_unavailable 0 the surge keeps full capacity during the upgrade") {
  ServingFixture t;
  ServiceSpec spec = test_spec("svc", {{"c1", 4}});
  spec.upgrade.max_unavailable = 0;
  spec.upgrade.max_surge = 1;
  spec.upgrade.step = 1;
  t.deploy(spec);
  auto load = t.start_load("c1", 100);
  t.ok(start_upgrade(t, "c1", "v2", 3));
  const TimePoint end = t.world.now() + 20s;
  AppMasterStatus now;
  while (t.world.now() < end) {
    now = t.status("c1");
    uint32_t serving = 0;
    for (const auto& [version, count] : now.serving) serving += count;
    CHECK(serving >= 4);  // never below the desired count
    if (now.upgrade.state == UpgradeState::kSucceeded) break;
    t.run_for(50ms);
  }
  CHECK(now.upgrade.state == UpgradeState::kSucceeded);
  t.run_for(3s);
  now = t.status("c1");
  CHECK(now.backends == 4);  // the surge instances left
  t.drain_loads();
  CHECK(load->failed() == 0);
}

TEST_CASE("Upgrade: a surge instance lost while its batch is detached is replaced before the batch returns") {
  // One instance detached at a time, covered by one surge instance (max_unavailable 0), and a slow reload so the
  // batch stays out of traffic long enough for the surge's node to crash under it.
  ServingFixture t({.workers_per_cluster = 4});
  ServiceSpec spec = test_spec("svc", {{"c1", 3}});
  spec.upgrade.max_unavailable = 0;
  spec.upgrade.max_surge = 1;
  spec.upgrade.step = 1;
  spec.upgrade.step_timeout = 30s;
  for (VersionSpec& version : spec.versions) {
    if (version.name == "v2") version.reload = 8s;
  }
  t.deploy(spec);
  auto load = t.start_load("c1", 100);
  t.ok(start_upgrade(t, "c1", "v2", 5));
  // Polls the AppMaster every 50 ms until `done` holds of its status, at most `limit`.
  auto poll_until = [&](const std::function<bool(const AppMasterStatus&)>& done, Duration limit) {
    const TimePoint end = t.world.now() + limit;
    while (t.world.now() < end) {
      if (done(t.status("c1"))) return true;
      t.run_for(50ms);
    }
    return false;
  };
  REQUIRE(poll_until([](const AppMasterStatus& now) { return now.upgrade.state == UpgradeState::kUpgrading; }, 20s));
  const ServiceMetadata meta = t.ok(t.on_head("c1", [&](RuntimeClient& c) -> Task<Result<ServiceMetadata>> {
    co_return co_await t.appmaster(c, "c1").metadata();
  }));
  REQUIRE(meta.upgrade.batch.size() == 1u);
  ActorId surge = 0;
  for (const BackendRecord& record : meta.backends) {
    if (record.role == MemberRole::kSurge && record.ready && record.attached) surge = record.id;
  }
  REQUIRE(surge != 0);
  NodeId surge_node = kNoNode;
  NodeId batch_node = kNoNode;
  for (const runtime::ActorInfo& info : t.control_store("c1").actors()) {
    if (info.id == surge) surge_node = info.node;
    if (info.id == meta.upgrade.batch[0]) batch_node = info.node;
  }
  REQUIRE(surge_node != kNoNode);
  REQUIRE(surge_node != batch_node);  // the batch itself must survive: only its cover is lost
  t.world.crash(surge_node);

  // The AppMaster notices the loss: the detached batch is uncovered for a moment ...
  CHECK(poll_until([](const AppMasterStatus& now) { return now.allowed_unavailable == 0; }, 5s));
  // ... and covered again by a new surge instance while the batch is still out of traffic (its reload takes
  // 8 s), not only once the batch returns.
  const bool covered_again = poll_until(
      [](const AppMasterStatus& now) {
        return now.detached_for_upgrade == 1 && now.allowed_unavailable == 1 &&
               now.upgrade.state == UpgradeState::kUpgrading && now.upgrade.batches_done == 0;
      },
      6s);
  CHECK(covered_again);
  CHECK(t.metrics.counter_sum("serving_upgrade_surge_replaced_total", {{"service", "svc"}}) >= 1);

  AppMasterStatus done = wait_release(t, "c1", 5, 120s);
  CHECK(done.upgrade.state == UpgradeState::kSucceeded);
  REQUIRE(t.wait_serving("c1", "svc", "v2", 3, 20s));
  t.drain_loads();
  // Requests caught on the crashed node may fail before the proxies eject it; the rest must succeed.
  INFO(load->first_error());
  CHECK(load->availability() >= 0.99);
}

TEST_CASE("Upgrade: a bad version fails validation and the whole release rolls back to the old version") {
  ServingFixture t;
  ServiceSpec spec = test_spec("svc", {{"c1", 6}});
  t.deploy(spec);
  auto load = t.start_load("c1", 200);
  t.run_for(2s);
  t.ok(start_upgrade(t, "c1", "bad", 9));
  AppMasterStatus done = wait_release(t, "c1", 9);
  CHECK(done.upgrade.state == UpgradeState::kRolledBack);
  CHECK_THAT(done.upgrade.failure, Catch::Contains("validation failed"));
  CHECK(done.stable_version == "v1");
  t.run_for(1s);
  done = t.status("c1");
  CHECK(done.serving.at("v1") == 6);
  CHECK(done.serving.count("bad") == 0);
  t.drain_loads();
  // The bad version never took traffic: it was detached from the moment it was loaded until rolled back.
  CHECK(load->by_version().count("bad") == 0);
  CHECK(load->failed() == 0);
}

TEST_CASE("AppMaster: actor restart mid-upgrade loses no request and the upgrade completes") {
  ServingFixture t;
  ServiceSpec spec = test_spec("svc", {{"c1", 8}});
  spec.upgrade.step = 2;
  t.deploy(spec);
  AppMasterStatus before = t.status("c1");
  auto load = t.start_load("c1", 200);
  t.run_for(1s);
  t.ok(start_upgrade(t, "c1", "v2", 11));
  // Let the upgrade get going, then kill the AppMaster actor; the runtime restarts it.
  REQUIRE(t.run_until([&] { return false; }, 700ms) == false);
  t.ok(t.on_head("c1", [&](RuntimeClient& c) -> Task<Status> {
    AppMasterClient master = t.appmaster(c, "c1");
    co_return co_await master.kill_appmaster(false);
  }));
  AppMasterStatus done = wait_release(t, "c1", 11, 90s);
  CHECK(done.recovery == RecoveryMode::kActorRestart);
  CHECK(done.epoch > before.epoch);
  CHECK(done.upgrade.state == UpgradeState::kSucceeded);
  CHECK(done.serving.at("v2") == 8);
  t.run_for(1s);
  t.drain_loads();
  INFO(load->first_error());
  CHECK(load->failed() == 0);
  CHECK(load->completed() == load->issued);
}

TEST_CASE("AppMaster: an actor restart adopts live proxies and backends and restores the persisted metadata") {
  ServingFixture t;
  ServiceSpec spec = test_spec("svc", {{"c1", 4}});
  t.deploy(spec);
  auto load = t.start_load("c1", 200);
  t.run_for(1s);
  const ServiceMetadata before = t.ok(t.on_head("c1", [&](RuntimeClient& c) -> Task<Result<ServiceMetadata>> {
    AppMasterClient master = t.appmaster(c, "c1");
    co_return co_await master.metadata();
  }));
  t.ok(t.on_head("c1", [&](RuntimeClient& c) -> Task<Status> {
    AppMasterClient master = t.appmaster(c, "c1");
    co_return co_await master.kill_appmaster(false);
  }));
  t.run_for(4s);
  AppMasterStatus after = t.status("c1");
  CHECK(after.recovery == RecoveryMode::kActorRestart);
  CHECK(after.recovered);
  const ServiceMetadata restored = t.ok(t.on_head("c1", [&](RuntimeClient& c) -> Task<Result<ServiceMetadata>> {
    AppMasterClient master = t.appmaster(c, "c1");
    co_return co_await master.metadata();
  }));
  // Same members (same actors), same config; only the epoch and the change counter moved on.
  CHECK(restored.backends == before.backends);
  CHECK(restored.proxies == before.proxies);
  CHECK(restored.spec == before.spec);
  CHECK(restored.desired == before.desired);
  CHECK(restored.epoch > before.epoch);
  t.drain_loads();
  INFO(load->first_error());
  CHECK(load->failed() == 0);
}

TEST_CASE("AppMaster: whole-job restart rebuilds the service from persisted config") {
  ServingFixture t({.clusters = {"c1"}});
  ServiceSpec spec = test_spec("svc", {{"c1", 5}});
  t.deploy(spec);
  const ServiceMetadata before = t.ok(t.on_head("c1", [&](RuntimeClient& c) -> Task<Result<ServiceMetadata>> {
    AppMasterClient master = t.appmaster(c, "c1");
    co_return co_await master.metadata();
  }));
  // The job dies with everything it ran; a new job (id 2) starts with no arguments but its name and id.
  t.ok(t.on_head("c1", [&](RuntimeClient& c) -> Task<Status> {
    AppMasterClient master = t.appmaster(c, "c1");
    co_return co_await master.restart_job(2, true);
  }));
  REQUIRE(t.wait_serving("c1", "svc", "v1", 5, 30s));
  AppMasterStatus after = t.status("c1");
  CHECK(after.recovery == RecoveryMode::kJobRestart);
  CHECK(after.job_id == 2);
  const ServiceMetadata rebuilt = t.ok(t.on_head("c1", [&](RuntimeClient& c) -> Task<Result<ServiceMetadata>> {
    AppMasterClient master = t.appmaster(c, "c1");
    co_return co_await master.metadata();
  }));
  CHECK(rebuilt.spec == before.spec);
  CHECK(rebuilt.desired == before.desired);
  for (const BackendRecord& record : rebuilt.backends) {
    for (const BackendRecord& old : before.backends) CHECK(record.id != old.id);  // new instances
  }
  // And it serves.
  auto load = t.start_load("c1", 100, 2s);
  t.run_for(3s);
  t.drain_loads();
  CHECK(load->failed() == 0);
}

TEST_CASE("AppMaster: a job restart with live leftovers makes before it breaks: no request fails") {
  ServingFixture t;
  ServiceSpec spec = test_spec("svc", {{"c1", 4}});
  t.deploy(spec);
  auto load = t.start_load("c1", 200);
  t.run_for(1s);
  t.ok(t.on_head("c1", [&](RuntimeClient& c) -> Task<Status> {
    AppMasterClient master = t.appmaster(c, "c1");
    co_return co_await master.restart_job(2, false);
  }));
  t.run_for(8s);
  AppMasterStatus after = t.status("c1");
  CHECK(after.recovery == RecoveryMode::kJobRestart);
  CHECK(after.serving.at("v1") == 4);
  // The previous job's actors are gone: only the rebuilt ones (and the AppMaster) are alive.
  size_t alive = 0;
  for (const runtime::ActorInfo& info : t.control_store("c1").actors()) {
    alive += info.state == runtime::ActorState::kAlive ? 1 : 0;
  }
  CHECK(alive == 1 + 4 + 2);
  t.drain_loads();
  INFO(load->first_error());
  CHECK(load->failed() == 0);
}

}  // namespace
}  // namespace tandem::serving::testing

namespace tandem::serving::testing {
namespace {

using namespace std::chrono_literals;

struct ActingInterval {
  uint64_t epoch;
  double from_ns;
  double until_ns;
};

// The acting windows every AppMaster life of (service, cluster) published, by epoch.
std::vector<ActingInterval> acting_intervals(ServingFixture& t, const std::string& cluster) {
  std::map<uint64_t, ActingInterval> by_epoch;
  t.metrics.for_each_gauge([&](const metrics::SeriesKey& key, const metrics::Gauge& gauge) {
    const std::string* c = key.labels.find("cluster");
    const std::string* e = key.labels.find("epoch");
    if (c == nullptr || e == nullptr || *c != cluster) return;
    ActingInterval& interval = by_epoch[std::stoull(*e)];
    interval.epoch = std::stoull(*e);
    if (key.name == "serving_appmaster_acting_from_ns") interval.from_ns = gauge.value();
    if (key.name == "serving_appmaster_acting_until_ns") interval.until_ns = gauge.value();
  });
  std::vector<ActingInterval> out;
  for (auto& [epoch, interval] : by_epoch) out.push_back(interval);
  return out;
}

TEST_CASE("AppMaster: a partitioned AppMaster is fenced and never acts at the same time as its successor") {
  ServingFixture t({.workers_per_cluster = 4});
  ServiceSpec spec = test_spec("svc", {{"c1", 4}});
  t.deploy(spec);
  auto load = t.start_load("c1", 100);
  // Cut the AppMaster's node off from the control store: the runtime declares it dead and restarts the
  // AppMaster elsewhere, while the old one keeps running on the far side of the partition.
  NodeId where = kNoNode;
  for (const runtime::ActorInfo& info : t.control_store("c1").actors()) {
    if (info.name == appmaster_name("svc") && info.state == runtime::ActorState::kAlive) where = info.node;
  }
  REQUIRE(where != kNoNode);
  t.world.network().partition({where}, {t.head("c1")});
  t.run_for(6s);
  AppMasterStatus successor = t.status("c1");
  CHECK(successor.epoch >= 2);
  CHECK(successor.acting);
  t.world.network().heal_partitions();
  t.run_for(4s);
  const std::vector<ActingInterval> intervals = acting_intervals(t, "c1");
  REQUIRE(intervals.size() >= 2);
  for (size_t i = 1; i < intervals.size(); ++i) {
    INFO("epoch " << intervals[i - 1].epoch << " acted until " << intervals[i - 1].until_ns << ", epoch "
                  << intervals[i].epoch << " from " << intervals[i].from_ns);
    CHECK(intervals[i - 1].until_ns <= intervals[i].from_ns);
  }
  t.drain_loads();
  // Instances on the partitioned node were replaced; requests routed there meanwhile still had backends.
  CHECK(load->availability() >= 0.99);
}

}  // namespace
}  // namespace tandem::serving::testing
