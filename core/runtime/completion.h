// Completion<T> and WaitList: how one runtime task hands a result, or a "something changed", to tasks waiting
// for it, with a deadline on the waiting side.
//
// Contract:
// - Completion<T> is a one-shot slot shared (by copy) between producers and one waiting task. complete() stores
//   the first value and wakes the waiter through the clock — never inline, so the producer keeps running
//   undisturbed; later complete() calls are ignored. wait() returns the value; wait_until(deadline) returns it,
//   or std::nullopt if the deadline comes first. Either side may disappear first: the shared state outlives
//   both, and a cancelled waiter leaves only a stale Wakeup behind (core/async/wakeup.h).
// - WaitList is a broadcast: wait_until(deadline) suspends until the next notify_all() (true) or the deadline
//   (false). Waiters are woken through the clock in the order they started waiting. The list may be destroyed
//   while tasks wait on it: they then wake at their deadline, reporting false. Entries of waiters that already
//   left (deadline or cancellation) are pruned as the list grows, so a list that is never notified stays small.
// Both are single-threaded, like everything on one event loop.
#pragma once

#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "core/async/task.h"
#include "core/async/wakeup.h"
#include "core/common/check.h"
#include "core/env/clock.h"

namespace tandem::runtime {

template <typename T>
class Completion {
  struct State {
    Clock* clock;
    std::optional<T> value;
    Wakeup waiter;
  };

 public:
  explicit Completion(Clock& clock) : state_(std::make_shared<State>(State{&clock, std::nullopt, {}})) {}

  bool done() const { return state_->value.has_value(); }

  // Stores `value` if nothing was stored yet and wakes the waiter; false when already completed.
  bool complete(T value) {
    if (state_->value.has_value()) return false;
    state_->value.emplace(std::move(value));
    if (state_->waiter.valid()) state_->clock->wake_at(state_->clock->now(), state_->waiter);
    return true;
  }

  struct Awaiter {
    std::shared_ptr<State> state;
    std::optional<TimePoint> deadline;

    bool await_ready() const noexcept { return state->value.has_value(); }
    template <typename Promise>
    void await_suspend(std::coroutine_handle<Promise> handle) {
      TANDEM_CHECK(!state->waiter.valid(), "a Completion has one waiter at a time");
      state->waiter = make_wakeup(handle);
      if (deadline) state->clock->wake_at(*deadline, state->waiter);
    }
    std::optional<T> await_resume() {
      if (!state->value.has_value()) return std::nullopt;
      return std::move(*state->value);
    }
  };

  // The value once completed (the value is moved out: wait once).
  auto wait() {
    struct Plain : Awaiter {
      T await_resume() {
        TANDEM_CHECK(this->state->value.has_value(), "a Completion woke without a value");
        return std::move(*this->state->value);
      }
    };
    return Plain{{state_, std::nullopt}};
  }
  // The value, or std::nullopt at the deadline.
  Awaiter wait_until(TimePoint deadline) { return Awaiter{state_, deadline}; }

 private:
  std::shared_ptr<State> state_;
};

class WaitList {
  struct State {
    Clock* clock;
    uint64_t generation = 0;
    std::vector<Wakeup> waiters;
    size_t prune_at = 16;
  };

 public:
  explicit WaitList(Clock& clock) : state_(std::make_shared<State>(State{&clock, 0, {}, 16})) {}
  WaitList(const WaitList&) = delete;
  WaitList& operator=(const WaitList&) = delete;
  WaitList(WaitList&&) = default;
  WaitList& operator=(WaitList&&) = default;
  ~WaitList() {
    if (state_) ++state_->generation;  // waiters see a change at their deadline; nobody notifies them now
  }

  // Wakes every current waiter (they report true).
  void notify_all() {
    ++state_->generation;
    for (const Wakeup& waiter : state_->waiters) {
      if (waiter.valid()) state_->clock->wake_at(state_->clock->now(), waiter);
    }
    state_->waiters.clear();
    state_->prune_at = 16;
  }

  size_t waiting() const {
    size_t count = 0;
    for (const Wakeup& waiter : state_->waiters) count += waiter.valid() ? 1 : 0;
    return count;
  }

  struct Awaiter {
    std::shared_ptr<State> state;
    TimePoint deadline;
    uint64_t generation = 0;

    bool await_ready() const noexcept { return false; }
    template <typename Promise>
    void await_suspend(std::coroutine_handle<Promise> handle) {
      generation = state->generation;
      const Wakeup waiter = make_wakeup(handle);
      if (state->waiters.size() >= state->prune_at) {
        std::erase_if(state->waiters, [](const Wakeup& w) { return !w.valid(); });
        state->prune_at = 2 * state->waiters.size() + 16;
      }
      state->waiters.push_back(waiter);
      state->clock->wake_at(deadline, waiter);
    }
    bool await_resume() const noexcept { return state->generation != generation; }
  };

  // True when notified, false when the deadline came first.
  Awaiter wait_until(TimePoint deadline) { return Awaiter{state_, deadline}; }

 private:
  std::shared_ptr<State> state_;
};

}  // namespace tandem::runtime
