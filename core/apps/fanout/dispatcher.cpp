#include "core/apps/fanout/dispatcher.h"

#include <algorithm>

#include "core/env/random.h"

namespace tandem::apps {

namespace {

// Errors that blame the worker (or the way to it), not the computation: try another worker.
bool gateway_error(Errc code) {
  return code == Errc::kPeerDied || code == Errc::kUnreachable || code == Errc::kUnavailable ||
         code == Errc::kTimeout || code == Errc::kResourceExhausted;
}

}  // namespace

Dispatcher::Dispatcher(runtime::RuntimeClient& client, Clock& clock, std::vector<runtime::ActorRef> workers,
                       Duration eject_for, uint32_t max_attempts)
    : client_(client), clock_(clock), eject_for_(eject_for), max_attempts_(std::max<uint32_t>(1, max_attempts)) {
  TANDEM_CHECK(!workers.empty(), "a Dispatcher needs at least one worker");
  for (const runtime::ActorRef& ref : workers) workers_.push_back(Worker{ref});
}

size_t Dispatcher::choose(uint64_t key, const std::vector<size_t>& tried, TimePoint now) const {
  const size_t n = workers_.size();
  auto usable = [&](size_t index) {
    return workers_[index].ejected_until <= now && std::find(tried.begin(), tried.end(), index) == tried.end();
  };
  // Two candidates from the key; each walks forward to the next usable worker.
  auto next_usable = [&](size_t start) {
    for (size_t step = 0; step < n; ++step) {
      if (usable((start + step) % n)) return (start + step) % n;
    }
    return n;
  };
  const size_t first = next_usable(key % n);
  const size_t second = next_usable(hash_combine(key, 0x5eed) % n);
  if (first < n && second < n) return workers_[second].inflight < workers_[first].inflight ? second : first;
  if (first < n) return first;
  // Every untried worker is ejected: the one whose ejection ends first.
  size_t fallback = n;
  for (size_t index = 0; index < n; ++index) {
    if (std::find(tried.begin(), tried.end(), index) != tried.end()) continue;
    if (fallback == n || workers_[index].ejected_until < workers_[fallback].ejected_until) fallback = index;
  }
  return fallback;
}

void Dispatcher::on_result(size_t index, bool gateway_failure) {
  Worker& worker = workers_[index];
  if (!gateway_failure) {
    worker.failures = 0;
    return;
  }
  if (++worker.failures < kEjectAfterFailures) return;
  const TimePoint now = clock_.now();
  size_t ejected = 0;
  for (const Worker& other : workers_) ejected += other.ejected_until > now ? 1 : 0;
  if (static_cast<double>(ejected + 1) > kMaxEjectedFraction * static_cast<double>(workers_.size())) return;
  worker.ejected_until = now + eject_for_;
  worker.failures = 0;
  ++ejections_;
}

Task<Result<Bytes>> Dispatcher::call_raw(uint64_t key, TimePoint deadline, std::string method, Bytes args) {
  std::vector<size_t> tried;
  Error last{Errc::kTimeout, "no time left to dispatch " + method};
  for (uint32_t attempt = 0; attempt < max_attempts_; ++attempt) {
    const TimePoint now = clock_.now();
    if (now >= deadline) break;
    const size_t index = choose(key, tried, now);
    if (index >= workers_.size()) break;
    tried.push_back(index);
    runtime::CallOptions options;
    options.timeout = deadline - now;
    ++workers_[index].inflight;
    Result<Bytes> reply = co_await client_.call_actor(workers_[index].ref.id, method, args, options);
    --workers_[index].inflight;
    const bool gateway_failure = !reply.ok() && gateway_error(reply.error().code);
    on_result(index, gateway_failure);
    if (!gateway_failure) co_return reply;
    last = reply.error();
    last.message = "worker " + std::to_string(workers_[index].ref.id) + ": " + last.message;
  }
  co_return last;
}

}  // namespace tandem::apps
