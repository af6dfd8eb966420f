// The simulated world: node lifecycle faults, storage durability, pause, clock skew, determinism.
#include <catch2/catch.hpp>
#include <rapidcheck.h>
#include <rapidcheck/catch.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/async/sleep.h"
#include "tests/support/sim_fixture.h"

namespace tandem {
namespace {

using testing::SimFixture;

// A process that counts ticks forever; `ticks` outlives it.
Task<void> ticker(Env& env, int* ticks, Duration period) {
  while (true) {
    co_await sleep(env.clock, period);
    ++*ticks;
  }
}

sim::Boot ticking_boot(int* ticks) {
  return [ticks](Env& env) {
    auto process = std::make_unique<sim::ScopeProcess>();
    process->scope.spawn(ticker(env, ticks, 1ms));
    return process;
  };
}

TEST_CASE("World: a crashed node's coroutines never resume and a restart boots it afresh") {
  int ticks = 0;
  SimFixture t(1, 1, 500us, {}, [&](size_t) { return ticking_boot(&ticks); });
  t.world.run_for(10ms);
  CHECK(ticks == 10);
  t.world.crash(t.node(0));
  CHECK(t.world.state(t.node(0)) == sim::NodeState::kDown);
  t.world.run_for(10ms);
  CHECK(ticks == 10);
  t.world.restart(t.node(0));
  CHECK(t.world.incarnation(t.node(0)) == 1);
  t.world.run_for(5ms);
  CHECK(ticks == 15);
}

TEST_CASE("World: a paused node runs nothing until resumed, then catches up") {
  int ticks = 0;
  SimFixture t(1, 1, 500us, {}, [&](size_t) { return ticking_boot(&ticks); });
  t.world.run_for(3ms);
  t.world.pause(t.node(0));
  t.world.run_for(20ms);
  CHECK(ticks == 3);
  t.world.resume(t.node(0));
  t.world.run_for(Duration(0));
  CHECK(ticks == 4);  // the one overdue timer fires at resume; the loop then continues at 1ms steps
  t.world.run_for(3ms);
  CHECK(ticks == 7);
}

TEST_CASE("World: clock skew shifts what a node reads, not when its timers fire") {
  SimFixture t(2);
  t.world.set_clock_skew(t.node(1), 250ms);
  t.world.run_for(10ms);
  CHECK(t.env(0).clock.now() == TimePoint(10ms));
  CHECK(t.env(1).clock.now() == TimePoint(260ms));
  TimePoint woke{};
  t.spawn(1, [&](Env& env) -> Task<void> {
    return [](Env& env, TimePoint& woke) -> Task<void> {
      co_await sleep(env.clock, 5ms);
      woke = env.clock.now();
    }(env, woke);
  });
  t.world.run_until_idle();
  CHECK(woke == TimePoint(265ms));
  CHECK(t.world.now() == TimePoint(15ms));
}

// Far timers (16 ms or more ahead) wait in the world's timer wheel; they must fire exactly when and in the order
// plain queueing would give, a cancelled one must never fire, and a timer set after run_until() looked past it
// must still fire on time.
TEST_CASE("World: far timers in the timer wheel fire in time order with near ones, cancelled ones never fire") {
  SimFixture t(1);
  std::vector<std::pair<std::string, TimePoint>> fired;
  auto after = [&](std::string label, Duration delay) {
    return t.spawn(0, [&fired, label, delay](Env& env) -> Task<void> {
      return [](Env& env, std::vector<std::pair<std::string, TimePoint>>& fired, std::string label,
                Duration delay) -> Task<void> {
        co_await sleep(env.clock, delay);
        fired.emplace_back(label, env.clock.now());
      }(env, fired, label, delay);
    });
  };
  after("a30ms", 30ms);
  after("b20ms", 20ms);
  after("c20ms", 20ms);  // same instant as b, set after it: fires after it
  after("d2ms", 2ms);
  after("e9s", 9s);      // two turns of the wheel ahead
  const TaskRef cancelled = after("never", 5s);
  t.world.run_until(TimePoint(25ms));
  CHECK(fired == std::vector<std::pair<std::string, TimePoint>>{
                     {"d2ms", TimePoint(2ms)}, {"b20ms", TimePoint(20ms)}, {"c20ms", TimePoint(20ms)}});
  t.scope(0).cancel(cancelled);
  const uint64_t stale_before = t.world.stats().stale_wakeups;
  t.world.run_until(TimePoint(1s));  // looks ahead to the 9 s timer, past the wheel buckets in between
  after("f1100ms", 100ms);           // lands behind the wheel's cursor: queued directly
  after("g1050ms", 50ms);
  t.world.run_until_idle();
  CHECK(fired == std::vector<std::pair<std::string, TimePoint>>{{"d2ms", TimePoint(2ms)},
                                                                {"b20ms", TimePoint(20ms)},
                                                                {"c20ms", TimePoint(20ms)},
                                                                {"a30ms", TimePoint(30ms)},
                                                                {"g1050ms", TimePoint(1050ms)},
                                                                {"f1100ms", TimePoint(1100ms)},
                                                                {"e9s", TimePoint(9s)}});
  CHECK(t.world.stats().stale_wakeups == stale_before + 1);  // the cancelled 5 s timer left without firing
  CHECK(t.world.pending_events() == 0);
}

TEST_CASE("Storage: synced writes survive a crash and unsynced writes are lost") {
  SimFixture t(1);
  Status synced = Error{Errc::kInternal, "unset"};
  t.spawn(0, [&](Env& env) -> Task<void> {
    return [](Env& env, Status& synced) -> Task<void> {
      env.storage.put("a", "1");
      env.storage.put("b", "2");
      synced = co_await env.storage.sync();
      env.storage.put("c", "3");
      env.storage.erase("a");
    }(env, synced);
  });
  t.world.run_until_idle();
  REQUIRE(synced.ok());
  Storage& storage = t.env(0).storage;
  CHECK_FALSE(storage.get("a").has_value());
  CHECK(storage.get("c") == std::optional<Bytes>("3"));
  CHECK(storage.scan("").size() == 2);
  t.world.crash(t.node(0));
  t.world.restart(t.node(0));
  CHECK(storage.get("a") == std::optional<Bytes>("1"));
  CHECK(storage.get("b") == std::optional<Bytes>("2"));
  CHECK_FALSE(storage.get("c").has_value());
}

TEST_CASE("Storage: a crash during sync loses the batch, and a failing device reports kStorageFailure") {
  SimFixture t(1);
  t.spawn(0, [&](Env& env) -> Task<void> {
    return [](Env& env) -> Task<void> {
      env.storage.put("k", "v");
      (void)co_await env.storage.sync();
    }(env);
  });
  t.world.run_for(500us);  // the sync takes 1ms
  t.world.crash(t.node(0));
  t.world.run_until_idle();
  t.world.restart(t.node(0));
  CHECK_FALSE(t.env(0).storage.get("k").has_value());

  t.world.set_storage_failing(t.node(0), true);
  Status status;
  t.spawn(0, [&](Env& env) -> Task<void> {
    return [](Env& env, Status& status) -> Task<void> {
      env.storage.put("k", "v");
      status = co_await env.storage.sync();
    }(env, status);
  });
  t.world.run_until_idle();
  CHECK(status.code() == Errc::kStorageFailure);
  t.world.crash(t.node(0));
  t.world.restart(t.node(0));
  CHECK_FALSE(t.env(0).storage.get("k").has_value());
}

TEST_CASE("Storage: scan merges durable and unsynced entries in key order, newest write winning") {
  SimFixture t(1);
  t.spawn(0, [&](Env& env) -> Task<void> {
    return [](Env& env) -> Task<void> {
      env.storage.put("job/2", "old");
      env.storage.put("job/1", "x");
      env.storage.put("other", "y");
      (void)co_await env.storage.sync();
      env.storage.put("job/2", "new");
      env.storage.put("job/0", "z");
      env.storage.erase("job/1");
    }(env);
  });
  t.world.run_until_idle();
  const auto entries = t.env(0).storage.scan("job/");
  REQUIRE(entries.size() == 2);
  CHECK(entries[0] == std::pair<std::string, Bytes>{"job/0", "z"});
  CHECK(entries[1] == std::pair<std::string, Bytes>{"job/2", "new"});
}

// A small busy world: nodes ping random peers with random sizes; returns the trace hash.
class Chatter final : public Receiver {
 public:
  Chatter(Env& env, size_t node_count) : env_(env), node_count_(node_count) {
    env_.transport.bind(kPort, this);
  }
  ~Chatter() override { env_.transport.unbind(kPort); }
  void on_message(Message&& message) override {
    ++received;
    if (message.kind > 0) send_to(message.from.node, message.kind - 1);
  }
  void on_undeliverable(Message&&, Errc) override {}
  void send_to(NodeId node, uint32_t hops) {
    Bytes payload(static_cast<size_t>(env_.random.below(64)), 'x');
    env_.transport.send(Message{{env_.node, kPort}, {node, kPort}, hops, 0, std::move(payload)});
  }
  void kick() {
    for (int i = 0; i < 5; ++i) send_to(static_cast<NodeId>(env_.random.below(node_count_)), 20);
  }
  static constexpr Port kPort = 9;
  int received = 0;

