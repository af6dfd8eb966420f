#include "core/apps/fanout/workers.h"

#include <algorithm>

#include "core/async/sleep.h"
#include "core/async/when.h"
#include "core/runtime/catalog.h"
#include "core/serving/cost_model.h"

namespace tandem::apps {

namespace {

Duration left(Clock& clock, TimePoint deadline) {
  return std::max(Duration::zero(), deadline - clock.now());
}

std::string describe(const std::optional<Result<double>>& outcome) {
  if (!outcome) return "no answer by the deadline";
  return outcome->error().to_string();
}

}  // namespace

// --- L2 ------------------------------------------------------------------------------------------------

FanoutL2Worker::FanoutL2Worker(runtime::ActorContext& context, FanoutSpec spec)
    : context_(context),
      spec_(std::move(spec)),
      random_(context.random().fork("fanout-l2", context.id())),
      slots_(context.clock(), spec_.l2_concurrency, size_t{kFanoutQueuePerSlot} * spec_.l2_concurrency) {}

Task<Status> FanoutL2Worker::start() {
  co_await sleep(context_.clock(), spec_.worker_startup);  // pre-started: paid once, before any request
  co_return Status{};
}

Task<Result<double>> FanoutL2Worker::calc(int64_t time, uint32_t bank, uint32_t indicator, Duration budget) {
  const TimePoint deadline = context_.clock().now() + budget;
  const size_t waiting_before = slots_.waiting();
  std::optional<serving::Slots::Permit> permit = co_await slots_.acquire(deadline);
  if (!permit) {
    if (waiting_before >= size_t{kFanoutQueuePerSlot} * slots_.capacity()) {
      co_return Error{Errc::kResourceExhausted, "L2 worker " + std::to_string(context_.id()) + " queue is full"};
    }
    co_return Error{Errc::kTimeout, "L2 worker " + std::to_string(context_.id()) + " had no free core in time"};
  }
  co_await sleep(context_.clock(), serving::sample_service_time(spec_.l2_time, random_));
  ++computed_;
  co_return indicator_value(time, bank, indicator);
}

// --- L1 ------------------------------------------------------------------------------------------------

FanoutL1Worker::FanoutL1Worker(runtime::ActorContext& context, FanoutSpec spec, std::vector<runtime::ActorRef> l2)
    : context_(context),
      spec_(std::move(spec)),
      random_(context.random().fork("fanout-l1", context.id())),
      l2_(context.client(), context.clock(), std::move(l2), spec_.eject_for, spec_.max_attempts) {}

Task<Status> FanoutL1Worker::start() {
  co_await sleep(context_.clock(), spec_.worker_startup);
  co_return Status{};
}

Task<Result<BankResult>> FanoutL1Worker::calc(int64_t time, uint32_t bank, Duration budget) {
  Clock& clock = context_.clock();
  const TimePoint deadline = clock.now() + budget - spec_.hop_margin;  // our answer must travel back
  co_await sleep(clock, serving::sample_service_time(spec_.l1_time, random_));
  std::vector<Task<std::optional<Result<double>>>> calls;
  for (uint32_t indicator = 0; indicator < spec_.indicators; ++indicator) {
    const uint64_t key = uint64_t{bank} * spec_.indicators + indicator;
    calls.push_back(with_timeout(clock, left(clock, deadline),
                                 l2_.call<double>(key, deadline, "calc", time, bank, indicator, left(clock, deadline))));
  }
  std::vector<std::optional<Result<double>>> outcomes = co_await when_all(std::move(calls));
  BankResult result;
  result.bank = bank;
  result.values.assign(spec_.indicators, 0.0);
  for (uint32_t indicator = 0; indicator < spec_.indicators; ++indicator) {
    const std::optional<Result<double>>& outcome = outcomes[indicator];
    if (outcome && outcome->ok()) {
      result.values[indicator] = outcome->value();
      continue;
    }
    result.missing.push_back(indicator);
    if (result.error.empty()) result.error = "indicator " + std::to_string(indicator) + ": " + describe(outcome);
  }
  co_return result;
}

// --- Trigger -------------------------------------------------------------------------------------------

FanoutTrigger::FanoutTrigger(runtime::ActorContext& context, FanoutSpec spec, std::vector<runtime::ActorRef> l1)
    : context_(context),
      spec_(std::move(spec)),
      l1_(context.client(), context.clock(), std::move(l1), spec_.eject_for, spec_.max_attempts) {}

Task<Result<FanoutReply>> FanoutTrigger::calc(FanoutRequest request) {
  Clock& clock = context_.clock();
  const Duration budget = std::min(request.budget, spec_.deadline);
  const TimePoint deadline = clock.now() + budget - spec_.hop_margin;
  std::vector<Task<std::optional<Result<BankResult>>>> calls;
  for (uint32_t bank = 0; bank < spec_.banks; ++bank) {
    calls.push_back(with_timeout(clock, left(clock, deadline),
                                 l1_.call<BankResult>(bank, deadline, "calc", request.time, bank, left(clock, deadline))));
  }
  std::vector<std::optional<Result<BankResult>>> outcomes = co_await when_all(std::move(calls));
  FanoutReply reply;
  reply.id = request.id;
  reply.expected = spec_.expected_values();
  std::vector<std::string> causes;
  for (uint32_t bank = 0; bank < spec_.banks; ++bank) {
    const std::optional<Result<BankResult>>& outcome = outcomes[bank];
    if (!outcome || !outcome->ok()) {
      causes.push_back("bank " + std::to_string(bank) + ": " +
                       (outcome ? outcome->error().to_string() : std::string("no answer by the deadline")));
      continue;
    }
    const BankResult& bank_result = outcome->value();
    reply.computed += spec_.indicators - static_cast<uint32_t>(bank_result.missing.size());
    for (double value : bank_result.values) reply.score += value;
    if (!bank_result.error.empty()) causes.push_back("bank " + std::to_string(bank) + ": " + bank_result.error);
  }
  reply.complete = reply.computed == reply.expected;
  if (!reply.complete) {
    reply.error = std::to_string(reply.expected - reply.computed) + " of " + std::to_string(reply.expected) +
                  " values missing at the " + std::to_string(budget.count() / 1'000'000) + "ms deadline";
    constexpr size_t kMaxCauses = 3;  // enough to act on, bounded for huge fan-outs
    for (size_t i = 0; i < causes.size() && i < kMaxCauses; ++i) reply.error += "; " + causes[i];
    if (causes.size() > kMaxCauses) reply.error += "; ...";
  }
  co_return reply;
}

void register_fanout_classes(runtime::RuntimeCatalog& catalog) {
  catalog.actor_classes.add<FanoutL2Worker, FanoutSpec>(kFanoutL2Class)
      .method("calc", &FanoutL2Worker::calc)
      .method("computed", &FanoutL2Worker::computed);
  catalog.actor_classes.add<FanoutL1Worker, FanoutSpec, std::vector<runtime::ActorRef>>(kFanoutL1Class)
      .method("calc", &FanoutL1Worker::calc);
  catalog.actor_classes.add<FanoutTrigger, FanoutSpec, std::vector<runtime::ActorRef>>(kFanoutTriggerClass)
      .method("calc", &FanoutTrigger::calc);
}

}  // namespace tandem::apps
