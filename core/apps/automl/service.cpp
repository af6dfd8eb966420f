#include "core/apps/automl/service.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "core/apps/automl/checkpoint.h"
#include "core/apps/automl/proxy.h"
#include "core/apps/automl/trainer.h"
#include "core/apps/automl/worker.h"
#include "core/async/sleep.h"

namespace tandem::apps::automl {

namespace {
Error invalid(std::string message) { return Error{Errc::kInvalidArgument, "AutoML config: " + std::move(message)}; }
}  // namespace

Status AutoMLConfig::validate() const {
  if (Status s = runtime::validate_name(proxy_name, "proxy_name"); !s.ok()) return invalid(s.error().message);
  if (key_prefix.empty() || key_prefix.size() > 512) {
    return invalid("key_prefix must be 1..512 bytes (the KV namespace of this service, e.g. \"automl/\")");
  }
  if (max_parallel_workers < 1 || max_parallel_workers > kMaxParallelWorkersLimit) {
    return invalid("max_parallel_workers must be in 1.." + std::to_string(kMaxParallelWorkersLimit));
  }
  if (worker_max_retries < 0 || worker_max_retries > runtime::kMaxRetriesLimit) {
    return invalid("worker_max_retries must be in 0.." + std::to_string(runtime::kMaxRetriesLimit));
  }
  if (max_candidate_attempts < 1 || max_candidate_attempts > kMaxCandidateAttemptsLimit) {
    return invalid("max_candidate_attempts must be in 1.." + std::to_string(kMaxCandidateAttemptsLimit));
  }
  const std::pair<const char*, Duration> durations[] = {{"worker_timeout", worker_timeout},
                                                         {"supervise_period", supervise_period},
                                                         {"candidate_retry_delay", candidate_retry_delay},
                                                         {"checkpoint_retry", checkpoint_retry}};
  for (const auto& [name, duration] : durations) {
    if (duration <= Duration::zero()) return invalid(std::string(name) + " must be positive");
  }
  return Status{};
}

void register_automl(runtime::RuntimeCatalog& catalog) {
  catalog.actor_classes.add<Proxy, AutoMLConfig>(std::string(kProxyClass))
      .method("submit", &Proxy::submit)
      .method("status", &Proxy::status)
      .method("list_jobs", &Proxy::list_jobs);
  catalog.actor_classes.add<Trainer, AutoMLConfig, std::string>(std::string(kTrainerClass));
  catalog.functions.add(std::string(kWorkerFunction), automl_worker);
}

Task<Result<runtime::ActorHandle>> deploy(runtime::RuntimeClient& client, AutoMLConfig config) {
  if (Status valid = config.validate(); !valid.ok()) co_return valid.error();
  runtime::ActorOptions options;
  options.name = config.proxy_name;
  options.resources = config.proxy_resources;
  options.max_restarts = runtime::kUnlimited;
  options.detached = true;
  options.get_if_exists = true;
  co_return co_await client.create_actor(std::string(kProxyClass), options, config);
}

AutoMLClient::AutoMLClient(runtime::RuntimeClient& client, std::string proxy_name, Duration call_timeout)
    : client_(client), proxy_name_(std::move(proxy_name)) {
  call_options_.timeout = call_timeout;
  char base[24];
  std::snprintf(base, sizeof base, "c%016llx", static_cast<unsigned long long>(client_.env().random.next_u64()));
  key_base_ = base;
}

Task<Status> AutoMLClient::connect() {
  if (proxy_.valid()) co_return Status{};
  Result<runtime::ActorHandle> proxy = co_await client_.get_actor(proxy_name_);
  if (!proxy.ok()) {
    if (proxy.code() == Errc::kNotFound) {
      co_return Error{Errc::kNotFound, "no AutoML proxy named \"" + proxy_name_ +
                                           "\" is running; deploy() the service first or check the name"};
    }
    co_return proxy.error();
  }
  proxy_ = proxy.value();
  co_return Status{};
}

Task<Result<std::string>> AutoMLClient::submit(JobSpec spec) {
  if (spec.submission_key.empty()) spec.submission_key = key_base_ + "-" + std::to_string(++submitted_);
  // Worth another try: the proxy died or restarts, its node was unreachable, or the call timed out.
  auto transient = [](Errc code) {
    return code == Errc::kPeerDied || code == Errc::kUnreachable || code == Errc::kTimeout ||
           code == Errc::kUnavailable;
  };
  Duration backoff = std::chrono::milliseconds(100);
  for (int attempt = 1;; ++attempt) {
    Result<std::string> id = Error{Errc::kUnavailable, ""};
    if (Status connected = co_await connect(); !connected.ok()) {
      id = connected.error();
    } else {
      id = co_await proxy_.call_with<std::string>(call_options_, "submit", spec);
      if (id.code() == Errc::kPeerDied || id.code() == Errc::kUnreachable) proxy_ = {};  // look it up again
    }
    if (id.ok() || !transient(id.code()) || attempt == kSubmitAttempts) co_return id;
    ++submit_retries_;
    co_await sleep(client_.env().clock, backoff);
    backoff = std::min<Duration>(backoff * 2, std::chrono::seconds(2));
  }
}

Task<Result<JobStatus>> AutoMLClient::status(std::string job) {
  if (Status connected = co_await connect(); !connected.ok()) co_return connected.error();
  Result<JobStatus> status = co_await proxy_.call_with<JobStatus>(call_options_, "status", job);
  if (status.code() == Errc::kPeerDied) proxy_ = {};  // the proxy is DEAD: look the name up again next time
  co_return status;
}

Task<Result<std::vector<std::string>>> AutoMLClient::list_jobs() {
  if (Status connected = co_await connect(); !connected.ok()) co_return connected.error();
  co_return co_await proxy_.call_with<std::vector<std::string>>(call_options_, "list_jobs");
}

Task<Result<JobStatus>> AutoMLClient::wait(std::string job, Duration timeout, Duration poll) {
  Clock& clock = client_.env().clock;
  const TimePoint deadline = clock.now() + timeout;
  std::string last = "no answer yet";
  while (true) {
    Result<JobStatus> status = co_await this->status(job);
    if (status.ok()) {
      if (status.value().state != JobState::kRunning) co_return status;
      last = std::to_string(status.value().finished) + " of " + std::to_string(status.value().candidates) +
             " candidates finished";
    } else if (status.code() == Errc::kNotFound || status.code() == Errc::kInvalidArgument) {
      co_return status;  // asking again cannot help
    } else {
      last = status.error().to_string();
    }
    if (clock.now() + poll > deadline) {
      co_return Error{Errc::kTimeout, "AutoML job " + job + " did not end within the wait (" + last + ")"};
    }
    co_await sleep(clock, poll);
  }
}

}  // namespace tandem::apps::automl