 private:
  Env& env_;
  size_t node_count_;
};

struct ChatterProcess final : sim::NodeProcess {
  ChatterProcess(Env& env, size_t n) : chatter(env, n) {}
  Chatter chatter;
};

uint64_t chatter_run_hash(uint64_t seed) {
  static constexpr size_t kNodes = 8;
  sim::WorldOptions options;
  sim::World world(SimFixture::with_seed(options, seed));
  const sim::RegionId region = world.network().add_region("r");
  sim::LinkSpec jittery;
  jittery.latency = sim::LatencyModel::uniform(200us, 2ms);
  const sim::ClusterId cluster = world.network().add_cluster("c", region, SimFixture::constant_link(10us));
  for (size_t i = 0; i < kNodes; ++i) {
    world.add_node("n" + std::to_string(i), cluster, jittery,
                   [](Env& env) { return std::make_unique<ChatterProcess>(env, kNodes); });
  }
  for (size_t i = 0; i < kNodes; ++i) {
    world.at(TimePoint(Duration(i * 100)), [&world, i] {
      static_cast<ChatterProcess*>(world.process(static_cast<NodeId>(i)))->chatter.kick();
    });
  }
  world.at(TimePoint(5ms), [&world] { world.crash(3); });
  world.at(TimePoint(9ms), [&world] { world.restart(3); });
  world.run_until_idle();
  return world.trace_hash();
}

TEST_CASE("Determinism: the same seed twice gives the same trace hash, and another seed gives another") {
  const uint64_t first = chatter_run_hash(42);
  const uint64_t second = chatter_run_hash(42);
  const uint64_t other = chatter_run_hash(43);
  CHECK(first == second);
  CHECK(first != other);
}

// --- Properties ------------------------------------------------------------------------------------------

// Records every delivery (time, from, to, sequence number) at each node.
class Recorder final : public Receiver {
 public:
  struct Delivery {
    TimePoint time;
    NodeId from;
    uint64_t sequence;
  };
  explicit Recorder(Env& env) : env_(env) { env_.transport.bind(kPort, this); }
  ~Recorder() override { env_.transport.unbind(kPort); }
  void on_message(Message&& message) override {
    deliveries.push_back({env_.clock.now(), message.from.node, message.correlation});
  }
  void on_undeliverable(Message&&, Errc) override {}
  void send(NodeId to, uint64_t sequence) {
    env_.transport.send(Message{{env_.node, kPort}, {to, kPort}, 1, sequence, {}});
  }
  static constexpr Port kPort = 3;
  std::vector<Delivery> deliveries;

