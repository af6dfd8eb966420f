#include "scenarios/real/real_runner.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <set>

#include "core/apps/automl/service.h"
#include "fault_injection/fault.h"
#include "real_backend/local_cluster.h"
#include "real_backend/member_process.h"
#include "real_backend/net/admin_client.h"
#include "real_backend/net/event_loop.h"
#include "scenarios/services/automl.h"
#include "scenarios/workload.h"
#include "sim/world.h"

namespace tandem::scenarios {
namespace {

namespace automl = apps::automl;
using fault_injection::Fault;
using fault_injection::FaultKind;
using fault_injection::ScheduledStep;

constexpr NodeId kDriverId = 999'999;  // the highest id a cluster file accepts: never a topology node
constexpr Duration kMinHeartbeat = std::chrono::milliseconds(20);
constexpr int kProgressSlices = 100;

bool real_fault(const Fault& fault) {
  switch (fault.kind) {
    case FaultKind::kCrash:
    case FaultKind::kPause:
    case FaultKind::kActorKill:
    case FaultKind::kIsolate:
    case FaultKind::kPartition:
    case FaultKind::kPartitionOneWay:
    case FaultKind::kLinkDelay:
    case FaultKind::kLinkLoss:
    case FaultKind::kLinkDuplicate:
      return true;
    case FaultKind::kClusterOutage:
      return fault.outage == fault_injection::OutageMode::kPower;
    default:
      return false;
  }
}

std::string unsupported_fault(const Fault& fault, const std::string& where) {
  return where + ": fault \"" + std::string(fault_injection::fault_kind_name(fault.kind)) +
         (fault.kind == FaultKind::kClusterOutage ? "\" with \"mode\": \"network\"" : "\"") +
         " is not applied to real processes yet (real faults: crash, pause, kill_actor, isolate, partition, "
         "partition_one_way, link_delay, link_loss, link_duplicate, cluster_outage with \"mode\": \"power\"; "
         "fix: run it in sim, or drop the fault)";
}

Duration scaled(Duration d, double time_scale) {
  return Duration(static_cast<int64_t>(std::llround(static_cast<double>(d.count()) / time_scale)));
}

// One real run: the processes, the driver, the service and the schedule, all owned here.
class RealRun {
 public:
  RealRun(const Scenario& scenario, const RealRunOptions& options, const AutoMLServiceConfig& config, uint64_t seed)
      : scenario_(scenario), options_(options), config_(config), seed_(seed),
        record_(new_run_record(scenario, seed)) {}

  Result<RunResult> run() {
    // Plan the faults exactly as a sim run of this seed would, on a throwaway world with the topology.
    sim::World plan_world;
    add_topology(scenario_, plan_world.network());
    add_nodes(scenario_, plan_world, {});
    const Random root(seed_);
    const fault_injection::Schedule schedule = fault_schedule(scenario_, plan_world.network(), root, record_);
    service_random_ = std::make_unique<Random>(root.fork("service", 0));

    if (Status started = start_cluster(); !started.ok()) return started.error();
    const auto wall_start = std::chrono::steady_clock::now();
    start_ = loop().now();

    for (const ScheduledStep& step : schedule.steps()) {
      at(step.at, [this, step] { apply(step); });
    }
    if (scenario_.liveness) {
      at(scenario_.liveness->heal_at, [this] {
        heal_all();
        record_.heal_at = scenario_now();
        announce("liveness: heal everything");
      });
    }
    for (size_t s = 0; s < scenario_.workload.size(); ++s) {
      const WorkloadStream& stream = scenario_.workload[s];
      std::vector<NodeId> candidates;
      for (NodeId client : config_.clients) {
        if (stream.clusters.empty() || std::find(stream.clusters.begin(), stream.clusters.end(),
                                                 scenario_.index.cluster_of(client)) != stream.clusters.end()) {
          candidates.push_back(client);
        }
      }
      streams_.push_back(std::make_unique<StreamDriver>(
          stream, scenario_.duration, std::move(candidates), root.fork("workload", s),
          [this](NodeId client) { issue(client); },
          [this] { record_.requests.not_issued(0, TimePoint(scenario_now())); }));
      streams_.back()->start(StreamHost{
          [this](Duration when, std::function<void()> action) { at(when, std::move(action)); },
          [this] { return scenario_now(); },
          [this](NodeId node) { return !down_.contains(node) && !paused_.contains(node); },
          [this](NodeId node) { return scenario_.index.cluster_of(node); }});
    }

    // Run through the scenario, then drain until every request has ended (at most the drain: a real run has no
    // reason to wait out an idle drain as a sim run does).
    const Duration total = scenario_.duration + scenario_.drain();
    for (int slice = 1; slice <= kProgressSlices; ++slice) {
      const TimePoint until = start_ + scaled(total * slice / kProgressSlices, options_.time_scale);
      loop().run_until([this, until] { return loop().now() >= until || drained(); },
                       until - loop().now() + std::chrono::seconds(1));
      if (options_.progress) options_.progress(scenario_now(), total);
      if (drained()) break;
    }
    record_.drain = std::max(Duration::zero(), scenario_now() - scenario_.duration);

    RunResult result;
    result.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    finish();
    result.record = std::move(record_);
    result.checks = reports::evaluate_checks(result.record, scenario_.expect);
    result.passed = reports::all_hold(result.checks);
    return result;
  }

