// core's RPC layer (core/async/rpc.h) over GrpcTransport: replies, typed errors and deadlines across real sockets.
#include <catch2/catch.hpp>

#include <algorithm>
#include <optional>

#include "core/async/rpc.h"
#include "core/async/scope.h"
#include "tests/real/net_test_support.h"

namespace tandem::real {
namespace {

using testing::kTestTimeout;
using testing::TransportPair;

constexpr uint32_t kEcho = RpcEndpoint::kFirstMethod;
constexpr uint32_t kFail = RpcEndpoint::kFirstMethod + 1;

Task<void> call_into(RpcEndpoint& client, Address to, uint32_t method, Bytes request, Duration timeout,
                     std::optional<Result<Bytes>>* out) {
  *out = co_await client.call(to, method, std::move(request), timeout);
}

struct RpcPair {
  TransportPair t;
  RpcEndpoint server{*t.b, t.loop.clock(), 5};
  RpcEndpoint client{*t.a, t.loop.clock(), 7};
  Scope calls;  // after the endpoints: calls die before them
  RpcPair() {
    server.serve(kEcho, [](Address, Bytes request) -> Task<Result<Bytes>> { co_return "echo:" + request; });
    server.serve(kFail, [](Address, Bytes) -> Task<Result<Bytes>> {
      co_return Error{Errc::kFailedPrecondition, "not now"};
    });
  }
  Result<Bytes> call(Address to, uint32_t method, Bytes request, Duration timeout) {
    std::optional<Result<Bytes>> out;
    calls.spawn(call_into(client, to, method, std::move(request), timeout, &out));
    REQUIRE(t.loop.run_until([&] { return out.has_value(); }, kTestTimeout));
    return std::move(*out);
  }
};

TEST_CASE("GrpcTransport RPC: a call gets its reply, and a handler's error crosses the wire unchanged") {
  RpcPair p;
  const Result<Bytes> reply = p.call(p.server.address(), kEcho, "ping", 2s);
  REQUIRE(reply.ok());
  CHECK(reply.value() == "echo:ping");
  const Result<Bytes> failed = p.call(p.server.address(), kFail, "", 2s);
  CHECK(failed.code() == Errc::kFailedPrecondition);
  CHECK(failed.error().message == "not now");
  CHECK(p.call(p.server.address(), kFail + 1, "", 2s).code() == Errc::kNotFound);
}

TEST_CASE("GrpcTransport RPC: calls to a gone endpoint fail kPeerDied and to an unknown node kUnreachable") {
  RpcPair p;
  CHECK(p.call(Address{2, 99}, kEcho, "", 2s).code() == Errc::kPeerDied);
  CHECK(p.call(Address{9, 5}, kEcho, "", 2s).code() == Errc::kUnreachable);
}

TEST_CASE("GrpcTransport RPC: a call across a partition ends kTimeout at its deadline, and works again after") {
  RpcPair p;
  REQUIRE(p.call(p.server.address(), kEcho, "warm", 2s).ok());
  p.t.b->set_filter(1, /*drop_outgoing=*/false, /*drop_incoming=*/true);
  const TimePoint start = p.t.loop.now();
  const Result<Bytes> lost = p.call(p.server.address(), kEcho, "lost", 200ms);
  CHECK(lost.code() == Errc::kTimeout);
  CHECK(p.t.loop.now() - start >= 200ms);
  CHECK(p.client.pending_calls() == 0);
  p.t.b->clear_filters();
  const Result<Bytes> healed = p.call(p.server.address(), kEcho, "again", 2s);
  REQUIRE(healed.ok());
  CHECK(healed.value() == "echo:again");
}

TEST_CASE("GrpcTransport RPC: 1000 concurrent calls all get their own replies") {
  RpcPair p;
  constexpr int kCalls = 1000;
  std::vector<std::optional<Result<Bytes>>> out(kCalls);
  for (int i = 0; i < kCalls; ++i) {
    p.calls.spawn(call_into(p.client, p.server.address(), kEcho, std::to_string(i), 5s, &out[static_cast<size_t>(i)]));
  }
  REQUIRE(p.t.loop.run_until(
      [&] { return std::all_of(out.begin(), out.end(), [](const auto& o) { return o.has_value(); }); },
      kTestTimeout));
  int right = 0;
  for (int i = 0; i < kCalls; ++i) {
    const auto& reply = *out[static_cast<size_t>(i)];
    right += reply.ok() && reply.value() == "echo:" + std::to_string(i) ? 1 : 0;
  }
  CHECK(right == kCalls);
}

}  // namespace
}  // namespace tandem::real
