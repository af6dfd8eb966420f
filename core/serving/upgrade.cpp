#include "core/serving/upgrade.h"

#include <algorithm>

namespace tandem::serving {

std::string_view upgrade_state_name(UpgradeState state) {
  switch (state) {
    case UpgradeState::kIdle: return "idle";
    case UpgradeState::kPreUpdating: return "pre_updating";
    case UpgradeState::kDetached: return "detached";
    case UpgradeState::kUpgrading: return "upgrading";
    case UpgradeState::kValidating: return "validating";
    case UpgradeState::kSucceeded: return "succeeded";
    case UpgradeState::kRollingBack: return "rolling_back";
    case UpgradeState::kRolledBack: return "rolled_back";
  }
  return "unknown";
}

bool upgrade_active(UpgradeState state) {
  return state != UpgradeState::kIdle && state != UpgradeState::kSucceeded && state != UpgradeState::kRolledBack;
}

BatchPlan plan_batch(const std::vector<PlanMember>& members, const std::string& target, int32_t desired,
                     const UpgradePolicy& policy) {
  BatchPlan plan;
  int64_t available = 0;
  for (const PlanMember& member : members) {
    if (member.ready && member.attached) ++available;
    if (member.version != target) ++plan.remaining;
  }
  // Already out of traffic: take them first, they cost nothing more.
  for (const PlanMember& member : members) {
    if (member.version != target && !member.attached && member.ready) plan.batch.push_back(member.id);
    if (plan.batch.size() >= policy.step) break;
  }
  const int64_t min_available = std::max<int64_t>(0, int64_t{desired} - policy.max_unavailable);
  const int64_t slack = std::max<int64_t>(0, available - min_available);  // detachable without surge
  int64_t room = std::min<int64_t>(int64_t{policy.step} - static_cast<int64_t>(plan.batch.size()),
                                   slack + policy.max_surge);
  int64_t taken = 0;
  for (const PlanMember& member : members) {
    if (taken >= room) break;
    if (member.version == target || !member.attached || !member.ready) continue;
    plan.batch.push_back(member.id);
    ++taken;
  }
  plan.surge = static_cast<uint32_t>(std::max<int64_t>(0, taken - slack));
  return plan;
}

}  // namespace tandem::serving
