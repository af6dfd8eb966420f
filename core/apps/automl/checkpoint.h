// The AutoML service's state in the control store's KV, and the names of its actors: the one place that says
// where things are kept, so the proxy (writes specs, reads checkpoints) and the trainer (reads specs, writes
// checkpoints) agree.
//
//   <prefix>job/<id>    JobSpec, written once by the proxy before the trainer exists (kv_put_if_absent)
//   <prefix>ckpt/<id>   Checkpoint, overwritten by the job's trainer (one writer at a time, latest state)
//   actor "<proxy_name>/trainer/<id>"  the job's trainer (detached, unlimited restarts)
//
// Contract: a candidate is finished exactly when its score is in a durable checkpoint; a restarted trainer
// trains only the others. The checkpoint's state is final once SUCCEEDED or FAILED.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "core/apps/automl/config.h"
#include "core/apps/automl/job.h"

namespace tandem::apps::automl {

inline constexpr std::string_view kProxyClass = "AutoMLProxy";
inline constexpr std::string_view kTrainerClass = "AutoMLTrainer";
inline constexpr std::string_view kWorkerFunction = "automl_worker";
inline constexpr size_t kMaxJobSpecBytes = size_t{8} << 20;  // encoded; half the KV's value limit

struct Checkpoint {
  JobState state = JobState::kRunning;
  std::map<uint64_t, double> scores;  // finished candidates: index -> score
  std::optional<CandidateResult> best;
  std::string error;
  uint32_t restores = 0;
  TANDEM_CODEC_FIELDS(state, scores, best, error, restores)
};

inline std::string job_key(const AutoMLConfig& config, const std::string& job) {
  return config.key_prefix + "job/" + job;
}
// The job id a submission key was given (see JobSpec::submission_key).
inline std::string submission_key(const AutoMLConfig& config, const std::string& key) {
  return config.key_prefix + "submission/" + key;
}
inline std::string checkpoint_key(const AutoMLConfig& config, const std::string& job) {
  return config.key_prefix + "ckpt/" + job;
}
inline std::string trainer_name(const AutoMLConfig& config, const std::string& job) {
  return config.proxy_name + "/trainer/" + job;
}

inline JobStatus status_of(const std::string& job, uint64_t candidates, const Checkpoint& checkpoint) {
  return JobStatus{job,         checkpoint.state,         candidates, checkpoint.scores.size(),
                   checkpoint.best, checkpoint.error, checkpoint.restores};
}

}  // namespace tandem::apps::automl
