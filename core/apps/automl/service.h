// The AutoML service of the seed on the actor runtime: registration, deployment and the client SDK.
//
//   client ──get_actor("proxy")──▶ Proxy actor ──one per job──▶ Trainer actor ──fan-out──▶ worker tasks (GPU)
//                                     │ submit / status                │ checkpoint (KV)
//                                     └──────── reads checkpoints ─────┘
//
// Contract:
// - register_automl(catalog) adds the proxy and trainer classes and the worker function to a catalog (call it
//   once per catalog, at start-up).
// - deploy(client, config) validates the config and creates the proxy (named, detached, unlimited restarts).
//   Deploying again with the same proxy name returns the running proxy.
// - AutoMLClient finds the proxy by name on first use and keeps its handle. Calls fail with the proxy's typed
//   errors; wait() polls status() and rides out a restarting proxy (transient errors) until its timeout.
#pragma once

#include <string>
#include <vector>

#include "core/apps/automl/config.h"
#include "core/apps/automl/job.h"
#include "core/async/task.h"
#include "core/common/result.h"
#include "core/runtime/catalog.h"
#include "core/runtime/runtime_client.h"

namespace tandem::apps::automl {

void register_automl(runtime::RuntimeCatalog& catalog);

Task<Result<runtime::ActorHandle>> deploy(runtime::RuntimeClient& client, AutoMLConfig config);

class AutoMLClient {
 public:
  explicit AutoMLClient(runtime::RuntimeClient& client, std::string proxy_name = "proxy",
                        Duration call_timeout = std::chrono::seconds(30));

  // Looks the proxy up by name (kNotFound when the service is not deployed).
  Task<Status> connect();
  // Submits a job, retrying (up to kSubmitAttempts, backing off from 100 ms to 2 s) when the proxy died, was
  // unreachable, busy or slow; the spec's submission_key (one of this client's own when empty) makes the retries
  // safe: the proxy runs one job per key and answers a retry with its id.
  static constexpr int kSubmitAttempts = 6;
  Task<Result<std::string>> submit(JobSpec spec);
  uint64_t submit_retries() const { return submit_retries_; }
  Task<Result<JobStatus>> status(std::string job);
  Task<Result<std::vector<std::string>>> list_jobs();
  // Polls status() every `poll` until the job ends (SUCCEEDED or FAILED); kTimeout with the last status.
  Task<Result<JobStatus>> wait(std::string job, Duration timeout, Duration poll = std::chrono::milliseconds(500));

 private:
  runtime::RuntimeClient& client_;
  std::string proxy_name_;
  runtime::CallOptions call_options_;
  runtime::ActorHandle proxy_;
  std::string key_base_;  // "c<16 hex digits>", drawn from the node's seeded stream: distinct per client
  uint64_t submitted_ = 0;
  uint64_t submit_retries_ = 0;
};

}  // namespace tandem::apps::automl
