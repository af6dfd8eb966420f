#include "reports/writers.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>

namespace tandem::reports {
namespace {

using Json = nlohmann::json;

std::string hex64(uint64_t value) {
  char buffer[24];
  std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(value));
  return buffer;
}

std::string fixed(double value, int digits) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", digits, value);
  return buffer;
}

std::string count_text(uint64_t value) {
  std::string digits = std::to_string(value);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

Json totals_json(const RequestTotals& totals) {
  return {{"issued", totals.issued},
          {"ok", totals.ok},
          {"timeouts", totals.timeouts},
          {"refused", totals.refused},
          {"overloaded", totals.overloaded},
          {"other_errors", totals.other_errors},
          {"lost", totals.lost},
          {"abandoned", totals.abandoned},
          {"late", totals.late},
          {"not_issued", totals.not_issued},
          {"retried", totals.retried},
          {"availability", totals.judged() == 0 ? Json(nullptr) : Json(totals.availability())}};
}

Json number_or_null(double value) { return std::isfinite(value) ? Json(value) : Json(nullptr); }

size_t passed_count(const Report& report) {
  return static_cast<size_t>(
      std::count_if(report.checks.begin(), report.checks.end(),
                    [](const CheckResult& c) { return c.status == CheckStatus::kPass; }));
}

size_t count_status(const Report& report, CheckStatus status) {
  return static_cast<size_t>(std::count_if(report.checks.begin(), report.checks.end(),
                                           [status](const CheckResult& c) { return c.status == status; }));
}

std::string md_escape(std::string text) {
  std::string out;
  for (char c : text) {
    if (c == '|')
      out += "\\|";
    else if (c == '\n')
      out += ' ';
    else
      out += c;
  }
  return out;
}

Status write_file(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return make_error(Errc::kStorageFailure, "cannot write " + path);
  out << content;
  out.close();
  if (!out) return make_error(Errc::kStorageFailure, "failed while writing " + path);
  return {};
}

}  // namespace

bool report_passed(const Report& report) { return all_hold(report.checks); }

std::string verdict_line(const Report& report) {
  const size_t failed = count_status(report, CheckStatus::kFail);
  const size_t skipped = count_status(report, CheckStatus::kNotEvaluated);
  std::string line = std::string(report_passed(report) ? "PASS" : "FAIL") + "  " + report.info.scenario_name +
                     " seed " + std::to_string(report.info.seed) + ": " +
                     std::to_string(passed_count(report)) + " of " + std::to_string(report.checks.size()) +
                     " checks hold";
  if (failed > 0) line += ", " + std::to_string(failed) + " failed";
  if (skipped > 0) line += ", " + std::to_string(skipped) + " not evaluated";
  return line;
}

Json latency_summary_ms(const RunRecord& record) {
  const std::vector<int64_t>& sorted = record.requests.success_latencies_ns();  // sorted once settled
  if (sorted.empty()) return nullptr;
  auto at = [&](double percentile) { return static_cast<double>(percentile_of_sorted(sorted, percentile)) / 1e6; };
  double sum = 0;
  for (int64_t value : sorted) sum += static_cast<double>(value);
  return {{"p50", at(50)},     {"p90", at(90)},  {"p99", at(99)},
          {"p99.9", at(99.9)}, {"max", at(100)}, {"mean", sum / static_cast<double>(sorted.size()) / 1e6}};
}

