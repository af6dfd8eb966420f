// Discovery: the two-level service registry clients resolve a service through (the seed's
// service.global.xxx.com -> service.i.xxx.com / service.ii.xxx.com).
//
//   level 1: service name  -> clusters with traffic weights     (written by the ServingKeeper)
//   level 2: (service, cluster) -> live proxy data addresses     (written by that cluster's acting AppMaster)
//
// Contract:
// - DiscoveryServer runs on one node and serves on the well-known port kDiscoveryPort. Every change is written
//   to the node's Storage and acknowledged only after sync() succeeds; a restart reloads everything and gives
//   each registration a fresh TTL.
// - A cluster's registration is the full list of its live proxies; a newer one replaces it. It is fenced by
//   the AppMaster epoch: a registration with a lower epoch than the stored one is refused
//   (kFailedPrecondition), so a deposed AppMaster cannot resurrect proxies. A registration not refreshed
//   within its TTL resolves to no proxies (its cluster vanished, e.g. a whole-cluster outage). Deregistration
//   is a registration with no proxies — AppMasters send it before a planned stop.
// - Weights: when the keeper never set weights for a service, every registered cluster weighs 1; once set,
//   a cluster without a weight weighs 0. Weight updates carry a version; older ones are ignored.
// - resolve() answers from memory, in cluster-name order. Limits: kMaxDiscoveryServices services,
//   kMaxClustersPerService clusters per service, kMaxProxiesPerCluster proxies per registration.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/async/rpc.h"
#include "core/async/scope.h"
#include "core/env/env.h"
#include "core/runtime/codec.h"
#include "core/serving/messages.h"
#include "core/serving/service_spec.h"

namespace tandem::serving {

inline constexpr Port kDiscoveryPort = 7;
inline constexpr uint32_t kDiscoveryRegister = 60;
inline constexpr uint32_t kDiscoveryResolve = 61;
inline constexpr uint32_t kDiscoverySetWeights = 62;
inline constexpr size_t kMaxDiscoveryServices = 10'000;

struct ClusterRegistration {
  std::string service;
  std::string cluster;
  uint64_t epoch = 0;
  std::vector<Endpoint> proxies;
  Duration ttl = std::chrono::seconds(30);
  TANDEM_CODEC_FIELDS(service, cluster, epoch, proxies, ttl)
};

struct WeightUpdate {
  std::string service;
  std::map<std::string, uint32_t> weights;  // cluster -> weight
  uint64_t version = 0;
  TANDEM_CODEC_FIELDS(service, weights, version)
};

struct ResolveRequest {
  std::string service;
  TANDEM_CODEC_FIELDS(service)
};

struct ClusterEntry {
  std::string cluster;
  uint32_t weight = 0;
  std::vector<Endpoint> proxies;  // empty when expired or deregistered
  uint64_t epoch = 0;
  friend bool operator==(const ClusterEntry&, const ClusterEntry&) = default;
  TANDEM_CODEC_FIELDS(cluster, weight, proxies, epoch)
};

struct Resolution {
  std::string service;
  std::vector<ClusterEntry> clusters;  // in cluster-name order
  uint64_t weights_version = 0;
  TANDEM_CODEC_FIELDS(service, clusters, weights_version)
};

// Test-only switches that plant a known bug, so `tandem explore` can prove it finds one (its self-test).
// Never set in production configurations; the default plants nothing.
struct DiscoveryPlantedBugs {
  // A newer registration adds its proxies to the old list instead of replacing it: dead proxies stay listed.
  bool keep_removed_proxies = false;
};

class DiscoveryServer {
 public:
  explicit DiscoveryServer(Env& env, DiscoveryPlantedBugs planted = {});
  DiscoveryServer(const DiscoveryServer&) = delete;
  DiscoveryServer& operator=(const DiscoveryServer&) = delete;

  Address address() const { return endpoint_.address(); }
  // What resolve() would answer now (tests, reports).
  Resolution resolve_now(const std::string& service) const;

 private:
  struct Registration {
    ClusterRegistration record;
    TimePoint expires{};
  };
  struct ServiceEntry {
    bool weights_set = false;
    WeightUpdate weights;
    std::map<std::string, Registration> clusters;
  };

  void load();
  Task<Result<Bytes>> handle_register(Bytes request);
  Task<Result<Bytes>> handle_resolve(Bytes request);
  Task<Result<Bytes>> handle_set_weights(Bytes request);

  Env& env_;
  DiscoveryPlantedBugs planted_;
  std::map<std::string, ServiceEntry> services_;
  RpcEndpoint endpoint_;  // last: its handlers use the tables above
};

}  // namespace tandem::serving