  ~RealRun() {
    driver_scope_.cancel_all();
    automl_.reset();
    driver_.reset();
    if (processes_) processes_->stop_all();
  }

 private:
  real::EventLoop& loop() { return driver_->loop(); }
  Duration scenario_now() const {
    const Duration real = driver_->loop().now() - start_;
    return Duration(static_cast<int64_t>(static_cast<double>(real.count()) * options_.time_scale));
  }
  void at(Duration when, std::function<void()> action) {
    loop().run_at(start_ + scaled(when, options_.time_scale), std::move(action));
  }
  void announce(const std::string& what) {
    if (options_.on_step) options_.on_step(scenario_now(), what);
  }
  std::optional<real::TlsFiles> admin_tls() const {
    const auto& tls = processes_->cluster().tls;
    if (!tls) return std::nullopt;
    return real::TlsFiles{tls->cert_path, tls->key_path, tls->ca_path};
  }
  bool drained() const { return scenario_now() >= scenario_.duration && jobs_ == jobs_ended_; }
  bool is_member(NodeId node) const { return processes_->cluster().find(node) != nullptr; }

  Status start_cluster() {
    real::ClusterFile file;
    file.storage = "sqlite:" + options_.work_dir + "/state";
    const Duration heartbeat = std::max(kMinHeartbeat, scaled(config_.heartbeat_period, options_.time_scale));
    file.heartbeat_period_ms = static_cast<uint32_t>(std::max<int64_t>(1, heartbeat.count() / 1'000'000));
    file.heartbeat_miss_limit = static_cast<uint32_t>(config_.heartbeat_miss_limit);
    std::vector<NodeId> members{config_.head};
    members.insert(members.end(), config_.workers.begin(), config_.workers.end());
    for (NodeId node : members) {
      real::ClusterMember member;
      member.id = node;
      member.name = scenario_.index.node_name(node);
      std::replace(member.name.begin(), member.name.end(), '/', '-');
      member.role = node == config_.head ? real::MemberRole::kHead : real::MemberRole::kNode;
      member.host = "127.0.0.1";
      Result<uint16_t> port = real::free_loopback_port();
      if (!port.ok()) return port.error();
      member.port = port.value();
      member.resources = config_.resources.at(node);
      member.labels = {{"cluster", scenario_.index.cluster_name(scenario_.index.cluster_of(node))},
                       {"node", scenario_.index.node_name(node)}};
      file.members.push_back(std::move(member));
    }
    real::ClusterMember driver;
    driver.id = kDriverId;
    driver.name = "driver";
    driver.role = real::MemberRole::kDriver;
    driver.host = "127.0.0.1";
    Result<uint16_t> port = real::free_loopback_port();
    if (!port.ok()) return port.error();
    driver.port = port.value();
    file.members.push_back(driver);
    Result<real::ClusterFile> checked = real::ClusterFile::parse(file.to_json());
    if (!checked.ok()) return checked.error();

    processes_ = std::make_unique<real::LocalCluster>(checked.value(), options_.tandem_binary, options_.work_dir);
    if (Status started = processes_->start_all(); !started.ok()) return started;
    driver_ = std::make_unique<real::MemberProcess>(checked.value(), kDriverId);
    if (Status started = driver_->start(); !started.ok()) return started;
    if (Status formed = driver_->wait_for_nodes(members.size(), std::chrono::seconds(30)); !formed.ok()) {
      return formed;
    }
    // The service, with every time of its configuration compressed like the scenario's.
    automl::AutoMLConfig app = config_.app;
    app.worker_timeout = scaled(app.worker_timeout, options_.time_scale);
    app.supervise_period = std::max(kMinHeartbeat, scaled(app.supervise_period, options_.time_scale));
    app.candidate_retry_delay = scaled(app.candidate_retry_delay, options_.time_scale);
    app.checkpoint_retry = scaled(app.checkpoint_retry, options_.time_scale);
    Result<runtime::ActorHandle> proxy =
        driver_->await(automl::deploy(driver_->client(), app), std::chrono::seconds(30));
    if (!proxy.ok()) {
      return make_error(Errc::kUnavailable, "deploying the AutoML service failed: " + proxy.error().to_string());
    }
    job_timeout_real_ = scaled(config_.job_timeout, options_.time_scale);
    automl_ = std::make_unique<automl::AutoMLClient>(driver_->client(), app.proxy_name,
                                                     std::min<Duration>(job_timeout_real_, std::chrono::seconds(30)));
    return {};
  }

