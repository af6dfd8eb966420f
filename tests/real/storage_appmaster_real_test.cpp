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
#include "tests/real/serving_real_support.h"
#include "tests/real/support/mariadb_server.h"
#include "tests/real/support/redis_server.h"

namespace tandem::real::testing {
namespace {

using namespace std::chrono_literals;
using namespace tandem::serving;

using ::tandem::testing::MariaDbServer;
using ::tandem::testing::RedisServer;

constexpr int kAcknowledgedPerPhase = 20;

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
  RealCluster c(serving_cluster(storage));
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
