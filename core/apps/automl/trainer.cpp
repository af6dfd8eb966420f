#include "core/apps/automl/trainer.h"

#include <utility>

#include "core/async/sleep.h"
#include "core/runtime/runtime_client.h"

namespace tandem::apps::automl {

namespace {

// Errors that say the worker never finished (its node, the network or the scheduler failed), not that the
// candidate is bad: worth another attempt.
bool lost(Errc code) {
  return code == Errc::kPeerDied || code == Errc::kTimeout || code == Errc::kUnavailable ||
         code == Errc::kUnreachable || code == Errc::kCancelled;
}

}  // namespace

Trainer::Trainer(runtime::ActorContext& context, AutoMLConfig config, std::string job)
    : context_(context),
      config_(std::move(config)),
      job_(std::move(job)),
      finished_total_(context.metrics().counter("automl_candidates_finished_total",
                                                {{"service", config_.proxy_name}})),
      resubmitted_total_(context.metrics().counter("automl_candidates_resubmitted_total",
                                                   {{"service", config_.proxy_name}})),
      restores_total_(context.metrics().counter("automl_trainer_restores_total", {{"service", config_.proxy_name}})) {
  worker_options_.resources = config_.worker_resources;
  worker_options_.runtime_env = config_.worker_runtime_env;
  worker_options_.max_retries = config_.worker_max_retries;
  worker_options_.timeout = config_.worker_timeout;
}

Task<Status> Trainer::start() {
  runtime::RuntimeClient& client = context_.client();
  Result<std::optional<Bytes>> spec = co_await client.kv_get(job_key(config_, job_));
  if (!spec.ok()) co_return spec.error();
  if (!spec.value()) co_return Error{Errc::kNotFound, "AutoML job " + job_ + " has no spec in the KV"};
  Result<JobSpec> decoded = runtime::decode<JobSpec>(*spec.value());
  if (!decoded.ok()) co_return Error{Errc::kInvalidArgument, "AutoML job " + job_ + ": " + decoded.error().message};
  spec_ = std::move(decoded).value();

  Result<std::optional<Bytes>> saved = co_await client.kv_get(checkpoint_key(config_, job_));
  if (!saved.ok()) co_return saved.error();
  if (saved.value()) {
    Result<Checkpoint> restored = runtime::decode<Checkpoint>(*saved.value());
    if (!restored.ok()) {
      co_return Error{Errc::kInvalidArgument, "AutoML job " + job_ + " checkpoint: " + restored.error().message};
    }
    checkpoint_ = std::move(restored).value();
    checkpoint_.restores += 1;
    restores_total_.increment();
    dirty_ = true;
  }
  if (checkpoint_.state != JobState::kRunning) {
    // Died after its final checkpoint but before exit(): nothing left to do. exit() only once ALIVE.
    context_.spawn(exit_when_alive());
    co_return Status{};
  }
  for (uint64_t i = 0; i < spec_.candidates.size(); ++i) {
    if (!checkpoint_.scores.contains(i)) queue_.push_back(i);
  }
  if (dirty_) save();
  pump();
  co_return Status{};
}

void Trainer::pump() {
  if (pumping_) return;  // a worker that ended inside spawn(): the loop below carries on
  pumping_ = true;
  while (checkpoint_.state == JobState::kRunning && in_flight_ < config_.max_parallel_workers && !queue_.empty()) {
    const uint64_t index = queue_.front();
    queue_.pop_front();
    ++in_flight_;
    context_.spawn(train(index));
  }
  pumping_ = false;
  if (checkpoint_.state == JobState::kRunning && in_flight_ == 0 && queue_.empty()) {
    end(JobState::kSucceeded, {});
  }
}

Task<void> Trainer::train(uint64_t index) {
  const Candidate& candidate = spec_.candidates[index];
  Result<double> score =
      co_await context_.client().submit<double>(std::string(kWorkerFunction), worker_options_, spec_.dataset,
                                                candidate, spec_.cost);
  if (checkpoint_.state != JobState::kRunning) co_return;  // the job failed meanwhile
  if (score.ok()) {
    record(index, score.value());
  } else {
    const std::string what = "candidate " + std::to_string(index) + " (" + candidate.name + ")";
    const uint32_t attempts = ++failed_attempts_[index];
    if (!lost(score.code())) {
      end(JobState::kFailed, what + " failed: " + score.error().to_string());
    } else if (attempts >= config_.max_candidate_attempts) {
      end(JobState::kFailed, what + " was lost " + std::to_string(attempts) +
                                 " times (max_candidate_attempts); last: " + score.error().to_string());
    } else {
      resubmitted_total_.increment();
      co_await sleep(context_.clock(), config_.candidate_retry_delay);
      queue_.push_back(index);
    }
  }
  --in_flight_;
  pump();
}

void Trainer::record(uint64_t index, double score) {
  if (!checkpoint_.scores.emplace(index, score).second) return;
  finished_total_.increment();
  CandidateResult result{index, spec_.candidates[index].name, score};
  if (!checkpoint_.best || better(result, *checkpoint_.best)) checkpoint_.best = std::move(result);
  save();
}

void Trainer::end(JobState state, std::string error) {
  checkpoint_.state = state;
  checkpoint_.error = std::move(error);
  queue_.clear();
  save();
}

void Trainer::save() {
  dirty_ = true;
  if (writing_) return;
  writing_ = true;
  context_.spawn(write_checkpoints());
}

Task<void> Trainer::write_checkpoints() {
  while (dirty_) {
    dirty_ = false;
    const JobState state = checkpoint_.state;
    Status written = co_await context_.client().kv_put(checkpoint_key(config_, job_), runtime::encode(checkpoint_));
    if (!written.ok()) {
      dirty_ = true;
      co_await sleep(context_.clock(), config_.checkpoint_retry);
      continue;
    }
    if (state != JobState::kRunning && !dirty_) {
      writing_ = false;
      context_.exit("AutoML job " + job_ + " " + std::string(job_state_name(state)));
      co_return;
    }
  }
  writing_ = false;
}

Task<void> Trainer::exit_when_alive() {
  (void)co_await context_.client().wait_actor_alive(context_.id(), std::chrono::minutes(1));
  context_.exit("AutoML job " + job_ + " had already ended");
}

}  // namespace tandem::apps::automl