  void issue(NodeId client) {
    automl::JobSpec spec = draw_automl_job(config_, ++jobs_, *service_random_);
    spec.cost.median_ms /= options_.time_scale;
    const auto id = record_.requests.begin(0, client, TimePoint(scenario_now()), config_.job_timeout);
    driver_scope_.spawn(run_job(id, std::move(spec)));
  }

  Task<void> run_job(reports::RequestLog::RequestId id, automl::JobSpec spec) {
    const TimePoint deadline = loop().now() + job_timeout_real_;
    Errc code = Errc::kOk;
    Result<std::string> job = co_await automl_->submit(spec);
    if (!job.ok()) {
      code = job.code();
    } else {
      const Duration left = std::max<Duration>(deadline - loop().now(), Duration::zero());
      const Duration poll = std::max(kMinHeartbeat, scaled(std::chrono::milliseconds(250), options_.time_scale));
      Result<automl::JobStatus> status = co_await automl_->wait(job.value(), left, poll);
      if (!status.ok()) {
        code = status.code();
      } else if (status.value().state != automl::JobState::kSucceeded) {
        code = Errc::kFailedPrecondition;
      } else {
        code = status.value().best && *status.value().best == automl::true_best(spec) ? Errc::kOk : Errc::kInternal;
      }
    }
    record_.requests.end(id, code, TimePoint(scenario_now()), 1);
    ++outcomes_[code];
    ++jobs_ended_;
  }

  // --- Faults ---------------------------------------------------------------------------------------------
  struct Active {
    Fault fault;
    size_t span = 0;  // index in record_.faults
  };

