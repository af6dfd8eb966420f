// Actors on the simulated runtime: creation, typed calls, named actors, typed errors, restarts, fate-sharing.
#include <catch2/catch.hpp>

#include <stdexcept>

#include "core/async/sleep.h"
#include "tests/runtime/runtime_fixture.h"

namespace tandem::runtime {
namespace {

using testing::RuntimeFixture;
using testing::RuntimeFixtureOptions;

ActorOptions named(std::string name) {
  ActorOptions options;
  options.name = std::move(name);
  return options;
}

// Zero-resource actors may land on the head (it has no resources, but they need none); tests that crash the
// actor's node ask for a CPU so it runs on a worker.
ActorOptions on_worker(ActorOptions options = {}) {
  options.resources = ResourceSet{{"CPU", 1}};
  return options;
}

TEST_CASE("Actor: create then call returns the typed result, and calls see the actor's state") {
  RuntimeFixture t;
  ActorHandle counter =
      t.ok(t.await([](RuntimeClient& c) { return c.create_actor("Counter", ActorOptions{}, int64_t{10}); }));
  CHECK(t.ok(t.await([&](RuntimeClient&) { return counter.call<int64_t>("add", 5); })) == 15);
  CHECK(t.ok(t.await([&](RuntimeClient&) { return counter.call<int64_t>("add", -3); })) == 12);
  CHECK(t.ok(t.await([&](RuntimeClient&) { return counter.call<int64_t>("get"); })) == 12);
  const std::optional<ActorInfo> info = t.actor(counter.id());
  REQUIRE(info);
  CHECK(info->state == ActorState::kAlive);
  CHECK(t.metrics.counter_sum("runtime_actor_calls_total", {{"class", "Counter"}}) == 3);
}

TEST_CASE("Actor: a named actor is found by name and listed, the name is released when it dies") {
  RuntimeFixture t;
  ActorHandle proxy = t.ok(t.await([](RuntimeClient& c) { return c.create_actor("Counter", named("proxy"), int64_t{7}); }));
  ActorHandle found = t.ok(t.await([](RuntimeClient& c) { return c.get_actor("proxy"); }));
  CHECK(found.id() == proxy.id());
  CHECK(t.ok(t.await([&](RuntimeClient&) { return found.call<int64_t>("get"); })) == 7);

  std::vector<ActorInfo> listed = t.ok(t.await([](RuntimeClient& c) { return c.list_named_actors(); }));
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].name == "proxy");

  Result<ActorHandle> second =
      t.await([](RuntimeClient& c) { return c.create_actor("Counter", named("proxy"), int64_t{0}); });
  REQUIRE_FALSE(second.ok());
  CHECK(second.error().code == Errc::kAlreadyExists);
  CHECK_THAT(second.error().message, Catch::Contains("proxy"));

  ActorOptions get_if_exists = named("proxy");
  get_if_exists.get_if_exists = true;
  ActorHandle same = t.ok(t.await([&](RuntimeClient& c) { return c.create_actor("Counter", get_if_exists, int64_t{0}); }));
  CHECK(same.id() == proxy.id());

  t.ok(t.await([&](RuntimeClient& c) { return c.kill_actor(proxy.id()); }));
  Result<ActorHandle> gone = t.await([](RuntimeClient& c) { return c.get_actor("proxy"); });
  CHECK(gone.code() == Errc::kNotFound);
  ActorHandle reborn = t.ok(t.await([](RuntimeClient& c) { return c.create_actor("Counter", named("proxy"), int64_t{1}); }));
  CHECK(reborn.id() != proxy.id());
}

