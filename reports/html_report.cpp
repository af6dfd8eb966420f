// report.html: one self-contained page with inline SVG charts (no scripts, fonts or images from anywhere).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "reports/writers.h"

namespace tandem::reports {
namespace {

constexpr int kWidth = 920;
constexpr int kHeight = 190;
constexpr int kLeft = 104;
constexpr int kRight = 16;
constexpr int kTop = 26;
constexpr int kBottom = 26;
constexpr size_t kMaxTimelineLanes = 24;
constexpr size_t kMaxNodeRows = 24;

std::string escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string num(double value, int digits = 1) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", digits, value);
  return buffer;
}

// "45s", "2.5s"; from two minutes on "2m30s", "1h5m" (whole seconds), so tick labels are never rounded.
std::string time_label(double seconds) {
  if (seconds < 120) return num(seconds, seconds >= 10 || seconds == std::floor(seconds) ? 0 : 1) + "s";
  const auto whole = static_cast<int64_t>(std::llround(seconds));
  const int64_t hours = whole / 3600;
  const int64_t minutes = whole % 3600 / 60;
  const int64_t rest = whole % 60;
  std::string label;
  if (hours > 0) label += std::to_string(hours) + "h";
  if (minutes > 0) label += std::to_string(minutes) + "m";
  if (rest > 0) label += std::to_string(rest) + "s";
  return label;
}

// A fixed palette by fault kind, so the same kind has the same colour in every chart.
std::string fault_color(const std::string& kind) {
  static const char* kPalette[] = {"#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                                   "#bcbd22", "#17becf", "#ff7f0e", "#2ca02c", "#1f77b4"};
  size_t hash = 0;
  for (char c : kind) hash = hash * 31 + static_cast<unsigned char>(c);
  return kPalette[hash % (sizeof kPalette / sizeof kPalette[0])];
}

// "Nice" tick step for a range.
double nice_step(double range, int ticks) {
  if (range <= 0) return 1;
  const double raw = range / ticks;
  const double magnitude = std::pow(10, std::floor(std::log10(raw)));
  for (double multiple : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (raw <= multiple * magnitude) return multiple * magnitude;
  }
  return 10 * magnitude;
}

// A tick step in units people count time in (10s, 1m, 5m, 1h, ...), at most `ticks` ticks over the range;
// below 10 s, nice_step's.
double time_step(double range_seconds, int ticks) {
  static constexpr double kSteps[] = {10,  15,   20,   30,   60,    120,   300,   600,  900,
                                      1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800};
  if (range_seconds / ticks <= 5) return nice_step(range_seconds, ticks);
  for (double step : kSteps) {
    if (range_seconds / step <= ticks) return step;
  }
  return nice_step(range_seconds, ticks);
}

struct Line {
  std::string name;
  std::string color;
  const std::vector<double>* values;
};

class Chart {
 public:
  Chart(double x_max, double y_min, double y_max)
      : x_max_(std::max(x_max, 1e-9)), y_min_(y_min), y_max_(y_max) {
    if (y_max_ <= y_min_) y_max_ = y_min_ + 1;
  }
  double x(double seconds) const { return kLeft + (kWidth - kLeft - kRight) * seconds / x_max_; }
  double y(double value) const {
    const double clamped = std::clamp(value, y_min_, y_max_);
    return kTop + (kHeight - kTop - kBottom) * (1 - (clamped - y_min_) / (y_max_ - y_min_));
  }
  double y_min() const { return y_min_; }
  double y_max() const { return y_max_; }
  double x_max() const { return x_max_; }

 private:
  double x_max_;
  double y_min_;
  double y_max_;
};

std::string x_axis(const Chart& chart, int bottom) {
  std::string svg;
  const double step = time_step(chart.x_max(), 8);
  for (double t = 0; t <= chart.x_max() + 1e-9; t += step) {
    svg += "<line x1='" + num(chart.x(t)) + "' x2='" + num(chart.x(t)) + "' y1='" + std::to_string(kTop) +
           "' y2='" + std::to_string(bottom) + "' class='grid'/>";
    svg += "<text x='" + num(chart.x(t)) + "' y='" + std::to_string(bottom + 14) +
           "' class='tick' text-anchor='middle'>" + time_label(t) + "</text>";
  }
  return svg;
}

std::string fault_shading(const Chart& chart, const RunRecord& record, int top, int bottom) {
  std::string svg;
  const double horizon = to_seconds(record.duration + record.drain);
  for (const FaultSpan& fault : record.faults) {
    if (fault.skipped) continue;
    const double start = static_cast<double>(fault.start_ns) / 1e9;
    const double end = fault.end_ns ? static_cast<double>(*fault.end_ns) / 1e9 : horizon;
    const double width = std::max(1.0, chart.x(end) - chart.x(start));
    svg += "<rect x='" + num(chart.x(start)) + "' y='" + std::to_string(top) + "' width='" + num(width) +
           "' height='" + std::to_string(bottom - top) + "' fill='" + fault_color(fault.kind) +
           "' fill-opacity='0.13'><title>" + escape(fault.label) + " (" + time_label(start) + " - " +
           time_label(end) + ")</title></rect>";
  }
  return svg;
}

// Legend boxes right-aligned on the title line.
std::string legend(const std::vector<Line>& lines) {
  std::string svg;
  double legend_x = kWidth - kRight;
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    legend_x -= 14 + 7.0 * static_cast<double>(it->name.size());
    svg += "<rect x='" + num(legend_x) + "' y='8' width='10' height='10' fill='" + it->color + "'/>";
    svg += "<text x='" + num(legend_x + 13) + "' y='17' class='tick'>" + escape(it->name) + "</text>";
  }
  return svg;
}

// Horizontal grid lines with their values, and the unit along the left edge.
std::string y_axis(const Chart& chart, const std::string& unit, int bottom, double min_step = 0) {
  std::string svg;
  const double step = std::max(min_step, nice_step(chart.y_max() - chart.y_min(), 4));
  for (double v = std::ceil(chart.y_min() / step) * step; v <= chart.y_max() + 1e-9; v += step) {
    svg += "<line x1='" + std::to_string(kLeft) + "' x2='" + std::to_string(kWidth - kRight) + "' y1='" +
           num(chart.y(v)) + "' y2='" + num(chart.y(v)) + "' class='grid'/>";
    svg += "<text x='" + std::to_string(kLeft - 6) + "' y='" + num(chart.y(v) + 4) +
           "' class='tick' text-anchor='end'>" +
           num(v, step == std::floor(step) ? 0 : (step * 10 == std::floor(step * 10) ? 1 : 2)) + "</text>";
  }
  svg += "<text x='12' y='" + num((kTop + bottom) / 2.0) + "' class='tick' transform='rotate(-90 12 " +
         num((kTop + bottom) / 2.0) + ")' text-anchor='middle'>" + escape(unit) + "</text>";
  return svg;
}

std::string svg_open(const std::string& label, int height) {
  return "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 " + std::to_string(kWidth) + " " +
         std::to_string(height) + "' width='" + std::to_string(kWidth) + "' height='" + std::to_string(height) +
         "' role='img' aria-label='" + escape(label) + "'>";
}

std::string line_chart(const std::string& title, const std::string& unit, const ChartData& data,
                       const std::vector<Line>& lines, const RunRecord& record,
                       std::optional<double> fixed_min, std::optional<double> fixed_max) {
  double low = INFINITY;
  double high = -INFINITY;
  for (const Line& line : lines) {
    for (double value : *line.values) {
      if (!std::isfinite(value)) continue;
      low = std::min(low, value);
      high = std::max(high, value);
    }
  }
  if (!std::isfinite(low)) {
    low = 0;
    high = 1;
  }
  double y_min = fixed_min.value_or(std::min(0.0, low));
  double y_max = fixed_max.value_or(high * 1.1 + 1e-9);
  if (fixed_min && low < *fixed_min) y_min = std::floor(low / 5) * 5;  // availability that dipped far
  const double horizon = to_seconds(record.duration + record.drain);
  const Chart chart(horizon, y_min, y_max);
  const int bottom = kHeight - kBottom;
  std::string svg = svg_open(title, kHeight);
  svg += "<text x='" + std::to_string(kLeft) + "' y='16' class='title'>" + escape(title) + "</text>";
  svg += legend(lines);
  svg += fault_shading(chart, record, kTop, bottom);
  svg += y_axis(chart, unit, bottom);
  svg += x_axis(chart, bottom);
  for (const Line& line : lines) {
    std::string path;
    bool pen_down = false;
    for (size_t i = 0; i < data.t_seconds.size() && i < line.values->size(); ++i) {
      const double value = (*line.values)[i];
      if (!std::isfinite(value)) {
        pen_down = false;
        continue;
      }
      const double t = data.t_seconds[i] + data.bucket_seconds / 2;
      path += (pen_down ? "L" : "M") + num(chart.x(t)) + " " + num(chart.y(value)) + " ";
      pen_down = true;
    }
    if (!path.empty())
      svg += "<path d='" + path + "' fill='none' stroke='" + line.color + "' stroke-width='1.5'/>";
  }
  svg += "<rect x='" + std::to_string(kLeft) + "' y='" + std::to_string(kTop) + "' width='" +
         std::to_string(kWidth - kLeft - kRight) + "' height='" + std::to_string(bottom - kTop) +
         "' class='frame'/>";
  svg += "</svg>";
  return svg;
}

// Faults as bars on lanes (overlaps on separate lanes) and nodes' down/paused spans, one row each.
std::string timeline_chart(const RunRecord& record) {
  const double horizon = to_seconds(record.duration + record.drain);
  struct Bar {
    double start;
    double end;
    std::string label;
    std::string color;
    size_t row;
  };
  std::vector<Bar> bars;
  std::vector<double> lane_free_at;
  for (const FaultSpan& fault : record.faults) {
    if (fault.skipped) continue;
    const double start = static_cast<double>(fault.start_ns) / 1e9;
    const double end = fault.end_ns ? static_cast<double>(*fault.end_ns) / 1e9 : horizon;
    size_t lane = 0;
    while (lane < lane_free_at.size() && lane_free_at[lane] > start) ++lane;
    if (lane >= kMaxTimelineLanes) continue;
    if (lane == lane_free_at.size()) lane_free_at.push_back(0);
    lane_free_at[lane] = end;
    bars.push_back(Bar{start, end, fault.label, fault_color(fault.kind), lane});
  }
  const size_t fault_rows = lane_free_at.size();
  std::vector<NodeId> nodes;
  for (const NodeSpan& span : record.node_spans) {
    if (std::find(nodes.begin(), nodes.end(), span.node) == nodes.end() && nodes.size() < kMaxNodeRows)
      nodes.push_back(span.node);
  }
  for (const NodeSpan& span : record.node_spans) {
    const auto it = std::find(nodes.begin(), nodes.end(), span.node);
    if (it == nodes.end()) continue;
    const double start = static_cast<double>(span.start_ns) / 1e9;
    const double end = span.end_ns ? static_cast<double>(*span.end_ns) / 1e9 : horizon;
    const std::string name =
        span.node < record.node_names.size() ? record.node_names[span.node] : std::to_string(span.node);
    bars.push_back(Bar{start, end, name + " " + span.state, span.state == "down" ? "#444444" : "#999999",
                       fault_rows + static_cast<size_t>(it - nodes.begin())});
  }
  const size_t rows = fault_rows + nodes.size();
  if (rows == 0) return "<p>No faults were injected and no node went down.</p>";
  constexpr int kRow = 18;
  const int height = kTop + static_cast<int>(rows) * kRow + kBottom;
  const Chart chart(horizon, 0, 1);
  std::string svg = "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 " + std::to_string(kWidth) + " " +
                    std::to_string(height) + "' width='" + std::to_string(kWidth) + "' height='" +
                    std::to_string(height) + "' role='img' aria-label='fault timeline'>";
  svg += "<text x='" + std::to_string(kLeft) + "' y='16' class='title'>Fault timeline" +
         std::string(nodes.empty() ? "" : " and node down/paused spans") + "</text>";
  svg += x_axis(chart, height - kBottom);
  for (size_t r = 0; r < nodes.size(); ++r) {
    const NodeId node = nodes[r];
    const std::string name = node < record.node_names.size() ? record.node_names[node] : std::to_string(node);
    svg += "<text x='" + std::to_string(kLeft - 6) + "' y='" +
           std::to_string(kTop + static_cast<int>(fault_rows + r) * kRow + 13) +
           "' class='tick' text-anchor='end'>" +
           escape(name.size() > 16 ? "..." + name.substr(name.size() - 15) : name) + "</text>";
  }
  for (const Bar& bar : bars) {
    const double x = chart.x(bar.start);
    const double width = std::max(2.0, chart.x(bar.end) - x);
    const int y = kTop + static_cast<int>(bar.row) * kRow + 2;
    svg += "<g><title>" + escape(bar.label) + " (" + time_label(bar.start) + " - " + time_label(bar.end) +
           ")</title>";
    svg += "<rect x='" + num(x) + "' y='" + std::to_string(y) + "' width='" + num(width) + "' height='" +
           std::to_string(kRow - 4) + "' fill='" + bar.color + "' fill-opacity='0.75' rx='2'/>";
    if (width > 6.0 * static_cast<double>(bar.label.size()) + 6) {
      svg += "<text x='" + num(x + 3) + "' y='" + std::to_string(y + 11) + "' class='bar'>" +
             escape(bar.label) + "</text>";
    }
    svg += "</g>";
  }
  svg += "</svg>";
  return svg;
}

// Replicas per version of one serving service: the versions' serving backends stacked (oldest seen at the
// bottom), as steps (each observation holds until the next), with the desired count as a dashed line.
std::string replica_chart(const ReplicaSeries& series, const RunRecord& record) {
  static const char* kVersionPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd",
                                          "#8c564b", "#e377c2", "#17becf", "#bcbd22"};
  constexpr size_t kPaletteSize = sizeof kVersionPalette / sizeof kVersionPalette[0];
  const size_t points = series.t_seconds.size();
  double high = 0;
  for (size_t p = 0; p < points; ++p) {
    double total = 0;
    for (const std::vector<double>& values : series.serving) total += values[p];
    high = std::max({high, total, series.desired[p]});
  }
  const Chart chart(to_seconds(record.duration + record.drain), 0, std::max(1.0, std::ceil(high * 1.1)));
  const int bottom = kHeight - kBottom;
  const std::string title = "Replicas of " + series.service + " per version";
  std::string svg = svg_open(title, kHeight);
  svg += "<text x='" + std::to_string(kLeft) + "' y='16' class='title'>" + escape(title) + "</text>";
  std::vector<Line> keys;
  for (size_t v = 0; v < series.versions.size(); ++v)
    keys.push_back({series.versions[v], kVersionPalette[v % kPaletteSize], nullptr});
  keys.push_back({"desired", "#222222", nullptr});
  svg += legend(keys);
  svg += fault_shading(chart, record, kTop, bottom);
  svg += y_axis(chart, "backends", bottom, /*min_step=*/1);  // whole backends
  svg += x_axis(chart, bottom);
  // A step edge through (t_p, value_p) held until t_{p+1}.
  const auto step_points = [&](const std::vector<double>& values) {
    std::vector<std::pair<double, double>> out;
    for (size_t p = 0; p < points; ++p) {
      if (p > 0) out.emplace_back(chart.x(series.t_seconds[p]), chart.y(values[p - 1]));
      out.emplace_back(chart.x(series.t_seconds[p]), chart.y(values[p]));
    }
    return out;
  };
  std::vector<double> base(points, 0.0);
  for (size_t v = 0; v < series.versions.size(); ++v) {
    std::vector<double> top = base;
    for (size_t p = 0; p < points; ++p) top[p] += series.serving[v][p];
    const auto upper = step_points(top);
    const auto lower = step_points(base);
    std::string polygon;
    for (const auto& [x, y] : upper) polygon += num(x) + "," + num(y) + " ";
    for (auto it = lower.rbegin(); it != lower.rend(); ++it) polygon += num(it->first) + "," + num(it->second) + " ";
    svg += "<polygon points='" + polygon + "' fill='" + kVersionPalette[v % kPaletteSize] +
           "' fill-opacity='0.55' stroke='" + kVersionPalette[v % kPaletteSize] + "' stroke-width='1'><title>" +
           escape(series.versions[v]) + "</title></polygon>";
    base = std::move(top);
  }
  std::string desired;
  for (const auto& [x, y] : step_points(series.desired)) desired += (desired.empty() ? "M" : "L") + num(x) + " " + num(y) + " ";
  if (!desired.empty()) {
    svg += "<path d='" + desired + "' fill='none' stroke='#222222' stroke-width='1.2' stroke-dasharray='4 3'/>";
  }
  svg += "<rect x='" + std::to_string(kLeft) + "' y='" + std::to_string(kTop) + "' width='" +
         std::to_string(kWidth - kLeft - kRight) + "' height='" + std::to_string(bottom - kTop) +
         "' class='frame'/>";
  svg += "</svg>";
  return svg;
}

}  // namespace

