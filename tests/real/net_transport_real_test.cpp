// GrpcTransport between two transports on 127.0.0.1: FIFO delivery, the undeliverable notices (kPeerDied,
// kUnreachable), self-sends, a taken port, and a peer restarted on the same port.
#include <catch2/catch.hpp>

#include <string>

#include "tests/real/net_test_support.h"

namespace tandem::real {
namespace {

using testing::closed_port;
using testing::Inbox;
using testing::kTestTimeout;
using testing::local_endpoint;
using testing::started_transport;
using testing::TransportPair;

TEST_CASE("GrpcTransport: 10000 messages each way arrive once, in send order, with every field unchanged") {
  TransportPair t;
  Inbox at_a;
  Inbox at_b;
  t.a->bind(7, &at_a);
  t.b->bind(5, &at_b);
  constexpr uint64_t kMessages = 10000;
  for (uint64_t i = 0; i < kMessages; ++i) {
    t.a->send(Message{{1, 7}, {2, 5}, 40 + static_cast<uint32_t>(i % 3), i, "a" + std::to_string(i)});
    t.b->send(Message{{2, 5}, {1, 7}, 50, i, std::string(i % 50, static_cast<char>(i))});
  }
  REQUIRE(t.loop.run_until(
      [&] { return at_a.messages.size() == kMessages && at_b.messages.size() == kMessages; }, kTestTimeout));
  bool a_to_b_ok = true;
  bool b_to_a_ok = true;
  for (uint64_t i = 0; i < kMessages; ++i) {
    const Message& m = at_b.messages[i];
    a_to_b_ok = a_to_b_ok && m.correlation == i && m.kind == 40 + i % 3 && m.payload == "a" + std::to_string(i) &&
                m.from == Address{1, 7} && m.to == Address{2, 5};
    const Message& r = at_a.messages[i];
    b_to_a_ok = b_to_a_ok && r.correlation == i && r.payload == std::string(i % 50, static_cast<char>(i)) &&
                r.from == Address{2, 5};
  }
  CHECK(a_to_b_ok);
  CHECK(b_to_a_ok);
  t.loop.run_for(20ms);  // nothing extra arrives
  CHECK(at_b.messages.size() == kMessages);
  CHECK(at_a.bounces.empty());
  CHECK(t.a->stats().sent == kMessages);
  CHECK(t.b->stats().delivered == kMessages);
}

TEST_CASE("GrpcTransport: a message to an unbound port on a live node bounces kPeerDied with its fields") {
  TransportPair t;
  Inbox at_a;
  t.a->bind(7, &at_a);
  t.a->send(Message{{1, 7}, {2, 99}, 33, 1234, "hello"});
  REQUIRE(t.loop.run_until([&] { return !at_a.bounces.empty(); }, kTestTimeout));
  const auto& [message, reason] = at_a.bounces.front();
  CHECK(reason == Errc::kPeerDied);
  CHECK(message.to == Address{2, 99});
  CHECK(message.kind == 33);
  CHECK(message.correlation == 1234);
  CHECK(message.payload == "hello");
  CHECK(t.b->stats().bounces_sent == 1);
  CHECK(t.a->stats().bounced == 1);
}

TEST_CASE("GrpcTransport: messages to a node with no server bounce kUnreachable") {
  EventLoop loop;
  const uint16_t nobody = closed_port(loop);
  auto a = started_transport(loop, 1);
  a->set_peer(3, local_endpoint(nobody));
  Inbox at_a;
  a->bind(7, &at_a);
  for (uint64_t i = 0; i < 3; ++i) a->send(Message{{1, 7}, {3, 5}, 20, i, "x"});
  REQUIRE(loop.run_until([&] { return at_a.bounces.size() == 3; }, kTestTimeout));
  for (uint64_t i = 0; i < 3; ++i) {
    CHECK(at_a.bounces[i].second == Errc::kUnreachable);
    CHECK(at_a.bounces[i].first.correlation == i);
  }
}

TEST_CASE("GrpcTransport: a message to a node nobody named bounces kUnreachable") {
  EventLoop loop;
  auto a = started_transport(loop, 1);
  Inbox at_a;
  a->bind(7, &at_a);
  a->send(Message{{1, 7}, {42, 5}, 20, 9, ""});
  CHECK(at_a.bounces.empty());  // never inside send()
  REQUIRE(loop.run_until([&] { return !at_a.bounces.empty(); }, kTestTimeout));
  CHECK(at_a.bounces.front().second == Errc::kUnreachable);
}

TEST_CASE("GrpcTransport: a peer endpoint that is not HOST:PORT makes its messages bounce kUnreachable") {
  EventLoop loop;
  auto a = started_transport(loop, 1);
  a->set_peer(2, "no-port-here");
  Inbox at_a;
  a->bind(7, &at_a);
  a->send(Message{{1, 7}, {2, 5}, 20, 1, ""});
  REQUIRE(loop.run_until([&] { return !at_a.bounces.empty(); }, kTestTimeout));
  CHECK(at_a.bounces.front().second == Errc::kUnreachable);
}

TEST_CASE("GrpcTransport: messages to its own node go through the loop, and to an unbound own port bounce") {
  EventLoop loop;
  auto a = started_transport(loop, 1);
  Inbox at_7;
  Inbox at_8;
  a->bind(7, &at_7);
  a->bind(8, &at_8);
  a->send(Message{{1, 7}, {1, 8}, 20, 1, "self"});
  a->send(Message{{1, 7}, {1, 9}, 20, 2, "nobody"});
  CHECK(at_8.messages.empty());
  REQUIRE(loop.run_until([&] { return at_8.messages.size() == 1 && at_7.bounces.size() == 1; }, kTestTimeout));
  CHECK(at_8.messages.front().payload == "self");
  CHECK(at_7.bounces.front().second == Errc::kPeerDied);
}

TEST_CASE("GrpcTransport: start fails with a clear error when the port is taken") {
  EventLoop loop;
  auto a = started_transport(loop, 1);
  TransportOptions options;
  options.listen_port = a->port();
  GrpcTransport b(loop, 2, options);
  const Status started = b.start();
  REQUIRE_FALSE(started.ok());
  CHECK(started.code() == Errc::kUnavailable);
  CHECK(started.error().message.find(std::to_string(a->port())) != std::string::npos);
  CHECK(started.error().message.find("fix:") != std::string::npos);
}

TEST_CASE("GrpcTransport: a peer shut down and started again on the same port becomes reachable again") {
  EventLoop loop;
  auto a = started_transport(loop, 1);
  auto b = started_transport(loop, 2);
  const uint16_t b_port = b->port();
  a->set_peer(2, local_endpoint(b_port));
  Inbox at_a;
  Inbox at_b;
  a->bind(7, &at_a);
  b->bind(5, &at_b);
  a->send(Message{{1, 7}, {2, 5}, 20, 1, "before"});
  REQUIRE(loop.run_until([&] { return at_b.messages.size() == 1; }, kTestTimeout));

  b->unbind(5);
  b.reset();  // the peer goes away (shutdown in the destructor)
  // Once a has seen the stream end, a send while b is down bounces kUnreachable. (Sent in the instant before,
  // it could ride the dying stream and be lost silently: see docs/real_backend_net.md.)
  loop.run_for(100ms);
  a->send(Message{{1, 7}, {2, 5}, 20, 2, "while down"});
  REQUIRE(loop.run_until([&] { return !at_a.bounces.empty(); }, kTestTimeout));
  CHECK(at_a.bounces.front().second == Errc::kUnreachable);
  CHECK(at_a.bounces.front().first.payload == "while down");

  TransportOptions same_port;
  same_port.listen_port = b_port;
  auto b2 = started_transport(loop, 2, same_port);
  Inbox at_b2;
  b2->bind(5, &at_b2);
  // Resend until one arrives: gRPC's reconnect backoff (at most 1 s here) may bounce the first tries.
  const TimePoint give_up = loop.now() + kTestTimeout;
  uint64_t next = 3;
  while (at_b2.messages.empty() && loop.now() < give_up) {
    const size_t bounces_before = at_a.bounces.size();
    a->send(Message{{1, 7}, {2, 5}, 20, next++, "after"});
    loop.run_until([&] { return !at_b2.messages.empty() || at_a.bounces.size() > bounces_before; }, 3s);
    if (at_b2.messages.empty()) loop.run_for(50ms);
  }
  const bool reached = !at_b2.messages.empty();
  CHECK(reached);
  CHECK(at_b2.messages.front().payload == "after");
  CHECK(a->stats().reconnects >= 1);
}

}  // namespace
}  // namespace tandem::real

