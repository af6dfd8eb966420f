// The metrics registry and its log-bucket histograms.
#include <catch2/catch.hpp>
#include <rapidcheck.h>
#include <rapidcheck/catch.h>

#include <algorithm>
#include <limits>
#include <cmath>
#include <string>
#include <vector>

#include "core/metrics/registry.h"

namespace tandem::metrics {
namespace {

TEST_CASE("Metrics: a series is its name plus sorted labels, the same labels in another order are the same series") {
  MetricsRegistry registry;
  registry.counter("calls_total", {{"node", "1"}, {"class", "A"}}).increment(2);
  registry.counter("calls_total", {{"class", "A"}, {"node", "1"}}).increment();
  registry.counter("calls_total", {{"class", "B"}, {"node", "1"}}).increment(10);
  CHECK(registry.find_counter("calls_total", {{"class", "A"}, {"node", "1"}})->value() == 3);
  CHECK(registry.counter_sum("calls_total") == 13);
  CHECK(registry.counter_sum("calls_total", {{"class", "B"}}) == 10);
  CHECK(registry.find_counter("calls_total", {{"class", "C"}}) == nullptr);
  registry.gauge("queue_length", {{"node", "2"}}).set(4);
  registry.gauge("queue_length", {{"node", "2"}}).add(-1);
  CHECK(registry.gauge_sum("queue_length") == 3);
  CHECK(Labels({{"b", "2"}, {"a", "1"}}).to_string() == "{a=\"1\",b=\"2\"}");
}

TEST_CASE("Metrics: iteration is in (name, labels) order whatever the order of creation") {
  MetricsRegistry registry;
  registry.counter("z_total").increment();
  registry.counter("a_total", {{"node", "2"}}).increment();
  registry.counter("a_total", {{"node", "10"}}).increment();
  registry.counter("a_total", {{"node", "1"}}).increment();
  std::vector<std::string> seen;
  registry.for_each_counter([&](const SeriesKey& key, const Counter&) { seen.push_back(key.name + key.labels.to_string()); });
  CHECK(seen == std::vector<std::string>{"a_total{node=\"1\"}", "a_total{node=\"10\"}", "a_total{node=\"2\"}",
                                         "z_total{}"});
}

TEST_CASE("Metrics: past max_series new series go to an overflow sink that is counted, not reported") {
  MetricsRegistry registry(2);
  registry.counter("a_total").increment();
  registry.counter("b_total").increment();
  registry.counter("c_total").increment();
  CHECK(registry.series_count() == 2);
  CHECK(registry.dropped_series() == 1);
  CHECK(registry.find_counter("c_total") == nullptr);
}

TEST_CASE("Histogram: count, sum, min, max and exact percentiles at the ends") {
  Histogram h;
  CHECK(h.percentile(50) == 0);
  for (int i = 1; i <= 100; ++i) h.record(i);
  CHECK(h.count() == 100);
  CHECK(h.sum() == 5050);
  CHECK(h.min() == 1);
  CHECK(h.max() == 100);
  CHECK(h.percentile(0) == 1);
  CHECK(h.percentile(100) == 100);
  CHECK(h.percentile(50) == Approx(50).epsilon(0.07));
  CHECK(h.percentile(99) == Approx(99).epsilon(0.07));
  h.record(0);
  h.record(-3);
  h.record(std::nan(""));
  CHECK(h.count() == 102);
  CHECK(h.nan_count() == 1);
  CHECK(h.buckets().front().upper == 0);
  CHECK(h.buckets().front().count == 2);
}

TEST_CASE("Histogram: the bucket layout is fixed, so merging equals recording into one") {
  Histogram a;
  Histogram b;
  Histogram both;
  for (int i = 0; i < 50; ++i) {
    a.record(i * 1.7);
    both.record(i * 1.7);
    b.record(i * 1000.3);
    both.record(i * 1000.3);
  }
  a.merge(b);
  CHECK(a.count() == both.count());
  CHECK(a.percentile(90) == both.percentile(90));
  REQUIRE(a.buckets().size() == both.buckets().size());
  for (size_t i = 0; i < a.buckets().size(); ++i) CHECK(a.buckets()[i].count == both.buckets()[i].count);
  CHECK(Histogram::bucket_index(1.0) == Histogram::bucket_index(1.12));  // [1, 1.125)
  CHECK(Histogram::bucket_index(1.0) != Histogram::bucket_index(1.13));
  CHECK(Histogram::bucket_lower(Histogram::bucket_index(1.13)) == 1.125);
}

TEST_CASE("Histogram: every positive value lands in the bucket whose bounds hold it (bits fast path, subnormals)") {
  // bucket_index reads normal doubles off their bits and falls back to frexp for subnormals: both must agree
  // with the layout bucket_lower/bucket_upper describe, at bucket edges and just inside them. (Not below about
  // 1e-320: there a sub-bucket is narrower than the smallest subnormal step, so its bounds round together.)
  std::vector<double> values = {1e-310, 2.2250738585072014e-308,
                                1e-300, 0.001, 0.5, 1.0, 1.124999, 1.125, 1.9999999, 2.0, 3.0, 4.0, 7.75, 1e6,
                                123456.789, 1e300, std::numeric_limits<double>::max()};
  for (int index = -8 * 20; index < 8 * 20; ++index) {
    const double lower = Histogram::bucket_lower(index);
    values.push_back(lower);
    values.push_back(std::nextafter(Histogram::bucket_upper(index), 0.0));
  }
  for (double value : values) {
    const int index = Histogram::bucket_index(value);
    INFO("value " << value << " index " << index);
    CHECK(Histogram::bucket_lower(index) <= value);
    if (value < std::numeric_limits<double>::max()) CHECK(value < Histogram::bucket_upper(index));
  }
  CHECK(Histogram::bucket_index(1.0) == 8);      // frexp: 0.5 x 2^1, first sub-bucket
  CHECK(Histogram::bucket_index(1.125) == 9);    // 0.5625 x 2^1, second sub-bucket
  CHECK(Histogram::bucket_index(0.75) == 4);     // 0.75 x 2^0, sub-bucket (0.75 - 0.5) x 16 = 4
}

TEST_CASE("Property: a histogram percentile is within one bucket (1/8 relative) of the exact order statistic") {
  rc::prop("percentile accuracy", [](const std::vector<uint32_t>& raw, uint8_t q_raw) {
    RC_PRE(!raw.empty());
    std::vector<double> values;
    Histogram h;
    for (uint32_t v : raw) {
      const double value = 1.0 + v % 1000000;
      values.push_back(value);
      h.record(value);
    }
    std::sort(values.begin(), values.end());
    const double q = 1 + q_raw % 99;
    const size_t rank = static_cast<size_t>(std::ceil(q / 100.0 * static_cast<double>(values.size())));
    const double exact = values[std::max<size_t>(rank, 1) - 1];
    const double estimate = h.percentile(q);
    RC_ASSERT(std::abs(estimate - exact) <= exact / 8.0 + 1e-9);
  });
}

}  // namespace
}  // namespace tandem::metrics
