// Task<T>: a lazily started coroutine that produces a T, awaited by exactly one parent.
//
// Contract:
// - A Task does nothing until it is awaited (`co_await make_task()`) or handed to Scope::spawn, which makes it
//   a root task. Awaiting runs the child at once (symmetric transfer) and resumes the parent when it finishes.
// - Every coroutine chain has one root; the root's TaskControl (core/async/wakeup.h) is handed down to each
//   child when it is awaited, so any awaitable deep in the chain can make a Wakeup for it.
// - Destroying a Task destroys its frame and, with it, every child it was awaiting: cancellation is
//   destruction. Code after a suspension point therefore runs only if nothing cancelled the root meanwhile.
// - An exception that escapes a child is rethrown in its parent; one that escapes a root is a bug and aborts
//   with its message (expected failures travel as Result<T>, see core/common/result.h).
#pragma once

#include <coroutine>
#include <exception>
#include <optional>
#include <utility>

#include "core/async/frame_pool.h"
#include "core/async/wakeup.h"
#include "core/common/check.h"

namespace tandem {

template <typename T = void>
class Task;

namespace detail {

// Called by a root task's final suspension: unlinks it from its Scope, destroys its frame, releases its
// control, then runs its on_done hook. Defined in scope.cpp.
void finish_root(TaskControl* control, std::exception_ptr exception) noexcept;

struct PromiseBase {
  std::coroutine_handle<> continuation;  // the awaiting parent; empty for a root task
  TaskControl* control = nullptr;        // the root's control, set when spawned or awaited
  std::exception_ptr exception;

  static void* operator new(size_t bytes) { return allocate_frame(bytes); }
  static void operator delete(void* frame, size_t bytes) { release_frame(frame, bytes); }

  std::suspend_always initial_suspend() noexcept { return {}; }

  struct FinalAwaiter {
    bool await_ready() noexcept { return false; }
    template <typename Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> handle) noexcept {
      PromiseBase& promise = handle.promise();
      if (promise.continuation) return promise.continuation;
      finish_root(promise.control, promise.exception);  // destroys this frame: touch nothing after it
      return std::noop_coroutine();
    }
    void await_resume() noexcept {}
  };
  FinalAwaiter final_suspend() noexcept { return {}; }
  void unhandled_exception() noexcept { exception = std::current_exception(); }
};

template <typename Promise>
struct TaskAwaiter {
  std::coroutine_handle<Promise> child;

  bool await_ready() noexcept { return false; }
  template <typename ParentPromise>
  std::coroutine_handle<> await_suspend(std::coroutine_handle<ParentPromise> parent) noexcept {
    child.promise().continuation = parent;
    child.promise().control = parent.promise().control;
    return child;
  }
};

}  // namespace detail

// Makes a Wakeup for the coroutine `handle`, which must belong to a spawned task.
template <typename Promise>
Wakeup make_wakeup(std::coroutine_handle<Promise> handle) {
  TaskControl* control = handle.promise().control;
  TANDEM_CHECK(control != nullptr, "a coroutine suspended outside any spawned task; start it with Scope::spawn");
  return Wakeup(control, handle);
}

template <typename T>
class [[nodiscard]] Task {
 public:
  struct promise_type : detail::PromiseBase {
    std::optional<T> value;
    Task get_return_object() { return Task(std::coroutine_handle<promise_type>::from_promise(*this)); }
    template <typename U>
    void return_value(U&& result) {
      value.emplace(std::forward<U>(result));
    }
  };
  using Handle = std::coroutine_handle<promise_type>;

  Task() = default;
  explicit Task(Handle handle) : handle_(handle) {}
  Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      reset();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() { reset(); }

  bool valid() const { return static_cast<bool>(handle_); }
  Handle release() { return std::exchange(handle_, {}); }

  auto operator co_await() && noexcept {
    struct Awaiter : detail::TaskAwaiter<promise_type> {
      T await_resume() {
        promise_type& promise = this->child.promise();
        if (promise.exception) std::rethrow_exception(promise.exception);
        TANDEM_CHECK(promise.value.has_value(), "a Task<T> finished without co_return");
        return std::move(*promise.value);
      }
    };
    TANDEM_CHECK(handle_, "awaiting an empty or moved-from Task");
    return Awaiter{{handle_}};
  }

 private:
  void reset() {
    if (handle_) handle_.destroy();
    handle_ = {};
  }
  Handle handle_;
};

template <>
class [[nodiscard]] Task<void> {
 public:
  struct promise_type : detail::PromiseBase {
    Task get_return_object() { return Task(std::coroutine_handle<promise_type>::from_promise(*this)); }
    void return_void() {}
  };
  using Handle = std::coroutine_handle<promise_type>;

  Task() = default;
  explicit Task(Handle handle) : handle_(handle) {}
  Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      reset();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() { reset(); }

  bool valid() const { return static_cast<bool>(handle_); }
  Handle release() { return std::exchange(handle_, {}); }

  auto operator co_await() && noexcept {
    struct Awaiter : detail::TaskAwaiter<promise_type> {
      void await_resume() {
        promise_type& promise = this->child.promise();
        if (promise.exception) std::rethrow_exception(promise.exception);
      }
    };
    TANDEM_CHECK(handle_, "awaiting an empty or moved-from Task");
    return Awaiter{{handle_}};
  }

 private:
  void reset() {
    if (handle_) handle_.destroy();
    handle_ = {};
  }
  Handle handle_;
};

}  // namespace tandem
