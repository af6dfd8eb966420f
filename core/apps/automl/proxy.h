// Proxy: the AutoML service's entry point, a named actor (config.proxy_name, "proxy" by default) that clients
// find with get_actor(). It accepts jobs and answers queries; each job gets its own trainer actor.
//
// Contract:
// - submit(spec): validates the spec (kInvalidArgument naming the field), stores it in the KV under a new job
//   id ("job-1", "job-2", ...; never reused, also across proxy restarts), creates the job's trainer and returns
//   the id. A trainer that no node could ever host fails the job (FAILED, with the reason) and the call.
// - Idempotence: a spec with a submission_key makes at most one job per key, also across proxy restarts and
//   concurrent retries: the job is stored, then the key claimed for it (put-if-absent); a submit that finds the
//   key claimed answers with that job (kFailedPrecondition if it was submitted with another spec); a job
//   stored whose claim was lost to a retry is deleted, and start() claims or deletes any job a dead life left
//   stored but unclaimed.
// - status(job): the job's state, progress and best candidate so far, read from the trainer's checkpoint, so it
//   answers while the trainer restarts. An unknown job id is kNotFound naming the id.
// - list_jobs(): every job id this service knows, in submission order.
// - Supervision: every supervise_period the proxy makes sure each RUNNING job has a trainer (re-creating one
//   that is DEAD, e.g. killed by an operator); the trainer resumes from the checkpoint.
// - The proxy itself is detached with unlimited restarts; start() rebuilds its job list from the KV.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/apps/automl/config.h"
#include "core/apps/automl/job.h"
#include "core/runtime/actor.h"

namespace tandem::apps::automl {

class Proxy final : public runtime::Actor {
 public:
  Proxy(runtime::ActorContext& context, AutoMLConfig config);
  Task<Status> start() override;

  Task<Result<std::string>> submit(JobSpec spec);
  Task<Result<JobStatus>> status(std::string job);
  Task<Result<std::vector<std::string>>> list_jobs();

 private:
  struct Job {
    uint64_t number = 0;
    uint64_t candidates = 0;
    bool ended = false;  // the checkpoint said SUCCEEDED or FAILED
  };
  // Makes `key` name `job` unless it names another job already; true when it names `job` now.
  Task<Result<bool>> claim(const std::string& key, const std::string& job);
  // The job `key` names, if any (listing it here if this life has not seen it); kFailedPrecondition when that
  // job was submitted with another spec.
  Task<Result<std::optional<std::string>>> job_of_key(const std::string& key, const Bytes& spec);
  Task<Result<JobStatus>> read_status(const std::string& job);
  Task<Status> ensure_trainer(const std::string& job);
  Task<Status> fail_job(const std::string& job, const std::string& error);
  Task<void> supervise();

  runtime::ActorContext& context_;
  AutoMLConfig config_;
  std::map<std::string, Job> jobs_;
  uint64_t next_job_ = 1;
};

}  // namespace tandem::apps::automl
