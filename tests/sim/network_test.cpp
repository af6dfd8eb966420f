// The simulated network: latency composition, shortest paths, every fault kind, determinism, input
// validation.
#include "sim/network.h"

#include <rapidcheck.h>
#include <rapidcheck/catch.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <tuple>
#include <vector>

namespace tandem {
namespace {

using sim::ClusterId;
using sim::DropCause;
using sim::LatencyModel;
using sim::LinkSpec;
using sim::Network;
using sim::RegionId;

LinkSpec link(Duration latency, double loss = 0, double bandwidth_bytes_per_second = 0) {
  return LinkSpec{LatencyModel::constant(latency), loss, bandwidth_bytes_per_second};
}

LinkSpec jittery_link(LatencyModel model) { return LinkSpec{model, 0, 0}; }

constexpr TimePoint kStart{};

// Two regions joined by a 20ms WAN: east holds clusters e1 (nodes a0, a1) and e2 (node b0), west holds w1
// (node c0). Node uplinks 100us / 200us / 300us, cluster uplinks 1ms in east and 2ms in west.
struct TwoRegions {
  explicit TwoRegions(uint64_t seed = 7) : net(Random(seed)) {
    east = net.add_region("east");
    west = net.add_region("west");
    net.connect_regions(east, west, link(20ms));
    e1 = net.add_cluster("e1", east, link(1ms));
    e2 = net.add_cluster("e2", east, link(1ms));
    w1 = net.add_cluster("w1", west, link(2ms));
    a0 = net.add_node("a0", e1, link(100us));
    a1 = net.add_node("a1", e1, link(100us));
    b0 = net.add_node("b0", e2, link(200us));
    c0 = net.add_node("c0", w1, link(300us));
  }

  Network::Verdict send(NodeId from, NodeId to, TimePoint now = kStart, size_t bytes = 0) {
    return net.route(from, to, bytes, now);
  }
  bool delivers(NodeId from, NodeId to) { return send(from, to).deliver; }

