// Schedule: a scripted timeline of faults and recovery actions, installed on a World as World::at actions.
//
// Contract: install() schedules every step at its time (world time since the start of the run). A fault step
// applies its fault through the FaultInjector and, when it has a duration, heals exactly that fault when the
// duration ends. Action steps restart or resume nodes, heal everything, or write a note in the trace. Steps
// at the same instant run in the order they were added. The Schedule must outlive nothing: install() copies
// what each action needs, but the injector and world must outlive the run.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "fault_injection/fault.h"
#include "fault_injection/injector.h"
#include "sim/world.h"

namespace tandem::fault_injection {

struct ScheduledStep {
  enum class Kind : uint8_t { kFault, kRestart, kResume, kHealAll, kNote };
  Kind kind = Kind::kFault;
  Duration at{};
  std::optional<Duration> duration;  // kFault: heal after this long; absent = in force until healed otherwise
  Fault fault;                       // kFault
  std::vector<NodeId> nodes;         // kRestart, kResume
  std::string text;                  // kNote
  std::string source;                // "events/3", "nemesis", ...
};

class Schedule {
 public:
  void add(ScheduledStep step) { steps_.push_back(std::move(step)); }
  void add_fault(Duration at, std::optional<Duration> duration, Fault fault, std::string source);
  const std::vector<ScheduledStep>& steps() const { return steps_; }
  size_t size() const { return steps_.size(); }

  // Schedules every step on `world`. `on_step` (optional) runs after each step with a one-line description,
  // for progress output.
  void install(sim::World& world, FaultInjector& injector,
               std::function<void(const std::string&)> on_step = {}) const;

 private:
  std::vector<ScheduledStep> steps_;
};

}  // namespace tandem::fault_injection
