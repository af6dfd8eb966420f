#include "core/apps/fanout/fanout_spec.h"

#include "core/env/random.h"

namespace tandem::apps {

Status FanoutSpec::validate() const {
  std::vector<std::string> problems;
  auto check = [&](bool ok, const std::string& problem) {
    if (!ok) problems.push_back(problem);
  };
  check(serving::validate_service_name(name, "name").ok(),
        "name = '" + name + "': use 1-128 letters, digits, '-', '_' or '.'");
  check(banks >= 1 && banks <= kMaxFanoutBanks,
        "banks = " + std::to_string(banks) + ": must be 1.." + std::to_string(kMaxFanoutBanks));
  check(indicators >= 1 && indicators <= kMaxFanoutIndicators,
        "indicators = " + std::to_string(indicators) + ": must be 1.." + std::to_string(kMaxFanoutIndicators));
  for (const auto& [field, count] : {std::pair<const char*, uint32_t>{"triggers", triggers},
                                     {"l1_workers", l1_workers},
                                     {"l2_workers", l2_workers}}) {
    check(count >= 1 && count <= kMaxFanoutWorkers, std::string(field) + " = " + std::to_string(count) +
                                                         ": must be 1.." + std::to_string(kMaxFanoutWorkers) +
                                                         " (workers are pre-started, at least one of each)");
  }
  check(l2_concurrency >= 1 && l2_concurrency <= kMaxFanoutConcurrency,
        "l2_concurrency = " + std::to_string(l2_concurrency) + ": must be 1.." +
            std::to_string(kMaxFanoutConcurrency));
  for (const auto& [field, time] :
       {std::pair<const char*, const serving::ServiceTime*>{"l1_time", &l1_time}, {"l2_time", &l2_time}}) {
    check(time->median > Duration::zero(), std::string(field) + ".median must be positive");
    check(time->sigma >= 0, std::string(field) + ".sigma must not be negative");
    check(time->shape != serving::LatencyShape::kPareto || time->alpha > 1,
          std::string(field) + ".alpha must be greater than 1 for a pareto shape");
  }
  check(deadline > Duration::zero(), "deadline must be positive (the seed's is 2xx ms)");
  check(hop_margin >= Duration::zero() && hop_margin * 3 < deadline,
        "hop_margin must be >= 0 and less than a third of the deadline (it is kept back at each of 3 levels)");
  check(worker_startup >= Duration::zero(), "worker_startup must not be negative");
  check(eject_for >= Duration::zero(), "eject_for must not be negative");
  check(max_attempts >= 1 && max_attempts <= 8, "max_attempts = " + std::to_string(max_attempts) + ": must be 1..8");
  if (problems.empty()) return Status{};
  std::string message = "fan-out app '" + name + "' refused, nothing was created: ";
  for (size_t i = 0; i < problems.size(); ++i) message += (i == 0 ? "" : "; ") + problems[i];
  return Error{Errc::kInvalidArgument, message};
}

double indicator_value(int64_t time, uint32_t bank, uint32_t indicator) {
  uint64_t h = hash_combine(hash_combine(static_cast<uint64_t>(time), bank), indicator);
  return static_cast<double>(h % 10'000) / 100.0;  // 0.00 .. 99.99
}

std::string fanout_actor_name(const std::string& app, const char* role, uint32_t index) {
  return "fanout/" + app + "/" + role + "/" + std::to_string(index);
}

}  // namespace tandem::apps
