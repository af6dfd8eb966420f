#include "core/apps/automl/proxy.h"

#include <algorithm>
#include <charconv>
#include <utility>

#include "core/apps/automl/checkpoint.h"
#include "core/async/sleep.h"
#include "core/runtime/runtime_client.h"

namespace tandem::apps::automl {

namespace {

constexpr std::string_view kJobIdPrefix = "job-";
constexpr int kMaxIdAttempts = 1'000;  // job ids taken by an earlier life of the proxy, skipped on submit

std::string job_id(uint64_t number) { return std::string(kJobIdPrefix) + std::to_string(number); }

// The number in "job-<n>"; 0 when the id has another form.
uint64_t job_number(std::string_view id) {
  if (!id.starts_with(kJobIdPrefix)) return 0;
  id.remove_prefix(kJobIdPrefix.size());
  uint64_t number = 0;
  const auto [end, error] = std::from_chars(id.data(), id.data() + id.size(), number);
  return error == std::errc{} && end == id.data() + id.size() ? number : 0;
}

// Errors after which creating the trainer again cannot help.
bool permanent(Errc code) {
  return code == Errc::kResourceExhausted || code == Errc::kNotFound || code == Errc::kInvalidArgument ||
         code == Errc::kFailedPrecondition;
}

}  // namespace

Proxy::Proxy(runtime::ActorContext& context, AutoMLConfig config) : context_(context), config_(std::move(config)) {}

Task<Status> Proxy::start() {
  runtime::RuntimeClient& client = context_.client();
  const std::string prefix = config_.key_prefix + "job/";
  Result<std::vector<std::string>> keys = co_await client.kv_keys(prefix);
  if (!keys.ok()) co_return keys.error();
  for (const std::string& key : keys.value()) {
    const std::string id = key.substr(prefix.size());
    Result<std::optional<Bytes>> spec = co_await client.kv_get(key);
    if (!spec.ok()) co_return spec.error();
    if (!spec.value()) continue;
    Result<JobSpec> decoded = runtime::decode<JobSpec>(*spec.value());
    if (!decoded.ok()) co_return Error{Errc::kInvalidArgument, "AutoML job " + id + ": " + decoded.error().message};
    const uint64_t number = job_number(id);
    next_job_ = std::max(next_job_, number + 1);
    if (!decoded.value().submission_key.empty()) {
      // A submit that stored its job but died before claiming its key: claim it now, unless a retry of the
      // same submission already made another job, which makes this one a duplicate to forget.
      Result<bool> owned = co_await claim(decoded.value().submission_key, id);
      if (!owned.ok()) co_return owned.error();
      if (!owned.value()) {
        Result<bool> deleted = co_await client.kv_delete(key);
        if (!deleted.ok()) co_return deleted.error();
        continue;
      }
    }
    jobs_[id] = Job{number, decoded.value().candidates.size(), false};
  }
  context_.spawn(supervise());
  co_return Status{};
}

Task<Result<std::string>> Proxy::submit(JobSpec spec) {
  if (Status valid = validate(spec); !valid.ok()) co_return valid.error();
  Bytes bytes = runtime::encode(spec);
  if (bytes.size() > kMaxJobSpecBytes) {
    co_return Error{Errc::kInvalidArgument, "the job spec encodes to " + std::to_string(bytes.size()) +
                                                " bytes, more than kMaxJobSpecBytes; split it into several jobs"};
  }
  const std::string& key = spec.submission_key;
  if (!key.empty()) {
    // A retry of a submission already made: answer with its job (the first attempt creates its trainer, or
    // supervise() does).
    Result<std::optional<std::string>> earlier = co_await job_of_key(key, bytes);
    if (!earlier.ok()) co_return earlier.error();
    if (earlier.value()) co_return *earlier.value();
  }
  std::string id;
  uint64_t number = 0;
  for (int attempt = 0;; ++attempt) {
    if (attempt == kMaxIdAttempts) co_return Error{Errc::kInternal, "no free AutoML job id after 1000 attempts"};
    number = next_job_++;
    id = job_id(number);
    Result<bool> stored = co_await context_.client().kv_put_if_absent(job_key(config_, id), bytes);
    if (!stored.ok()) co_return stored.error();
    if (stored.value()) break;
  }
  if (!key.empty()) {
    // Stored first, claimed second: a proxy that dies in between finds the job in start() and claims it then.
    Result<bool> owned = co_await claim(key, id);
    if (!owned.ok()) co_return owned.error();  // the job stays unlisted; start() settles it
    if (!owned.value()) {
      // A concurrent retry of this submission claimed the key first: its job is the one.
      (void)co_await context_.client().kv_delete(job_key(config_, id));
      Result<std::optional<std::string>> winner = co_await job_of_key(key, bytes);
      if (!winner.ok()) co_return winner.error();
      if (!winner.value()) co_return Error{Errc::kInternal, "submission key \"" + key + "\" was claimed and lost"};
      co_return *winner.value();
    }
  }
  jobs_[id] = Job{number, spec.candidates.size(), false};
  Status trainer = co_await ensure_trainer(id);
  if (!trainer.ok() && permanent(trainer.code())) {
    const std::string error = "its trainer cannot be created: " + trainer.error().message;
    (void)co_await fail_job(id, error);
    co_return Error{trainer.code(), "AutoML job " + id + " failed: " + error};
  }
  // Any other failure is transient: supervise() creates the trainer later.
  co_return id;
}

Task<Result<bool>> Proxy::claim(const std::string& key, const std::string& job) {
  Result<bool> claimed = co_await context_.client().kv_put_if_absent(submission_key(config_, key), Bytes(job));
  if (!claimed.ok() || claimed.value()) co_return claimed;
  Result<std::optional<Bytes>> owner = co_await context_.client().kv_get(submission_key(config_, key));
  if (!owner.ok()) co_return owner.error();
  co_return owner.value() && *owner.value() == job;  // claimed by this job before (a retried claim)
}

Task<Result<std::optional<std::string>>> Proxy::job_of_key(const std::string& key, const Bytes& spec) {
  Result<std::optional<Bytes>> owner = co_await context_.client().kv_get(submission_key(config_, key));
  if (!owner.ok()) co_return owner.error();
  if (!owner.value()) co_return std::nullopt;
  const std::string id = *owner.value();
  Result<std::optional<Bytes>> stored = co_await context_.client().kv_get(job_key(config_, id));
  if (!stored.ok()) co_return stored.error();
  if (stored.value() && *stored.value() != spec) {
    co_return Error{Errc::kFailedPrecondition, "submission key \"" + key + "\" was used for another job spec (" +
                                                   id + "); give a new job a new key"};
  }
  const auto [known, added] = jobs_.try_emplace(id);
  if (added && stored.value()) {
    Result<JobSpec> decoded = runtime::decode<JobSpec>(*stored.value());
    known->second = Job{job_number(id), decoded.ok() ? decoded.value().candidates.size() : 0, false};
  }
  co_return id;
}

Task<Result<JobStatus>> Proxy::status(std::string job) { co_return co_await read_status(job); }

Task<Result<std::vector<std::string>>> Proxy::list_jobs() {
  std::vector<std::pair<uint64_t, std::string>> ordered;
  for (const auto& [id, job] : jobs_) ordered.emplace_back(job.number, id);
  std::sort(ordered.begin(), ordered.end());
  std::vector<std::string> ids;
  for (auto& [number, id] : ordered) ids.push_back(std::move(id));
  co_return ids;
}

Task<Result<JobStatus>> Proxy::read_status(const std::string& job) {
  auto known = jobs_.find(job);
  if (known == jobs_.end()) {
    co_return Error{Errc::kNotFound, "no AutoML job \"" + job + "\" on proxy \"" + config_.proxy_name +
                                         "\"; submit() returns job ids and list_jobs() lists them"};
  }
  const uint64_t candidates = known->second.candidates;
  Result<std::optional<Bytes>> saved = co_await context_.client().kv_get(checkpoint_key(config_, job));
  if (!saved.ok()) co_return saved.error();
  Checkpoint checkpoint;  // none yet: the trainer has not finished a candidate
  if (saved.value()) {
    Result<Checkpoint> decoded = runtime::decode<Checkpoint>(*saved.value());
    if (!decoded.ok()) {
      co_return Error{Errc::kInternal, "AutoML job " + job + " has an unreadable checkpoint: " +
                                           decoded.error().message};
    }
    checkpoint = std::move(decoded).value();
  }
  if (checkpoint.state != JobState::kRunning) jobs_.at(job).ended = true;
  co_return status_of(job, candidates, checkpoint);
}

Task<Status> Proxy::ensure_trainer(const std::string& job) {
  runtime::ActorOptions options;
  options.name = trainer_name(config_, job);
  options.resources = config_.trainer_resources;
  options.max_restarts = runtime::kUnlimited;
  options.detached = true;       // a proxy restart must not take its trainers along
  options.get_if_exists = true;  // alive (or restarting) already: nothing to do
  Result<runtime::ActorHandle> trainer =
      co_await context_.create_actor(std::string(kTrainerClass), options, config_, job);
  if (!trainer.ok()) co_return trainer.error();
  co_return Status{};
}

Task<Status> Proxy::fail_job(const std::string& job, const std::string& error) {
  Checkpoint checkpoint;
  checkpoint.state = JobState::kFailed;
  checkpoint.error = error;
  Status written = co_await context_.client().kv_put(checkpoint_key(config_, job), runtime::encode(checkpoint));
  if (written.ok()) jobs_.at(job).ended = true;  // else supervise() tries again
  co_return written;
}

Task<void> Proxy::supervise() {
  while (true) {
    co_await sleep(context_.clock(), config_.supervise_period);
    std::vector<std::string> running;
    for (const auto& [id, job] : jobs_) {
      if (!job.ended) running.push_back(id);
    }
    for (const std::string& id : running) {
      Result<JobStatus> status = co_await read_status(id);  // marks ended jobs
      if (!status.ok() || status.value().state != JobState::kRunning) continue;
      Status trainer = co_await ensure_trainer(id);
      if (!trainer.ok() && permanent(trainer.code())) {
        (void)co_await fail_job(id, "its trainer cannot be created: " + trainer.error().message);
      }
    }
  }
}

}  // namespace tandem::apps::automl
