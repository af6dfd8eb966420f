#include "core/runtime/types.h"

namespace tandem::runtime {

std::string_view placement_group_state_name(PlacementGroupState state) {
  switch (state) {
    case PlacementGroupState::kPending: return "PENDING";
    case PlacementGroupState::kCreated: return "CREATED";
    case PlacementGroupState::kRemoved: return "REMOVED";
  }
  return "UNKNOWN";
}

Status validate_name(std::string_view name, std::string_view what) {
  if (name.empty()) return Error{Errc::kInvalidArgument, std::string(what) + " must not be empty"};
  if (name.size() > kMaxNameBytes) {
    return Error{Errc::kInvalidArgument,
                 std::string(what) + " is longer than " + std::to_string(kMaxNameBytes) + " bytes"};
  }
  return Status{};
}

namespace {
Status validate_retries(int32_t value, std::string_view what) {
  if (value < kUnlimited || value > kMaxRetriesLimit) {
    return Error{Errc::kInvalidArgument, std::string(what) + " must be -1 (unlimited) or in [0, " +
                                             std::to_string(kMaxRetriesLimit) + "], got " + std::to_string(value)};
  }
  return Status{};
}

Status validate_placement(const std::optional<BundleRef>& group) {
  if (group && group->bundle_index < -1) {
    return Error{Errc::kInvalidArgument, "placement_group.bundle_index must be -1 (any) or a bundle index"};
  }
  if (group && group->group == 0) return Error{Errc::kInvalidArgument, "placement_group.group must be set"};
  return Status{};
}
}  // namespace

SchedulingSpec ActorOptions::scheduling() const {
  return SchedulingSpec{resources, labels, strategy, node_affinity, placement_group, runtime_env};
}

Status ActorOptions::validate() const {
  if (!name.empty()) {
    if (Status s = validate_name(name, "the actor name"); !s.ok()) return s;
  }
  if (!runtime_env.empty()) {
    if (Status s = validate_name(runtime_env, "the runtime env name"); !s.ok()) return s;
  }
  if (Status s = validate_retries(max_restarts, "max_restarts"); !s.ok()) return s;
  if (Status s = validate_retries(max_task_retries, "max_task_retries"); !s.ok()) return s;
  if (max_concurrency == 0 || max_concurrency > kMaxConcurrencyLimit) {
    return Error{Errc::kInvalidArgument,
                 "max_concurrency must be in [1, " + std::to_string(kMaxConcurrencyLimit) + "]"};
  }
  if (get_if_exists && name.empty()) {
    return Error{Errc::kInvalidArgument, "get_if_exists needs a name"};
  }
  return validate_placement(placement_group);
}

SchedulingSpec TaskOptions::scheduling() const {
  return SchedulingSpec{resources, labels, strategy, node_affinity, placement_group, runtime_env};
}

Status TaskOptions::validate() const {
  if (!runtime_env.empty()) {
    if (Status s = validate_name(runtime_env, "the runtime env name"); !s.ok()) return s;
  }
  if (max_retries < 0 || max_retries > kMaxRetriesLimit) {
    return Error{Errc::kInvalidArgument,
                 "max_retries must be in [0, " + std::to_string(kMaxRetriesLimit) + "], got " +
                     std::to_string(max_retries)};
  }
  if (timeout <= Duration::zero()) return Error{Errc::kInvalidArgument, "the task timeout must be positive"};
  return validate_placement(placement_group);
}

}  // namespace tandem::runtime
