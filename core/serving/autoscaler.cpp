#include "core/serving/autoscaler.h"

#include <algorithm>
#include <cmath>

namespace tandem::serving {

HoltWinters::HoltWinters(Duration season, uint32_t buckets, double alpha, double beta, double gamma)
    : bucket_length_(std::max<Duration>(season / std::max<uint32_t>(buckets, 1), Duration(1))),
      buckets_(std::max<uint32_t>(buckets, 1)),
      alpha_(alpha),
      beta_(beta),
      gamma_(gamma),
      seasonal_(buckets_, 0.0) {}

void HoltWinters::observe(TimePoint now, double value) {
  const int64_t bucket = to_ns(now) / to_ns(bucket_length_);
  if (current_bucket_ >= 0 && bucket != current_bucket_) {
    close_bucket(current_bucket_, bucket_count_ == 0 ? 0 : bucket_sum_ / bucket_count_);
    // Buckets with no observation at all carry the last value forward.
    const double carried = bucket_count_ == 0 ? 0 : bucket_sum_ / bucket_count_;
    for (int64_t gap = current_bucket_ + 1; gap < bucket && gap < current_bucket_ + buckets_; ++gap) {
      close_bucket(gap, carried);
    }
    bucket_sum_ = 0;
    bucket_count_ = 0;
  }
  current_bucket_ = bucket;
  bucket_sum_ += value;
  ++bucket_count_;
}

void HoltWinters::close_bucket(int64_t bucket, double value) {
  if (bucket <= last_closed_) return;
  last_closed_ = bucket;
  if (first_bucket_ < 0) first_bucket_ = bucket;
  const size_t index = static_cast<size_t>(bucket % buckets_);
  if (!initialised_) {
    first_season_.push_back(value);
    if (first_season_.size() == buckets_) {
      double mean = 0;
      for (double v : first_season_) mean += v;
      mean /= static_cast<double>(buckets_);
      for (uint32_t i = 0; i < buckets_; ++i) {
        const int64_t b = first_bucket_ + i;
        seasonal_[static_cast<size_t>(b % buckets_)] = first_season_[i] - mean;
      }
      level_ = mean;
      trend_ = 0;
      initialised_ = true;
      first_season_.clear();
    }
    return;
  }
  const double previous_level = level_;
  level_ = alpha_ * (value - seasonal_[index]) + (1 - alpha_) * (level_ + trend_);
  trend_ = beta_ * (level_ - previous_level) + (1 - beta_) * trend_;
  seasonal_[index] = gamma_ * (value - level_) + (1 - gamma_) * seasonal_[index];
}

std::optional<double> HoltWinters::forecast(TimePoint when) const {
  if (!initialised_) return std::nullopt;
  const int64_t bucket = to_ns(when) / to_ns(bucket_length_);
  const int64_t ahead = std::max<int64_t>(1, bucket - last_closed_);
  const size_t index = static_cast<size_t>(bucket % buckets_);
  return std::max(0.0, level_ + static_cast<double>(ahead) * trend_ + seasonal_[index]);
}

std::optional<double> HoltWinters::forecast_max(TimePoint from, TimePoint to) const {
  if (!initialised_) return std::nullopt;
  double best = 0;
  uint32_t steps = 0;
  for (TimePoint when = from; when <= to && steps <= buckets_; when += bucket_length_, ++steps) {
    best = std::max(best, *forecast(when));
  }
  best = std::max(best, *forecast(to));
  return best;
}

Autoscaler::Autoscaler(AutoscalePolicy policy) : policy_(policy) {
  if (policy_.mode == AutoscaleMode::kPredictive) {
    forecaster_.emplace(policy_.season, policy_.season_buckets, policy_.level_smoothing, policy_.trend_smoothing,
                        policy_.season_smoothing);
  }
}

void Autoscaler::observe(TimePoint now, double concurrency) {
  samples_.emplace_back(now, concurrency);
  while (!samples_.empty() && (samples_.front().first < now - policy_.stable_window ||
                               samples_.size() > kMaxAutoscaleSamples)) {
    samples_.pop_front();
  }
  if (forecaster_) forecaster_->observe(now, concurrency);
}

std::optional<double> Autoscaler::forecast(TimePoint when) const {
  if (!forecaster_) return std::nullopt;
  return forecaster_->forecast(when);
}

double Autoscaler::mean_since(TimePoint since) const {
  double sum = 0;
  size_t count = 0;
  for (auto it = samples_.rbegin(); it != samples_.rend() && it->first >= since; ++it) {
    sum += it->second;
    ++count;
  }
  return count == 0 ? 0 : sum / static_cast<double>(count);
}

int32_t Autoscaler::desire(TimePoint now, int32_t current) {
  const double target = policy_.target_concurrency;
  const double stable_mean = mean_since(now - policy_.stable_window);
  const double panic_mean = mean_since(now - policy_.panic_window);
  const auto replicas_for = [&](double load) { return static_cast<int32_t>(std::ceil(load / target - 1e-9)); };
  const int32_t stable = replicas_for(stable_mean);
  const int32_t panic = replicas_for(panic_mean);

  if (current > 0 && panic >= policy_.panic_threshold * current) {
    if (!panicking(now)) panic_high_ = 0;
    panic_until_ = now + policy_.stable_window;
  }
  int32_t wanted = stable;
  if (panicking(now)) {
    panic_high_ = std::max({panic_high_, panic, current});
    wanted = std::max(wanted, panic_high_);
  }
  if (forecaster_) {
    if (std::optional<double> ahead = forecaster_->forecast_max(now, now + policy_.lead_time)) {
      wanted = std::max(wanted, replicas_for(*ahead));
    }
  }
  // On the way down, the highest wish within scale_down_delay wins.
  recent_.emplace_back(now, wanted);
  while (!recent_.empty() && recent_.front().first < now - policy_.scale_down_delay) recent_.pop_front();
  while (recent_.size() > kMaxAutoscaleSamples) recent_.pop_front();
  if (wanted < current) {
    for (const auto& [when, value] : recent_) wanted = std::max(wanted, std::min(value, current));
  }
  if (current > 0) {
    const int32_t up = static_cast<int32_t>(std::ceil(current * policy_.max_scale_up_rate));
    const int32_t down = static_cast<int32_t>(std::floor(current / policy_.max_scale_down_rate));
    wanted = std::clamp(wanted, down, std::max(up, down));
  } else if (stable_mean > 0 || panic_mean > 0) {
    wanted = std::max(wanted, 1);
  }
  return std::clamp(wanted, policy_.min_replicas, policy_.max_replicas);
}

}  // namespace tandem::serving
