// Histogram: a distribution of non-negative values in fixed log-scale buckets, with percentile queries.
//
// Contract:
// - Buckets are fixed for every histogram, so histograms merge exactly: each power of two [2^e, 2^(e+1)) is
//   split into kSubBuckets equal linear parts (HdrHistogram's layout), so a bucket is at most 1/kSubBuckets of
//   its lower bound wide and a percentile read from a bucket is within that relative error. The bucket of a
//   value is computed with exact arithmetic (frexp), so it is the same on every platform.
// - Values <= 0 land in a zero bucket; NaN is ignored (counted in nan_count()); +inf lands in the top bucket.
// - percentile(q) for q in [0, 100] returns a value within the bucket holding the q-th percentile, clamped to
//   [min(), max()]; percentile(0) is min() and percentile(100) is max(); 0 when empty.
// - Memory grows only with the span of buckets actually used (a few KB at most), never with the count.
#pragma once

#include <cstdint>
#include <vector>

namespace tandem::metrics {

class Histogram {
 public:
  static constexpr int kSubBuckets = 8;

  struct Bucket {
    double lower;  // inclusive
    double upper;  // exclusive
    uint64_t count;
  };

  void record(double value, uint64_t count = 1);
  void merge(const Histogram& other);
  void clear() { *this = Histogram(); }

  uint64_t count() const { return count_; }
  uint64_t nan_count() const { return nan_count_; }
  double sum() const { return sum_; }
  double mean() const { return count_ == 0 ? 0.0 : sum_ / static_cast<double>(count_); }
  double min() const { return count_ == 0 ? 0.0 : min_; }
  double max() const { return count_ == 0 ? 0.0 : max_; }
  double percentile(double q) const;

  // Non-empty buckets in ascending order (the zero bucket first, as [0, 0]).
  std::vector<Bucket> buckets() const;

  // The bucket layout, exposed for tests and report writers.
  static int bucket_index(double positive_value);
  static double bucket_lower(int index);
  static double bucket_upper(int index) { return bucket_lower(index + 1); }

 private:
  void add_to_bucket(int index, uint64_t count);

  uint64_t count_ = 0;
  uint64_t nan_count_ = 0;
  uint64_t zero_count_ = 0;
  double sum_ = 0;
  double min_ = 0;
  double max_ = 0;
  int first_index_ = 0;
  std::vector<uint64_t> counts_;  // counts_[i] is bucket first_index_ + i
};

}  // namespace tandem::metrics
