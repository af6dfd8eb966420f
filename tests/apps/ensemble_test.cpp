// Ensemble model serving (core/apps/ensemble) on the sim world: three model services behind the serving control
// plane, one ensemble step, and model versions rolled every 10-30 minutes while predictions keep flowing.
#include <catch2/catch.hpp>

#include <memory>

#include "core/apps/ensemble/ensemble_actor.h"
#include "core/apps/ensemble/model_updater.h"
#include "tests/serving/serving_fixture.h"

namespace tandem::apps {
namespace {

using namespace std::chrono_literals;
using serving::testing::ServingFixture;
using serving::testing::ServingFixtureOptions;
using runtime::RuntimeClient;

struct Predictions {
  uint64_t issued = 0;
  uint64_t failed = 0;
  uint64_t degraded = 0;
  std::vector<Result<EnsembleReply>> replies;
  std::map<std::string, std::set<std::string>> versions_seen;  // model -> versions that answered
};

Task<void> predict_once(runtime::ActorHandle ensemble, uint64_t n, std::shared_ptr<Predictions> out) {
  runtime::CallOptions options;
  options.timeout = 1s;
  Result<EnsembleReply> reply = co_await ensemble.call_with<EnsembleReply>(options, "predict", "user-" + std::to_string(n % 101));
  if (!reply.ok()) {
    ++out->failed;
  } else {
    out->degraded += reply.value().degraded ? 1 : 0;
    for (const auto& [model, version] : reply.value().versions) out->versions_seen[model].insert(version);
  }
  out->replies.push_back(std::move(reply));
}

Task<void> predict_loop(runtime::ActorHandle ensemble, Scope& scope, Clock& clock, Duration interval, Duration duration,
                        std::shared_ptr<Predictions> out) {
  const TimePoint end = clock.now() + duration;
  while (clock.now() < end) {
    scope.spawn(predict_once(ensemble, out->issued++, out));
    co_await sleep(clock, interval);
  }
}

TEST_CASE("Ensemble: three models answer through one ensemble step while model versions roll every 10-30 minutes") {
  ServingFixture t(ServingFixtureOptions{.workers_per_cluster = 3});
  register_ensemble_classes(t.catalog);
  std::vector<serving::ServiceSpec> models = {model_service_spec("lr", "c1", 2, 4, 2ms),
                                              model_service_spec("nn", "c1", 2, 4, 8ms),
                                              model_service_spec("gbdt", "c1", 2, 4, 4ms)};
  for (const serving::ServiceSpec& model : models) t.deploy(model);

  EnsembleSpec spec;
  spec.models = {{"lr", 1}, {"nn", 2}, {"gbdt", 1}};
  spec.quorum = 2;
  spec.local_cluster = "c1";
  spec.discovery = t.discovery_endpoint();
  REQUIRE(spec.validate().ok());
  runtime::ActorHandle ensemble = t.ok(t.on_head("c1", [&](RuntimeClient& c) -> Task<Result<runtime::ActorHandle>> {
    runtime::ActorOptions options;
    options.name = "ensemble";
    options.resources = runtime::ResourceSet{{"CPU", 1}};
    options.max_restarts = -1;
    options.max_concurrency = 1'024;
    options.detached = true;
    Result<runtime::ActorHandle> handle = co_await c.create_actor(kEnsembleClass, options, spec);
    if (!handle.ok()) co_return handle.error();
    Result<runtime::ActorInfo> alive = co_await c.wait_actor_alive(handle.value().id(), 60s);
    if (!alive.ok()) co_return alive.error();
    co_return handle.value();
  }));

  // 65 simulated minutes: with releases every 10-30 minutes (each about a minute), at least two happen.
  const Duration run = 65min;
  ModelUpdaterOptions updater_options;
  updater_options.appmaster = t.appmaster_options();
  updater_options.appmaster_client.call_timeout = 2s;
  ModelUpdater updater(t.head_client("c1"), "c1", models, updater_options);
  auto updated = t.start_on_head("c1", [](ModelUpdater& u, Duration d) -> Task<bool> {
    co_await u.run(d);
    co_return true;
  }(updater, run));
  auto predictions = std::make_shared<Predictions>();
  Scope& drivers = t.runtime_process(t.head("c1")).drivers;
  drivers.spawn(predict_loop(ensemble, drivers, t.world.env(t.head("c1")).clock, 500ms, run, predictions));
  t.run_for(run + 10s);
  REQUIRE(updated->has_value());

  // The releases happened 10-30 minutes apart and each went through validation to success.
  const std::vector<ModelRelease>& releases = updater.releases();
  REQUIRE(releases.size() >= 2);
  for (size_t i = 0; i < releases.size(); ++i) {
    INFO("release " << i << " of " << releases[i].service << " " << releases[i].from << " -> " << releases[i].to
                    << ": " << releases[i].reason);
    CHECK(releases[i].final_state == serving::UpgradeState::kSucceeded);
    CHECK(releases[i].ended - releases[i].started < 5min);
    if (i > 0) CHECK(releases[i].started - releases[i - 1].ended >= 10min);
  }
  // The new versions took traffic: some model answered with v2.
  bool saw_v2 = false;
  for (const auto& [model, versions] : predictions->versions_seen) saw_v2 = saw_v2 || versions.count("v2") > 0;
  CHECK(saw_v2);

  // Every prediction was answered, and (almost) never without one of the models.
  REQUIRE(predictions->replies.size() == predictions->issued);
  CHECK(predictions->issued >= 7'700);
  for (const Result<EnsembleReply>& reply : predictions->replies) {
    if (!reply.ok()) FAIL_CHECK(reply.error().to_string());
  }
  CHECK(predictions->failed == 0);
  CHECK(static_cast<double>(predictions->degraded) <= 0.001 * static_cast<double>(predictions->issued));
}

TEST_CASE("Ensemble: an invalid spec is refused naming every bad field") {
  EnsembleSpec spec;
  spec.models = {{"lr", 1}, {"lr", 0}};
  spec.quorum = 3;
  spec.deadline = 4ms;
  Status refused = spec.validate();
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == Errc::kInvalidArgument);
  CHECK_THAT(refused.error().message, Catch::Contains("models[1].weight") && Catch::Contains("listed twice") &&
                                          Catch::Contains("quorum = 3") && Catch::Contains("hop_margin") &&
                                          Catch::Contains("nothing was created"));
}

}  // namespace
}  // namespace tandem::apps
