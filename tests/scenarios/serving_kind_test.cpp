// The "serving" scenario kind: malformed entries and operations are refused with the exact pointer, and a
// small serving scenario runs with the serving checks really evaluated (not "not evaluated").
#include <catch2/catch.hpp>
#include <rapidcheck.h>
#include <rapidcheck/catch.h>

#include <algorithm>
#include <string>
#include <vector>

#include "scenarios/runner.h"
#include "scenarios/scenario.h"
#include "tests/scenarios/scenario_test_support.h"

namespace tandem::scenarios {
namespace {

using testing::problems_of;
using testing::tiny_serving;
using Problems = std::vector<std::string>;

std::string first_problem(const Json& document) {
  const Problems problems = problems_of(document);
  return problems.empty() ? "(none)" : problems.front();
}

TEST_CASE("Serving kind: the tiny serving scenario loads") { CHECK(problems_of(tiny_serving()).empty()); }

TEST_CASE("Serving kind: wrong types, unknown keys and missing fields are refused with their pointer") {
  Json doc = tiny_serving();
  doc["services"][0]["replicas"] = "three";
  CHECK(first_problem(doc).rfind("/services/0/replicas: ", 0) == 0);

  doc = tiny_serving();
  doc["services"][0]["versions"][0]["latancy"] = "3ms";
  CHECK(first_problem(doc) ==
        "/services/0/versions/0/latancy: unknown key \"latancy\" in a version; did you mean \"latency\"?");

  doc = tiny_serving();
  doc["services"][0].erase("versions");
  CHECK(first_problem(doc) == "/services/0/versions: missing; list the versions, e.g. [{\"name\": \"v1\"}]");

  doc = tiny_serving();
  doc["services"][0]["upgrade"]["step"] = true;
  CHECK(first_problem(doc).rfind("/services/0/upgrade/step: ", 0) == 0);

  doc = tiny_serving();
  doc["services"][0]["autoscale"] = {{"mode", "reactiv"}};
  CHECK(first_problem(doc).rfind("/services/0/autoscale/mode: unknown mode \"reactiv\"", 0) == 0);
}

TEST_CASE("Serving kind: negative durations, huge numbers and unknown names are refused with their pointer") {
  Json doc = tiny_serving();
  doc["services"][0]["client"] = {{"deadline", "-1s"}};
  CHECK(first_problem(doc).rfind("/services/0/client/deadline: ", 0) == 0);

  doc = tiny_serving();
  doc["services"][0]["replicas"] = 1000000000;
  CHECK(first_problem(doc).rfind("/services/0/replicas: ", 0) == 0);

  doc = tiny_serving();
  doc["services"][0]["replicas"] = {{"c9", 2}};
  CHECK(first_problem(doc).rfind("/services/0/replicas/c9: no serving cluster named \"c9\"", 0) == 0);

  doc = tiny_serving();
  doc["services"][0]["version"] = "v3";
  CHECK(first_problem(doc).rfind("/services/0/version: unknown version \"v3\"", 0) == 0);

  doc = tiny_serving();
  doc["services"][0]["workers"] = "wroker";
  CHECK(first_problem(doc) ==
        "/services/0/workers: no node group named \"wroker\"; name the group of the workers nodes; did you "
        "mean \"worker\"? Groups: client, discovery, head, keeper, worker");

  doc = tiny_serving();
  doc["services"][0]["autoscale"] = {{"min_replicas", 5}, {"max_replicas", 3}};
  CHECK(first_problem(doc).rfind("/services/0/autoscale/min_replicas: is above max_replicas (3)", 0) == 0);
}

TEST_CASE("Serving kind: operations name an existing version and cluster") {
  Json doc = tiny_serving();
  doc["events"] = Json::array({{{"at", "10s"}, {"op", "upgrade"}, {"service", "ranker"}, {"version", "v9"}}});
  CHECK(first_problem(doc).rfind("/events/0/version: unknown version \"v9\" of service ranker", 0) == 0);

  doc["events"] = Json::array({{{"at", "10s"}, {"op", "scale"}, {"service", "ranker"}, {"cluster", "c3"},
                                {"replicas", 3}}});
  CHECK(first_problem(doc).rfind("/events/0/cluster: no serving cluster named \"c3\" for service ranker", 0) == 0);

  doc["events"] = Json::array({{{"at", "10s"}, {"op", "scale"}, {"service", "ranker"}, {"cluster", "c1"},
                                {"replicas", -1}}});
  CHECK(first_problem(doc).rfind("/events/0/replicas: ", 0) == 0);

  doc["events"] = Json::array({{{"at", "10s"}, {"op", "upgrdae"}, {"service", "ranker"}}});
  CHECK(first_problem(doc).rfind("/events/0/op: service \"ranker\" (kind serving) has no operation \"upgrdae\"; did "
                                 "you mean \"upgrade\"?",
                                 0) == 0);

  doc["events"] = Json::array({{{"at", "10s"}, {"op", "canary"}, {"service", "ranker"}, {"version", "v2"},
                                {"weight_steps", {10, 500}}}});
  CHECK(first_problem(doc).rfind("/events/0/weight_steps/1: ", 0) == 0);
}

TEST_CASE("Serving kind: a second serving service is refused") {
  Json doc = tiny_serving();
  Json second = doc["services"][0];
  second["name"] = "other";
  doc["services"].push_back(second);
  CHECK(first_problem(doc).rfind("/services/1/kind: a scenario runs at most one service of kind \"serving\"", 0) == 0);
}

RunResult run(const Json& document) {
  LoadResult loaded = load_scenario_json(document);
  INFO(loaded.problems.to_string());
  REQUIRE(loaded.ok());
  RunOptions options;
  options.determinism = false;
  return run_scenario(*loaded.scenario, options);
}

const reports::CheckResult& check_named(const RunResult& result, const std::string& name) {
  for (const reports::CheckResult& check : result.checks) {
    if (check.name == name) return check;
  }
  FAIL("no check named " << name);
  return result.checks.front();
}

TEST_CASE("Serving kind: AppMaster kills are survived and the single-acting check is evaluated") {
  Json doc = tiny_serving();
  doc["events"] = Json::array({{{"at", "10s"}, {"op", "kill_appmaster"}, {"service", "ranker"}, {"cluster", "c1"}},
                               {{"at", "15s"}, {"fault", "kill_actor"}, {"target", "c2:serving/ranker/appmaster"}}});
  doc["expect"]["serving"] = {{"single_acting_appmaster", true}};
  const RunResult result = run(doc);
  CHECK(result.record.serving.present);
  const reports::CheckResult& acting = check_named(result, "single_acting_appmaster");
  CHECK(acting.status == reports::CheckStatus::kPass);
  // Each cluster saw a second epoch act after its AppMaster was killed.
  CHECK(result.record.serving.appmaster_acting.size() >= 4);
  CHECK(result.record.requests.totals().failed() == 0);
  CHECK(result.record.faults.size() == 1);
  CHECK_FALSE(result.record.faults[0].skipped);
}

TEST_CASE("Serving kind: a kill_actor of an unknown actor is recorded as skipped with the reason") {
  Json doc = tiny_serving();
  doc["events"] = Json::array({{{"at", "10s"}, {"fault", "kill_actor"}, {"target", "c1:serving/nobody"}}});
  const RunResult result = run(doc);
  REQUIRE(result.record.faults.size() == 1);
  CHECK(result.record.faults[0].skipped);
  CHECK_THAT(result.record.faults[0].skip_reason, Catch::Contains("no live actor named \"serving/nobody\""));
}

TEST_CASE("Serving kind: a bad canary is rolled back and upgrade safety is evaluated") {
  Json doc = tiny_serving();
  doc["events"] = Json::array({{{"at", "8s"}, {"op", "canary"}, {"service", "ranker"}, {"version", "bad"},
                                {"weight_steps", {20, 50}}, {"step_duration", "4s"}, {"canary_fraction", 0.5}}});
  doc["expect"]["serving"] = {{"upgrade_safety", true}};
  const RunResult result = run(doc);
  REQUIRE(result.record.serving.upgrades.size() == 1);
  const reports::ServingRecord::UpgradeOutcome& outcome = result.record.serving.upgrades[0];
  CHECK(outcome.validation_failed);
  CHECK(outcome.instances == 4);
  CHECK(outcome.instances_on_old_version == 4);
  CHECK(check_named(result, "upgrade_safety").status == reports::CheckStatus::kPass);
}

TEST_CASE("Serving kind: a rolling upgrade stays within max_unavailable and ends on the new version") {
  Json doc = tiny_serving();
  doc["events"] = Json::array({{{"at", "8s"}, {"op", "upgrade"}, {"service", "ranker"}, {"version", "v2"}}});
  doc["services"][0]["observe_every"] = "200ms";
  doc["expect"]["serving"] = {{"upgrade_safety", true}};
  const RunResult result = run(doc);
  CHECK(check_named(result, "upgrade_safety").status == reports::CheckStatus::kPass);
  CHECK_FALSE(result.record.serving.upgrade_unavailability.empty());
  REQUIRE(result.record.serving.upgrades.size() == 1);
  CHECK_FALSE(result.record.serving.upgrades[0].validation_failed);
  CHECK(result.record.figures.at("serving.ranker.c1.serving.v2") == 2);
  CHECK(result.record.figures.at("serving.ranker.c2.serving.v2") == 2);
  CHECK(result.record.requests.totals().failed() == 0);
}


// The tiny serving service autoscaled reactively under a square wave of load: 10 requests/s with 4 s bursts
// of 300/s every 8 s, 50 ms a request (about 7 requests in flight per cluster in a burst, under 1 between).
// `damped`: a 30 s stable window and scale-down delay, so the target rises with the first burst and stays;
// otherwise 500 ms ticks and 2 s windows with no scale-down delay, so it follows every burst up and down.
Json square_wave_autoscale(bool damped) {
  Json doc = tiny_serving();
  doc["duration"] = "40s";
  Json& service = doc["services"][0];
  service["replicas"] = 1;
  service["versions"][0]["latency"] = "50ms";
  service["autoscale"] = {{"mode", "reactive"},        {"min_replicas", 1},    {"max_replicas", 8},
                          {"target_concurrency", 1},   {"tick", "500ms"},      {"panic_window", "1s"},
                          {"max_scale_down_rate", 10}, {"provisioning_delay", "0s"}};
  service["autoscale"]["stable_window"] = damped ? "30s" : "2s";
  service["autoscale"]["scale_down_delay"] = damped ? "30s" : "0s";
  service["observe_every"] = "500ms";
  doc["workload"][0] = {{"service", "ranker"}, {"shape", "burst"}, {"base", 10}, {"start", "2s"},
                        {"periodic", {{"every", "8s"}, {"for", "4s"}, {"rate", 300}}}};
  doc["expect"]["serving"] = {{"autoscaler_bounds", true},
                              {"autoscaler_flapping", {{"max_direction_changes", 2}, {"window", "20s"}}}};
  return doc;
}

TEST_CASE("Serving kind: a damped autoscaler under a square wave of load does not flap") {
  const RunResult result = run(square_wave_autoscale(/*damped=*/true));
  const reports::CheckResult& flapping = check_named(result, "autoscaler_flapping");
  INFO(flapping.summary);
  CHECK(flapping.status == reports::CheckStatus::kPass);
  CHECK(flapping.figures["worst_in_window"].get<int>() <= 2);
  CHECK(check_named(result, "autoscaler_bounds").status == reports::CheckStatus::kPass);
  // It did scale: the target rose above the minimum with the bursts.
  uint32_t highest = 0;
  for (const auto& sample : result.record.serving.replicas) highest = std::max(highest, sample.replicas);
  CHECK(highest > 2);
}

TEST_CASE("Serving kind: a tight autoscaler under a square wave of load flaps, and the check says where") {
  const RunResult result = run(square_wave_autoscale(/*damped=*/false));
  const reports::CheckResult& flapping = check_named(result, "autoscaler_flapping");
  INFO(flapping.summary);
  CHECK(flapping.status == reports::CheckStatus::kFail);
  CHECK(flapping.figures["worst_in_window"].get<int>() > 2);
  CHECK_THAT(flapping.summary, Catch::StartsWith("worst ") && Catch::Contains(" reversals within 20s (2 allowed): ranker@c"));
  CHECK(check_named(result, "autoscaler_bounds").status == reports::CheckStatus::kPass);  // flapping, not out of bounds
  CHECK_FALSE(result.passed);
}

TEST_CASE("Serving kind: autoscaler_flapping expectations are refused with their pointer when malformed") {
  Json doc = square_wave_autoscale(true);
  doc["expect"]["serving"]["autoscaler_flapping"] = {{"window", "20s"}};
  CHECK(first_problem(doc) ==
        "/expect/serving/autoscaler_flapping/max_direction_changes: missing; give how many times the replica "
        "target may reverse direction within the window, e.g. 2");
  doc["expect"]["serving"]["autoscaler_flapping"] = {{"max_direction_changes", -1}, {"window", "20s"}};
  CHECK(first_problem(doc).rfind("/expect/serving/autoscaler_flapping/max_direction_changes: ", 0) == 0);
  doc["expect"]["serving"]["autoscaler_flapping"] = {{"max_direction_changes", 2}, {"window", "0s"}};
  CHECK(first_problem(doc) == "/expect/serving/autoscaler_flapping/window: a window must be longer than 0s");
  doc["expect"]["serving"]["autoscaler_flapping"] = {{"max_direction_changes", 2}, {"windw", "20s"}};
  CHECK(first_problem(doc) == "/expect/serving/autoscaler_flapping/window: missing; give the window the "
                              "reversals are counted in, e.g. \"10m\"");
  doc["expect"]["serving"]["autoscaler_flapping"] = true;
  CHECK(first_problem(doc).rfind("/expect/serving/autoscaler_flapping: ", 0) == 0);

  doc = testing::tiny_scenario();  // no serving service
  doc["expect"]["serving"] = {{"autoscaler_flapping", {{"max_direction_changes", 2}, {"window", "20s"}}}};
  CHECK(first_problem(doc) == "/expect/serving/autoscaler_flapping: needs a service of kind \"serving\", and "
                              "this scenario has none; add one or remove it");
}

TEST_CASE("Serving kind: autoscaler checks on a service that does not autoscale are refused before the run") {
  Json doc = square_wave_autoscale(true);
  const Json autoscale = doc["services"][0]["autoscale"];
  doc["services"][0].erase("autoscale");
  CHECK(first_problem(doc) ==
        "/expect/serving/autoscaler_bounds: needs a serving service that autoscales, and none does; give the "
        "service \"autoscale\": {\"mode\": \"reactive\"} (or \"predictive\"), or remove it");
  doc["expect"]["serving"].erase("autoscaler_bounds");
  CHECK(first_problem(doc).rfind("/expect/serving/autoscaler_flapping: needs a serving service that autoscales", 0) ==
        0);
  doc["services"][0]["autoscale"] = autoscale;
  doc["services"][0]["autoscale"]["mode"] = "off";
  CHECK(first_problem(doc).rfind("/expect/serving/autoscaler_flapping: needs a serving service that autoscales", 0) ==
        0);
  doc["services"][0]["autoscale"]["mode"] = "reactive";
  CHECK(first_problem(doc) == "(none)");
}

std::string ms(int64_t value) { return std::to_string(value) + "ms"; }

template <typename T>
T pick(const std::vector<T>& options) {
  return options[*rc::gen::inRange<size_t>(0, options.size())];
}

// A random serving scenario of 6-12 simulated seconds: replicas, policies, operations and faults anywhere.
Json generate_serving() {
  Json doc = tiny_serving();
  const int64_t duration_ms = *rc::gen::inRange<int64_t>(6000, 12000);
  doc["duration"] = ms(duration_ms);
  doc["seed"] = *rc::gen::inRange<uint64_t>(0, 1000000);
  Json& service = doc["services"][0];
  service["replicas"] = {{"c1", *rc::gen::inRange(0, 4)}, {"c2", *rc::gen::inRange(1, 4)}};
  service["proxies_per_cluster"] = *rc::gen::inRange(1, 3);
  service["upgrade"] = {{"step", *rc::gen::inRange(1, 3)}, {"max_unavailable", *rc::gen::inRange(1, 3)},
                        {"max_surge", *rc::gen::inRange(0, 2)}, {"validation_requests", *rc::gen::inRange(1, 10)}};
  const bool autoscaled = *rc::gen::arbitrary<bool>();
  if (autoscaled) {
    const int low = *rc::gen::inRange(1, 3);
    service["autoscale"] = {{"mode", pick<std::string>({"reactive", "predictive"})}, {"min_replicas", low},
                            {"max_replicas", low + *rc::gen::inRange(0, 4)}, {"tick", "500ms"},
                            {"season", "4s"}, {"lead_time", "1s"}};
    service["replicas"] = low;
  }
  service["client"] = {{"deadline", ms(*rc::gen::inRange<int64_t>(50, 1500))},
                       {"per_try_timeout", ms(*rc::gen::inRange<int64_t>(20, 500))},
                       {"max_attempts", *rc::gen::inRange(1, 4)}};
  doc["workload"][0] = {{"service", "ranker"}, {"shape", "constant"}, {"rate", *rc::gen::inRange(0, 150)},
                        {"start", ms(*rc::gen::inRange<int64_t>(0, 4000))}};
  doc["events"] = Json::array();
  const int count = *rc::gen::inRange(0, 5);
  for (int i = 0; i < count; ++i) {
    Json event = {{"at", ms(*rc::gen::inRange<int64_t>(0, duration_ms))}};
    const std::string cluster = pick<std::string>({"c1", "c2"});
    switch (*rc::gen::inRange(0, 10)) {
      case 0: event.update({{"op", "upgrade"}, {"service", "ranker"}, {"version", pick<std::string>({"v2", "bad"})}}); break;
      case 1: event.update({{"op", "canary"}, {"service", "ranker"}, {"version", pick<std::string>({"v2", "bad"})},
                            {"weight_steps", {10, 50}}, {"step_duration", "1s"}, {"min_requests", 0}}); break;
      case 2: event.update({{"op", "blue_green"}, {"service", "ranker"}, {"version", "v2"}, {"bake", "1s"}}); break;
      case 3: event.update({{"op", "scale"}, {"service", "ranker"}, {"cluster", cluster}, {"replicas", *rc::gen::inRange(0, 4)}}); break;
      case 4: event.update({{"op", "kill_appmaster"}, {"service", "ranker"}, {"cluster", cluster}}); break;
      case 5: event.update({{"op", "restart_job"}, {"service", "ranker"}, {"cluster", cluster}, {"kill_members", *rc::gen::arbitrary<bool>()}}); break;
      case 6: event.update({{"fault", "kill_actor"}, {"target", cluster + ":serving/ranker/appmaster"}}); break;
      case 7: event.update({{"fault", "cluster_outage"}, {"target", cluster}, {"for", ms(*rc::gen::inRange<int64_t>(1, 3000))}}); break;
      case 8: event.update({{"fault", pick<std::string>({"crash", "pause"})},
                            {"target", cluster + "/" + pick<std::string>({"worker0", "worker1", "head0"})},
                            {"for", ms(*rc::gen::inRange<int64_t>(1, 3000))}}); break;
      default: event.update({{"fault", "crash"}, {"target", pick<std::string>({"ops/discovery0", "ops/keeper0"})},
                             {"for", ms(*rc::gen::inRange<int64_t>(1, 3000))}}); break;
    }
    doc["events"].push_back(event);
  }
  doc["expect"] = {{"availability", {{"overall", 0.0}}},
                   {"serving", {{"upgrade_safety", true}, {"single_acting_appmaster", true}}}};
  if (autoscaled) {  // the loader refuses autoscaler checks on a fixed replica count
    doc["expect"]["serving"]["autoscaler_bounds"] = true;
    doc["expect"]["serving"]["autoscaler_flapping"] = {
        {"max_direction_changes", *rc::gen::inRange(0, 4)}, {"window", ms(*rc::gen::inRange<int64_t>(1, 20000))}};
  }
  return doc;
}

TEST_CASE("Property: a generated serving scenario either runs to completion or is refused before running") {
  rc::prop("serving runs or is refused", [] {
    const Json doc = generate_serving();
    LoadResult loaded = load_scenario_json(doc);
    if (!loaded.ok()) {
      RC_ASSERT(!loaded.problems.empty());
      RC_ASSERT(loaded.problems.items().front().pointer.rfind("/services/0/", 0) == 0);
      RC_CLASSIFY(true, "refused");
      return;
    }
    RC_CLASSIFY(true, "ran");
    RunOptions options;
    options.determinism = false;
    const RunResult result = run_scenario(*loaded.scenario, options);
    RC_ASSERT(result.record.requests.in_flight() == 0u);
    const reports::RequestTotals& totals = result.record.requests.totals();
    RC_ASSERT(totals.issued == totals.ok + totals.failed() + totals.abandoned);
    RC_ASSERT(totals.lost == 0u);  // every ServingClient request has a deadline
    RC_ASSERT(result.record.serving.present);
  });
}

}  // namespace
}  // namespace tandem::scenarios
