#include "core/serving/appmaster_client.h"

#include "core/async/sleep.h"
#include "core/async/when.h"
#include "core/serving/catalog.h"

namespace tandem::serving {

namespace {
bool retryable(Errc code) {
  return code == Errc::kUnavailable || code == Errc::kTimeout || code == Errc::kPeerDied || code == Errc::kNotFound;
}
}  // namespace

Task<Result<runtime::ActorHandle>> AppMasterClient::handle() {
  if (handle_) co_return *handle_;
  Result<runtime::ActorHandle> found = co_await client_.get_actor(appmaster_name(service_));
  if (found.ok()) handle_ = found.value();
  co_return found;
}

template <typename R, typename... Args>
Task<Result<R>> AppMasterClient::call(std::string method, Args... args) {
  Error last{Errc::kUnavailable, "no attempt made"};
  for (int attempt = 0; attempt < options_.attempts; ++attempt) {
    if (attempt > 0) co_await sleep(client_.env().clock, options_.retry_pause);
    Result<runtime::ActorHandle> target = co_await handle();
    if (!target.ok()) {
      last = target.error();
      if (!retryable(last.code)) co_return last;
      continue;
    }
    runtime::CallOptions call_options;
    call_options.timeout = options_.call_timeout;
    Result<R> result = co_await target.value().call_with<R>(call_options, method, args...);
    if (result.ok()) co_return result;
    last = result.error();
    if (last.code == Errc::kPeerDied) handle_.reset();
    if (!retryable(last.code)) co_return last;
  }
  co_return Error{last.code, "AppMaster of " + service_ + " in " + cluster_ + ": " + method + " failed after " +
                                 std::to_string(options_.attempts) + " attempts: " + last.message};
}

Task<Status> AppMasterClient::ensure(uint64_t job_id) {
  runtime::ActorOptions options;
  options.name = appmaster_name(service_);
  options.resources = options_.resources;
  options.labels = options_.labels;
  options.detached = true;
  options.max_restarts = runtime::kUnlimited;
  options.max_concurrency = 32;
  options.get_if_exists = true;
  Result<runtime::ActorHandle> created = co_await client_.create_actor(kAppMasterClass, options, service_, cluster_,
                                                                       job_id, appmaster_options_);
  if (!created.ok()) co_return created.error();
  handle_ = created.value();
  co_return Status{};
}

Task<Status> AppMasterClient::kill_appmaster(bool no_restart) {
  Result<runtime::ActorHandle> target = co_await handle();
  if (!target.ok()) co_return target.error();
  if (no_restart) handle_.reset();
  co_return co_await client_.kill_actor(target.value().id(), no_restart);
}

Task<Status> AppMasterClient::restart_job(uint64_t job_id, bool kill_members) {
  std::optional<ServiceMetadata> previous;
  if (kill_members) {
    Result<ServiceMetadata> meta = co_await metadata();
    if (meta.ok()) previous = std::move(meta).value();
  }
  Result<runtime::ActorHandle> target = co_await handle();
  if (target.ok()) {
    Status killed = co_await client_.kill_actor(target.value().id(), true);
    if (!killed.ok() && killed.error().code != Errc::kNotFound) co_return killed;
  }
  handle_.reset();
  if (previous) {
    for (const BackendRecord& record : previous->backends) {
      if (record.id != 0) co_await client_.kill_actor(record.id, true);
    }
    for (const ProxyRecord& record : previous->proxies) {
      if (record.id != 0) co_await client_.kill_actor(record.id, true);
    }
  }
  // The name is free once the old actor is DEAD; creation retries until then.
  Error last{Errc::kUnavailable, "no attempt made"};
  for (int attempt = 0; attempt < options_.attempts; ++attempt) {
    runtime::ActorOptions options;
    options.name = appmaster_name(service_);
    options.resources = options_.resources;
    options.labels = options_.labels;
    options.detached = true;
    options.max_restarts = runtime::kUnlimited;
    options.max_concurrency = 32;
    Result<runtime::ActorHandle> created = co_await client_.create_actor(kAppMasterClass, options, service_, cluster_,
                                                                         job_id, appmaster_options_);
    if (created.ok()) {
      handle_ = created.value();
      co_return Status{};
    }
    last = created.error();
    if (last.code != Errc::kAlreadyExists && !retryable(last.code)) co_return last;
    co_await sleep(client_.env().clock, options_.retry_pause);
  }
  co_return last;
}

Task<Result<AppMasterStatus>> AppMasterClient::status() { return call<AppMasterStatus>("status"); }

Task<Result<AppMasterStatus>> AppMasterClient::probe(Duration timeout) {
  const TimePoint deadline = client_.env().clock.now() + timeout;
  if (!handle_) {
    std::optional<Result<runtime::ActorHandle>> found =
        co_await with_timeout(client_.env().clock, timeout, client_.get_actor(appmaster_name(service_)));
    if (!found) co_return Error{Errc::kTimeout, "the AppMaster of " + service_ + " in " + cluster_ + " was not found in time"};
    if (!found->ok()) co_return found->error();
    handle_ = found->value();
  }
  runtime::CallOptions call_options;
  call_options.timeout = std::max<Duration>(deadline - client_.env().clock.now(), std::chrono::milliseconds(1));
  Result<AppMasterStatus> result = co_await handle_->call_with<AppMasterStatus>(call_options, "status");
  if (!result.ok() && result.error().code == Errc::kPeerDied) handle_.reset();
  co_return result;
}
Task<Result<ServiceMetadata>> AppMasterClient::metadata() { return call<ServiceMetadata>("metadata"); }
Task<Status> AppMasterClient::apply(const ServiceSpec& spec) { return call<void>("apply", spec); }
Task<Status> AppMasterClient::scale(int32_t replicas) { return call<void>("scale", replicas); }
Task<Status> AppMasterClient::upgrade(const std::string& version, uint64_t release) {
  return call<void>("upgrade", version, release);
}
Task<Status> AppMasterClient::rollback(uint64_t release, const std::string& reason) {
  return call<void>("rollback", release, reason);
}
Task<Status> AppMasterClient::set_split(const VersionSplit& split) { return call<void>("set_split", split); }
Task<Status> AppMasterClient::promote(uint64_t release) { return call<void>("promote", release); }
Task<Status> AppMasterClient::abort_split() { return call<void>("abort_split"); }
Task<Status> AppMasterClient::stop() { return call<void>("stop"); }

}  // namespace tandem::serving
