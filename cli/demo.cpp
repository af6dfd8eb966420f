#include "cli/demo.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>

#include "core/async/rpc.h"
#include "core/async/sleep.h"
#include "sim/world.h"

namespace tandem::cli {
namespace {

constexpr uint32_t kQuote = 16;
constexpr Port kServerPort = 10;
constexpr Duration kDeadline = 200ms;
constexpr Duration kRequestInterval = 5ms;

// A server answers each request after a log-normal service time (median ~2ms, a long tail).
class QuoteServer final : public sim::NodeProcess {
 public:
  explicit QuoteServer(Env& env) : endpoint_(env.transport, env.clock, kServerPort) {
    endpoint_.serve(kQuote, [&env](Address, Bytes request) -> Task<Result<Bytes>> {
      const double service_ms = env.random.lognormal(0.7, 0.5);
      co_await sleep(env.clock, Duration(static_cast<int64_t>(service_ms * 1e6)));
      co_return "quote:" + request;
    });
  }

 private:
  RpcEndpoint endpoint_;
};

struct Outcome {
  TimePoint sent;
  Errc code;
  Duration latency;
  bool retried;
};

// A client sends a request every ~5ms, mostly to its own cluster's servers, and retries a failed try once.
class QuoteClient final : public sim::NodeProcess {
 public:
  QuoteClient(Env& env, std::vector<Address> local, std::vector<Address> remote, std::vector<Outcome>* outcomes)
      : env_(env), endpoint_(env.transport, env.clock), local_(std::move(local)), remote_(std::move(remote)),
        outcomes_(outcomes) {
    scope_.spawn(loop());
  }

 private:
  Task<void> loop() {
    while (true) {
      co_await sleep(env_.clock, kRequestInterval + Duration(env_.random.below(1'000'000)));
      scope_.spawn(one_request());
    }
  }

  Task<void> one_request() {
    const TimePoint start = env_.clock.now();
    // Local first (80%), else any remote server; a failed try is retried once on a random other server.
    const Address first = (remote_.empty() || env_.random.chance(0.8)) ? local_[env_.random.below(local_.size())]
                                                                      : remote_[env_.random.below(remote_.size())];
    Result<Bytes> reply = co_await endpoint_.call(first, kQuote, "q", kDeadline);
    const bool retried = !reply.ok();
    if (retried) {
      const Address second = env_.random.chance(0.5) ? local_[env_.random.below(local_.size())]
                                                     : remote_[env_.random.below(remote_.size())];
      reply = co_await endpoint_.call(second, kQuote, "q", kDeadline);
    }
    outcomes_->push_back(Outcome{start, reply.code(), env_.clock.now() - start, retried});
  }

