#include "core/apps/ensemble/ensemble_actor.h"

#include "core/async/sleep.h"
#include "core/async/when.h"

namespace tandem::apps {

EnsembleActor::EnsembleActor(runtime::ActorContext& context, EnsembleSpec spec)
    : context_(context), spec_(std::move(spec)) {
  for (const EnsembleModel& model : spec_.models) {
    serving::ServingClientOptions options;
    options.service = model.service;
    options.local_cluster = spec_.local_cluster;
    options.discovery = spec_.discovery.address();
    options.pull_interval = spec_.pull_interval;
    options.deadline = spec_.deadline - spec_.hop_margin;
    options.per_try_timeout = options.deadline / 2;  // room for one retry elsewhere
    models_.push_back(std::make_unique<serving::ServingClient>(context_.env(), options));
  }
}

Task<Status> EnsembleActor::start() {
  if (Status valid = spec_.validate(); !valid.ok()) co_return valid;
  for (auto& model : models_) model->start();
  const TimePoint give_up = context_.clock().now() + kStartWait;
  auto all_ready = [&] {
    for (const auto& model : models_) {
      if (!model->ready()) return false;
    }
    return true;
  };
  while (!all_ready() && context_.clock().now() < give_up) {
    co_await sleep(context_.clock(), std::chrono::milliseconds(50));
  }
  co_return Status{};
}

Task<Result<EnsembleReply>> EnsembleActor::predict(std::string payload) {
  std::vector<Task<serving::RequestOutcome>> calls;
  for (auto& model : models_) calls.push_back(model->request(payload));
  std::vector<serving::RequestOutcome> outcomes = co_await when_all(std::move(calls));
  EnsembleReply reply;
  double weights = 0;
  std::string missing;
  for (size_t i = 0; i < outcomes.size(); ++i) {
    const serving::RequestOutcome& outcome = outcomes[i];
    const EnsembleModel& model = spec_.models[i];
    if (!outcome.ok()) {
      missing += (missing.empty() ? "" : "; ") + model.service + ": " + std::string(errc_name(outcome.code)) + " " +
                 outcome.error;
      continue;
    }
    ++reply.answered;
    reply.score += model.weight * model_score(outcome.answer);
    weights += model.weight;
    reply.versions[model.service] = outcome.version;
  }
  if (reply.answered < spec_.quorum) {
    co_return Error{Errc::kUnavailable, "ensemble " + spec_.name + ": " + std::to_string(reply.answered) + " of " +
                                            std::to_string(models_.size()) + " models answered, quorum is " +
                                            std::to_string(spec_.quorum) + ": " + missing};
  }
  reply.score /= weights;
  reply.degraded = reply.answered < models_.size();
  reply.error = missing;
  co_return reply;
}

void register_ensemble_classes(runtime::RuntimeCatalog& catalog) {
  catalog.actor_classes.add<EnsembleActor, EnsembleSpec>(kEnsembleClass).method("predict", &EnsembleActor::predict);
}

}  // namespace tandem::apps
