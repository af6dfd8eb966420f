// ResourceSet: amounts of named resources (CPU, GPU, memory, custom) a node has or a request needs.
//
// Contract:
// - Amounts are non-negative fixed-point numbers with kResourceUnitsPerWhole units per whole (Ray uses the same
//   1e-4 grain), so adding and subtracting is exact and identical on every platform: 0.1 CPU ten times is
//   exactly 1 CPU. A name with amount 0 is simply absent.
// - fits_in(available) is true when every amount requested is at most what is available; names the request
//   does not mention are not constrained. subtract() of more than is there is a bug (TANDEM_CHECK): callers
//   check fits_in() first.
// - Names are free-form; kCpu, kGpu and kMemory (bytes) are the well-known ones. Iteration is in name order.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "core/common/result.h"
#include "core/runtime/codec.h"

namespace tandem::runtime {

inline constexpr int64_t kResourceUnitsPerWhole = 10000;
// The largest amount of one resource: memory in bytes fits (about 900 TB); anything larger is an input error.
inline constexpr double kMaxResourceAmount = 9.0e14;
inline constexpr size_t kMaxResourceNames = 64;  // distinct names in one set

inline constexpr std::string_view kCpu = "CPU";
inline constexpr std::string_view kGpu = "GPU";
inline constexpr std::string_view kMemory = "memory";

class ResourceSet {
 public:
  ResourceSet() = default;
  // {{"CPU", 2}, {"GPU", 0.5}}; bad amounts are a bug here (use make() for user input).
  ResourceSet(std::initializer_list<std::pair<std::string_view, double>> amounts);

  // Validating factory for user input: finite, non-negative, at most kMaxResourceAmount, names non-empty.
  static Result<ResourceSet> make(const std::map<std::string, double>& amounts);

  void set(std::string_view name, double amount);
  double get(std::string_view name) const;
  int64_t units(std::string_view name) const;
  const std::map<std::string, int64_t, std::less<>>& all_units() const { return units_; }
  bool empty() const { return units_.empty(); }

  bool fits_in(const ResourceSet& available) const;
  void add(const ResourceSet& other);
  void subtract(const ResourceSet& other);  // other must fit in *this
  // The first resource that does not fit, with amounts: "GPU: want 2, have 1"; empty when it fits.
  std::string shortfall(const ResourceSet& available) const;

  // "CPU=2 GPU=0.5" (name order); "{}" when empty.
  std::string to_string() const;

  friend bool operator==(const ResourceSet&, const ResourceSet&) = default;

  TANDEM_CODEC_FIELDS(units_)
  std::string codec_check() const;  // amounts in (0, kMaxResourceAmount], at most kMaxResourceNames

 private:
  std::map<std::string, int64_t, std::less<>> units_;
};

ResourceSet operator+(ResourceSet a, const ResourceSet& b);

}  // namespace tandem::runtime