ChartData chart_data(const RunRecord& record) {
  ChartData data;
  const RequestLog& log = record.requests;
  const int64_t fine_ns = log.bucket().count();
  const int64_t chart_ns = log.chart_bucket().count();
  data.bucket_seconds = static_cast<double>(chart_ns) / 1e9;
  const int64_t horizon_ns = (record.duration + record.drain).count();
  const size_t points = static_cast<size_t>((horizon_ns + chart_ns - 1) / chart_ns);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (size_t p = 0; p < points; ++p) {
    const int64_t start = static_cast<int64_t>(p) * chart_ns;
    uint64_t issued = 0;
    uint64_t ok = 0;
    uint64_t failed = 0;
    for (int64_t t = start; t < start + chart_ns; t += fine_ns) {
      const auto index = static_cast<size_t>(t / fine_ns);
      if (index >= log.series().size()) break;
      issued += log.series()[index].issued;
      ok += log.series()[index].ok;
      failed += log.series()[index].failed;
    }
    data.t_seconds.push_back(static_cast<double>(start) / 1e9);
    data.issued_per_second.push_back(static_cast<double>(issued) / data.bucket_seconds);
    data.ok_per_second.push_back(static_cast<double>(ok) / data.bucket_seconds);
    data.availability_percent.push_back(
        ok + failed == 0 ? nan : 100.0 * static_cast<double>(ok) / static_cast<double>(ok + failed));
    const bool has_latency = p < log.chart_latency_ms().size() && log.chart_latency_ms()[p].count() > 0;
    data.p50_ms.push_back(has_latency ? log.chart_latency_ms()[p].percentile(50) : nan);
    data.p99_ms.push_back(has_latency ? log.chart_latency_ms()[p].percentile(99) : nan);
  }
  return data;
}

namespace {

// The series of one service, over the samples of `cluster` ("" = all its clusters).
ReplicaSeries one_replica_series(const ServingRecord& serving, const std::string& service,
                                 const std::string& cluster) {
  ReplicaSeries series;
  series.service = service;
  series.cluster = cluster;
  std::vector<const ServingRecord::VersionSample*> samples;
  for (const ServingRecord::VersionSample& sample : serving.versions) {
    if (sample.service != service || (!cluster.empty() && sample.cluster != cluster)) continue;
    samples.push_back(&sample);
    for (const auto& [version, count] : sample.serving) {
      if (std::find(series.versions.begin(), series.versions.end(), version) == series.versions.end())
        series.versions.push_back(version);
    }
  }
  if (samples.empty()) return series;
  // Each cluster's last sample, carried forward; a point is the sum over clusters after each sample.
  std::map<std::string, const ServingRecord::VersionSample*> last_of_cluster;
  std::vector<double> previous;
  std::vector<double> t_seconds;
  std::vector<std::vector<double>> rows;  // [point][version..., desired]
  for (size_t i = 0; i < samples.size(); ++i) {
    last_of_cluster[samples[i]->cluster] = samples[i];
    std::vector<double> row(series.versions.size() + 1, 0.0);
    for (const auto& [name, sample] : last_of_cluster) {
      for (size_t v = 0; v < series.versions.size(); ++v) {
        const auto it = sample->serving.find(series.versions[v]);
        if (it != sample->serving.end()) row[v] += it->second;
      }
      row.back() += sample->desired;
    }
    const bool last = i + 1 == samples.size();
    if (!last && samples[i + 1]->time_ns == samples[i]->time_ns) continue;  // one point per time
    if (row != previous || last) {
      t_seconds.push_back(static_cast<double>(samples[i]->time_ns) / 1e9);
      rows.push_back(row);
      previous = std::move(row);
    }
  }
  // Thin evenly past the cap, always keeping the last point (the state at the end of the run).
  const size_t stride = (rows.size() + ReplicaSeries::kMaxReplicaPoints - 1) / ReplicaSeries::kMaxReplicaPoints;
  series.serving.assign(series.versions.size(), {});
  for (size_t p = 0; p < rows.size(); ++p) {
    if (p % stride != 0 && p + 1 != rows.size()) continue;
    series.t_seconds.push_back(t_seconds[p]);
    for (size_t v = 0; v < series.versions.size(); ++v) series.serving[v].push_back(rows[p][v]);
    series.desired.push_back(rows[p].back());
  }
  return series;
}

}  // namespace

std::vector<ReplicaSeries> replica_series(const RunRecord& record) {
  std::vector<std::string> services;
  std::map<std::string, std::vector<std::string>> clusters_of;
  for (const ServingRecord::VersionSample& sample : record.serving.versions) {
    if (std::find(services.begin(), services.end(), sample.service) == services.end())
      services.push_back(sample.service);
    std::vector<std::string>& clusters = clusters_of[sample.service];
    if (std::find(clusters.begin(), clusters.end(), sample.cluster) == clusters.end())
      clusters.push_back(sample.cluster);
  }
  std::vector<ReplicaSeries> out;
  for (const std::string& service : services) out.push_back(one_replica_series(record.serving, service, ""));
  for (const std::string& service : services) {
    for (const std::string& cluster : clusters_of[service])
      out.push_back(one_replica_series(record.serving, service, cluster));
  }
  return out;
}

