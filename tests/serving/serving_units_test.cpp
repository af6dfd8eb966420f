// Unit tests of the pure parts of the serving control plane: spec validation, batch planning, validation
// verdicts, locality shares, outlier ejection, the retry budget and the autoscaler.
#include <catch2/catch.hpp>

#include <cmath>

#include "core/runtime/codec.h"
#include "core/serving/autoscaler.h"
#include "core/serving/cost_model.h"
#include "core/serving/locality.h"
#include "core/serving/retry_budget.h"
#include "core/serving/service_metadata.h"
#include "core/serving/upgrade.h"
#include "core/serving/validation.h"
#include "tests/serving/serving_fixture.h"

namespace tandem::serving {
namespace {

using testing::test_spec;

std::string refusal(const ServiceSpec& spec) {
  Status status = spec.validate();
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().code == Errc::kInvalidArgument);
  return status.error().message;
}

TEST_CASE("ServiceSpec: a good spec validates and survives the codec unchanged") {
  ServiceSpec spec = test_spec("ranker", {{"c1", 3}, {"c2", 2}});
  REQUIRE(spec.validate().ok());
  Result<ServiceSpec> back = runtime::decode<ServiceSpec>(runtime::encode(spec));
  REQUIRE(back.ok());
  CHECK(back.value() == spec);
  CHECK(spec.clusters() == std::vector<std::string>{"c1", "c2"});
  CHECK(spec.replicas_in("c2") == 2);
  CHECK(spec.replicas_in("c9") == 0);
}

TEST_CASE("ServiceSpec: invalid specs are refused with one message naming every bad field") {
  ServiceSpec spec = test_spec("ranker", {{"c1", -1}});
  CHECK_THAT(refusal(spec), Catch::Contains("replicas[c1] = -1") && Catch::Contains("nothing was applied"));

  spec = test_spec("ranker", {{"c1", 2}});
  spec.version = "v9";
  CHECK_THAT(refusal(spec), Catch::Contains("unknown version 'v9'"));

  spec = test_spec("ranker", {{"c1", 2}});
  spec.upgrade.max_unavailable = 0;
  spec.upgrade.max_surge = 0;
  CHECK_THAT(refusal(spec), Catch::Contains("upgrade.max_unavailable"));

  spec = test_spec("ranker", {{"c1", 2}});
  spec.upgrade.step = 0;
  CHECK_THAT(refusal(spec), Catch::Contains("upgrade.step"));

  // Max unavailable 0 with step 0: both named in one message.
  spec = test_spec("ranker", {{"c1", 2}});
  spec.upgrade.max_unavailable = 0;
  spec.upgrade.max_surge = 0;
  spec.upgrade.step = 0;
  CHECK_THAT(refusal(spec), Catch::Contains("upgrade.step") && Catch::Contains("upgrade.max_unavailable"));

  spec = test_spec("ranker", {{"c1", 2}});
  spec.autoscale.mode = AutoscaleMode::kReactive;
  spec.autoscale.min_replicas = 5;
  spec.autoscale.max_replicas = 3;
  CHECK_THAT(refusal(spec), Catch::Contains("min_replicas (5) is greater than max_replicas (3)"));

  // Several problems at once: all of them are named.
  spec = test_spec("bad name!", {{"c1", -2}});
  spec.versions[0].error_rate = 1.5;
  spec.proxies_per_cluster = 0;
  const std::string message = refusal(spec);
  CHECK_THAT(message, Catch::Contains("name:") && Catch::Contains("replicas[c1]") &&
                          Catch::Contains("versions[0].error_rate") && Catch::Contains("proxies_per_cluster"));

  spec = test_spec("ranker", {{"c1", 2}});
  spec.versions.push_back(spec.versions[0]);
  CHECK_THAT(refusal(spec), Catch::Contains("listed twice"));
}

std::vector<PlanMember> members(int on_old, int on_new, int detached_old = 0) {
  std::vector<PlanMember> out;
  ActorId id = 1;
  for (int i = 0; i < on_old; ++i) out.push_back(PlanMember{id++, "v1", true, true});
  for (int i = 0; i < on_new; ++i) out.push_back(PlanMember{id++, "v2", true, true});
  for (int i = 0; i < detached_old; ++i) out.push_back(PlanMember{id++, "v1", true, false});
  return out;
}

TEST_CASE("Upgrade planning: batches respect step, max unavailable and max surge") {
  UpgradePolicy policy;
  policy.step = 3;
  policy.max_unavailable = 2;
  policy.max_surge = 0;
  BatchPlan plan = plan_batch(members(10, 0), "v2", 10, policy);
  CHECK(plan.batch.size() == 2);  // max_unavailable bounds it below step
  CHECK(plan.surge == 0);
  CHECK(plan.remaining == 10);

  policy.max_surge = 1;
  plan = plan_batch(members(10, 0), "v2", 10, policy);
  CHECK(plan.batch.size() == 3);
  CHECK(plan.surge == 1);

  policy.max_unavailable = 0;
  policy.max_surge = 2;
  plan = plan_batch(members(4, 0), "v2", 4, policy);
  CHECK(plan.batch.size() == 2);
  CHECK(plan.surge == 2);

  // One instance already down: with max_unavailable 1 nothing more may leave.
  policy = UpgradePolicy{};
  policy.step = 2;
  policy.max_unavailable = 1;
  std::vector<PlanMember> fleet = members(3, 0);
  fleet[0].ready = false;
  plan = plan_batch(fleet, "v2", 3, policy);
  CHECK(plan.batch.empty());

  // Detached instances (a failed batch) are taken first and cost nothing more.
  plan = plan_batch(members(3, 0, 2), "v2", 5, policy);
  CHECK(plan.batch.size() == 2);
  CHECK(plan.batch[0] == 4);
  CHECK(plan.batch[1] == 5);

  // Done: nothing left off the target.
  plan = plan_batch(members(0, 4), "v2", 4, policy);
  CHECK(plan.remaining == 0);
  CHECK(plan.batch.empty());
}

TEST_CASE("Validation: differences beyond old-vs-old noise, error rate and p99 fail the candidate") {
  UpgradePolicy policy;
  policy.max_diff_rate = 0.05;
  policy.max_error_rate_increase = 0.05;
  policy.max_latency_ratio = 2.0;
  auto sample = [](std::string candidate, std::string primary, std::string secondary, bool failed = false,
                   Duration candidate_latency = std::chrono::milliseconds(5)) {
    ReplaySample s;
    s.candidate = ReplayResult{failed, candidate, candidate_latency};
    s.primary = ReplayResult{false, primary, std::chrono::milliseconds(5)};
    s.has_secondary = true;
    s.secondary = ReplayResult{false, secondary, std::chrono::milliseconds(5)};
    return s;
  };
  std::vector<ReplaySample> same;
  for (int i = 0; i < 20; ++i) same.push_back(sample("a" + std::to_string(i), "a" + std::to_string(i), "a" + std::to_string(i)));
  CHECK(judge(same, policy).passed);

  // 20% of answers differ, but old instances disagree as often: that is noise, not a regression.
  std::vector<ReplaySample> noisy = same;
  for (int i = 0; i < 4; ++i) {
    noisy[i].candidate.answer = "x";
    noisy[i].secondary.answer = "y";
  }
  ValidationVerdict verdict = judge(noisy, policy);
  CHECK(verdict.passed);
  CHECK(verdict.noise_rate == Approx(0.2));

  std::vector<ReplaySample> different = same;
  for (int i = 0; i < 4; ++i) different[i].candidate.answer = "x";
  verdict = judge(different, policy);
  CHECK_FALSE(verdict.passed);
  CHECK_THAT(verdict.reason, Catch::Contains("answers differ"));

  std::vector<ReplaySample> failing = same;
  for (int i = 0; i < 5; ++i) failing[i].candidate.failed = true;
  verdict = judge(failing, policy);
  CHECK_FALSE(verdict.passed);
  CHECK_THAT(verdict.reason, Catch::Contains("error rate"));

  std::vector<ReplaySample> slow = same;
  for (ReplaySample& s : slow) s.candidate.latency = std::chrono::milliseconds(30);
  verdict = judge(slow, policy);
  CHECK_FALSE(verdict.passed);
  CHECK_THAT(verdict.reason, Catch::Contains("p99"));

  CHECK(judge({}, policy).passed);
}

TEST_CASE("Cost model: an answer depends on the salt and the payload only, noise on neither, in 15 characters") {
  VersionSpec v1;
  v1.name = "v1";
  VersionSpec v2 = v1;
  v2.name = "v2";
  v2.output_salt = "v1";  // v1's salt (its name): answers alike
  VersionSpec salted = v1;
  salted.name = "v3";
  salted.output_salt = "retrained";
  VersionSpec noisy = v1;
  noisy.output_noise = 1.0;
  Random random(7);
  const std::string answer_v1 = answer(v1, salt_hash(v1), "req-1", random);
  CHECK(answer_v1.size() == 15);  // kept inline by std::string: no allocation per copy
  CHECK(answer_v1.rfind("a:", 0) == 0);
  CHECK(answer(v1, salt_hash(v1), "req-1", random) == answer_v1);
  CHECK(answer(v2, salt_hash(v2), "req-1", random) == answer_v1);
  CHECK(answer(v1, salt_hash(v1), "req-2", random) != answer_v1);
  CHECK(answer(salted, salt_hash(salted), "req-1", random) != answer_v1);
  const std::string noise = answer(noisy, salt_hash(noisy), "req-1", random);
  CHECK(noise.size() == 15);
  CHECK(noise.rfind("n:", 0) == 0);
  CHECK(answer(noisy, salt_hash(noisy), "req-1", random) != noise);
}

TEST_CASE("Locality: the local cluster keeps all traffic while 1.4 x healthy share >= 100%, then spills") {
  std::vector<ClusterView> views{{"c1", 1, 10, 10, 2}, {"c2", 1, 10, 10, 4}};
  std::vector<double> shares = cluster_shares(views, "c1");
  CHECK(shares[0] == Approx(1.0));
  CHECK(shares[1] == Approx(0.0));

  views[0].healthy = 8;  // 1.4 x 80% = 112%: still all local
  shares = cluster_shares(views, "c1");
  CHECK(shares[0] == Approx(1.0));

  views[0].healthy = 5;  // 1.4 x 50% = 70%: 30% spills
  shares = cluster_shares(views, "c1");
  CHECK(shares[0] == Approx(0.7));
  CHECK(shares[1] == Approx(0.3));

  views[0].healthy = 0;  // a dead local cluster sends everything away
  shares = cluster_shares(views, "c1");
  CHECK(shares[0] == Approx(0.0));
  CHECK(shares[1] == Approx(1.0));

  // No locality: weight x availability, nearer clusters preferred.
  std::vector<ClusterView> three{{"a", 2, 10, 10, 1}, {"b", 1, 10, 10, 1}, {"c", 0, 10, 10, 1}};
  shares = cluster_shares(three, "");
  CHECK(shares[0] == Approx(2.0 / 3));
  CHECK(shares[1] == Approx(1.0 / 3));
  CHECK(shares[2] == Approx(0.0));

  // Nothing healthy anywhere: panic, by weight.
  std::vector<ClusterView> dead{{"a", 1, 0, 4, 0}, {"b", 1, 0, 4, 0}};
  shares = cluster_shares(dead, "a");
  CHECK(shares[0] + shares[1] == Approx(1.0));
}

TEST_CASE("Outlier ejection: consecutive failures eject for growing times, within the group cap") {
  OutlierPolicy policy;
  policy.consecutive_failures = 3;
  policy.base = std::chrono::seconds(1);
  policy.max = std::chrono::seconds(3);
  policy.max_fraction = 0.5;
  OutlierDetector detector(policy);
  OutlierDetector::State state;
  TimePoint now{};
  CHECK_FALSE(detector.on_failure(state, now, 0, 4));
  detector.on_success(state);
  CHECK_FALSE(detector.on_failure(state, now, 0, 4));
  CHECK_FALSE(detector.on_failure(state, now, 0, 4));
  CHECK(detector.on_failure(state, now, 0, 4));
  CHECK(detector.ejected(state, now + std::chrono::milliseconds(999)));
  CHECK_FALSE(detector.ejected(state, now + std::chrono::seconds(1)));
  now += std::chrono::seconds(2);
  for (int i = 0; i < 2; ++i) detector.on_failure(state, now, 0, 4);
  CHECK(detector.on_failure(state, now, 0, 4));
  CHECK(detector.ejected(state, now + std::chrono::milliseconds(1999)));  // twice as long the second time
  OutlierDetector::State other;
  for (int i = 0; i < 5; ++i) CHECK_FALSE(detector.on_failure(other, now, 2, 4));  // 2 of 4 ejected: cap
}

TEST_CASE("Retry budget: retries are bounded by a fraction of requests plus a steady allowance") {
  RetryBudget budget(0.2, 0, 100);
  TimePoint now{};
  int allowed = 0;
  for (int i = 0; i < 100; ++i) {
    budget.on_request(now);
    if (budget.try_retry(now)) ++allowed;
  }
  CHECK(allowed == 20);
  RetryBudget steady(0.0, 10, 100);
  int steady_allowed = 0;
  while (steady.try_retry(now)) ++steady_allowed;
  CHECK(steady_allowed == 10);  // the initial allowance
  now += std::chrono::seconds(1);
  while (steady.try_retry(now)) ++steady_allowed;
  CHECK(steady_allowed == 20);  // plus 10 accrued in one second
}

TEST_CASE("Autoscaler: KPA stable window, panic on a burst, no scale-down while panicking, bounds always hold") {
  AutoscalePolicy policy;
  policy.mode = AutoscaleMode::kReactive;
  policy.min_replicas = 1;
  policy.max_replicas = 20;
  policy.target_concurrency = 4;
  policy.tick = std::chrono::seconds(1);
  policy.stable_window = std::chrono::seconds(60);
  policy.panic_window = std::chrono::seconds(6);
  policy.scale_down_delay = std::chrono::seconds(0);
  Autoscaler scaler(policy);
  TimePoint now{};
  int32_t replicas = 2;
  for (int i = 0; i < 60; ++i, now += std::chrono::seconds(1)) {
    scaler.observe(now, 8);
    replicas = scaler.desire(now, replicas);
  }
  CHECK(replicas == 2);  // 8 in flight / 4 per replica
  // A burst: the panic window sees 40 in flight -> 10 replicas within seconds, not after a minute.
  for (int i = 0; i < 7; ++i, now += std::chrono::seconds(1)) {
    scaler.observe(now, 40);
    replicas = scaler.desire(now, replicas);
  }
  CHECK(scaler.panicking(now));
  CHECK(replicas == 10);
  const int32_t peak = replicas;
  // The burst ends; while panicking, no scale-down.
  for (int i = 0; i < 10; ++i, now += std::chrono::seconds(1)) {
    scaler.observe(now, 4);
    replicas = scaler.desire(now, replicas);
    CHECK(replicas >= peak);
  }
  // After the stable window the answer comes down, bounded by the scale-down rate.
  for (int i = 0; i < 120; ++i, now += std::chrono::seconds(1)) {
    scaler.observe(now, 4);
    const int32_t before = replicas;
    replicas = scaler.desire(now, replicas);
    CHECK(replicas >= before / 2);
    CHECK(replicas >= policy.min_replicas);
    CHECK(replicas <= policy.max_replicas);
  }
  CHECK(replicas == 1);
  // Huge load never breaks the maximum.
  for (int i = 0; i < 10; ++i, now += std::chrono::seconds(1)) {
    scaler.observe(now, 10'000);
    replicas = scaler.desire(now, replicas);
    CHECK(replicas <= policy.max_replicas);
  }
  CHECK(replicas == policy.max_replicas);
}

// The daily load: a quiet base and a peak around the middle of the "day".
double daily_load(TimePoint now, Duration day) {
  const double phase = static_cast<double>(to_ns(now) % to_ns(day)) / static_cast<double>(to_ns(day));
  const double peak = std::exp(-std::pow((phase - 0.5) / 0.06, 2));
  return 8 + 72 * peak;
}

// Steps a day-shaped load through a scaler; instances become ready `startup` after they are asked for.
// Returns the ready replicas at the peak of the last day and the replicas the peak needs.
std::pair<int32_t, int32_t> ready_at_peak(AutoscaleMode mode, Duration startup) {
  AutoscalePolicy policy;
  policy.mode = mode;
  policy.min_replicas = 2;
  policy.max_replicas = 40;
  policy.target_concurrency = 4;
  policy.stable_window = std::chrono::seconds(60);
  policy.panic_window = std::chrono::seconds(6);
  policy.scale_down_delay = std::chrono::seconds(30);
  policy.season = std::chrono::hours(1);  // a one-hour "day" keeps the test quick
  policy.season_buckets = 60;
  policy.lead_time = std::chrono::minutes(5);
  Autoscaler scaler(policy);
  const Duration day = policy.season;
  std::vector<TimePoint> instances{TimePoint{}, TimePoint{}};  // when each is ready, oldest first
  int32_t ready_at_peak = 0;
  TimePoint now{};
  const TimePoint end = TimePoint{} + day * 3;
  const TimePoint peak = TimePoint{} + day * 2 + day / 2;
  for (; now < end; now += std::chrono::seconds(5)) {
    scaler.observe(now, daily_load(now, day));
    const int32_t wanted = static_cast<int32_t>(instances.size());
    const int32_t next = scaler.desire(now, wanted);
    for (int32_t i = wanted; i < next; ++i) instances.push_back(now + startup);
    while (static_cast<int32_t>(instances.size()) > next) instances.pop_back();  // the newest go first
    if (now <= peak && now + std::chrono::seconds(5) > peak) {
      for (TimePoint ready : instances) ready_at_peak += ready <= now ? 1 : 0;
    }
  }
  return {ready_at_peak, static_cast<int32_t>(std::ceil(80.0 / 4))};
}

TEST_CASE("Autoscaler: the predictive autoscaler is ready before the daily peak, the reactive one is late") {
  const Duration provisioning = std::chrono::minutes(3);  // node start-up + instance start-up
  auto [predictive_ready, needed] = ready_at_peak(AutoscaleMode::kPredictive, provisioning);
  auto [reactive_ready, needed_too] = ready_at_peak(AutoscaleMode::kReactive, provisioning);
  INFO("predictive " << predictive_ready << ", reactive " << reactive_ready << ", needed " << needed);
  CHECK(predictive_ready >= needed);
  CHECK(reactive_ready < needed);
}

TEST_CASE("Metadata keys: epochs sort and parse back") {
  CHECK(metadata_key("svc", 7) < metadata_key("svc", 10));
  CHECK(epoch_of_key(epoch_key("svc", 42), epoch_prefix("svc")) == 42);
  CHECK(epoch_of_key("serving/svc/epoch/x", epoch_prefix("svc")) == 0);
}

}  // namespace
}  // namespace tandem::serving
