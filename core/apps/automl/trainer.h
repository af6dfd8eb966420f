// Trainer: the actor that runs one AutoML job — it fans the job's candidates out as worker tasks, keeps the
// best result, and checkpoints progress to the control store's KV so that it survives its own death.
//
// Contract:
// - Constructed as Trainer(context, config, job id) by the proxy (detached, unlimited restarts). start() reads
//   the job's spec and its checkpoint (a restarted trainer resumes: finished candidates are never trained
//   again, restores += 1), then launches workers; it never blocks on them.
// - At most config.max_parallel_workers worker tasks in flight, in candidate order. A worker lost with its node
//   is re-run by the runtime (worker_max_retries), then resubmitted by the trainer after candidate_retry_delay,
//   up to max_candidate_attempts in all; an error the worker itself returns fails the job at once.
// - One checkpoint write at a time, always of the latest state (so an older state never overwrites a newer).
//   When the job ends (SUCCEEDED or FAILED) the trainer exits once that final checkpoint is durable.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "core/apps/automl/checkpoint.h"
#include "core/apps/automl/config.h"
#include "core/apps/automl/job.h"
#include "core/metrics/registry.h"
#include "core/runtime/actor.h"
#include "core/runtime/types.h"

namespace tandem::apps::automl {

class Trainer final : public runtime::Actor {
 public:
  Trainer(runtime::ActorContext& context, AutoMLConfig config, std::string job);
  Task<Status> start() override;

 private:
  void pump();
  Task<void> train(uint64_t index);
  void record(uint64_t index, double score);
  void end(JobState state, std::string error);
  void save();
  Task<void> write_checkpoints();
  Task<void> exit_when_alive();

  runtime::ActorContext& context_;
  AutoMLConfig config_;
  std::string job_;
  JobSpec spec_;
  runtime::TaskOptions worker_options_;
  Checkpoint checkpoint_;
  std::deque<uint64_t> queue_;          // candidates to (re)submit, in order
  std::map<uint64_t, uint32_t> failed_attempts_;  // lost attempts per candidate
  size_t in_flight_ = 0;
  bool pumping_ = false;
  bool dirty_ = false;    // checkpoint_ has changes not yet written
  bool writing_ = false;  // write_checkpoints() is running
  metrics::Counter& finished_total_;
  metrics::Counter& resubmitted_total_;
  metrics::Counter& restores_total_;
};

}  // namespace tandem::apps::automl
