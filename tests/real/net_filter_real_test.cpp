// The admin filter: one-way and two-way partitions set in-process and through the Admin gRPC service.
#include <catch2/catch.hpp>

#include <grpcpp/grpcpp.h>

#include "real_backend/net/admin_client.h"
#include "tandem_net.grpc.pb.h"
#include "tests/real/net_test_support.h"

namespace tandem::real {
namespace {

using testing::Inbox;
using testing::kTestTimeout;
using testing::local_endpoint;
using testing::TransportPair;

// Sends one message each way (correlation `tag`), then runs the loop until both should have arrived.
struct Exchange {
  TransportPair& t;
  Inbox at_a;
  Inbox at_b;
  explicit Exchange(TransportPair& pair) : t(pair) {
    t.a->bind(7, &at_a);
    t.b->bind(5, &at_b);
  }
  // Returns {a->b arrived, b->a arrived}. A marker pair that is never filtered tells when to stop waiting.
  std::pair<bool, bool> both_ways(uint64_t tag) {
    const size_t a_before = at_a.messages.size();
    const size_t b_before = at_b.messages.size();
    t.a->send(Message{{1, 7}, {2, 5}, 20, tag, "a->b"});
    t.b->send(Message{{2, 5}, {1, 7}, 20, tag, "b->a"});
    t.loop.run_until([&] { return at_a.messages.size() > a_before && at_b.messages.size() > b_before; }, 500ms);
    return {at_b.messages.size() > b_before, at_a.messages.size() > a_before};
  }
};

TEST_CASE("GrpcTransport filter: drop_outgoing on one side cuts one direction only, silently") {
  TransportPair t;
  Exchange x(t);
  CHECK(x.both_ways(1) == std::pair{true, true});

  t.a->set_filter(2, /*drop_outgoing=*/true, /*drop_incoming=*/false);
  CHECK(x.both_ways(2) == std::pair{false, true});
  CHECK(x.at_a.bounces.empty());  // a partition gives no notice
  CHECK(t.a->stats().dropped_by_filter == 1);

  t.a->clear_filters();
  t.b->set_filter(1, /*drop_outgoing=*/false, /*drop_incoming=*/true);  // the same cut, made at the receiver
  CHECK(x.both_ways(3) == std::pair{false, true});
  CHECK(t.b->stats().dropped_by_filter == 1);

  t.b->set_filter(1, true, true);  // both ways
  CHECK(x.both_ways(4) == std::pair{false, false});

  t.b->clear_filters();
  CHECK(x.both_ways(5) == std::pair{true, true});
}

TEST_CASE("GrpcTransport filter: the Admin service sets and clears filters and reports stats from another client") {
  TransportOptions options;
  options.auth_token = "admin-secret";
  TransportPair t(options);
  Exchange x(t);
  auto channel = grpc::CreateChannel(local_endpoint(t.a->port()), grpc::InsecureChannelCredentials());
  auto admin = wire::Admin::NewStub(channel);
  auto call = [&](auto method, const auto& request, auto* reply, bool with_token) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    if (with_token) context.AddMetadata("authorization", "Bearer admin-secret");
    return ((*admin).*method)(&context, request, reply);
  };
  wire::FilterRequest cut;
  cut.set_peer(2);
  cut.set_drop_outgoing(true);
  wire::Empty empty;

  SECTION("without the token the call is refused and nothing changes") {
    const grpc::Status refused = call(&wire::Admin::Stub::SetFilter, cut, &empty, false);
    CHECK(refused.error_code() == grpc::StatusCode::UNAUTHENTICATED);
    CHECK(t.a->stats().rejected_unauthenticated == 1);
    CHECK(x.both_ways(1) == std::pair{true, true});
  }
  SECTION("with the token: cut a->b, read the stats, heal") {
    REQUIRE(call(&wire::Admin::Stub::SetFilter, cut, &empty, true).ok());
    CHECK(x.both_ways(1) == std::pair{false, true});
    wire::StatsReply stats;
    REQUIRE(call(&wire::Admin::Stub::Stats, empty, &stats, true).ok());
    CHECK(stats.dropped_by_filter() == 1);
    CHECK(stats.sent() == 1);
    CHECK(stats.delivered() == 1);
    REQUIRE(call(&wire::Admin::Stub::ClearFilters, empty, &empty, true).ok());
    CHECK(x.both_ways(2) == std::pair{true, true});
  }
}

TEST_CASE("GrpcTransport filter: AdminClient partitions two nodes symmetrically and heals them, token checked") {
  TransportOptions options;
  options.auth_token = "admin-secret";
  TransportPair t(options);
  Exchange x(t);
  CHECK(x.both_ways(1) == std::pair{true, true});
  AdminClient node1(local_endpoint(t.a->port()), "admin-secret");
  AdminClient node2(local_endpoint(t.b->port()), "admin-secret");
  // Blocking calls: the loop is not running meanwhile, which is fine — the filter lives on gRPC's side.
  REQUIRE(node1.set_filter(2, true, true).ok());
  REQUIRE(node2.set_filter(1, true, true).ok());
  CHECK(x.both_ways(2) == std::pair{false, false});
  Result<TransportStats> stats = node1.stats();
  REQUIRE(stats.ok());
  CHECK(stats.value().dropped_by_filter == 1);
  REQUIRE(node1.clear_filters().ok());
  REQUIRE(node2.clear_filters().ok());
  CHECK(x.both_ways(3) == std::pair{true, true});

  AdminClient intruder(local_endpoint(t.a->port()), "guess");
  const Status refused = intruder.set_filter(2, true, true);
  CHECK(refused.code() == Errc::kFailedPrecondition);
  CHECK(refused.error().message.find("token") != std::string::npos);
  AdminClient nobody(local_endpoint(testing::closed_port(t.loop)), "admin-secret");
  CHECK(nobody.clear_filters(2s).code() == Errc::kUnreachable);
  CHECK(x.both_ways(4) == std::pair{true, true});
}

}  // namespace
}  // namespace tandem::real
