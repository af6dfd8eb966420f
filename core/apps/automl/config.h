// AutoMLConfig: how one AutoML service is deployed — the proxy's name, its KV namespace, the resources and
// runtime environment of each component (the seed: proxy and trainer on CPU, workers on GPU), and the limits
// of the trainer's fan-out and retries. Handed to the proxy's constructor, which passes it to each trainer.
//
// Contract: validate() checks everything before the proxy is created; deploy() (service.h) refuses a bad config
// with kInvalidArgument naming the field.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "core/common/result.h"
#include "core/env/time.h"
#include "core/runtime/codec.h"
#include "core/runtime/resources.h"

namespace tandem::apps::automl {

inline constexpr uint32_t kMaxParallelWorkersLimit = 10'000;
inline constexpr uint32_t kMaxCandidateAttemptsLimit = 1'000;

struct AutoMLConfig {
  std::string proxy_name = "proxy";  // the named actor clients look up
  std::string key_prefix = "automl/";  // KV namespace: <prefix>job/<id> (spec), <prefix>ckpt/<id> (checkpoint)
  runtime::ResourceSet proxy_resources{{"CPU", 1}};
  runtime::ResourceSet trainer_resources{{"CPU", 1}};
  runtime::ResourceSet worker_resources{{"CPU", 1}, {"GPU", 1}};
  std::string worker_runtime_env;        // empty: none; else a runtime env of the catalog
  uint32_t max_parallel_workers = 8;     // worker tasks one trainer keeps in flight
  int32_t worker_max_retries = 3;        // the runtime re-runs a worker whose node died this many times...
  uint32_t max_candidate_attempts = 20;  // ...and the trainer resubmits it this many times before FAILED
  Duration worker_timeout = std::chrono::minutes(10);      // one worker task, waiting for a GPU included
  Duration supervise_period = std::chrono::seconds(2);     // the proxy re-creates trainers that are gone
  Duration candidate_retry_delay = std::chrono::milliseconds(500);  // before resubmitting a lost candidate
  Duration checkpoint_retry = std::chrono::milliseconds(200);       // after a failed checkpoint write

  Status validate() const;
  TANDEM_CODEC_FIELDS(proxy_name, key_prefix, proxy_resources, trainer_resources, worker_resources,
                      worker_runtime_env, max_parallel_workers, worker_max_retries, max_candidate_attempts,
                      worker_timeout, supervise_period, candidate_retry_delay, checkpoint_retry)
};

}  // namespace tandem::apps::automl
