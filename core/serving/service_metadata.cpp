#include "core/serving/service_metadata.h"

#include <algorithm>
#include <cstdio>
#include <utility>
#include <vector>

namespace tandem::serving {

std::string_view member_role_name(MemberRole role) {
  switch (role) {
    case MemberRole::kStable: return "stable";
    case MemberRole::kCandidate: return "candidate";
    case MemberRole::kSurge: return "surge";
    case MemberRole::kRetired: return "retired";
  }
  return "unknown";
}

BackendRecord* ServiceMetadata::backend(ActorId id) {
  for (BackendRecord& record : backends) {
    if (record.id == id && id != 0) return &record;
  }
  return nullptr;
}

BackendRecord* ServiceMetadata::backend_named(const std::string& name) {
  for (BackendRecord& record : backends) {
    if (record.name == name) return &record;
  }
  return nullptr;
}

std::map<std::string, uint32_t> ServiceMetadata::serving_by_version() const {
  // Counted against the few versions seen so far, the last one first (backends of one version sit together):
  // a map lookup per backend was most of an AppMaster's once-a-second gauges.
  std::vector<std::pair<const std::string*, uint32_t>> counts;
  for (const BackendRecord& record : backends) {
    if (!record.ready || !record.attached || record.role == MemberRole::kRetired) continue;
    auto it = std::find_if(counts.rbegin(), counts.rend(), [&](const auto& c) { return *c.first == record.version; });
    if (it == counts.rend()) {
      counts.emplace_back(&record.version, 1);
    } else {
      ++it->second;
    }
  }
  std::map<std::string, uint32_t> out;
  for (const auto& [version, count] : counts) out.emplace(*version, count);
  return out;
}

namespace {
std::string padded(uint64_t value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%020llu", static_cast<unsigned long long>(value));
  return buffer;
}
}  // namespace

std::string metadata_prefix(const std::string& service) { return "serving/" + service + "/meta/"; }
std::string metadata_key(const std::string& service, uint64_t epoch) { return metadata_prefix(service) + padded(epoch); }
std::string epoch_prefix(const std::string& service) { return "serving/" + service + "/epoch/"; }
std::string epoch_key(const std::string& service, uint64_t epoch) { return epoch_prefix(service) + padded(epoch); }

uint64_t epoch_of_key(const std::string& key, const std::string& prefix) {
  if (key.size() != prefix.size() + 20 || key.compare(0, prefix.size(), prefix) != 0) return 0;
  uint64_t value = 0;
  for (size_t i = prefix.size(); i < key.size(); ++i) {
    const char c = key[i];
    if (c < '0' || c > '9') return 0;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  return value;
}

std::string appmaster_name(const std::string& service) { return "serving/" + service + "/appmaster"; }
std::string member_prefix(const std::string& service) { return "serving/" + service + "/member/"; }

}  // namespace tandem::serving
