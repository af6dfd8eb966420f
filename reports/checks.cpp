#include "reports/checks.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "reports/serving_checks.h"

namespace tandem::reports {
namespace {

using Json = nlohmann::json;

std::string count_text(uint64_t value) {
  std::string digits = std::to_string(value);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// format_duration, but zero reads "0s" rather than "0ns".
std::string duration_text(Duration d) { return d == Duration::zero() ? "0s" : format_duration(d); }

std::string ms_text(int64_t ns) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2fms", static_cast<double>(ns) / 1e6);
  return buffer;
}

CheckResult not_evaluated(std::string name, std::string reason, std::string expected) {
  CheckResult result;
  result.name = std::move(name);
  result.status = CheckStatus::kNotEvaluated;
  result.summary = std::move(reason);
  result.expected = std::move(expected);
  return result;
}

// Judged requests and successes over fine buckets [first, last).
struct Window {
  uint64_t judged = 0;
  uint64_t ok = 0;
  double availability() const {
    return judged == 0 ? 1.0 : static_cast<double>(ok) / static_cast<double>(judged);
  }
};

class Series {
 public:
  explicit Series(const RunRecord& record)
      : buckets_(record.requests.series()), bucket_ns_(record.requests.bucket().count()) {
    duration_buckets_ = std::min<size_t>(
        buckets_.size(), static_cast<size_t>((record.duration.count() + bucket_ns_ - 1) / bucket_ns_));
  }
  size_t buckets_for(Duration window) const {
    return std::max<size_t>(1, static_cast<size_t>(std::llround(static_cast<double>(window.count()) /
                                                                static_cast<double>(bucket_ns_))));
  }
  size_t index_at_or_after(int64_t ns) const {
    return static_cast<size_t>((std::max<int64_t>(0, ns) + bucket_ns_ - 1) / bucket_ns_);
  }
  int64_t start_ns(size_t index) const { return static_cast<int64_t>(index) * bucket_ns_; }
  size_t end() const { return duration_buckets_; }
  Window window(size_t first, size_t count) const {
    Window w;
    for (size_t i = first; i < std::min(first + count, duration_buckets_); ++i) {
      w.ok += buckets_[i].ok;
      w.judged += buckets_[i].ok + buckets_[i].failed;
    }
    return w;
  }

 private:
  const std::vector<SeriesBucket>& buckets_;
  int64_t bucket_ns_;
  size_t duration_buckets_ = 0;
};

}  // namespace

std::string_view check_status_name(CheckStatus status) {
  switch (status) {
    case CheckStatus::kPass:
      return "pass";
    case CheckStatus::kFail:
      return "FAIL";
    case CheckStatus::kNotEvaluated:
      return "not evaluated";
  }
  return "unknown";
}

std::string format_percent(double fraction) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3f%%", 100.0 * fraction);
  return buffer;
}

namespace {
size_t nearest_rank_index(size_t count, double percentile) {
  const double rank = std::ceil(percentile / 100.0 * static_cast<double>(count));
  return std::min(count - 1, static_cast<size_t>(std::max(1.0, rank)) - 1);
}
}  // namespace

int64_t percentile_of(std::vector<int64_t> values, double percentile) {
  if (values.empty()) return 0;
  const size_t index = nearest_rank_index(values.size(), percentile);
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(index), values.end());
  return values[index];
}

int64_t percentile_of_sorted(const std::vector<int64_t>& sorted, double percentile) {
  // A log read before settle() is not sorted yet: answer from a copy then (checking costs one pass).
  if (!std::is_sorted(sorted.begin(), sorted.end())) return percentile_of(sorted, percentile);
  return sorted.empty() ? 0 : sorted[nearest_rank_index(sorted.size(), percentile)];
}

bool all_hold(const std::vector<CheckResult>& checks, bool strict) {
  return std::all_of(checks.begin(), checks.end(), [strict](const CheckResult& check) {
    return check.status == CheckStatus::kPass || (!strict && check.status == CheckStatus::kNotEvaluated);
  });
}

