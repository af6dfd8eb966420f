// Random: the only source of randomness in core/ and sim/ — seeded, portable, splittable.
//
// Contract:
// - The same seed gives the same sequence on every platform and compiler: the generator (xoshiro256**) and
//   every distribution here are written out in this project, never taken from std::*_distribution, whose
//   output differs between standard libraries.
// - fork(name) derives an independent stream from this stream's seed and the name, without drawing from this
//   stream: adding a new subsystem stream never shifts the numbers another subsystem sees.
// - Not thread-safe; one stream per event loop or per subsystem.
// The real world seeds its root stream once from the OS at process start (real_backend/); core/ never does.
#pragma once

#include <cstdint>
#include <string_view>

namespace tandem {

class Random {
 public:
  explicit Random(uint64_t seed);

  uint64_t seed() const { return seed_; }

  // A new stream whose seed is derived from this stream's seed and `name` (and `index`).
  Random fork(std::string_view name, uint64_t index = 0) const;

  // 64 uniformly random bits.
  uint64_t next_u64();

  // Uniform in [0, bound); bound > 0. Unbiased (Lemire's method).
  uint64_t below(uint64_t bound);

  // Uniform in [low, high], inclusive; low <= high.
  int64_t between(int64_t low, int64_t high);

  // Uniform in [0, 1) with 53 random bits.
  double unit();

  // True with probability p (p <= 0 never, p >= 1 always).
  bool chance(double p);

  // Exponential with the given mean (> 0).
  double exponential(double mean);

  // Normal (Gaussian) with the given mean and standard deviation (Box-Muller, one value per call).
  double normal(double mean, double stddev);

  // Log-normal: exp(normal(mu, sigma)).
  double lognormal(double mu, double sigma);

  // Pareto with scale x_min > 0 and shape alpha > 0: heavy-tailed service times.
  double pareto(double x_min, double alpha);

 private:
  uint64_t seed_;
  uint64_t state_[4];
};

// A stable 64-bit hash of bytes (FNV-1a then a splitmix64 finaliser): for stream names and trace hashing.
uint64_t stable_hash(std::string_view bytes, uint64_t seed = 0);

// Mixes one 64-bit value into a running hash; order-sensitive. Inline: the trace mixes several per message.
inline uint64_t hash_combine(uint64_t hash, uint64_t value) {
  uint64_t z = (hash ^ (value + 0x9e3779b97f4a7c15ULL + (hash << 6) + (hash >> 2))) + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace tandem
