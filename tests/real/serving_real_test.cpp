// The serving control plane on real processes: an AppMaster, proxies and backends as actors of `tandem node`
// processes, discovery on the head, this test as the client under load — and the AppMaster's process killed
// with kill -9 while requests flow.
#include <catch2/catch.hpp>

#include <map>

#include "core/async/sleep.h"
#include "core/serving/appmaster_client.h"
#include "core/serving/catalog.h"
#include "core/serving/serving_client.h"
#include "tests/real/serving_real_support.h"

namespace tandem::real::testing {
namespace {

using namespace std::chrono_literals;
using namespace tandem::serving;

struct Load {
  uint64_t issued = 0;
  uint64_t ok = 0;
  uint64_t failed = 0;
  std::string first_error;
  bool running = true;
  uint64_t done() const { return ok + failed; }
};

Task<void> one_request(ServingClient& client, uint64_t n, std::shared_ptr<Load> load) {
  RequestOutcome outcome = co_await client.request("q" + std::to_string(n));
  if (outcome.ok()) {
    ++load->ok;
  } else {
    if (load->failed++ == 0) load->first_error = std::string(errc_name(outcome.code)) + ": " + outcome.error;
  }
}

Task<void> load_loop(ServingClient& client, Scope& scope, Clock& clock, std::shared_ptr<Load> load) {
  uint64_t n = 0;
  while (load->running) {
    ++load->issued;
    scope.spawn(one_request(client, n++, load));
    co_await sleep(clock, 10ms);  // 100 requests per second
  }
}

TEST_CASE("Real cluster: the AppMaster's process killed with kill -9 under load - not one request fails") {
  RealCluster c(serving_cluster());
  AppMasterClient master = appmaster(c);
  c.ok(c.driver.await(master.ensure(1), 30s));
  c.ok(c.driver.await(master.apply(small_spec()), 30s));
  REQUIRE(c.driver.run_until(
      [&] {
        auto status = c.driver.await(master.status(), 5s);
        return status.ok() && status.value().backends_ready == 4 && status.value().proxies_ready == 2;
      },
      30s));

  ServingClientOptions client_options;
  client_options.service = "svc";
  client_options.local_cluster = "c1";
  client_options.discovery = Address{c.head(), kDiscoveryPort};
  client_options.pull_interval = 300ms;
  client_options.deadline = 800ms;
  client_options.per_try_timeout = 250ms;
  ServingClient client(c.driver.env(), client_options);
  client.start();
  REQUIRE(c.driver.run_until([&] { return client.ready(); }, 10s));
  auto load = std::make_shared<Load>();
  c.driver.drivers().spawn(load_loop(client, c.driver.drivers(), c.driver.env().clock, load));
  c.driver.run_until([] { return false; }, 1s);

  // Find the AppMaster's node and kill its process.
  const AppMasterStatus before = c.ok(c.driver.await(master.status(), 10s));
  NodeId victim = kNoNode;
  auto actors = c.ok(c.driver.await(c.client().list_actors(true, false), 10s));
  for (const runtime::ActorInfo& info : actors) {
    if (info.class_name == kAppMasterClass) victim = info.node;
  }
  REQUIRE((victim == c.node(3) || victim == c.node(4)));
  c.processes.kill9(victim);

  // The runtime declares the node dead, restarts the AppMaster on the other AppMaster node, and it adopts the
  // live proxies and backends (an actor restart: nothing serving is touched).
  REQUIRE(c.driver.run_until(
      [&] {
        auto status = c.driver.await(master.probe(1s), 2s);
        return status.ok() && status.value().recovered && status.value().epoch > before.epoch;
      },
      30s));
  const AppMasterStatus after = c.ok(c.driver.await(master.status(), 10s));
  CHECK(after.recovery == RecoveryMode::kActorRestart);
  CHECK(after.backends_ready == 4);
  c.driver.run_until([] { return false; }, 1s);
  load->running = false;
  REQUIRE(c.driver.run_until([&] { return load->done() == load->issued; }, 5s));
  INFO(load->first_error);
  CHECK(load->issued > 150);
  CHECK(load->failed == 0);
}

TEST_CASE("Real cluster: a serving node killed with kill -9 - its backends come back on the other node") {
  RealCluster c(serving_cluster());
  AppMasterClient master = appmaster(c);
  c.ok(c.driver.await(master.ensure(1), 30s));
  c.ok(c.driver.await(master.apply(small_spec()), 30s));
  auto serving = [&](uint32_t backends) {
    return c.driver.run_until(
        [&] {
          auto status = c.driver.await(master.status(), 5s);
          return status.ok() && status.value().backends_ready == backends && status.value().proxies_ready == 2;
        },
        30s);
  };
  REQUIRE(serving(4));
  // Where the backends run now: both serving nodes host some (spread by the scheduler) or one hosts all.
  std::map<NodeId, int> backends_on;
  for (const runtime::ActorInfo& info : c.ok(c.driver.await(c.client().list_actors(false, false), 10s))) {
    if (info.class_name == kBackendClass) ++backends_on[info.node];
  }
  const NodeId victim = backends_on.count(c.node(1)) ? c.node(1) : c.node(2);
  const NodeId survivor = victim == c.node(1) ? c.node(2) : c.node(1);
  REQUIRE(backends_on[victim] > 0);
  c.processes.kill9(victim);

  // The runtime declares the node dead; the AppMaster replaces what died there on the surviving node.
  std::map<NodeId, int> after;
  const bool recovered = c.driver.run_until(
      [&] {
        auto actors = c.driver.await(c.client().list_actors(false, false), 5s);
        auto status = c.driver.await(master.status(), 5s);
        if (!actors.ok() || !status.ok()) return false;
        after.clear();
        for (const runtime::ActorInfo& info : actors.value()) {
          if (info.class_name == kBackendClass || info.class_name == kProxyClass) ++after[info.node];
        }
        // All six listed again and placed (an actor being placed is listed on kNoNode), none on the victim. The
        // AppMaster's ready counts alone can run ahead: they still count the dead until its health round judges
        // them, while the list no longer shows them.
        int listed = 0;
        for (const auto& [node, count] : after) listed += count;
        return listed == 4 + 2 && after.count(victim) == 0 && after.count(kNoNode) == 0 &&
               status.value().backends_ready == 4 && status.value().proxies_ready == 2;
      },
      30s);
  std::string placement;
  for (const auto& [node, count] : after) placement += " node " + std::to_string(node) + ": " + std::to_string(count);
  INFO("instances per node:" << placement << "; victim " << victim << ", survivor " << survivor);
  REQUIRE(recovered);
  CHECK(after[survivor] == 4 + 2);  // every backend and both proxies
}

}  // namespace
}  // namespace tandem::real::testing