Json report_json(const Report& report) {
  const RunRecord& record = *report.record;
  Json out;
  out["tandem_report"] = 1;
  out["verdict"] = report_passed(report) ? "pass" : "fail";
  out["summary"] = verdict_line(report);
  out["scenario"] = {{"name", report.info.scenario_name},
                     {"description", report.info.description},
                     {"path", report.info.scenario_path},
                     {"document", report.info.scenario_document}};
  out["seed"] = report.info.seed;
  Json checks = Json::array();
  for (const CheckResult& check : report.checks) {
    checks.push_back({{"name", check.name},
                      {"status", check.status == CheckStatus::kPass   ? "pass"
                                 : check.status == CheckStatus::kFail ? "fail"
                                                                      : "not_evaluated"},
                      {"summary", check.summary},
                      {"expected", check.expected},
                      {"figures", check.figures}});
  }
  out["checks"] = checks;
  const double simulated = to_seconds(record.duration + record.drain);
  out["run"] = {{"duration", format_duration(record.duration)},
                {"drain", format_duration(record.drain)},
                {"simulated_seconds", simulated},
                {"wall_seconds", report.info.wall_seconds},
                {"speed_ratio", report.info.wall_seconds > 0 ? simulated / report.info.wall_seconds : 0.0},
                {"trace_hash", hex64(record.trace_hash)},
                {"trace_records", record.trace_records},
                {"world_whole_at_end", record.world_whole_at_end},
                {"world_state_at_end", record.world_state_at_end}};
  Json per_service = Json::object();
  for (size_t i = 0; i < record.requests.services().size(); ++i) {
    per_service[record.requests.services()[i]] = totals_json(record.requests.per_service()[i]);
  }
  out["metrics"] = {{"requests", totals_json(record.requests.totals())},
                    {"per_service", per_service},
                    {"latency_ms", latency_summary_ms(record)},
                    {"world", record.figures}};
  Json faults = Json::array();
  for (const FaultSpan& fault : record.faults) {
    Json row = {
        {"id", fault.id},
        {"kind", fault.kind},
        {"label", fault.label},
        {"target", fault.target},
        {"source", fault.source},
        {"start", format_duration(Duration(fault.start_ns))},
        {"start_seconds", static_cast<double>(fault.start_ns) / 1e9},
        {"end", fault.end_ns ? Json(format_duration(Duration(*fault.end_ns))) : Json(nullptr)},
        {"end_seconds", fault.end_ns ? Json(static_cast<double>(*fault.end_ns) / 1e9) : Json(nullptr)},
        {"skipped", fault.skipped}};
    if (fault.skipped) row["skip_reason"] = fault.skip_reason;
    faults.push_back(row);
  }
  out["faults"] = faults;
  out["nemesis_enabled"] = record.nemesis_enabled;
  Json spans = Json::array();
  for (const NodeSpan& span : record.node_spans) {
    spans.push_back(
        {{"node",
          span.node < record.node_names.size() ? record.node_names[span.node] : std::to_string(span.node)},
         {"state", span.state},
         {"start_seconds", static_cast<double>(span.start_ns) / 1e9},
         {"end_seconds", span.end_ns ? Json(static_cast<double>(*span.end_ns) / 1e9) : Json(nullptr)}});
  }
  out["node_spans"] = spans;
  const ChartData chart = chart_data(record);
  Json series = {{"bucket_seconds", chart.bucket_seconds}, {"t_seconds", chart.t_seconds}};
  Json issued = Json::array();
  Json availability = Json::array();
  Json p50 = Json::array();
  Json p99 = Json::array();
  for (size_t i = 0; i < chart.t_seconds.size(); ++i) {
    issued.push_back(chart.issued_per_second[i]);
    availability.push_back(number_or_null(chart.availability_percent[i]));
    p50.push_back(number_or_null(chart.p50_ms[i]));
    p99.push_back(number_or_null(chart.p99_ms[i]));
  }
  series["issued_per_second"] = issued;
  series["availability_percent"] = availability;
  series["p50_ms"] = p50;
  series["p99_ms"] = p99;
  out["series"] = series;
  Json replicas = Json::array();
  for (const ReplicaSeries& one : replica_series(record)) {
    Json per_version = Json::object();
    for (size_t v = 0; v < one.versions.size(); ++v) per_version[one.versions[v]] = one.serving[v];
    replicas.push_back({{"service", one.service},
                        {"cluster", one.cluster.empty() ? Json(nullptr) : Json(one.cluster)},
                        {"t_seconds", one.t_seconds},
                        {"serving", per_version},
                        {"desired", one.desired}});
  }
  // A step function per series: each point holds until the next (see replica_series in writers.h).
  out["replicas_per_version"] = replicas;
  out["replay"] = {{"run", report.info.run_command}, {"replay", report.info.replay_command}};
  return out;
}

