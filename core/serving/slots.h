// Slots: a counting semaphore for coroutines with a bounded FIFO of waiters and a deadline per wait — how a
// backend limits the requests it serves at once and a proxy the requests it has in flight.
//
// Contract:
// - acquire(deadline) returns a Permit at once while a slot is free and nobody waits; otherwise it joins the
//   FIFO (at most max_waiting waiters: beyond that it returns std::nullopt at once, which callers turn into an
//   explicit load-shed error) and resumes with a Permit when a slot is handed to it, or std::nullopt at the
//   deadline. A Permit releases its slot when destroyed; a slot is handed straight to the first waiter still
//   waiting, never left free while someone waits.
// - Cancellation is safe: a waiter whose coroutine dies gives back a slot it was handed but never took.
// - Permits must not outlive their Slots: owners declare the Slots before the Scope or endpoint whose
//   coroutines hold permits.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>

#include "core/async/task.h"
#include "core/env/clock.h"

namespace tandem::serving {

class Slots {
 public:
  Slots(Clock& clock, uint32_t capacity, size_t max_waiting)
      : clock_(clock), capacity_(capacity), free_(capacity), max_waiting_(max_waiting) {}
  Slots(const Slots&) = delete;
  Slots& operator=(const Slots&) = delete;

  class Permit {
   public:
    Permit() = default;
    explicit Permit(Slots* slots) : slots_(slots) {}
    Permit(Permit&& other) noexcept : slots_(other.slots_) { other.slots_ = nullptr; }
    Permit& operator=(Permit&& other) noexcept {
      if (this != &other) {
        reset();
        slots_ = other.slots_;
        other.slots_ = nullptr;
      }
      return *this;
    }
    Permit(const Permit&) = delete;
    Permit& operator=(const Permit&) = delete;
    ~Permit() { reset(); }
    void reset() {
      if (slots_ != nullptr) slots_->release();
      slots_ = nullptr;
    }

   private:
    Slots* slots_ = nullptr;
  };

  // A Permit, or std::nullopt when the wait queue is full or the deadline passes first.
  Task<std::optional<Permit>> acquire(TimePoint deadline);
  // A Permit at once when a slot is free and nobody waits (no coroutine frame: the hot path); else nullopt.
  std::optional<Permit> try_acquire() {
    if (free_ == 0 || waiting_count_ != 0) return std::nullopt;
    --free_;
    return Permit(this);
  }

  uint32_t capacity() const { return capacity_; }
  uint32_t in_use() const { return capacity_ - free_ + static_cast<uint32_t>(debt_); }
  size_t waiting() const { return waiting_count_; }
  // Changes the capacity; extra slots go to waiters at once, fewer slots take effect as permits return.
  void set_capacity(uint32_t capacity);

 private:
  struct Waiter {
    Wakeup wakeup;
    bool granted = false;
    bool gone = false;
  };
  struct Park;
  struct WaiterGuard;

  void release();
  void hand_out();

  Clock& clock_;
  uint32_t capacity_;
  uint32_t free_;
  int64_t debt_ = 0;  // slots to retire as permits return, after a capacity cut
  size_t max_waiting_;
  size_t waiting_count_ = 0;
  std::deque<std::shared_ptr<Waiter>> waiting_;
};

}  // namespace tandem::serving