TEST_CASE("Actor: bad input gives typed errors, never a crash or a hang") {
  RuntimeFixture t;
  SECTION("unknown class") {
    Result<ActorHandle> r = t.await([](RuntimeClient& c) { return c.create_actor("NoSuchClass", ActorOptions{}); });
    CHECK(r.code() == Errc::kNotFound);
  }
  SECTION("undecodable constructor arguments make the actor DEAD with the cause") {
    ActorHandle h = t.ok(t.await([](RuntimeClient& c) { return c.create_actor("Counter", ActorOptions{}, std::string("x")); }));
    Result<int64_t> call = t.await([&](RuntimeClient&) { return h.call<int64_t>("get"); });
    CHECK(call.code() == Errc::kPeerDied);
    REQUIRE(t.actor(h.id()));
    CHECK(t.actor(h.id())->state == ActorState::kDead);
    CHECK_THAT(t.actor(h.id())->death_cause, Catch::Contains("argument 1 of 1"));
  }
  SECTION("unknown method, undecodable arguments, app errors, exceptions") {
    ActorHandle h = t.ok(t.await([](RuntimeClient& c) { return c.create_actor("Counter", ActorOptions{}, int64_t{0}); }));
    CHECK(t.await([&](RuntimeClient&) { return h.call<int64_t>("nope"); }).code() == Errc::kNotFound);
    Result<int64_t> bad_args = t.await([&](RuntimeClient&) { return h.call<int64_t>("add", std::string("one")); });
    CHECK(bad_args.code() == Errc::kInvalidArgument);
    CHECK_THAT(bad_args.error().message, Catch::Contains("Counter.add"));
    CHECK(t.await([&](RuntimeClient&) { return h.call<int64_t>("add", 1, 2); }).code() == Errc::kInvalidArgument);
    CHECK(t.await([&](RuntimeClient&) { return h.call<int64_t>("fail"); }).code() == Errc::kFailedPrecondition);
    Result<int64_t> thrown = t.await([&](RuntimeClient&) { return h.call<int64_t>("explode"); });
    CHECK(thrown.code() == Errc::kInternal);
    CHECK_THAT(thrown.error().message, Catch::Contains("boom"));
    // The actor carries on after all of that.
    CHECK(t.ok(t.await([&](RuntimeClient&) { return h.call<int64_t>("add", 4); })) == 4);
    // A result of the wrong type fails to decode on the caller.
    CHECK(t.await([&](RuntimeClient&) { return h.call<std::string>("get"); }).code() == Errc::kInvalidArgument);
  }
  SECTION("a resource request no node can ever satisfy") {
    ActorOptions huge;
    huge.resources = ResourceSet{{"GPU", 8}};
    Result<ActorHandle> r = t.await([&](RuntimeClient& c) { return c.create_actor("Counter", huge, int64_t{0}); });
    CHECK(r.code() == Errc::kResourceExhausted);
    CHECK_THAT(r.error().message, Catch::Contains("GPU"));
  }
  SECTION("bad options") {
    ActorOptions bad;
    bad.max_restarts = -7;
    CHECK(t.await([&](RuntimeClient& c) { return c.create_actor("Counter", bad, int64_t{0}); }).code() ==
          Errc::kInvalidArgument);
  }
  SECTION("a failing start() makes the actor DEAD and its calls fail") {
    ActorHandle h = t.ok(t.await([](RuntimeClient& c) { return c.create_actor("Broken", ActorOptions{}); }));
    CHECK(t.await([&](RuntimeClient&) { return h.call<int64_t>("get"); }).code() == Errc::kPeerDied);
    CHECK_THAT(t.actor(h.id())->death_cause, Catch::Contains("broken on purpose"));
  }
}

TEST_CASE("Actor: start() awaits a call with no frame of its own, with call()'s results, errors and timeouts") {
  RuntimeFixtureOptions options;
  options.workers = 1;
  options.worker_resources = ResourceSet{{"CPU", 1}};
  RuntimeFixture t(options);
  ActorHandle h = t.ok(t.await([](RuntimeClient& c) { return c.create_actor("Counter", on_worker(), int64_t{1}); }));
  // Each awaits the started call in a named local, as start() asks.
  auto add = [&](int64_t x) -> Task<Result<int64_t>> {
    auto call = h.start<int64_t>(CallOptions{}, "add", x);
    co_return co_await call;
  };
  auto add_void = [&](int64_t x) -> Task<Status> {
    auto call = h.start<void>(CallOptions{}, "add", x);
    co_return co_await call;
  };
  auto get_as_string = [&]() -> Task<Result<std::string>> {
    auto call = h.start<std::string>(CallOptions{}, "get");
    co_return co_await call;
  };
  auto unknown = [&]() -> Task<Result<int64_t>> {
    auto call = h.start<int64_t>(CallOptions{}, "nope");
    co_return co_await call;
  };
  CHECK(t.ok(t.await([&](RuntimeClient&) { return add(2); })) == 3);
  CHECK(t.await([&](RuntimeClient&) { return add_void(4); }).ok());
  CHECK(t.ok(t.await([&](RuntimeClient&) { return add(0); })) == 7);  // the void call ran
  Result<std::string> wrong_type = t.await([&](RuntimeClient&) { return get_as_string(); });
  CHECK(wrong_type.code() == Errc::kInvalidArgument);
  CHECK_THAT(wrong_type.error().message, Catch::Contains("undecodable result of get"));
  CHECK(t.await([&](RuntimeClient&) { return unknown(); }).code() == Errc::kNotFound);
  // A call to an actor that cannot be placed (the only CPU is taken) times out as kUnavailable, as call() does.
  ActorHandle waiting = t.ok(t.await([](RuntimeClient& c) { return c.create_actor("Counter", on_worker(), int64_t{0}); }));
  auto get_waiting = [&]() -> Task<Result<int64_t>> {
    auto call = waiting.start<int64_t>(CallOptions{std::chrono::seconds(1)}, "get");
    co_return co_await call;
  };
  Result<int64_t> timed_out = t.await([&](RuntimeClient&) { return get_waiting(); });
  CHECK(timed_out.code() == Errc::kUnavailable);
  CHECK_THAT(timed_out.error().message, Catch::Contains("PENDING"));
  // add, add (void), add, get ran; the unknown method and the timed-out call did not.
  CHECK(t.metrics.counter_sum("runtime_actor_calls_total", {{"class", "Counter"}}) == 4);
}

