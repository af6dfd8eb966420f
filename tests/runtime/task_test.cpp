// Remote functions (tasks) on the simulated runtime: results, placement, retries on node loss, typed errors.
#include <catch2/catch.hpp>

#include "tests/runtime/runtime_fixture.h"

namespace tandem::runtime {
namespace {

using testing::RuntimeFixture;
using testing::RuntimeFixtureOptions;

TEST_CASE("Task: a submitted task returns its typed result and frees its lease") {
  RuntimeFixture t;
  CHECK(t.ok(t.await([](RuntimeClient& c) { return c.submit<int64_t>("square", TaskOptions{}, int64_t{12}); })) == 144);
  t.run_for(std::chrono::milliseconds(100));
  CHECK(t.control_store().lease_count() == 0);
  for (size_t i = 0; i < t.worker_count(); ++i) CHECK(t.daemon(t.worker(i)).in_use().empty());
  CHECK(t.metrics.counter_sum("runtime_tasks_total", {{"function", "square"}}) == 1);
}

TEST_CASE("Task: many concurrent tasks all finish and never overcommit a node") {
  RuntimeFixture t;  // 3 workers x 4 CPUs
  std::vector<std::shared_ptr<std::optional<Result<int64_t>>>> results;
  for (int64_t i = 0; i < 40; ++i) {
    results.push_back(t.start(t.client().submit<int64_t>("slow_square", TaskOptions{}, i, int64_t{50})));
  }
  size_t peak_running = 0;
  REQUIRE(t.run_until([&] {
    size_t running = 0;
    for (size_t w = 0; w < t.worker_count(); ++w) {
      NodeDaemon& daemon = t.daemon(t.worker(w));
      CHECK(daemon.in_use().fits_in(daemon.capacity()));
      running += daemon.running_tasks();
    }
    peak_running = std::max(peak_running, running);
    for (auto& result : results) {
      if (!result->has_value()) return false;
    }
    return true;
  }));
  CHECK(peak_running == 12);  // every CPU busy at the peak, never more
  for (int64_t i = 0; i < 40; ++i) CHECK(t.ok(std::move(**results[static_cast<size_t>(i)])) == i * i);
}

TEST_CASE("Task: a task on a node that crashes runs again elsewhere (max_retries)") {
  RuntimeFixture t;
  TaskOptions options;
  options.max_retries = 2;
  auto result = t.start(t.client().submit<uint32_t>("attempt_number", options, int64_t{1000}));
  t.run_for(std::chrono::milliseconds(200));
  NodeId busy = kNoNode;
  for (size_t w = 0; w < t.worker_count(); ++w) {
    if (t.daemon(t.worker(w)).running_tasks() > 0) busy = t.worker(w);
  }
  REQUIRE(busy != kNoNode);
  t.crash(busy);
  REQUIRE(t.run_until([&] { return result->has_value(); }));
  CHECK(t.ok(std::move(**result)) == 1);  // the second attempt answered
  CHECK(t.metrics.counter_sum("runtime_client_task_retries_total") == 1);
}

TEST_CASE("Task: with no retries left a lost node gives kPeerDied, an app error is never retried") {
  RuntimeFixture t;
  TaskOptions options;
  options.max_retries = 0;
  auto result = t.start(t.client().submit<uint32_t>("attempt_number", options, int64_t{1000}));
  t.run_for(std::chrono::milliseconds(200));
  for (size_t w = 0; w < t.worker_count(); ++w) {
    if (t.daemon(t.worker(w)).running_tasks() > 0) t.crash(t.worker(w));
  }
  REQUIRE(t.run_until([&] { return result->has_value(); }));
  CHECK((*result)->code() == Errc::kPeerDied);
  CHECK_THAT((*result)->error().message, Catch::Contains("attempt 1 of 1"));

  Result<int64_t> refused = t.await([](RuntimeClient& c) { return c.submit<int64_t>("refuse", TaskOptions{}); });
  CHECK(refused.code() == Errc::kFailedPrecondition);
  CHECK(t.metrics.counter_sum("runtime_client_task_retries_total") == 0);
}

TEST_CASE("Task: bad input gives typed errors") {
  RuntimeFixture t;
  CHECK(t.await([](RuntimeClient& c) { return c.submit<int64_t>("no_such_function", TaskOptions{}); }).code() ==
        Errc::kNotFound);
  CHECK(t.await([](RuntimeClient& c) { return c.submit<int64_t>("square", TaskOptions{}, std::string("x")); })
            .code() == Errc::kInvalidArgument);
  TaskOptions huge;
  huge.resources = ResourceSet{{"CPU", 64}};
  Result<int64_t> infeasible = t.await([&](RuntimeClient& c) { return c.submit<int64_t>("square", huge, int64_t{1}); });
  CHECK(infeasible.code() == Errc::kResourceExhausted);
  CHECK_THAT(infeasible.error().message, Catch::Contains("CPU"));
  TaskOptions bad;
  bad.max_retries = -1;
  CHECK(t.await([&](RuntimeClient& c) { return c.submit<int64_t>("square", bad, int64_t{1}); }).code() ==
        Errc::kInvalidArgument);
}

TEST_CASE("Task: GPU tasks queue for the only GPU, are visible while waiting, then run on the GPU node") {
  RuntimeFixtureOptions options;
  options.worker_resources_for = [](size_t i) {
    return i == 0 ? ResourceSet{{"CPU", 4}, {"GPU", 1}} : ResourceSet{{"CPU", 4}};
  };
  RuntimeFixture t(options);
  TaskOptions gpu;
  gpu.resources = ResourceSet{{"CPU", 1}, {"GPU", 1}};
  auto first = t.start(t.client().submit<uint32_t>("attempt_number", gpu, int64_t{500}));
  auto second = t.start(t.client().submit<uint32_t>("where", gpu));
  t.run_for(std::chrono::milliseconds(100));
  std::vector<PendingRequest> pending = t.ok(t.await([](RuntimeClient& c) { return c.pending_requests(); }));
  REQUIRE(pending.size() == 1);
  CHECK(pending[0].kind == PendingRequest::Kind::kTask);
  CHECK_THAT(pending[0].what, Catch::Contains("where"));
  REQUIRE(t.run_until([&] { return first->has_value() && second->has_value(); }));
  CHECK(t.ok(std::move(**second)) == t.worker(0));
}

TEST_CASE("Task: a label no node has is refused, once a node with it joins, tasks run there") {
  RuntimeFixtureOptions options;
  options.workers = 1;
  options.worker_labels = [](size_t) { return NodeLabels{{"zone", "a"}}; };
  RuntimeFixture t(options);
  TaskOptions zone_b;
  zone_b.labels = LabelSelector{{"zone", "b"}};
  // No node has zone=b: refused as infeasible forever.
  CHECK(t.await([&](RuntimeClient& c) { return c.submit<uint32_t>("where", zone_b); }).code() ==
        Errc::kResourceExhausted);
  const NodeId b = t.add_worker(ResourceSet{{"CPU", 2}}, NodeLabels{{"zone", "b"}});
  REQUIRE(t.run_until([&] { return t.alive_nodes() == 3; }));
  CHECK(t.ok(t.await([&](RuntimeClient& c) { return c.submit<uint32_t>("where", zone_b); })) == b);
}

TEST_CASE("Task: a task that cannot get resources before its timeout fails with kTimeout and the reason") {
  RuntimeFixtureOptions options;
  options.workers = 1;
  options.worker_resources = ResourceSet{{"CPU", 1}};
  RuntimeFixture t(options);
  auto hog = t.start(t.client().submit<int64_t>("slow_square", TaskOptions{}, int64_t{2}, int64_t{5000}));
  TaskOptions impatient;
  impatient.timeout = std::chrono::seconds(1);
  Result<int64_t> r = t.await([&](RuntimeClient& c) { return c.submit<int64_t>("square", impatient, int64_t{3}); });
  CHECK(r.code() == Errc::kTimeout);
  CHECK_THAT(r.error().message, Catch::Contains("free resources"));
  REQUIRE(t.run_until([&] { return hog->has_value(); }));
  CHECK(t.ok(std::move(**hog)) == 4);
  t.run_for(std::chrono::milliseconds(200));
  CHECK(t.control_store().lease_count() == 0);  // the withdrawn request left no lease behind
}

TEST_CASE("Task: a task can call an actor through the node's client") {
  RuntimeFixture t;
  ActorHandle counter = t.ok(t.await([](RuntimeClient& c) { return c.create_actor("Counter", ActorOptions{}, int64_t{100}); }));
  CHECK(t.ok(t.await([&](RuntimeClient& c) {
          return c.submit<int64_t>("add_through", TaskOptions{}, counter.ref(), int64_t{5});
        })) == 105);
}

TEST_CASE("Task: runtime envs are set up once per node and then cached, also across a daemon restart") {
  RuntimeFixtureOptions options;
  options.workers = 1;
  RuntimeFixture t(options);
  TaskOptions sklearn;
  sklearn.runtime_env = "sklearn";  // 1 s to set up
  TimePoint before = t.world.now();
  t.ok(t.await([&](RuntimeClient& c) { return c.submit<int64_t>("square", sklearn, int64_t{2}); }));
  CHECK(t.world.now() - before >= std::chrono::seconds(1));
  before = t.world.now();
  t.ok(t.await([&](RuntimeClient& c) { return c.submit<int64_t>("square", sklearn, int64_t{2}); }));
  CHECK(t.world.now() - before < std::chrono::milliseconds(100));
  t.crash(t.worker(0));
  t.restart(t.worker(0));
  REQUIRE(t.run_until([&] { return t.alive_nodes() == 2; }));
  CHECK(t.daemon(t.worker(0)).installed_runtime_envs() == std::vector<std::string>{"sklearn"});
}

}  // namespace
}  // namespace tandem::runtime
