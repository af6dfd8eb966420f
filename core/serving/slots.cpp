#include "core/serving/slots.h"

namespace tandem::serving {

struct Slots::Park {
  Clock& clock;
  TimePoint deadline;
  Waiter& waiter;
  bool await_ready() const noexcept { return false; }
  template <typename Promise>
  void await_suspend(std::coroutine_handle<Promise> handle) {
    waiter.wakeup = make_wakeup(handle);
    clock.wake_at(deadline, waiter.wakeup);
  }
  void await_resume() const noexcept {}
};

// Lives in the waiting coroutine's frame: if the coroutine dies after being handed a slot but before taking
// it, the slot goes back; in every case the waiter leaves the queue's count.
struct Slots::WaiterGuard {
  Slots& slots;
  std::shared_ptr<Waiter> waiter;
  bool taken = false;
  ~WaiterGuard() {
    if (!waiter->granted) {
      if (!waiter->gone) --slots.waiting_count_;
      waiter->gone = true;
    } else if (!taken) {
      slots.release();
    }
  }
};

Task<std::optional<Slots::Permit>> Slots::acquire(TimePoint deadline) {
  if (std::optional<Permit> now = try_acquire()) co_return std::move(now);
  if (waiting_count_ >= max_waiting_) co_return std::nullopt;
  if (waiting_.size() >= 2 * max_waiting_ + 16) {
    std::erase_if(waiting_, [](const std::shared_ptr<Waiter>& w) { return w->gone; });
  }
  auto waiter = std::make_shared<Waiter>();
  WaiterGuard guard{*this, waiter};
  waiting_.push_back(waiter);
  ++waiting_count_;
  co_await Park{clock_, deadline, *waiter};
  if (waiter->granted) {
    guard.taken = true;
    co_return Permit(this);
  }
  co_return std::nullopt;  // the guard takes it off the count
}

void Slots::release() {
  if (debt_ > 0) {
    --debt_;
    return;
  }
  ++free_;
  hand_out();
}

void Slots::hand_out() {
  while (free_ > 0 && !waiting_.empty()) {
    std::shared_ptr<Waiter> waiter = std::move(waiting_.front());
    waiting_.pop_front();
    if (waiter->gone) continue;
    waiter->granted = true;
    --waiting_count_;
    --free_;
    clock_.wake_at(clock_.now(), waiter->wakeup);
  }
  // Drop the husks of waiters that left, so the deque stays bounded by the live ones.
  while (!waiting_.empty() && waiting_.front()->gone) waiting_.pop_front();
}

void Slots::set_capacity(uint32_t capacity) {
  if (capacity >= capacity_) {
    uint32_t extra = capacity - capacity_;
    const uint32_t repaid = static_cast<uint32_t>(std::min<int64_t>(debt_, extra));
    debt_ -= repaid;
    extra -= repaid;
    free_ += extra;
  } else {
    uint32_t cut = capacity_ - capacity;
    const uint32_t from_free = std::min(free_, cut);
    free_ -= from_free;
    debt_ += cut - from_free;
  }
  capacity_ = capacity;
  hand_out();
}

}  // namespace tandem::serving