std::string report_markdown(const Report& report) {
  const RunRecord& record = *report.record;
  const RequestTotals& totals = record.requests.totals();
  const Json latency = latency_summary_ms(record);
  const double simulated = to_seconds(record.duration + record.drain);
  std::string md;
  md += "# " + verdict_line(report) + "\n\n";
  md += std::to_string(totals.issued) + " requests, availability " +
        (totals.judged() ? format_percent(totals.availability()) : std::string("n/a"));
  if (!latency.is_null()) md += ", p99 " + fixed(latency["p99"].get<double>(), 2) + "ms";
  md += "; " + format_duration(record.duration) + " simulated in " + fixed(report.info.wall_seconds, 2) +
        "s wall";
  if (report.info.wall_seconds > 0)
    md += " (" + fixed(simulated / report.info.wall_seconds, 0) + "x real time)";
  md += ".";
  if (!report.info.description.empty()) md += " " + md_escape(report.info.description);
  md += "\n\n## Checks\n\n| check | result | figures | expected |\n| --- | --- | --- | --- |\n";
  for (const CheckResult& check : report.checks) {
    md += "| " + check.name + " | " +
          (check.status == CheckStatus::kFail ? "**FAIL**" : std::string(check_status_name(check.status))) +
          " | " + md_escape(check.summary) + " | " + md_escape(check.expected) + " |\n";
  }
  md += "\n## Key figures\n\n";
  md += "- requests: " + count_text(totals.issued) + " issued, " + count_text(totals.ok) + " ok, " +
        count_text(totals.timeouts) + " timed out, " + count_text(totals.refused) + " refused, " +
        count_text(totals.overloaded) + " overloaded, " + count_text(totals.lost) + " lost, " +
        count_text(totals.retried) + " retried";
  if (totals.abandoned > 0)
    md += ", " + count_text(totals.abandoned) + " abandoned by crashed or paused clients";
  if (totals.not_issued > 0) md += ", " + count_text(totals.not_issued) + " not issued (no client up)";
  md += "\n";
  if (!latency.is_null()) {
    md += "- latency of successful requests: p50 " + fixed(latency["p50"].get<double>(), 2) + "ms, p90 " +
          fixed(latency["p90"].get<double>(), 2) + "ms, p99 " + fixed(latency["p99"].get<double>(), 2) +
          "ms, max " + fixed(latency["max"].get<double>(), 2) + "ms\n";
  }
  const auto figure = [&](const char* name) {
    const auto it = record.figures.find(name);
    return it == record.figures.end() ? 0.0 : it->second;
  };
  md += "- world: " + fixed(figure("nodes"), 0) + " nodes, " +
        count_text(static_cast<uint64_t>(figure("events"))) + " events, " +
        count_text(static_cast<uint64_t>(figure("messages_sent"))) + " messages (" +
        count_text(static_cast<uint64_t>(figure("messages_dropped"))) + " dropped); " +
        record.world_state_at_end + "\n";
  for (const ReplicaSeries& one : replica_series(record)) {
    if (!one.cluster.empty() || one.t_seconds.empty()) continue;
    md += "- " + one.service + " at the end: ";
    bool any = false;
    for (size_t v = 0; v < one.versions.size(); ++v) {
      if (one.serving[v].back() == 0) continue;
      md += std::string(any ? ", " : "") + fixed(one.serving[v].back(), 0) + " on " + one.versions[v];
      any = true;
    }
    md += std::string(any ? "" : "no backend serving") + " (desired " + fixed(one.desired.back(), 0) + ")\n";
  }
  md += "- trace hash `" + hex64(record.trace_hash) + "`\n";
  if (!record.nemesis_enabled.empty()) {
    md += "- nemesis kinds enabled this run: ";
    for (size_t i = 0; i < record.nemesis_enabled.size(); ++i)
      md += (i ? ", " : "") + record.nemesis_enabled[i];
    md += "\n";
  }
  md += "\n## Faults\n\n";
  if (record.faults.empty()) {
    md += "No faults were injected.\n";
  } else {
    md += "| start | end | fault | source |\n| --- | --- | --- | --- |\n";
    const size_t shown = std::min<size_t>(record.faults.size(), 60);
    for (size_t i = 0; i < shown; ++i) {
      const FaultSpan& fault = record.faults[i];
      md += "| " + format_duration(Duration(fault.start_ns)) + " | " +
            (fault.skipped  ? "skipped: " + md_escape(fault.skip_reason)
             : fault.end_ns ? format_duration(Duration(*fault.end_ns))
                            : std::string("(end of run)")) +
            " | " + md_escape(fault.label) + " | " + fault.source + " |\n";
    }
    if (record.faults.size() > shown)
      md += "\n... and " + std::to_string(record.faults.size() - shown) + " more in report.json\n";
  }
  md += "\n## Replay\n\n```sh\n" + report.info.run_command + "\n";
  if (!report.info.replay_command.empty()) md += report.info.replay_command + "\n";
  md += "```\n\nCharts: `report.html`; timeline in Perfetto (ui.perfetto.dev): `trace.json`.\n";
  return md;
}