// Inline methods (no Task) answer exactly as coroutine methods do; an idle actor runs one on arrival, a busy one
// in its turn, after the calls that came before it.
TEST_CASE("Actor: an inline method answers like any method: on arrival when the actor is idle, in turn when busy") {
  RuntimeFixtureOptions options;
  options.workers = 1;
  RuntimeFixture t(options);
  ActorHandle h = t.ok(t.await([](RuntimeClient& c) { return c.create_actor("Counter", on_worker(), int64_t{5}); }));
  CHECK(t.ok(t.await([&](RuntimeClient&) { return h.call<int64_t>("peek"); })) == 5);
  CHECK(t.await([&](RuntimeClient&) { return h.call<void>("require_at_least", int64_t{3}); }).ok());
  Status below = t.await([&](RuntimeClient&) { return h.call<void>("require_at_least", int64_t{9}); });
  CHECK(below.code() == Errc::kFailedPrecondition);
  CHECK_THAT(below.error().message, Catch::Contains("below 9"));
  Result<int64_t> thrown = t.await([&](RuntimeClient&) { return h.call<int64_t>("explode_inline"); });
  CHECK(thrown.code() == Errc::kInternal);
  CHECK_THAT(thrown.error().message, Catch::Contains("Counter.explode_inline threw: inline boom"));
  Result<int64_t> bad_args = t.await([&](RuntimeClient&) { return h.call<int64_t>("peek", std::string("x")); });
  CHECK(bad_args.code() == Errc::kInvalidArgument);
  CHECK_THAT(bad_args.error().message, Catch::Contains("Counter.peek"));
  // The actor carries on after the throw; with max_concurrency 1 a peek sent after a slow add waits for it.
  auto slow_then_peek = [&]() -> Task<Result<int64_t>> {
    auto slow = h.start<int64_t>(CallOptions{}, "slow_add", int64_t{10}, int64_t{50});
    auto peek = h.start<int64_t>(CallOptions{}, "peek");
    Result<int64_t> peeked = co_await peek;
    Result<int64_t> added = co_await slow;
    if (!added.ok()) co_return added.error();
    co_return peeked;
  };
  CHECK(t.ok(t.await([&](RuntimeClient&) { return slow_then_peek(); })) == 15);
  CHECK(t.metrics.counter_sum("runtime_actor_calls_total", {{"class", "Counter"}}) == 7);  // each ran once
}

// A call group (what a health round pings with) resumes its caller once, when the last call settles or at the
// group's deadline, and hands each call the outcome co_await on its own ActorCall would give.
TEST_CASE("Actor: a call group resumes once, when its last call settles or at its deadline, with each call's own outcome") {
  RuntimeFixture t;
  ActorHandle a = t.ok(t.await([](RuntimeClient& c) { return c.create_actor("Counter", ActorOptions{}, int64_t{1}); }));
  ActorHandle b = t.ok(t.await([](RuntimeClient& c) { return c.create_actor("Counter", ActorOptions{}, int64_t{0}); }));
  struct Round {
    std::vector<Result<Bytes>> outcomes;
    Duration waited{};
    bool suspended = false;
  };
  // Starts each (actor, method, args) in one group, awaits it, and reads every outcome.
  auto round = [&](RuntimeClient& client, std::vector<std::tuple<ActorId, std::string, Bytes>> calls,
                   Duration timeout) -> Task<Result<Round>> {
    Round out;
    ActorCallGroup group(client, timeout);
    for (auto& [actor, method, args] : calls) group.start(actor, method, std::move(args));
    const TimePoint start = client.env().clock.now();
    out.suspended = !group.await_ready();
    co_await group;
    out.waited = client.env().clock.now() - start;
    for (size_t i = 0; i < group.size(); ++i) out.outcomes.push_back(group.result(i));
    co_return out;
  };
  auto value = [](const Result<Bytes>& bytes) { return decode<int64_t>(bytes.value()).value(); };

  SECTION("every call answers: resumed once they all have, well before the deadline, calls to one actor in order") {
    Round r = t.ok(t.await([&](RuntimeClient& c) {
      return round(c, {{a.id(), "add", encode_args(int64_t{2})}, {b.id(), "fail", encode_args()},
                       {a.id(), "add", encode_args(int64_t{10})}, {b.id(), "nope", encode_args()}},
                   std::chrono::seconds(5));
    }));
    REQUIRE(r.outcomes.size() == 4);
    CHECK(r.suspended);
    CHECK(r.waited < std::chrono::milliseconds(100));
    CHECK(value(r.outcomes[0]) == 3);
    CHECK(r.outcomes[1].code() == Errc::kFailedPrecondition);
    CHECK(value(r.outcomes[2]) == 13);  // after the first add: one client's calls to one actor run in order
    CHECK(r.outcomes[3].code() == Errc::kNotFound);
  }
  SECTION("a call still running at the deadline: resumed then, that call kTimeout, the others their values") {
    Round r = t.ok(t.await([&](RuntimeClient& c) {
      return round(c, {{a.id(), "get", encode_args()}, {b.id(), "slow_add", encode_args(int64_t{1}, int64_t{5000})}},
                   std::chrono::seconds(1));
    }));
    REQUIRE(r.outcomes.size() == 2);
    CHECK(r.waited == std::chrono::seconds(1));
    CHECK(value(r.outcomes[0]) == 1);
    CHECK(r.outcomes[1].code() == Errc::kTimeout);
    CHECK_THAT(r.outcomes[1].error().message, Catch::Contains("slow_add"));
  }
  SECTION("every call refused at once: nothing to wait for") {
    Round r = t.ok(t.await([&](RuntimeClient& c) {
      return round(c, {{kNoActor, "get", encode_args()}}, std::chrono::seconds(1));
    }));
    REQUIRE(r.outcomes.size() == 1);
    CHECK_FALSE(r.suspended);
    CHECK(r.waited == Duration::zero());
    CHECK(r.outcomes[0].code() == Errc::kInvalidArgument);
  }
  SECTION("a caller cancelled mid-group is never resumed; the calls already sent run, their results dropped") {
    auto slot = t.start(round(t.client(t.head()), {{b.id(), "slow_add", encode_args(int64_t{1}, int64_t{500})},
                                                   {b.id(), "add", encode_args(int64_t{100})}},
                              std::chrono::seconds(5)));
    t.run_for(std::chrono::milliseconds(100));  // the slow call is running, the add queued behind it on the node
    t.process(t.head()).drivers.cancel_all();
    t.run_for(std::chrono::seconds(2));
    CHECK_FALSE(slot->has_value());
    CHECK(t.ok(t.await([&](RuntimeClient&) { return b.call<int64_t>("get"); })) == 101);
  }
}