CheckResult check_no_lost_requests(const RunRecord& record) {
  const RequestTotals& totals = record.requests.totals();
  const std::string expected =
      "every request ends in a reply or an explicit error within its client's timeout";
  if (totals.issued == 0) return not_evaluated("no_lost_requests", "no requests were issued", expected);
  CheckResult result;
  result.name = "no_lost_requests";
  result.expected = expected;
  result.status = totals.lost == 0 && totals.late == 0 ? CheckStatus::kPass : CheckStatus::kFail;
  result.summary = count_text(totals.lost) + " lost and " + count_text(totals.late) + " late of " +
                   count_text(totals.issued) + " requests";
  if (totals.abandoned > 0) {
    result.summary += "; " + count_text(totals.abandoned) + " abandoned by crashed or paused clients";
  }
  result.figures = {{"issued", totals.issued},
                    {"lost", totals.lost},
                    {"late", totals.late},
                    {"abandoned", totals.abandoned},
                    {"not_issued", totals.not_issued}};
  Json examples = Json::array();
  for (const RequestExample& example : record.requests.examples()) {
    if (examples.size() >= 5) break;
    examples.push_back(
        {{"client", example.client < record.node_names.size() ? record.node_names[example.client]
                                                              : std::to_string(example.client)},
         {"start", duration_text(Duration(example.start_ns))},
         {"what", example.what}});
  }
  if (!examples.empty()) result.figures["examples"] = examples;
  return result;
}

CheckResult check_availability(const RunRecord& record, const AvailabilityExpectation& expectation) {
  std::string expected;
  if (expectation.overall) expected = "at least " + format_percent(*expectation.overall) + " overall";
  if (expectation.per_window) {
    if (!expected.empty()) expected += "; ";
    expected += "every " + duration_text(expectation.window) + " window at least " +
                format_percent(*expectation.per_window);
  }
  const RequestTotals& totals = record.requests.totals();
  if (totals.judged() == 0) return not_evaluated("availability", "no requests were judged", expected);
  CheckResult result;
  result.name = "availability";
  result.expected = expected;
  const double overall = totals.availability();
  bool pass = !expectation.overall || overall >= *expectation.overall;
  result.summary = format_percent(overall) + " of " + count_text(totals.judged()) + " requests succeeded";
  result.figures = {{"overall", overall},
                    {"judged", totals.judged()},
                    {"ok", totals.ok},
                    {"failed", totals.failed()},
                    {"timeouts", totals.timeouts},
                    {"refused", totals.refused},
                    {"overloaded", totals.overloaded}};
  const Series series(record);
  const size_t width = series.buckets_for(expectation.window);
  std::optional<double> worst;
  int64_t worst_start_ns = 0;
  size_t windows_judged = 0;
  for (size_t first = 0; first < series.end(); first += width) {
    const Window window = series.window(first, width);
    if (window.judged < expectation.min_requests_per_window) continue;
    ++windows_judged;
    if (!worst || window.availability() < *worst) {
      worst = window.availability();
      worst_start_ns = series.start_ns(first);
    }
  }
  if (worst) {
    result.summary += "; worst " + duration_text(expectation.window) + " window " + format_percent(*worst) +
                      " at " + duration_text(Duration(worst_start_ns));
    result.figures["worst_window"] = *worst;
    result.figures["worst_window_start"] = duration_text(Duration(worst_start_ns));
  }
  result.figures["windows_judged"] = windows_judged;
  if (expectation.per_window && !worst) {
    result.summary +=
        "; no window had " + std::to_string(expectation.min_requests_per_window) + " requests to judge";
    if (!expectation.overall) {
      result.status = CheckStatus::kNotEvaluated;
      return result;
    }
  } else if (expectation.per_window && *worst < *expectation.per_window) {
    pass = false;
  }
  result.status = pass ? CheckStatus::kPass : CheckStatus::kFail;
  return result;
}

CheckResult check_latency(const RunRecord& record, const std::vector<LatencyExpectation>& expectations) {
  std::string expected;
  for (const LatencyExpectation& expectation : expectations) {
    if (!expected.empty()) expected += ", ";
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "p%g", expectation.percentile);
    expected += std::string(buffer) + " <= " + duration_text(expectation.at_most);
  }
  const std::vector<int64_t>& latencies = record.requests.success_latencies_ns();
  if (latencies.empty()) return not_evaluated("latency", "no request succeeded", expected);
  CheckResult result;
  result.name = "latency";
  result.expected = expected + " (successful requests, retries included)";
  bool pass = true;
  for (const LatencyExpectation& expectation : expectations) {
    const int64_t value = percentile_of_sorted(latencies, expectation.percentile);
    char label[32];
    std::snprintf(label, sizeof label, "p%g", expectation.percentile);
    const bool holds = value <= expectation.at_most.count();
    pass &= holds;
    if (!result.summary.empty()) result.summary += ", ";
    result.summary += std::string(label) + " " + ms_text(value) + (holds ? "" : " (over)");
    result.figures[label] = {{"ms", static_cast<double>(value) / 1e6},
                             {"limit_ms", static_cast<double>(expectation.at_most.count()) / 1e6}};
  }
  result.summary += " over " + count_text(latencies.size()) + " successful requests";
  result.status = pass ? CheckStatus::kPass : CheckStatus::kFail;
  return result;
}

