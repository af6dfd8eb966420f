// EnsembleActor: the ensemble step of the seed's model serving (slide 5, "Ensemble Prediction Engine") — an
// actor that sends each prediction request to every model service at once through a ServingClient per model
// (local-first, retries, ejection: core/serving/serving_client.h), waits at most the deadline, and combines
// the answers by weight (EnsembleSpec's contract).
//
// Contract:
// - start() pulls every model's discovery entry first and is ALIVE only once each model has a live proxy (or
//   after kStartWait, so a missing model makes predictions degraded, not the actor dead).
// - predict() ends by the deadline plus one hop: an EnsembleReply, or kUnavailable naming the missing models
//   when fewer than `quorum` answered.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/apps/ensemble/ensemble_spec.h"
#include "core/runtime/actor.h"
#include "core/runtime/catalog.h"
#include "core/serving/serving_client.h"

namespace tandem::apps {

inline constexpr const char* kEnsembleClass = "EnsembleActor";
inline constexpr Duration kStartWait = std::chrono::seconds(30);

class EnsembleActor final : public runtime::Actor {
 public:
  EnsembleActor(runtime::ActorContext& context, EnsembleSpec spec);
  Task<Status> start() override;
  Task<Result<EnsembleReply>> predict(std::string payload);

 private:
  runtime::ActorContext& context_;
  EnsembleSpec spec_;
  std::vector<std::unique_ptr<serving::ServingClient>> models_;  // by spec_.models index
};

void register_ensemble_classes(runtime::RuntimeCatalog& catalog);

}  // namespace tandem::apps
