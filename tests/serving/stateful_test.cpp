// RapidCheck stateful tests (rapidcheck/state.h) of the AppMaster and its upgrade state machine against a model:
// random sequences of deploy (apply), scale, upgrade (to a good version, or a bad one that fails validation),
// AppMaster kill and node crash — the kill and the crash also land in the middle of an upgrade. The model is
// what an operator expects: the desired count and the stable version. After every command the invariants are
// checked on the sim world:
// - never more instances detached by the upgrade than the policy allows (sampled every 50 ms), except while a
//   crashed surge instance is being replaced (at most kUncoveredGrace);
// - a failed validation ends in ROLLED_BACK with every instance on the old version;
// - after an AppMaster restart the persisted metadata equals what was there before (same members, config);
// - never two acting AppMasters (the published acting windows do not overlap);
// - replica counts converge to the spec, all on the stable version.
// Kept fast under ctest: few runs of short sequences (RC_PARAMS="max_success=N max_size=M" explores more).
#include <catch2/catch.hpp>
#include <rapidcheck.h>
#include <rapidcheck/catch.h>
#include <rapidcheck/state.h>

#include <algorithm>
#include <optional>
#include <sstream>

#include "tests/serving/serving_fixture.h"

namespace tandem::serving::testing {
namespace {

using namespace std::chrono_literals;

constexpr int32_t kMinReplicas = 1;
constexpr int32_t kMaxReplicas = 5;
constexpr size_t kWorkers = 4;
// A crashed worker stays down this long; a crash has played out (node back, loss noticed) after kCrashSettle.
constexpr Duration kCrashDown = std::chrono::seconds(3);
constexpr Duration kCrashSettle = std::chrono::seconds(4);
// A crash may take a detached batch's surge instance: the AppMaster replaces it within failure detection plus a
// start-up; the batch may go uncovered at most this long.
constexpr Duration kUncoveredGrace = std::chrono::seconds(3);

struct Model {
  int32_t desired = 3;
  std::string stable = "v1";
  uint64_t next_release = 100;
};

// The system under test: one cluster, one service, light load from one client.
struct Sut {
  Sut() : t(options()) {
    spec = test_spec("svc", {{"c1", 3}});
    spec.upgrade.step = 2;
    spec.upgrade.max_unavailable = 1;
    spec.upgrade.max_surge = 1;
    t.deploy(spec);
    load = t.start_load("c1", 50);
  }
  static ServingFixtureOptions options() {
    ServingFixtureOptions o;
    o.workers_per_cluster = kWorkers;
    return o;
  }

  template <typename Make>
  auto master(Make make) {
    return t.on_head("c1", [&](RuntimeClient& c) {
      return make(t.appmaster(c, "c1"));
    });
  }
  ServiceMetadata metadata() {
    return t.ok(master([](AppMasterClient m) -> Task<Result<ServiceMetadata>> { co_return co_await m.metadata(); }));
  }

