// Link faults at the real transport: a delay holds what one node sends to a peer (and keeps its order), loss
// drops it with seeded draws, duplication sends it twice, reorder jitter lets messages overtake each other, a
// clog holds everything until it ends; set in-process and through the Admin service.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

#include "real_backend/net/admin_client.h"
#include "tests/real/net_test_support.h"

namespace tandem::real {
namespace {

using testing::Inbox;
using testing::kTestTimeout;
using testing::local_endpoint;
using testing::TransportPair;

// Records when each message arrived, on the loop's clock.
struct TimedInbox final : Receiver {
  explicit TimedInbox(EventLoop& event_loop) : loop(event_loop) {}
  EventLoop& loop;
  std::vector<std::pair<uint64_t, TimePoint>> arrivals;  // correlation, when
  size_t bounces = 0;
  void on_message(Message&& message) override { arrivals.emplace_back(message.correlation, loop.now()); }
  void on_undeliverable(Message&&, Errc) override { ++bounces; }
};

Message a_to_b(uint64_t correlation) { return Message{{1, 7}, {2, 5}, 20, correlation, "a->b"}; }

TEST_CASE("GrpcTransport link faults: a 300 ms delay on a->b holds each message about 300 ms, in send order") {
  TransportPair t;
  TimedInbox at_b(t.loop);
  TimedInbox at_a(t.loop);
  t.a->bind(7, &at_a);
  t.b->bind(5, &at_b);
  // Open both streams first, so the times measured below are the fault's, not the handshakes'.
  t.a->send(a_to_b(0));
  t.b->send(Message{{2, 5}, {1, 7}, 20, 99, "b->a"});
  REQUIRE(t.loop.run_until([&] { return at_b.arrivals.size() == 1 && at_a.arrivals.size() == 1; }, kTestTimeout));

  constexpr auto kDelay = std::chrono::milliseconds(300);
  REQUIRE(t.a->set_link_faults(2, LinkFaults{.delay_ms = 300}).ok());
  const TimePoint sent_at = t.loop.now();
  for (uint64_t i = 1; i <= 5; ++i) t.a->send(a_to_b(i));
  // The way back is not delayed: b's message arrives while a's are still held.
  t.b->send(Message{{2, 5}, {1, 7}, 20, 100, "b->a"});
  // Cleared at once: later messages are not delayed, yet must not overtake the held ones.
  REQUIRE(t.a->set_link_faults(2, LinkFaults{}).ok());
  for (uint64_t i = 6; i <= 10; ++i) t.a->send(a_to_b(i));
  REQUIRE(t.loop.run_until([&] { return at_b.arrivals.size() == 11 && at_a.arrivals.size() == 2; }, kTestTimeout));

  std::vector<uint64_t> order;
  for (const auto& [correlation, when] : at_b.arrivals) order.push_back(correlation);
  CHECK(order == std::vector<uint64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  CHECK(at_a.arrivals[1].second < at_b.arrivals[1].second);
  for (size_t i = 1; i < at_b.arrivals.size(); ++i) {
    const Duration waited = at_b.arrivals[i].second - sent_at;
    INFO("message " << at_b.arrivals[i].first << " arrived after "
                    << std::chrono::duration_cast<std::chrono::milliseconds>(waited).count() << " ms");
    CHECK(waited >= kDelay);
    CHECK(waited < kDelay + std::chrono::seconds(2));  // real time on a shared machine: generous
  }
  CHECK(t.a->stats().delayed_by_link_fault == 5);
  CHECK(at_a.bounces == 0);
}

TEST_CASE("GrpcTransport link faults: loss 1.0 set over the Admin service drops everything silently, and "
          "clearing restores delivery") {
  TransportOptions options;
  options.auth_token = "link-secret";
  TransportPair t(options);
  Inbox at_a;
  Inbox at_b;
  t.a->bind(7, &at_a);
  t.b->bind(5, &at_b);
  AdminClient admin(local_endpoint(t.a->port()), "link-secret");

  REQUIRE(admin.set_link_faults(2, LinkFaults{.loss_probability = 1.0}).ok());
  for (uint64_t i = 1; i <= 50; ++i) t.a->send(a_to_b(i));
  t.b->send(Message{{2, 5}, {1, 7}, 20, 100, "b->a"});  // the other direction is untouched
  REQUIRE(t.loop.run_until([&] { return at_a.messages.size() == 1; }, kTestTimeout));
  t.loop.run_for(std::chrono::milliseconds(200));
  CHECK(at_b.messages.empty());
  CHECK(at_a.bounces.empty());  // a lost message gives no notice, as in the sim
  Result<TransportStats> stats = admin.stats();
  REQUIRE(stats.ok());
  CHECK(stats.value().lost_by_link_fault == 50);

  REQUIRE(admin.clear_filters().ok());
  t.a->send(a_to_b(51));
  REQUIRE(t.loop.run_until([&] { return at_b.messages.size() == 1; }, kTestTimeout));
  CHECK(at_b.messages[0].correlation == 51);

  const Status out_of_range = admin.set_link_faults(2, LinkFaults{.loss_probability = 1.5});
  CHECK(out_of_range.code() == Errc::kInvalidArgument);
  CHECK(admin.set_link_faults(2, LinkFaults{.delay_ms = kMaxLinkDelayMs + 1}).code() == Errc::kInvalidArgument);
}

// Which of 200 messages a->b arrive under loss 0.5 with `seed` (a fresh pair of transports each time).
std::set<uint64_t> survivors(uint64_t seed) {
  TransportPair t;
  Inbox at_b;
  t.b->bind(5, &at_b);
  Inbox at_a;
  t.a->bind(7, &at_a);
  REQUIRE(t.a->set_link_faults(2, LinkFaults{.loss_probability = 0.5, .seed = seed}).ok());
  for (uint64_t i = 1; i <= 200; ++i) t.a->send(a_to_b(i));
  REQUIRE(t.a->set_link_faults(2, LinkFaults{}).ok());
  // Port 6 is unbound: the marker bounces kPeerDied, after every earlier message was delivered (per-pair FIFO).
  t.a->send(Message{{1, 7}, {2, 6}, 20, 0, "marker"});
  REQUIRE(t.loop.run_until([&] { return !at_a.bounces.empty(); }, kTestTimeout));
  std::set<uint64_t> arrived;
  for (const Message& message : at_b.messages) arrived.insert(message.correlation);
  return arrived;
}

TEST_CASE("GrpcTransport link faults: loss 0.5 drops about half, the same half for the same seed") {
  const std::set<uint64_t> first = survivors(42);
  CHECK(first.size() > 60);
  CHECK(first.size() < 140);
  CHECK(survivors(42) == first);
  CHECK(survivors(43) != first);
}

TEST_CASE("GrpcTransport link faults: duplicate 1.0 delivers every message twice, each copy after its original") {
  TransportPair t;
  Inbox at_b;
  t.b->bind(5, &at_b);
  REQUIRE(t.a->set_link_faults(2, LinkFaults{.duplicate_probability = 1.0}).ok());
  for (uint64_t i = 1; i <= 3; ++i) t.a->send(a_to_b(i));
  REQUIRE(t.loop.run_until([&] { return at_b.messages.size() == 6; }, kTestTimeout));
  std::vector<uint64_t> order;
  for (const Message& message : at_b.messages) order.push_back(message.correlation);
  CHECK(order == std::vector<uint64_t>{1, 1, 2, 2, 3, 3});
  CHECK(t.a->stats().duplicated_by_link_fault == 3);
}

TEST_CASE("GrpcTransport link faults: 50 ms of reorder jitter delivers every message, some out of send order") {
  TransportPair t;
  TimedInbox at_b(t.loop);
  t.b->bind(5, &at_b);
  t.a->send(a_to_b(0));  // the stream first
  REQUIRE(t.loop.run_until([&] { return at_b.arrivals.size() == 1; }, kTestTimeout));
  REQUIRE(t.a->set_link_faults(2, LinkFaults{.seed = 7, .reorder_jitter_us = 50'000}).ok());
  const TimePoint sent_at = t.loop.now();
  for (uint64_t i = 1; i <= 100; ++i) t.a->send(a_to_b(i));
  REQUIRE(t.loop.run_until([&] { return at_b.arrivals.size() == 101; }, kTestTimeout));
  std::vector<uint64_t> order;
  for (size_t i = 1; i < at_b.arrivals.size(); ++i) order.push_back(at_b.arrivals[i].first);
  CHECK_FALSE(std::is_sorted(order.begin(), order.end()));
  std::set<uint64_t> arrived(order.begin(), order.end());
  CHECK(arrived.size() == 100);  // each exactly once
  CHECK(t.a->stats().delayed_by_link_fault == 100);
  // Clearing it restores per-pair order for what is sent next.
  REQUIRE(t.a->set_link_faults(2, LinkFaults{}).ok());
  for (uint64_t i = 101; i <= 120; ++i) t.a->send(a_to_b(i));
  REQUIRE(t.loop.run_until([&] { return at_b.arrivals.size() == 121; }, kTestTimeout));
  for (size_t i = 101; i < at_b.arrivals.size(); ++i) CHECK(at_b.arrivals[i].first == i);
  CHECK(at_b.arrivals[1].second - sent_at < std::chrono::seconds(2));
}

TEST_CASE("GrpcTransport link faults: a 400 ms clog set over the Admin service holds a->b until it ends, in order") {
  TransportPair t;
  TimedInbox at_b(t.loop);
  TimedInbox at_a(t.loop);
  t.a->bind(7, &at_a);
  t.b->bind(5, &at_b);
  t.a->send(a_to_b(0));
  t.b->send(Message{{2, 5}, {1, 7}, 20, 99, "b->a"});
  REQUIRE(t.loop.run_until([&] { return at_b.arrivals.size() == 1 && at_a.arrivals.size() == 1; }, kTestTimeout));
  AdminClient admin(local_endpoint(t.a->port()), "");
  const TimePoint clogged_at = t.loop.now();
  REQUIRE(admin.set_link_faults(2, LinkFaults{.clog_ms = 400}).ok());
  for (uint64_t i = 1; i <= 3; ++i) {
    t.a->send(a_to_b(i));
    t.loop.run_for(std::chrono::milliseconds(100));  // sent at about 0, 100 and 200 ms into the clog
  }
  t.b->send(Message{{2, 5}, {1, 7}, 20, 100, "b->a"});  // the way back is not clogged
  REQUIRE(t.loop.run_until([&] { return at_b.arrivals.size() == 4 && at_a.arrivals.size() == 2; }, kTestTimeout));
  CHECK(at_a.arrivals[1].second < at_b.arrivals[1].second);
  for (size_t i = 1; i <= 3; ++i) {
    CHECK(at_b.arrivals[i].first == i);
    const Duration waited = at_b.arrivals[i].second - clogged_at;
    INFO("message " << i << " arrived "
                    << std::chrono::duration_cast<std::chrono::milliseconds>(waited).count() << " ms into the clog");
    CHECK(waited >= std::chrono::milliseconds(390));  // all released when the clog ends, not before
    CHECK(waited < std::chrono::seconds(2));
  }
  // After the clog ended (its time passed), messages go straight through again.
  const TimePoint later = t.loop.now();
  t.a->send(a_to_b(4));
  REQUIRE(t.loop.run_until([&] { return at_b.arrivals.size() == 5; }, kTestTimeout));
  CHECK(at_b.arrivals[4].second - later < std::chrono::milliseconds(300));
  CHECK(admin.set_link_faults(2, LinkFaults{.clog_ms = kMaxLinkDelayMs + 1}).code() == Errc::kInvalidArgument);
}

}  // namespace
}  // namespace tandem::real
