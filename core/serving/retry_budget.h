// RetryBudget: how many retries a caller may send, as a fraction of its requests plus a small steady
// allowance (Finagle's RetryBudget, Envoy's retry budget) — so retries can never multiply load during an outage.
//
// Contract: every first attempt deposits `ratio` tokens; a retry withdraws one token and is refused when less
// than one is there. On top, `min_per_second` tokens accrue per second of the caller's clock so a quiet caller
// can still retry. Tokens never exceed `max_tokens`. Pure arithmetic on TimePoints the caller passes.
#pragma once

#include <algorithm>

#include "core/env/time.h"

namespace tandem::serving {

class RetryBudget {
 public:
  RetryBudget(double ratio, double min_per_second, double max_tokens = 100)
      : ratio_(ratio), min_per_second_(min_per_second), max_tokens_(std::max(max_tokens, 1.0)), tokens_(min_per_second) {}

  void on_request(TimePoint now) {
    refill(now);
    tokens_ = std::min(max_tokens_, tokens_ + ratio_);
  }

  // True (and one token spent) when a retry is allowed now.
  bool try_retry(TimePoint now) {
    refill(now);
    if (tokens_ < 1) return false;
    tokens_ -= 1;
    return true;
  }

  double tokens() const { return tokens_; }

 private:
  void refill(TimePoint now) {
    if (!started_) {
      started_ = true;
      last_ = now;
    }
    if (now > last_) {
      tokens_ = std::min(max_tokens_, tokens_ + min_per_second_ * to_seconds(now - last_));
      last_ = now;
    }
  }

  double ratio_;
  double min_per_second_;
  double max_tokens_;
  double tokens_;
  TimePoint last_{};
  bool started_ = false;
};

}  // namespace tandem::serving