CheckResult check_recovery(const RunRecord& record, const RecoveryExpectation& expectation) {
  const std::string expected = "back to " + format_percent(expectation.availability) + " in a " +
                               duration_text(expectation.window) + " window within " +
                               duration_text(expectation.max) + " of each fault's heal";
  // Disturbances: overlapping faults merged, since a system cannot recover while a fault is still in force.
  struct Disturbance {
    int64_t start_ns;
    std::optional<int64_t> end_ns;
    std::vector<std::string> labels;
  };
  std::vector<const FaultSpan*> faults;
  for (const FaultSpan& fault : record.faults) {
    if (!fault.skipped) faults.push_back(&fault);
  }
  std::sort(faults.begin(), faults.end(),
            [](const FaultSpan* a, const FaultSpan* b) { return a->start_ns < b->start_ns; });
  std::vector<Disturbance> disturbances;
  for (const FaultSpan* fault : faults) {
    if (!disturbances.empty()) {
      Disturbance& last = disturbances.back();
      if (!last.end_ns || fault->start_ns <= *last.end_ns) {
        if (last.end_ns) last.end_ns = fault->end_ns ? std::max(*last.end_ns, *fault->end_ns) : fault->end_ns;
        last.labels.push_back(fault->label);
        continue;
      }
    }
    disturbances.push_back(Disturbance{fault->start_ns, fault->end_ns, {fault->label}});
  }
  if (disturbances.empty()) return not_evaluated("recovery", "no fault was applied", expected);

  const Series series(record);
  const size_t width = series.buckets_for(expectation.window);
  const int64_t duration_ns = record.duration.count();
  CheckResult result;
  result.name = "recovery";
  result.expected = expected;
  Json rows = Json::array();
  size_t measured = 0;
  size_t failed = 0;
  int64_t worst_ns = 0;
  for (size_t d = 0; d < disturbances.size(); ++d) {
    const Disturbance& disturbance = disturbances[d];
    Json row = {{"faults", disturbance.labels}, {"start", duration_text(Duration(disturbance.start_ns))}};
    if (!disturbance.end_ns || *disturbance.end_ns >= duration_ns) {
      row["result"] = "not measured: still in force at the end of the workload";
      rows.push_back(row);
      continue;
    }
    const int64_t healed_ns = *disturbance.end_ns;
    row["healed"] = duration_text(Duration(healed_ns));
    const int64_t limit_ns = d + 1 < disturbances.size() ? disturbances[d + 1].start_ns : duration_ns;
    std::optional<int64_t> recovered_ns;
    bool saw_requests = false;
    for (size_t first = series.index_at_or_after(healed_ns);
         series.start_ns(first + width) <= limit_ns && first < series.end(); ++first) {
      const Window window = series.window(first, width);
      if (window.judged == 0) continue;
      saw_requests = true;
      if (window.availability() >= expectation.availability) {
        recovered_ns = series.start_ns(first) - healed_ns;
        break;
      }
    }
    if (recovered_ns) {
      ++measured;
      worst_ns = std::max(worst_ns, *recovered_ns);
      const bool holds = *recovered_ns <= expectation.max.count();
      if (!holds) ++failed;
      row["recovery"] = duration_text(Duration(*recovered_ns));
      row["result"] = holds ? "pass" : "FAIL";
    } else if (limit_ns - healed_ns >= (expectation.max + expectation.window).count() && saw_requests) {
      ++measured;
      ++failed;
      row["result"] = "FAIL: not recovered within " + duration_text(Duration(limit_ns - healed_ns));
    } else {
      row["result"] = saw_requests ? "not measured: the next fault began before recovery could be seen"
                                   : "not measured: no requests after the heal";
    }
    rows.push_back(row);
  }
  result.figures = {
      {"disturbances", rows}, {"measured", measured}, {"worst_ms", static_cast<double>(worst_ns) / 1e6}};
  if (measured == 0) {
    result.status = CheckStatus::kNotEvaluated;
    result.summary =
        "no recovery could be measured (" + std::to_string(disturbances.size()) + " disturbances)";
    return result;
  }
  result.status = failed == 0 ? CheckStatus::kPass : CheckStatus::kFail;
  result.summary = "worst recovery " + duration_text(Duration(worst_ns)) + " over " +
                   std::to_string(measured) + " measured disturbances" +
                   (failed > 0 ? "; " + std::to_string(failed) + " too slow" : "");
  return result;
}