  void apply(const ScheduledStep& step) {
    switch (step.kind) {
      case ScheduledStep::Kind::kFault: {
        const uint64_t id = ++fault_ids_;
        reports::FaultSpan span;
        span.id = id;
        span.kind = std::string(fault_injection::fault_kind_name(step.fault.kind));
        span.label = step.fault.label;
        span.target = step.fault.target;
        span.source = step.source;
        span.start_ns = to_ns(scenario_now());
        record_.faults.push_back(span);
        inject(id, step.fault, record_.faults.back());
        if (step.fault.kind == FaultKind::kActorKill) break;
        active_[id] = Active{step.fault, record_.faults.size() - 1};
        announce(step.fault.label);
        if (step.duration) at(step.at + *step.duration, [this, id] { heal(id); });
        break;
      }
      case ScheduledStep::Kind::kRestart:
        for (NodeId node : step.nodes) bring_up(node);
        announce("restart");
        break;
      case ScheduledStep::Kind::kResume:
        for (NodeId node : step.nodes) resume(node);
        announce("resume");
        break;
      case ScheduledStep::Kind::kHealAll:
        heal_all();
        announce("heal everything");
        break;
      case ScheduledStep::Kind::kNote:
        record_.notes.push_back(reports::TraceEntry{to_ns(scenario_now()), kNoNode, "note", step.text});
        announce(step.text);
        break;
    }
  }

  std::vector<NodeId> fault_nodes(const Fault& fault) const {
    if (fault.kind == FaultKind::kClusterOutage) return scenario_.index.nodes_in_cluster(fault.cluster);
    return fault.nodes;
  }

  void inject(uint64_t id, const Fault& fault, reports::FaultSpan& span) {
    switch (fault.kind) {
      case FaultKind::kCrash:
      case FaultKind::kClusterOutage:
        for (NodeId node : fault_nodes(fault)) take_down(node);
        break;
      case FaultKind::kPause:
        for (NodeId node : fault.nodes) pause(node);
        break;
      case FaultKind::kIsolate:
      case FaultKind::kPartition:
      case FaultKind::kPartitionOneWay:
        filter(fault, true);
        break;
      case FaultKind::kLinkDelay:
      case FaultKind::kLinkLoss:
      case FaultKind::kLinkDuplicate:
        link_fault(id, fault, true);
        break;
      case FaultKind::kActorKill:  // instantaneous: the runtime restarts the actor
        span.end_ns = span.start_ns;
        driver_scope_.spawn(kill_actor(fault.actor, record_.faults.size() - 1));
        break;
      default:
        TANDEM_CHECK(false, "real_world_problems() refuses other faults before the run");
    }
  }

  void heal(uint64_t id) {
    auto it = active_.find(id);
    if (it == active_.end()) return;
    const Fault fault = it->second.fault;
    record_.faults[it->second.span].end_ns = to_ns(scenario_now());
    active_.erase(it);
    switch (fault.kind) {
      case FaultKind::kCrash:
      case FaultKind::kClusterOutage:
        for (NodeId node : fault_nodes(fault)) bring_up(node);
        break;
      case FaultKind::kPause:
        for (NodeId node : fault.nodes) resume(node);
        break;
      case FaultKind::kIsolate:
      case FaultKind::kPartition:
      case FaultKind::kPartitionOneWay:
        filter(fault, false);
        break;
      case FaultKind::kLinkDelay:
      case FaultKind::kLinkLoss:
      case FaultKind::kLinkDuplicate:
        link_fault(id, fault, false);
        break;
      default:
        break;
    }
    announce("heal " + fault.label);
  }

  void heal_all() {
    std::vector<uint64_t> ids;
    for (const auto& [id, active] : active_) ids.push_back(id);
    for (uint64_t id : ids) heal(id);
    for (NodeId node : std::vector<NodeId>(down_.begin(), down_.end())) bring_up(node);
    for (NodeId node : std::vector<NodeId>(paused_.begin(), paused_.end())) resume(node);
  }

  void take_down(NodeId node) {
    if (!down_.insert(node).second) return;
    paused_.erase(node);
    if (is_member(node)) processes_->kill9(node);
    node_span_[node] = record_.node_spans.size();
    record_.node_spans.push_back(reports::NodeSpan{node, "down", to_ns(scenario_now()), std::nullopt});
  }

  void bring_up(NodeId node) {
    if (down_.erase(node) == 0) return;
    if (is_member(node)) {
      if (Status started = processes_->start(node); !started.ok()) {
        record_.notes.push_back(reports::TraceEntry{to_ns(scenario_now()), node, "note",
                                                    "restart failed: " + started.error().message});
      }
    }
    close_span(node);
  }