std::string report_html(const Report& report) {
  const RunRecord& record = *report.record;
  const bool passed = report_passed(report);
  const ChartData data = chart_data(record);
  const RequestTotals& totals = record.requests.totals();
  const nlohmann::json latency = latency_summary_ms(record);
  std::string html;
  html += "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'><title>" +
          escape(std::string(passed ? "PASS" : "FAIL") + " " + report.info.scenario_name + " seed " +
                 std::to_string(report.info.seed)) +
          "</title>\n<style>"
          "body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:24px "
          "auto;max-width:960px;color:#222}"
          "h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}"
          ".verdict{padding:10px "
          "14px;border-radius:6px;color:#fff}.pass{background:#2e7d32}.fail{background:#c62828}"
          "table{border-collapse:collapse;width:100%;margin:6px 0}td,th{border-bottom:1px solid "
          "#ddd;padding:5px 8px;"
          "text-align:left;vertical-align:top}th{background:#f4f4f4}"
          ".s-pass{color:#2e7d32;font-weight:600}.s-fail{color:#c62828;font-weight:700}.s-ne{color:#777}"
          "code,pre{font:12.5px ui-monospace,Menlo,Consolas,monospace;background:#f4f4f4;border-radius:4px}"
          "pre{padding:10px;overflow-x:auto}svg{display:block;margin:10px 0}"
          "svg .grid{stroke:#e6e6e6;stroke-width:1}svg .frame{fill:none;stroke:#bbb}"
          "svg .tick{font-size:11px;fill:#555}svg .title{font-size:13px;font-weight:600;fill:#222}"
          "svg .bar{font-size:10.5px;fill:#fff}.muted{color:#666}"
          "</style></head><body>\n";
  html += "<div class='verdict " + std::string(passed ? "pass" : "fail") + "'><h1>" +
          escape(verdict_line(report)) + "</h1></div>\n";
  html += "<p>" + escape(report.info.description) + "</p>\n";
  html +=
      "<p class='muted'>" + std::to_string(totals.issued) + " requests, availability " +
      (totals.judged() ? format_percent(totals.availability()) : std::string("n/a")) +
      (latency.is_null() ? std::string() : ", p99 " + num(latency["p99"].get<double>(), 2) + "ms") + "; " +
      format_duration(record.duration) + " simulated in " + num(report.info.wall_seconds, 2) +
      "s wall; trace hash <code>" +
      [&] {
        char buffer[24];
        std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(record.trace_hash));
        return std::string(buffer);
      }() +
      "</code></p>\n";
  html += "<h2>Checks</h2>\n<table><tr><th>check</th><th>result</th><th>figures</th><th>expected</th></tr>\n";
  for (const CheckResult& check : report.checks) {
    const char* css = check.status == CheckStatus::kPass   ? "s-pass"
                      : check.status == CheckStatus::kFail ? "s-fail"
                                                           : "s-ne";
    html += "<tr><td>" + escape(check.name) + "</td><td class='" + css + "'>" +
            escape(std::string(check_status_name(check.status))) + "</td><td>" + escape(check.summary) +
            "</td><td>" + escape(check.expected) + "</td></tr>\n";
  }
  html +=
      "</table>\n<h2>Over time</h2>\n<p class='muted'>Shaded spans are faults in force (hover for the "
      "fault). Points are " +
      num(data.bucket_seconds, data.bucket_seconds < 1 ? 2 : 0) + "s buckets by request start time.</p>\n";
  html += line_chart("Request rate", "requests/s", data,
                     {{"issued", "#1f77b4", &data.issued_per_second}, {"ok", "#2ca02c", &data.ok_per_second}},
                     record, std::nullopt, std::nullopt);
  html += line_chart("Availability", "% ok", data, {{"availability", "#2ca02c", &data.availability_percent}},
                     record, 90.0, 100.0);
  html += line_chart("Latency of successful requests", "ms", data,
                     {{"p50", "#1f77b4", &data.p50_ms}, {"p99", "#d62728", &data.p99_ms}}, record,
                     std::nullopt, std::nullopt);
  bool replicas_explained = false;
  for (const ReplicaSeries& series : replica_series(record)) {
    if (!series.cluster.empty() || series.t_seconds.empty()) continue;  // per-cluster series: report.json
    if (!replicas_explained) {
      html += "<p class='muted'>Replicas: each version's ready and attached backends summed over the "
              "service's clusters, as its AppMasters reported them at each observation; dashed: the desired "
              "count. Per-cluster series are in report.json.</p>\n";
      replicas_explained = true;
    }
    html += replica_chart(series, record);
  }
  html += timeline_chart(record);
  html += "<h2>Faults</h2>\n";
  if (record.faults.empty()) {
    html += "<p>No faults were injected.</p>\n";
  } else {
    html += "<table><tr><th>start</th><th>end</th><th>fault</th><th>source</th></tr>\n";
    const size_t shown = std::min<size_t>(record.faults.size(), 200);
    for (size_t i = 0; i < shown; ++i) {
      const FaultSpan& fault = record.faults[i];
      html += "<tr><td>" + format_duration(Duration(fault.start_ns)) + "</td><td>" +
              (fault.skipped  ? "skipped: " + escape(fault.skip_reason)
               : fault.end_ns ? format_duration(Duration(*fault.end_ns))
                              : std::string("(end of run)")) +
              "</td><td>" + escape(fault.label) + "</td><td>" + escape(fault.source) + "</td></tr>\n";
    }
    html += "</table>\n";
    if (record.faults.size() > shown)
      html += "<p>... and " + std::to_string(record.faults.size() - shown) + " more in report.json</p>\n";
  }
  html += "<h2>Replay</h2>\n<pre>" + escape(report.info.run_command) + "\n" +
          escape(report.info.replay_command) + "</pre>\n";
  html +=
      "<p class='muted'>Open <code>trace.json</code> in Perfetto (ui.perfetto.dev) for the timeline; "
      "<code>report.json</code> has every figure.</p>\n</body></html>\n";
  return html;
}

}  // namespace tandem::reports
