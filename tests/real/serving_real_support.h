// What the serving tests on real processes share: a cluster whose nodes n1, n2 host proxies and backends (CPU)
// and n3, n4 only the AppMaster (an "appmaster" resource, no CPU) — so killing the AppMaster's process kills
// nothing that serves traffic — a small one-version service, and an AppMasterClient with fast periods.
#pragma once

#include <string>

#include "core/serving/appmaster_client.h"
#include "core/serving/catalog.h"
#include "core/serving/discovery.h"
#include "core/serving/service_spec.h"
#include "tests/real/real_fixture.h"

namespace tandem::real::testing {

inline RealClusterOptions serving_cluster(const std::string& storage = {}) {
  RealClusterOptions options;
  options.nodes = 4;
  options.storage = storage;
  options.edit = [](ClusterFile& file) {
    for (ClusterMember& member : file.members) {
      if (member.role != MemberRole::kNode) continue;
      member.labels["cluster"] = "c1";
      member.resources = member.id <= 2 ? runtime::ResourceSet{{"CPU", 16}, {"memory", 16e9}}
                                        : runtime::ResourceSet{{"appmaster", 1}};
    }
  };
  return options;
}

inline serving::ServiceSpec small_spec() {
  using namespace std::chrono_literals;
  serving::ServiceSpec spec;
  spec.name = "svc";
  spec.version = "v1";
  serving::VersionSpec v1;
  v1.name = "v1";
  v1.latency = serving::ServiceTime{serving::LatencyShape::kLognormal, 2ms, 0.3, 3.0};
  v1.startup = 200ms;
  v1.reload = 100ms;
  v1.output_salt = "model";
  v1.concurrency = 16;
  spec.versions = {v1};
  spec.replicas = {{"c1", 4}};
  spec.proxies_per_cluster = 2;
  spec.backend_resources = runtime::ResourceSet{{"CPU", 1}};
  spec.proxy_resources = runtime::ResourceSet{{"CPU", 0.5}};
  return spec;
}

inline serving::AppMasterClient appmaster(RealCluster& c) {
  using namespace std::chrono_literals;
  serving::AppMasterOptions options;
  options.discovery = serving::Endpoint{c.head(), serving::kDiscoveryPort};
  options.lease = 1s;
  options.health_period = 500ms;
  options.health_timeout = 400ms;
  options.reconcile_period = 200ms;
  options.discovery_period = 500ms;
  options.discovery_ttl = 10s;
  options.deregistration_grace = 800ms;
  options.control_timeout = 1s;
  options.start_timeout = 20s;
  serving::AppMasterClientOptions client_options;
  client_options.call_timeout = 2s;
  client_options.resources = runtime::ResourceSet{{"appmaster", 1}};
  return serving::AppMasterClient(c.client(), "svc", "c1", options, client_options);
}

}  // namespace tandem::real::testing
