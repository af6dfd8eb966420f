// Checks: the verdicts on a run, computed from its RunRecord alone (TigerBeetle's checkers: the simulator
// runs the world, checkers judge it).
//
// Contract:
// - evaluate_checks() returns one CheckResult per check the Expectations ask for, in a fixed order:
//   no_lost_requests, availability, latency, recovery, liveness, then the serving checks. determinism is
//   added by whoever ran the scenario twice (check_determinism).
// - A check is kPass or kFail only when it had data to judge; otherwise it is kNotEvaluated with the reason
//   ("no requests were judged"). Never a pass by default.
// - Each result carries a one-line summary with the figures that decided it, the threshold in words, and the
//   figures as JSON for report.json.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/env/time.h"
#include "reports/run_record.h"

namespace tandem::reports {

enum class CheckStatus : uint8_t { kPass, kFail, kNotEvaluated };
std::string_view check_status_name(CheckStatus status);  // "pass", "FAIL", "not evaluated"

struct CheckResult {
  std::string name;
  CheckStatus status = CheckStatus::kNotEvaluated;
  std::string summary;   // "99.95% of 120,000 requests succeeded"
  std::string expected;  // "at least 99.9% overall; every 1s window at least 95%"
  nlohmann::json figures = nlohmann::json::object();
};

struct AvailabilityExpectation {
  std::optional<double> overall;     // fraction, e.g. 0.999
  std::optional<double> per_window;  // every window with enough requests
  Duration window = std::chrono::seconds(1);
  uint64_t min_requests_per_window = 20;  // windows with fewer judged requests are not judged
};

struct LatencyExpectation {
  double percentile = 99;  // 0..100
  Duration at_most{};
};

struct RecoveryExpectation {
  Duration max{};
  double availability = 0.95;  // "recovered" = a window at least this available
  Duration window = std::chrono::seconds(1);
};

struct LivenessExpectation {
  Duration heal_at{};
  Duration within{};
  double availability = 0.99;
  Duration window = std::chrono::seconds(1);
};

// The autoscaler must not flap: its replica target (desired backends, per service and cluster) may reverse
// direction (a rise after a fall, or a fall after a rise) at most `max_direction_changes` times within any
// `window`.
struct FlappingExpectation {
  uint32_t max_direction_changes = 0;
  Duration window{};
};

struct ServingExpectation {
  bool upgrade_safety = false;
  bool single_acting_appmaster = false;
  std::optional<Duration> discovery_convergence;  // at most this long after each failure
  bool autoscaler_bounds = false;
  std::optional<FlappingExpectation> autoscaler_flapping;
};

struct Expectations {
  bool no_lost_requests = true;
  std::optional<AvailabilityExpectation> availability;
  std::vector<LatencyExpectation> latency;
  std::optional<RecoveryExpectation> recovery;
  std::optional<LivenessExpectation> liveness;
  bool determinism = false;
  ServingExpectation serving;
};

std::vector<CheckResult> evaluate_checks(const RunRecord& record, const Expectations& expectations);

CheckResult check_no_lost_requests(const RunRecord& record);
CheckResult check_availability(const RunRecord& record, const AvailabilityExpectation& expectation);
CheckResult check_latency(const RunRecord& record, const std::vector<LatencyExpectation>& expectations);
CheckResult check_recovery(const RunRecord& record, const RecoveryExpectation& expectation);
CheckResult check_liveness(const RunRecord& record, const LivenessExpectation& expectation);
// `second` absent: the run was not repeated, so the check is not evaluated.
CheckResult check_determinism(uint64_t first, std::optional<uint64_t> second);

// Exact percentile (0..100) of a sample by the nearest-rank method; 0 when empty.
int64_t percentile_of(std::vector<int64_t> values, double percentile);
// The same, without a copy, for a sample sorted ascending (a settled RequestLog's latencies); an unsorted one
// is answered from a copy.
int64_t percentile_of_sorted(const std::vector<int64_t>& sorted, double percentile);

// Every check passed or (unless `strict`) was not evaluated.
bool all_hold(const std::vector<CheckResult>& checks, bool strict = false);

// "99.950%" with enough digits to show the nines that matter.
std::string format_percent(double fraction);

}  // namespace tandem::reports
