// The state store restarted under a running cluster (issue 6: "Redis and MariaDB restarted under the
// AppMaster with no acknowledged state lost"). Every member of a real cluster (head and four `tandem node`
// processes) keeps its Storage in one Redis or MariaDB server; an AppMaster serves a service. The server is
// killed with kill -9 and restarted; writes acknowledged before and after must all be there once the head —
// the owner of the control-store KV, where the AppMaster persists its metadata — is itself killed and reloads
// from the server.
#include <catch2/catch.hpp>
#include <string>

#include "core/runtime/codec.h"
#include "core/serving/appmaster_client.h"
#include "core/serving/service_metadata.h"
#include "tests/real/real_fixture.h"
#include "tests/real/support/mariadb_server.h"
#include "tests/real/support/redis_server.h"

namespace tandem::real::testing {
namespace {

using namespace std::chrono_literals;
using namespace tandem::serving;

using ::tandem::testing::MariaDbServer;
using ::tandem::testing::RedisServer;

constexpr int kAcknowledgedPerPhase = 20;

// n1, n2 host proxies and backends; n3, n4 host only the AppMaster (an "appmaster" resource).
RealClusterOptions cluster_on(const std::string& storage) {
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

ServiceSpec small_spec() {
  ServiceSpec spec;
  spec.name = "svc";
  spec.version = "v1";
  VersionSpec v1;
  v1.name = "v1";
  v1.latency = ServiceTime{LatencyShape::kLognormal, 2ms, 0.3, 3.0};
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

AppMasterClient appmaster(RealCluster& c) {
  AppMasterOptions options;
  options.discovery = Endpoint{c.head(), kDiscoveryPort};
  options.lease = 1s;
  options.health_period = 500ms;
  options.health_timeout = 400ms;
  options.reconcile_period = 200ms;
  options.discovery_period = 500ms;
  options.discovery_ttl = 10s;
  options.deregistration_grace = 800ms;
  options.control_timeout = 1s;
  options.start_timeout = 20s;
  AppMasterClientOptions client_options;
  client_options.call_timeout = 2s;
  client_options.resources = runtime::ResourceSet{{"appmaster", 1}};
  return AppMasterClient(c.client(), "svc", "c1", options, client_options);
}

bool backends_ready(RealCluster& c, AppMasterClient& master, uint32_t count) {
  return c.driver.run_until(
      [&] {
        auto status = c.driver.await(master.status(), 5s);
        return status.ok() && status.value().backends_ready == count && status.value().proxies_ready == 2;
      },
      30s);
}

void put_acknowledged(RealCluster& c, int first) {
  for (int i = first; i < first + kAcknowledgedPerPhase; ++i) {
    c.ok(c.driver.await(c.client().kv_put("ack/" + std::to_string(i), "value-" + std::to_string(i)), 10s));
  }
}

template <typename Server>
void check_store_restart_under_appmaster(Server& server, const std::string& storage) {
  RealCluster c(cluster_on(storage));
  AppMasterClient master = appmaster(c);
  c.ok(c.driver.await(master.ensure(1), 30s));
  c.ok(c.driver.await(master.apply(small_spec()), 30s));
  REQUIRE(backends_ready(c, master, 4));
  put_acknowledged(c, 0);

  // kill -9 of the state store under the running cluster, then back on the same port and data.
  server.restart();

  // Every member's next sync reconnects: the control store and the AppMaster keep acknowledging changes.
  put_acknowledged(c, kAcknowledgedPerPhase);
  c.ok(c.driver.await(master.scale(3), 30s));
  REQUIRE(backends_ready(c, master, 3));
  const ServiceMetadata acknowledged = c.ok(c.driver.await(master.metadata(), 10s));
  CHECK(acknowledged.desired == 3);

  // The head forgets everything but its store: kill -9 and restart it; it reloads the KV from the server.
  c.processes.kill9(c.head());
  c.ok(c.processes.start(c.head()));
  c.ok(c.driver.wait_for_nodes(5, 30s));
  int present = 0;
  for (int i = 0; i < 2 * kAcknowledgedPerPhase; ++i) {
    auto value = c.ok(c.driver.await(c.client().kv_get("ack/" + std::to_string(i)), 10s));
    if (value == std::optional<Bytes>("value-" + std::to_string(i))) ++present;
  }
  CHECK(present == 2 * kAcknowledgedPerPhase);

  // The AppMaster's persisted metadata, read back from the reloaded KV, holds the scale acknowledged after
  // the store's restart.
  auto record = c.ok(c.driver.await(c.client().kv_get(metadata_key("svc", acknowledged.epoch)), 10s));
  REQUIRE(record.has_value());
  const ServiceMetadata persisted = c.ok(runtime::decode<ServiceMetadata>(*record));
  CHECK(persisted.desired == 3);
  CHECK(persisted.spec.replicas.at("c1") == 3);
  CHECK(persisted.spec.name == "svc");
  CHECK(persisted.proxies.size() == acknowledged.proxies.size());
  // And the service still runs under the restarted head.
  CHECK(backends_ready(c, master, 3));
}

TEST_CASE(
    "Real cluster: Redis killed with kill -9 and restarted under the AppMaster - no acknowledged state "
    "lost") {
  if (!RedisServer::available()) {
    WARN(RedisServer::kMissingWarning);
    return;
  }
  RedisServer server;
  check_store_restart_under_appmaster(server, server.spec("cluster"));
}

TEST_CASE(
    "Real cluster: MariaDB killed with kill -9 and restarted under the AppMaster - no acknowledged state "
    "lost") {
  if (!MariaDbServer::available()) {
    WARN(MariaDbServer::kMissingWarning);
    return;
  }
  MariaDbServer server;
  check_store_restart_under_appmaster(server, server.spec("cluster"));
}

}  // namespace
}  // namespace tandem::real::testing