TEST_CASE("Actor: a probe asks each actor's node whether it hosts that life: alive, unknown, or no answer") {
  RuntimeFixtureOptions fixture;
  fixture.workers = 2;
  fixture.worker_labels = [](size_t i) { return NodeLabels{{"pin", i == 0 ? "w0" : "w1"}}; };
  RuntimeFixture t(fixture);
  auto on = [](std::string pin) {
    ActorOptions options;
    options.labels = LabelSelector{{"pin", std::move(pin)}};
    return options;
  };
  std::vector<ActorId> ids;  // two on worker 0, one on worker 1
  for (const char* pin : {"w0", "w1", "w0"}) {
    ActorHandle h = t.ok(t.await([&](RuntimeClient& c) { return c.create_actor("Counter", on(pin), int64_t{0}); }));
    CHECK(t.ok(t.await([&](RuntimeClient&) { return h.call<int64_t>("get"); })) == 0);  // located by this client
    ids.push_back(h.id());
  }
  REQUIRE(t.actor(ids[0])->node == t.worker(0));
  REQUIRE(t.actor(ids[1])->node == t.worker(1));
  struct Probe {
    std::vector<ProbeOutcome> outcomes;
    Duration waited{};
  };
  auto probe = [&](std::vector<ActorId> actors, Duration timeout) {
    return t.ok(t.await([&](RuntimeClient& c) -> Task<Result<Probe>> {
      const TimePoint start = c.env().clock.now();
      Probe out;
      out.outcomes = co_await c.probe_actors(actors, timeout);
      out.waited = c.env().clock.now() - start;
      co_return out;
    }));
  };
  using enum ProbeOutcome;

  SECTION("every located actor alive: one round trip, answers in the order asked") {
    const uint64_t sent_before = t.world.stats().messages_sent;
    Probe p = probe({ids[2], ids[1], ids[0]}, std::chrono::seconds(1));
    CHECK(p.outcomes == std::vector<ProbeOutcome>{kAlive, kAlive, kAlive});
    CHECK(p.waited < std::chrono::milliseconds(50));
    CHECK(t.world.stats().messages_sent - sent_before == 4);  // a request and a reply per node
    CHECK(probe({}, std::chrono::seconds(1)).outcomes.empty());
  }
  SECTION("an actor this client never located, or one that is gone, is unknown; the others still alive") {
    t.ok(t.await([&](RuntimeClient& c) { return c.kill_actor(ids[0]); }));
    Probe p = probe({ids[0], ids[1], ids[2], 987654}, std::chrono::seconds(1));
    CHECK(p.outcomes == std::vector<ProbeOutcome>{kUnknown, kAlive, kAlive, kUnknown});
  }
  SECTION("an actor killed behind this client's back: its node no longer hosts it, so unknown") {
    t.ok(t.await([&](RuntimeClient& c) { return c.kill_actor(ids[1]); }, std::chrono::seconds(120), t.worker(0)));
    Probe p = probe({ids[1], ids[0]}, std::chrono::seconds(1));
    CHECK(p.outcomes == std::vector<ProbeOutcome>{kUnknown, kAlive});
    // A call learns what the probe could not: the actor is dead.
    CHECK(t.await([&](RuntimeClient&) { return ActorHandle(&t.client(), ids[1]).call<int64_t>("get"); }).code() ==
          Errc::kPeerDied);
  }
  SECTION("a paused node does not answer: its actors kNoAnswer at the timeout, the other node's alive") {
    t.world.pause(t.worker(0));
    Probe p = probe({ids[0], ids[1], ids[2]}, std::chrono::milliseconds(300));
    CHECK(p.outcomes == std::vector<ProbeOutcome>{kNoAnswer, kAlive, kNoAnswer});
    CHECK(p.waited == std::chrono::milliseconds(300));
    t.world.resume(t.worker(0));
    CHECK(probe({ids[0]}, std::chrono::seconds(1)).outcomes == std::vector<ProbeOutcome>{kAlive});
  }
  SECTION("a node restarted since the actor was located: that instance is gone, so unknown") {
    t.crash(t.worker(1));
    t.restart(t.worker(1));
    REQUIRE(t.run_until([&] { return t.up(t.worker(1)); }));
    t.run_for(std::chrono::milliseconds(200));  // registered again, under a new instance
    Probe p = probe({ids[1]}, std::chrono::seconds(1));
    CHECK(p.outcomes == std::vector<ProbeOutcome>{kUnknown});
  }
}

