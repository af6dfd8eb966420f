// The serving checks, named hooks for the serving control plane (issue 4): they judge a ServingRecord. Until
// a serving service kind fills the record, each one is "not evaluated" — never a pass.
//
// - upgrade_safety: never more instances unavailable than the policy allows, and a failed validation ends
// with
//   every instance back on the old version.
// - single_acting_appmaster: for each (service, cluster), no two AppMaster acting intervals overlap.
// - discovery_convergence: after each failure discovery converged, within `within`.
// - autoscaler_bounds: replica counts always within [min, max].
#pragma once

#include "reports/checks.h"
#include "reports/serving_record.h"

namespace tandem::reports {

CheckResult check_upgrade_safety(const ServingRecord& record);
CheckResult check_single_acting_appmaster(const ServingRecord& record);
CheckResult check_discovery_convergence(const ServingRecord& record, Duration within);
CheckResult check_autoscaler_bounds(const ServingRecord& record);

}  // namespace tandem::reports