CheckResult check_liveness(const RunRecord& record, const LivenessExpectation& expectation) {
  const std::string expected = "after healing everything at " + duration_text(expectation.heal_at) +
                               ", every " + duration_text(expectation.window) + " window at least " +
                               format_percent(expectation.availability) + " within " +
                               duration_text(expectation.within) + ", and the world whole at the end";
  if (!record.heal_at) return not_evaluated("liveness", "the run never reached the heal time", expected);
  const Series series(record);
  const size_t width = series.buckets_for(expectation.window);
  const int64_t heal_ns = record.heal_at->count();
  CheckResult result;
  result.name = "liveness";
  result.expected = expected;
  std::optional<int64_t> converged_ns;
  bool saw_requests = false;
  for (size_t first = series.index_at_or_after(heal_ns); first + width <= series.end() && !converged_ns;
       ++first) {
    // Converged at `first` when every full window from there to the end of the workload holds.
    bool holds = true;
    bool judged = false;
    for (size_t window_start = first; window_start + width <= series.end(); window_start += width) {
      const Window window = series.window(window_start, width);
      if (window.judged == 0) continue;
      judged = true;
      if (window.availability() < expectation.availability) {
        holds = false;
        break;
      }
    }
    saw_requests |= judged;
    if (holds && judged) converged_ns = series.start_ns(first) - heal_ns;
  }
  result.figures = {{"heal_at", duration_text(expectation.heal_at)},
                    {"world_whole_at_end", record.world_whole_at_end},
                    {"world_state_at_end", record.world_state_at_end}};
  if (!saw_requests) {
    result.status = CheckStatus::kNotEvaluated;
    result.summary = "no requests were judged after the heal";
    return result;
  }
  const bool in_time = converged_ns && *converged_ns <= expectation.within.count();
  result.status = in_time && record.world_whole_at_end ? CheckStatus::kPass : CheckStatus::kFail;
  if (converged_ns) {
    result.figures["converged_after_ms"] = static_cast<double>(*converged_ns) / 1e6;
    result.summary = "converged " + duration_text(Duration(*converged_ns)) + " after the heal";
  } else {
    result.summary = "never converged after the heal";
  }
  result.summary += "; " + record.world_state_at_end;
  return result;
}

CheckResult check_determinism(uint64_t first, std::optional<uint64_t> second) {
  const std::string expected = "the same seed run twice gives the same trace hash";
  char hash[32];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(first));
  if (!second) return not_evaluated("determinism", "the run was not repeated", expected);
  CheckResult result;
  result.name = "determinism";
  result.expected = expected;
  char other[32];
  std::snprintf(other, sizeof other, "%016llx", static_cast<unsigned long long>(*second));
  result.status = first == *second ? CheckStatus::kPass : CheckStatus::kFail;
  result.summary = first == *second
                       ? std::string("trace hash ") + hash + " on both runs"
                       : std::string("trace hash ") + hash + " then " + other + " (a determinism bug)";
  result.figures = {{"first", hash}, {"second", other}};
  return result;
}

std::vector<CheckResult> evaluate_checks(const RunRecord& record, const Expectations& expectations) {
  std::vector<CheckResult> checks;
  if (expectations.no_lost_requests) checks.push_back(check_no_lost_requests(record));
  if (expectations.availability) checks.push_back(check_availability(record, *expectations.availability));
  if (!expectations.latency.empty()) checks.push_back(check_latency(record, expectations.latency));
  if (expectations.recovery) checks.push_back(check_recovery(record, *expectations.recovery));
  if (expectations.liveness) checks.push_back(check_liveness(record, *expectations.liveness));
  const ServingExpectation& serving = expectations.serving;
  if (serving.upgrade_safety) checks.push_back(check_upgrade_safety(record.serving));
  if (serving.single_acting_appmaster) checks.push_back(check_single_acting_appmaster(record.serving));
  if (serving.discovery_convergence) {
    checks.push_back(check_discovery_convergence(record.serving, *serving.discovery_convergence));
  }
  if (serving.autoscaler_bounds) checks.push_back(check_autoscaler_bounds(record.serving));
  if (serving.autoscaler_flapping) {
    checks.push_back(check_autoscaler_flapping(record.serving, *serving.autoscaler_flapping));
  }
  return checks;
}

}  // namespace tandem::reports
