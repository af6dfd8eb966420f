#include "core/metrics/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

namespace tandem::metrics {
namespace {
// The top bucket: frexp's exponent of the largest finite double is 1024.
constexpr int kTopIndex = 1024 * Histogram::kSubBuckets + Histogram::kSubBuckets - 1;

int floor_div(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
}  // namespace

int Histogram::bucket_index(double positive_value) {
  // A normal double read off its bits: frexp's exponent is the biased exponent - 1022 and the sub-bucket the
  // top bits of the fraction, so this is exactly what the frexp path below computes, without the call.
  const uint64_t bits = std::bit_cast<uint64_t>(positive_value);
  const int biased = static_cast<int>((bits >> 52) & 0x7ff);
  if (biased != 0 && biased != 0x7ff) {
    static_assert(kSubBuckets == 8, "the fast path takes 3 fraction bits");
    return (biased - 1022) * kSubBuckets + static_cast<int>((bits >> 49) & 7);
  }
  if (std::isinf(positive_value)) return kTopIndex;
  int exponent = 0;
  const double mantissa = std::frexp(positive_value, &exponent);  // in [0.5, 1), exact
  const int sub = std::min(kSubBuckets - 1, static_cast<int>((mantissa - 0.5) * 2.0 * kSubBuckets));
  return exponent * kSubBuckets + sub;
}

double Histogram::bucket_lower(int index) {
  const int exponent = floor_div(index, kSubBuckets);
  const int sub = index - exponent * kSubBuckets;
  return std::ldexp(0.5 + static_cast<double>(sub) / (2.0 * kSubBuckets), exponent);
}

void Histogram::add_to_bucket(int index, uint64_t count) {
  const auto offset = static_cast<size_t>(index - first_index_);
  if (index >= first_index_ && offset < counts_.size()) {  // the usual case: a bucket already in range
    counts_[offset] += count;
    return;
  }
  if (counts_.empty()) {
    first_index_ = index;
    counts_.assign(1, 0);
  } else if (index < first_index_) {
    counts_.insert(counts_.begin(), static_cast<size_t>(first_index_ - index), 0);
    first_index_ = index;
  } else if (index >= first_index_ + static_cast<int>(counts_.size())) {
    counts_.resize(static_cast<size_t>(index - first_index_ + 1), 0);
  }
  counts_[static_cast<size_t>(index - first_index_)] += count;
}

void Histogram::record(double value, uint64_t count) {
  if (count == 0) return;
  if (std::isnan(value)) {
    nan_count_ += count;
    return;
  }
  if (count_ == 0) {
    min_ = max_ = value;
  } else {
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
  }
  count_ += count;
  sum_ += value * static_cast<double>(count);
  if (value <= 0) {
    zero_count_ += count;
  } else {
    add_to_bucket(bucket_index(value), count);
  }
}

void Histogram::merge(const Histogram& other) {
  if (other.count_ == 0) {
    nan_count_ += other.nan_count_;
    return;
  }
  if (count_ == 0) {
    min_ = other.min_;
    max_ = other.max_;
  } else {
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }
  count_ += other.count_;
  nan_count_ += other.nan_count_;
  zero_count_ += other.zero_count_;
  sum_ += other.sum_;
  for (size_t i = 0; i < other.counts_.size(); ++i) {
    if (other.counts_[i] != 0) add_to_bucket(other.first_index_ + static_cast<int>(i), other.counts_[i]);
  }
}

double Histogram::percentile(double q) const {
  if (count_ == 0) return 0.0;
  if (q <= 0) return min_;
  if (q >= 100) return max_;
  // The rank of the wanted value, 1-based: the smallest value with at least q% of the values at or below it.
  auto rank = static_cast<uint64_t>(std::ceil(q / 100.0 * static_cast<double>(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = zero_count_;
  if (rank <= seen) return std::clamp(0.0, min_, max_);
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (rank <= seen) {
      const int index = first_index_ + static_cast<int>(i);
      const double middle = (bucket_lower(index) + bucket_upper(index)) / 2.0;
      return std::clamp(middle, min_, max_);
    }
  }
  return max_;
}

std::vector<Histogram::Bucket> Histogram::buckets() const {
  std::vector<Bucket> out;
  if (zero_count_ > 0) out.push_back(Bucket{0.0, 0.0, zero_count_});
  for (size_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i] == 0) continue;
    const int index = first_index_ + static_cast<int>(i);
    out.push_back(Bucket{bucket_lower(index), bucket_upper(index), counts_[i]});
  }
  return out;
}

}  // namespace tandem::metrics
