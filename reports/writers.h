// Report writers: what a person and a machine read after a run.
//
//   report.json  machine-readable: scenario (embedded, so the run replays without the file), seed, verdict,
//                checks with figures, metrics, the fault timeline and the time series (replicas per version too)
//   report.md    readable in ten seconds: the verdict line first, the checks table, key figures, how to replay
//   report.html  one self-contained page (no external assets): inline SVG charts over time — request rate,
//                availability, latency p50/p99, replicas per version (serving services) — with faults as
//                shaded spans, a fault timeline, the checks
//   trace.json   Chrome trace event format (opens in Perfetto / chrome://tracing): faults and node down/paused
//                spans as duration events; request rate, availability, latency and replicas per version as
//                counter tracks
//
// Contract: each writer is a pure function of the Report; write_report_files() creates the directory and
// writes the four files, returning an Error naming the file that could not be written.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/common/result.h"
#include "reports/checks.h"
#include "reports/run_record.h"

namespace tandem::reports {

struct RunInfo {
  std::string scenario_name;
  std::string description;
  std::string scenario_path;
  nlohmann::json scenario_document;
  uint64_t seed = 0;
  double wall_seconds = 0;
  std::string run_command;     // "tandem run scenarios/library/default.json --seed 1"
  std::string replay_command;  // "tandem replay tandem-out/default-seed1"
};

struct Report {
  RunInfo info;
  const RunRecord* record = nullptr;
  std::vector<CheckResult> checks;
};

// "PASS" / "FAIL", and the one-line verdict ("PASS  default seed 1: 5 of 5 checks hold").
bool report_passed(const Report& report);
std::string verdict_line(const Report& report);

nlohmann::json report_json(const Report& report);
std::string report_markdown(const Report& report);
std::string report_html(const Report& report);
nlohmann::json chrome_trace(const Report& report);

Status write_report_files(const Report& report, const std::string& directory);

// The time series the charts and the trace draw, one point per chart bucket over [0, duration + drain).
// A point with no judged requests has no availability (NaN), one with no successes no latency (NaN).
struct ChartData {
  double bucket_seconds = 0;
  std::vector<double> t_seconds;  // bucket starts
  std::vector<double> issued_per_second;
  std::vector<double> ok_per_second;
  std::vector<double> availability_percent;
  std::vector<double> p50_ms;
  std::vector<double> p99_ms;
};
ChartData chart_data(const RunRecord& record);

// Replicas per version over time, from the serving record's observations: one series per serving service
// (its clusters summed, `cluster` empty) and then one per (service, cluster). A step function: each point
// holds until the next; one point per observation time, kept only where a value changes, plus the first and
// the last observation, and at most kMaxReplicaPoints (evenly thinned beyond). A cluster counts 0 until its
// first observation and keeps its last observed figures while its AppMaster does not answer. Empty when no
// serving service ran.
struct ReplicaSeries {
  static constexpr size_t kMaxReplicaPoints = 4000;
  std::string service;
  std::string cluster;                // "" for the sum over the service's clusters
  std::vector<std::string> versions;  // every version seen serving, in the order first seen
  std::vector<double> t_seconds;
  std::vector<std::vector<double>> serving;  // [version][point]: ready and attached backends
  std::vector<double> desired;
};
std::vector<ReplicaSeries> replica_series(const RunRecord& record);

// Latency percentiles (ms) of successful requests: p50, p90, p99, p99.9, max, mean.
nlohmann::json latency_summary_ms(const RunRecord& record);

}  // namespace tandem::reports
