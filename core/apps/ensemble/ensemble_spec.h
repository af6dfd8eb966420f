// EnsembleSpec: the seed's online model serving (slide 5) — several model services (LR, NN, ...) each served by
// the serving control plane (AppMaster, proxies, backends; one core/serving service per model), and an ensemble
// step, an actor that asks every model for its prediction within a deadline and combines them by weight.
// Models are retrained continuously and a new version is rolled out every 10-30 minutes (ModelUpdater, through
// the upgrade state machine, so a bad model version is rolled back by validation).
//
// Contract:
// - validate() returns ONE kInvalidArgument naming every bad field; nothing is created from an invalid spec.
// - A prediction is a weighted mean over the models that answered by the deadline; with fewer than `quorum`
//   answers the ensemble fails the request explicitly (kUnavailable, naming the missing models), otherwise it
//   answers, `degraded` when some model is missing.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/common/result.h"
#include "core/env/time.h"
#include "core/runtime/codec.h"
#include "core/serving/messages.h"
#include "core/serving/service_spec.h"

namespace tandem::apps {

inline constexpr size_t kMaxEnsembleModels = 16;

struct EnsembleModel {
  std::string service;  // the serving service that runs this model
  double weight = 1;
  TANDEM_CODEC_FIELDS(service, weight)
};

struct EnsembleSpec {
  std::string name = "ensemble";
  std::vector<EnsembleModel> models;
  uint32_t quorum = 1;                                 // models that must answer for a prediction
  Duration deadline = std::chrono::milliseconds(100);  // the ensemble's answer; each model gets this less a hop
  Duration hop_margin = std::chrono::milliseconds(5);
  std::string local_cluster;                           // the ensemble's own cluster: models there first
  serving::Endpoint discovery;                         // where the model services are found
  Duration pull_interval = std::chrono::seconds(1);
  TANDEM_CODEC_FIELDS(name, models, quorum, deadline, hop_margin, local_cluster, discovery, pull_interval)

  Status validate() const;
};

struct EnsembleReply {
  double score = 0;                             // weighted mean of the models' scores, in [0, 1)
  uint32_t answered = 0;                        // models that answered
  bool degraded = false;                        // some model missing, quorum still met
  std::map<std::string, std::string> versions;  // model service -> version that answered
  std::string error;                            // degraded: which models are missing and why
  TANDEM_CODEC_FIELDS(score, answered, degraded, versions, error)
};

// A model's answer as a score in [0, 1) (the simulated model's output is a string; this is its number).
double model_score(const std::string& answer);

// A model service for the serving control plane: versions v1..v<versions> of one model (same answers, so a
// retrained version passes Diffy validation; a real deployment compares scores within a tolerance instead),
// `replicas` backends in `cluster`, rolled two at a time.
serving::ServiceSpec model_service_spec(const std::string& name, const std::string& cluster, int32_t replicas,
                                        uint32_t versions, Duration median_latency);

}  // namespace tandem::apps
