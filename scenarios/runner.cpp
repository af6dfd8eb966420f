#include "scenarios/runner.h"

#include <algorithm>
#include <chrono>
#include <memory>

#include "fault_injection/injector.h"
#include "fault_injection/nemesis.h"
#include "fault_injection/schedule.h"
#include "scenarios/hosting.h"
#include "sim/world.h"

namespace tandem::scenarios {
namespace {

constexpr size_t kMaxTraceEntriesKept = 100'000;
constexpr int kProgressSlices = 100;

// Series resolution: about 1,200 fine buckets per run (recovery and windows), 300 chart points.
Duration fine_bucket(Duration duration) {
  const Duration raw = duration / 1200;
  const Duration rounded = std::chrono::duration_cast<std::chrono::milliseconds>(raw);
  return std::clamp<Duration>(rounded, std::chrono::milliseconds(50), std::chrono::seconds(10));
}

Duration chart_bucket(Duration duration, Duration fine) {
  const int64_t multiple = std::max<int64_t>(1, (duration / 300) / fine);
  return fine * multiple;
}

std::string describe_world_state(sim::World& world, bool& whole) {
  size_t down = 0;
  size_t paused = 0;
  std::string first_bad;
  for (NodeId node = 0; node < world.node_count(); ++node) {
    const sim::NodeState state = world.state(node);
    if (state == sim::NodeState::kUp) continue;
    if (state == sim::NodeState::kDown) ++down;
    if (state == sim::NodeState::kPaused) ++paused;
    if (first_bad.empty()) first_bad = world.network().node_name(node);
  }
  const bool network_faults = world.network().has_faults();
  whole = down == 0 && paused == 0 && !network_faults;
  if (whole) return "all " + std::to_string(world.node_count()) + " nodes up, no network faults";
  std::string out;
  if (down > 0) out += std::to_string(down) + " nodes down";
  if (paused > 0) out += (out.empty() ? "" : ", ") + std::to_string(paused) + " paused";
  if (!first_bad.empty()) out += " (first: " + first_bad + ")";
  if (network_faults) out += (out.empty() ? "" : "; ") + world.network().describe_faults();
  return "at the end: " + out;
}

}  // namespace

void add_topology(const Scenario& scenario, sim::Network& network) {
  for (const std::string& region : scenario.topology.regions) network.add_region(region);
  for (const ClusterSpec& cluster : scenario.topology.clusters) {
    network.add_cluster(cluster.name, *network.find_region(cluster.region), cluster.uplink);
  }
  for (const WanSpec& wan : scenario.topology.wan) {
    network.connect_regions(*network.find_region(wan.region_a), *network.find_region(wan.region_b), wan.link);
  }
}

void add_nodes(const Scenario& scenario, sim::World& world, const std::function<sim::Boot(NodeId)>& boot_for) {
  for (size_t c = 0; c < scenario.topology.clusters.size(); ++c) {
    const ClusterSpec& cluster = scenario.topology.clusters[c];
    for (NodeId node : scenario.index.nodes_in_cluster(static_cast<sim::ClusterId>(c))) {
      const NodeId added = world.add_node(scenario.index.node_name(node), static_cast<sim::ClusterId>(c),
                                          cluster.node_link, boot_for ? boot_for(node) : sim::Boot{});
      TANDEM_CHECK(added == node, "the world must number nodes as the scenario's topology index does");
    }
  }
}

reports::RunRecord new_run_record(const Scenario& scenario, uint64_t seed) {
  const Duration duration = scenario.duration;
  const Duration drain = scenario.drain();
  const Duration fine = fine_bucket(duration);
  reports::RunRecord record;
  record.scenario = scenario.name;
  record.seed = seed;
  record.duration = duration;
  record.drain = drain;
  record.requests = reports::RequestLog(fine, chart_bucket(duration, fine), duration + drain);
  for (const auto& service : scenario.services) record.requests.add_service(service->name());
  record.node_names = scenario.index.node_names();
  for (NodeId node = 0; node < scenario.index.node_count(); ++node) {
    record.node_clusters.push_back(scenario.index.cluster_name(scenario.index.cluster_of(node)));
  }
  return record;
}

fault_injection::Schedule fault_schedule(const Scenario& scenario, const sim::Network& network, const Random& root,
                                         reports::RunRecord& record) {
  fault_injection::Schedule schedule;
  for (const EventSpec& event : scenario.events) {
    using Kind = fault_injection::ScheduledStep::Kind;
    fault_injection::ScheduledStep step;
    step.at = event.at;
    step.source = event.source;
    switch (event.kind) {
      case EventSpec::Kind::kFault:
        schedule.add_fault(event.at, event.duration, event.fault, event.source);
        continue;
      case EventSpec::Kind::kRestart:
        step.kind = Kind::kRestart;
        step.nodes = event.nodes;
        break;
      case EventSpec::Kind::kResume:
        step.kind = Kind::kResume;
        step.nodes = event.nodes;
        break;
      case EventSpec::Kind::kHeal:
        step.kind = Kind::kHealAll;
        break;
      case EventSpec::Kind::kNote:
        step.kind = Kind::kNote;
        step.text = event.text;
        break;
      case EventSpec::Kind::kOperation:
        continue;  // the caller applies operations: they need the service instances
    }
    schedule.add(std::move(step));
  }
  if (scenario.nemesis) {
    const fault_injection::NemesisPlan plan =
        fault_injection::plan_nemesis(*scenario.nemesis, network, root.fork("nemesis"));
    for (fault_injection::FaultKind kind : plan.enabled) {
      record.nemesis_enabled.emplace_back(fault_injection::fault_kind_name(kind));
    }
    fault_injection::add_to_schedule(plan, schedule);
  }
  return schedule;
}

uint64_t effective_seed(const Scenario& scenario, const RunOptions& options) {
  return options.seed.value_or(scenario.seed);
}

reports::RunRecord simulate(const Scenario& scenario, uint64_t seed, const RunOptions& options) {
  const Duration duration = scenario.duration;
  const Duration drain = scenario.drain();

  reports::RunRecord record = new_run_record(scenario, seed);

  // Declaration order is destruction order reversed: the world (and every process in it) goes first, then the
  // services whose state those processes used, then the hosting their Boot functions point into.
  NodeHosting hosting(scenario.index.node_count());
  std::vector<std::unique_ptr<ServiceInstance>> instances;
  std::vector<std::unique_ptr<StreamDriver>> drivers;
  sim::WorldOptions world_options;
  world_options.seed = seed;
  auto world = std::make_unique<sim::World>(world_options);
  fault_injection::FaultInjector injector(*world);

  // Topology.
  sim::Network& network = world->network();
  add_topology(scenario, network);

  // Services register their node parts before any node boots.
  Random root(seed);
  for (size_t i = 0; i < scenario.services.size(); ++i) {
    ServiceContext context{*world,
                           scenario.index,
                           hosting,
                           record.requests,
                           record.serving,
                           injector,
                           static_cast<uint32_t>(i),
                           static_cast<Port>(kServicePortBase + kPortsPerService * i),
                           root.fork("service", i)};
    instances.push_back(scenario.services[i]->instantiate(context));
  }
  add_nodes(scenario, *world, [&hosting](NodeId node) { return hosting.boot_for(node); });

  // Operations first, then the faults and actions: same-instant steps keep this order.
  for (const EventSpec& event : scenario.events) {
    if (event.kind != EventSpec::Kind::kOperation) continue;
    sim::World* w = world.get();
    ServiceInstance* instance = instances[event.service].get();
    std::shared_ptr<const ServiceOperation> operation = event.operation;
    const auto& on_step = options.on_step;
    world->at(TimePoint(event.at), [w, instance, operation, &on_step] {
      instance->operate(*operation);
      w->note(kNoNode, "note", "operation: " + operation->description);
      if (on_step) on_step(w->now().time_since_epoch(), operation->description);
    });
  }
  const fault_injection::Schedule schedule = fault_schedule(scenario, network, root, record);
  sim::World* world_pointer = world.get();
  std::function<void(const std::string&)> announce;
  if (options.on_step) {
    announce = [world_pointer, &options](const std::string& what) {
      options.on_step(world_pointer->now().time_since_epoch(), what);
    };
  }
  schedule.install(*world, injector, announce);
  if (scenario.liveness) {
    world->at(TimePoint(scenario.liveness->heal_at), [&injector, &record, world_pointer, &announce] {
      injector.heal_all("liveness");
      record.heal_at = world_pointer->now().time_since_epoch();
      if (announce) announce("liveness: heal everything");
    });
  }

  // Workload.
  for (size_t s = 0; s < scenario.workload.size(); ++s) {
    const WorkloadStream& stream = scenario.workload[s];
    std::vector<NodeId> candidates;
    for (NodeId client : scenario.services[stream.service_index]->clients()) {
      if (stream.clusters.empty() || std::find(stream.clusters.begin(), stream.clusters.end(),
                                               scenario.index.cluster_of(client)) != stream.clusters.end()) {
        candidates.push_back(client);
      }
    }
    ServiceInstance* instance = instances[stream.service_index].get();
    const auto service = static_cast<uint32_t>(stream.service_index);
    drivers.push_back(std::make_unique<StreamDriver>(
        stream, duration, std::move(candidates), root.fork("workload", s),
        [instance](NodeId client) { instance->issue(client); },
        [&record, service, world_pointer] { record.requests.not_issued(service, world_pointer->now()); }));
    drivers.back()->start(*world);
  }

  // Run, in slices so progress can be shown.
  const Duration total = duration + drain;
  for (int slice = 1; slice <= kProgressSlices; ++slice) {
    world->run_until(TimePoint(total * slice / kProgressSlices));
    if (options.progress) options.progress(world->now().time_since_epoch(), total);
  }

  // Collect.
  std::vector<reports::TraceEntry> lifecycle;
  for (const sim::TraceRecord& entry : world->trace().records()) {
    if (entry.category == "fault") {
      lifecycle.push_back(reports::TraceEntry{entry.time_ns, entry.node, entry.category, entry.detail});
    } else if (entry.category == "note" && record.notes.size() < kMaxTraceEntriesKept) {
      record.notes.push_back(reports::TraceEntry{entry.time_ns, entry.node, entry.category, entry.detail});
    }
  }
  record.node_spans = reports::node_spans_from_trace(lifecycle);
  for (const fault_injection::FaultRecord& fault : injector.timeline()) {
    reports::FaultSpan span;
    span.id = fault.id;
    span.kind = std::string(fault_injection::fault_kind_name(fault.kind));
    span.label = fault.label;
    span.target = fault.target;
    span.source = fault.source;
    span.start_ns = to_ns(fault.start);
    if (fault.end) span.end_ns = to_ns(*fault.end);
    span.skipped = fault.skipped;
    span.skip_reason = fault.skip_reason;
    record.faults.push_back(std::move(span));
  }
  record.requests.settle(world->now(), [&record](NodeId client, int64_t from, int64_t to) {
    return record.node_impaired(client, from, to);
  });
  record.world_state_at_end = describe_world_state(*world, record.world_whole_at_end);
  for (const auto& instance : instances) instance->finish(record);
  const sim::WorldStats& stats = world->stats();
  record.figures["events"] = static_cast<double>(stats.events);
  record.figures["messages_sent"] = static_cast<double>(stats.messages_sent);
  record.figures["messages_delivered"] = static_cast<double>(stats.messages_delivered);
  record.figures["messages_dropped"] = static_cast<double>(stats.messages_dropped);
  record.figures["messages_duplicated"] = static_cast<double>(stats.messages_duplicated);
  record.figures["messages_bounced"] = static_cast<double>(stats.messages_bounced);
  record.figures["crashes"] = static_cast<double>(stats.crashes);
  record.figures["restarts"] = static_cast<double>(stats.restarts);
  record.figures["nodes"] = static_cast<double>(world->node_count());
  record.trace_hash = world->trace_hash();
  record.trace_records = world->trace().records().size();
  return record;
}

RunResult run_scenario(const Scenario& scenario, const RunOptions& options) {
  const uint64_t seed = effective_seed(scenario, options);
  RunResult result;
  const auto start = std::chrono::steady_clock::now();
  result.record = simulate(scenario, seed, options);
  result.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.checks = reports::evaluate_checks(result.record, scenario.expect);
  if (options.determinism.value_or(scenario.expect.determinism)) {
    RunOptions quiet;
    const auto replay_start = std::chrono::steady_clock::now();
    const reports::RunRecord replay = simulate(scenario, seed, quiet);
    result.replay_wall_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - replay_start).count();
    result.checks.push_back(reports::check_determinism(result.record.trace_hash, replay.trace_hash));
  }
  result.passed = reports::all_hold(result.checks);
  return result;
}

}  // namespace tandem::scenarios
