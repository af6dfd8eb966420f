// RpcEndpoint over the simulated transport: values, typed errors and deadlines.
#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "core/async/rpc.h"
#include "core/async/sleep.h"
#include "tests/support/sim_fixture.h"

namespace tandem {
namespace {

using testing::SimFixture;

constexpr uint32_t kEcho = 16;
constexpr uint32_t kFail = 17;
constexpr uint32_t kSlow = 18;

// A server process: one endpoint on a well-known port with three methods.
class EchoServer final : public sim::NodeProcess {
 public:
  static constexpr Port kPort = 7;
  explicit EchoServer(Env& env) : endpoint_(env.transport, env.clock, kPort) {
    endpoint_.serve(kEcho, [](Address, Bytes request) -> Task<Result<Bytes>> { co_return "echo:" + request; });
    endpoint_.serve(kFail, [](Address, Bytes) -> Task<Result<Bytes>> {
      co_return Error{Errc::kFailedPrecondition, "the server says no"};
    });
    endpoint_.serve(kSlow, [&env](Address, Bytes request) -> Task<Result<Bytes>> {
      co_await sleep(env.clock, 100ms);
      co_return request;
    });
  }

 private:
  RpcEndpoint endpoint_;
};

// A client process: an endpoint plus a scope for the calls (declared after, so calls die first).
class Client final : public sim::NodeProcess {
 public:
  explicit Client(Env& env) : env_(env), endpoint_(env.transport, env.clock) {}
  void call(Address to, uint32_t method, std::string request, Duration timeout, Result<Bytes>* out) {
    scope_.spawn([](RpcEndpoint& endpoint, Address to, uint32_t method, std::string request, Duration timeout,
                    Result<Bytes>* out) -> Task<void> {
      *out = co_await endpoint.call(to, method, std::move(request), timeout);
    }(endpoint_, to, method, std::move(request), timeout, out));
  }
  // The same call through RpcEndpoint::Call awaited in the caller's own frame.
  void call_direct(Address to, uint32_t method, std::string request, Duration timeout, Result<Bytes>* out) {
    scope_.spawn([](RpcEndpoint& endpoint, Address to, uint32_t method, std::string request, Duration timeout,
                    Result<Bytes>* out) -> Task<void> {
      RpcEndpoint::Call call(endpoint, to, method, std::move(request), timeout);
      *out = co_await call;
    }(endpoint_, to, method, std::move(request), timeout, out));
  }
  RpcEndpoint& endpoint() { return endpoint_; }

