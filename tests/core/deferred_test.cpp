// Deferred on the simulated clock (Clock::wake_after_event), and the coroutine frame pool.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "core/async/deferred.h"
#include "core/async/frame_pool.h"
#include "core/async/scope.h"
#include "core/async/sleep.h"
#include "tests/support/sim_fixture.h"

namespace tandem {
namespace {

using testing::SimFixture;

// One node and a Deferred on its clock that counts its runs, started in `scope`.
struct CountedDeferred {
  SimFixture t{1};
  int runs = 0;
  Deferred flush{t.env(0).clock, [this] { ++runs; }};
  Scope scope;
  CountedDeferred() { flush.start(scope); }
};

// Appends `name` to `log` at `when`, through an ordinary timer.
Task<void> note_at(Clock& clock, TimePoint when, std::vector<std::string>& log, std::string name) {
  co_await sleep_until(clock, when);
  log.push_back(std::move(name));
}

TEST_CASE("Deferred: requests of one event fold into one run, right after it and before other events due then") {
  SimFixture t(1);
  Clock& clock = t.env(0).clock;
  std::vector<std::string> log;
  Deferred flush(clock, [&] { log.push_back("flush"); });
  Scope scope;
  flush.start(scope);
  // Both timers are due at 1ms; the first asks three times, the second was queued before the flush existed.
  t.spawn(0, [&](Env& env) -> Task<void> {
    return [](Clock& clock, Deferred& flush, std::vector<std::string>& log) -> Task<void> {
      co_await sleep_until(clock, TimePoint(1ms));
      log.push_back("asker");
      flush.request();
      flush.request();
      flush.request();
    }(env.clock, flush, log);
  });
  t.spawn(0, [&](Env& env) { return note_at(env.clock, TimePoint(1ms), log, "other"); });
  t.world.run_until_idle();
  CHECK(log == std::vector<std::string>{"asker", "flush", "other"});
  // The flush cost no event of its own: two timers, and nothing else.
  CHECK(t.world.stats().events == 2);
}

TEST_CASE("Deferred: a request made while the action runs gets one more run, and a yield still waits its turn") {
  SimFixture t(1);
  Clock& clock = t.env(0).clock;
  std::vector<std::string> log;
  int runs = 0;
  Deferred* self = nullptr;
  Deferred flush(clock, [&] {
    log.push_back("flush " + std::to_string(++runs));
    if (runs == 1) self->request();  // asked again while running
  });
  self = &flush;
  Scope scope;
  flush.start(scope);
  t.spawn(0, [&](Env& env) -> Task<void> {
    return [](Clock& clock, Deferred& flush, std::vector<std::string>& log) -> Task<void> {
      co_await sleep_until(clock, TimePoint(2ms));
      flush.request();
      co_await yield(clock);  // a generic yield: every event already due at 2ms runs first
      log.push_back("after yield");
    }(env.clock, flush, log);
  });
  t.spawn(0, [&](Env& env) { return note_at(env.clock, TimePoint(2ms), log, "other"); });
  t.world.run_until_idle();
  // The flush jumps ahead of "other" (due at the same time, queued after the asker); the yield does not.
  CHECK(log == std::vector<std::string>{"flush 1", "flush 2", "other", "after yield"});
}

TEST_CASE("Deferred: asked from outside the run loop, the action runs at the next step at that time") {
  CountedDeferred d;
  d.flush.request();
  CHECK(d.runs == 0);
  d.t.world.run_for(Duration(0));
  CHECK(d.runs == 1);
}

TEST_CASE("Deferred: a run asked for by an action that then pauses the node waits for resume()") {
  CountedDeferred d;
  d.t.world.at(TimePoint(1ms), [&] {
    d.flush.request();
    d.t.world.pause(d.t.node(0));
  });
  d.t.world.run_for(5ms);
  CHECK(d.runs == 0);
  d.t.world.resume(d.t.node(0));
  d.t.world.run_for(Duration(0));
  CHECK(d.runs == 1);
}

TEST_CASE("Deferred: cancelling its scope stops it, and later requests do nothing") {
  CountedDeferred d;
  d.t.world.at(TimePoint(1ms), [&] { d.flush.request(); });
  d.t.world.run_for(2ms);
  CHECK(d.runs == 1);
  d.scope.cancel_all();
  d.t.world.at(TimePoint(3ms), [&] { d.flush.request(); });
  d.t.world.run_for(2ms);
  CHECK(d.runs == 1);
}

#if !defined(__SANITIZE_ADDRESS__)
TEST_CASE("Frame pool: a released frame is reused for any size of its 64-byte class, and large frames bypass it") {
  void* frame = detail::allocate_frame(100);
  detail::release_frame(frame, 100);
  void* again = detail::allocate_frame(128);  // same class (65..128 bytes)
  CHECK(again == frame);
  void* other = detail::allocate_frame(129);  // the next class: a different block
  CHECK(other != frame);
  detail::release_frame(again, 128);
  detail::release_frame(other, 129);
  void* large = detail::allocate_frame(detail::kMaxPooledFrameBytes + 1);
  detail::release_frame(large, detail::kMaxPooledFrameBytes + 1);
  // Last released, first reused, per class.
  CHECK(detail::allocate_frame(70) == frame);
  detail::release_frame(frame, 70);
}
#endif

TEST_CASE("Frame pool: many live tasks of several frame sizes run to completion and release their frames") {
  SimFixture t(1);
  int finished = 0;
  for (int i = 0; i < 2000; ++i) {
    t.spawn(0, [&, i](Env& env) -> Task<void> {
      if (i % 2 == 0) {
        return [](Clock& clock, int& finished, int i) -> Task<void> {
          co_await sleep(clock, Duration(std::chrono::microseconds(i % 7)));
          ++finished;
        }(env.clock, finished, i);
      }
      return [](Clock& clock, int& finished, int i) -> Task<void> {
        char big[600] = {};  // a frame in a larger class
        big[i % 600] = 1;
        co_await sleep(clock, Duration(std::chrono::microseconds(i % 5)));
        finished += big[i % 600];
      }(env.clock, finished, i);
    });
  }
  t.world.run_until_idle();
  CHECK(finished == 2000);
}

}  // namespace
}  // namespace tandem
