#include "core/metrics/registry.h"

#include <algorithm>

#include "core/common/check.h"

namespace tandem::metrics {

Labels::Labels(std::initializer_list<std::pair<std::string_view, std::string_view>> labels) {
  items_.reserve(labels.size());
  for (const auto& [key, value] : labels) items_.emplace_back(std::string(key), std::string(value));
  normalise();
}

Labels::Labels(std::vector<Label> labels) : items_(std::move(labels)) { normalise(); }

void Labels::normalise() {
  std::stable_sort(items_.begin(), items_.end(), [](const Label& a, const Label& b) { return a.first < b.first; });
  for (size_t i = 1; i < items_.size(); ++i) {
    TANDEM_CHECK(items_[i - 1].first != items_[i].first, "a metric label key appears twice");
  }
}

Labels Labels::with(std::string_view key, std::string_view value) const {
  Labels out = *this;
  for (Label& label : out.items_) {
    if (label.first == key) {
      label.second = std::string(value);
      return out;
    }
  }
  out.items_.emplace_back(std::string(key), std::string(value));
  out.normalise();
  return out;
}

const std::string* Labels::find(std::string_view key) const {
  for (const Label& label : items_) {
    if (label.first == key) return &label.second;
  }
  return nullptr;
}

std::string Labels::to_string() const {
  std::string out = "{";
  for (size_t i = 0; i < items_.size(); ++i) {
    if (i > 0) out += ",";
    out += items_[i].first + "=\"" + items_[i].second + "\"";
  }
  return out + "}";
}

bool labels_match(const Labels& labels, const Labels& filter) {
  for (const Label& wanted : filter.items()) {
    const std::string* value = labels.find(wanted.first);
    if (value == nullptr || *value != wanted.second) return false;
  }
  return true;
}

void MetricsRegistry::claim_name(std::string_view name, Kind kind) {
  auto it = kinds_.find(name);
  if (it == kinds_.end()) {
    kinds_.emplace(std::string(name), kind);
    return;
  }
  TANDEM_CHECK(it->second == kind, "one metric name used for two kinds (counter, gauge, histogram)");
}

namespace {
template <typename T, typename Map>
T& get_or_create(Map& series, std::string_view name, const Labels& labels, bool full, uint64_t& dropped,
                 T& overflow) {
  SeriesKey key{std::string(name), labels};
  auto it = series.find(key);
  if (it != series.end()) return *it->second;
  if (full) {
    ++dropped;
    return overflow;
  }
  return *series.emplace(std::move(key), std::make_unique<T>()).first->second;
}

template <typename T, typename Map>
const T* find_series(const Map& series, std::string_view name, const Labels& labels) {
  auto it = series.find(SeriesKey{std::string(name), labels});
  return it == series.end() ? nullptr : it->second.get();
}

// Every series of one name, in label order.
template <typename Map, typename Visit>
void for_name(const Map& series, std::string_view name, const Labels& filter, Visit visit) {
  for (auto it = series.lower_bound(SeriesKey{std::string(name), Labels()});
       it != series.end() && it->first.name == name; ++it) {
    if (labels_match(it->first.labels, filter)) visit(*it->second);
  }
}
}  // namespace

Counter& MetricsRegistry::counter(std::string_view name, const Labels& labels) {
  claim_name(name, Kind::kCounter);
  return get_or_create(counters_, name, labels, full(), dropped_series_, overflow_counter_);
}

Gauge& MetricsRegistry::gauge(std::string_view name, const Labels& labels) {
  claim_name(name, Kind::kGauge);
  return get_or_create(gauges_, name, labels, full(), dropped_series_, overflow_gauge_);
}

Histogram& MetricsRegistry::histogram(std::string_view name, const Labels& labels) {
  claim_name(name, Kind::kHistogram);
  return get_or_create(histograms_, name, labels, full(), dropped_series_, overflow_histogram_);
}

const Counter* MetricsRegistry::find_counter(std::string_view name, const Labels& labels) const {
  return find_series<Counter>(counters_, name, labels);
}
const Gauge* MetricsRegistry::find_gauge(std::string_view name, const Labels& labels) const {
  return find_series<Gauge>(gauges_, name, labels);
}
const Histogram* MetricsRegistry::find_histogram(std::string_view name, const Labels& labels) const {
  return find_series<Histogram>(histograms_, name, labels);
}

uint64_t MetricsRegistry::counter_sum(std::string_view name, const Labels& filter) const {
  uint64_t sum = 0;
  for_name(counters_, name, filter, [&](const Counter& c) { sum += c.value(); });
  return sum;
}

double MetricsRegistry::gauge_sum(std::string_view name, const Labels& filter) const {
  double sum = 0;
  for_name(gauges_, name, filter, [&](const Gauge& g) { sum += g.value(); });
  return sum;
}

Histogram MetricsRegistry::histogram_merged(std::string_view name, const Labels& filter) const {
  Histogram merged;
  for_name(histograms_, name, filter, [&](const Histogram& h) { merged.merge(h); });
  return merged;
}

void MetricsRegistry::for_each_counter(const std::function<void(const SeriesKey&, const Counter&)>& visit) const {
  for (const auto& [key, series] : counters_) visit(key, *series);
}
void MetricsRegistry::for_each_gauge(const std::function<void(const SeriesKey&, const Gauge&)>& visit) const {
  for (const auto& [key, series] : gauges_) visit(key, *series);
}
void MetricsRegistry::for_each_histogram(
    const std::function<void(const SeriesKey&, const Histogram&)>& visit) const {
  for (const auto& [key, series] : histograms_) visit(key, *series);
}

}  // namespace tandem::metrics