// Every shape of method the typed layer starts: by value, by reference (its arguments kept alive in a wrapping
// frame), raw bytes, a Task<Status>, one that suspends before answering, one that throws after suspending.
class Shapes final : public Actor {
 public:
  explicit Shapes(ActorContext& context) : context_(context) {}
  Task<Result<std::string>> join(const std::string& a, std::string b, const std::vector<int64_t>& counts) {
    co_await sleep(context_.clock(), std::chrono::milliseconds(1));  // `a` and `counts` must still be alive here
    co_return a + "+" + b + ":" + std::to_string(counts.size());
  }
  Task<Result<Bytes>> echo_raw(Bytes bytes) { co_return "raw:" + bytes; }
  Task<Status> check(int64_t x) {
    if (x < 0) co_return Error{Errc::kFailedPrecondition, "negative"};
    co_return Status{};
  }
  Task<Result<int64_t>> throw_later() {
    co_await sleep(context_.clock(), std::chrono::milliseconds(1));
    throw std::runtime_error("late boom");
  }

 private:
  ActorContext& context_;
};

TEST_CASE("Actor: reference, raw, void and suspending methods answer as registered") {
  RuntimeFixtureOptions options;
  options.extra_code = [](RuntimeCatalog& catalog) {
    catalog.actor_classes.add<Shapes>("Shapes")
        .method("join", &Shapes::join)
        .raw_method("echo_raw", &Shapes::echo_raw)
        .method("check", &Shapes::check)
        .method("throw_later", &Shapes::throw_later);
  };
  RuntimeFixture t(options);
  ActorHandle h = t.ok(t.await([](RuntimeClient& c) { return c.create_actor("Shapes", ActorOptions{}); }));
  CHECK(t.ok(t.await([&](RuntimeClient&) {
          return h.call<std::string>("join", std::string("left"), std::string("right"), std::vector<int64_t>{1, 2, 3});
        })) == "left+right:3");
  CHECK(t.ok(t.await([&](RuntimeClient&) { return h.call_raw("echo_raw", Bytes("\x01zz")); })) == "raw:\x01zz");
  CHECK(t.await([&](RuntimeClient&) { return h.call<void>("check", 1); }).ok());
  CHECK(t.await([&](RuntimeClient&) { return h.call<void>("check", -1); }).code() == Errc::kFailedPrecondition);
  Result<std::string> bad = t.await([&](RuntimeClient&) { return h.call<std::string>("join", std::string("x")); });
  CHECK(bad.code() == Errc::kInvalidArgument);
  CHECK_THAT(bad.error().message, Catch::Contains("Shapes.join"));
  Result<int64_t> thrown = t.await([&](RuntimeClient&) { return h.call<int64_t>("throw_later"); });
  CHECK(thrown.code() == Errc::kInternal);
  CHECK_THAT(thrown.error().message, Catch::Contains("Shapes.throw_later threw: late boom"));
}

TEST_CASE("Actor: a request infeasible now waits, is listed as pending with a reason, then runs") {
  // The cluster has one GPU: a second GPU actor is infeasible now (not forever) and must wait, visibly.
  ActorOptions gpu;
  gpu.resources = ResourceSet{{"GPU", 1}};
  RuntimeFixtureOptions options;
  options.workers = 1;
  options.worker_resources = ResourceSet{{"CPU", 4}, {"GPU", 1}};
  RuntimeFixture g(options);
  ActorHandle first = g.ok(g.await([&](RuntimeClient& c) { return c.create_actor("Counter", gpu, int64_t{0}); }));
  ActorHandle second = g.ok(g.await([&](RuntimeClient& c) { return c.create_actor("Counter", gpu, int64_t{0}); }));
  g.run_for(std::chrono::seconds(1));
  CHECK(g.actor(first.id())->state == ActorState::kAlive);
  CHECK(g.actor(second.id())->state == ActorState::kPending);
  std::vector<PendingRequest> pending = g.ok(g.await([](RuntimeClient& c) { return c.pending_requests(); }));
  REQUIRE(pending.size() == 1);
  CHECK(pending[0].kind == PendingRequest::Kind::kActor);
  CHECK(pending[0].id == second.id());
  CHECK_THAT(pending[0].reason, Catch::Contains("GPU"));
  // Freeing the GPU lets the waiting actor run.
  g.ok(g.await([&](RuntimeClient& c) { return c.kill_actor(first.id()); }));
  g.ok(g.await([&](RuntimeClient& c) { return c.wait_actor_alive(second.id(), std::chrono::seconds(5)); }));
  CHECK(g.ok(g.await([](RuntimeClient& c) { return c.pending_requests(); })).empty());
}

