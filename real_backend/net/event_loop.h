// EventLoop: the one thread of a real process that runs core/ code — coroutines, timers, message delivery.
//
// Contract:
// - Exactly one thread runs the loop at a time (run(), run_until() or run_for()); everything that touches core
//   state (Env, actors, RPC endpoints, bound Receivers) runs on that thread. Other threads (gRPC's) hand work
//   over with post(), the only thread-safe entry point besides stop().
// - now() is steady_clock nanoseconds since this loop was constructed (monotonic, never goes back); run_at()
//   queues a timer that fires on the loop thread at the first pass where now() >= when; timers due at the same
//   instant fire in the order they were scheduled. Stale Wakeups are skipped (and shed from the heap when they
//   pile up, as the sim does).
// - clock() is the RealClock core code sees (the Env's): it reads now() + clock_skew() and its wake_at(when)
//   fires once the clock reads `when`, i.e. at loop time when - skew — the sim's node clock (sim/node.h)
//   exactly. A timer keeps the loop time it was given when it was set: changing the skew moves neither pending
//   timers nor sleeps already running (a sleep_for(d) taken before or after still lasts d), only what now()
//   reads and where later deadlines land. The skew is a clock_skew fault (set_clock_skew, thread-safe: the
//   Admin service sets it); while it is set, clock().now() may jump back (as in sim). The loop itself (run_at,
//   the transport's own timers) always uses the unskewed now().
// - post(fn) runs fn on the loop thread, after everything posted before it (FIFO across all posting threads).
// - One pass of the loop = fire the due timers, then run the posted functions; run_until() checks done()
//   after every pass. stop() makes the running (or next) run*() return after its current pass.
// - stop() is async-signal-safe (an atomic store and one write(2) to an eventfd), so a signal handler may call
//   it. Neither clock().wake_at() nor run_at() is thread-safe: call them on the loop thread (or before the loop
//   runs, from the thread that will run it).
// - Destroying the loop drops queued timers and posted functions without running them.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "core/env/clock.h"

namespace tandem::real {

class EventLoop;

// The loop's Clock: real monotonic time, timers on the loop.
class RealClock final : public Clock {
 public:
  explicit RealClock(EventLoop& loop) : loop_(loop) {}
  TimePoint now() const override;
  void wake_at(TimePoint when, Wakeup wakeup) override;

 private:
  friend class EventLoop;
  EventLoop& loop_;
  std::atomic<int64_t> skew_ns_{0};  // any thread writes (the Admin service), the loop thread reads
};

class EventLoop {
 public:
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  Clock& clock() { return clock_; }
  TimePoint now() const;

  // What clock() reads on top of now() (a clock_skew fault; may be negative; zero heals). Thread-safe.
  void set_clock_skew(Duration skew) { clock_.skew_ns_.store(to_ns(skew), std::memory_order_relaxed); }
  Duration clock_skew() const { return Duration(clock_.skew_ns_.load(std::memory_order_relaxed)); }

  // Runs `fn` on the loop thread after everything posted before it. Thread-safe.
  void post(std::function<void()> fn);

  // Runs `fn` on the loop thread once now() >= when. Loop thread only.
  void run_at(TimePoint when, std::function<void()> fn);

  // Runs until stop().
  void run();

  // Makes the running loop return after its current pass. Thread-safe and async-signal-safe.
  void stop();

  // Runs until done() (checked after each pass) or until `timeout` has passed; returns done().
  bool run_until(const std::function<bool()>& done, Duration timeout);

  // Runs for `duration`, then returns.
  void run_for(Duration duration);

  // Whether the calling thread is the one running the loop now.
  bool in_loop_thread() const { return running_thread_.load() == std::this_thread::get_id(); }

  // Timers queued, including stale wakeups not yet shed: for tests.
  size_t pending_timers() const { return timers_.size(); }

 private:
  friend class RealClock;

  struct Timer {
    int64_t when_ns;
    uint64_t sequence;           // same-instant timers fire in scheduling order
    Wakeup wakeup;               // either a coroutine wakeup...
    std::function<void()> fn;    // ...or a function (when set)
  };
  struct Later {
    bool operator()(const Timer& a, const Timer& b) const {
      return a.when_ns != b.when_ns ? a.when_ns > b.when_ns : a.sequence > b.sequence;
    }
  };

  void push_timer(Timer timer);
  void shed_stale_wakeups();
  // One pass: due timers, then posted functions. Returns whether it did anything.
  bool run_once();
  // Sleeps until a post, a stop(), the next timer or `deadline_ns`, whichever is first.
  void wait(int64_t deadline_ns);
  // Runs passes until stop() or `keep_going` says no; the shared body of run/run_until/run_for.
  void run_loop(const std::function<bool()>& done, int64_t deadline_ns);

  const std::chrono::steady_clock::time_point epoch_;
  RealClock clock_;
  int wake_fd_ = -1;  // eventfd: posts and stop() write to it; the loop polls it

  std::vector<Timer> timers_;  // a heap ordered by Later (a vector so stale wakeups can be shed)
  uint64_t next_timer_sequence_ = 0;
  size_t live_timers_at_last_shed_ = 0;

  std::mutex posted_mutex_;
  std::vector<std::function<void()>> posted_;  // guarded by posted_mutex_
  bool wake_pending_ = false;                   // guarded by posted_mutex_: an eventfd write is outstanding

  std::atomic<bool> stop_requested_{false};
  std::atomic<std::thread::id> running_thread_{};
};

}  // namespace tandem::real
