// Scenario: one JSON file that says what to build (topology, services), what load to offer (workload), what
// goes wrong and when (events, nemesis), when everything heals (liveness) and what must hold (expect).
//
// Contract:
// - load_scenario_*() validates the whole document before anything runs and returns either a Scenario or
// every
//   Problem found, each with its JSON pointer and a sentence on how to fix it. Unknown keys are errors (with
//   a did-you-mean); wrong types, missing fields, negative or absurd durations, unknown targets, huge numbers
//   and inconsistent times (an event after the end of the run) are all refused. A loaded Scenario can be run
//   without any further validation: the runner treats a failure to build it as a bug.
// - Names and targets are resolved at load time against the TopologyIndex, whose ids equal the sim World's.
// - The format is described for editors by scenarios/schema.json; tests keep the two in step.
//
// A compact example (durations are strings: "250ms", "10s", "10m", "1h30m"):
//   {"name": "tiny", "seed": 7, "duration": "30s",
//    "topology": {"regions": ["east"], "clusters": [{"name": "east-a", "region": "east",
//                 "nodes": [{"group": "server", "count": 2}, {"group": "client", "count": 2}]}]},
//    "services": [{"kind": "rpc", "name": "echo", "servers": "server", "clients": "client"}],
//    "workload": [{"service": "echo", "shape": "constant", "rate": 100}],
//    "events": [{"at": "10s", "fault": "crash", "target": "east-a/server0", "for": "5s"}],
//    "expect": {"availability": {"overall": 0.99}}}
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fault_injection/fault.h"
#include "fault_injection/nemesis.h"
#include "reports/checks.h"
#include "scenarios/problems.h"
#include "scenarios/service.h"
#include "scenarios/topology.h"
#include "scenarios/workload.h"

namespace tandem::scenarios {

inline constexpr Duration kMaxRunDuration = std::chrono::hours(24 * 7);
inline constexpr size_t kMaxEvents = 10'000;
inline constexpr size_t kMaxScenarioBytes = 16 << 20;
inline constexpr size_t kMaxNemesisKinds = 32;

struct EventSpec {
  enum class Kind : uint8_t { kFault, kRestart, kResume, kHeal, kNote, kOperation };
  Kind kind = Kind::kFault;
  Duration at{};
  std::optional<Duration> duration;  // "for": heal the fault after this long
  fault_injection::Fault fault;      // kFault (targets resolved)
  std::vector<NodeId> nodes;         // kRestart, kResume
  std::string text;                  // kNote
  size_t service = 0;                // kOperation
  std::shared_ptr<const ServiceOperation> operation;
  std::string source;  // "events/3"
};

struct LivenessSpec {
  Duration heal_at{};
  Duration within{};
  double availability = 0.99;
  Duration window = std::chrono::seconds(1);
};

struct Scenario {
  std::string name;
  std::string description;
  uint64_t seed = 1;
  Duration duration{};
  TopologySpec topology;
  TopologyIndex index;
  std::vector<std::shared_ptr<const ServiceSpec>> services;
  std::vector<WorkloadStream> workload;
  std::vector<EventSpec> events;
  std::optional<fault_injection::NemesisSpec> nemesis;
  std::optional<LivenessSpec> liveness;
  reports::Expectations expect;
  Json document;     // the document as loaded: embedded in report.json so a run replays without the file
  std::string path;  // the file it came from ("" when loaded from text)

  // How long the world runs past `duration` so every request in flight can finish: the longest request budget
  // of any service, plus a second.
  Duration drain() const;
};

struct LoadResult {
  std::optional<Scenario> scenario;
  Problems problems;
  bool ok() const { return scenario.has_value(); }
};

LoadResult load_scenario_file(const std::string& path);
// `base_dir` resolves relative paths inside the scenario (replay logs).
LoadResult load_scenario_text(std::string_view text, const std::string& base_dir = ".");
LoadResult load_scenario_json(const Json& document, const std::string& base_dir = ".");

// The top-level keys the loader accepts, and those it requires (tests compare them with schema.json).
std::vector<std::string> scenario_top_level_keys();
std::vector<std::string> scenario_required_keys();

}  // namespace tandem::scenarios