TEST_CASE("Actor: a call made while the actor is PENDING waits for it, then runs") {
  RuntimeFixtureOptions options;
  options.workers = 1;
  options.worker_resources = ResourceSet{{"CPU", 1}};
  RuntimeFixture t(options);
  ActorOptions one_cpu;
  one_cpu.resources = ResourceSet{{"CPU", 1}};
  ActorHandle blocker = t.ok(t.await([&](RuntimeClient& c) { return c.create_actor("Counter", one_cpu, int64_t{0}); }));
  ActorHandle waiting = t.ok(t.await([&](RuntimeClient& c) { return c.create_actor("Counter", one_cpu, int64_t{40}); }));
  auto call = t.start(waiting.call<int64_t>("add", 2));
  t.run_for(std::chrono::seconds(2));
  CHECK_FALSE(call->has_value());
  t.ok(t.await([&](RuntimeClient& c) { return c.kill_actor(blocker.id()); }));
  REQUIRE(t.run_until([&] { return call->has_value(); }));
  CHECK(t.ok(std::move(**call)) == 42);
}

TEST_CASE("Actor: a call that cannot reach a live actor within its timeout fails with kUnavailable") {
  RuntimeFixtureOptions options;
  options.workers = 1;
  options.worker_resources = ResourceSet{{"CPU", 1}};
  RuntimeFixture t(options);
  ActorOptions one_cpu_each;
  one_cpu_each.resources = ResourceSet{{"CPU", 1}};
  ActorHandle blocker = t.ok(t.await([&](RuntimeClient& c) { return c.create_actor("Counter", one_cpu_each, int64_t{0}); }));
  ActorHandle waiting = t.ok(t.await([&](RuntimeClient& c) { return c.create_actor("Counter", one_cpu_each, int64_t{0}); }));
  (void)blocker;
  Result<int64_t> r =
      t.await([&](RuntimeClient&) { return waiting.call_with<int64_t>(CallOptions{std::chrono::seconds(1)}, "get"); });
  CHECK(r.code() == Errc::kUnavailable);
  CHECK_THAT(r.error().message, Catch::Contains("PENDING"));
}

TEST_CASE("Actor: with max_concurrency 1 calls run one at a time, with 4 they overlap") {
  RuntimeFixture t;
  for (uint32_t concurrency : {1u, 4u}) {
    ActorOptions options;
    options.max_concurrency = concurrency;
    ActorHandle h = t.ok(t.await([&](RuntimeClient& c) { return c.create_actor("Counter", options, int64_t{0}); }));
    const TimePoint before = t.world.now();
    std::vector<std::shared_ptr<std::optional<Result<int64_t>>>> calls;
    for (int i = 0; i < 4; ++i) calls.push_back(t.start(h.call<int64_t>("slow_add", 1, 100)));
    t.run_for(std::chrono::milliseconds(50));
    CHECK(t.metrics.gauge_sum("runtime_actor_queue_length") == (concurrency == 1 ? 3 : 0));
    REQUIRE(t.run_until([&] {
      for (auto& call : calls) {
        if (!call->has_value()) return false;
      }
      return true;
    }));
    const Duration took = t.world.now() - before;
    if (concurrency == 1) {
      CHECK(took >= std::chrono::milliseconds(400));
    } else {
      CHECK(took < std::chrono::milliseconds(200));
    }
    CHECK(t.ok(t.await([&](RuntimeClient&) { return h.call<int64_t>("get"); })) == 4);
  }
}

TEST_CASE("Actor: exit() ends the actor for good, its name is free again") {
  RuntimeFixture t;
  ActorOptions options = named("leaver");
  options.max_restarts = 5;
  ActorHandle h = t.ok(t.await([&](RuntimeClient& c) { return c.create_actor("Counter", options, int64_t{0}); }));
  t.ok(t.await([&](RuntimeClient&) { return h.call<void>("exit_now"); }));
  REQUIRE(t.run_until([&] { return t.actor(h.id())->state == ActorState::kDead; }));
  CHECK(t.actor(h.id())->restarts_used == 0);
  CHECK_THAT(t.actor(h.id())->death_cause, Catch::Contains("told to exit"));
  Result<int64_t> after = t.await([&](RuntimeClient&) { return h.call<int64_t>("get"); });
  CHECK(after.code() == Errc::kPeerDied);
  CHECK(t.await([](RuntimeClient& c) { return c.get_actor("leaver"); }).code() == Errc::kNotFound);
}