  Network net;
  RegionId east, west;
  ClusterId e1, e2, w1;
  NodeId a0, a1, b0, c0;
};

TEST_CASE("Network: latency composes loopback, node uplinks, cluster uplinks and WAN links") {
  TwoRegions t;
  CHECK(t.net.base_latency(t.a0, t.a0) == 10us);  // loopback default
  CHECK(t.net.base_latency(t.a0, t.a1) == 200us);
  CHECK(t.net.base_latency(t.a0, t.b0) == 100us + 1ms + 1ms + 200us);
  CHECK(t.net.base_latency(t.a0, t.c0) == 100us + 1ms + 20ms + 2ms + 300us);
  CHECK(t.net.base_latency(t.c0, t.a0) == t.net.base_latency(t.a0, t.c0));
  // Constant links: every message takes exactly the mean.
  for (NodeId from : {t.a0, t.a1, t.b0, t.c0}) {
    for (NodeId to : {t.a0, t.a1, t.b0, t.c0}) {
      const Network::Verdict verdict = t.send(from, to);
      CHECK(verdict.deliver);
      CHECK(verdict.delay == *t.net.base_latency(from, to));
      CHECK_FALSE(verdict.duplicate);
      CHECK_FALSE(verdict.may_reorder);
    }
  }
  t.net.set_loopback(LatencyModel::constant(3us));
  CHECK(t.send(t.b0, t.b0).delay == 3us);
}

TEST_CASE("Network: the cheapest WAN path by mean latency wins, and a cut WAN link reroutes") {
  Network net(Random(1));
  const RegionId a = net.add_region("a");
  const RegionId b = net.add_region("b");
  const RegionId c = net.add_region("c");
  net.connect_regions(a, c, link(100ms));
  net.connect_regions(a, b, link(10ms));
  net.connect_regions(b, c, jittery_link(LatencyModel::uniform(5ms, 15ms)));  // mean 10ms
  const NodeId in_a = net.add_node("in_a", net.add_cluster("ca", a, link(0ns)), link(0ns));
  const NodeId in_c = net.add_node("in_c", net.add_cluster("cc", c, link(0ns)), link(0ns));

  CHECK(net.base_latency(in_a, in_c) == 20ms);  // via b, not the direct 100ms link
  for (int i = 0; i < 200; ++i) {
    const Duration delay = net.route(in_a, in_c, 0, kStart).delay;
    CHECK(delay >= 15ms);
    CHECK(delay <= 25ms);
  }
  net.cut_wan(a, b);
  CHECK(net.base_latency(in_a, in_c) == 100ms);
  CHECK(net.route(in_a, in_c, 0, kStart).delay == 100ms);
  net.cut_wan(c, a);  // either order names the link
  CHECK_FALSE(net.reachable(in_a, in_c));
  CHECK_FALSE(net.base_latency(in_a, in_c).has_value());
  const Network::Verdict lost = net.route(in_a, in_c, 0, kStart);
  CHECK_FALSE(lost.deliver);
  CHECK(lost.cause == DropCause::kCut);
  CHECK(net.cut_count() == 2);
  CHECK(net.describe_faults() == "2 cut WAN links");
  net.restore_wan(a, b);
  CHECK(net.base_latency(in_a, in_c) == 20ms);
  net.heal_partitions();
  CHECK(net.cut_count() == 0);
  CHECK(net.base_latency(in_a, in_c) == 20ms);
}

TEST_CASE("Network: a symmetric partition drops messages both ways until healed") {
  TwoRegions t;
  t.net.partition({t.a0, t.a1}, {t.c0});
  CHECK(t.net.active_partition_count() == 1);
  using Pairs = std::initializer_list<std::pair<NodeId, NodeId>>;
  for (auto [from, to] : Pairs{{t.a0, t.c0}, {t.c0, t.a0}, {t.a1, t.c0}, {t.c0, t.a1}}) {
    const Network::Verdict verdict = t.send(from, to);
    CHECK_FALSE(verdict.deliver);
    CHECK(verdict.cause == DropCause::kPartition);
    CHECK_FALSE(t.net.reachable(from, to));
    CHECK_FALSE(t.net.base_latency(from, to).has_value());
  }
  // Pairs on the same side, or not in the partition, are untouched.
  CHECK(t.delivers(t.a0, t.a1));
  CHECK(t.delivers(t.b0, t.c0));
  CHECK(t.delivers(t.a0, t.b0));
  CHECK(t.net.stats().dropped_partition == 4);
  t.net.heal_partitions();
  CHECK(t.net.active_partition_count() == 0);
  CHECK(t.delivers(t.a0, t.c0));
  CHECK(t.delivers(t.c0, t.a0));
}

TEST_CASE("Network: a one-way partition drops only the from -> to direction") {
  TwoRegions t;
  t.net.partition_one_way({t.a0}, {t.b0, t.c0});
  CHECK_FALSE(t.delivers(t.a0, t.b0));
  CHECK_FALSE(t.delivers(t.a0, t.c0));
  CHECK_FALSE(t.net.reachable(t.a0, t.c0));
  CHECK(t.delivers(t.b0, t.a0));
  CHECK(t.delivers(t.c0, t.a0));
  CHECK(t.net.reachable(t.c0, t.a0));
  CHECK(t.delivers(t.b0, t.c0));
  CHECK(t.net.describe_faults() == "1 partition (1 one-way)");
}

TEST_CASE("Network: heal_partition ends one partition and leaves the others") {
  TwoRegions t;
  const sim::PartitionId first = t.net.partition({t.a0}, {t.b0});
  const sim::PartitionId second = t.net.partition({t.a1}, {t.c0});
  CHECK(first != second);
  CHECK(t.net.heal_partition(first));
  CHECK_FALSE(t.net.heal_partition(first));  // already healed: a no-op, not an error
  CHECK(t.delivers(t.a0, t.b0));
  CHECK_FALSE(t.delivers(t.a1, t.c0));
  CHECK(t.net.active_partition_count() == 1);
}

TEST_CASE("Network: an isolated node reaches only itself until restored") {
  TwoRegions t;
  t.net.isolate_node(t.a0);
  CHECK(t.delivers(t.a0, t.a0));
  for (NodeId other : {t.a1, t.b0, t.c0}) {
    CHECK_FALSE(t.delivers(t.a0, other));
    CHECK_FALSE(t.delivers(other, t.a0));
    CHECK_FALSE(t.net.reachable(other, t.a0));
  }
  CHECK(t.send(t.a1, t.a0).cause == DropCause::kCut);
  CHECK(t.delivers(t.a1, t.c0));
  CHECK(t.net.describe_faults() == "1 isolated node");
  t.net.restore_node(t.a0);
  CHECK(t.delivers(t.a0, t.c0));
  CHECK_FALSE(t.net.has_faults());
}

TEST_CASE("Network: a cut cluster is off the backbone but its nodes still reach each other") {
  TwoRegions t;
  t.net.cut_cluster(t.e1);
  CHECK(t.delivers(t.a0, t.a1));  // through their own switch
  CHECK(t.net.base_latency(t.a0, t.a1) == 200us);
  for (NodeId inside : {t.a0, t.a1}) {
    for (NodeId outside : {t.b0, t.c0}) {
      CHECK_FALSE(t.net.reachable(inside, outside));
      CHECK_FALSE(t.net.reachable(outside, inside));
      CHECK(t.send(inside, outside).cause == DropCause::kCut);
    }
  }
  CHECK(t.delivers(t.b0, t.c0));
  t.net.restore_cluster(t.e1);
  CHECK(t.delivers(t.a0, t.c0));
  CHECK(t.net.base_latency(t.a0, t.c0) == 100us + 1ms + 20ms + 2ms + 300us);
}

TEST_CASE("Network: heal_partitions undoes partitions and cuts but keeps link faults, and heal_all clears all") {
  TwoRegions t;
  t.net.partition({t.a0}, {t.a1});
  t.net.isolate_node(t.b0);
  t.net.cut_cluster(t.w1);
  t.net.cut_wan(t.east, t.west);
  t.net.set_link_fault(t.a1, t.a0, Network::LinkFault{.extra_delay = 5ms});
  CHECK(t.net.describe_faults() ==
        "1 partition, 1 isolated node, 1 cut cluster, 1 cut WAN link, 1 link fault");
  t.net.heal_partitions();
  CHECK(t.net.active_partition_count() == 0);
  CHECK(t.net.cut_count() == 0);
  CHECK(t.net.link_fault_count() == 1);
  CHECK(t.send(t.a1, t.a0).delay == 200us + 5ms);
  CHECK(t.delivers(t.b0, t.c0));
  t.net.heal_all();
  CHECK_FALSE(t.net.has_faults());
  CHECK(t.net.describe_faults() == "no network faults");
  CHECK(t.send(t.a1, t.a0).delay == 200us);
}

TEST_CASE("Network: link loss drops about 1 - product of survivals (p = 0.1 on two links, 20000 messages)") {
  Network net(Random(11));
  const ClusterId cluster = net.add_cluster("c", net.add_region("r"), link(0ns));
  const NodeId lossy_a = net.add_node("a", cluster, link(50us, 0.1));
  const NodeId lossy_b = net.add_node("b", cluster, link(50us, 0.1));
  const NodeId clean = net.add_node("clean", cluster, link(50us));
  constexpr int kMessages = 20000;
  int lost_both = 0;
  int lost_one = 0;
  for (int i = 0; i < kMessages; ++i) {
    lost_both += net.route(lossy_a, lossy_b, 0, kStart).deliver ? 0 : 1;
    lost_one += net.route(clean, lossy_a, 0, kStart).deliver ? 0 : 1;
  }
  CHECK(lost_both > kMessages * 0.17);  // expect 0.19
  CHECK(lost_both < kMessages * 0.21);
  CHECK(lost_one > kMessages * 0.085);  // expect 0.10
  CHECK(lost_one < kMessages * 0.115);
  CHECK(net.stats().dropped_loss == static_cast<uint64_t>(lost_both + lost_one));
  CHECK(net.reachable(lossy_a, lossy_b));  // loss is not a cut
}

TEST_CASE("Network: a drop fault drops about its probability, in its direction only (p = 0.3)") {
  TwoRegions t;
  t.net.set_link_fault(t.a0, t.c0, Network::LinkFault{.drop_probability = 0.3});
  constexpr int kMessages = 10000;
  int lost = 0;
  int lost_back = 0;
  for (int i = 0; i < kMessages; ++i) {
    const Network::Verdict verdict = t.send(t.a0, t.c0);
    if (!verdict.deliver) {
      ++lost;
      CHECK(verdict.cause == DropCause::kDropFault);
    }
    lost_back += t.delivers(t.c0, t.a0) ? 0 : 1;
  }
  CHECK(lost > kMessages * 0.27);
  CHECK(lost < kMessages * 0.33);
  CHECK(lost_back == 0);
  CHECK(t.net.stats().dropped_fault == static_cast<uint64_t>(lost));
}

TEST_CASE("Network: a duplicate fault delivers a second copy with its own latency") {
  TwoRegions t;
  t.net.set_link_fault(t.a0, t.a1, Network::LinkFault{.duplicate_probability = 1.0, .extra_delay = 1ms});
  const Network::Verdict verdict = t.send(t.a0, t.a1);
  CHECK(verdict.deliver);
  CHECK(verdict.duplicate);
  CHECK(verdict.delay == 200us + 1ms);
  CHECK(verdict.duplicate_delay == 200us + 1ms);
  CHECK_FALSE(t.send(t.a1, t.a0).duplicate);
  CHECK(t.net.stats().duplicated == 1);

  // With a random latency the copy draws its own sample.
  Network net(Random(3));
  const ClusterId cluster = net.add_cluster("c", net.add_region("r"), link(0ns));
  const NodeId x = net.add_node("x", cluster, jittery_link(LatencyModel::uniform(1ms, 2ms)));
  const NodeId y = net.add_node("y", cluster, link(0ns));
  net.set_link_fault(x, y, Network::LinkFault{.duplicate_probability = 1.0});
  int differing = 0;
  for (int i = 0; i < 100; ++i) {
    const Network::Verdict v = net.route(x, y, 0, kStart);
    REQUIRE(v.duplicate);
    CHECK(v.duplicate_delay >= 1ms);
    CHECK(v.duplicate_delay <= 2ms);
    differing += v.duplicate_delay != v.delay ? 1 : 0;
  }
  CHECK(differing > 90);
}

TEST_CASE("Network: extra delay adds exactly to the latency of its direction") {
  TwoRegions t;
  t.net.set_link_fault(t.a0, t.c0, Network::LinkFault{.extra_delay = 250ms});
  CHECK(t.send(t.a0, t.c0).delay == *t.net.base_latency(t.a0, t.c0) + 250ms);
  CHECK(t.send(t.c0, t.a0).delay == *t.net.base_latency(t.c0, t.a0));
  CHECK(t.net.base_latency(t.a0, t.c0) == 100us + 1ms + 20ms + 2ms + 300us);  // queries ignore link faults
}

TEST_CASE("Network: a clog holds messages until it ends, in its direction only") {
  TwoRegions t;
  const TimePoint until = kStart + 50ms;
  t.net.clog(t.a0, t.a1, until);
  CHECK(t.net.link_fault_count() == 1);
  const Network::Verdict held = t.send(t.a0, t.a1, kStart);
  CHECK(held.deliver);
  CHECK(held.delay >= until - kStart);
  CHECK(held.delay == 50ms);
  CHECK(t.send(t.a0, t.a1, kStart + 30ms).delay == 20ms);       // still arrives at `until`
  CHECK(t.send(t.a0, t.a1, kStart + 49'900us).delay == 200us);  // latency already reaches past `until`
  CHECK(t.send(t.a0, t.a1, until + 1ms).delay == 200us);        // after the clog: plain latency
  CHECK(t.send(t.a1, t.a0, kStart).delay == 200us);             // other direction unaffected
  CHECK(t.net.stats().clogged == 3);

  t.net.clog(t.a0, t.a1, kStart + 10ms);  // a clog only ever extends
  CHECK(t.send(t.a0, t.a1, kStart).delay == 50ms);
  t.net.clog_pair(t.b0, t.c0, kStart + 1s);
  CHECK(t.send(t.b0, t.c0, kStart).delay == 1s);
  CHECK(t.send(t.c0, t.b0, kStart).delay == 1s);
  t.net.clear_link_faults();
  CHECK(t.send(t.a0, t.a1, kStart).delay == 200us);
}

TEST_CASE("Network: a reorder fault flags the pair and adds jitter within [0, jitter]") {
  TwoRegions t;
  t.net.set_link_fault(t.a0, t.a1, Network::LinkFault{.reorder_jitter = 5ms});
  std::vector<Duration> delays;
  for (int i = 0; i < 200; ++i) {
    const Network::Verdict verdict = t.send(t.a0, t.a1);
    CHECK(verdict.may_reorder);
    CHECK(verdict.delay >= 200us);
    CHECK(verdict.delay <= 200us + 5ms);
    delays.push_back(verdict.delay);
  }
  CHECK_FALSE(std::is_sorted(delays.begin(), delays.end()));  // later sends can overtake earlier ones
  CHECK_FALSE(t.send(t.a1, t.a0).may_reorder);
  CHECK_FALSE(t.send(t.a0, t.b0).may_reorder);
}

TEST_CASE("Network: bandwidth adds bytes / bandwidth of serialization per link crossed") {
  Network net(Random(5));
  const RegionId region = net.add_region("r");
  const ClusterId fast = net.add_cluster("fast", region, link(0ns));
  const ClusterId slow = net.add_cluster("slow", region, link(0ns, 0, 2e6));  // 2 MB/s cluster uplink
  const NodeId a = net.add_node("a", fast, link(100us, 0, 1e6));              // 1 MB/s: 1us per byte
  const NodeId b = net.add_node("b", fast, link(100us, 0, 1e6));
  const NodeId c = net.add_node("c", slow, link(100us));
  CHECK(net.route(a, b, 0, kStart).delay == 200us);
  CHECK(net.route(a, b, 1000, kStart).delay == 200us + 2ms);          // 1ms on each uplink
  CHECK(net.route(a, c, 1000, kStart).delay == 200us + 1ms + 500us);  // a's uplink + slow's uplink
  CHECK(net.route(a, a, 1000, kStart).delay == 10us);                 // loopback never serializes
  CHECK(net.base_latency(a, b) == 200us);                             // queries leave serialization out
}

std::vector<std::tuple<bool, int64_t, bool, int64_t, bool>> verdict_sequence(uint64_t seed) {
  Network net{Random(seed)};
  const RegionId east = net.add_region("east");
  const RegionId west = net.add_region("west");
  net.connect_regions(east, west, jittery_link(LatencyModel::normal(20ms, 2ms)));
  const ClusterId e = net.add_cluster("e", east, jittery_link(LatencyModel::exponential(1ms, 500us)));
  const ClusterId w = net.add_cluster("w", west, jittery_link(LatencyModel::lognormal(1ms, 300us)));
  std::vector<NodeId> nodes;
  for (int i = 0; i < 4; ++i) {
    nodes.push_back(
        net.add_node("e" + std::to_string(i), e, LinkSpec{LatencyModel::uniform(50us, 150us), 0.05, 0}));
    nodes.push_back(net.add_node("w" + std::to_string(i), w, link(100us, 0.02, 1e8)));
  }
  net.set_link_fault(
      nodes[0], nodes[1],
      Network::LinkFault{.drop_probability = 0.1, .duplicate_probability = 0.2, .reorder_jitter = 1ms});
  std::vector<std::tuple<bool, int64_t, bool, int64_t, bool>> out;
  for (int i = 0; i < 2000; ++i) {
    const NodeId from = nodes[static_cast<size_t>(i) % nodes.size()];
    const NodeId to = nodes[static_cast<size_t>(i * 7 + 1) % nodes.size()];
    const Network::Verdict v = net.route(from, to, static_cast<size_t>(i % 1500), kStart + Duration(i));
    out.emplace_back(v.deliver, to_ns(v.delay), v.duplicate, to_ns(v.duplicate_delay), v.may_reorder);
  }
  return out;
}

TEST_CASE("Network: the same seed gives the same verdicts and a different seed different ones") {
  const auto first = verdict_sequence(42);
  CHECK(first == verdict_sequence(42));
  CHECK(first != verdict_sequence(43));
}

TEST_CASE("Network: constant links and faultless pairs draw no random numbers") {
  TwoRegions t;
  Random before = t.net.random();
  for (int i = 0; i < 10; ++i) t.send(t.a0, t.c0, kStart, 100);
  t.send(t.a0, t.a0);
  CHECK(t.net.random().next_u64() == before.next_u64());
}

TEST_CASE("Network: a partition of 5000 against 5000 nodes is cheap to set up and to query") {
  Network net(Random(9));
  const RegionId region = net.add_region("r");
  const ClusterId left_cluster = net.add_cluster("left", region, link(10us));
  const ClusterId right_cluster = net.add_cluster("right", region, link(10us));
  std::vector<NodeId> left;
  std::vector<NodeId> right;
  for (int i = 0; i < 5000; ++i) {
    left.push_back(net.add_node("l" + std::to_string(i), left_cluster, link(10us)));
    right.push_back(net.add_node("r" + std::to_string(i), right_cluster, link(10us)));
  }
  net.partition(left, right);
  for (size_t i = 0; i < 5000; i += 97) {
    CHECK_FALSE(net.route(left[i], right[4999 - i], 0, kStart).deliver);
    CHECK_FALSE(net.route(right[i], left[i], 0, kStart).deliver);
    CHECK(net.route(left[i], left[4999 - i], 0, kStart).deliver);
  }
  // A node added later is on neither side.
  const NodeId late = net.add_node("late", right_cluster, link(10us));
  CHECK(net.route(left[0], late, 0, kStart).deliver);
  CHECK(net.route(late, left[0], 0, kStart).deliver);
}

TEST_CASE("Network: names, ids and membership can be looked up") {
  TwoRegions t;
  CHECK(t.net.node_count() == 4);
  CHECK(t.net.cluster_count() == 3);
  CHECK(t.net.region_count() == 2);
  CHECK(t.net.find_node("b0") == t.b0);
  CHECK_FALSE(t.net.find_node("nobody").has_value());
  CHECK(t.net.find_cluster("w1") == t.w1);
  CHECK(t.net.find_region("west") == t.west);
  CHECK_FALSE(t.net.find_region("north").has_value());
  CHECK(t.net.cluster_of(t.c0) == t.w1);
  CHECK(t.net.region_of(t.e2) == t.east);
  CHECK(t.net.region_of_node(t.c0) == t.west);
  CHECK(t.net.node_name(t.a1) == "a1");
  CHECK(t.net.cluster_name(t.e2) == "e2");
  CHECK(t.net.region_name(t.east) == "east");
  CHECK(t.net.nodes_in_cluster(t.e1) == std::vector<NodeId>{t.a0, t.a1});
  CHECK(t.net.clusters_in_region(t.east) == std::vector<ClusterId>{t.e1, t.e2});
  CHECK(t.net.node_uplink(t.c0) == link(300us));
  CHECK(t.net.cluster_uplink(t.w1) == link(2ms));
}

TEST_CASE("LatencyModel: samples stay in range, never go negative, and have the stated mean") {
  Random random(17);
  constexpr int kSamples = 20000;
  auto average_ms = [&](const LatencyModel& model, Duration low, Duration high) {
    double sum_ms = 0;
    for (int i = 0; i < kSamples; ++i) {
      const Duration sample = model.sample(random);
      REQUIRE(sample >= low);
      REQUIRE(sample <= high);
      sum_ms += to_ms(sample);
    }
    return sum_ms / kSamples;
  };
  CHECK(average_ms(LatencyModel::constant(3ms), 3ms, 3ms) == Approx(3.0));
  CHECK(average_ms(LatencyModel::uniform(1ms, 3ms), 1ms, 3ms) == Approx(2.0).epsilon(0.02));
  CHECK(average_ms(LatencyModel::normal(10ms, 1ms), 0ns, sim::kMaxLinkLatency) == Approx(10.0).epsilon(0.02));
  // A stddev far above the mean: the clamp keeps every sample >= 0.
  average_ms(LatencyModel::normal(100us, 5ms), 0ns, sim::kMaxLinkLatency);
  CHECK(average_ms(LatencyModel::lognormal(5ms, 2ms), 0ns, sim::kMaxLinkLatency) ==
        Approx(5.0).epsilon(0.03));
  CHECK(average_ms(LatencyModel::exponential(3ms, 1ms), 1ms, sim::kMaxLinkLatency) ==
        Approx(3.0).epsilon(0.04));
  CHECK(LatencyModel::uniform(1ms, 3ms).mean() == 2ms);
  CHECK(LatencyModel::exponential(3ms, 1ms).mean() == 3ms);
  CHECK(LatencyModel::exponential(3ms).mean() == 3ms);
  CHECK(LatencyModel::normal(4ms, 0ns).is_constant());
}

TEST_CASE("LatencyModel: a constant model draws no random numbers") {
  Random random(1);
  Random copy = random;
  CHECK(LatencyModel::constant(5ms).sample(random) == 5ms);
  CHECK(LatencyModel::uniform(5ms, 5ms).sample(random) == 5ms);
  CHECK(random.next_u64() == copy.next_u64());
}

TEST_CASE("LatencyModel and LinkSpec: user numbers out of range are refused with a clear error") {
  using Kind = LatencyModel::Kind;
  auto message = [](const auto& result) { return result.error().message; };

  CHECK(LatencyModel::make(Kind::kUniform, 1ms, 3ms).value() == LatencyModel::uniform(1ms, 3ms));
  CHECK(LatencyModel::make(Kind::kExponential, 3ms, 1ms).value() == LatencyModel::exponential(3ms, 1ms));

  const auto negative = LatencyModel::make(Kind::kConstant, -5ms);
  REQUIRE_FALSE(negative.ok());
  CHECK(negative.code() == Errc::kInvalidArgument);
  CHECK_THAT(message(negative), Catch::Contains("must not be negative"));
  CHECK_THAT(message(LatencyModel::make(Kind::kUniform, 3ms, 1ms)),
             Catch::Contains("high (1ms) is below low (3ms)"));
  CHECK_THAT(message(LatencyModel::make(Kind::kNormal, 10ms, -1ms)), Catch::Contains("stddev"));
  CHECK_THAT(message(LatencyModel::make(Kind::kExponential, 1ms, 3ms)), Catch::Contains("mean >= floor"));
  CHECK_THAT(message(LatencyModel::make(Kind::kLogNormal, 0ns, 1ms)), Catch::Contains("positive mean"));
  CHECK_THAT(message(LatencyModel::make(Kind::kConstant, 1ms, 1ms)), Catch::Contains("one value"));
  CHECK_THAT(message(LatencyModel::make(Kind::kNormal, 2h, 1ms)), Catch::Contains("at most 1h"));
  CHECK_FALSE(LatencyModel::make(static_cast<Kind>(99), 1ms).ok());

  CHECK(sim::parse_latency_kind("lognormal").value() == Kind::kLogNormal);
  CHECK_THAT(message(sim::parse_latency_kind("gaussian")), Catch::Contains("use one of constant, uniform"));

  const LatencyModel ok = LatencyModel::constant(1ms);
  CHECK(LinkSpec::make(ok, 0.25, 1e6).ok());
  CHECK(LinkSpec::make(ok, 1.0).ok());
  for (double loss : {-0.1, 1.5, std::numeric_limits<double>::quiet_NaN()}) {
    const auto bad = LinkSpec::make(ok, loss);
    REQUIRE_FALSE(bad.ok());
    CHECK_THAT(message(bad), Catch::Contains("between 0 and 1"));
  }
  for (double bandwidth : {-1.0, 0.5, std::numeric_limits<double>::infinity()}) {
    CHECK_THAT(message(LinkSpec::make(ok, 0, bandwidth)), Catch::Contains("bandwidth"));
  }
  CHECK_FALSE(LinkSpec{LatencyModel{LatencyModel::Kind::kUniform, 1ms, -1ms}, 0, 0}.validate().ok());

  CHECK(Network::LinkFault{.drop_probability = 0.5}.validate().ok());
  CHECK_FALSE(Network::LinkFault{.drop_probability = 2}.validate().ok());
  CHECK_FALSE(Network::LinkFault{.duplicate_probability = -1}.validate().ok());
  CHECK_FALSE(Network::LinkFault{.extra_delay = -1ms}.validate().ok());
  CHECK_FALSE(Network::LinkFault{.reorder_jitter = -1ms}.validate().ok());
}

TEST_CASE("LatencyModel: descriptions read as the model") {
  CHECK(LatencyModel::constant(10us).to_string() == "constant(10us)");
  CHECK(LatencyModel::uniform(100us, 300us).to_string() == "uniform(100us..300us)");
  CHECK(LatencyModel::normal(20ms, 2ms).to_string() == "normal(20ms, sd 2ms)");
  CHECK(LatencyModel::exponential(3ms, 1ms).to_string() == "exponential(mean 3ms, floor 1ms)");
  CHECK(link(1ms, 0.5, 1000).to_string() == "constant(1ms), loss 0.500000, 1000 bytes/s");
}

// --- Property: partitions and cuts are absolute, and heal_all restores every pair --------------------------

// Region connectivity of the test's own model, by union-find over the WAN links left up.
struct RegionSets {
  explicit RegionSets(size_t count) : parent(count) { std::iota(parent.begin(), parent.end(), 0); }
  size_t find(size_t x) { return parent[x] == x ? x : parent[x] = find(parent[x]); }
  void join(size_t a, size_t b) { parent[find(a)] = find(b); }
  std::vector<size_t> parent;
};

TEST_CASE(
    "Network: route never delivers across an active partition or cut, and heal_all restores every pair") {
  rc::prop("random topologies, partitions and cuts", [] {
    const auto region_count = *rc::gen::inRange<uint32_t>(1, 4);
    const auto cluster_count = *rc::gen::inRange<uint32_t>(1, 6);
    const auto node_count = *rc::gen::inRange<uint32_t>(2, 14);
    Network net(Random(*rc::gen::arbitrary<uint64_t>()));
    for (uint32_t r = 0; r < region_count; ++r) net.add_region("r" + std::to_string(r));
    std::vector<std::pair<RegionId, RegionId>> wans;
    for (RegionId a = 0; a < region_count; ++a) {
      for (RegionId b = a + 1; b < region_count; ++b) {
        if (b == a + 1 || *rc::gen::arbitrary<bool>()) {  // a chain keeps every region connected when healed
          net.connect_regions(a, b, jittery_link(LatencyModel::uniform(1ms, 30ms)));
          wans.emplace_back(a, b);
        }
      }
    }
    std::vector<ClusterId> cluster_of_node;
    for (uint32_t c = 0; c < cluster_count; ++c) {
      net.add_cluster("c" + std::to_string(c), *rc::gen::inRange<uint32_t>(0, region_count), link(200us));
    }
    for (uint32_t n = 0; n < node_count; ++n) {
      cluster_of_node.push_back(*rc::gen::inRange<uint32_t>(0, cluster_count));
      net.add_node("n" + std::to_string(n), cluster_of_node.back(),
                   jittery_link(LatencyModel::normal(100us, 50us)));
    }

    // Faults. sides[p][n]: 0 neither, 1 side A / from, 2 side B / to.
    const auto partition_count = *rc::gen::inRange(0, 4);
    std::vector<std::vector<uint8_t>> sides;
    std::vector<bool> one_way;
    for (int p = 0; p < partition_count; ++p) {
      sides.push_back(*rc::gen::container<std::vector<uint8_t>>(node_count, rc::gen::inRange<uint8_t>(0, 3)));
      one_way.push_back(*rc::gen::arbitrary<bool>());
      std::vector<NodeId> a;
      std::vector<NodeId> b;
      for (NodeId n = 0; n < node_count; ++n) {
        if (sides.back()[n] == 1) a.push_back(n);
        if (sides.back()[n] == 2) b.push_back(n);
      }
      if (one_way.back()) {
        net.partition_one_way(a, b);
      } else {
        net.partition(a, b);
      }
    }
    const auto isolated = *rc::gen::container<std::vector<bool>>(
        node_count, rc::gen::weightedElement<bool>({{1, true}, {5, false}}));
    const auto cut_clusters = *rc::gen::container<std::vector<bool>>(
        cluster_count, rc::gen::weightedElement<bool>({{1, true}, {4, false}}));
    const auto cut_wans = *rc::gen::container<std::vector<bool>>(
        wans.size(), rc::gen::weightedElement<bool>({{1, true}, {3, false}}));
    for (NodeId n = 0; n < node_count; ++n) {
      if (isolated[n]) net.isolate_node(n);
    }
    for (ClusterId c = 0; c < cluster_count; ++c) {
      if (cut_clusters[c]) net.cut_cluster(c);
    }
    RegionSets regions(region_count);
    for (size_t w = 0; w < wans.size(); ++w) {
      if (cut_wans[w]) {
        net.cut_wan(wans[w].first, wans[w].second);
      } else {
        regions.join(wans[w].first, wans[w].second);
      }
    }

    auto blocked = [&](NodeId from, NodeId to) {
      if (from == to) return false;
      if (isolated[from] || isolated[to]) return true;
      const ClusterId cf = cluster_of_node[from];
      const ClusterId ct = cluster_of_node[to];
      if (cf != ct) {
        if (cut_clusters[cf] || cut_clusters[ct]) return true;
        if (regions.find(net.region_of(cf)) != regions.find(net.region_of(ct))) return true;
      }
      for (size_t p = 0; p < sides.size(); ++p) {
        if (sides[p][from] == 1 && sides[p][to] == 2) return true;
        if (!one_way[p] && sides[p][from] == 2 && sides[p][to] == 1) return true;
      }
      return false;
    };
    for (NodeId from = 0; from < node_count; ++from) {
      for (NodeId to = 0; to < node_count; ++to) {
        const bool expect_blocked = blocked(from, to);
        RC_ASSERT(net.reachable(from, to) == !expect_blocked);
        RC_ASSERT(net.base_latency(from, to).has_value() == !expect_blocked);
        const Network::Verdict verdict = net.route(from, to, 64, kStart);
        RC_ASSERT(verdict.deliver == !expect_blocked);
        if (verdict.deliver) RC_ASSERT(verdict.delay >= Duration::zero());
      }
    }

    net.heal_all();
    RC_ASSERT(!net.has_faults());
    for (NodeId from = 0; from < node_count; ++from) {
      for (NodeId to = 0; to < node_count; ++to) {
        RC_ASSERT(net.reachable(from, to));
        RC_ASSERT(net.route(from, to, 64, kStart).deliver);
      }
    }
  });
}

}  // namespace
}  // namespace tandem
