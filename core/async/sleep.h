// sleep, yield and Event: waiting on time and on other tasks.
//
// Contract: `co_await sleep(clock, d)` resumes once `clock` has advanced by at least d (d <= 0 still yields to
// everything already due). `co_await yield(clock)` lets every other ready event run first. An Event is a latch:
// wait() returns at once when it is set, else suspends until set(); set() wakes every waiter through the clock —
// never inline — so the task that sets it keeps running undisturbed and waiters run after it, in the order they
// started waiting. Cancelling a waiting task simply leaves a stale Wakeup behind.
#pragma once

#include <vector>

#include "core/async/task.h"
#include "core/env/clock.h"

namespace tandem {

struct SleepAwaiter {
  Clock& clock;
  TimePoint until;

  bool await_ready() const noexcept { return false; }
  template <typename Promise>
  void await_suspend(std::coroutine_handle<Promise> handle) {
    clock.wake_at(until, make_wakeup(handle));
  }
  void await_resume() const noexcept {}
};

inline SleepAwaiter sleep(Clock& clock, Duration duration) { return {clock, clock.now() + duration}; }
inline SleepAwaiter sleep_until(Clock& clock, TimePoint when) { return {clock, when}; }
inline SleepAwaiter yield(Clock& clock) { return {clock, clock.now()}; }

class Event {
 public:
  explicit Event(Clock& clock) : clock_(clock) {}

  bool is_set() const { return set_; }

  void set() {
    if (set_) return;
    set_ = true;
    for (const Wakeup& waiter : waiters_) clock_.wake_at(clock_.now(), waiter);
    waiters_.clear();
  }

  // Back to unset; tasks already woken still resume.
  void reset() { set_ = false; }

  struct WaitAwaiter {
    Event& event;
    bool await_ready() const noexcept { return event.set_; }
    template <typename Promise>
    void await_suspend(std::coroutine_handle<Promise> handle) {
      event.waiters_.push_back(make_wakeup(handle));
    }
    void await_resume() const noexcept {}
  };
  WaitAwaiter wait() { return WaitAwaiter{*this}; }

 private:
  Clock& clock_;
  bool set_ = false;
  std::vector<Wakeup> waiters_;
};

}  // namespace tandem