TEST_CASE("Actor: a node crash restarts the actor elsewhere, which restores its state from the KV") {
  RuntimeFixture t;
  ActorOptions options = on_worker(named("ckpt"));
  options.max_restarts = 2;
  ActorHandle h = t.ok(t.await([&](RuntimeClient& c) { return c.create_actor("Checkpointed", options, std::string("ckpt/a")); }));
  CHECK(t.ok(t.await([&](RuntimeClient&) { return h.call<int64_t>("add", 5); })) == 5);
  CHECK(t.ok(t.await([&](RuntimeClient&) { return h.call<int64_t>("add", 6); })) == 11);
  const NodeId first_node = t.actor(h.id())->node;
  const TimePoint crashed_at = t.world.now();
  t.crash(first_node);
  REQUIRE(t.run_until([&] {
    const auto info = t.actor(h.id());
    return info->state == ActorState::kAlive && info->node != first_node;
  }));
  // Detected within heartbeat_period * misses (+ one period of slack) and restarted at once.
  CHECK(t.world.now() - crashed_at <= std::chrono::milliseconds(800));
  CHECK(t.actor(h.id())->restarts_used == 1);
  CHECK(t.ok(t.await([&](RuntimeClient&) { return h.call<int64_t>("get"); })) == 11);
  CHECK(t.ok(t.await([&](RuntimeClient&) { return h.call<int32_t>("restarts"); })) == 1);
  CHECK(t.metrics.counter_sum("runtime_actor_restarts_total") == 1);
}

// A restart placed on a node that is down but not yet declared dead is refused at once (kUnreachable). Those
// refusals must not use up the creation attempts (100 of them in a few milliseconds made the actor DEAD): the node
// is avoided until it heartbeats again, and the actor waits, then comes back.
TEST_CASE("Actor: a restart refused by a node not yet declared dead waits for a node instead of dying") {
  RuntimeFixtureOptions fixture;
  fixture.workers = 2;
  fixture.worker_labels = [](size_t i) { return NodeLabels{{"pin", i == 0 ? "here" : "elsewhere"}}; };
  RuntimeFixture t(fixture);
  ActorOptions options;
  options.labels = LabelSelector{{"pin", "here"}};
  options.max_restarts = -1;
  ActorHandle h = t.ok(t.await([&](RuntimeClient& c) { return c.create_actor("Counter", options, int64_t{0}); }));
  t.ok(t.await([&](RuntimeClient& c) { return c.wait_actor_alive(h.id(), std::chrono::seconds(5)); }));
  REQUIRE(t.actor(h.id())->node == t.worker(0));
  t.crash(t.worker(0));
  t.ok(t.await([&](RuntimeClient& c) { return c.kill_actor(h.id(), /*no_restart=*/false); }));
  t.run_for(std::chrono::seconds(2));  // far past failure detection (5 x 100 ms)
  CHECK(t.actor(h.id())->state != ActorState::kDead);
  CHECK(t.actor(h.id())->death_cause.empty());
  t.restart(t.worker(0));
  REQUIRE(t.run_until([&] { return t.actor(h.id())->state == ActorState::kAlive; }, std::chrono::seconds(10)));
  CHECK(t.actor(h.id())->node == t.worker(0));
  // The killing client forgot the old location, so the call goes to the new life, not the dead node.
  CHECK(t.ok(t.await([&](RuntimeClient&) { return h.call<int64_t>("get"); })) == 0);
}

TEST_CASE("Actor: with max_restarts exhausted the next node loss makes it DEAD and calls fail with kPeerDied") {
  RuntimeFixture t;
  ActorOptions options = on_worker();
  options.max_restarts = 1;
  ActorHandle h = t.ok(t.await([&](RuntimeClient& c) { return c.create_actor("Counter", options, int64_t{0}); }));
  for (int round = 0; round < 2; ++round) {
    t.ok(t.await([&](RuntimeClient& c) { return c.wait_actor_alive(h.id(), std::chrono::seconds(5)); }));
    const NodeId node = t.actor(h.id())->node;
    t.crash(node);
    REQUIRE(t.run_until([&] { return t.actor(h.id())->state != ActorState::kAlive; }));
    t.restart(node);
  }
  REQUIRE(t.run_until([&] { return t.actor(h.id())->state == ActorState::kDead; }));
  CHECK(t.actor(h.id())->restarts_used == 1);
  CHECK_THAT(t.actor(h.id())->death_cause, Catch::Contains("died"));
  Result<int64_t> r = t.await([&](RuntimeClient&) { return h.call<int64_t>("get"); });
  CHECK(r.code() == Errc::kPeerDied);
}

TEST_CASE("Actor: a call in flight when the node dies fails with kPeerDied, or is retried with max_task_retries") {
  for (int32_t retries : {0, 1}) {
    DYNAMIC_SECTION("max_task_retries = " << retries) {
      RuntimeFixture t;
      ActorOptions options = on_worker();
      options.max_restarts = 1;
      options.max_task_retries = retries;
      ActorHandle h = t.ok(t.await([&](RuntimeClient& c) { return c.create_actor("Counter", options, int64_t{0}); }));
      t.ok(t.await([&](RuntimeClient& c) { return c.wait_actor_alive(h.id(), std::chrono::seconds(5)); }));
      const NodeId node = t.actor(h.id())->node;
      auto call = t.start(h.call<int64_t>("slow_add", 1, 2000));
      t.run_for(std::chrono::milliseconds(100));
      t.crash(node);
      REQUIRE(t.run_until([&] { return call->has_value(); }, std::chrono::seconds(30)));
      if (retries == 0) {
        CHECK((*call)->code() == Errc::kPeerDied);
      } else {
        CHECK(t.ok(std::move(**call)) == 1);  // ran again on the restarted actor
      }
    }
  }
}

