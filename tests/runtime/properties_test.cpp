// Properties of the runtime on the simulated world, under random workloads and random node crashes.
#include <catch2/catch.hpp>
#include <rapidcheck.h>
#include <rapidcheck/catch.h>

#include <map>
#include <memory>
#include <set>
#include <vector>

#include "tests/runtime/runtime_fixture.h"

namespace tandem::runtime {
namespace {

using testing::CallRecord;
using testing::RuntimeFixture;
using testing::RuntimeFixtureOptions;

// Installs a sink for Recorder calls for one scope.
struct RecordingScope {
  RecordingScope() { testing::record_sink() = &records; }
  ~RecordingScope() { testing::record_sink() = nullptr; }
  std::vector<CallRecord> records;
};

// A random schedule of worker crashes and restarts within `span`, then everything restarted at `span`.
struct Chaos {
  struct Event {
    int64_t at_ms;
    size_t worker;
    bool crash;
  };
  std::vector<Event> events;
  int64_t span_ms = 0;

  static rc::Gen<Chaos> generate(size_t workers, int64_t span_ms) {
    return rc::gen::map(
        rc::gen::container<std::vector<std::tuple<int64_t, size_t, bool>>>(rc::gen::tuple(
            rc::gen::inRange<int64_t>(0, span_ms), rc::gen::inRange<size_t>(0, workers), rc::gen::arbitrary<bool>())),
        [span_ms](const std::vector<std::tuple<int64_t, size_t, bool>>& raw) {
          Chaos chaos;
          chaos.span_ms = span_ms;
          for (const auto& [at, worker, crash] : raw) chaos.events.push_back(Event{at, worker, crash});
          return chaos;
        });
  }

