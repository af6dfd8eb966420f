// ServingClient and ServingProxy on the sim world: how requests get past a proxy or a backend that is gone.
#include <catch2/catch.hpp>

#include "tests/serving/serving_fixture.h"

namespace tandem::serving::testing {
namespace {

using namespace std::chrono_literals;

TEST_CASE("ServingClient: a proxy on a down node costs a request one free refusal, not its retry budget") {
  ServingFixture t({.workers_per_cluster = 4});
  ServiceSpec spec = test_spec("svc", {{"c1", 2}});
  t.deploy(spec);
  // A client with no retry budget at all: any budgeted retry would be refused, so a request that first picks the
  // dead proxy succeeds only if the refusal is retried for free.
  ServingClient& client = t.ready_client("c1", "svc", 0, [](ServingClientOptions& options) {
    options.retry_ratio = 0;
    options.min_retries_per_second = 0;
  });
  // A node that runs a listed proxy and no backend, so the crash takes no request in flight at a backend.
  const ServiceMetadata meta = t.ok(t.on_head("c1", [&](RuntimeClient& c) -> Task<Result<ServiceMetadata>> {
    co_return co_await t.appmaster(c, "c1").metadata();
  }));
  std::set<NodeId> backend_nodes;
  for (const runtime::ActorInfo& info : t.control_store("c1").actors()) {
    for (const BackendRecord& record : meta.backends) {
      if (record.id == info.id) backend_nodes.insert(info.node);
    }
  }
  NodeId victim = kNoNode;
  for (const ProxyRecord& proxy : meta.proxies) {
    if (backend_nodes.count(proxy.data.node) == 0) victim = proxy.data.node;
  }
  REQUIRE(victim != kNoNode);
  auto load = t.start_load(client, t.client_node("c1"), 100, 4s);
  t.run_for(500ms);
  const TimePoint crash_at = t.world.now();
  t.world.crash(victim);
  t.run_for(4s);
  t.drain_loads();
  INFO(load->first_error());
  // A request in flight at the proxy when its node went down may time out (it reached the proxy, so retrying it
  // needs the budget); every request sent after the crash succeeds.
  CHECK(load->failed_between(crash_at, t.world.now()) == 0);
  CHECK(load->failed() <= 1);
  CHECK(load->completed() == load->issued);
  CHECK(client.refusals() >= 1);   // the dead proxy was tried ...
  CHECK(client.ejections() >= 1);  // ... and ejected at its first refusal
  CHECK(client.refusals() <= 3);   // so only the first few requests ever met it
  CHECK(client.retries() == 0);    // and no budgeted retry was needed
}

TEST_CASE("ServingProxy: a request whose backend was killed is retried on another, and the reply says so") {
  ServingFixture t({.workers_per_cluster = 4});
  ServiceSpec spec = test_spec("svc", {{"c1", 2}});
  t.deploy(spec);
  ServingClient& client = t.ready_client("c1");
  const ServiceMetadata meta = t.ok(t.on_head("c1", [&](RuntimeClient& c) -> Task<Result<ServiceMetadata>> {
    co_return co_await t.appmaster(c, "c1").metadata();
  }));
  REQUIRE(meta.backends.size() == 2);
  auto load = t.start_load(client, t.client_node("c1"), 100, 3s);
  t.run_for(500ms);
  const ActorId victim = meta.backends.front().id;
  t.ok(t.on_head("c1", [&](RuntimeClient& c) -> Task<Status> { co_return co_await c.kill_actor(victim); }));
  t.run_for(3s);
  t.drain_loads();
  INFO(load->first_error());
  CHECK(load->failed() == 0);  // the proxy's retry hides the death from the client
  uint32_t retried_at_proxy = 0;
  for (const RequestOutcome& outcome : load->outcomes) {
    if (!outcome.ok()) continue;
    CHECK(outcome.proxy_attempts >= 1);
    CHECK(outcome.answer.size() == 15);  // the backend's reply reached the client whole, forwarded or re-encoded
    if (outcome.proxy_attempts >= 2) ++retried_at_proxy;
  }
  CHECK(retried_at_proxy >= 1);
}

}  // namespace
}  // namespace tandem::serving::testing