TEST_CASE("Actor: non-detached actors die with their owner, detached ones outlive it") {
  RuntimeFixture t;
  ActorOptions parent_options;
  parent_options.max_restarts = 0;
  ActorHandle parent = t.ok(t.await([&](RuntimeClient& c) { return c.create_actor("Parent", parent_options); }));
  const ActorId owned = t.ok(t.await([&](RuntimeClient&) { return parent.call<uint64_t>("spawn_child", false); }));
  const ActorId detached = t.ok(t.await([&](RuntimeClient&) { return parent.call<uint64_t>("spawn_child", true); }));
  t.ok(t.await([&](RuntimeClient& c) { return c.wait_actor_alive(owned, std::chrono::seconds(5)); }));
  t.ok(t.await([&](RuntimeClient& c) { return c.wait_actor_alive(detached, std::chrono::seconds(5)); }));
  t.ok(t.await([&](RuntimeClient& c) { return c.kill_actor(parent.id()); }));
  REQUIRE(t.run_until([&] { return t.actor(owned)->state == ActorState::kDead; }));
  CHECK_THAT(t.actor(owned)->death_cause, Catch::Contains("owner"));
  t.run_for(std::chrono::seconds(1));
  CHECK(t.actor(detached)->state == ActorState::kAlive);
}

TEST_CASE("Actor: a runtime env costs its set-up delay the first time on a node, then nothing") {
  RuntimeFixtureOptions options;
  options.workers = 1;
  RuntimeFixture t(options);
  ActorOptions torch;
  torch.runtime_env = "torch";  // 3 s to set up
  const TimePoint before = t.world.now();
  ActorHandle first = t.ok(t.await([&](RuntimeClient& c) { return c.create_actor("Counter", torch, int64_t{0}); }));
  t.ok(t.await([&](RuntimeClient& c) { return c.wait_actor_alive(first.id(), std::chrono::seconds(10)); }));
  CHECK(t.world.now() - before >= std::chrono::seconds(3));
  const TimePoint again = t.world.now();
  ActorHandle second = t.ok(t.await([&](RuntimeClient& c) { return c.create_actor("Counter", torch, int64_t{0}); }));
  t.ok(t.await([&](RuntimeClient& c) { return c.wait_actor_alive(second.id(), std::chrono::seconds(10)); }));
  CHECK(t.world.now() - again < std::chrono::milliseconds(100));
  CHECK(t.metrics.counter_sum("runtime_env_setups_total", {{"env", "torch"}}) == 1);
  ActorOptions unknown;
  unknown.runtime_env = "no-such-env";
  CHECK(t.await([&](RuntimeClient& c) { return c.create_actor("Counter", unknown, int64_t{0}); }).code() ==
        Errc::kNotFound);
}

TEST_CASE("Actor: labels steer placement, spread puts actors on different nodes, pack on one") {
  RuntimeFixtureOptions options;
  options.workers = 4;
  options.worker_labels = [](size_t i) { return NodeLabels{{"zone", i < 2 ? "a" : "b"}}; };
  RuntimeFixture t(options);
  ActorOptions zone_b;
  zone_b.labels = LabelSelector{{"zone", "b"}};
  zone_b.resources = ResourceSet{{"CPU", 1}};
  for (int i = 0; i < 3; ++i) {
    ActorHandle h = t.ok(t.await([&](RuntimeClient& c) { return c.create_actor("Counter", zone_b, int64_t{0}); }));
    t.ok(t.await([&](RuntimeClient& c) { return c.wait_actor_alive(h.id(), std::chrono::seconds(5)); }));
    const NodeId node = t.actor(h.id())->node;
    CHECK((node == t.worker(2) || node == t.worker(3)));
  }
  std::set<NodeId> spread_nodes;
  ActorOptions spread;
  spread.strategy = PlacementStrategy::kSpread;
  spread.resources = ResourceSet{{"CPU", 0.5}};
  spread.labels = LabelSelector{{"zone", "a"}};
  for (int i = 0; i < 2; ++i) {
    ActorHandle h = t.ok(t.await([&](RuntimeClient& c) { return c.create_actor("Counter", spread, int64_t{0}); }));
    t.ok(t.await([&](RuntimeClient& c) { return c.wait_actor_alive(h.id(), std::chrono::seconds(5)); }));
    spread_nodes.insert(t.actor(h.id())->node);
  }
  CHECK(spread_nodes == std::set<NodeId>{t.worker(0), t.worker(1)});
  ActorOptions nowhere;
  nowhere.labels = LabelSelector{{"zone", "c"}};
  CHECK(t.await([&](RuntimeClient& c) { return c.create_actor("Counter", nowhere, int64_t{0}); }).code() ==
        Errc::kResourceExhausted);
}

}  // namespace
}  // namespace tandem::runtime
