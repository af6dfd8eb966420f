// The serving checks: they judge a ServingRecord, which the "serving" service kind fills
// (scenarios/services/serving.h). Without a serving service, or without the data a check needs, each one is
// "not evaluated" — never a pass.
//
// - upgrade_safety: never more instances unavailable than the policy allows, and a failed validation ends with
//   every instance back on the old version.
// - single_acting_appmaster: for each (service, cluster), no two AppMaster acting intervals overlap.
// - discovery_convergence: after each failure discovery converged, within `within`.
// - autoscaler_bounds: replica counts always within [min, max].
// - autoscaler_flapping: per (service, cluster), the desired replica count reverses direction at most
//   max_direction_changes times within any window. Changes by operators (scale operations) count too: the
//   check judges the target the autoscaler acts on, whoever moved it.
#pragma once

#include "reports/checks.h"
#include "reports/serving_record.h"

namespace tandem::reports {

CheckResult check_upgrade_safety(const ServingRecord& record);
CheckResult check_single_acting_appmaster(const ServingRecord& record);
CheckResult check_discovery_convergence(const ServingRecord& record, Duration within);
CheckResult check_autoscaler_bounds(const ServingRecord& record);
CheckResult check_autoscaler_flapping(const ServingRecord& record, const FlappingExpectation& expectation);

}  // namespace tandem::reports
