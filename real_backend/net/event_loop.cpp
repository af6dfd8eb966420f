#include "real_backend/net/event_loop.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <string>
#include <utility>

#include "core/common/check.h"

namespace tandem::real {
namespace {
constexpr int64_t kForever = std::numeric_limits<int64_t>::max();
// Stale wakeups (deadline timers of calls that already got their reply) are shed once the heap holds this many
// entries and more than twice the live ones seen at the last shed: the sim's policy.
constexpr size_t kShedThreshold = 4096;
// The longest single sleep; a bound so a wrong deadline cannot hang a thread forever unnoticed.
constexpr int64_t kMaxSleepNs = 3600LL * 1000 * 1000 * 1000;
}  // namespace

TimePoint RealClock::now() const { return loop_.now() + Duration(skew_ns_.load(std::memory_order_relaxed)); }

void RealClock::wake_at(TimePoint when, Wakeup wakeup) {
  // `when` is on this clock; the loop's timers are on its unskewed time (sim/node.h does the same).
  loop_.push_timer(EventLoop::Timer{to_ns(when) - skew_ns_.load(std::memory_order_relaxed), 0, wakeup, nullptr});
}

EventLoop::EventLoop() : epoch_(std::chrono::steady_clock::now()), clock_(*this) {
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) {
    const std::string why = "eventfd() failed: " + std::string(std::strerror(errno)) +
                            " (fix: raise the open-file limit, ulimit -n)";
    TANDEM_CHECK(wake_fd_ >= 0, why.c_str());
  }
}

EventLoop::~EventLoop() { ::close(wake_fd_); }

TimePoint EventLoop::now() const {
  return time_from_ns(std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - epoch_).count());
}

void EventLoop::post(std::function<void()> fn) {
  bool write_needed = false;
  {
    std::lock_guard<std::mutex> lock(posted_mutex_);
    posted_.push_back(std::move(fn));
    if (!wake_pending_) {
      wake_pending_ = true;
      write_needed = true;
    }
  }
  if (write_needed) {
    const uint64_t one = 1;
    // An eventfd write only fails when the counter would overflow, and then the loop is awake anyway.
    [[maybe_unused]] const ssize_t written = ::write(wake_fd_, &one, sizeof one);
  }
}

void EventLoop::run_at(TimePoint when, std::function<void()> fn) {
  TANDEM_CHECK(fn != nullptr, "run_at() needs a function");
  push_timer(Timer{to_ns(when), 0, Wakeup{}, std::move(fn)});
}

void EventLoop::push_timer(Timer timer) {
  timer.sequence = next_timer_sequence_++;
  timers_.push_back(std::move(timer));
  std::push_heap(timers_.begin(), timers_.end(), Later{});
  if (timers_.size() >= kShedThreshold && timers_.size() > 2 * live_timers_at_last_shed_) shed_stale_wakeups();
}

void EventLoop::shed_stale_wakeups() {
  std::erase_if(timers_, [](const Timer& timer) { return timer.fn == nullptr && !timer.wakeup.valid(); });
  std::make_heap(timers_.begin(), timers_.end(), Later{});
  live_timers_at_last_shed_ = timers_.size();
}

void EventLoop::stop() {
  stop_requested_.store(true);
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t written = ::write(wake_fd_, &one, sizeof one);
}

bool EventLoop::run_once() {
  bool worked = false;
  // Timers scheduled while this pass fires timers wait for the next pass, so posted work cannot starve.
  const uint64_t sequence_limit = next_timer_sequence_;
  const int64_t now_ns = to_ns(now());
  while (!timers_.empty() && timers_.front().when_ns <= now_ns && timers_.front().sequence < sequence_limit) {
    std::pop_heap(timers_.begin(), timers_.end(), Later{});
    Timer timer = std::move(timers_.back());
    timers_.pop_back();
    worked = true;
    if (timer.fn) {
      timer.fn();
    } else {
      timer.wakeup.fire();  // a stale wakeup is a no-op
    }
  }
  // A local batch: a posted function may run a nested loop (run_until) that takes the next batch itself.
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard<std::mutex> lock(posted_mutex_);
    batch.swap(posted_);
    wake_pending_ = false;
  }
  for (std::function<void()>& fn : batch) {
    worked = true;
    fn();
  }
  batch.clear();
  std::lock_guard<std::mutex> lock(posted_mutex_);
  if (posted_.empty()) posted_.swap(batch);  // keep the capacity for the next pass
  return worked;
}

void EventLoop::wait(int64_t deadline_ns) {
  int64_t wake_ns = deadline_ns;
  if (!timers_.empty()) wake_ns = std::min(wake_ns, timers_.front().when_ns);
  {
    std::lock_guard<std::mutex> lock(posted_mutex_);
    if (!posted_.empty()) return;
  }
  if (stop_requested_.load()) return;
  const int64_t now_ns = to_ns(now());
  if (wake_ns <= now_ns) return;
  const int64_t sleep_ns = std::min(wake_ns - now_ns, kMaxSleepNs);
  timespec timeout{static_cast<time_t>(sleep_ns / 1'000'000'000), static_cast<long>(sleep_ns % 1'000'000'000)};
  pollfd wake{wake_fd_, POLLIN, 0};
  const int ready = ::ppoll(&wake, 1, &timeout, nullptr);
  if (ready > 0 && (wake.revents & POLLIN) != 0) {
    uint64_t count = 0;
    [[maybe_unused]] const ssize_t got = ::read(wake_fd_, &count, sizeof count);
  }
}

void EventLoop::run_loop(const std::function<bool()>& done, int64_t deadline_ns) {
  const std::thread::id self = std::this_thread::get_id();
  const std::thread::id previous = running_thread_.exchange(self);
  // Nesting on one thread (a driver's run_until inside a posted function) is allowed; two threads are not.
  TANDEM_CHECK(previous == std::thread::id{} || previous == self, "two threads ran one EventLoop at once");
  while (true) {
    run_once();
    if (stop_requested_.exchange(false)) break;
    if (done && done()) break;
    if (to_ns(now()) >= deadline_ns) break;
    wait(deadline_ns);
  }
  running_thread_.store(previous);
}

void EventLoop::run() { run_loop(nullptr, kForever); }

bool EventLoop::run_until(const std::function<bool()>& done, Duration timeout) {
  TANDEM_CHECK(done != nullptr, "run_until() needs a condition");
  const int64_t deadline_ns = to_ns(now()) + std::max<int64_t>(0, to_ns(timeout));
  run_loop(done, deadline_ns);
  return done();
}

void EventLoop::run_for(Duration duration) {
  run_loop(nullptr, to_ns(now()) + std::max<int64_t>(0, to_ns(duration)));
}

}  // namespace tandem::real
