#include "real_backend/prometheus.h"

#include <cmath>
#include <cstdio>

namespace tandem::real {
namespace {

std::string escape(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string label_text(const metrics::Labels& labels, const metrics::Labels& extra,
                       const std::string& quantile = {}) {
  metrics::Labels all = labels;
  for (const auto& [key, value] : extra.items()) all = all.with(key, value);
  if (!quantile.empty()) all = all.with("quantile", quantile);
  if (all.items().empty()) return "";
  std::string out = "{";
  bool first = true;
  for (const auto& [key, value] : all.items()) {
    if (!first) out += ",";
    first = false;
    out += key + "=\"" + escape(value) + "\"";
  }
  return out + "}";
}

std::string number(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.17g", value);
  return buffer;
}

// Writes "# TYPE" once per metric name (series of one name are adjacent in registry order).
void type_line(std::string& out, std::string& last_name, const std::string& name, const char* type) {
  if (name == last_name) return;
  last_name = name;
  out += "# TYPE " + name + " " + type + "\n";
}

}  // namespace

std::string prometheus_text(const metrics::MetricsRegistry& registry, const metrics::Labels& extra) {
  std::string out;
  std::string last_name;
  registry.for_each_counter([&](const metrics::SeriesKey& key, const metrics::Counter& counter) {
    type_line(out, last_name, key.name, "counter");
    out += key.name + label_text(key.labels, extra) + " " + std::to_string(counter.value()) + "\n";
  });
  registry.for_each_gauge([&](const metrics::SeriesKey& key, const metrics::Gauge& gauge) {
    type_line(out, last_name, key.name, "gauge");
    out += key.name + label_text(key.labels, extra) + " " + number(gauge.value()) + "\n";
  });
  registry.for_each_histogram([&](const metrics::SeriesKey& key, const metrics::Histogram& histogram) {
    type_line(out, last_name, key.name, "summary");
    for (const auto& [quantile, percent] : {std::pair{"0.5", 50.0}, {"0.9", 90.0}, {"0.99", 99.0}}) {
      out += key.name + label_text(key.labels, extra, quantile) + " " + number(histogram.percentile(percent)) +
             "\n";
    }
    out += key.name + "_sum" + label_text(key.labels, extra) + " " + number(histogram.sum()) + "\n";
    out += key.name + "_count" + label_text(key.labels, extra) + " " + std::to_string(histogram.count()) + "\n";
  });
  return out;
}

}  // namespace tandem::real