  ServingFixture t;
  ServiceSpec spec;
  std::shared_ptr<LoadRecord> load;
};

using Command = rc::state::Command<Model, Sut>;

// --- Invariants ------------------------------------------------------------------------------------------

struct ActingWindow {
  uint64_t epoch = 0;
  double from_ns = 0;
  double until_ns = 0;  // 0: still acting
};

// Never two acting AppMasters: each epoch's acting window ends before the next one begins.
void check_single_acting(Sut& sut) {
  std::map<uint64_t, ActingWindow> by_epoch;
  sut.t.metrics.for_each_gauge([&](const metrics::SeriesKey& key, const metrics::Gauge& gauge) {
    const std::string* cluster = key.labels.find("cluster");
    const std::string* epoch = key.labels.find("epoch");
    if (cluster == nullptr || epoch == nullptr || *cluster != "c1") return;
    ActingWindow& window = by_epoch[std::stoull(*epoch)];
    window.epoch = std::stoull(*epoch);
    if (key.name == "serving_appmaster_acting_from_ns") window.from_ns = gauge.value();
    if (key.name == "serving_appmaster_acting_until_ns") window.until_ns = gauge.value();
  });
  const ActingWindow* previous = nullptr;
  for (const auto& [epoch, window] : by_epoch) {
    if (window.from_ns == 0) continue;  // never acted
    if (previous != nullptr) {
      RC_ASSERT(previous->until_ns > 0);  // a successor acts only after its predecessor stopped
      RC_ASSERT(previous->until_ns <= window.from_ns);
    }
    previous = &window;
  }
}

// Replica counts converge to the model: `desired` backends, all ready and attached on the stable version.
void check_converged(Sut& sut, const Model& model) {
  const bool converged = sut.t.wait_serving("c1", "svc", model.stable, model.desired, 40s);
  AppMasterStatus now = sut.t.status("c1");
  // Every change is persisted soon after it is made (a health change may be on its way to the KV now).
  for (int i = 0; i < 20 && now.persisted_generation != now.generation; ++i) {
    sut.t.run_for(100ms);
    now = sut.t.status("c1");
  }
  if (!converged) {
    std::ostringstream out;
    for (const auto& [version, count] : now.serving) out << version << "=" << count << " ";
    RC_FAIL("did not converge to " + std::to_string(model.desired) + " x " + model.stable + "; serving " +
            out.str() + "backends " + std::to_string(now.backends) + ", upgrade " +
            std::string(upgrade_state_name(now.upgrade.state)));
  }
  RC_ASSERT(now.stable_version == model.stable);
  RC_ASSERT(now.desired == model.desired);
  RC_ASSERT(now.serving.size() == 1u);
  RC_ASSERT(now.persisted_generation == now.generation);
  check_single_acting(sut);
}

// --- Commands --------------------------------------------------------------------------------------------

struct Scale : Command {
  int32_t replicas;
  explicit Scale(const Model&) : replicas(*rc::gen::inRange(kMinReplicas, kMaxReplicas + 1)) {}
  void apply(Model& model) const override { model.desired = replicas; }
  void run(const Model& model, Sut& sut) const override {
    const int32_t n = replicas;
    sut.t.ok(sut.master([n](AppMasterClient m) -> Task<Status> { co_return co_await m.scale(n); }));
    Model next = model;
    apply(next);
    check_converged(sut, next);
  }
  void show(std::ostream& os) const override { os << "Scale(" << replicas << ")"; }
};

// Deploy again with another replica count (apply() of a changed spec, same version: no release).
struct Redeploy : Command {
  int32_t replicas;
  explicit Redeploy(const Model&) : replicas(*rc::gen::inRange(kMinReplicas, kMaxReplicas + 1)) {}
  void apply(Model& model) const override { model.desired = replicas; }
  void run(const Model& model, Sut& sut) const override {
    ServiceSpec spec = sut.spec;
    spec.version = model.stable;
    spec.replicas = {{"c1", replicas}};
    sut.t.ok(sut.master([spec](AppMasterClient m) -> Task<Status> { co_return co_await m.apply(spec); }));
    Model next = model;
    apply(next);
    check_converged(sut, next);
  }
  void show(std::ostream& os) const override { os << "Redeploy(replicas=" << replicas << ")"; }
};

enum class Disturbance { kNone, kKillAppMaster, kCrashWorker };

// The status of the AppMaster once a life with an epoch above `epoch` has recovered and acts.
AppMasterStatus wait_recovered(Sut& sut, uint64_t epoch) {
  const TimePoint end = sut.t.world.now() + 30s;
  AppMasterStatus now;
  while (sut.t.world.now() < end) {
    now = sut.t.status("c1");  // retries while the AppMaster is being restarted
    if (now.epoch > epoch && now.recovered && now.acting) return now;
    sut.t.run_for(100ms);
  }
  RC_FAIL("the AppMaster did not recover within 30s");
  return now;
}

// Kills the AppMaster actor (the runtime restarts it) without waiting for its recovery.
void kill_appmaster(Sut& sut) {
  sut.t.ok(sut.master([](AppMasterClient m) -> Task<Status> { co_return co_await m.kill_appmaster(false); }));
}
// Crashes a worker now and restarts it `down` later.
void crash_worker(Sut& sut, size_t worker, Duration down) {
  const NodeId node = sut.t.worker("c1", worker);
  sut.t.world.crash(node);
  sut.t.world.at(sut.t.world.now() + down, [&sut, node] { sut.t.world.restart(node); });
}

struct Upgrade : Command {
  std::string to;
  Disturbance disturbance;
  int64_t at_ms;
  size_t worker;
  explicit Upgrade(const Model& model)
      : to(*rc::gen::element(model.stable == "v1" ? std::string("v2") : std::string("v1"), std::string("bad"))),
        disturbance(*rc::gen::element(Disturbance::kNone, Disturbance::kKillAppMaster, Disturbance::kCrashWorker)),
        at_ms(*rc::gen::inRange<int64_t>(0, 3000)),
        worker(*rc::gen::inRange<size_t>(0, kWorkers)) {}
  void checkPreconditions(const Model& model) const override { RC_PRE(to != model.stable); }
  void apply(Model& model) const override {
    if (to != "bad") model.stable = to;
    ++model.next_release;
  }
  void run(const Model& model, Sut& sut) const override {
    const uint64_t release = model.next_release;
    const std::string version = to;
    sut.t.ok(sut.master([&](AppMasterClient m) -> Task<Status> { co_return co_await m.upgrade(version, release); }));
    const TimePoint started = sut.t.world.now();
    const TimePoint end = started + 120s;
    bool disturbed = disturbance == Disturbance::kNone;
    TimePoint crashed_at{};
    std::optional<TimePoint> uncovered_since;  // the detached batch has lacked its surge cover since then
    AppMasterStatus now;
    while (sut.t.world.now() < end) {
      if (!disturbed && sut.t.world.now() >= started + std::chrono::milliseconds(at_ms)) {
        disturbed = true;
        if (disturbance == Disturbance::kKillAppMaster) kill_appmaster(sut);
        if (disturbance == Disturbance::kCrashWorker) {
          crashed_at = sut.t.world.now();
          crash_worker(sut, worker, kCrashDown);
        }
      }
      now = sut.t.status("c1");
      // Never more unavailable than the policy allows: the upgrade detaches at most max_unavailable plus the
      // surge instances that serve in their place. A crash may take a surge instance away after its batch
      // left: then the batch is uncovered until the replacement serves, at most kUncoveredGrace.
      const bool crashed = disturbed && disturbance == Disturbance::kCrashWorker;
      if (now.detached_for_upgrade <= now.allowed_unavailable) {
        uncovered_since.reset();
      } else {
        RC_ASSERT(crashed);
        if (!uncovered_since) uncovered_since = sut.t.world.now();
        RC_ASSERT(sut.t.world.now() - *uncovered_since <= kUncoveredGrace);
      }
      RC_ASSERT(now.detached_for_upgrade <= sut.spec.upgrade.max_unavailable + sut.spec.upgrade.max_surge);
      RC_ASSERT(now.allowed_unavailable <= sut.spec.upgrade.max_unavailable + sut.spec.upgrade.max_surge);
      if (disturbed && now.upgrade.release == release && !upgrade_active(now.upgrade.state)) break;
      sut.t.run_for(50ms);
    }
    RC_ASSERT(now.upgrade.release == release);
    if (to == "bad") {
      // A failed validation ends with every instance on the old version.
      if (now.upgrade.state != UpgradeState::kRolledBack) {
        std::ostringstream out;
        for (const auto& [version, count] : now.serving) out << version << "=" << count << " ";
        RC_FAIL("release of the bad version ended " + std::string(upgrade_state_name(now.upgrade.state)) +
                " (failure: '" + now.upgrade.failure + "'), serving " + out.str());
      }
      RC_ASSERT(now.stable_version == model.stable);
      for (const auto& [version, count] : now.serving) RC_ASSERT(version == model.stable);
      const ServiceMetadata meta = sut.metadata();
      for (const BackendRecord& backend : meta.backends) {
        if (backend.role == MemberRole::kStable && backend.ready) RC_ASSERT(backend.version == model.stable);
      }
    } else if (now.upgrade.state != UpgradeState::kSucceeded) {
      // A crash may fail a batch (its only instance died mid-reload): the release then rolls back, safely.
      // The operator's answer is to release again; undisturbed, that must succeed.
      RC_ASSERT(disturbance == Disturbance::kCrashWorker);
      RC_ASSERT(now.upgrade.state == UpgradeState::kRolledBack);
      RC_ASSERT(now.stable_version == model.stable);
      const uint64_t again = release + 1'000'000;
      sut.t.ok(sut.master([&](AppMasterClient m) -> Task<Status> { co_return co_await m.upgrade(version, again); }));
      while (sut.t.world.now() < end + 120s) {
        now = sut.t.status("c1");
        if (now.upgrade.release == again && !upgrade_active(now.upgrade.state)) break;
        sut.t.run_for(100ms);
      }
      RC_ASSERT(now.upgrade.state == UpgradeState::kSucceeded);
    }
    // The crash plays out before the command ends, as CrashWorker's does: a release may finish before the
    // crash is even noticed, and the next command must not start inside it (its "before" would be stale).
    if (crashed_at != TimePoint{} && sut.t.world.now() < crashed_at + kCrashSettle) {
      sut.t.run_for(crashed_at + kCrashSettle - sut.t.world.now());
    }
    Model next = model;
    apply(next);
    check_converged(sut, next);
  }
  void show(std::ostream& os) const override {
    static const char* const kNames[] = {"none", "kill AppMaster", "crash worker"};
    os << "Upgrade(to=" << to << ", disturbance=" << kNames[static_cast<int>(disturbance)] << " at " << at_ms
       << "ms, worker " << worker << ")";
  }
};

// Kills the AppMaster: after its actor restart the persisted metadata equals what was there before, and no
// request fails because of it.
struct KillAppMaster : Command {
  explicit KillAppMaster(const Model&) {}
  void apply(Model&) const override {}
  void run(const Model& model, Sut& sut) const override {
    const ServiceMetadata before = sut.metadata();
    const uint64_t failed_before = sut.load->failed();
    const size_t outcomes_before = sut.load->outcomes.size();
    const TimePoint kill_at = sut.t.world.now();
    kill_appmaster(sut);
    AppMasterStatus now = wait_recovered(sut, before.epoch);
    RC_ASSERT(now.recovery == RecoveryMode::kActorRestart);
    RC_ASSERT(now.epoch > before.epoch);
    const ServiceMetadata after = sut.metadata();
    RC_ASSERT(after.spec == before.spec);
    RC_ASSERT(after.desired == before.desired);
    RC_ASSERT(after.backends == before.backends);
    RC_ASSERT(after.proxies == before.proxies);
    RC_ASSERT(after.upgrade == before.upgrade);
    RC_ASSERT(after.history == before.history);
    RC_ASSERT(after.job_id == before.job_id);
    sut.t.run_for(1s);
    if (sut.load->failed() != failed_before) {
      std::string errors;
      for (size_t i = outcomes_before; i < sut.load->outcomes.size(); ++i) {
        const RequestOutcome& outcome = sut.load->outcomes[i];
        if (outcome.ok() || errors.size() > 600) continue;
        errors += std::to_string((to_ns(outcome.start) - to_ns(kill_at)) / 1'000'000) + "ms after the kill: " +
                  std::string(errc_name(outcome.code)) + ": " + outcome.error + "\n";
      }
      RC_FAIL(std::to_string(sut.load->failed() - failed_before) + " requests failed around the AppMaster kill:\n" +
              errors);
    }
    check_converged(sut, model);
  }
  void show(std::ostream& os) const override { os << "KillAppMaster"; }
};

// Crashes a worker for a while: its instances come back elsewhere, the config is untouched.
struct CrashWorker : Command {
  size_t worker;
  explicit CrashWorker(const Model&) : worker(*rc::gen::inRange<size_t>(0, kWorkers)) {}
  void apply(Model&) const override {}
  void run(const Model& model, Sut& sut) const override {
    const ServiceMetadata before = sut.metadata();
    crash_worker(sut, worker, kCrashDown);
    sut.t.run_for(kCrashSettle);
    check_converged(sut, model);
    const ServiceMetadata after = sut.metadata();
    RC_ASSERT(after.spec == before.spec);
    RC_ASSERT(after.desired == before.desired);
  }
  void show(std::ostream& os) const override { os << "CrashWorker(" << worker << ")"; }
};

// Runs `testable` as a RapidCheck property with at most `runs` cases and sequences of at most `size` commands,
// unless RC_PARAMS asks for more: the sim runs are seconds of virtual time each, too slow for 100 cases.
template <typename Testable>
void small_prop(const std::string& description, int runs, int size, Testable&& testable) {
  rc::detail::TestParams params = rc::detail::configuration().testParams;
  if (params.maxSuccess == rc::detail::TestParams{}.maxSuccess) params.maxSuccess = runs;
  if (params.maxSize == rc::detail::TestParams{}.maxSize) params.maxSize = size;
  SECTION(description) {
    const rc::detail::TestResult result =
        rc::detail::checkProperty(rc::detail::toProperty(std::forward<Testable>(testable)), rc::detail::TestMetadata{},
                                  params);
    std::ostringstream message;
    rc::detail::printResultMessage(result, message);
    INFO(message.str());
    CHECK(result.template is<rc::detail::SuccessResult>());
  }
}

TEST_CASE("AppMaster stateful: deploy, scale, upgrade, kills and crashes keep the invariants against the model",
          "[stateful]") {
  small_prop("model", 10, 15, [] {
    Sut sut;
    rc::state::check(Model{}, sut,
                     rc::state::gen::execOneOfWithArgs<Scale, Redeploy, Upgrade, KillAppMaster, CrashWorker>());
  });
}

}  // namespace
}  // namespace tandem::serving::testing
