// ServiceMetadata: everything an AppMaster knows about its service in its cluster, persisted to the cluster's
// control-store KV on every change (the seed's "AppMaster persistent state": service metadata, proxy and
// backend handles, configuration such as replica counts and backend config, the upgrade in progress).
//
// Contract:
// - One record per (service, epoch) under metadata_key(service, epoch): an AppMaster writes only under its
//   own epoch, so a deposed AppMaster's late write can never overwrite its successor's; readers take the
//   record of the highest epoch (core/serving/epoch_lease.h has the fencing story).
// - Members (proxies, backends) are recorded by unique actor name BEFORE they are created (id 0 until the
//   runtime assigns one), so an AppMaster that dies mid-creation finds them by name on recovery instead of
//   leaking them.
// - Plain codec value; `generation` counts changes. Bounded: kMaxHistory finished releases are kept.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/runtime/codec.h"
#include "core/serving/messages.h"
#include "core/serving/service_spec.h"
#include "core/serving/upgrade.h"

namespace tandem::serving {

inline constexpr size_t kMaxHistory = 16;

enum class MemberRole : uint8_t {
  kStable = 0,  // serves the stable version (or is being upgraded)
  kCandidate,   // canary / green instances of the split's candidate version
  kSurge,       // temporary capacity during an upgrade batch
  kRetired,     // leaving: detached, drained, then stopped
};
inline bool codec_valid(MemberRole role) { return role <= MemberRole::kRetired; }
std::string_view member_role_name(MemberRole role);

struct BackendRecord {
  std::string name;     // actor name, unique in the cluster
  ActorId id = 0;       // 0 until the runtime created it
  std::string version;  // the version it runs (or is starting with)
  MemberRole role = MemberRole::kStable;
  bool ready = false;     // started and passing health checks
  bool attached = false;  // listed in the proxies' route tables
  TANDEM_CODEC_FIELDS(name, id, version, role, ready, attached)
  friend bool operator==(const BackendRecord&, const BackendRecord&) = default;
};

struct ProxyRecord {
  std::string name;
  ActorId id = 0;
  Endpoint data;        // where clients reach it; set once ready
  bool ready = false;
  bool retiring = false;  // deregistered, about to stop
  TANDEM_CODEC_FIELDS(name, id, data, ready, retiring)
  friend bool operator==(const ProxyRecord&, const ProxyRecord&) = default;
};

// A traffic split between the stable version and a candidate (canary, blue-green).
struct VersionSplit {
  bool active = false;
  std::string candidate;
  int32_t candidate_replicas = 0;
  std::map<std::string, uint32_t> weights;  // version -> weight; empty: by instance count
  TANDEM_CODEC_FIELDS(active, candidate, candidate_replicas, weights)
  friend bool operator==(const VersionSplit&, const VersionSplit&) = default;
};

struct ReleaseOutcome {
  uint64_t release = 0;
  std::string from;
  std::string to;
  UpgradeState final_state = UpgradeState::kIdle;
  std::string reason;
  TANDEM_CODEC_FIELDS(release, from, to, final_state, reason)
  friend bool operator==(const ReleaseOutcome&, const ReleaseOutcome&) = default;
};

struct ServiceMetadata {
  uint64_t epoch = 0;
  uint64_t job_id = 0;
  std::string service;
  std::string cluster;
  bool deployed = false;
  bool stopped = false;
  ServiceSpec spec;       // spec.version is the stable version
  int32_t desired = 0;    // stable-group backends wanted (the spec's count, or the autoscaler's)
  VersionSplit split;
  std::vector<ProxyRecord> proxies;
  std::vector<BackendRecord> backends;
  UpgradeRecord upgrade;
  std::vector<ReleaseOutcome> history;
  uint64_t next_member = 1;
  uint64_t generation = 0;
  TANDEM_CODEC_FIELDS(epoch, job_id, service, cluster, deployed, stopped, spec, desired, split, proxies, backends,
                      upgrade, history, next_member, generation)
  friend bool operator==(const ServiceMetadata&, const ServiceMetadata&) = default;

  BackendRecord* backend(ActorId id);
  BackendRecord* backend_named(const std::string& name);
  // Ready and attached instances per version.
  std::map<std::string, uint32_t> serving_by_version() const;
};

std::string metadata_prefix(const std::string& service);
std::string metadata_key(const std::string& service, uint64_t epoch);
std::string epoch_prefix(const std::string& service);
std::string epoch_key(const std::string& service, uint64_t epoch);
// The epoch a key under one of the prefixes above names; 0 when it does not parse.
uint64_t epoch_of_key(const std::string& key, const std::string& prefix);
// Actor names: "serving/<service>/appmaster", "serving/<service>/backend/<n>", "serving/<service>/proxy/<n>".
std::string appmaster_name(const std::string& service);
std::string member_prefix(const std::string& service);

}  // namespace tandem::serving
