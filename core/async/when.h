// when_all, when_any, with_timeout: waiting on several tasks at once.
//
// Contract:
// - Each child runs as a root task of a Scope owned by the combinator's own frame, so cancelling the caller
//   cancels the children, and children never outlive the call.
// - when_all waits for every child and returns their values in input order; if children threw, it rethrows
//   the first exception (in input order) after all have finished.
// - when_any returns the index and value of the first child to finish and cancels the rest before returning.
//   An empty input is a bug.
// - with_timeout returns the task's value, or std::nullopt if `timeout` elapses first (the task is cancelled).
// The parent is resumed directly from a child's completion hook, after the child's frame is gone.
#pragma once

#include <cstddef>
#include <exception>
#include <optional>
#include <utility>
#include <vector>

#include "core/async/scope.h"
#include "core/async/sleep.h"
#include "core/async/task.h"

namespace tandem {

namespace detail {

struct JoinState {
  size_t remaining = 0;
  size_t first_done = SIZE_MAX;
  Wakeup waiter;
  bool any = false;  // when_any: wake on the first completion

  static void child_done(void* context) {
    auto* state = static_cast<JoinState*>(context);
    --state->remaining;
    if (state->remaining == 0 || state->any) state->waiter.fire();
  }

  struct WaitAwaiter {
    JoinState& state;
    bool any_mode;
    bool await_ready() const noexcept { return state.remaining == 0 || (any_mode && state.first_done != SIZE_MAX); }
    template <typename Promise>
    void await_suspend(std::coroutine_handle<Promise> handle) {
      state.waiter = make_wakeup(handle);
    }
    void await_resume() const noexcept {}
  };
  WaitAwaiter wait(bool any_mode) { return WaitAwaiter{*this, any_mode}; }
};

template <typename T>
Task<void> run_into(Task<T> task, std::optional<T>* slot, std::exception_ptr* error, JoinState* state,
                    size_t index) {
  try {
    slot->emplace(co_await std::move(task));
  } catch (...) {
    *error = std::current_exception();
  }
  if (state->first_done == SIZE_MAX) state->first_done = index;
}

inline Task<void> run_void(Task<void> task, std::exception_ptr* error, JoinState* state, size_t index) {
  try {
    co_await std::move(task);
  } catch (...) {
    *error = std::current_exception();
  }
  if (state->first_done == SIZE_MAX) state->first_done = index;
}

}  // namespace detail

template <typename T>
Task<std::vector<T>> when_all(std::vector<Task<T>> tasks) {
  const size_t count = tasks.size();
  std::vector<std::optional<T>> slots(count);
  std::vector<std::exception_ptr> errors(count);
  detail::JoinState state;
  state.remaining = count;
  Scope children;
  for (size_t i = 0; i < count; ++i) {
    children.spawn(detail::run_into(std::move(tasks[i]), &slots[i], &errors[i], &state, i),
                   &detail::JoinState::child_done, &state);
  }
  co_await state.wait(false);
  for (const std::exception_ptr& error : errors) {
    if (error) std::rethrow_exception(error);
  }
  std::vector<T> values;
  values.reserve(count);
  for (std::optional<T>& slot : slots) values.push_back(std::move(*slot));
  co_return values;
}

inline Task<void> when_all(std::vector<Task<void>> tasks) {
  const size_t count = tasks.size();
  std::vector<std::exception_ptr> errors(count);
  detail::JoinState state;
  state.remaining = count;
  Scope children;
  for (size_t i = 0; i < count; ++i) {
    children.spawn(detail::run_void(std::move(tasks[i]), &errors[i], &state, i), &detail::JoinState::child_done,
                   &state);
  }
  co_await state.wait(false);
  for (const std::exception_ptr& error : errors) {
    if (error) std::rethrow_exception(error);
  }
}

template <typename T>
struct AnyResult {
  size_t index;
  T value;
};

template <typename T>
Task<AnyResult<T>> when_any(std::vector<Task<T>> tasks) {
  const size_t count = tasks.size();
  TANDEM_CHECK(count > 0, "when_any of no tasks would never finish");
  std::vector<std::optional<T>> slots(count);
  std::vector<std::exception_ptr> errors(count);
  detail::JoinState state;
  state.remaining = count;
  state.any = true;
  Scope children;
  for (size_t i = 0; i < count && state.first_done == SIZE_MAX; ++i) {
    children.spawn(detail::run_into(std::move(tasks[i]), &slots[i], &errors[i], &state, i),
                   &detail::JoinState::child_done, &state);
  }
  co_await state.wait(true);
  children.cancel_all();
  const size_t winner = state.first_done;
  if (errors[winner]) std::rethrow_exception(errors[winner]);
  co_return AnyResult<T>{winner, std::move(*slots[winner])};
}

namespace detail {
inline Task<bool> sleep_then_false(Clock& clock, Duration duration) {
  co_await sleep(clock, duration);
  co_return false;
}
template <typename T>
Task<bool> run_then_true(Task<T> task, std::optional<T>* slot) {
  slot->emplace(co_await std::move(task));
  co_return true;
}
}  // namespace detail

template <typename T>
Task<std::optional<T>> with_timeout(Clock& clock, Duration timeout, Task<T> task) {
  std::optional<T> slot;
  std::vector<Task<bool>> racers;
  racers.push_back(detail::run_then_true(std::move(task), &slot));
  racers.push_back(detail::sleep_then_false(clock, timeout));
  AnyResult<bool> result = co_await when_any(std::move(racers));
  if (!result.value) co_return std::nullopt;
  co_return slot;
}

}  // namespace tandem
