// Helpers for scenario tests: a tiny valid scenario to mutate, and loading shortcuts.
#pragma once

#include <string>
#include <vector>

#include "scenarios/duration.h"
#include "scenarios/scenario.h"

namespace tandem::testing {

// Two clusters in two regions, an rpc service, a constant workload, one crash: the smallest useful scenario.
inline scenarios::Json tiny_scenario() {
  return scenarios::Json::parse(R"({
    "name": "tiny",
    "description": "a tiny scenario for tests",
    "seed": 7,
    "duration": "4s",
    "topology": {
      "regions": ["east", "west"],
      "clusters": [
        {"name": "east-a", "region": "east", "nodes": [{"group": "server", "count": 2}, {"group": "client", "count": 2}]},
        {"name": "west-a", "region": "west", "nodes": [{"group": "server", "count": 1}, {"group": "client", "count": 1}]}
      ]
    },
    "services": [{"kind": "rpc", "name": "echo", "servers": "server", "clients": "client", "deadline": "100ms"}],
    "workload": [{"service": "echo", "shape": "constant", "rate": 100}],
    "events": [{"at": "1s", "fault": "crash", "target": "east-a/server0", "for": "1s"}],
    "expect": {"availability": {"overall": 0.9}}
  })");
}

// Two serving clusters of a head, two workers and a client, plus an ops cluster for discovery and the keeper.
inline scenarios::Json tiny_serving() {
  return scenarios::Json::parse(R"({
    "name": "tiny-serving", "seed": 3, "duration": "30s",
    "topology": {"regions": ["r"], "defaults": {"node_link": "200us", "uplink": "1ms"},
      "clusters": [
        {"name": "c1", "region": "r", "nodes": [{"group": "head", "count": 1},
          {"group": "worker", "count": 2, "resources": {"CPU": 16}}, {"group": "client", "count": 1}]},
        {"name": "c2", "region": "r", "nodes": [{"group": "head", "count": 1},
          {"group": "worker", "count": 2, "resources": {"CPU": 16}}, {"group": "client", "count": 1}]},
        {"name": "ops", "region": "r", "nodes": [{"group": "discovery", "count": 1}, {"group": "keeper", "count": 1}]}]},
    "services": [{"kind": "serving", "name": "ranker", "replicas": 2,
      "versions": [{"name": "v1", "latency": "3ms", "startup": "500ms", "output_salt": "m"},
                   {"name": "v2", "latency": "3ms", "startup": "500ms", "output_salt": "m"},
                   {"name": "bad", "latency": "3ms", "error_rate": 0.5, "output_salt": "x"}],
      "upgrade": {"step": 1, "max_unavailable": 1, "validation_requests": 10}}],
    "workload": [{"service": "ranker", "shape": "constant", "rate": 100, "start": "5s"}],
    "events": [],
    "expect": {"availability": {"overall": 0.95}}
  })");
}

// The problems of loading `document`, as "pointer: message" lines.
inline std::vector<std::string> problems_of(const scenarios::Json& document) {
  std::vector<std::string> out;
  const scenarios::LoadResult loaded = scenarios::load_scenario_json(document);
  for (const scenarios::Problem& problem : loaded.problems.items()) {
    out.push_back(problem.to_string());
  }
  return out;
}

inline std::vector<std::string> problems_of_text(const std::string& text) {
  std::vector<std::string> out;
  const scenarios::LoadResult loaded = scenarios::load_scenario_text(text);
  for (const scenarios::Problem& problem : loaded.problems.items()) {
    out.push_back(problem.to_string());
  }
  return out;
}

// The suite must stay fast: a scenario that simulates more than kLongRun (upgrade-1000: 30 minutes of 1,000
// instances at 2,000 requests/s; the diurnal autoscaling pair) runs here as a shortened variant — the same
// file with its run cut to kLongRun, events past the cut dropped, serving replicas capped at 40 per cluster
// and rates capped at 400/s. The full runs are measured by `tandem run` (README, "Scenario library").
inline constexpr Duration kLongRun = std::chrono::minutes(3);

inline scenarios::Json shortened(scenarios::Json document) {
  const auto duration = scenarios::parse_duration(document["duration"].get<std::string>());
  if (!duration.ok() || duration.value() <= kLongRun) return document;
  document["duration"] = scenarios::format_scenario_duration(kLongRun);
  scenarios::Json events = scenarios::Json::array();
  for (const scenarios::Json& event : document.value("events", scenarios::Json::array())) {
    if (scenarios::parse_duration(event["at"].get<std::string>()).value() < kLongRun) events.push_back(event);
  }
  document["events"] = events;
  for (scenarios::Json& service : document["services"]) {
    if (service.value("kind", "") != "serving" || !service.contains("replicas")) continue;
    if (service["replicas"].is_number() && service["replicas"].get<int>() > 40) {
      service["replicas"] = 40;
      for (const char* key : {"step", "max_unavailable"}) {
        if (service.contains("upgrade") && service["upgrade"].value(key, 1) > 4) service["upgrade"][key] = 4;
      }
    }
  }
  for (scenarios::Json& stream : document["workload"]) {
    for (const char* key : {"rate", "mean", "amplitude"}) {
      if (stream.contains(key) && stream[key].get<double>() > 400) stream[key] = 400;
    }
    if (stream.contains("mean") && stream.contains("amplitude") && stream["amplitude"] >= stream["mean"]) {
      stream["amplitude"] = stream["mean"].get<double>() * 0.8;
    }
    if (stream.contains("period")) stream["period"] = "1m";
  }
  return document;
}

}  // namespace tandem::testing
