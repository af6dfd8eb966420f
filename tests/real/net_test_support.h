// Helpers for the real transport's tests (tests/real/net_*_real_test.cpp): a recording Receiver and a pair of
// GrpcTransports on 127.0.0.1 sharing one EventLoop (the test thread runs it).
#pragma once

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "real_backend/net/event_loop.h"
#include "real_backend/net/grpc_transport.h"

namespace tandem::real::testing {

// Records what reaches a bound port.
struct Inbox final : Receiver {
  std::vector<Message> messages;
  std::vector<std::pair<Message, Errc>> bounces;
  void on_message(Message&& message) override { messages.push_back(std::move(message)); }
  void on_undeliverable(Message&& message, Errc reason) override { bounces.emplace_back(std::move(message), reason); }
};

inline std::string local_endpoint(uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

inline std::unique_ptr<GrpcTransport> started_transport(EventLoop& loop, NodeId node, TransportOptions options = {}) {
  auto transport = std::make_unique<GrpcTransport>(loop, node, std::move(options));
  const Status started = transport->start();
  INFO((started.ok() ? std::string() : started.error().message));
  REQUIRE(started.ok());
  REQUIRE(transport->port() != 0);
  return transport;
}

// A port on 127.0.0.1 where nothing listens (it was bound a moment ago, then released).
inline uint16_t closed_port(EventLoop& loop) {
  auto transport = started_transport(loop, 99);
  const uint16_t port = transport->port();
  transport->shutdown();
  return port;
}

// Nodes 1 and 2, each knowing the other.
struct TransportPair {
  explicit TransportPair(TransportOptions options = {})
      : a(started_transport(loop, 1, options)), b(started_transport(loop, 2, options)) {
    a->set_peer(2, local_endpoint(b->port()));
    b->set_peer(1, local_endpoint(a->port()));
  }
  EventLoop loop;
  std::unique_ptr<GrpcTransport> a;
  std::unique_ptr<GrpcTransport> b;
};

inline constexpr Duration kTestTimeout = std::chrono::seconds(10);  // every wait is bounded by this

}  // namespace tandem::real::testing