  Env& env_;
  RpcEndpoint endpoint_;
  std::vector<Address> local_;
  std::vector<Address> remote_;
  std::vector<Outcome>* outcomes_;
  Scope scope_;
};

struct Fault {
  Duration at;
  Duration until;
  std::string name;
};

double percentile_ms(std::vector<Duration>& latencies, double quantile) {
  if (latencies.empty()) return 0;
  const size_t index = std::min(latencies.size() - 1, static_cast<size_t>(quantile * latencies.size()));
  std::nth_element(latencies.begin(), latencies.begin() + static_cast<std::ptrdiff_t>(index), latencies.end());
  return to_ms(latencies[index]);
}

}  // namespace

DemoResult run_demo(const DemoOptions& options) {
  const auto wall_start = std::chrono::steady_clock::now();
  sim::WorldOptions world_options;
  world_options.seed = options.seed;
  sim::World world(world_options);
  sim::Network& network = world.network();

  sim::LinkSpec rack;  // node <-> cluster switch
  rack.latency = sim::LatencyModel::uniform(100us, 300us);
  sim::LinkSpec uplink;  // cluster switch <-> region router
  uplink.latency = sim::LatencyModel::constant(500us);
  sim::LinkSpec wan;
  wan.latency = sim::LatencyModel::normal(20ms, 2ms);

  const sim::RegionId east = network.add_region("east");
  const sim::RegionId west = network.add_region("west");
  network.connect_regions(east, west, wan);
  const std::vector<std::pair<std::string, sim::RegionId>> cluster_specs = {
      {"east-a", east}, {"east-b", east}, {"west-a", west}};
  constexpr int kServersPerCluster = 2;
  constexpr int kClientsPerCluster = 3;

  // Addresses are known before boot: servers occupy the first node ids of each cluster.
  std::vector<sim::ClusterId> clusters;
  std::vector<std::vector<Address>> servers(cluster_specs.size());
  NodeId next_id = 0;
  for (size_t c = 0; c < cluster_specs.size(); ++c) {
    clusters.push_back(network.add_cluster(cluster_specs[c].first, cluster_specs[c].second, uplink));
    for (int s = 0; s < kServersPerCluster; ++s) servers[c].push_back(Address{next_id++, kServerPort});
    next_id += kClientsPerCluster;
  }
  std::vector<Outcome> outcomes;
  for (size_t c = 0; c < cluster_specs.size(); ++c) {
    std::vector<Address> remote;
    for (size_t other = 0; other < cluster_specs.size(); ++other) {
      if (other != c) remote.insert(remote.end(), servers[other].begin(), servers[other].end());
    }
    for (int s = 0; s < kServersPerCluster; ++s) {
      world.add_node(cluster_specs[c].first + "-server" + std::to_string(s), clusters[c], rack,
                     [](Env& env) { return std::make_unique<QuoteServer>(env); });
    }
    for (int k = 0; k < kClientsPerCluster; ++k) {
      world.add_node(cluster_specs[c].first + "-client" + std::to_string(k), clusters[c], rack,
                     [local = servers[c], remote, &outcomes](Env& env) {
                       return std::make_unique<QuoteClient>(env, local, remote, &outcomes);
                     });
    }
  }

  // The fault timeline, scaled to the simulated duration (fractions of a 60 s run).
  auto at = [&](double fraction) { return Duration(static_cast<int64_t>(fraction * to_ns(options.simulated))); };
  const NodeId east_a_server0 = servers[0][0].node;
  const NodeId east_b_server1 = servers[1][1].node;
  const std::vector<NodeId> east_b = network.nodes_in_cluster(clusters[1]);
  const std::vector<NodeId> west_a = network.nodes_in_cluster(clusters[2]);
  std::vector<Fault> faults = {
      {at(10.0 / 60), at(20.0 / 60), "cluster west-a cut off"},
      {at(25.0 / 60), at(30.0 / 60), "server east-a-server0 crashed"},
      {at(35.0 / 60), at(40.0 / 60), "one-way partition east-b -> west-a"},
      {at(45.0 / 60), at(48.0 / 60), "server east-b-server1 paused"},
      {at(52.0 / 60), at(56.0 / 60), "20% loss on every east-b -> west-a link"},
  };
  auto announce = [&](const std::string& what) {
    world.note(kNoNode, "fault", what);
    if (options.verbose) std::printf("  %9.3fs  %s\n", to_seconds(world.now().time_since_epoch()), what.c_str());
  };
  world.at(TimePoint(faults[0].at), [&] {
    announce("cut cluster west-a");
    network.cut_cluster(clusters[2]);
  });
  world.at(TimePoint(faults[0].until), [&] {
    announce("heal");
    network.heal_all();
  });
  world.at(TimePoint(faults[1].at), [&] {
    announce("crash east-a-server0");
    world.crash(east_a_server0);
  });
  world.at(TimePoint(faults[1].until), [&] {
    announce("restart east-a-server0");
    world.restart(east_a_server0);
  });
  world.at(TimePoint(faults[2].at), [&] {
    announce("one-way partition east-b -> west-a");
    network.partition_one_way(east_b, west_a);
  });
  world.at(TimePoint(faults[2].until), [&] {
    announce("heal");
    network.heal_all();
  });
  world.at(TimePoint(faults[3].at), [&] {
    announce("pause east-b-server1");
    world.pause(east_b_server1);
  });
  world.at(TimePoint(faults[3].until), [&] {
    announce("resume east-b-server1");
    world.resume(east_b_server1);
  });
  world.at(TimePoint(faults[4].at), [&] {
    announce("20% loss east-b -> west-a");
    sim::Network::LinkFault lossy;
    lossy.drop_probability = 0.2;
    for (NodeId from : east_b) {
      for (NodeId to : west_a) network.set_link_fault(from, to, lossy);
    }
  });
  world.at(TimePoint(faults[4].until), [&] {
    announce("heal");
    network.heal_all();
  });

  world.run_until(TimePoint(options.simulated));

  // Phases: the quiet stretches between faults and each fault window.
  std::vector<DemoPhase> phases;
  Duration cursor{};
  for (const Fault& fault : faults) {
    if (fault.at > cursor) phases.push_back(DemoPhase{"steady", cursor, fault.at});
    phases.push_back(DemoPhase{fault.name, fault.at, fault.until});
    cursor = fault.until;
  }
  if (cursor < options.simulated) phases.push_back(DemoPhase{"steady", cursor, options.simulated});
  for (DemoPhase& phase : phases) {
    std::vector<Duration> latencies;
    for (const Outcome& outcome : outcomes) {
      const Duration sent = outcome.sent.time_since_epoch();
      if (sent < phase.start || sent >= phase.end) continue;
      ++phase.requests;
      if (outcome.retried) ++phase.retried;
      if (outcome.code == Errc::kOk) {
        ++phase.succeeded;
        latencies.push_back(outcome.latency);
      } else if (outcome.code == Errc::kTimeout) {
        ++phase.timed_out;
      } else {
        ++phase.refused;
      }
    }
    phase.p50_ms = percentile_ms(latencies, 0.50);
    phase.p99_ms = percentile_ms(latencies, 0.99);
  }

  DemoResult result;
  result.phases = std::move(phases);
  result.events = world.stats().events;
  result.messages = world.stats().messages_sent;
  result.trace_hash = world.trace_hash();
  result.nodes = world.node_count();
  result.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  return result;
}

int demo_main(const DemoOptions& options) {
  std::printf("tandem demo: 3 clusters in 2 regions, local-first RPC clients with one retry, %s simulated, seed %llu\n",
              format_duration(options.simulated).c_str(), static_cast<unsigned long long>(options.seed));
  if (options.verbose) std::printf("faults as they happen (simulated time):\n");
  const DemoResult first = run_demo(options);
  DemoOptions quiet = options;
  quiet.verbose = false;
  const DemoResult replay = run_demo(quiet);

  std::printf("\n%-46s %9s %8s %9s %8s %8s %8s %8s\n", "phase (simulated time)", "requests", "retried", "ok",
              "timeout", "refused", "p50 ms", "p99 ms");
  uint64_t requests = 0;
  uint64_t succeeded = 0;
  for (const DemoPhase& phase : first.phases) {
    char window[96];
    std::snprintf(window, sizeof window, "%5.1f-%5.1fs %s", to_seconds(phase.start), to_seconds(phase.end),
                  phase.name.c_str());
    const double ok_percent = phase.requests ? 100.0 * static_cast<double>(phase.succeeded) / phase.requests : 0;
    std::printf("%-46s %9llu %8llu %8.3f%% %8llu %8llu %8.2f %8.2f\n", window,
                static_cast<unsigned long long>(phase.requests), static_cast<unsigned long long>(phase.retried),
                ok_percent,
                static_cast<unsigned long long>(phase.timed_out), static_cast<unsigned long long>(phase.refused),
                phase.p50_ms, phase.p99_ms);
    requests += phase.requests;
    succeeded += phase.succeeded;
  }
  const double availability = requests ? 100.0 * static_cast<double>(succeeded) / requests : 0;
  std::printf("\navailability %.3f%% over %llu requests (a request fails only if both its tries fail)\n",
              availability, static_cast<unsigned long long>(requests));
  std::printf("%zu nodes, %llu events, %llu messages; %s simulated in %.2f s wall (%.0fx real time)\n", first.nodes,
              static_cast<unsigned long long>(first.events), static_cast<unsigned long long>(first.messages),
              format_duration(options.simulated).c_str(), first.wall_seconds,
              to_seconds(options.simulated) / std::max(first.wall_seconds, 1e-9));
  const bool same = first.trace_hash == replay.trace_hash;
  std::printf("trace hash %016llx; replayed with the same seed: %s\n",
              static_cast<unsigned long long>(first.trace_hash), same ? "identical" : "DIFFERENT (a determinism bug)");
  return same ? 0 : 1;
}

}  // namespace tandem::cli