 private:
  Env& env_;
  RpcEndpoint endpoint_;
  Scope scope_;
};

struct RpcFixture {
  RpcFixture() : t(2, 1, 500us, {}, [](size_t index) -> sim::Boot {
    if (index == 0) return [](Env& env) { return std::make_unique<Client>(env); };
    return [](Env& env) { return std::make_unique<EchoServer>(env); };
  }) {}
  Client& client() { return *dynamic_cast<Client*>(t.world.process(t.node(0))); }
  Address server() const { return Address{t.node(1), EchoServer::kPort}; }
  SimFixture t;
};

const Error kUnset{Errc::kInternal, "unset"};

TEST_CASE("RPC: a call returns the handler's value after one round trip") {
  RpcFixture f;
  Result<Bytes> result = kUnset;
  f.client().call(f.server(), kEcho, "hi", 1s, &result);
  f.t.world.run_until(TimePoint(1999us));
  CHECK(result.code() == Errc::kInternal);  // not yet: one round trip is 2 x (500us + 500us)
  f.t.world.run_until(TimePoint(2ms));
  REQUIRE(result.ok());
  CHECK(result.value() == "echo:hi");
  CHECK(f.client().endpoint().pending_calls() == 0);
}

TEST_CASE("RPC: a handler's error reaches the caller with its code and message") {
  RpcFixture f;
  Result<Bytes> result = kUnset;
  f.client().call(f.server(), kFail, "", 1s, &result);
  f.t.world.run_until_idle();
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().code == Errc::kFailedPrecondition);
  CHECK(result.error().message == "the server says no");
}

TEST_CASE("RPC: a call to an unknown method fails with kNotFound") {
  RpcFixture f;
  Result<Bytes> result = kUnset;
  f.client().call(f.server(), 99, "", 1s, &result);
  f.t.world.run_until_idle();
  CHECK(result.code() == Errc::kNotFound);
}

TEST_CASE("RPC: a slow handler past the deadline gives kTimeout and the late reply is dropped") {
  RpcFixture f;
  Result<Bytes> result = kUnset;
  f.client().call(f.server(), kSlow, "x", 50ms, &result);
  f.t.world.run_for(60ms);
  CHECK(result.code() == Errc::kTimeout);
  f.t.world.run_until_idle();  // the reply arrives at ~102ms and must be ignored
  CHECK(result.code() == Errc::kTimeout);
  CHECK(f.client().endpoint().pending_calls() == 0);
}

TEST_CASE("RPC: a call to a crashed node fails with kUnreachable") {
  RpcFixture f;
  f.t.world.crash(f.t.node(1));
  Result<Bytes> result = kUnset;
  f.client().call(f.server(), kEcho, "hi", 1s, &result);
  f.t.world.run_until(TimePoint(2ms));  // refused after one round trip, long before the deadline
  CHECK(result.code() == Errc::kUnreachable);
}

TEST_CASE("RPC: a call to a port nobody binds fails with kPeerDied") {
  RpcFixture f;
  Result<Bytes> result = kUnset;
  f.client().call(Address{f.t.node(1), 4242}, kEcho, "hi", 1s, &result);
  f.t.world.run_until_idle();
  CHECK(result.code() == Errc::kPeerDied);
}

TEST_CASE("RPC: a call across a partition times out and succeeds again after heal") {
  RpcFixture f;
  f.t.world.network().partition({f.t.node(0)}, {f.t.node(1)});
  Result<Bytes> result = kUnset;
  f.client().call(f.server(), kEcho, "hi", 100ms, &result);
  f.t.world.run_until_idle();
  CHECK(result.code() == Errc::kTimeout);
  f.t.world.network().heal_all();
  f.client().call(f.server(), kEcho, "again", 100ms, &result);
  f.t.world.run_until_idle();
  REQUIRE(result.ok());
  CHECK(result.value() == "echo:again");
}

TEST_CASE("RPC: a server crash mid-call leaves the caller with a timeout, never a reply") {
  RpcFixture f;
  Result<Bytes> result = kUnset;
  f.client().call(f.server(), kSlow, "x", 500ms, &result);
  f.t.world.run_for(10ms);
  f.t.world.crash(f.t.node(1));
  f.t.world.run_until_idle();
  CHECK(result.code() == Errc::kTimeout);
}

TEST_CASE("RPC: crashing the caller mid-call cancels it without touching freed state") {
  RpcFixture f;
  Result<Bytes> result = kUnset;
  f.client().call(f.server(), kSlow, "x", 500ms, &result);
  f.t.world.run_for(10ms);
  f.t.world.crash(f.t.node(0));
  f.t.world.run_until_idle();
  CHECK(result.code() == Errc::kInternal);  // never written: the caller died
}

TEST_CASE("RPC: a Call awaited in the caller's frame answers, times out and is cancelled as call() is") {
  RpcFixture f;
  Result<Bytes> value = kUnset;
  f.client().call_direct(f.server(), kEcho, "hi", 1s, &value);
  f.t.world.run_until(TimePoint(2ms));  // one round trip
  REQUIRE(value.ok());
  CHECK(value.value() == "echo:hi");
  Result<Bytes> late = kUnset;
  f.client().call_direct(f.server(), kSlow, "x", 50ms, &late);
  f.t.world.run_for(60ms);
  CHECK(late.code() == Errc::kTimeout);
  f.t.world.run_until_idle();  // the late reply is dropped
  CHECK(late.code() == Errc::kTimeout);
  CHECK(f.client().endpoint().pending_calls() == 0);
  Result<Bytes> cancelled = kUnset;
  f.client().call_direct(f.server(), kSlow, "x", 500ms, &cancelled);
  f.t.world.run_for(10ms);
  CHECK(f.client().endpoint().pending_calls() == 1);
  f.t.world.crash(f.t.node(0));  // the caller's task is destroyed mid-call
  f.t.world.run_until_idle();
  CHECK(cancelled.code() == Errc::kInternal);  // never written
}

}  // namespace
}  // namespace tandem
