// FanoutSpec: the seed's strategy/indicator computation (slides 2-4) as a service on actors. A request names a
// point in time; the answer is every (bank, indicator) value at that time. A Trigger actor takes the RPC, its
// Dispatcher routes one call per bank to L1 workers (calcIndicator), each L1 worker fans out one call per
// indicator to L2 workers (calcBankIndicators), and the Trigger gathers the results within the deadline (the
// seed's "2xx ms"). Workers are pre-started, so no request waits for a process or model to load.
//
// Contract:
// - A spec is a codec value (actor constructor arguments); validate() returns ONE kInvalidArgument naming every
//   bad field and how to fix it; deploy_fanout() refuses an invalid spec before it creates anything.
// - A reply is never late and never silent: by the deadline the Trigger answers with every value computed so
//   far; `complete` says whether all banks x indicators are there, and `error` says which are missing and why.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/common/result.h"
#include "core/env/time.h"
#include "core/runtime/codec.h"
#include "core/runtime/labels.h"
#include "core/runtime/resources.h"
#include "core/serving/service_spec.h"

namespace tandem::apps {

inline constexpr uint32_t kMaxFanoutBanks = 1'024;
inline constexpr uint32_t kMaxFanoutIndicators = 256;
inline constexpr uint32_t kMaxFanoutWorkers = 10'000;
inline constexpr uint32_t kMaxFanoutConcurrency = 1'024;
inline constexpr uint32_t kFanoutQueuePerSlot = 64;  // L2 waiters per slot; beyond: shed

struct FanoutSpec {
  std::string name = "strategy";
  uint32_t banks = 8;          // payment institutions per request: the Trigger's fan-out to L1
  uint32_t indicators = 4;     // indicators per bank: each L1 call's fan-out to L2
  uint32_t triggers = 2;       // Trigger actors taking RPCs
  uint32_t l1_workers = 4;
  uint32_t l2_workers = 8;
  uint32_t l2_concurrency = 4;  // indicator computations one L2 worker runs at once (its cores)
  serving::ServiceTime l1_time{serving::LatencyShape::kLognormal, std::chrono::milliseconds(1), 0.3, 3.0};
  serving::ServiceTime l2_time{serving::LatencyShape::kLognormal, std::chrono::milliseconds(10), 0.5, 3.0};
  Duration deadline = std::chrono::milliseconds(250);  // the whole answer, as the caller sees it
  Duration hop_margin = std::chrono::milliseconds(5);  // kept back per level to send a partial answer in time
  Duration worker_startup = std::chrono::seconds(1);   // process start + data load; paid before ALIVE
  Duration eject_for = std::chrono::seconds(2);        // a Dispatcher skips a worker that failed this long
  uint32_t max_attempts = 2;                           // per dispatched call, first try included
  runtime::ResourceSet worker_resources{{"CPU", 1}};
  runtime::LabelSelector labels;                       // where the workers may run
  TANDEM_CODEC_FIELDS(name, banks, indicators, triggers, l1_workers, l2_workers, l2_concurrency, l1_time, l2_time,
                      deadline, hop_margin, worker_startup, eject_for, max_attempts, worker_resources, labels)

  // kInvalidArgument listing every problem, or ok.
  Status validate() const;
  uint32_t expected_values() const { return banks * indicators; }
};

// One request: the time the strategy is computed for, and how long the caller waits.
struct FanoutRequest {
  uint64_t id = 0;
  int64_t time = 0;
  Duration budget = std::chrono::milliseconds(250);  // capped by the spec's deadline
  TANDEM_CODEC_FIELDS(id, time, budget)
};

struct BankResult {
  uint32_t bank = 0;
  std::vector<double> values;     // by indicator; 0 where missing
  std::vector<uint32_t> missing;  // indicators without a value
  std::string error;              // why some are missing (first cause)
  TANDEM_CODEC_FIELDS(bank, values, missing, error)
};

struct FanoutReply {
  uint64_t id = 0;
  uint32_t expected = 0;
  uint32_t computed = 0;
  bool complete = false;
  double score = 0;        // the strategy: sum of every computed value
  std::string error;       // when not complete: "12 of 32 values missing: bank 3: ..."
  TANDEM_CODEC_FIELDS(id, expected, computed, complete, score, error)
};

// The deterministic value of one indicator (what calcBankIndicators computes): a function of its inputs only,
// so tests can check answers.
double indicator_value(int64_t time, uint32_t bank, uint32_t indicator);

// Actor names: "fanout/<name>/trigger/<i>", "fanout/<name>/l1/<i>", "fanout/<name>/l2/<i>".
std::string fanout_actor_name(const std::string& app, const char* role, uint32_t index);

}  // namespace tandem::apps
