#include "core/apps/fanout/deploy.h"

#include "core/apps/fanout/workers.h"
#include "core/async/when.h"

namespace tandem::apps {

namespace {

runtime::ActorOptions worker_options(const FanoutSpec& spec, const char* role, uint32_t index) {
  runtime::ActorOptions options;
  options.name = fanout_actor_name(spec.name, role, index);
  options.resources = spec.worker_resources;
  options.labels = spec.labels;
  options.strategy = runtime::PlacementStrategy::kSpread;
  options.max_restarts = -1;  // the runtime brings a worker back after its node dies
  options.max_concurrency = 4'096;  // calls overlap: the levels wait on the level below, L2 has its own slots
  options.detached = true;
  return options;
}

// Creates `count` actors of one level and waits until every one is ALIVE.
template <typename... Args>
Task<Result<std::vector<runtime::ActorRef>>> create_level(runtime::RuntimeClient& client, const FanoutSpec& spec,
                                                          const char* class_name, const char* role, uint32_t count,
                                                          Duration ready_timeout, const Args&... args) {
  std::vector<runtime::ActorRef> refs;
  for (uint32_t i = 0; i < count; ++i) {
    Result<runtime::ActorHandle> handle =
        co_await client.create_actor(class_name, worker_options(spec, role, i), args...);
    if (!handle.ok()) co_return handle.error();
    refs.push_back(handle.value().ref());
  }
  std::vector<Task<Result<runtime::ActorInfo>>> waits;
  for (const runtime::ActorRef& ref : refs) waits.push_back(client.wait_actor_alive(ref.id, ready_timeout));
  for (Result<runtime::ActorInfo>& alive : co_await when_all(std::move(waits))) {
    if (!alive.ok()) co_return Error{alive.error().code, std::string(role) + " worker did not start: " +
                                                             alive.error().message};
  }
  co_return refs;
}

}  // namespace

Task<Result<FanoutDeployment>> deploy_fanout(runtime::RuntimeClient& client, FanoutSpec spec, Duration ready_timeout) {
  if (Status valid = spec.validate(); !valid.ok()) co_return valid.error();
  FanoutDeployment deployment;
  auto l2 = co_await create_level(client, spec, kFanoutL2Class, "l2", spec.l2_workers, ready_timeout, spec);
  if (!l2.ok()) co_return l2.error();
  deployment.l2 = std::move(l2).value();
  auto l1 = co_await create_level(client, spec, kFanoutL1Class, "l1", spec.l1_workers, ready_timeout, spec,
                                  deployment.l2);
  if (!l1.ok()) co_return l1.error();
  deployment.l1 = std::move(l1).value();
  auto triggers = co_await create_level(client, spec, kFanoutTriggerClass, "trigger", spec.triggers, ready_timeout,
                                        spec, deployment.l1);
  if (!triggers.ok()) co_return triggers.error();
  deployment.triggers = std::move(triggers).value();
  co_return deployment;
}

Task<FanoutOutcome> FanoutClient::request(int64_t time) {
  FanoutOutcome outcome;
  outcome.id = ++next_;
  outcome.time = time;
  outcome.start = client_.env().clock.now();
  FanoutRequest request{outcome.id, time, deadline_};
  Result<FanoutReply> reply =
      co_await triggers_.call<FanoutReply>(outcome.id, outcome.start + deadline_ + grace_, "calc", request);
  outcome.end = client_.env().clock.now();
  if (reply.ok()) {
    outcome.reply = std::move(reply).value();
  } else {
    outcome.code = reply.error().code;
    outcome.error = reply.error().message;
  }
  co_return outcome;
}

}  // namespace tandem::apps