  void pause(NodeId node) {
    if (down_.contains(node) || !paused_.insert(node).second) return;
    if (is_member(node)) processes_->pause(node);
    node_span_[node] = record_.node_spans.size();
    record_.node_spans.push_back(reports::NodeSpan{node, "paused", to_ns(scenario_now()), std::nullopt});
  }

  void resume(NodeId node) {
    if (paused_.erase(node) == 0) return;
    if (is_member(node)) processes_->resume(node);
    close_span(node);
  }

  void close_span(NodeId node) {
    auto it = node_span_.find(node);
    if (it == node_span_.end()) return;
    record_.node_spans[it->second].end_ns = to_ns(scenario_now());
    node_span_.erase(it);
  }

  // Network faults through each member's transport filter (its Admin service): `on` cuts, !on heals. Only
  // members have a transport of their own; client nodes share the driver's, so a cut names members only. A
  // member that is down or paused keeps no filter (a restarted process starts with none).
  void filter(const Fault& fault, bool on) {
    std::vector<std::pair<NodeId, NodeId>> pairs;  // (at, peer): drop at `at` what goes to / comes from `peer`
    std::vector<NodeId> everyone;
    for (const real::ClusterMember& member : processes_->cluster().members) everyone.push_back(member.id);
    bool both_ways = true;
    if (fault.kind == FaultKind::kIsolate) {
      for (NodeId node : fault.nodes) {
        for (NodeId peer : everyone) {
          if (peer != node) pairs.emplace_back(node, peer);
        }
      }
    } else {
      both_ways = fault.kind == FaultKind::kPartition;
      for (NodeId from : fault.nodes) {
        for (NodeId to : fault.other) pairs.emplace_back(from, to);
      }
    }
    for (const auto& [at, peer] : pairs) {
      const real::ClusterMember* member = processes_->cluster().find(at);
      if (member == nullptr || member->role == real::MemberRole::kDriver || down_.contains(at) ||
          paused_.contains(at)) {
        continue;
      }
      real::AdminClient admin(member->endpoint(), processes_->cluster().auth_token, admin_tls());
      const Status set = admin.set_filter(peer, on, on && both_ways, std::chrono::seconds(1));
      if (!set.ok()) {
        record_.notes.push_back(reports::TraceEntry{to_ns(scenario_now()), at, "note",
                                                    "filter on " + member->name + " failed: " + set.error().message});
      }
    }
  }

  // Link faults through the sending member's transport (its Admin service): what `from` sends to `to` is
  // delayed, lost or duplicated. Faults on one pair combine as the sim's injector combines them (delays add,
  // loss and duplicate probabilities compound), and healing one leaves the others. Times are scaled like every
  // scenario time. As for filters, only members' links can be hit, and a down or paused member is skipped.
  void link_fault(uint64_t id, const Fault& fault, bool on) {
    for (NodeId from : fault.nodes) {
      for (NodeId to : fault.other) {
        if (from == to) continue;
        std::map<uint64_t, Fault>& on_pair = link_faults_[{from, to}];
        if (on) {
          on_pair[id] = fault;
        } else {
          on_pair.erase(id);
        }
        real::LinkFaults combined;
        double delivered = 1;
        double single = 1;
        Duration delay{};
        for (const auto& [fault_id, each] : on_pair) {
          if (each.kind == FaultKind::kLinkDelay) delay += each.delay;
          if (each.kind == FaultKind::kLinkLoss) delivered *= 1 - each.probability;
          if (each.kind == FaultKind::kLinkDuplicate) single *= 1 - each.probability;
        }
        if (on_pair.empty()) link_faults_.erase({from, to});
        const int64_t delay_ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(scaled(delay, options_.time_scale)).count();
        combined.delay_ms = static_cast<uint32_t>(std::clamp<int64_t>(delay_ms, 0, real::kMaxLinkDelayMs));
        combined.loss_probability = std::clamp(1 - delivered, 0.0, 1.0);
        combined.duplicate_probability = std::clamp(1 - single, 0.0, 1.0);
        combined.seed = Random(seed_).fork("real-link-faults", id).next_u64();
        const real::ClusterMember* member = processes_->cluster().find(from);
        if (member == nullptr || member->role == real::MemberRole::kDriver || down_.contains(from) ||
            paused_.contains(from) || !processes_->cluster().find(to)) {
          continue;
        }
        real::AdminClient admin(member->endpoint(), processes_->cluster().auth_token, admin_tls());
        const Status set = admin.set_link_faults(to, combined, std::chrono::seconds(1));
        if (!set.ok()) {
          record_.notes.push_back(reports::TraceEntry{to_ns(scenario_now()), from, "note",
                                                      "link faults on " + member->name + " failed: " +
                                                          set.error().message});
        }
      }
    }
  }

