// The fan-out's actors (seed slide 4), top to bottom:
//
//   caller ──RPC──▶ FanoutTrigger ──Dispatcher, one call per bank──▶ FanoutL1Worker (calcIndicator)
//                        ▲                                              │ Dispatcher, one call per indicator
//                        └──────── gather within the deadline ◀──────── ▼
//                                                                   FanoutL2Worker (calcBankIndicators)
//
// Contract:
// - Every level answers by its own deadline (the caller's budget less hop_margin): a Trigger or L1 worker
//   waits for its children at most that long, then answers with what it has and names what is missing. So the
//   caller gets a reply within its budget even when a worker's node has just crashed.
// - Workers are created before the Trigger answers anything (deploy_fanout, core/apps/fanout/deploy.h) and are
//   restarted by the runtime (max_restarts = -1); a restarted worker pays worker_startup before it is ALIVE,
//   meanwhile the Dispatchers route around it.
// - An L2 worker computes at most l2_concurrency indicators at once; at most kFanoutQueuePerSlot x that wait,
//   beyond it sheds with kResourceExhausted (the Dispatcher then tries another worker).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/apps/fanout/dispatcher.h"
#include "core/apps/fanout/fanout_spec.h"
#include "core/env/random.h"
#include "core/runtime/actor.h"
#include "core/serving/slots.h"

namespace tandem::apps {

inline constexpr const char* kFanoutTriggerClass = "FanoutTrigger";
inline constexpr const char* kFanoutL1Class = "FanoutL1Worker";
inline constexpr const char* kFanoutL2Class = "FanoutL2Worker";

class FanoutL2Worker final : public runtime::Actor {
 public:
  FanoutL2Worker(runtime::ActorContext& context, FanoutSpec spec);
  Task<Status> start() override;
  // calcBankIndicators(time, bank, indicator) within `budget` (relative, so clock skew between nodes is harmless).
  Task<Result<double>> calc(int64_t time, uint32_t bank, uint32_t indicator, Duration budget);
  Task<Result<uint64_t>> computed() { co_return computed_; }

 private:
  runtime::ActorContext& context_;
  FanoutSpec spec_;
  Random random_;
  uint64_t computed_ = 0;
  serving::Slots slots_;
};

class FanoutL1Worker final : public runtime::Actor {
 public:
  FanoutL1Worker(runtime::ActorContext& context, FanoutSpec spec, std::vector<runtime::ActorRef> l2);
  Task<Status> start() override;
  // calcIndicator(time, bank): every indicator of the bank, gathered within `budget`.
  Task<Result<BankResult>> calc(int64_t time, uint32_t bank, Duration budget);

 private:
  runtime::ActorContext& context_;
  FanoutSpec spec_;
  Random random_;
  Dispatcher l2_;
};

class FanoutTrigger final : public runtime::Actor {
 public:
  FanoutTrigger(runtime::ActorContext& context, FanoutSpec spec, std::vector<runtime::ActorRef> l1);
  // The RPC entry: every bank x indicator value at request.time, complete or partial by the deadline.
  Task<Result<FanoutReply>> calc(FanoutRequest request);

 private:
  runtime::ActorContext& context_;
  FanoutSpec spec_;
  Dispatcher l1_;
};

// Registers the three classes (with their methods) in a catalog; once per catalog.
void register_fanout_classes(runtime::RuntimeCatalog& catalog);

}  // namespace tandem::apps
