// MetricsRegistry: the one place runtime and serving components record counters, gauges and histograms, and
// the one place reports read them from.
//
// Contract:
// - A series is identified by a name and a set of labels (key=value). Labels are kept sorted by key and keys
//   are unique, so {node=1, class=A} and {class=A, node=1} are the same series. Names follow Prometheus style:
//   snake_case, unit last (`runtime_actor_call_latency_ms`), counters end in `_total`.
// - counter()/gauge()/histogram() return the series, creating it at zero on first use; references stay valid
//   for the registry's lifetime, so hot paths look a series up once and keep the reference.
// - One name has one kind: asking for a counter named like an existing gauge is a bug (TANDEM_CHECK).
// - Iteration (for_each_*) is in (name, labels) order: reports and snapshots are deterministic.
// - Recording never changes what the program does; nothing in core/ reads metrics to make a decision, so a run
//   with or without a reader is the same run. Not thread-safe: one registry per event loop.
// - Bounded: at most max_series series; past that, lookups return a shared overflow series (not reported) and
//   dropped_series() counts them, so a label explosion degrades reports instead of memory.
// In sim, the test or scenario owns one registry and hands it to every node (labels carry the node); in the
// real world each process owns one and exports it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/metrics/histogram.h"

namespace tandem::metrics {

using Label = std::pair<std::string, std::string>;

// A sorted, key-unique label set.
class Labels {
 public:
  Labels() = default;
  Labels(std::initializer_list<std::pair<std::string_view, std::string_view>> labels);
  explicit Labels(std::vector<Label> labels);

  Labels with(std::string_view key, std::string_view value) const;  // adds or replaces one label
  const std::vector<Label>& items() const { return items_; }
  const std::string* find(std::string_view key) const;
  std::string to_string() const;  // {class="A",node="1"}

  friend auto operator<=>(const Labels&, const Labels&) = default;
  friend bool operator==(const Labels&, const Labels&) = default;

 private:
  void normalise();
  std::vector<Label> items_;
};

struct SeriesKey {
  std::string name;
  Labels labels;
  friend auto operator<=>(const SeriesKey&, const SeriesKey&) = default;
  friend bool operator==(const SeriesKey&, const SeriesKey&) = default;
};

class Counter {
 public:
  void increment(uint64_t by = 1) { value_ += by; }
  uint64_t value() const { return value_; }

 private:
  uint64_t value_ = 0;
};

class Gauge {
 public:
  void set(double value) { value_ = value; }
  void add(double delta) { value_ += delta; }
  double value() const { return value_; }

 private:
  double value_ = 0;
};

class MetricsRegistry {
 public:
  static constexpr size_t kDefaultMaxSeries = size_t{1} << 20;

  explicit MetricsRegistry(size_t max_series = kDefaultMaxSeries) : max_series_(max_series) {}
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  Counter& counter(std::string_view name, const Labels& labels = {});
  Gauge& gauge(std::string_view name, const Labels& labels = {});
  Histogram& histogram(std::string_view name, const Labels& labels = {});

  // Lookups that never create; nullptr when absent.
  const Counter* find_counter(std::string_view name, const Labels& labels = {}) const;
  const Gauge* find_gauge(std::string_view name, const Labels& labels = {}) const;
  const Histogram* find_histogram(std::string_view name, const Labels& labels = {}) const;

  // Aggregates over every series of a name whose labels include all of `filter`.
  uint64_t counter_sum(std::string_view name, const Labels& filter = {}) const;
  double gauge_sum(std::string_view name, const Labels& filter = {}) const;
  Histogram histogram_merged(std::string_view name, const Labels& filter = {}) const;

  // In (name, labels) order.
  void for_each_counter(const std::function<void(const SeriesKey&, const Counter&)>& visit) const;
  void for_each_gauge(const std::function<void(const SeriesKey&, const Gauge&)>& visit) const;
  void for_each_histogram(const std::function<void(const SeriesKey&, const Histogram&)>& visit) const;

  size_t series_count() const { return counters_.size() + gauges_.size() + histograms_.size(); }
  uint64_t dropped_series() const { return dropped_series_; }

 private:
  enum class Kind : uint8_t { kCounter, kGauge, kHistogram };
  void claim_name(std::string_view name, Kind kind);
  bool full() const { return series_count() >= max_series_; }

  size_t max_series_;
  uint64_t dropped_series_ = 0;
  std::map<std::string, Kind, std::less<>> kinds_;
  std::map<SeriesKey, std::unique_ptr<Counter>> counters_;
  std::map<SeriesKey, std::unique_ptr<Gauge>> gauges_;
  std::map<SeriesKey, std::unique_ptr<Histogram>> histograms_;
  Counter overflow_counter_;
  Gauge overflow_gauge_;
  Histogram overflow_histogram_;
};

// True when `labels` contains every label of `filter`.
bool labels_match(const Labels& labels, const Labels& filter);

}  // namespace tandem::metrics
