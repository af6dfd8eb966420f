// The strategy/indicator fan-out (core/apps/fanout) on the sim world: complete answers within the deadline,
// pre-started workers, partial answers with explicit errors under a node crash, bad specs refused.
#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>

#include "core/apps/fanout/deploy.h"
#include "core/apps/fanout/workers.h"
#include "tests/runtime/runtime_fixture.h"

namespace tandem::apps {
namespace {

using namespace std::chrono_literals;
using runtime::RuntimeClient;
using runtime::testing::RuntimeFixture;
using runtime::testing::RuntimeFixtureOptions;

RuntimeFixtureOptions cluster(size_t workers) {
  RuntimeFixtureOptions options;
  options.workers = workers;
  options.worker_resources = runtime::ResourceSet{{"CPU", 16}};
  options.extra_code = register_fanout_classes;
  return options;
}

FanoutSpec small_spec() {
  FanoutSpec spec;
  spec.name = "strategy";
  spec.banks = 8;
  spec.indicators = 4;
  spec.triggers = 2;
  spec.l1_workers = 4;
  spec.l2_workers = 8;
  spec.l2_concurrency = 8;  // 64 cores for 100 req/s x 32 values x ~11 ms: about 55% busy
  return spec;
}

double expected_score(const FanoutSpec& spec, int64_t time) {
  double score = 0;
  for (uint32_t bank = 0; bank < spec.banks; ++bank) {
    for (uint32_t indicator = 0; indicator < spec.indicators; ++indicator) score += indicator_value(time, bank, indicator);
  }
  return score;
}

struct Load {
  std::vector<FanoutOutcome> outcomes;
  uint64_t issued = 0;
};

Task<void> one(FanoutClient& client, int64_t time, std::shared_ptr<Load> load) {
  load->outcomes.push_back(co_await client.request(time));
}

Task<void> load_loop(FanoutClient& client, Scope& scope, Clock& clock, Duration interval, Duration duration,
                     std::shared_ptr<Load> load) {
  const TimePoint end = clock.now() + duration;
  while (clock.now() < end) {
    scope.spawn(one(client, static_cast<int64_t>(load->issued++), load));
    co_await sleep(clock, interval);
  }
}

// Deploys `spec`, then runs `rate` requests per second for `duration` from a client on the head.
struct FanoutRun {
  FanoutRun(RuntimeFixture& t, const FanoutSpec& spec) : t(t), spec(spec) {
    deployment = t.ok(t.await([&](RuntimeClient& c) { return deploy_fanout(c, spec); }));
    client = std::make_unique<FanoutClient>(t.client(), deployment.triggers, spec.deadline);
  }
  std::shared_ptr<Load> start(double rate, Duration duration) {
    auto load = std::make_shared<Load>();
    Scope& scope = t.process(t.head()).drivers;
    scope.spawn(load_loop(*client, scope, t.world.env(t.head()).clock, Duration(static_cast<int64_t>(1e9 / rate)),
                          duration, load));
    return load;
  }
  RuntimeFixture& t;
  FanoutSpec spec;
  FanoutDeployment deployment;
  std::unique_ptr<FanoutClient> client;
};

Duration percentile(std::vector<Duration> latencies, double q) {
  REQUIRE(!latencies.empty());
  std::sort(latencies.begin(), latencies.end());
  const size_t index = std::min(latencies.size() - 1, static_cast<size_t>(q * static_cast<double>(latencies.size())));
  return latencies[index];
}

TEST_CASE("Fanout: every answer is complete and correct within the 250ms deadline (8 banks x 4 indicators)") {
  RuntimeFixture t(cluster(4));
  FanoutRun run(t, small_spec());
  CHECK(run.deployment.l2.size() == 8);
  CHECK(run.deployment.l1.size() == 4);
  CHECK(run.deployment.triggers.size() == 2);
  auto load = run.start(100, 5s);
  t.run_for(6s);
  REQUIRE(load->outcomes.size() == load->issued);
  CHECK(load->issued >= 490);
  std::vector<Duration> latencies;
  for (const FanoutOutcome& outcome : load->outcomes) {
    INFO(outcome.error << outcome.reply.error);
    REQUIRE(outcome.complete());
    CHECK(outcome.reply.computed == 32);
    CHECK(outcome.reply.score == Approx(expected_score(run.spec, outcome.time)).epsilon(1e-9));
    latencies.push_back(outcome.latency());
  }
  // Pre-started workers: even the first request is answered fast, not after a worker start-up (1s).
  CHECK(load->outcomes.front().latency() < 100ms);
  CHECK(percentile(latencies, 0.99) < run.spec.deadline);
}

TEST_CASE("Fanout: a node crash gives partial answers with explicit errors by the deadline, then full ones again") {
  RuntimeFixture t(cluster(4));
  FanoutSpec spec = small_spec();
  FanoutRun run(t, spec);
  auto load = run.start(100, 12s);
  t.run_for(2s);
  const TimePoint crash_at = t.world.now();
  t.crash(t.worker(1));
  t.run_for(11s);
  REQUIRE(load->outcomes.size() == load->issued);
  uint64_t partial = 0;
  uint64_t failed = 0;
  uint64_t complete_after = 0;
  uint64_t after = 0;
  for (const FanoutOutcome& outcome : load->outcomes) {
    // Never silent, never late: a reply (complete or partial) or an explicit error by the deadline + one hop.
    CHECK(outcome.latency() <= spec.deadline + 20ms);
    if (outcome.code != Errc::kOk) {
      // Only requests sent to a Trigger on the crashed node (in flight at the crash, or before the client
      // ejected it after consecutive timeouts).
      ++failed;
      INFO(to_ns(outcome.start) / 1e9 << " crash at " << to_ns(crash_at) / 1e9 << ": " << outcome.error);
      CHECK(outcome.start >= crash_at - spec.deadline);
      CHECK(outcome.start < crash_at + 1s);
      CHECK_FALSE(outcome.error.empty());
      continue;
    }
    if (!outcome.reply.complete) {
      ++partial;
      CHECK_THAT(outcome.reply.error, Catch::Contains("values missing at the 250ms deadline"));
      CHECK(outcome.reply.computed < outcome.reply.expected);
    }
    if (outcome.start >= crash_at + 4s) {
      ++after;
      complete_after += outcome.complete() ? 1 : 0;
    }
  }
  CHECK(partial + failed > 0);  // the crash was felt
  CHECK(partial < load->outcomes.size() / 10);
  CHECK(failed < load->outcomes.size() / 50);
  // Once the Dispatchers have ejected the dead workers and the runtime restarted them, answers are full again.
  REQUIRE(after > 400);
  CHECK(complete_after == after);
  // The workers came back elsewhere.
  for (const runtime::ActorRef& ref : run.deployment.l2) {
    auto info = t.actor(ref.id);
    REQUIRE(info.has_value());
    CHECK(info->state == runtime::ActorState::kAlive);
    CHECK(info->node != t.worker(1));
  }
}

TEST_CASE("Fanout: an invalid spec is refused naming every bad field and nothing is created") {
  RuntimeFixture t(cluster(2));
  FanoutSpec spec = small_spec();
  spec.banks = 0;
  spec.l2_workers = 0;
  spec.hop_margin = 100ms;
  auto refused = t.await([&](RuntimeClient& c) { return deploy_fanout(c, spec); });
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == Errc::kInvalidArgument);
  CHECK_THAT(refused.error().message, Catch::Contains("banks = 0") && Catch::Contains("l2_workers = 0") &&
                                          Catch::Contains("hop_margin") && Catch::Contains("nothing was created"));
  CHECK(t.control_store().actors().empty());
}

}  // namespace
}  // namespace tandem::apps