namespace tandem::real {
namespace {

TEST_CASE("GrpcTransport: shutting down mid-traffic stops deliveries at once and leaves the other side serving") {
  EventLoop loop;
  Inbox at_a;
  Inbox at_b;
  auto a = testing::started_transport(loop, 1);
  auto b = testing::started_transport(loop, 2);
  a->set_peer(2, testing::local_endpoint(b->port()));
  b->set_peer(1, testing::local_endpoint(a->port()));
  a->bind(7, &at_a);
  b->bind(5, &at_b);
  for (uint64_t i = 0; i < 5000; ++i) {
    a->send(Message{{1, 7}, {2, 5}, 20, i, std::string(64, 'a')});
    b->send(Message{{2, 5}, {1, 7}, 20, i, std::string(64, 'b')});
  }
  loop.run_until([&] { return at_b.messages.size() > 100; }, testing::kTestTimeout);
  b->shutdown();
  const size_t at_b_after_shutdown = at_b.messages.size();
  for (uint64_t i = 0; i < 100; ++i) a->send(Message{{1, 7}, {2, 5}, 20, 10000 + i, "late"});
  loop.run_for(100ms);
  CHECK(at_b.messages.size() == at_b_after_shutdown);  // nothing reaches a shut-down transport's receivers
  b->shutdown();  // idempotent
  // a still serves itself and reports b's absence.
  Inbox at_a2;
  a->bind(8, &at_a2);
  a->send(Message{{1, 8}, {1, 7}, 20, 1, "self"});
  REQUIRE(loop.run_until([&] { return !at_a.messages.empty() && at_a.messages.back().payload == "self"; },
                         testing::kTestTimeout));
  b.reset();
  a.reset();
}

}  // namespace
}  // namespace tandem::real