Json chrome_trace(const Report& report) {
  const RunRecord& record = *report.record;
  Json events = Json::array();
  constexpr int kFaultsPid = 1;
  constexpr int kNodesPid = 2;
  constexpr int kRequestsPid = 3;
  constexpr int kServingPid = 4;
  auto process_name = [&](int pid, const std::string& name) {
    events.push_back(
        {{"ph", "M"}, {"pid", pid}, {"tid", 0}, {"name", "process_name"}, {"args", {{"name", name}}}});
  };
  process_name(kFaultsPid, "faults");
  process_name(kNodesPid, "nodes");
  process_name(kRequestsPid, "requests");
  const int64_t horizon_ns = (record.duration + record.drain).count();
  auto us = [](int64_t ns) { return static_cast<double>(ns) / 1e3; };

  // Faults: one lane per overlap level, so overlapping faults sit on separate rows.
  std::vector<int64_t> lane_free_at;
  for (const FaultSpan& fault : record.faults) {
    if (fault.skipped) {
      events.push_back({{"ph", "i"},
                        {"s", "p"},
                        {"pid", kFaultsPid},
                        {"tid", 0},
                        {"ts", us(fault.start_ns)},
                        {"name", "skipped: " + fault.label},
                        {"args", {{"reason", fault.skip_reason}}}});
      continue;
    }
    const int64_t end = fault.end_ns.value_or(horizon_ns);
    size_t lane = 0;
    while (lane < lane_free_at.size() && lane_free_at[lane] > fault.start_ns) ++lane;
    if (lane == lane_free_at.size()) {
      lane_free_at.push_back(0);
      events.push_back({{"ph", "M"},
                        {"pid", kFaultsPid},
                        {"tid", static_cast<int>(lane + 1)},
                        {"name", "thread_name"},
                        {"args", {{"name", "faults " + std::to_string(lane + 1)}}}});
    }
    lane_free_at[lane] = end;
    events.push_back({{"ph", "X"},
                      {"pid", kFaultsPid},
                      {"tid", static_cast<int>(lane + 1)},
                      {"ts", us(fault.start_ns)},
                      {"dur", us(end - fault.start_ns)},
                      {"name", fault.label},
                      {"cat", "fault"},
                      {"args", {{"kind", fault.kind}, {"target", fault.target}, {"source", fault.source}}}});
  }
  std::vector<bool> named(record.node_names.size(), false);
  for (const NodeSpan& span : record.node_spans) {
    const int64_t end = span.end_ns.value_or(horizon_ns);
    const bool known = span.node < record.node_names.size();
    if (known && !named[span.node]) {
      named[span.node] = true;
      events.push_back({{"ph", "M"},
                        {"pid", kNodesPid},
                        {"tid", static_cast<int>(span.node)},
                        {"name", "thread_name"},
                        {"args", {{"name", record.node_names[span.node]}}}});
    }
    events.push_back({{"ph", "X"},
                      {"pid", kNodesPid},
                      {"tid", static_cast<int>(span.node)},
                      {"ts", us(span.start_ns)},
                      {"dur", us(end - span.start_ns)},
                      {"name", span.state},
                      {"cat", "node"}});
  }
  for (const TraceEntry& note : record.notes) {
    events.push_back({{"ph", "i"},
                      {"s", "g"},
                      {"pid", kFaultsPid},
                      {"tid", 0},
                      {"ts", us(note.time_ns)},
                      {"name", note.detail},
                      {"cat", "note"}});
  }
  const ChartData chart = chart_data(record);
  for (size_t i = 0; i < chart.t_seconds.size(); ++i) {
    const double ts = chart.t_seconds[i] * 1e6;
    events.push_back({{"ph", "C"},
                      {"pid", kRequestsPid},
                      {"tid", 0},
                      {"ts", ts},
                      {"name", "request rate (/s)"},
                      {"args", {{"issued", chart.issued_per_second[i]}, {"ok", chart.ok_per_second[i]}}}});
    if (std::isfinite(chart.availability_percent[i])) {
      events.push_back({{"ph", "C"},
                        {"pid", kRequestsPid},
                        {"tid", 0},
                        {"ts", ts},
                        {"name", "availability (%)"},
                        {"args", {{"availability", chart.availability_percent[i]}}}});
    }
    if (std::isfinite(chart.p99_ms[i])) {
      events.push_back({{"ph", "C"},
                        {"pid", kRequestsPid},
                        {"tid", 0},
                        {"ts", ts},
                        {"name", "latency (ms)"},
                        {"args", {{"p50", chart.p50_ms[i]}, {"p99", chart.p99_ms[i]}}}});
    }
  }
  bool serving_named = false;
  for (const ReplicaSeries& one : replica_series(record)) {
    if (!one.cluster.empty()) continue;  // the per-service sums; per-cluster series are in report.json
    if (!serving_named) {
      process_name(kServingPid, "serving");
      serving_named = true;
    }
    for (size_t p = 0; p < one.t_seconds.size(); ++p) {
      Json args = Json::object();
      for (size_t v = 0; v < one.versions.size(); ++v) args[one.versions[v]] = one.serving[v][p];
      args["desired"] = one.desired[p];
      events.push_back({{"ph", "C"},
                        {"pid", kServingPid},
                        {"tid", 0},
                        {"ts", one.t_seconds[p] * 1e6},
                        {"name", "replicas of " + one.service + " per version"},
                        {"args", args}});
    }
  }
  return {{"traceEvents", events},
          {"displayTimeUnit", "ms"},
          {"otherData",
           {{"scenario", report.info.scenario_name},
            {"seed", report.info.seed},
            {"trace_hash", hex64(record.trace_hash)},
            {"verdict", report_passed(report) ? "pass" : "fail"}}}};
}

Status write_report_files(const Report& report, const std::string& directory) {
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error) return make_error(Errc::kStorageFailure, "cannot create " + directory + ": " + error.message());
  const auto dump = [](const Json& json) {
    return json.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
  };
  if (Status s = write_file(directory + "/report.json", dump(report_json(report))); !s.ok()) return s;
  if (Status s = write_file(directory + "/report.md", report_markdown(report)); !s.ok()) return s;
  if (Status s = write_file(directory + "/report.html", report_html(report)); !s.ok()) return s;
  return write_file(directory + "/trace.json",
                    chrome_trace(report).dump(-1, ' ', false, Json::error_handler_t::replace) + "\n");
}

}  // namespace tandem::reports
