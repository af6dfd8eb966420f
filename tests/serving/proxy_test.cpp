// ServingProxy on the sim world: what a proxy does when a backend dies under it.
#include <catch2/catch.hpp>

#include "tests/serving/serving_fixture.h"

namespace tandem::serving::testing {
namespace {

using namespace std::chrono_literals;

TEST_CASE("ServingProxy: a request whose backend was killed is retried on another, and the reply says so") {
  ServingFixture t({.workers_per_cluster = 4});
  ServiceSpec spec = test_spec("svc", {{"c1", 2}});
  t.deploy(spec);
  ServingClient& client = t.make_client("c1", "svc", 0);
  REQUIRE(t.run_until([&] { return client.ready(); }, 10s));
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
