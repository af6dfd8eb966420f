// Helpers for scenario tests: a tiny valid scenario to mutate, and loading shortcuts.
#pragma once

#include <string>
#include <vector>

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

}  // namespace tandem::testing