 private:
  Env& env_;
};

struct RecorderProcess final : sim::NodeProcess {
  explicit RecorderProcess(Env& env) : recorder(env) {}
  Recorder recorder;
};

struct Send {
  uint8_t from;
  uint8_t to;
  uint16_t at_us;
};

TEST_CASE("Property: with no loss and no partition every message arrives exactly once, in send order per pair") {
  rc::prop("exactly once, FIFO per pair", [](uint64_t seed) {
    auto sends = *rc::gen::container<std::vector<Send>>(
        rc::gen::construct<Send>(rc::gen::inRange<uint8_t>(0, 4), rc::gen::inRange<uint8_t>(0, 4),
                                 rc::gen::inRange<uint16_t>(0, 5000)));
    // Sequence numbers follow send order (actions at one instant run in scheduling order).
    std::stable_sort(sends.begin(), sends.end(), [](const Send& a, const Send& b) { return a.at_us < b.at_us; });
    sim::World world(SimFixture::with_seed({}, seed));
    const sim::RegionId region = world.network().add_region("r");
    const sim::ClusterId cluster = world.network().add_cluster("c", region, SimFixture::constant_link(1us));
    sim::LinkSpec jittery;
    jittery.latency = sim::LatencyModel::uniform(100us, 3ms);
    for (int i = 0; i < 4; ++i) {
      world.add_node("n" + std::to_string(i), cluster, jittery,
                     [](Env& env) { return std::make_unique<RecorderProcess>(env); });
    }
    auto recorder = [&world](NodeId n) -> Recorder& {
      return static_cast<RecorderProcess*>(world.process(n))->recorder;
    };
    for (uint64_t i = 0; i < sends.size(); ++i) {
      const Send send = sends[i];
      world.at(TimePoint(std::chrono::microseconds(send.at_us)),
               [&recorder, send, i] { recorder(send.from).send(send.to, i); });
    }
    TimePoint last{};
    while (world.step()) {
      RC_ASSERT(world.now() >= last);  // events are processed in non-decreasing time
      last = world.now();
    }
    std::vector<int> seen(sends.size(), 0);
    for (NodeId n = 0; n < 4; ++n) {
      std::map<NodeId, uint64_t> last_sequence;
      for (const Recorder::Delivery& d : recorder(n).deliveries) {
        RC_ASSERT(sends[d.sequence].to == n);
        ++seen[d.sequence];
        auto it = last_sequence.find(d.from);
        if (it != last_sequence.end()) RC_ASSERT(it->second < d.sequence);
        last_sequence[d.from] = d.sequence;
      }
    }
    for (int count : seen) RC_ASSERT(count == 1);
  });
}

TEST_CASE("Property: no message crosses an active partition, and the partition's end lets traffic through") {
  rc::prop("partition blocks delivery", [](uint64_t seed) {
    const auto side = *rc::gen::container<std::vector<bool>>(6, rc::gen::arbitrary<bool>());
    const auto sends = *rc::gen::nonEmpty(rc::gen::container<std::vector<Send>>(rc::gen::construct<Send>(
        rc::gen::inRange<uint8_t>(0, 6), rc::gen::inRange<uint8_t>(0, 6), rc::gen::inRange<uint16_t>(0, 10000))));
    SimFixture t(6, seed, 200us, {}, [](size_t) -> sim::Boot {
      return [](Env& env) { return std::make_unique<RecorderProcess>(env); };
    });
    std::vector<NodeId> a, b;
    for (NodeId n = 0; n < 6; ++n) (side[n] ? a : b).push_back(n);
    t.world.network().partition(a, b);
    const TimePoint heal_at(20ms);
    t.world.at(heal_at, [&t] { t.world.network().heal_all(); });
    auto recorder = [&t](NodeId n) -> Recorder& {
      return static_cast<RecorderProcess*>(t.world.process(n))->recorder;
    };
    for (uint64_t i = 0; i < sends.size(); ++i) {
      const Send send = sends[i];
      t.world.at(TimePoint(std::chrono::microseconds(send.at_us)),
                 [&recorder, send, i] { recorder(send.from).send(send.to, i); });
      // The same message again after the heal: it must get through.
      t.world.at(heal_at + std::chrono::microseconds(send.at_us),
                 [&recorder, send, i, n = sends.size()] { recorder(send.from).send(send.to, n + i); });
    }
    t.world.run_until_idle();
    size_t after_heal = 0;
    for (NodeId n = 0; n < 6; ++n) {
      for (const Recorder::Delivery& d : recorder(n).deliveries) {
        if (d.sequence < sends.size()) {
          RC_ASSERT(side[d.from] == side[n]);  // before the heal only same-side messages arrive
        } else {
          ++after_heal;
        }
      }
    }
    RC_ASSERT(after_heal == sends.size());
  });
}

TEST_CASE("Property: a crashed node's coroutines never run while it is down") {
  rc::prop("no resume after crash", [](uint64_t seed) {
    const auto crash_at_us = *rc::gen::inRange<int>(1, 20000);
    const auto down_for_us = *rc::gen::inRange<int>(1, 20000);
    int ticks = 0;
    SimFixture t(1, seed, 500us, {}, [&](size_t) { return ticking_boot(&ticks); });
    t.world.run_until(TimePoint(std::chrono::microseconds(crash_at_us)));
    t.world.crash(t.node(0));
    const int at_crash = ticks;
    t.world.run_for(std::chrono::microseconds(down_for_us));
    RC_ASSERT(ticks == at_crash);
  });
}

}  // namespace
}  // namespace tandem
