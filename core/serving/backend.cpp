#include "core/serving/backend.h"

#include <algorithm>

#include "core/async/sleep.h"
#include "core/serving/cost_model.h"

namespace tandem::serving {

std::string_view backend_phase_name(BackendPhase phase) {
  switch (phase) {
    case BackendPhase::kServing: return "serving";
    case BackendPhase::kReloading: return "reloading";
    case BackendPhase::kStopping: return "stopping";
  }
  return "unknown";
}

ServingBackend::ServingBackend(runtime::ActorContext& context, std::string service, std::string cluster,
                               VersionSpec version, Duration extra_startup, uint64_t epoch)
    : context_(context),
      service_(std::move(service)),
      cluster_(std::move(cluster)),
      version_(load(std::move(version))),
      extra_startup_(extra_startup),
      epoch_(epoch),
      random_(context.random().fork("serving-backend", context.id())),
      slots_(context.clock(), version_->spec.concurrency, size_t{kBackendQueuePerSlot} * version_->spec.concurrency) {}

std::shared_ptr<const ServingBackend::LoadedVersion> ServingBackend::load(VersionSpec version) {
  const uint64_t hash = salt_hash(version);
  return std::make_shared<const LoadedVersion>(LoadedVersion{std::move(version), hash});
}

Task<Status> ServingBackend::start() {
  co_await sleep(context_.clock(), version_->spec.startup + extra_startup_);
  co_return Status{};
}

Status ServingBackend::fence(uint64_t epoch) {
  if (epoch < epoch_) {
    return Error{Errc::kFailedPrecondition, "fenced: AppMaster epoch " + std::to_string(epoch) +
                                                " is older than epoch " + std::to_string(epoch_) + " seen by backend " +
                                                std::to_string(context_.id())};
  }
  epoch_ = epoch;
  return Status{};
}

BackendStatus ServingBackend::snapshot() const {
  return BackendStatus{context_.id(), version_->spec.name, phase_, inflight_, served_, errors_, epoch_, reloads_};
}

Task<Result<ServeReply>> ServingBackend::handle(ServeRequest request) {
  if (phase_ != BackendPhase::kServing) {
    co_return Error{Errc::kUnavailable, "backend " + std::to_string(context_.id()) + " of " + service_ + " is " +
                                            std::string(backend_phase_name(phase_))};
  }
  const TimePoint deadline = context_.clock().now() + request.budget;
  ++inflight_;
  struct Leave {
    uint32_t& inflight;
    ~Leave() { --inflight; }
  } leave{inflight_};
  const size_t waiting_before = slots_.waiting();
  std::optional<Slots::Permit> permit = slots_.try_acquire();
  if (!permit) permit = co_await slots_.acquire(deadline);
  if (!permit) {
    ++errors_;
    if (waiting_before >= size_t{kBackendQueuePerSlot} * slots_.capacity()) {
      co_return Error{Errc::kResourceExhausted, "backend " + std::to_string(context_.id()) + " queue is full"};
    }
    co_return Error{Errc::kTimeout, "request waited past its deadline in backend " + std::to_string(context_.id())};
  }
  // The version that takes the request answers it, even if a reload is asked for meanwhile.
  const std::shared_ptr<const LoadedVersion> taken = version_;
  const VersionSpec& version = taken->spec;
  co_await sleep(context_.clock(), sample_service_time(version.latency, random_));
  const bool broken = std::find(version.broken_in.begin(), version.broken_in.end(), cluster_) != version.broken_in.end();
  if (broken || sample_error(version, random_)) {
    ++errors_;
    co_return Error{Errc::kInternal, "backend " + std::to_string(context_.id()) + " (" + version.name +
                                         ") failed the request (modelled error)"};
  }
  ++served_;
  co_return ServeReply{answer(version, taken->salt_hash, request.payload, random_), version.name, context_.id(), 1};
}

Task<Result<BackendStatus>> ServingBackend::reload(uint64_t epoch, VersionSpec version) {
  if (Status fenced = fence(epoch); !fenced.ok()) co_return fenced.error();
  if (version.name == version_->spec.name && phase_ == BackendPhase::kServing) co_return snapshot();
  if (phase_ != BackendPhase::kServing) {
    co_return Error{Errc::kFailedPrecondition, "backend " + std::to_string(context_.id()) + " is " +
                                                   std::string(backend_phase_name(phase_)) + ", cannot reload"};
  }
  phase_ = BackendPhase::kReloading;
  co_await sleep(context_.clock(), version.reload);
  phase_ = BackendPhase::kServing;
  if (version.reload_fails) {
    co_return Error{Errc::kInternal, "backend " + std::to_string(context_.id()) + " could not reload to " +
                                         version.name + " in place (modelled failure)"};
  }
  slots_.set_capacity(version.concurrency);
  version_ = load(std::move(version));
  ++reloads_;
  co_return snapshot();
}

Task<Result<BackendStatus>> ServingBackend::status(uint64_t epoch) {
  if (epoch > 0) {
    if (Status fenced = fence(epoch); !fenced.ok()) co_return fenced.error();
  }
  co_return snapshot();
}

Status ServingBackend::ping(uint64_t epoch) { return epoch > 0 ? fence(epoch) : Status{}; }

Task<Result<BackendStatus>> ServingBackend::stop(uint64_t epoch) {
  if (Status fenced = fence(epoch); !fenced.ok()) co_return fenced.error();
  phase_ = BackendPhase::kStopping;
  co_return snapshot();
}

}  // namespace tandem::serving
