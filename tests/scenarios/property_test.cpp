// Properties: any generated scenario is either refused before running (with problems) or runs to completion;
// corrupting any field of a valid scenario never crashes the loader.
#include <rapidcheck.h>
#include <rapidcheck/catch.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "reports/writers.h"
#include "scenarios/runner.h"
#include "scenarios/scenario.h"
#include "tests/scenarios/scenario_test_support.h"

namespace tandem::scenarios {
namespace {

std::string ms(int64_t value) { return std::to_string(value) + "ms"; }

template <typename T>
T pick(const std::vector<T>& options) {
  return options[*rc::gen::inRange<size_t>(0, options.size())];
}

// A scenario drawn from the space of plausible files: mostly valid, sometimes contradictory (a fault after
// the liveness heal, a partition of a node with itself), which the loader must refuse.
Json generate_scenario() {
  const int regions = *rc::gen::inRange(1, 3);
  const int clusters = *rc::gen::inRange(1, 4);
  const int64_t duration_ms = *rc::gen::inRange<int64_t>(1000, 5000);
  Json doc = {{"name", "generated"},
              {"seed", *rc::gen::inRange<uint64_t>(0, 1000000)},
              {"duration", ms(duration_ms)}};
  Json topology = {{"regions", Json::array()}, {"clusters", Json::array()}};
  for (int r = 0; r < regions; ++r) topology["regions"].push_back("r" + std::to_string(r));
  std::vector<std::string> cluster_names;
  std::vector<std::string> node_names;
  for (int c = 0; c < clusters; ++c) {
    const std::string name = "c" + std::to_string(c);
    cluster_names.push_back(name);
    const int servers = *rc::gen::inRange(1, 4);
    const int clients = *rc::gen::inRange(1, 3);
    for (int i = 0; i < servers; ++i) node_names.push_back(name + "/server" + std::to_string(i));
    for (int i = 0; i < clients; ++i) node_names.push_back(name + "/client" + std::to_string(i));
    topology["clusters"].push_back(
        {{"name", name},
         {"region", "r" + std::to_string(c % regions)},
         {"nodes", {{{"group", "server"}, {"count", servers}}, {{"group", "client"}, {"count", clients}}}}});
  }
  doc["topology"] = topology;
  doc["services"] = {
      {{"kind", "rpc"},
       {"name", "svc"},
       {"servers", "server"},
       {"clients", "client"},
       {"deadline", ms(*rc::gen::inRange<int64_t>(5, 300))},
       {"max_concurrency", *rc::gen::inRange(1, 64)},
       {"service_time", pick<Json>({"1ms",
                                    {{"kind", "lognormal"}, {"mean", "2ms"}, {"stddev", "1ms"}},
                                    {{"kind", "exponential"}, {"mean", "3ms"}, {"floor", "1ms"}}})},
       {"retry",
        {{"attempts", *rc::gen::inRange(1, 4)},
         {"backoff", ms(*rc::gen::inRange<int64_t>(0, 20))},
         {"prefer", pick<std::string>({"any", "local", "remote"})}}},
       {"routing",
        {{"local_fraction", pick<double>({0.0, 0.5, 1.0})},
         {"eject_for", ms(*rc::gen::inRange<int64_t>(0, 2000))}}}}};
  const std::string shape = pick<std::string>({"constant", "step", "ramp", "diurnal", "burst"});
  Json stream = {
      {"service", "svc"}, {"shape", shape}, {"arrivals", pick<std::string>({"poisson", "uniform"})}};
  if (shape == "constant") stream["rate"] = *rc::gen::inRange(0, 300);
  if (shape == "step")
    stream["steps"] = {{{"at", "0s"}, {"rate", 50}},
                       {{"at", ms(duration_ms / 2)}, {"rate", *rc::gen::inRange(0, 300)}}};
  if (shape == "ramp") {
    stream["from"] = *rc::gen::inRange(0, 300);
    stream["to"] = *rc::gen::inRange(0, 300);
    stream["ramp_end"] = ms(duration_ms);
  }
  if (shape == "diurnal") {
    stream["mean"] = 150;
    stream["amplitude"] = *rc::gen::inRange(0, 150);
    stream["period"] = ms(duration_ms);
  }
  if (shape == "burst") {
    stream["base"] = 50;
    stream["bursts"] = {{{"at", ms(duration_ms / 3)}, {"for", "300ms"}, {"rate", 300}}};
  }
  doc["workload"] = {stream};

  auto any_node = [&] { return pick(node_names); };
  auto any_cluster = [&] { return pick(cluster_names); };
  auto any_target = [&]() -> Json { return pick<Json>({any_node(), any_cluster(), "*", "*/server*"}); };
  const std::vector<std::string> kinds = {
      "crash",      "pause",           "isolate",        "partition",    "partition_one_way",
      "link_delay", "link_loss",       "link_duplicate", "link_reorder", "clog",
      "clock_skew", "storage_failure", "cluster_outage", "slow_node",    "wan_cut"};
  Json events = Json::array();
  const int event_count = *rc::gen::inRange(0, 5);
  for (int e = 0; e < event_count; ++e) {
    Json event = {{"at", ms(*rc::gen::inRange<int64_t>(0, duration_ms))}};
    const int what = *rc::gen::inRange(0, 10);
    if (what < 7) {
      const std::string kind = pick(kinds);
      event["fault"] = kind;
      if (kind == "partition")
        event["sides"] = {any_target(), any_target()};
      else if (kind == "partition_one_way" || kind.rfind("link_", 0) == 0 || kind == "clog") {
        event["from"] = any_target();
        event["to"] = any_target();
      } else if (kind == "cluster_outage") {
        event["target"] = any_cluster();
        event["mode"] = pick<std::string>({"network", "power"});
      } else if (kind == "wan_cut") {
        event["between"] = {"r0", "r" + std::to_string(regions - 1)};
      } else {
        event["target"] = any_target();
      }
      if (kind == "link_delay" || kind == "slow_node")
        event["delay"] = ms(*rc::gen::inRange<int64_t>(0, 100));
      if (kind == "link_loss" || kind == "link_duplicate")
        event["probability"] = pick<double>({0.0, 0.3, 1.0});
      if (kind == "link_reorder") event["jitter"] = "10ms";
      if (kind == "clock_skew") event["skew"] = pick<std::string>({"-1s", "500ms"});
      if (kind == "clog" || *rc::gen::arbitrary<bool>())
        event["for"] = ms(*rc::gen::inRange<int64_t>(1, 2000));
    } else if (what == 7) {
      event["action"] = pick<std::string>({"restart", "resume"});
      event["target"] = any_target();
    } else if (what == 8) {
      event["action"] = "heal";
    } else {
      event["action"] = "note";
      event["text"] = "a note";
    }
    events.push_back(event);
  }
  doc["events"] = events;
  if (*rc::gen::arbitrary<bool>()) {
    Json faults = Json::array();
    for (int k = 0; k < *rc::gen::inRange(1, 4); ++k) {
      faults.push_back({{"fault", pick<std::string>({"crash", "pause", "partition", "link_loss", "slow_node",
                                                     "clog", "clock_skew", "cluster_outage", "isolate"})},
                        {"every", ms(*rc::gen::inRange<int64_t>(100, 2000))},
                        {"for", {ms(50), ms(*rc::gen::inRange<int64_t>(50, 1000))}}});
    }
    doc["nemesis"] = {{"faults", faults},
                      {"swarm", *rc::gen::arbitrary<bool>()},
                      {"max_concurrent", *rc::gen::inRange(1, 4)}};
    if (*rc::gen::arbitrary<bool>()) doc["nemesis"]["quiet"] = {{"every", "1s"}, {"for", "300ms"}};
  }
  if (*rc::gen::arbitrary<bool>()) {
    doc["liveness"] = {
        {"heal_at", ms(duration_ms / 2)}, {"within", ms(duration_ms / 4)}, {"window", "100ms"}};
  }
  doc["expect"] = {{"no_lost_requests", *rc::gen::arbitrary<bool>()},
                   {"availability", {{"overall", 0.5}, {"per_window", 0.1}, {"window", "500ms"}}},
                   {"latency", {{"p99", "1s"}}},
                   {"recovery", {{"max", "1s"}}}};
  return doc;
}

TEST_CASE("Property: a generated scenario either runs to completion or is refused before running") {
  rc::prop("runs or is refused", [] {
    const Json doc = generate_scenario();
    LoadResult loaded = load_scenario_json(doc);
    if (!loaded.ok()) {
      RC_ASSERT(!loaded.problems.empty());
      RC_CLASSIFY(true, "refused");
      return;
    }
    RC_CLASSIFY(true, "ran");
    RunOptions options;
    options.determinism = false;
    const RunResult result = run_scenario(*loaded.scenario, options);
    RC_ASSERT(result.record.requests.in_flight() == 0u);
    const reports::RequestTotals& totals = result.record.requests.totals();
    RC_ASSERT(totals.issued ==
              totals.ok + totals.failed() + totals.abandoned);  // every request is accounted for
    // In this generated space every client has a deadline, so nothing may be lost.
    RC_ASSERT(totals.lost == 0u);
    for (const reports::CheckResult& check : result.checks) RC_ASSERT(!check.name.empty());
  });
}

// Replaces the value at a random place of the document with a random value of a random type.
void corrupt(Json& node, int depth) {
  const bool descend =
      (node.is_object() || node.is_array()) && !node.empty() && depth < 6 && *rc::gen::inRange(0, 4) != 0;
  if (descend) {
    const size_t index = *rc::gen::inRange<size_t>(0, node.size());
    if (node.is_array()) {
      corrupt(node[index], depth + 1);
    } else {
      auto it = node.begin();
      std::advance(it, static_cast<std::ptrdiff_t>(index));
      corrupt(it.value(), depth + 1);
    }
    return;
  }
  switch (*rc::gen::inRange(0, 9)) {
    case 0:
      node = nullptr;
      break;
    case 1:
      node = *rc::gen::arbitrary<bool>();
      break;
    case 2:
      node = *rc::gen::arbitrary<int64_t>();
      break;
    case 3:
      node = -1.5e300;
      break;
    case 4:
      node = *rc::gen::arbitrary<std::string>();
      break;
    case 5:
      node = pick<std::string>({"-1s", "999999h", "0s", "1e9", "*", "east-a/", "/", ""});
      break;
    case 6:
      node = Json::array();
      break;
    case 7:
      node = Json::object();
      break;
    default:
      node = {{"unexpected", 1}};
      break;
  }
}

TEST_CASE("Property: corrupting any field of a valid scenario never crashes the loader") {
  rc::prop("refused or runs", [] {
    Json doc = testing::tiny_scenario();
    const int corruptions = *rc::gen::inRange(1, 4);
    for (int i = 0; i < corruptions; ++i) corrupt(doc, 0);
    LoadResult loaded = load_scenario_json(doc);
    if (!loaded.ok()) {
      RC_ASSERT(!loaded.problems.empty());
      for (const Problem& problem : loaded.problems.items()) RC_ASSERT(!problem.message.empty());
      return;
    }
    RunOptions options;
    options.determinism = false;
    const RunResult result = run_scenario(*loaded.scenario, options);
    RC_ASSERT(result.record.requests.in_flight() == 0u);
  });
}

}  // namespace
}  // namespace tandem::scenarios
