#include "core/runtime/resources.h"

#include <cmath>
#include <cstdio>

namespace tandem::runtime {
namespace {
int64_t to_units(double amount) { return std::llround(amount * static_cast<double>(kResourceUnitsPerWhole)); }
double from_units(int64_t units) {
  return static_cast<double>(units) / static_cast<double>(kResourceUnitsPerWhole);
}
std::string format_amount(int64_t units) {
  char buffer[48];
  if (units % kResourceUnitsPerWhole == 0) {
    std::snprintf(buffer, sizeof buffer, "%lld", static_cast<long long>(units / kResourceUnitsPerWhole));
  } else {
    std::snprintf(buffer, sizeof buffer, "%.4g", from_units(units));
  }
  return buffer;
}
}  // namespace

ResourceSet::ResourceSet(std::initializer_list<std::pair<std::string_view, double>> amounts) {
  for (const auto& [name, amount] : amounts) set(name, amount);
}

Result<ResourceSet> ResourceSet::make(const std::map<std::string, double>& amounts) {
  if (amounts.size() > kMaxResourceNames) {
    return Error{Errc::kInvalidArgument, "at most " + std::to_string(kMaxResourceNames) + " resource names"};
  }
  ResourceSet out;
  for (const auto& [name, amount] : amounts) {
    if (name.empty()) return Error{Errc::kInvalidArgument, "a resource name must not be empty"};
    if (!std::isfinite(amount) || amount < 0 || amount > kMaxResourceAmount) {
      return Error{Errc::kInvalidArgument, "resource '" + name + "' must be a finite amount in [0, 9e14], got " +
                                               std::to_string(amount)};
    }
    out.set(name, amount);
  }
  return out;
}

void ResourceSet::set(std::string_view name, double amount) {
  TANDEM_CHECK(std::isfinite(amount), "a resource amount must be finite");
  TANDEM_CHECK(amount >= 0, "a resource amount must not be negative");
  TANDEM_CHECK(amount <= kMaxResourceAmount, "a resource amount above kMaxResourceAmount");
  const int64_t units = to_units(amount);
  if (units == 0) {
    if (auto it = units_.find(name); it != units_.end()) units_.erase(it);
    return;
  }
  units_[std::string(name)] = units;
  TANDEM_CHECK(units_.size() <= kMaxResourceNames, "too many resource names in one set");
}

double ResourceSet::get(std::string_view name) const { return from_units(units(name)); }

int64_t ResourceSet::units(std::string_view name) const {
  auto it = units_.find(name);
  return it == units_.end() ? 0 : it->second;
}

bool ResourceSet::fits_in(const ResourceSet& available) const {
  for (const auto& [name, want] : units_) {
    if (want > available.units(name)) return false;
  }
  return true;
}

void ResourceSet::add(const ResourceSet& other) {
  for (const auto& [name, amount] : other.units_) {
    int64_t& mine = units_[name];
    TANDEM_CHECK(mine <= INT64_MAX - amount, "resource amount overflow");
    mine += amount;
  }
}

void ResourceSet::subtract(const ResourceSet& other) {
  for (const auto& [name, amount] : other.units_) {
    auto it = units_.find(name);
    TANDEM_CHECK(it != units_.end(), "subtracting a resource that is not there");
    TANDEM_CHECK(it->second >= amount, "subtracting more of a resource than is there");
    it->second -= amount;
    if (it->second == 0) units_.erase(it);
  }
}

std::string ResourceSet::shortfall(const ResourceSet& available) const {
  for (const auto& [name, want] : units_) {
    const int64_t have = available.units(name);
    if (want > have) return name + ": want " + format_amount(want) + ", have " + format_amount(have);
  }
  return "";
}

std::string ResourceSet::to_string() const {
  if (units_.empty()) return "{}";
  std::string out;
  for (const auto& [name, amount] : units_) {
    if (!out.empty()) out += ' ';
    out += name + "=" + format_amount(amount);
  }
  return out;
}

std::string ResourceSet::codec_check() const {
  if (units_.size() > kMaxResourceNames) return "at most kMaxResourceNames resource names";
  const int64_t max_units = to_units(kMaxResourceAmount);
  for (const auto& [name, units] : units_) {
    if (name.empty()) return "a non-empty resource name";
    if (units <= 0 || units > max_units) return "a resource amount in (0, 9e14] for '" + name + "'";
  }
  return "";
}

ResourceSet operator+(ResourceSet a, const ResourceSet& b) {
  a.add(b);
  return a;
}

}  // namespace tandem::runtime
