#include "fault_injection/schedule.h"

#include <memory>

namespace tandem::fault_injection {

void Schedule::add_fault(Duration at, std::optional<Duration> duration, Fault fault, std::string source) {
  ScheduledStep step;
  step.kind = ScheduledStep::Kind::kFault;
  step.at = at;
  step.duration = duration;
  step.fault = std::move(fault);
  step.source = std::move(source);
  steps_.push_back(std::move(step));
}

void Schedule::install(sim::World& world, FaultInjector& injector,
                       std::function<void(const std::string&)> on_step) const {
  auto announce = std::make_shared<std::function<void(const std::string&)>>(std::move(on_step));
  for (const ScheduledStep& step : steps_) {
    const TimePoint when = TimePoint(step.at);
    world.at(when, [&world, &injector, step, announce] {
      std::string description;
      switch (step.kind) {
        case ScheduledStep::Kind::kFault: {
          const FaultId id = injector.apply(step.fault, step.source);
          description = step.fault.label;
          if (step.duration) {
            description += " for " + format_duration(*step.duration);
            world.after(*step.duration, [&world, &injector, id, label = step.fault.label, announce] {
              const bool was_active = injector.active(id);
              injector.heal(id);
              if (was_active && *announce) (*announce)("heal " + label);
            });
          }
          if (const FaultRecord& record = injector.record_of(id); record.skipped) {
            description += " (skipped: " + record.skip_reason + ")";
          }
          break;
        }
        case ScheduledStep::Kind::kRestart:
          for (NodeId node : step.nodes) injector.restart(node, step.source);
          description = "restart " + std::to_string(step.nodes.size()) + " node(s)";
          break;
        case ScheduledStep::Kind::kResume:
          for (NodeId node : step.nodes) injector.resume(node, step.source);
          description = "resume " + std::to_string(step.nodes.size()) + " node(s)";
          break;
        case ScheduledStep::Kind::kHealAll:
          injector.heal_all(step.source);
          description = "heal everything";
          break;
        case ScheduledStep::Kind::kNote:
          world.note(kNoNode, "note", step.text);
          description = "note: " + step.text;
          break;
      }
      if (*announce) (*announce)(description);
    });
  }
}

}  // namespace tandem::fault_injection
