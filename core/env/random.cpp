#include "core/env/random.h"

#include <cmath>

#include "core/common/check.h"

namespace tandem {
namespace {

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

constexpr double kPi = 3.14159265358979323846;

}  // namespace

Random::Random(uint64_t seed) : seed_(seed) {
  uint64_t x = seed;
  for (uint64_t& word : state_) word = splitmix64(x);
}

Random Random::fork(std::string_view name, uint64_t index) const {
  return Random(hash_combine(stable_hash(name, seed_), index));
}

uint64_t Random::next_u64() {
  const uint64_t result = rotl(state_[1] * 5, 7) * 9;
  const uint64_t t = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = rotl(state_[3], 45);
  return result;
}

uint64_t Random::below(uint64_t bound) {
  TANDEM_CHECK(bound > 0, "Random::below needs a positive bound");
  __uint128_t product = static_cast<__uint128_t>(next_u64()) * bound;
  uint64_t low = static_cast<uint64_t>(product);
  if (low < bound) {
    const uint64_t threshold = (0 - bound) % bound;
    while (low < threshold) {
      product = static_cast<__uint128_t>(next_u64()) * bound;
      low = static_cast<uint64_t>(product);
    }
  }
  return static_cast<uint64_t>(product >> 64);
}

int64_t Random::between(int64_t low, int64_t high) {
  TANDEM_CHECK(low <= high, "Random::between needs low <= high");
  const uint64_t span = static_cast<uint64_t>(high) - static_cast<uint64_t>(low);
  if (span == UINT64_MAX) return static_cast<int64_t>(next_u64());
  return static_cast<int64_t>(static_cast<uint64_t>(low) + below(span + 1));
}

double Random::unit() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

bool Random::chance(double p) {
  if (p <= 0) return false;
  if (p >= 1) return true;
  return unit() < p;
}

double Random::exponential(double mean) {
  TANDEM_CHECK(mean > 0, "Random::exponential needs a positive mean");
  return -mean * std::log1p(-unit());  // 1 - unit() is in (0, 1], so the log is finite
}

double Random::normal(double mean, double stddev) {
  const double u1 = 1.0 - unit();  // (0, 1]
  const double u2 = unit();
  return mean + stddev * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * kPi * u2);
}

double Random::lognormal(double mu, double sigma) { return std::exp(normal(mu, sigma)); }

double Random::pareto(double x_min, double alpha) {
  TANDEM_CHECK(x_min > 0, "Random::pareto needs x_min > 0");
  TANDEM_CHECK(alpha > 0, "Random::pareto needs alpha > 0");
  return x_min / std::pow(1.0 - unit(), 1.0 / alpha);
}

uint64_t stable_hash(std::string_view bytes, uint64_t seed) {
  uint64_t hash = 0xcbf29ce484222325ULL ^ seed;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return splitmix64(hash);
}


}  // namespace tandem