  void schedule(RuntimeFixture& t) const {
    const TimePoint start = t.world.now();
    for (const Event& event : events) {
      t.world.at(start + std::chrono::milliseconds(event.at_ms), [&t, event] {
        const NodeId node = t.worker(event.worker);
        if (event.crash) {
          t.crash(node);
        } else {
          t.restart(node);
        }
      });
    }
    t.world.at(start + std::chrono::milliseconds(span_ms), [&t] {
      for (size_t w = 0; w < t.worker_count(); ++w) t.restart(t.worker(w));
    });
  }
};

RuntimeFixtureOptions small_cluster(uint64_t seed, size_t workers = 3) {
  RuntimeFixtureOptions options;
  options.seed = seed;
  options.workers = workers;
  return options;
}

bool all_done(const std::vector<std::shared_ptr<std::optional<Result<uint64_t>>>>& calls) {
  for (const auto& call : calls) {
    if (!call->has_value()) return false;
  }
  return true;
}

TEST_CASE("Property: calls from one caller run in order, each exactly once, with several callers at once") {
  rc::prop("in order per caller", [](uint64_t seed) {
    const auto plan = *rc::gen::container<std::vector<std::tuple<uint8_t, uint16_t, uint16_t>>>(
        rc::gen::tuple(rc::gen::inRange<uint8_t>(0, 3), rc::gen::inRange<uint16_t>(0, 2000),
                       rc::gen::inRange<uint16_t>(0, 300)));
    RecordingScope recording;
    RuntimeFixture t(small_cluster(seed));
    ActorHandle recorder = t.ok(t.await([](RuntimeClient& c) { return c.create_actor("Recorder", ActorOptions{}); }));
    // Callers: the head's client and two workers' clients. Each call is made at a random time, so calls from one
    // caller overlap in flight.
    const NodeId callers[] = {t.head(), t.worker(0), t.worker(1)};
    std::map<uint64_t, uint64_t> next_sequence;
    std::vector<std::shared_ptr<std::optional<Result<uint64_t>>>> calls;
    const TimePoint start = t.world.now();
    for (const auto& [caller, at_us, work_us] : plan) {
      t.world.at(start + std::chrono::microseconds(at_us),
                 [&t, &next_sequence, &callers, &calls, recorder, caller = caller, work_us = work_us] {
                   const uint64_t sequence = next_sequence[caller]++;
                   ActorHandle handle = t.client(callers[caller]).handle(recorder.id());
                   calls.push_back(t.start(
                       handle.call<uint64_t>("record", uint64_t{caller}, sequence, int64_t{work_us}), callers[caller]));
                 });
    }
    RC_ASSERT(t.run_until([&] { return calls.size() == plan.size() && all_done(calls); }, std::chrono::seconds(30)));
    for (const auto& call : calls) RC_ASSERT((*call)->ok());
    std::map<uint64_t, uint64_t> expected;
    for (const CallRecord& record : recording.records) {
      RC_ASSERT(record.sequence == expected[record.caller]);  // in order, none skipped, none twice
      ++expected[record.caller];
    }
    RC_ASSERT(recording.records.size() == plan.size());
  });
}

TEST_CASE("Property: across node crashes and restarts, every life of an actor runs a caller's calls in order") {
  rc::prop("in order per life", [](uint64_t seed) {
    const auto chaos = *Chaos::generate(3, 3000);
    const auto call_count = *rc::gen::inRange<size_t>(1, 40);
    RecordingScope recording;
    RuntimeFixture t(small_cluster(seed));
    ActorOptions options;
    options.resources = ResourceSet{{"CPU", 1}};
    options.max_restarts = kUnlimited;
    options.max_task_retries = kUnlimited;
    ActorHandle recorder = t.ok(t.await([&](RuntimeClient& c) { return c.create_actor("Recorder", options); }));
    chaos.schedule(t);
    std::vector<std::shared_ptr<std::optional<Result<uint64_t>>>> calls;
    for (uint64_t i = 0; i < call_count; ++i) {
      calls.push_back(t.start(recorder.call_with<uint64_t>(CallOptions{std::chrono::seconds(20)}, "record",
                                                           uint64_t{0}, i, int64_t{100'000})));
    }
    RC_ASSERT(t.run_until([&] { return all_done(calls); }, std::chrono::seconds(40)));
    for (const auto& call : calls) {
      const Errc code = (*call)->code();
      RC_ASSERT((code == Errc::kOk || code == Errc::kPeerDied || code == Errc::kUnavailable || code == Errc::kTimeout));
    }
    std::map<uint64_t, int64_t> last_in_life;  // incarnation -> last sequence seen
    for (const CallRecord& record : recording.records) {
      auto it = last_in_life.find(record.incarnation);
      if (it != last_in_life.end()) RC_ASSERT(static_cast<int64_t>(record.sequence) > it->second);
      last_in_life[record.incarnation] = static_cast<int64_t>(record.sequence);
    }
  });
}

// Chaos with a few actors and tasks; `check` runs after every event of the world.
void run_chaos(uint64_t seed, const Chaos& chaos, const std::function<void(RuntimeFixture&)>& check) {
  RuntimeFixture t(small_cluster(seed, 4));
  std::vector<ActorId> actors;
  for (int i = 0; i < 4; ++i) {
    ActorOptions options;
    options.resources = ResourceSet{{"CPU", 1.0 + i % 2}};
    options.max_restarts = i;
    actors.push_back(t.ok(t.await([&](RuntimeClient& c) { return c.create_actor("Counter", options, int64_t{0}); })).id());
  }
  std::vector<std::shared_ptr<std::optional<Result<int64_t>>>> tasks;
  for (int64_t i = 0; i < 12; ++i) {
    TaskOptions options;
    options.resources = ResourceSet{{"CPU", 1.0 + i % 3}};
    options.timeout = std::chrono::seconds(20);
    tasks.push_back(t.start(t.client().submit<int64_t>("slow_square", options, i, int64_t{200 + 50 * i})));
  }
  chaos.schedule(t);
  const TimePoint end = t.world.now() + std::chrono::milliseconds(chaos.span_ms) + std::chrono::seconds(2);
  while (t.world.now() < end && t.world.step()) check(t);
}

TEST_CASE("Property: an actor is never ALIVE on two nodes at once") {
  rc::prop("single life", [](uint64_t seed) {
    const auto chaos = *Chaos::generate(4, 3000);
    run_chaos(seed, chaos, [](RuntimeFixture& t) {
      std::map<ActorId, int> hosts;
      for (size_t w = 0; w < t.worker_count(); ++w) {
        if (!t.up(t.worker(w))) continue;
        for (const NodeDaemon::HostedActor& actor : t.daemon(t.worker(w)).hosted_actors()) {
          if (actor.ready) ++hosts[actor.id];
        }
      }
      for (const auto& [id, count] : hosts) RC_ASSERT(count <= 1);
      if (!t.up(t.head())) return;
      for (const ActorInfo& info : t.control_store().actors()) {
        if (info.state == ActorState::kAlive) RC_ASSERT(info.node != kNoNode);
      }
    });
  });
}

TEST_CASE("Property: resources on a node never go negative or above its capacity") {
  rc::prop("within capacity", [](uint64_t seed) {
    const auto chaos = *Chaos::generate(4, 3000);
    run_chaos(seed, chaos, [](RuntimeFixture& t) {
      for (size_t w = 0; w < t.worker_count(); ++w) {
        if (!t.up(t.worker(w))) continue;
        const NodeDaemon& daemon = t.daemon(t.worker(w));
        RC_ASSERT(daemon.in_use().fits_in(daemon.capacity()));
        for (const auto& [name, units] : daemon.in_use().all_units()) RC_ASSERT(units > 0);
      }
      if (!t.up(t.head())) return;
      for (const NodeInfo& node : t.control_store().nodes()) RC_ASSERT(node.available.fits_in(node.total));
    });
  });
}

TEST_CASE("Property: with max_restarts = k an actor restarts at most k times, then dies") {
  rc::prop("bounded restarts", [](uint64_t seed) {
    const int32_t k = *rc::gen::inRange<int32_t>(0, 4);
    const auto pause_ms = *rc::gen::inRange<int64_t>(0, 800);
    RuntimeFixture t(small_cluster(seed, 3));
    ActorOptions options;
    options.resources = ResourceSet{{"CPU", 1}};
    options.max_restarts = k;
    const ActorId id =
        t.ok(t.await([&](RuntimeClient& c) { return c.create_actor("Counter", options, int64_t{0}); })).id();
    // Kill the node under the actor every time it is ALIVE, k + 2 times; bring nodes back after a while.
    for (int32_t round = 0; round < k + 2; ++round) {
      const bool settled = t.run_until(
          [&] {
            const ActorInfo info = *t.actor(id);
            return info.state == ActorState::kDead || (info.state == ActorState::kAlive && t.up(info.node));
          },
          std::chrono::seconds(10));
      if (!settled) break;
      if (t.actor(id)->state == ActorState::kDead) break;
      const NodeId node = t.actor(id)->node;
      t.run_for(std::chrono::milliseconds(pause_ms));
      if (t.actor(id)->node != node) continue;
      t.crash(node);
      RC_ASSERT(t.actor(id)->restarts_used <= k);
      t.world.after(std::chrono::seconds(1), [&t, node] { t.restart(node); });
    }
    RC_ASSERT(t.run_until([&] { return t.actor(id)->state == ActorState::kDead; }, std::chrono::seconds(10)));
    RC_ASSERT(t.actor(id)->restarts_used == k);
  });
}

TEST_CASE("Property: every submitted task ends in a result or a typed error under random node crashes") {
  rc::prop("no task hangs", [](uint64_t seed) {
    const auto chaos = *Chaos::generate(3, 4000);
    const auto durations = *rc::gen::container<std::vector<uint16_t>>(rc::gen::inRange<uint16_t>(0, 1500));
    RuntimeFixture t(small_cluster(seed, 3));
    chaos.schedule(t);
    std::vector<std::shared_ptr<std::optional<Result<int64_t>>>> tasks;
    for (size_t i = 0; i < durations.size(); ++i) {
      TaskOptions options;
      options.max_retries = static_cast<int32_t>(i % 3);
      options.timeout = std::chrono::seconds(15);
      tasks.push_back(t.start(
          t.client().submit<int64_t>("slow_square", options, static_cast<int64_t>(i), int64_t{durations[i]})));
    }
    RC_ASSERT(t.run_until(
        [&] {
          for (const auto& task : tasks) {
            if (!task->has_value()) return false;
          }
          return true;
        },
        std::chrono::seconds(20)));
    size_t failed = 0;
    for (const auto& task : tasks) failed += (*task)->ok() ? 0 : 1;
    RC_CLASSIFY(failed > 0, "some tasks failed with a typed error");
    RC_CLASSIFY(t.metrics.counter_sum("runtime_client_task_retries_total") > 0, "some tasks ran again after a node loss");
    for (size_t i = 0; i < tasks.size(); ++i) {
      const Result<int64_t>& result = **tasks[i];
      if (result.ok()) {
        RC_ASSERT(result.value() == static_cast<int64_t>(i * i));
      } else {
        const Errc code = result.error().code;
        RC_ASSERT((code == Errc::kPeerDied || code == Errc::kTimeout || code == Errc::kUnavailable));
      }
    }
  });
}

uint64_t chaos_trace_hash(uint64_t seed) {
  Chaos chaos;
  chaos.span_ms = 3000;
  chaos.events = {{200, 0, true}, {900, 0, false}, {1200, 2, true}, {2500, 2, false}};
  uint64_t hash = 0;
  RuntimeFixture* fixture = nullptr;
  run_chaos(seed, chaos, [&](RuntimeFixture& t) {
    fixture = &t;
    hash = t.world.trace_hash();
  });
  (void)fixture;
  return hash;
}

TEST_CASE("Determinism: the same seed twice gives the same runtime trace hash, another seed another") {
  const uint64_t first = chaos_trace_hash(7);
  const uint64_t second = chaos_trace_hash(7);
  const uint64_t other = chaos_trace_hash(8);
  CHECK(first == second);
  CHECK(first != other);
}

}  // namespace
}  // namespace tandem::runtime
