// Dispatcher: how a Trigger or an L1 worker routes a call to one of the workers below it (the seed's
// "Dispatcher routes upper actors to lower compute actors").
//
// Contract:
// - Balanced: of two candidates derived from the key (key % n and a hashed second one) the one with fewer calls
//   in flight is tried (power of two choices), so load spreads evenly and moves away from a slow worker.
// - Bounded: at most max_attempts tries, all within the caller's deadline; each try's timeout is what is left.
//   The result is the worker's value or the last error; it never outlives the deadline by more than a hop.
// - A worker whose calls failed kEjectAfterFailures times in a row with a gateway error (dead, unreachable,
//   unavailable, timeout, shed) is skipped for eject_for, so after a node crash the deadline is spent on live
//   workers. At most kMaxEjectedFraction of the workers are ejected at once (Envoy's max ejection percent): an
//   overload that makes every worker time out must not eject the healthy ones and concentrate the load on the
//   rest. When every untried worker is ejected the one whose ejection ends first is tried anyway.
// - Single event loop; owned by the actor that uses it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/env/clock.h"
#include "core/runtime/runtime_client.h"

namespace tandem::apps {

inline constexpr uint32_t kEjectAfterFailures = 3;
inline constexpr double kMaxEjectedFraction = 0.5;

class Dispatcher {
 public:
  Dispatcher(runtime::RuntimeClient& client, Clock& clock, std::vector<runtime::ActorRef> workers,
             Duration eject_for, uint32_t max_attempts);

  // Calls `method` with `args` on a worker chosen for `key`, by `deadline`.
  template <typename R, typename... Args>
  Task<Result<R>> call(uint64_t key, TimePoint deadline, std::string method, const Args&... args) {
    // Not a coroutine: the arguments are encoded now, so temporaries are safe.
    std::string what = "reply to " + method;
    return runtime::RuntimeClient::decode_result<R>(
        call_raw(key, deadline, std::move(method), runtime::encode_args(args...)), std::move(what));
  }
  Task<Result<Bytes>> call_raw(uint64_t key, TimePoint deadline, std::string method, Bytes args);

  size_t size() const { return workers_.size(); }
  uint64_t ejections() const { return ejections_; }

 private:
  struct Worker {
    runtime::ActorRef ref;
    TimePoint ejected_until{};
    uint32_t failures = 0;  // consecutive gateway failures
    uint32_t inflight = 0;
  };
  // The worker to try (not tried yet, not ejected when possible); size() when none is left.
  size_t choose(uint64_t key, const std::vector<size_t>& tried, TimePoint now) const;
  void on_result(size_t index, bool gateway_failure);

  runtime::RuntimeClient& client_;
  Clock& clock_;
  std::vector<Worker> workers_;
  Duration eject_for_;
  uint32_t max_attempts_;
  uint64_t ejections_ = 0;
};

}  // namespace tandem::apps
