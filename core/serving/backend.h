// ServingBackend: the actor that runs one version of a service's model or user function and answers requests
// — here a simulated cost model (core/serving/cost_model.h): service time, errors, answers, start-up and
// reload times.
//
// Contract:
// - start() takes the version's start-up time (plus any provisioning delay the AppMaster adds), so the actor
//   is ALIVE only once it can serve: an instance never receives traffic half-loaded.
// - handle() serves one request with at most `concurrency` in service at once; the rest wait in a FIFO of at
//   most kBackendQueuePerSlot x concurrency (beyond: kResourceExhausted) until their budget runs out
//   (kTimeout). While reloading or stopping it answers kUnavailable at once, which proxies retry elsewhere.
//   A modelled failure is kInternal and is not retried.
// - reload() switches the version in place: kReloading for the new version's reload time, then serving the
//   new version; a version marked reload_fails fails the reload (kInternal) and keeps the old version.
//   Reloading to the version already running returns at once (recovery re-issues reloads).
// - Control calls carry the AppMaster epoch; a lower epoch than the highest seen is refused
//   (kFailedPrecondition), see core/serving/messages.h.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/env/random.h"
#include "core/runtime/actor.h"
#include "core/serving/messages.h"
#include "core/serving/service_spec.h"
#include "core/serving/slots.h"

namespace tandem::serving {

inline constexpr uint32_t kBackendQueuePerSlot = 64;
// Calls the runtime lets run at once on a backend actor: requests queue in the backend's own Slots, so health
// checks and reloads are never stuck behind requests in the node daemon's queue.
inline constexpr uint32_t kBackendActorConcurrency = 8'192;

class ServingBackend final : public runtime::Actor {
 public:
  ServingBackend(runtime::ActorContext& context, std::string service, std::string cluster, VersionSpec version,
                 Duration extra_startup, uint64_t epoch);

  Task<Status> start() override;

  Task<Result<ServeReply>> handle(ServeRequest request);
  Task<Result<BackendStatus>> reload(uint64_t epoch, VersionSpec version);
  // Health check; with epoch > 0 also adopts the caller as the acting AppMaster (fencing older ones).
  Task<Result<BackendStatus>> status(uint64_t epoch);
  // The periodic health check: status() without the report. The AppMaster needs only "alive, and fenced", and
  // with 1,000 backends checked a second, encoding and decoding a BackendStatus each time was measurable. An
  // inline method: the daemon answers it on arrival, with no coroutine frame or runner.
  Status ping(uint64_t epoch);
  // Refuse new requests from now on (before a planned stop); requests in service finish.
  Task<Result<BackendStatus>> stop(uint64_t epoch);

 private:
  Status fence(uint64_t epoch);
  BackendStatus snapshot() const;

  runtime::ActorContext& context_;
  std::string service_;
  std::string cluster_;
  // A version with what each answer needs of it computed once.
  struct LoadedVersion {
    VersionSpec spec;
    uint64_t salt_hash = 0;
  };
  static std::shared_ptr<const LoadedVersion> load(VersionSpec version);

  std::shared_ptr<const LoadedVersion> version_;  // shared: a request keeps the version it started on
  Duration extra_startup_;
  uint64_t epoch_;
  Random random_;
  BackendPhase phase_ = BackendPhase::kServing;
  uint64_t served_ = 0;
  uint64_t errors_ = 0;
  uint64_t reloads_ = 0;
  uint32_t inflight_ = 0;
  Slots slots_;
};

}  // namespace tandem::serving
