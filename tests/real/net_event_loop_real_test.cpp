// EventLoop and RealClock: timer order, post order across threads, run_until's timeout, stop(), coroutines.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>
#include <vector>

#include "core/async/scope.h"
#include "core/async/sleep.h"
#include "real_backend/net/event_loop.h"

namespace tandem::real {
namespace {

TEST_CASE("EventLoop: timers fire in time order and same-instant timers in scheduling order") {
  EventLoop loop;
  std::vector<int> fired;
  std::vector<bool> on_time;
  const TimePoint start = loop.now();
  auto at = [&](Duration offset, int tag) {
    loop.run_at(start + offset, [&, offset, tag] {
      fired.push_back(tag);
      on_time.push_back(loop.now() >= start + offset);
    });
  };
  at(3ms, 4);
  at(1ms, 1);
  at(2ms, 3);
  at(1ms, 2);  // same instant as tag 1, scheduled later: fires after it
  at(0ms, 0);
  REQUIRE(loop.run_until([&] { return fired.size() == 5; }, 5s));
  CHECK(fired == std::vector<int>{0, 1, 2, 3, 4});
  CHECK(on_time == std::vector<bool>(5, true));
}

TEST_CASE("EventLoop: posts from other threads run on the loop thread in post order") {
  EventLoop loop;
  constexpr int kPosts = 2000;
  std::vector<int> seen;
  std::atomic<int> off_loop{0};
  const std::thread::id loop_thread = std::this_thread::get_id();
  std::thread poster([&] {
    for (int i = 0; i < kPosts; ++i) {
      loop.post([&, i] {
        if (std::this_thread::get_id() != loop_thread) ++off_loop;
        seen.push_back(i);
      });
    }
  });
  const bool all = loop.run_until([&] { return seen.size() == kPosts; }, 10s);
  poster.join();
  REQUIRE(all);
  CHECK(off_loop.load() == 0);
  bool in_order = true;
  for (int i = 0; i < kPosts; ++i) in_order = in_order && seen[static_cast<size_t>(i)] == i;
  CHECK(in_order);
}

TEST_CASE("EventLoop: run_until gives up at its timeout and returns false") {
  EventLoop loop;
  const TimePoint start = loop.now();
  CHECK_FALSE(loop.run_until([] { return false; }, 20ms));
  CHECK(loop.now() - start >= 20ms);
  bool flag = false;
  loop.run_at(loop.now() + 5ms, [&] { flag = true; });
  CHECK(loop.run_until([&] { return flag; }, 5s));
}

TEST_CASE("EventLoop: stop from another thread ends run") {
  EventLoop loop;
  std::atomic<bool> ran{false};
  loop.post([&] { ran = true; });
  std::thread stopper([&] {
    while (!ran.load()) std::this_thread::yield();
    loop.stop();
  });
  loop.run();  // returns only because of stop()
  stopper.join();
  CHECK(ran.load());
}

Task<void> sleeper(Clock& clock, Duration how_long, TimePoint* woke) {
  co_await sleep(clock, how_long);
  *woke = clock.now();
}

TEST_CASE("EventLoop: a coroutine sleeping on the real clock resumes after its delay") {
  EventLoop loop;
  TimePoint woke{};
  Scope scope;
  const TimePoint start = loop.now();
  scope.spawn(sleeper(loop.clock(), 5ms, &woke));
  REQUIRE(loop.run_until([&] { return woke != TimePoint{}; }, 5s));
  CHECK(woke - start >= 5ms);
}

TEST_CASE("EventLoop: stale wakeups of cancelled sleepers are skipped and shed") {
  EventLoop loop;
  TimePoint woke{};
  {
    Scope doomed;
    for (int i = 0; i < 5000; ++i) doomed.spawn(sleeper(loop.clock(), 1h, &woke));
  }  // cancelled: 5000 stale timers
  Scope scope;
  for (int i = 0; i < 5000; ++i) scope.spawn(sleeper(loop.clock(), 1h, &woke));
  CHECK(loop.pending_timers() < 10000);  // the stale ones were shed when the heap grew
  CHECK(woke == TimePoint{});
}

}  // namespace
}  // namespace tandem::real
