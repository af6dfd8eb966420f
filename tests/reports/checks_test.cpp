// Checks judge a RunRecord alone; a check without data is "not evaluated", never a pass.
#include "reports/checks.h"

#include <algorithm>

#include <catch2/catch.hpp>

#include "reports/serving_checks.h"
#include "reports/writers.h"

namespace tandem::reports {
namespace {

// A 10s run with 100ms buckets and one service.
RunRecord empty_record() {
  RunRecord record;
  record.scenario = "synthetic";
  record.duration = std::chrono::seconds(10);
  record.drain = std::chrono::seconds(1);
  record.requests =
      RequestLog(std::chrono::milliseconds(100), std::chrono::seconds(1), std::chrono::seconds(11));
  record.requests.add_service("svc");
  record.node_names = {"c/client0", "c/client1"};
  return record;
}

TimePoint at_ms(int64_t ms) { return TimePoint(std::chrono::milliseconds(ms)); }

// `per_second` requests a second over [from_ms, to_ms), each ending after 5ms with `code`.
void traffic(RunRecord& record, int64_t from_ms, int64_t to_ms, Errc code, int per_second = 100) {
  const int64_t step = 1000 / per_second;
  for (int64_t t = from_ms; t < to_ms; t += step) {
    const auto id = record.requests.begin(0, 0, at_ms(t), std::chrono::milliseconds(200));
    record.requests.end(id, code, at_ms(t + 5), 1);
  }
}

void settle(RunRecord& record) {
  record.requests.settle(at_ms(11'000), [&](NodeId node, int64_t from, int64_t to) {
    return record.node_impaired(node, from, to);
  });
}

TEST_CASE("Checks: with no data every check says not evaluated, never pass") {
  RunRecord record = empty_record();
  settle(record);
  Expectations expect;
  expect.availability = AvailabilityExpectation{0.99, 0.9};
  expect.latency = {{99, std::chrono::milliseconds(100)}};
  expect.recovery = RecoveryExpectation{std::chrono::seconds(1)};
  expect.liveness = LivenessExpectation{std::chrono::seconds(5), std::chrono::seconds(1)};
  expect.serving.upgrade_safety = true;
  expect.serving.single_acting_appmaster = true;
  expect.serving.discovery_convergence = std::chrono::seconds(5);
  expect.serving.autoscaler_bounds = true;
  expect.serving.autoscaler_flapping = FlappingExpectation{2, std::chrono::minutes(1)};
  const std::vector<CheckResult> checks = evaluate_checks(record, expect);
  REQUIRE(checks.size() == 10);
  for (const CheckResult& check : checks) {
    INFO(check.name);
    CHECK(check.status == CheckStatus::kNotEvaluated);
    CHECK_FALSE(check.summary.empty());
  }
  CHECK(all_hold(checks));
  CHECK_FALSE(all_hold(checks, /*strict=*/true));
  CHECK(check_determinism(1, std::nullopt).status == CheckStatus::kNotEvaluated);
}

TEST_CASE("Checks: a request that never ends is lost, unless its client crashed meanwhile") {
  RunRecord record = empty_record();
  traffic(record, 0, 1000, Errc::kOk);
  record.requests.begin(0, 0, at_ms(2000), std::chrono::milliseconds(200));  // client 0 stays up: lost
  record.requests.begin(0, 1, at_ms(3000), std::chrono::milliseconds(200));  // client 1 crashes: abandoned
  record.node_spans = {NodeSpan{1, "down", 3100, std::nullopt}};
  record.node_spans[0].start_ns = 3'100'000'000;
  settle(record);
  const CheckResult check = check_no_lost_requests(record);
  CHECK(check.status == CheckStatus::kFail);
  CHECK(check.summary == "1 lost and 0 late of 102 requests; 1 abandoned by crashed or paused clients");
  CHECK(check.figures["examples"][0]["client"] == "c/client0");
  CHECK(record.requests.totals().lost == 1);
  CHECK(record.requests.totals().abandoned == 1);
}

TEST_CASE("Checks: a reply after the client's own budget is late, unless the client was paused") {
  RunRecord record = empty_record();
  auto late = record.requests.begin(0, 0, at_ms(1000), std::chrono::milliseconds(100));
  record.requests.end(late, Errc::kOk, at_ms(1500), 1);
  auto paused = record.requests.begin(0, 1, at_ms(2000), std::chrono::milliseconds(100));
  record.requests.end(paused, Errc::kTimeout, at_ms(4000), 1);
  record.node_spans = {NodeSpan{1, "paused", 2'050'000'000, 3'900'000'000}};
  settle(record);
  CHECK(record.requests.totals().late == 1);
  const CheckResult check = check_no_lost_requests(record);
  CHECK(check.status == CheckStatus::kFail);
  CHECK(check.summary == "0 lost and 1 late of 2 requests");
}

TEST_CASE("Checks: availability holds overall and in every window, and names the worst window") {
  RunRecord record = empty_record();
  traffic(record, 0, 4000, Errc::kOk);
  traffic(record, 4000, 5000, Errc::kTimeout, 20);  // a bad second: 20 failures
  traffic(record, 4000, 5000, Errc::kOk, 50);
  traffic(record, 5000, 10000, Errc::kOk);
  settle(record);
  AvailabilityExpectation expectation{0.95, 0.9};
  CheckResult check = check_availability(record, expectation);
  CHECK(check.status == CheckStatus::kFail);  // overall 97.9%, but the 4s window is 50/70 = 71.4%
  CHECK(check.summary == "97.938% of 970 requests succeeded; worst 1s window 71.429% at 4s");
  expectation.per_window = 0.7;
  CHECK(check_availability(record, expectation).status == CheckStatus::kPass);
}

TEST_CASE("Checks: recovery is the time from a fault's heal to the first healthy window") {
  RunRecord record = empty_record();
  traffic(record, 0, 2000, Errc::kOk);
  traffic(record, 2000, 5000, Errc::kTimeout);  // broken during the fault and 1s after its heal
  traffic(record, 5000, 10000, Errc::kOk);
  FaultSpan fault;
  fault.kind = "crash";
  fault.label = "crash c/server0";
  fault.start_ns = 2'000'000'000;
  fault.end_ns = 4'000'000'000;
  record.faults = {fault};
  settle(record);
  RecoveryExpectation expectation{std::chrono::seconds(2), 0.95, std::chrono::seconds(1)};
  CheckResult check = check_recovery(record, expectation);
  CHECK(check.status == CheckStatus::kPass);
  CHECK(check.summary == "worst recovery 1s over 1 measured disturbances");
  expectation.max = std::chrono::milliseconds(500);
  check = check_recovery(record, expectation);
  CHECK(check.status == CheckStatus::kFail);
  CHECK(check.summary == "worst recovery 1s over 1 measured disturbances; 1 too slow");
}

TEST_CASE("Checks: liveness needs convergence within the deadline and a whole world at the end") {
  RunRecord record = empty_record();
  traffic(record, 0, 6000, Errc::kTimeout);
  traffic(record, 6000, 10000, Errc::kOk);
  record.heal_at = std::chrono::seconds(5);
  record.world_state_at_end = "all 2 nodes up, no network faults";
  settle(record);
  LivenessExpectation expectation{std::chrono::seconds(5), std::chrono::seconds(2)};
  CheckResult check = check_liveness(record, expectation);
  CHECK(check.status == CheckStatus::kPass);
  CHECK(check.summary == "converged 1s after the heal; all 2 nodes up, no network faults");
  expectation.within = std::chrono::milliseconds(500);
  CHECK(check_liveness(record, expectation).status == CheckStatus::kFail);
  expectation.within = std::chrono::seconds(2);
  record.world_whole_at_end = false;
  CHECK(check_liveness(record, expectation).status == CheckStatus::kFail);
}

TEST_CASE("Checks: latency percentiles are exact over successful requests") {
  CHECK(percentile_of({5, 1, 4, 2, 3}, 50) == 3);
  CHECK(percentile_of({5, 1, 4, 2, 3}, 100) == 5);
  CHECK(percentile_of({5, 1, 4, 2, 3}, 1) == 1);
  RunRecord record = empty_record();
  traffic(record, 0, 1000, Errc::kOk);
  settle(record);
  CHECK(check_latency(record, {{50, std::chrono::milliseconds(5)}}).status == CheckStatus::kPass);
  CHECK(check_latency(record, {{50, std::chrono::milliseconds(4)}}).status == CheckStatus::kFail);
}

TEST_CASE("Checks: settle() sorts the success latencies once, and percentiles read sorted or not agree") {
  RunRecord record = empty_record();
  // Latencies 9, 1, 7, 3, 5 ms (completion order), and one failure, which has no latency.
  int64_t start_ms = 0;
  for (int64_t latency_ms : {9, 1, 7, 3, 5}) {
    const auto id = record.requests.begin(0, 0, at_ms(start_ms), std::chrono::milliseconds(200));
    record.requests.end(id, Errc::kOk, at_ms(start_ms + latency_ms), 1);
    start_ms += 10;
  }
  record.requests.end(record.requests.begin(0, 0, at_ms(100), std::chrono::milliseconds(200)), Errc::kTimeout,
                      at_ms(300), 1);
  const std::vector<int64_t> ms = {1'000'000, 3'000'000, 5'000'000, 7'000'000, 9'000'000};
  const std::vector<int64_t> completion_order = {9'000'000, 1'000'000, 7'000'000, 3'000'000, 5'000'000};
  CHECK(record.requests.success_latencies_ns() == completion_order);
  for (double p : {1.0, 20.0, 50.0, 90.0, 100.0}) {
    INFO("p" << p);
    CHECK(percentile_of_sorted(completion_order, p) == percentile_of(completion_order, p));  // unsorted: copied
    CHECK(percentile_of_sorted(ms, p) == percentile_of(completion_order, p));
  }
  settle(record);
  CHECK(record.requests.success_latencies_ns() == ms);
  CHECK(percentile_of_sorted(record.requests.success_latencies_ns(), 50) == 5'000'000);
  const nlohmann::json summary = latency_summary_ms(record);
  CHECK(summary["p50"] == 5.0);
  CHECK(summary["p90"] == 9.0);
  CHECK(summary["max"] == 9.0);
  CHECK(summary["mean"] == 5.0);
}

TEST_CASE("Checks: settle() sorts a run's worth of latencies (the radix path) exactly as std::sort would") {
  RunRecord record = empty_record();
  // 20,000 latencies from 0 ns to about 34 s (three 11-bit digits and a fourth), with repeats, in a scrambled
  // completion order; budgets are long enough that none is late.
  std::vector<int64_t> expected;
  uint64_t state = 12345;
  for (int i = 0; i < 20'000; ++i) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    const int64_t latency_ns = i % 7 == 0 ? 1'000 * (i % 13) : static_cast<int64_t>(state >> 29);
    const auto id = record.requests.begin(0, 0, TimePoint(std::chrono::nanoseconds(i)), std::chrono::seconds(60));
    record.requests.end(id, Errc::kOk, TimePoint(std::chrono::nanoseconds(i + latency_ns)), 1);
    expected.push_back(latency_ns);
  }
  REQUIRE(record.requests.success_latencies_ns() == expected);  // completion order until settled
  std::sort(expected.begin(), expected.end());
  REQUIRE(expected.back() > (int64_t{1} << 33));  // the fourth digit is exercised
  settle(record);
  CHECK(record.requests.success_latencies_ns() == expected);
}

TEST_CASE("Checks: the determinism check compares two trace hashes") {
  CHECK(check_determinism(0xabc, 0xabc).status == CheckStatus::kPass);
  const CheckResult differ = check_determinism(0xabc, 0xabd);
  CHECK(differ.status == CheckStatus::kFail);
  CHECK(differ.summary == "trace hash 0000000000000abc then 0000000000000abd (a determinism bug)");
}

TEST_CASE("Serving checks: hooks judge recorded data once a serving service fills it") {
  ServingRecord serving;
  CHECK(check_single_acting_appmaster(serving).status == CheckStatus::kNotEvaluated);
  serving.present = true;
  CHECK(check_single_acting_appmaster(serving).status == CheckStatus::kNotEvaluated);
  serving.appmaster_acting = {
      {"svc", "c1", 1, 0, 5'000}, {"svc", "c1", 2, 5'000, std::nullopt}, {"svc", "c2", 1, 0, std::nullopt}};
  CHECK(check_single_acting_appmaster(serving).status == CheckStatus::kPass);
  serving.appmaster_acting.push_back({"svc", "c1", 3, 6'000, std::nullopt});
  CHECK(check_single_acting_appmaster(serving).status == CheckStatus::kFail);

  serving.upgrade_unavailability = {{0, "svc", 1, 2}, {1, "svc", 2, 2}};
  serving.upgrades = {{"svc", true, 10, 10}};
  CHECK(check_upgrade_safety(serving).status == CheckStatus::kPass);
  serving.upgrades = {{"svc", true, 10, 9}};
  CHECK(check_upgrade_safety(serving).status == CheckStatus::kFail);

  serving.discovery = {{"svc", 1'000'000'000, 3'000'000'000}};
  CHECK(check_discovery_convergence(serving, std::chrono::seconds(5)).status == CheckStatus::kPass);
  CHECK(check_discovery_convergence(serving, std::chrono::seconds(1)).status == CheckStatus::kFail);

  serving.replicas = {{0, "svc", 3, 1, 5}};
  CHECK(check_autoscaler_bounds(serving).status == CheckStatus::kPass);
  serving.replicas.push_back({1, "svc", 6, 1, 5});
  CHECK(check_autoscaler_bounds(serving).status == CheckStatus::kFail);
}

// Desired replicas of `service` sampled every second from t = 0: one sample per value.
std::vector<ServingRecord::ReplicaSample> target(const std::string& service, const std::vector<uint32_t>& values) {
  std::vector<ServingRecord::ReplicaSample> samples;
  for (size_t i = 0; i < values.size(); ++i) {
    samples.push_back({static_cast<int64_t>(i) * 1'000'000'000, service, values[i], 1, 20});
  }
  return samples;
}

TEST_CASE("Serving checks: autoscaler flapping counts reversals of the target within a sliding window") {
  ServingRecord serving;
  const FlappingExpectation two_per_minute{2, std::chrono::minutes(1)};
  CHECK(check_autoscaler_flapping(serving, two_per_minute).status == CheckStatus::kNotEvaluated);
  serving.present = true;
  const CheckResult no_samples = check_autoscaler_flapping(serving, two_per_minute);
  CHECK(no_samples.status == CheckStatus::kNotEvaluated);
  CHECK(no_samples.summary == "no replica counts were recorded (is autoscaling off?)");

  // Up, hold, down, hold: one reversal (the fall after the rise); plateaus and repeats are not reversals.
  serving.replicas = target("svc@c1", {2, 3, 4, 4, 4, 3, 2, 2});
  const CheckResult calm = check_autoscaler_flapping(serving, two_per_minute);
  CHECK(calm.status == CheckStatus::kPass);
  CHECK(calm.figures["reversals"] == 1);
  CHECK(calm.figures["worst_in_window"] == 1);

  // 2 -> 6 -> 2 -> 6 -> 2: three reversals within 4 seconds.
  serving.replicas = target("svc@c1", {2, 6, 2, 6, 2});
  const CheckResult flapping = check_autoscaler_flapping(serving, two_per_minute);
  CHECK(flapping.status == CheckStatus::kFail);
  CHECK(flapping.summary ==
        "worst 3 reversals within 1min (2 allowed): svc@c1 between 2s and 4s (target 6 -> 2 -> 6 -> 2); "
        "3 reversals in all");
  CHECK(flapping.expected == "the replica target reverses direction at most 2 times within any 1min");
  // The same reversals spread out further than the window hold.
  serving.replicas = target("svc@c1", {2, 6, 2, 6, 2});
  for (size_t i = 0; i < serving.replicas.size(); ++i) {
    serving.replicas[i].time_ns = static_cast<int64_t>(i) * 40'000'000'000;  // every 40s
  }
  const CheckResult spread = check_autoscaler_flapping(serving, two_per_minute);
  CHECK(spread.status == CheckStatus::kPass);
  CHECK(spread.figures["reversals"] == 3);
  CHECK(spread.figures["worst_in_window"] == 2);

  // Clusters are judged apart: c1 rising while c2 falls is no reversal.
  serving.replicas = target("svc@c1", {2, 3, 4, 5});
  for (const auto& sample : target("svc@c2", {5, 4, 3, 2})) serving.replicas.push_back(sample);
  CHECK(check_autoscaler_flapping(serving, FlappingExpectation{0, std::chrono::minutes(1)}).status ==
        CheckStatus::kPass);
}

}  // namespace
}  // namespace tandem::reports
