// Scope: the owner of root tasks. When the owner dies, its tasks die with it.
//
// Contract:
// - spawn() makes a Task a root task of this scope and runs it at once until its first suspension. A root
//   ends by returning (its frame is freed and its on_done hook runs) or by being cancelled (its frame is
//   destroyed at its current suspension point; the hook does not run).
// - cancel_all(), and the destructor, cancel every task still in the scope. Each thing that owns coroutines —
//   an actor, a node, an RPC endpoint's server side, a when_all — owns a Scope declared after the state those
//   coroutines use, so the coroutines go first.
// - Never cancel the task that is running right now (that would free the frame under its own feet); a task
//   that wants to stop itself returns. The runtime posts kills as separate events.
// - Single-threaded: a Scope and its tasks belong to one event loop.
//
// Lifecycle of one root task (TaskControl):
//
//   spawn ──> RUNNING ⇄ SUSPENDED (holds Wakeups) ──return──> ENDED (on_done runs, control reused)
//                 └──────────── cancel / ~Scope ────────────> CANCELLED (frame destroyed, Wakeups stale)
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/async/task.h"
#include "core/async/wakeup.h"

namespace tandem {

// A weak reference to a root task: tells whether it is still alive, lets its scope cancel it.
struct TaskRef {
  TaskControl* control = nullptr;
  uint32_t generation = 0;
  bool alive() const { return control != nullptr && control->generation == generation; }
};

class Scope {
 public:
  Scope() = default;
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;
  ~Scope() { cancel_all(); }

  // Starts `task` as a root task of this scope; `on_done(context)` runs after it returns normally.
  TaskRef spawn(Task<void> task, void (*on_done)(void*) = nullptr, void* on_done_context = nullptr);

  // Cancels one task of this scope; a no-op if it already ended.
  void cancel(TaskRef task);

  // Cancels every task of this scope.
  void cancel_all();

  // Number of live root tasks.
  size_t size() const { return size_; }

 private:
  friend void detail::finish_root(TaskControl*, std::exception_ptr) noexcept;
  void link(TaskControl* control);
  void unlink(TaskControl* control);
  void destroy(TaskControl* control);

  TaskControl* head_ = nullptr;
  size_t size_ = 0;
};

}  // namespace tandem
