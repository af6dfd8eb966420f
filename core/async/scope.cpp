#include "core/async/scope.h"

#include <cstdio>
#include <memory>
#include <vector>

namespace tandem {
namespace {

// Controls are pooled per thread and never freed, so a stale Wakeup can always read its generation safely.
class ControlPool {
 public:
  TaskControl* acquire() {
    if (free_.empty()) {
      constexpr size_t kChunk = 256;
      chunks_.push_back(std::make_unique<TaskControl[]>(kChunk));
      for (size_t i = kChunk; i-- > 0;) free_.push_back(&chunks_.back()[i]);
    }
    TaskControl* control = free_.back();
    free_.pop_back();
    return control;
  }
  void release(TaskControl* control) {
    ++control->generation;  // every Wakeup and TaskRef for the old task is now stale
    control->frame = {};
    control->scope = nullptr;
    control->prev = control->next = nullptr;
    control->on_done = nullptr;
    control->on_done_context = nullptr;
    free_.push_back(control);
  }

 private:
  std::vector<std::unique_ptr<TaskControl[]>> chunks_;
  std::vector<TaskControl*> free_;
};

ControlPool& pool() {
  thread_local ControlPool instance;
  return instance;
}

}  // namespace

namespace detail {

void finish_root(TaskControl* control, std::exception_ptr exception) noexcept {
  if (exception) {
    try {
      std::rethrow_exception(exception);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "uncaught exception in a spawned task: %s\n", e.what());
    } catch (...) {
      std::fprintf(stderr, "uncaught non-standard exception in a spawned task\n");
    }
    TANDEM_CHECK(false, "a spawned task let an exception escape; return a Result instead");
  }
  Scope* scope = control->scope;
  TANDEM_CHECK(scope != nullptr, "a finished root task has no scope");
  void (*on_done)(void*) = control->on_done;
  void* on_done_context = control->on_done_context;
  std::coroutine_handle<> frame = control->frame;
  scope->unlink(control);
  pool().release(control);
  frame.destroy();
  if (on_done) on_done(on_done_context);
}

}  // namespace detail

TaskRef Scope::spawn(Task<void> task, void (*on_done)(void*), void* on_done_context) {
  TANDEM_CHECK(task.valid(), "spawning an empty Task");
  Task<void>::Handle handle = task.release();
  TaskControl* control = pool().acquire();
  control->frame = handle;
  control->on_done = on_done;
  control->on_done_context = on_done_context;
  link(control);
  handle.promise().control = control;
  const TaskRef ref{control, control->generation};
  ++control->epoch;
  handle.resume();  // may finish the task and reuse the control; `ref` stays a correct weak reference
  return ref;
}

void Scope::cancel(TaskRef task) {
  if (!task.alive()) return;
  TANDEM_CHECK(task.control->scope == this, "cancelling a task through a scope that does not own it");
  destroy(task.control);
}

void Scope::cancel_all() {
  while (head_ != nullptr) destroy(head_);  // destroying a frame may end other tasks of this scope too
}

void Scope::link(TaskControl* control) {
  control->scope = this;
  control->prev = nullptr;
  control->next = head_;
  if (head_ != nullptr) head_->prev = control;
  head_ = control;
  ++size_;
}

void Scope::unlink(TaskControl* control) {
  if (control->prev != nullptr) control->prev->next = control->next;
  if (control->next != nullptr) control->next->prev = control->prev;
  if (head_ == control) head_ = control->next;
  control->prev = control->next = nullptr;
  TANDEM_CHECK(size_ > 0, "scope size underflow");
  --size_;
}

void Scope::destroy(TaskControl* control) {
  std::coroutine_handle<> frame = control->frame;
  unlink(control);
  pool().release(control);  // stale before the frame's destructors run, so nothing resumes it meanwhile
  frame.destroy();
}

}  // namespace tandem
