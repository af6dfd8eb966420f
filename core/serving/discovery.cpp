#include "core/serving/discovery.h"

#include <algorithm>

namespace tandem::serving {

namespace {
const std::string kWeightsPrefix = "discovery/weights/";
const std::string kClusterPrefix = "discovery/cluster/";

std::string cluster_key(const std::string& service, const std::string& cluster) {
  return kClusterPrefix + service + "/" + cluster;
}
}  // namespace

DiscoveryServer::DiscoveryServer(Env& env, DiscoveryPlantedBugs planted)
    : env_(env), planted_(planted), endpoint_(env.transport, env.clock, kDiscoveryPort) {
  load();
  endpoint_.serve(kDiscoveryRegister, [this](Address, Bytes request) { return handle_register(std::move(request)); });
  endpoint_.serve(kDiscoveryResolve, [this](Address, Bytes request) { return handle_resolve(std::move(request)); });
  endpoint_.serve(kDiscoverySetWeights,
                  [this](Address, Bytes request) { return handle_set_weights(std::move(request)); });
}

void DiscoveryServer::load() {
  for (auto& [key, bytes] : env_.storage.scan(kWeightsPrefix)) {
    Result<WeightUpdate> weights = runtime::decode<WeightUpdate>(bytes);
    if (!weights.ok()) continue;  // a record this program cannot read: ignore it rather than crash
    ServiceEntry& entry = services_[weights.value().service];
    entry.weights_set = true;
    entry.weights = std::move(weights).value();
  }
  for (auto& [key, bytes] : env_.storage.scan(kClusterPrefix)) {
    Result<ClusterRegistration> record = runtime::decode<ClusterRegistration>(bytes);
    if (!record.ok()) continue;
    Registration& registration = services_[record.value().service].clusters[record.value().cluster];
    registration.expires = env_.clock.now() + record.value().ttl;
    registration.record = std::move(record).value();
  }
}

Resolution DiscoveryServer::resolve_now(const std::string& service) const {
  Resolution out;
  out.service = service;
  auto it = services_.find(service);
  if (it == services_.end()) return out;
  const ServiceEntry& entry = it->second;
  out.weights_version = entry.weights.version;
  std::map<std::string, ClusterEntry> clusters;
  for (const auto& [cluster, registration] : entry.clusters) {
    ClusterEntry& item = clusters[cluster];
    item.cluster = cluster;
    item.epoch = registration.record.epoch;
    if (registration.expires > env_.clock.now()) item.proxies = registration.record.proxies;
    item.weight = entry.weights_set ? 0 : 1;
  }
  if (entry.weights_set) {
    for (const auto& [cluster, weight] : entry.weights.weights) {
      ClusterEntry& item = clusters[cluster];
      item.cluster = cluster;
      item.weight = weight;
    }
  }
  for (auto& [cluster, item] : clusters) out.clusters.push_back(std::move(item));
  return out;
}

Task<Result<Bytes>> DiscoveryServer::handle_register(Bytes bytes) {
  Result<ClusterRegistration> decoded = runtime::decode<ClusterRegistration>(bytes);
  if (!decoded.ok()) co_return Error{Errc::kInvalidArgument, "undecodable registration: " + decoded.error().message};
  ClusterRegistration record = std::move(decoded).value();
  if (Status s = validate_service_name(record.service, "service"); !s.ok()) co_return s.error();
  if (Status s = validate_service_name(record.cluster, "cluster"); !s.ok()) co_return s.error();
  if (record.proxies.size() > static_cast<size_t>(kMaxProxiesPerCluster)) {
    co_return Error{Errc::kInvalidArgument, "a registration lists at most kMaxProxiesPerCluster proxies"};
  }
  if (record.ttl <= Duration::zero()) co_return Error{Errc::kInvalidArgument, "the registration ttl must be positive"};
  auto service = services_.find(record.service);
  if (service == services_.end() && services_.size() >= kMaxDiscoveryServices) {
    co_return Error{Errc::kResourceExhausted, "discovery holds kMaxDiscoveryServices services already"};
  }
  ServiceEntry& entry = services_[record.service];
  auto existing = entry.clusters.find(record.cluster);
  if (existing == entry.clusters.end() && entry.clusters.size() >= kMaxClustersPerService) {
    co_return Error{Errc::kResourceExhausted, "service " + record.service + " is registered in too many clusters"};
  }
  if (existing != entry.clusters.end() && record.epoch < existing->second.record.epoch) {
    co_return Error{Errc::kFailedPrecondition, "fenced: registration of " + record.service + " in " + record.cluster +
                                                   " from epoch " + std::to_string(record.epoch) + " < " +
                                                   std::to_string(existing->second.record.epoch)};
  }
  if (planted_.keep_removed_proxies && existing != entry.clusters.end()) {
    for (const Endpoint& old : existing->second.record.proxies) {
      if (std::find(record.proxies.begin(), record.proxies.end(), old) == record.proxies.end())
        record.proxies.push_back(old);
    }
  }
  const std::string key = cluster_key(record.service, record.cluster);
  env_.storage.put(key, runtime::encode(record));
  Registration& registration = entry.clusters[record.cluster];
  registration.expires = env_.clock.now() + record.ttl;
  registration.record = std::move(record);
  Status synced = co_await env_.storage.sync();
  if (!synced.ok()) co_return synced.error();
  co_return Bytes{};
}

Task<Result<Bytes>> DiscoveryServer::handle_resolve(Bytes bytes) {
  Result<ResolveRequest> decoded = runtime::decode<ResolveRequest>(bytes);
  if (!decoded.ok()) co_return Error{Errc::kInvalidArgument, "undecodable resolve: " + decoded.error().message};
  co_return runtime::encode(resolve_now(decoded.value().service));
}

Task<Result<Bytes>> DiscoveryServer::handle_set_weights(Bytes bytes) {
  Result<WeightUpdate> decoded = runtime::decode<WeightUpdate>(bytes);
  if (!decoded.ok()) co_return Error{Errc::kInvalidArgument, "undecodable weights: " + decoded.error().message};
  WeightUpdate update = std::move(decoded).value();
  if (Status s = validate_service_name(update.service, "service"); !s.ok()) co_return s.error();
  if (update.weights.size() > kMaxClustersPerService) {
    co_return Error{Errc::kInvalidArgument, "at most kMaxClustersPerService weights"};
  }
  auto service = services_.find(update.service);
  if (service == services_.end() && services_.size() >= kMaxDiscoveryServices) {
    co_return Error{Errc::kResourceExhausted, "discovery holds kMaxDiscoveryServices services already"};
  }
  ServiceEntry& entry = services_[update.service];
  if (entry.weights_set && update.version < entry.weights.version) co_return Bytes{};  // older: ignore
  env_.storage.put(kWeightsPrefix + update.service, runtime::encode(update));
  entry.weights_set = true;
  entry.weights = std::move(update);
  Status synced = co_await env_.storage.sync();
  if (!synced.ok()) co_return synced.error();
  co_return Bytes{};
}

}  // namespace tandem::serving