  Task<void> kill_actor(std::string name, size_t span) {
    Result<std::vector<runtime::ActorInfo>> actors = co_await driver_->client().list_actors(false, false);
    if (!actors.ok()) {
      record_.faults[span].skipped = true;
      record_.faults[span].skip_reason = "listing actors failed: " + actors.error().to_string();
      co_return;
    }
    for (const runtime::ActorInfo& info : actors.value()) {
      if (info.name == name && info.state != runtime::ActorState::kDead) {
        (void)co_await driver_->client().kill_actor(info.id, /*no_restart=*/false);
        co_return;
      }
    }
    record_.faults[span].skipped = true;
    record_.faults[span].skip_reason = "no live actor named \"" + name + "\"";
  }

  // --- End of run -----------------------------------------------------------------------------------------
  void finish() {
    heal_all();
    record_.requests.settle(TimePoint(scenario_now()), [this](NodeId client, int64_t from, int64_t to) {
      return record_.node_impaired(client, from, to);
    });
    record_.world_whole_at_end = true;
    record_.world_state_at_end = "real world: " + std::to_string(processes_->cluster().members.size() - 1) +
                                 " processes; every fault healed at the end of the run";
    const std::string prefix = "automl." + config_.name + ".";
    record_.figures[prefix + "jobs_submitted"] = static_cast<double>(jobs_);
    record_.figures[prefix + "jobs_best_found"] = static_cast<double>(outcomes_[Errc::kOk]);
    record_.figures[prefix + "jobs_wrong_best"] = static_cast<double>(outcomes_[Errc::kInternal]);
    record_.figures[prefix + "jobs_failed"] = static_cast<double>(outcomes_[Errc::kFailedPrecondition]);
    // What the members' transports saw, asked of each through its Admin service.
    uint64_t dropped_by_filter = 0;
    uint64_t delivered = 0;
    uint64_t delayed = 0;
    uint64_t lost = 0;
    uint64_t duplicated = 0;
    for (const real::ClusterMember& member : processes_->cluster().members) {
      if (member.role == real::MemberRole::kDriver || !processes_->running(member.id)) continue;
      real::AdminClient admin(member.endpoint(), processes_->cluster().auth_token, admin_tls());
      Result<real::TransportStats> stats = admin.stats(std::chrono::seconds(1));
      if (!stats.ok()) continue;
      dropped_by_filter += stats.value().dropped_by_filter;
      delivered += stats.value().delivered;
      delayed += stats.value().delayed_by_link_fault;
      lost += stats.value().lost_by_link_fault;
      duplicated += stats.value().duplicated_by_link_fault;
    }
    record_.figures["real.messages_delivered"] = static_cast<double>(delivered);
    record_.figures["real.messages_dropped_by_filter"] = static_cast<double>(dropped_by_filter);
    record_.figures["real.messages_delayed_by_link_fault"] = static_cast<double>(delayed);
    record_.figures["real.messages_lost_by_link_fault"] = static_cast<double>(lost);
    record_.figures["real.messages_duplicated_by_link_fault"] = static_cast<double>(duplicated);
    record_.figures["real.time_scale"] = options_.time_scale;
    record_.figures["real.processes"] = static_cast<double>(processes_->cluster().members.size() - 1);
    record_.figures["nodes"] = static_cast<double>(scenario_.index.node_count());
    record_.trace_hash = 0;  // a real run has no replayable trace
  }

