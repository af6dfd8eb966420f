// Wakeup: a ticket that resumes one suspended coroutine at most once, and never after its task died.
//
// Contract: every place that will later resume a coroutine (a timer, an RPC reply, a completion) holds a
// Wakeup, never a bare coroutine handle. A Wakeup is valid while (1) the root task that owns the suspended
// frame is alive — its TaskControl's generation still matches — and (2) the task has not been resumed since the
// Wakeup was made — the control's epoch still matches. fire() resumes only a valid Wakeup and returns whether it
// did. This is the whole cancellation story: a dead actor's or crashed node's timers and replies may still sit in
// queues, but they turn into no-ops, so no coroutine of a dead task ever resumes. TaskControl blocks are pooled
// and never returned to the allocator, so checking a stale Wakeup is always memory-safe.
#pragma once

#include <coroutine>
#include <cstdint>

namespace tandem {

class Scope;

// Bookkeeping for one root task (a coroutine chain started by Scope::spawn). Owned by the task pool.
struct TaskControl {
  uint32_t generation = 0;  // bumped when the task ends or is cancelled; stale Wakeups compare against it
  uint32_t epoch = 0;       // bumped on every resume through a Wakeup
  std::coroutine_handle<> frame;  // the root frame, destroyed by its Scope
  Scope* scope = nullptr;
  TaskControl* prev = nullptr;  // intrusive list of the scope's live tasks
  TaskControl* next = nullptr;
  void (*on_done)(void* context) = nullptr;  // called after the root frame is gone (normal end only)
  void* on_done_context = nullptr;
};

class Wakeup {
 public:
  Wakeup() = default;
  Wakeup(TaskControl* control, std::coroutine_handle<> handle)
      : control_(control), handle_(handle), generation_(control->generation), epoch_(control->epoch) {}

  bool valid() const {
    return control_ != nullptr && control_->generation == generation_ && control_->epoch == epoch_;
  }

  // Resumes the coroutine if this ticket is still valid. The caller must not touch the task afterwards: it may
  // have finished and its control been reused.
  bool fire() const {
    if (!valid()) return false;
    ++control_->epoch;
    handle_.resume();
    return true;
  }

 private:
  TaskControl* control_ = nullptr;
  std::coroutine_handle<> handle_;
  uint32_t generation_ = 0;
  uint32_t epoch_ = 0;
};

}  // namespace tandem
