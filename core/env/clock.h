// Clock: a node's view of time and its timers.
//
// Contract: now() never goes backwards on one node and does not advance while a coroutine runs (sim) or
// advances only with the real monotonic clock (real). Nodes may disagree: a sim fault can skew one node's clock,
// so compare TimePoints only from the same Clock. wake_at() arranges for the Wakeup to fire at the first moment
// this clock reads >= `when` (immediately after the current event if `when` is not in the future); wakeups for
// the same instant fire in the order they were scheduled. A Wakeup that has gone stale (its task died or already
// resumed) is silently skipped, so nothing needs cancelling. wake_after_event() resumes a Wakeup right after the
// event now running ends, before any other event: for work that event asked for (Deferred's batch flushes), never
// for a generic yield, which must let every event already due run first (wake_at(now())).
#pragma once

#include "core/async/wakeup.h"
#include "core/env/time.h"

namespace tandem {

class Clock {
 public:
  virtual ~Clock() = default;

  // The current time on this node's clock.
  virtual TimePoint now() const = 0;

  // Resume `wakeup` once this clock reads at least `when`.
  virtual void wake_at(TimePoint when, Wakeup wakeup) = 0;

  // Resume `wakeup` as soon as the current event's code has returned, at the same time, ahead of other events.
  // A clock without that notion (the real one: its loop runs ready work in order anyway) queues it for now().
  virtual void wake_after_event(Wakeup wakeup) { wake_at(now(), wakeup); }
};

}  // namespace tandem