  const Scenario& scenario_;
  const RealRunOptions& options_;
  const AutoMLServiceConfig& config_;
  uint64_t seed_;
  reports::RunRecord record_;
  std::unique_ptr<Random> service_random_;
  std::unique_ptr<real::LocalCluster> processes_;
  std::unique_ptr<real::MemberProcess> driver_;
  std::unique_ptr<automl::AutoMLClient> automl_;
  std::vector<std::unique_ptr<StreamDriver>> streams_;
  TimePoint start_{};
  Duration job_timeout_real_{};
  uint64_t jobs_ = 0;
  uint64_t jobs_ended_ = 0;
  std::map<Errc, uint64_t> outcomes_;
  uint64_t fault_ids_ = 0;
  std::map<uint64_t, Active> active_;
  std::set<NodeId> down_;
  std::set<NodeId> paused_;
  std::map<NodeId, size_t> node_span_;
  std::map<std::pair<NodeId, NodeId>, std::map<uint64_t, Fault>> link_faults_;  // (from, to) -> active faults
  Scope driver_scope_;  // last: its coroutines use everything above
};

}  // namespace

std::vector<std::string> real_world_problems(const Scenario& scenario) {
  std::vector<std::string> problems;
  size_t automl_services = 0;
  for (size_t i = 0; i < scenario.services.size(); ++i) {
    const ServiceSpec& service = *scenario.services[i];
    if (automl_config(service) != nullptr) {
      ++automl_services;
    } else {
      problems.push_back("/services/" + std::to_string(i) + ": service kind \"" + std::string(service.kind()) +
                         "\" has no real deployment yet (the real world runs \"automl\"; fix: run it in sim)");
    }
  }
  if (automl_services > 1) {
    problems.push_back("/services: the real world runs one service per scenario (fix: split the scenario)");
  }
  for (const EventSpec& event : scenario.events) {
    if (event.kind == EventSpec::Kind::kOperation) {
      problems.push_back(event.source + ": \"op\" events are not applied on the real world yet (fix: run it in sim)");
    } else if (event.kind == EventSpec::Kind::kFault && !real_fault(event.fault)) {
      problems.push_back(unsupported_fault(event.fault, event.source));
    }
  }
  if (scenario.nemesis) {
    for (size_t i = 0; i < scenario.nemesis->faults.size(); ++i) {
      const Fault& fault = scenario.nemesis->faults[i].parameters;
      if (!real_fault(fault)) problems.push_back(unsupported_fault(fault, "/nemesis/faults/" + std::to_string(i)));
    }
  }
  return problems;
}

Result<RunResult> run_scenario_real(const Scenario& scenario, const RealRunOptions& options) {
  if (!(options.time_scale > 0) || !std::isfinite(options.time_scale) || options.time_scale > 10'000) {
    return make_error(Errc::kInvalidArgument, "the time scale must be a number above 0 and at most 10000 (fix: "
                                              "e.g. --time-scale 10 runs 10 scenario seconds per real second)");
  }
  std::vector<std::string> problems = real_world_problems(scenario);
  if (!problems.empty()) {
    std::string message = scenario.name + " cannot run on the real world:";
    for (const std::string& problem : problems) message += "\n  " + problem;
    return make_error(Errc::kInvalidArgument, message);
  }
  const AutoMLServiceConfig* config = nullptr;
  for (const auto& service : scenario.services) config = automl_config(*service);
  TANDEM_CHECK(config != nullptr, "real_world_problems() allows only an automl service");
  RealRun run(scenario, options, *config, options.seed.value_or(scenario.seed));
  return run.run();
}

}  // namespace tandem::scenarios
