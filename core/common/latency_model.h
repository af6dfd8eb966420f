// LatencyModel: a distribution of durations (constant, uniform, normal, lognormal, exponential) — how long a
// simulated link takes, how long a modelled server holds a request. A value type of core/ so the same model
// runs in sim (sim/latency.h, the topology's links) and on real processes (core/apps/rpc's servers).
//
// Contract:
// - Value types, cheap to copy and compare. sample() draws only from the Random it is given, never returns a
//   negative duration, and a constant model draws nothing (constant-latency runs cost no random numbers).
// - Samples are clamped to [0, kMaxLatency]; a normal model's clamp at 0 shifts its true mean up a
//   little when the stddev is large against the mean; mean() reports the nominal mean.
// - The named factories (constant(), uniform(), ...) TANDEM_CHECK their arguments: a bad number there is a
//   bug in the caller. Numbers a user wrote (scenario JSON) go through LatencyModel::make(), which returns an
//   Error that says which number is wrong and what is allowed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/common/result.h"
#include "core/env/random.h"
#include "core/env/time.h"

namespace tandem {

// No single sample is longer than this; larger parameters are refused and larger samples clamped.
// It also keeps every double -> integer-nanosecond conversion in range.
inline constexpr Duration kMaxLatency = std::chrono::hours(1);

struct LatencyModel {
  enum class Kind : uint8_t { kConstant, kUniform, kNormal, kLogNormal, kExponential };

  // The two parameters, by kind (the factories below fill them):
  //   constant     base = the latency                  spread = 0
  //   uniform      base = low                          spread = high - low
  //   normal       base = mean                         spread = standard deviation
  //   lognormal    base = mean                         spread = standard deviation (of the latency itself)
  //   exponential  base = floor (minimum latency)      spread = mean of the exponential tail above the floor
  Kind kind = Kind::kConstant;
  Duration base{};
  Duration spread{};

  static LatencyModel constant(Duration latency);
  static LatencyModel uniform(Duration low, Duration high);
  static LatencyModel normal(Duration mean, Duration stddev);
  static LatencyModel lognormal(Duration mean, Duration stddev);
  // A floor plus an exponential tail: the mean of the whole is `mean`; mean >= floor.
  static LatencyModel exponential(Duration mean, Duration floor = Duration::zero());

  // The validating twin of the factories for user-supplied numbers. `first` and `second` are the factory's
  // arguments in order (constant: latency and 0; uniform: low, high; normal and lognormal: mean, stddev;
  // exponential: mean, floor).
  static Result<LatencyModel> make(Kind kind, Duration first, Duration second = Duration::zero());

  // Ok when the parameters are in range for the kind; otherwise an Error naming the bad one.
  Status validate() const;

  Duration mean() const;
  Duration sample(Random& random) const;
  bool is_constant() const { return kind == Kind::kConstant || spread == Duration::zero(); }

  // "constant(10us)", "uniform(100us..300us)", "normal(20ms, sd 2ms)".
  std::string to_string() const;

  friend bool operator==(const LatencyModel&, const LatencyModel&) = default;
};

// "constant", "uniform", "normal", "lognormal", "exponential".
std::string_view latency_kind_name(LatencyModel::Kind kind);
Result<LatencyModel::Kind> parse_latency_kind(std::string_view name);

}  // namespace tandem
