// The AutoML service on a 20-node simulated cluster (a head and 19 GPU workers) while workers crash and come
// back at random: every job must end SUCCEEDED with the true best candidate, computed from the candidate
// definitions alone.
#include <catch2/catch.hpp>

#include <map>

#include "core/apps/automl/service.h"
#include "tests/runtime/runtime_fixture.h"

namespace tandem::apps::automl {
namespace {

using runtime::ResourceSet;
using runtime::testing::RuntimeFixture;
using runtime::testing::RuntimeFixtureOptions;

struct ChaosFigures {
  size_t crashes = 0;
  uint64_t lost_work = 0;  // worker tasks re-run, candidates resubmitted, trainers restored
};

ChaosFigures run_chaos(uint64_t seed) {
  RuntimeFixtureOptions options;
  options.workers = 19;
  options.seed = seed;
  options.worker_resources = ResourceSet{{"CPU", 4}, {"GPU", 2}, {"memory", 16e9}};
  options.extra_code = register_automl;
  RuntimeFixture t(options);
  AutoMLConfig config;
  config.max_parallel_workers = 6;
  config.supervise_period = std::chrono::seconds(1);
  t.ok(t.await([&](runtime::RuntimeClient& c) { return deploy(c, config); }));
  AutoMLClient client(t.client(), config.proxy_name);

  Random random(seed ^ 0xa11);
  std::vector<JobSpec> specs;
  std::vector<std::shared_ptr<std::optional<Result<JobStatus>>>> results;
  for (size_t j = 0; j < 6; ++j) {
    JobSpec spec;
    spec.dataset = "dataset-" + std::to_string(j);
    spec.cost = CostModel{1000, 0.6};
    const size_t candidates = 20 + random.below(30);
    for (size_t i = 0; i < candidates; ++i) {
      spec.candidates.push_back(Candidate{"m" + std::to_string(i), {{"lr", random.unit()}, {"layers", double(i % 5)}}});
    }
    const std::string job = t.ok(t.await([&](runtime::RuntimeClient&) { return client.submit(spec); }));
    results.push_back(t.start(client.wait(job, std::chrono::minutes(20))));
    specs.push_back(std::move(spec));
  }

  // The nemesis: a worker crashes every ~2 s (at most 3 down at once) and restarts 1-5 s later.
  ChaosFigures figures;
  std::map<TimePoint, NodeId> restarts;
  TimePoint next_crash = t.world.now() + std::chrono::milliseconds(500);
  auto all_done = [&] {
    for (const auto& result : results) {
      if (!result->has_value()) return false;
    }
    return true;
  };
  const TimePoint give_up = t.world.now() + std::chrono::minutes(30);
  while (!all_done() && t.world.now() < give_up) {
    t.run_until([&] { return all_done(); }, std::chrono::milliseconds(100));
    while (!restarts.empty() && restarts.begin()->first <= t.world.now()) {
      t.restart(restarts.begin()->second);
      restarts.erase(restarts.begin());
    }
    if (t.world.now() >= next_crash && restarts.size() < 3) {
      const NodeId victim = t.worker(random.below(t.worker_count()));
      if (t.up(victim)) {
        t.crash(victim);
        ++figures.crashes;
        restarts[t.world.now() + std::chrono::milliseconds(random.between(1000, 5000))] = victim;
      }
      next_crash = t.world.now() + std::chrono::microseconds(static_cast<int64_t>(random.exponential(2e6)));
    }
  }
  REQUIRE(all_done());
  for (size_t j = 0; j < specs.size(); ++j) {
    INFO("job " << j);
    const JobStatus status = t.ok(std::move(**results[j]));
    CHECK(status.state == JobState::kSucceeded);
    CHECK(status.finished == specs[j].candidates.size());
    REQUIRE(status.best);
    CHECK(*status.best == true_best(specs[j]));
  }
  figures.lost_work = t.metrics.counter_sum("runtime_client_task_retries_total") +
                      t.metrics.counter_sum("automl_candidates_resubmitted_total") +
                      t.metrics.counter_sum("automl_trainer_restores_total");
  return figures;
}

TEST_CASE("AutoML chaos: 20 nodes with random worker crashes, every job ends with the true best candidate") {
  for (uint64_t seed : {1, 2, 3}) {
    INFO("seed " << seed);
    const ChaosFigures figures = run_chaos(seed);
    CHECK(figures.crashes >= 5);
    CHECK(figures.lost_work > 0);  // the crashes did hit running work
  }
}

}  // namespace
}  // namespace tandem::apps::automl
