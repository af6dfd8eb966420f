// Deferred: runs an action once after the current event, however often it was requested during that event —
// how batching code sends everything one turn produced in one message.
//
// Contract:
// - request() arranges for the action to run right after the event that asked (Clock::wake_after_event: in the
//   simulator that costs no event of its own), once; further requests before it runs are folded into that run.
//   A request made while the action runs schedules one more run after it.
// - The action runs in a root task of the Scope given to start(); cancelling that scope (or destroying it)
//   stops the Deferred: later requests do nothing. The Deferred must outlive that scope's tasks (declare it
//   before the Scope).
// - Single-threaded, like everything on one event loop.
#pragma once

#include <functional>
#include <utility>

#include "core/async/scope.h"
#include "core/async/task.h"
#include "core/async/wakeup.h"
#include "core/env/clock.h"

namespace tandem {

class Deferred {
 public:
  Deferred(Clock& clock, std::function<void()> action) : clock_(clock), action_(std::move(action)) {}
  Deferred(const Deferred&) = delete;
  Deferred& operator=(const Deferred&) = delete;

  // Starts the task that runs the action, in `scope`.
  void start(Scope& scope) { scope.spawn(loop()); }

  void request() {
    if (requested_) return;
    requested_ = true;
    if (!running_) clock_.wake_after_event(wakeup_);
  }

 private:
  struct Park {
    Deferred& self;
    bool await_ready() const noexcept { return false; }
    template <typename Promise>
    void await_suspend(std::coroutine_handle<Promise> handle) {
      self.wakeup_ = make_wakeup(handle);
      if (self.requested_) self.clock_.wake_after_event(self.wakeup_);  // asked for while running
    }
    void await_resume() const noexcept {}
  };

  Task<void> loop() {
    while (true) {
      co_await Park{*this};
      requested_ = false;
      running_ = true;
      action_();
      running_ = false;
    }
  }

  Clock& clock_;
  std::function<void()> action_;
  Wakeup wakeup_;
  bool requested_ = false;
  bool running_ = false;
};

}  // namespace tandem
