#include "scenarios/real/real_runner.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "core/apps/automl/service.h"
#include "fault_injection/fault.h"
#include "real_backend/local_cluster.h"
#include "real_backend/member_process.h"
#include "real_backend/net/admin_client.h"
#include "real_backend/net/event_loop.h"
#include "real_backend/netns.h"
#include "real_backend/real_catalog.h"
#include "scenarios/real/real_service.h"
#include "scenarios/services/automl.h"
#include "scenarios/services/fanout.h"
#include "scenarios/services/rpc.h"
#include "scenarios/services/serving.h"
#include "scenarios/workload.h"
#include "sim/world.h"

namespace tandem::scenarios {
namespace {

namespace automl = apps::automl;
using fault_injection::Fault;
using fault_injection::FaultKind;
using fault_injection::ScheduledStep;
using real_world::GroupPlan;
using real_world::kMinPeriod;
using real_world::RealHost;
using real_world::RealService;

constexpr NodeId kDriverId = 999'999;  // the highest id a cluster file accepts: never a topology node
constexpr int kProgressSlices = 100;
constexpr Duration kFormTimeout = std::chrono::seconds(30);  // every group's nodes registered with its head
constexpr const char* kNetnsTag = "tdmrun";  // namespaces "tdmrun<pid>-hub", "tdmrun<pid>-m<node id>"
constexpr uint16_t kNetnsPort = 7100;         // every member's port on its own namespace address
constexpr uint16_t kNetnsDriverPort = 7200;   // the driver's, on the hub's address
constexpr size_t kNetnsMaxMembers = 16;       // NetnsNetwork's limit
constexpr Duration kLagProbe = std::chrono::milliseconds(5);  // how often the driver's loop lateness is probed
constexpr Duration kAdminTimeout = std::chrono::seconds(1);    // one Admin call to a member, at the most
constexpr Duration kRestartTimeout = std::chrono::seconds(20);  // a restarted member's ready line, at the latest
constexpr Duration kRestartPoll = std::chrono::milliseconds(10);  // how often a restarting member's log is read

// Every fault kind has a real application today; no default, so a kind added to FaultKind must be decided here
// (-Wswitch) and is refused by unsupported_fault() until it is.
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
    case FaultKind::kLinkReorder:
    case FaultKind::kClog:
    case FaultKind::kSlowNode:
    case FaultKind::kClockSkew:
    case FaultKind::kStorageFailure:
    case FaultKind::kClusterOutage:
    case FaultKind::kWanCut:
      return true;
  }
  return false;
}

std::string unsupported_fault(const Fault& fault, const std::string& where) {
  return where + ": fault \"" + std::string(fault_injection::fault_kind_name(fault.kind)) +
         "\" is not applied to real processes yet (fix: run it in sim, or drop the fault)";
}

std::chrono::milliseconds round_ms(Duration d) { return std::chrono::round<std::chrono::milliseconds>(d); }

Duration scaled(Duration d, double time_scale) {
  return Duration(static_cast<int64_t>(std::llround(static_cast<double>(d.count()) / time_scale)));
}

// --- The automl kind on the real world: one runtime cluster (the service's head and workers). --------------
class RealAutoML final : public RealService {
 public:
  RealAutoML(const Scenario& scenario, const AutoMLServiceConfig& config, double time_scale, Random random)
      : scenario_(scenario), config_(config), time_scale_(time_scale), random_(std::move(random)) {}

  std::vector<GroupPlan> groups() const override {
    GroupPlan group;
    group.name = config_.name;
    group.head = config_.head;
    group.nodes = config_.workers;
    std::vector<NodeId> members{config_.head};
    members.insert(members.end(), config_.workers.begin(), config_.workers.end());
    for (NodeId node : members) {
      group.resources[node] = config_.resources.at(node);
      group.labels[node] = {{"cluster", scenario_.index.cluster_name(scenario_.index.cluster_of(node))},
                            {"node", scenario_.index.node_name(node)}};
    }
    return {group};
  }

  Status deploy(RealHost& host) override {
    host_ = &host;
    // The service, with every time of its configuration compressed like the scenario's.
    automl::AutoMLConfig app = config_.app;
    app.worker_timeout = scaled(app.worker_timeout, time_scale_);
    app.supervise_period = std::max(kMinPeriod, scaled(app.supervise_period, time_scale_));
    app.candidate_retry_delay = scaled(app.candidate_retry_delay, time_scale_);
    app.checkpoint_retry = scaled(app.checkpoint_retry, time_scale_);
    Result<runtime::ActorHandle> proxy =
        host.driver().await(automl::deploy(host.runtime(0), app), std::chrono::seconds(30));
    if (!proxy.ok()) {
      return make_error(Errc::kUnavailable, "deploying the AutoML service failed: " + proxy.error().to_string());
    }
    job_timeout_real_ = scaled(config_.job_timeout, time_scale_);
    automl_ = std::make_unique<automl::AutoMLClient>(host.runtime(0), app.proxy_name,
                                                     std::min<Duration>(job_timeout_real_, std::chrono::seconds(30)));
    return {};
  }

  void issue(NodeId client) override {
    automl::JobSpec spec = draw_automl_job(config_, ++jobs_, random_);
    spec.cost.median_ms /= time_scale_;
    const auto id = host_->record().requests.begin(0, client, TimePoint(host_->scenario_now()), config_.job_timeout);
    host_->scope().spawn(run_job(id, std::move(spec)));
  }

  void operate(const ServiceOperation&) override {
    TANDEM_CHECK(false, "real_world_problems() refuses operations on an automl service");
  }

  void kill_actor(const std::string& target, size_t span) override { host_->scope().spawn(kill(target, span)); }

  bool all_ended() const override { return jobs_ == jobs_ended_; }

  void finish(reports::RunRecord& record) override {
    const std::string prefix = "automl." + config_.name + ".";
    record.figures[prefix + "jobs_submitted"] = static_cast<double>(jobs_);
    record.figures[prefix + "jobs_best_found"] = static_cast<double>(outcomes_[Errc::kOk]);
    record.figures[prefix + "jobs_wrong_best"] = static_cast<double>(outcomes_[Errc::kInternal]);
    record.figures[prefix + "jobs_failed"] = static_cast<double>(outcomes_[Errc::kFailedPrecondition]);
  }

  void stop() override { automl_.reset(); }

  Duration heartbeat_period() const override { return config_.heartbeat_period; }
  uint32_t heartbeat_miss_limit() const override { return static_cast<uint32_t>(config_.heartbeat_miss_limit); }

 private:
  Task<void> run_job(reports::RequestLog::RequestId id, automl::JobSpec spec) {
    real::EventLoop& loop = host_->driver().loop();
    const TimePoint deadline = loop.now() + job_timeout_real_;
    Errc code = Errc::kOk;
    Result<std::string> job = co_await automl_->submit(spec);
    if (!job.ok()) {
      code = job.code();
    } else {
      const Duration left = std::max<Duration>(deadline - loop.now(), Duration::zero());
      const Duration poll = std::max(kMinPeriod, scaled(std::chrono::milliseconds(250), time_scale_));
      Result<automl::JobStatus> status = co_await automl_->wait(job.value(), left, poll);
      if (!status.ok()) {
        code = status.code();
      } else if (status.value().state != automl::JobState::kSucceeded) {
        code = Errc::kFailedPrecondition;
      } else {
        code = status.value().best && *status.value().best == automl::true_best(spec) ? Errc::kOk : Errc::kInternal;
      }
    }
    host_->record().requests.end(id, code, TimePoint(host_->scenario_now()), 1);
    ++outcomes_[code];
    ++jobs_ended_;
  }

  Task<void> kill(std::string name, size_t span) {
    Result<std::vector<runtime::ActorInfo>> actors = co_await host_->runtime(0).list_actors(false, false);
    if (!actors.ok()) {
      host_->record().faults[span].skipped = true;
      host_->record().faults[span].skip_reason = "listing actors failed: " + actors.error().to_string();
      co_return;
    }
    for (const runtime::ActorInfo& info : actors.value()) {
      if (info.name == name && info.state != runtime::ActorState::kDead) {
        (void)co_await host_->runtime(0).kill_actor(info.id, /*no_restart=*/false);
        co_return;
      }
    }
    host_->record().faults[span].skipped = true;
    host_->record().faults[span].skip_reason = "no live actor named \"" + name + "\"";
  }

  const Scenario& scenario_;
  const AutoMLServiceConfig& config_;
  double time_scale_;
  Random random_;
  RealHost* host_ = nullptr;
  std::unique_ptr<automl::AutoMLClient> automl_;
  Duration job_timeout_real_{};
  uint64_t jobs_ = 0;
  uint64_t jobs_ended_ = 0;
  std::map<Errc, uint64_t> outcomes_;
};

// --- The run ------------------------------------------------------------------------------------------------
// One real run: the processes, the driver, the service and the schedule, all owned here.
class RealRun final : public RealHost {
 public:
  RealRun(const Scenario& scenario, const RealRunOptions& options, uint64_t seed)
      : scenario_(scenario), options_(options), seed_(seed), record_(new_run_record(scenario, seed)) {}

  Result<RunResult> run() {
    // Plan the faults exactly as a sim run of this seed would, on a world with the topology; the same world's
    // network is then the model of the backbone's cluster and WAN cuts (backbone_cut()).
    plan_world_ = std::make_unique<sim::World>();
    add_topology(scenario_, plan_world_->network());
    add_nodes(scenario_, *plan_world_, {});
    const Random root(seed_);
    const fault_injection::Schedule schedule = fault_schedule(scenario_, plan_world_->network(), root, record_);
    const ServiceSpec& spec = *scenario_.services.front();
    if (std::optional<NodeId> keeper = real_world::real_serving_keeper(spec)) {
      // The nemesis' draws are known only now: none may hit the node the driver plays.
      for (const ScheduledStep& step : schedule.steps()) {
        if (step.kind == ScheduledStep::Kind::kFault && real_world::fault_hits(step.fault, scenario_, *keeper)) {
          return make_error(Errc::kInvalidArgument,
                            scenario_.name + " cannot run on the real world:\n  " +
                                real_world::keeper_fault_problem(step.source, step.fault, scenario_, *keeper));
        }
      }
      service_ = real_world::make_real_serving(spec, options_.time_scale);
    } else if (fanout_config(spec) != nullptr) {
      service_ = real_world::make_real_fanout(scenario_, spec, options_.time_scale);
    } else if (rpc_config(spec) != nullptr) {
      service_ = real_world::make_real_rpc(scenario_, spec);
    } else {
      const AutoMLServiceConfig* automl = automl_config(spec);
      TANDEM_CHECK(automl != nullptr, "real_world_problems() allows only automl, serving, fanout and rpc services");
      service_ = std::make_unique<RealAutoML>(scenario_, *automl, options_.time_scale, root.fork("service", 0));
    }

    if (Status started = start_cluster(); !started.ok()) return started.error();
    {
      std::lock_guard lock(admin_inbox_->mutex);
      admin_inbox_->loop = &loop();
    }
    const auto wall_start = std::chrono::steady_clock::now();
    // Scenario time starts once the service is deployed: a deploy blocks the loop for as long as it takes, and
    // had the clock run meanwhile, every event and arrival due by then would land at once right after it.
    // While it deploys the scenario clock reads 0 and what the service schedules waits for the start (at()).
    const TimePoint deploy_began = loop().now();
    if (Status deployed = service_->deploy(*this); !deployed.ok()) return deployed.error();
    start_clock(deploy_began);
    watch_lag(loop().now());
    note(kNoNode, "deployed in " + format_duration(round_ms(deploy_real_)) +
                      " (real time); scenario time starts now");

    // Operations first, then the faults and actions: same-instant steps keep this order (as in sim).
    for (const EventSpec& event : scenario_.events) {
      if (event.kind != EventSpec::Kind::kOperation) continue;
      std::shared_ptr<const ServiceOperation> operation = event.operation;
      at(event.at, [this, operation] {
        service_->operate(*operation);
        note(kNoNode, "operation: " + operation->description);
        announce(operation->description);
      });
    }
    for (const ScheduledStep& step : schedule.steps()) {
      at(step.at, [this, step] {
        timed(step.kind == ScheduledStep::Kind::kFault ? step.fault.label : step.source, [&] { apply(step); });
      });
    }
    if (scenario_.liveness) {
      at(scenario_.liveness->heal_at, [this] {
        heal_all();
        record_.heal_at = scenario_now();
        announce("liveness: heal everything");
      });
    }
    const std::vector<NodeId>& clients = spec.clients();
    for (size_t s = 0; s < scenario_.workload.size(); ++s) {
      const WorkloadStream& stream = scenario_.workload[s];
      std::vector<NodeId> candidates;
      for (NodeId client : clients) {
        if (stream.clusters.empty() || std::find(stream.clusters.begin(), stream.clusters.end(),
                                                 scenario_.index.cluster_of(client)) != stream.clusters.end()) {
          candidates.push_back(client);
        }
      }
      streams_.push_back(std::make_unique<StreamDriver>(
          stream, scenario_.duration, std::move(candidates), root.fork("workload", s),
          [this](NodeId client) { service_->issue(client); },
          [this] { record_.requests.not_issued(0, TimePoint(scenario_now())); }));
      streams_.back()->start(StreamHost{
          [this](Duration when, std::function<void()> action) { at(when, std::move(action)); },
          [this] { return scenario_now(); },
          [this](NodeId node) { return up(node); },
          [this](NodeId node) { return scenario_.index.cluster_of(node); }});
    }

    // Run through the scenario, then drain until every request has ended (at most the drain: a real run has no
    // reason to wait out an idle drain as a sim run does).
    const Duration total = scenario_.duration + scenario_.drain();
    for (int slice = 1; slice <= kProgressSlices; ++slice) {
      const TimePoint until = *start_ + scaled(total * slice / kProgressSlices);
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

  ~RealRun() override {
    {
      std::lock_guard lock(admin_inbox_->mutex);  // Admin calls still in flight post nothing from now on
      admin_inbox_->loop = nullptr;
    }
    stop_routes();  // before netns_ goes
    driver_scope_.cancel_all();
    if (service_) service_->stop();
    group_clients_.clear();
    driver_.reset();
    for (Group& group : groups_) {
      if (group.processes) group.processes->stop_all();
    }
  }

  // --- RealHost ---------------------------------------------------------------------------------------------
  real::MemberProcess& driver() override { return *driver_; }
  runtime::RuntimeClient& runtime(size_t group) override {
    return group == 0 ? driver_->client() : *group_clients_.at(group);
  }
  Scope& scope() override { return driver_scope_; }
  Duration scaled(Duration scenario) const override { return tandem::scenarios::scaled(scenario, options_.time_scale); }
  Duration scenario_now() const override {
    if (!start_) return Duration::zero();  // still deploying
    const Duration real = driver_->loop().now() - *start_;
    return Duration(static_cast<int64_t>(static_cast<double>(real.count()) * options_.time_scale));
  }
  void at(Duration when, std::function<void()> action) override {
    if (!start_) {
      before_start_.emplace_back(when, std::move(action));
      return;
    }
    loop().run_at(*start_ + scaled(when), std::move(action));
  }
  reports::RunRecord& record() override { return record_; }
  const Scenario& scenario() const override { return scenario_; }
  bool up(NodeId node) const override { return !down_.contains(node) && !paused_.contains(node); }
  bool reachable(NodeId from, NodeId to) const override {
    if (!up(from) || !up(to)) return false;
    auto in = [](const std::vector<NodeId>& nodes, NodeId node) {
      return std::find(nodes.begin(), nodes.end(), node) != nodes.end();
    };
    for (const auto& [id, active] : active_) {
      const Fault& fault = active.fault;
      if (fault.kind == FaultKind::kIsolate && from != to && (in(fault.nodes, from) || in(fault.nodes, to))) {
        return false;
      }
      if ((fault.kind == FaultKind::kPartition || fault.kind == FaultKind::kPartitionOneWay) &&
          in(fault.nodes, from) && in(fault.other, to)) {
        return false;
      }
      if (fault.kind == FaultKind::kPartition && in(fault.nodes, to) && in(fault.other, from)) return false;
    }
    const sim::Network& backbone = plan_world_->network();
    if (from < backbone.node_count() && to < backbone.node_count() && !backbone.reachable(from, to)) return false;
    return true;
  }
  void note(NodeId node, const std::string& text) override {
    record_.notes.push_back(reports::TraceEntry{to_ns(scenario_now()), node, "note", text});
  }
  void announce(const std::string& what) override {
    if (options_.on_step) options_.on_step(scenario_now(), what);
  }

 private:
  // One runtime cluster of the run: its plan, its cluster file's processes, and (but for group 0, whose head
  // the driver's own client talks to) a RuntimeClient of the driver for it.
  struct Group {
    GroupPlan plan;
    std::unique_ptr<real::LocalCluster> processes;
  };

  real::EventLoop& loop() { return driver_->loop(); }

  // Starts the scenario clock (now is scenario time 0) and schedules what was asked for before it.
  void start_clock(TimePoint deploy_began) {
    start_ = loop().now();
    deploy_real_ = *start_ - deploy_began;
    record_.figures["real.deploy_seconds"] = std::chrono::duration<double>(deploy_real_).count();
    for (auto& [when, action] : before_start_) loop().run_at(*start_ + scaled(when), std::move(action));
    before_start_.clear();
  }

  // How late the driver's loop runs a timer, probed every kLagProbe: the figure real.driver_loop_max_lag_ms. The
  // loop runs every request's deadline, so a stall in it (a blocking call) makes requests end late though
  // nothing in the system was slow.
  void watch_lag(TimePoint due) {
    const Duration lag = loop().now() - due;
    if (lag > lag_max_) {
      lag_max_ = lag;
      lag_max_at_ = scenario_now();
    }
    const TimePoint next = loop().now() + kLagProbe;
    loop().run_at(next, [this, next] { watch_lag(next); });
  }
  bool drained() const { return scenario_now() >= scenario_.duration && service_->all_ended(); }

  // --- Admin calls, off the loop ------------------------------------------------------------------------------
  // The driver's loop runs every request's deadline, so no Admin call (filters, link faults, skews, failing
  // stores) may block it: each goes out in the client's async form and its outcome comes back to the loop as a
  // posted function. Calls to one member go one at a time, in the order made (a cut and its heal must not
  // cross); calls to different members overlap. Once the run ends (the inbox closed), outcomes are dropped.
  struct AdminInbox {
    std::mutex mutex;
    real::EventLoop* loop = nullptr;  // nullptr once the run is ending
  };
  // A call starts one async Admin call on `admin`; its completion hands `reply` what to run on the loop.
  using AdminReply = std::function<void(std::function<void()> on_loop)>;
  using AdminCall = std::function<void(real::AdminClient& admin, AdminReply reply)>;

  void admin_call(NodeId node, AdminCall call) {
    std::deque<AdminCall>& queue = admin_queues_[node];
    queue.push_back(std::move(call));
    if (queue.size() == 1) start_admin_call(node);
  }

  void start_admin_call(NodeId node) {
    // A channel per call: a cached one to a member killed and restarted since would be in reconnect backoff.
    real::AdminClient admin(member(node)->endpoint(), auth_token(), admin_tls());
    ++admin_in_flight_;
    admin_queues_.at(node).front()(admin, [this, node, inbox = admin_inbox_](std::function<void()> on_loop) {
      std::lock_guard lock(inbox->mutex);  // on a gRPC thread
      if (inbox->loop == nullptr) return;
      inbox->loop->post([this, node, on_loop = std::move(on_loop)] {
        on_loop();
        --admin_in_flight_;
        std::deque<AdminCall>& queue = admin_queues_.at(node);
        queue.pop_front();
        if (!queue.empty()) start_admin_call(node);
      });
    });
  }

  // A member went down or stopped: the calls queued behind the one in flight are dropped (a restart or resume
  // sends what the faults say then; filters_held_ already counted any filter among them as set, so the member's
  // filters are marked unsure and a resume sends them all).
  void drop_admin_calls(NodeId node) {
    auto it = admin_queues_.find(node);
    if (it != admin_queues_.end() && it->second.size() > 1) {
      it->second.resize(1);
      filters_unsure_.insert(node);
    }
  }
  // The group that runs `node`, or nullptr (a client node, or a node the service does not run on).
  Group* group_of(NodeId node) {
    for (Group& group : groups_) {
      if (group.plan.head == node ||
          std::find(group.plan.nodes.begin(), group.plan.nodes.end(), node) != group.plan.nodes.end()) {
        return &group;
      }
    }
    return nullptr;
  }
  bool is_member(NodeId node) { return group_of(node) != nullptr; }
  const real::ClusterMember* member(NodeId node) {
    Group* group = group_of(node);
    return group == nullptr ? nullptr : group->processes->cluster().find(node);
  }
  std::optional<real::TlsFiles> admin_tls() const {
    const auto& tls = groups_.front().processes->cluster().tls;
    if (!tls) return std::nullopt;
    return real::TlsFiles{tls->cert_path, tls->key_path, tls->ca_path};
  }
  std::vector<NodeId> all_members() const {
    std::vector<NodeId> everyone;
    for (const Group& group : groups_) {
      everyone.push_back(group.plan.head);
      everyone.insert(everyone.end(), group.plan.nodes.begin(), group.plan.nodes.end());
    }
    return everyone;
  }

  // Every group gets a cluster file of its own — its head and nodes, every other group's processes as peers,
  // and the driver — and its own directory (cluster.json, logs); all keep their state in work_dir/state.
  Status start_cluster() {
    for (GroupPlan& plan : service_->groups()) groups_.push_back(Group{std::move(plan), nullptr});
    if (options_.netns) {
      if (Status entered = enter_namespaces(); !entered.ok()) return entered;
    }
    std::map<NodeId, uint16_t> ports;
    std::map<NodeId, std::string> hosts;
    for (NodeId node : all_members()) {
      if (netns_) {
        ports[node] = kNetnsPort;
        hosts[node] = netns_->address_of(netns_member(node));
        continue;
      }
      Result<uint16_t> port = real::free_loopback_port();
      if (!port.ok()) return port.error();
      ports[node] = port.value();
      hosts[node] = "127.0.0.1";
    }
    Result<uint16_t> driver_port = netns_ ? Result<uint16_t>(kNetnsDriverPort) : real::free_loopback_port();
    if (!driver_port.ok()) return driver_port.error();
    const Duration heartbeat = std::max(kMinPeriod, scaled(service_->heartbeat_period()));
    std::error_code ignored;
    std::filesystem::create_directories(options_.work_dir + "/state", ignored);

    std::vector<real::ClusterFile> files;
    for (size_t g = 0; g < groups_.size(); ++g) {
      real::ClusterFile file;
      file.storage = "sqlite:" + options_.work_dir + "/state";
      file.heartbeat_period_ms = static_cast<uint32_t>(std::max<int64_t>(1, heartbeat.count() / 1'000'000));
      file.heartbeat_miss_limit = service_->heartbeat_miss_limit();
      if (netns_) {  // members listen on their namespace addresses, not loopback
        file.allow_remote = true;
        file.auth_token = netns_token_;
      }
      for (size_t h = 0; h < groups_.size(); ++h) {
        const GroupPlan& plan = groups_[h].plan;
        std::vector<NodeId> members{plan.head};
        members.insert(members.end(), plan.nodes.begin(), plan.nodes.end());
        for (NodeId node : members) {
          real::ClusterMember member;
          member.id = node;
          const auto named = plan.names.find(node);
          member.name = named != plan.names.end() ? named->second : scenario_.index.node_name(node);
          std::replace(member.name.begin(), member.name.end(), '/', '-');
          member.role = h != g ? real::MemberRole::kPeer
                               : (node == plan.head ? real::MemberRole::kHead : real::MemberRole::kNode);
          member.host = hosts.at(node);
          member.port = ports.at(node);
          if (h == g) {
            if (auto it = plan.resources.find(node); it != plan.resources.end()) member.resources = it->second;
            if (auto it = plan.labels.find(node); it != plan.labels.end()) member.labels = it->second;
          }
          file.members.push_back(std::move(member));
        }
      }
      real::ClusterMember driver;
      driver.id = kDriverId;
      driver.name = "driver";
      driver.role = real::MemberRole::kDriver;
      driver.host = netns_ ? netns_->hub_address() : "127.0.0.1";
      driver.port = driver_port.value();
      file.members.push_back(driver);
      Result<real::ClusterFile> checked = real::ClusterFile::parse(file.to_json());
      if (!checked.ok()) return checked.error();
      files.push_back(std::move(checked).value());
    }
    for (size_t g = 0; g < groups_.size(); ++g) {
      const std::string dir = options_.work_dir + "/" + groups_[g].plan.name;
      std::filesystem::create_directories(dir, ignored);
      groups_[g].processes = std::make_unique<real::LocalCluster>(
          files[g], netns_ ? netns_launcher_ : options_.tandem_binary, dir,
          netns_ ? "info" : "warning");  // in namespaces, members log their account of the cuts ("node 3 is dead")
      if (Status started = groups_[g].processes->start_all(); !started.ok()) return started;
    }
    driver_ = std::make_unique<real::MemberProcess>(files.front(), kDriverId);
    if (Status started = driver_->start(); !started.ok()) return started;
    group_clients_.resize(groups_.size());
    for (size_t g = 1; g < groups_.size(); ++g) {
      runtime::ClientOptions client;
      client.control_store = Address{groups_[g].plan.head, runtime::kControlStorePort};
      client.catalog = &real::real_catalog();
      group_clients_[g] = std::make_unique<runtime::RuntimeClient>(driver_->env(), client);
    }
    for (size_t g = 0; g < groups_.size(); ++g) {
      if (Status formed = wait_for_group(g); !formed.ok()) return formed;
    }
    return {};
  }

  // --- Network namespaces (options_.netns) -----------------------------------------------------------------
  static std::string netns_member(NodeId node) { return "m" + std::to_string(node); }

  // Makes a namespace per member and the hub, moves this process into the hub (it must have one thread: a
  // thread made earlier would stay in the root namespace, and gRPC's threads make sockets), writes the launcher
  // that starts each member under `ip netns exec` and draws the run's token.
  Status enter_namespaces() {
    const std::vector<NodeId> members = all_members();
    if (members.size() > kNetnsMaxMembers) {
      return make_error(Errc::kInvalidArgument,
                        "--netns: " + std::to_string(members.size()) + " member processes, at most " +
                            std::to_string(kNetnsMaxMembers) + " get a network namespace (fix: a smaller topology, "
                            "or run without --netns)");
    }
    real::NetnsNetwork::remove_stale(kNetnsTag);  // left by a run killed before it could delete them
    std::vector<std::string> names;
    for (NodeId node : members) names.push_back(netns_member(node));
    Result<std::unique_ptr<real::NetnsNetwork>> created = real::NetnsNetwork::create(kNetnsTag, names);
    if (!created.ok()) {
      const std::string without =
          " (fix: run as root on a host where `ip netns add` works, or run without --netns: isolate and "
          "partitions then go through each member's transport filter, on 127.0.0.1)";
      if (created.error().code == Errc::kUnavailable) {
        return make_error(Errc::kUnavailable, "--netns: cannot make network namespaces: " +
                                                  created.error().message + without);
      }
      return make_error(Errc::kInternal, "--netns: building the network namespaces failed: " +
                                             created.error().message + without);
    }
    netns_ = std::move(created).value();
    size_t threads = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) ++threads;
    if (threads != 1) {
      return make_error(Errc::kFailedPrecondition,
                        "--netns: the driver must join the hub namespace before it makes any thread, but this "
                        "process already runs " + std::to_string(threads) +
                            " threads (fix: start the run from a fresh process: tandem run --world real --netns)");
    }
    const std::string hub = "/run/netns/" + netns_->hub_namespace();
    const int fd = ::open(hub.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) {
      const std::string why = std::strerror(errno);
      if (fd >= 0) ::close(fd);
      return make_error(Errc::kUnavailable, "--netns: cannot join " + hub + ": " + why);
    }
    ::close(fd);
    // The launcher LocalCluster runs in place of `tandem`: `tandem ROLE --cluster FILE --id N ...` becomes
    // `ip netns exec <N's namespace> tandem ...` (exec all the way: the pid LocalCluster signals is tandem's).
    if (options_.tandem_binary.find('\'') != std::string::npos) {
      return make_error(Errc::kInvalidArgument, "--netns: the tandem binary's path has a quote in it");
    }
    netns_launcher_ = options_.work_dir + "/netns-launch.sh";
    {
      std::ofstream out(netns_launcher_, std::ios::trunc);
      out << "#!/bin/sh\n# tandem run --netns: starts member \"$5\" (--id) in its network namespace\ncase \"$5\" in\n";
      for (NodeId node : members) {
        out << "  " << node << ") exec ip netns exec " << netns_->namespace_of(netns_member(node)) << " '"
            << options_.tandem_binary << "' \"$@\" ;;\n";
      }
      out << "esac\necho \"netns launcher: no namespace for member id $5\" >&2\nexit 127\n";
      if (!out) return make_error(Errc::kStorageFailure, "--netns: cannot write " + netns_launcher_);
    }
    ::chmod(netns_launcher_.c_str(), 0755);
    std::random_device device;
    for (int i = 0; i < 4; ++i) {
      char word[9];
      std::snprintf(word, sizeof word, "%08x", device());
      netns_token_ += word;
    }
    record_.notes.push_back(reports::TraceEntry{0, kNoNode, "note", "netns: every member in a network namespace of its own (" + netns_->address_of(names.front()) +
                      " ...), the driver in the hub (" + netns_->hub_address() +
                      "); isolate and partitions are blackhole routes"});
    return {};
  }

  Status wait_for_group(size_t g) {
    const size_t want = 1 + groups_[g].plan.nodes.size();
    const auto give_up = std::chrono::steady_clock::now() + kFormTimeout;
    size_t alive = 0;
    while (std::chrono::steady_clock::now() < give_up) {
      Result<std::vector<runtime::NodeInfo>> nodes = driver_->await(runtime(g).nodes(), std::chrono::seconds(5));
      if (nodes.ok()) {
        alive = 0;
        for (const runtime::NodeInfo& info : nodes.value()) alive += info.alive ? 1 : 0;
        if (alive >= want) return {};
      }
      driver_->run_until([] { return false; }, std::chrono::milliseconds(100));
    }
    return make_error(Errc::kTimeout, groups_[g].plan.name + ": " + std::to_string(alive) + " of " +
                                          std::to_string(want) + " nodes alive after " + format_duration(kFormTimeout) +
                                          " (fix: check each member's log in " + options_.work_dir + ")");
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
        if (step.duration) {
          at(step.at + *step.duration, [this, id, what = "heal " + step.fault.label] {
            timed(what, [&] { heal(id); });
          });
        }
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

  // Runs a fault step or heal, timed: the loop runs nothing else meanwhile, so a slow one is a stall every
  // request feels. The slowest is the figure real.fault_step_max_ms.
  void timed(const std::string& what, const std::function<void()>& step) {
    const TimePoint began = loop().now();
    step();
    const Duration took = loop().now() - began;
    if (took <= step_max_) return;
    step_max_ = took;
    step_max_what_ = what;
  }

  std::vector<NodeId> fault_nodes(const Fault& fault) const {
    if (fault.kind == FaultKind::kClusterOutage) return scenario_.index.nodes_in_cluster(fault.cluster);
    return fault.nodes;
  }

  void inject(uint64_t id, const Fault& fault, reports::FaultSpan& span) {
    switch (fault.kind) {
      case FaultKind::kCrash:
        for (NodeId node : fault.nodes) take_down(node);
        break;
      case FaultKind::kClusterOutage:
        if (fault.outage == fault_injection::OutageMode::kPower) {
          for (NodeId node : fault_nodes(fault)) take_down(node);
        } else {
          backbone_cut(fault, true);
        }
        break;
      case FaultKind::kPause:
        for (NodeId node : fault.nodes) pause(node);
        break;
      case FaultKind::kIsolate:
      case FaultKind::kPartition:
      case FaultKind::kPartitionOneWay:
        network_cut(fault, true);
        break;
      case FaultKind::kWanCut:
        backbone_cut(fault, true);
        break;
      case FaultKind::kClockSkew:
      case FaultKind::kStorageFailure:
        member_fault(id, fault, true);
        break;
      case FaultKind::kLinkDelay:
      case FaultKind::kLinkLoss:
      case FaultKind::kLinkDuplicate:
      case FaultKind::kLinkReorder:
      case FaultKind::kClog:
      case FaultKind::kSlowNode:
        link_fault(id, fault, true);
        break;
      case FaultKind::kActorKill:  // instantaneous: the runtime restarts the actor
        span.end_ns = span.start_ns;
        service_->kill_actor(fault.actor, record_.faults.size() - 1);
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
        for (NodeId node : fault.nodes) bring_up(node);
        break;
      case FaultKind::kClusterOutage:
        if (fault.outage == fault_injection::OutageMode::kPower) {
          for (NodeId node : fault_nodes(fault)) bring_up(node);
        } else {
          backbone_cut(fault, false);
        }
        break;
      case FaultKind::kPause:
        for (NodeId node : fault.nodes) resume(node);
        break;
      case FaultKind::kIsolate:
      case FaultKind::kPartition:
      case FaultKind::kPartitionOneWay:
        network_cut(fault, false);
        break;
      case FaultKind::kWanCut:
        backbone_cut(fault, false);
        break;
      case FaultKind::kClockSkew:
      case FaultKind::kStorageFailure:
        member_fault(id, fault, false);
        break;
      case FaultKind::kLinkDelay:
      case FaultKind::kLinkLoss:
      case FaultKind::kLinkDuplicate:
      case FaultKind::kLinkReorder:
      case FaultKind::kClog:
      case FaultKind::kSlowNode:
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
    // kill -9 without waiting for the exit (tens of milliseconds under load, times every node of a storm).
    if (starting_.erase(node) > 0) {  // killed again before it was ready: still down, its span goes on
      group_of(node)->processes->kill9_no_wait(node);
      return;
    }
    if (!down_.insert(node).second) return;
    paused_.erase(node);
    drop_admin_calls(node);
    if (Group* group = group_of(node)) group->processes->kill9_no_wait(node);
    node_span_[node] = record_.node_spans.size();
    record_.node_spans.push_back(reports::NodeSpan{node, "down", to_ns(scenario_now()), std::nullopt});
  }

  // Starts a crashed member again without holding the loop (a start takes a spawn, an exec and the member's
  // own start-up: 100 ms and more on a loaded machine, which would make requests miss their deadlines): the
  // process is spawned now, its log polled every kRestartPoll until the ready line; it is down until then, and
  // up, with its faults sent again, from then.
  void bring_up(NodeId node) {
    if (!down_.contains(node) || starting_.contains(node)) return;
    Group* group = group_of(node);
    if (group == nullptr) {
      restarted(node, {});
      return;
    }
    if (Status spawned = group->processes->spawn(node); !spawned.ok()) {
      restarted(node, spawned);
      return;
    }
    const uint64_t start = ++starts_;
    starting_[node] = start;
    poll_restart(node, start, loop().now());
  }

  void poll_restart(NodeId node, uint64_t start, TimePoint began) {
    auto it = starting_.find(node);
    if (it == starting_.end() || it->second != start) return;  // killed again meanwhile (take_down)
    real::LocalCluster& processes = *group_of(node)->processes;
    Result<bool> ready = processes.ready(node);
    if (ready.ok() && !ready.value()) {
      if (loop().now() - began < kRestartTimeout) {
        loop().run_at(loop().now() + kRestartPoll, [this, node, start, began] { poll_restart(node, start, began); });
        return;
      }
      ready = processes.give_up_start(node, kRestartTimeout).error();
    }
    starting_.erase(it);
    if (ready.ok()) restart_ready_max_ = std::max<Duration>(restart_ready_max_, loop().now() - began);
    restarted(node, ready.ok() ? Status{} : Status(ready.error()));
  }

  // A restart has ended: the member is up again (a failed start is noted, and the node counted up, as before).
  void restarted(NodeId node, const Status& started) {
    down_.erase(node);
    if (!started.ok()) {
      note(node, "restart failed: " + started.error().message);
    } else if (group_of(node) != nullptr) {
      resync_member(node, /*restarted=*/true);
    }
    close_span(node);
  }

  void pause(NodeId node) {
    if (down_.contains(node) || !paused_.insert(node).second) return;
    drop_admin_calls(node);
    if (Group* group = group_of(node)) group->processes->pause(node);
    node_span_[node] = record_.node_spans.size();
    record_.node_spans.push_back(reports::NodeSpan{node, "paused", to_ns(scenario_now()), std::nullopt});
  }

  void resume(NodeId node) {
    if (paused_.erase(node) == 0) return;
    if (Group* group = group_of(node)) {
      group->processes->resume(node);
      resync_member(node, /*restarted=*/false);
    }
    close_span(node);
  }

  void close_span(NodeId node) {
    auto it = node_span_.find(node);
    if (it == node_span_.end()) return;
    record_.node_spans[it->second].end_ns = to_ns(scenario_now());
    node_span_.erase(it);
  }

  // --- Network cuts ----------------------------------------------------------------------------------------
  // Every cut is a directed pair (from, to) of member processes: what `from` sends to `to` is lost. isolate,
  // partition and partition_one_way give their pairs directly; cluster_outage "network" and wan_cut cut the
  // backbone model (plan_world_'s network, the sim's own routing, so a WAN cut that traffic can route around
  // through a third region cuts nothing, as in sim) and every member pair the model can no longer route is
  // cut. Pairs are counted per reason, so overlapping faults keep a pair cut until the last one heals. A cut
  // is made by the kernel (--netns: a blackhole route in `from`'s namespace; the driver is the hub) or else by
  // the transport filter (`from` drops what it sends to `to`, and `to` drops what it receives from `from`).
  // Client nodes (and a serving keeper) live in the driver: only an isolated member is cut from it, and only
  // with --netns (the filter never cuts the driver, whose one transport carries every client).
  using Pair = std::pair<NodeId, NodeId>;

  // Every directed pair between `node` and each other member, both ways.
  void add_both_ways(NodeId node, std::vector<Pair>& pairs) const {
    for (NodeId peer : all_members()) {
      if (peer == node) continue;
      pairs.emplace_back(node, peer);
      pairs.emplace_back(peer, node);
    }
  }

  std::vector<Pair> cut_pairs(const Fault& fault, std::set<NodeId>& not_members) {
    std::vector<Pair> pairs;
    if (fault.kind == FaultKind::kIsolate) {
      for (NodeId node : fault.nodes) {
        if (!is_member(node)) {
          not_members.insert(node);
          continue;
        }
        if (netns_) {
          pairs.emplace_back(node, kDriverId);
          pairs.emplace_back(kDriverId, node);
        }
        add_both_ways(node, pairs);
      }
      return pairs;
    }
    for (NodeId from : fault.nodes) {
      for (NodeId to : fault.other) {
        if (from == to) continue;
        if (!is_member(from) || !is_member(to)) {
          not_members.insert(is_member(from) ? to : from);
          continue;
        }
        pairs.emplace_back(from, to);
        if (fault.kind == FaultKind::kPartition) pairs.emplace_back(to, from);
      }
    }
    return pairs;
  }

  // isolate / partition / partition_one_way: `on` cuts the fault's pairs, !on heals them.
  void network_cut(const Fault& fault, bool on) {
    std::set<NodeId> not_members;
    const size_t changed = count_cuts(cut_pairs(fault, not_members), on);
    note_cut(fault.label, on, changed, not_members);
  }

  // cluster_outage "network" / wan_cut: the backbone model's link, then the member pairs it can no longer route.
  void backbone_cut(const Fault& fault, bool on) {
    sim::Network& backbone = plan_world_->network();
    if (fault.kind == FaultKind::kClusterOutage) {
      int& count = clusters_cut_[fault.cluster];
      if (on && count++ == 0) backbone.cut_cluster(fault.cluster);
      if (!on && --count == 0) backbone.restore_cluster(fault.cluster);
      if (count == 0) clusters_cut_.erase(fault.cluster);
    } else {
      const std::pair<sim::RegionId, sim::RegionId> regions{std::min(fault.region_a, fault.region_b),
                                                            std::max(fault.region_a, fault.region_b)};
      int& count = wans_cut_[regions];
      if (on && count++ == 0) backbone.cut_wan(fault.region_a, fault.region_b);
      if (!on && --count == 0) backbone.restore_wan(fault.region_a, fault.region_b);
      if (count == 0) wans_cut_.erase(regions);
    }
    // A member outside the topology (an rpc run's control store) is on no cluster or WAN link: never cut.
    auto routed = [&backbone](NodeId node) { return node < backbone.node_count(); };
    std::set<Pair> now_cut;
    for (NodeId from : all_members()) {
      for (NodeId to : all_members()) {
        if (from != to && routed(from) && routed(to) && !backbone.reachable(from, to)) now_cut.insert({from, to});
      }
    }
    std::vector<Pair> added;
    std::vector<Pair> removed;
    std::set_difference(now_cut.begin(), now_cut.end(), backbone_cuts_.begin(), backbone_cuts_.end(),
                        std::back_inserter(added));
    std::set_difference(backbone_cuts_.begin(), backbone_cuts_.end(), now_cut.begin(), now_cut.end(),
                        std::back_inserter(removed));
    backbone_cuts_ = std::move(now_cut);
    const size_t changed = count_cuts(added, true) + count_cuts(removed, false);
    std::set<NodeId> drivers_nodes;  // the client nodes (and keeper) the driver plays on the cut side
    for (NodeId node = 0; node < backbone.node_count(); ++node) {
      if (is_member(node)) continue;
      for (NodeId peer : all_members()) {
        if (routed(peer) && !backbone.reachable(node, peer)) drivers_nodes.insert(node);
      }
    }
    note_cut(fault.label, on, changed, drivers_nodes);
  }

  // Counts each pair's reasons; applies the pairs whose state changes. Returns how many changed.
  size_t count_cuts(const std::vector<Pair>& pairs, bool on) {
    size_t changed = 0;
    for (const Pair& pair : pairs) {
      int& count = cuts_[pair];
      const bool flips = on ? count++ == 0 : (count > 0 && --count == 0);
      if (count == 0) cuts_.erase(pair);
      if (!flips) continue;
      ++changed;
      if (netns_) {
        kernel_route(pair, on);
      } else {
        sync_filter(pair.first, pair.second);
        sync_filter(pair.second, pair.first);
      }
    }
    return changed;
  }

  bool cut(NodeId from, NodeId to) const { return cuts_.contains({from, to}); }

  void note_cut(const std::string& label, bool on, size_t changed, const std::set<NodeId>& driver_nodes) {
    std::string text = netns_ ? std::string("kernel: ") + (on ? "added " : "removed ") + std::to_string(changed) +
                                    " blackhole route(s) for " + label
                              : std::string("filter: ") + (on ? "cut " : "healed ") + std::to_string(changed) +
                                    " member pair(s) for " + label;
    for (NodeId node : driver_nodes) {
      text += "; " + scenario_.index.node_name(node) + " is not a member process (a client node or the keeper is the "
              "driver" + std::string(netns_ ? ", in the hub" : "") + "): not cut";
    }
    note(kNoNode, text);
  }

  static std::string netns_name(NodeId node) { return node == kDriverId ? "hub" : netns_member(node); }

  // A blackhole route made or removed by an `ip` command (a fork and exec: an isolate's eight held the loop
  // 23 ms), so off the loop: one worker thread runs them in the order made and posts each outcome back.
  void kernel_route(const Pair& pair, bool on) {
    ++routes_pending_;
    {
      std::lock_guard lock(routes_mutex_);
      route_jobs_.emplace_back(pair, on);
    }
    routes_wake_.notify_one();
    if (!route_thread_.joinable()) route_thread_ = std::thread([this] { run_routes(); });
  }

  // The route worker (its own thread): NetnsNetwork's cuts are touched only here until stop_routes().
  void run_routes() {
    for (;;) {
      std::pair<Pair, bool> job;
      {
        std::unique_lock lock(routes_mutex_);
        routes_wake_.wait(lock, [this] { return routes_stop_ || !route_jobs_.empty(); });
        if (route_jobs_.empty()) return;
        job = route_jobs_.front();
        route_jobs_.pop_front();
      }
      const auto& [pair, on] = job;
      const std::string from = netns_name(pair.first);
      const std::string to = netns_name(pair.second);
      const Status done = on ? netns_->cut(from, to) : netns_->heal(from, to);
      std::lock_guard lock(admin_inbox_->mutex);
      if (admin_inbox_->loop == nullptr) continue;
      admin_inbox_->loop->post([this, on = on, done] {
        --routes_pending_;
        if (!done.ok()) {
          note(kNoNode, std::string("kernel ") + (on ? "cut" : "heal") + " failed: " + done.error().message);
        } else if (on) {
          ++kernel_routes_;
        }
      });
    }
  }

  // Lets the worker finish what is queued, then joins it.
  void stop_routes() {
    if (!route_thread_.joinable()) return;
    {
      std::lock_guard lock(routes_mutex_);
      routes_stop_ = true;
    }
    routes_wake_.notify_one();
    route_thread_.join();
  }

  // Brings member `at`'s transport filter for `peer` to what cuts_ says, through its Admin service, when it
  // differs from what `at` holds. A down or paused member is skipped (resync_member() catches it up later).
  // Returns whether it sent one (queued: admin_call()). `force` sends it even when filters_held_ says `at` has it.
  bool sync_filter(NodeId at, NodeId peer, bool force = false) {
    if (at == kDriverId || peer == kDriverId) return false;
    const real::ClusterMember* at_member = member(at);
    if (at_member == nullptr || down_.contains(at) || paused_.contains(at)) return false;
    const std::pair<bool, bool> want{cut(at, peer), cut(peer, at)};  // (drop outgoing, drop incoming)
    auto held = filters_held_.find({at, peer});
    const std::pair<bool, bool> has = held == filters_held_.end() ? std::pair{false, false} : held->second;
    if (want == has && !force) return false;
    admin_call(at, [this, at, peer, want, name = at_member->name](real::AdminClient& admin, AdminReply reply) {
      admin.set_filter_async(peer, want.first, want.second, kAdminTimeout, [this, at, name, reply](Status set) {
        reply([this, at, name, set] {
          if (set.ok()) return;
          note(at, "filter on " + name + " failed: " + set.error().message);
          filters_unsure_.insert(at);
        });
      });
    });
    // Held from now on as far as the driver is concerned: a failure is noted and marks the member's filters
    // unsure, so its next restart or resume sends them all again.
    if (want == std::pair{false, false}) {
      filters_held_.erase({at, peer});
    } else {
      filters_held_[{at, peer}] = want;
    }
    return true;
  }

  // --- Member faults: clock_skew and storage_failure, set on the member itself through its Admin service ------
  // As in the sim's injector: a node's clock shows the skew of its latest active clock_skew (healing it falls
  // back to the one before, or none); its storage fails while any storage_failure on it is active. Skews are
  // scenario durations, scaled like every scenario time (a 2 s skew at time scale 2 is 1 s of real time).
  void member_fault(uint64_t id, const Fault& fault, bool on) {
    for (NodeId node : fault.nodes) {
      if (fault.kind == FaultKind::kClockSkew) {
        auto& stack = skews_[node];
        if (on) {
          stack.emplace_back(id, fault.skew);
        } else {
          std::erase_if(stack, [id](const auto& entry) { return entry.first == id; });
        }
        if (stack.empty()) skews_.erase(node);
      } else if (on) {
        ++storage_failing_[node];
      } else if (--storage_failing_[node] <= 0) {
        storage_failing_.erase(node);
      }
      member_faulted_.insert(node);
      if (!is_member(node)) {
        note(node, fault.label + ": " + scenario_.index.node_name(node) +
                       " is not a member process (a client node or the keeper is the driver): not applied");
        continue;
      }
      push_member_faults(node, fault.kind == FaultKind::kClockSkew, fault.kind == FaultKind::kStorageFailure);
    }
  }

  // Tells member `node` its skew and/or storage state. A down or paused member is skipped: resync_member().
  void push_member_faults(NodeId node, bool clock, bool storage) {
    const real::ClusterMember* m = member(node);
    if (m == nullptr || down_.contains(node) || paused_.contains(node)) return;
    using State = Result<real::MemberFaultState>;
    if (clock) {
      auto it = skews_.find(node);
      const Duration skew = it == skews_.end() ? Duration::zero() : scaled(it->second.back().second);
      admin_call(node, [this, node, skew, name = m->name](real::AdminClient& admin, AdminReply reply) {
        admin.set_clock_skew_async(skew, kAdminTimeout, [this, node, name, reply](State set) {
          reply([this, node, name, set] {
            if (!set.ok()) {
              note(node, "clock skew on " + name + " failed: " + set.error().message);
              return;
            }
            note(node, "clock skew on " + name + ": " + format_duration(set.value().clock_skew) +
                           " of real time (its clock reads " +
                           format_duration(round_ms(set.value().clock_now - set.value().loop_now)) + " off its loop)");
          });
        });
      });
    }
    if (storage) {
      const bool failing = storage_failing_.contains(node);
      admin_call(node, [this, node, failing, name = m->name](real::AdminClient& admin, AdminReply reply) {
        admin.set_storage_failing_async(failing, kAdminTimeout, [this, node, failing, name, reply](State set) {
          reply([this, node, failing, name, set] {
            if (!set.ok()) {
              note(node, "storage failure on " + name + " failed: " + set.error().message);
              return;
            }
            note(node, std::string("state store of ") + name + (failing ? ": syncs fail" : ": syncs work again") +
                           " (" + std::to_string(set.value().storage_failed_syncs) + " refused so far)");
          });
        });
      });
    }
  }

  // After a restart (the process starts with no filter, link fault, skew or failing store) or a resume (faults
  // healed or set while it was stopped never reached it): bring the member's own state back to what the active
  // faults say.
  void resync_member(NodeId node, bool restarted) {
    if (restarted) {
      std::erase_if(filters_held_, [node](const auto& entry) { return entry.first.first == node; });
    }
    // A restarted process holds no filter (nothing held is left above); a resumed one whose filter calls were
    // dropped or failed may hold anything, so every peer's filter is sent.
    const bool unsure = filters_unsure_.erase(node) > 0 && !restarted;
    size_t filters = 0;
    size_t links = 0;
    if (!netns_) {
      for (NodeId peer : all_members()) {
        if (peer != node && sync_filter(node, peer, unsure)) ++filters;
      }
    }
    // Link faults on what it sends: a restarted process has none (only active ones are sent); a resumed one may
    // hold some healed while it was stopped (every peer is sent its current state, none being all zero).
    for (NodeId peer : all_members()) {
      if (peer == node || !link_faulted_.contains(node)) continue;
      auto it = link_faults_.find({node, peer});
      if (it == link_faults_.end() && restarted) continue;
      push_link_faults(node, peer, it == link_faults_.end() ? 0 : it->second.rbegin()->first);
      ++links;
    }
    const bool clock = skews_.contains(node) || (!restarted && member_faulted_.contains(node));
    const bool storage = storage_failing_.contains(node) || (!restarted && member_faulted_.contains(node));
    if (clock || storage) push_member_faults(node, clock, storage);
    if (filters + links > 0 || clock || storage) {
      note(node, "resync " + member(node)->name + " after " + (restarted ? "restart" : "resume") + ": " +
                     std::to_string(filters) + " filter(s), " + std::to_string(links) + " link(s)" +
                     (clock ? ", clock skew" : "") + (storage ? ", storage" : ""));
    }
  }

  // The (from, to) pairs a link fault acts on: from x to; for a slow node every link into and out of it.
  std::vector<Pair> link_pairs(const Fault& fault) const {
    std::vector<Pair> pairs;
    if (fault.kind == FaultKind::kSlowNode) {
      for (NodeId slow : fault.nodes) add_both_ways(slow, pairs);
      return pairs;
    }
    for (NodeId from : fault.nodes) {
      for (NodeId to : fault.other) {
        if (from != to) pairs.emplace_back(from, to);
      }
    }
    return pairs;
  }

  // Link faults through the sending member's transport (its Admin service): what `from` sends to `to` is
  // delayed (link_delay, slow_node), lost, duplicated, reordered (a random extra delay per message, out of
  // order) or clogged (held until the clog ends, in order). Faults on one pair combine as the sim's injector
  // combines them (delays add, loss and duplicate probabilities compound, the largest jitter and the latest
  // clog end win), and healing one leaves the others. Times are scaled like every scenario time. As for
  // filters, only members' links can be hit, and a down or paused member is skipped.
  void link_fault(uint64_t id, const Fault& fault, bool on) {
    if (fault.kind == FaultKind::kClog) {
      if (on) {
        clog_ends_[id] = scenario_now() + fault.clog_for;
      } else {
        clog_ends_.erase(id);
      }
    }
    for (const auto& [from, to] : link_pairs(fault)) {
      std::map<uint64_t, Fault>& on_pair = link_faults_[{from, to}];
      if (on) {
        on_pair[id] = fault;
      } else {
        on_pair.erase(id);
      }
      if (on_pair.empty()) link_faults_.erase({from, to});
      link_faulted_.insert(from);
      push_link_faults(from, to, id);
    }
  }

  // Sends the combined link faults on from -> to (none: all zero) to `from`'s transport; `seed_id` seeds the draws.
  void push_link_faults(NodeId from, NodeId to, uint64_t seed_id) {
    real::LinkFaults combined;
    double delivered = 1;
    double single = 1;
    Duration delay{};
    Duration jitter{};
    Duration clog{};
    if (auto it = link_faults_.find({from, to}); it != link_faults_.end()) {
      for (const auto& [fault_id, each] : it->second) {
        if (each.kind == FaultKind::kLinkDelay || each.kind == FaultKind::kSlowNode) delay += each.delay;
        if (each.kind == FaultKind::kLinkLoss) delivered *= 1 - each.probability;
        if (each.kind == FaultKind::kLinkDuplicate) single *= 1 - each.probability;
        if (each.kind == FaultKind::kLinkReorder) jitter = std::max(jitter, each.jitter);
        if (each.kind == FaultKind::kClog) clog = std::max(clog, clog_ends_.at(fault_id) - scenario_now());
      }
    }
    auto clamp_ms = [this](Duration d) {
      const int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(scaled(d)).count();
      return static_cast<uint32_t>(std::clamp<int64_t>(ms, 0, real::kMaxLinkDelayMs));
    };
    combined.delay_ms = clamp_ms(delay);
    combined.clog_ms = clamp_ms(clog);
    const int64_t jitter_us = std::chrono::duration_cast<std::chrono::microseconds>(scaled(jitter)).count();
    combined.reorder_jitter_us =
        static_cast<uint32_t>(std::clamp<int64_t>(jitter_us, 0, int64_t{real::kMaxLinkDelayMs} * 1000));
    combined.loss_probability = std::clamp(1 - delivered, 0.0, 1.0);
    combined.duplicate_probability = std::clamp(1 - single, 0.0, 1.0);
    combined.seed = Random(seed_).fork("real-link-faults", seed_id).next_u64();
    const real::ClusterMember* from_member = member(from);
    if (from_member == nullptr || down_.contains(from) || paused_.contains(from) || !is_member(to)) return;
    admin_call(from, [this, from, to, combined, name = from_member->name](real::AdminClient& admin,
                                                                          AdminReply reply) {
      admin.set_link_faults_async(to, combined, kAdminTimeout, [this, from, name, reply](Status set) {
        reply([this, from, name, set] {
          if (!set.ok()) note(from, "link faults on " + name + " failed: " + set.error().message);
        });
      });
    });
  }

  // --- End of run -----------------------------------------------------------------------------------------
  void finish() {
    heal_all();
    // The heals' Admin calls and restarts run on the loop: let them end (each is bounded) before the count.
    loop().run_until([this] { return admin_in_flight_ == 0 && starting_.empty() && routes_pending_ == 0; },
                     kRestartTimeout);
    record_.requests.settle(TimePoint(scenario_now()), [this](NodeId client, int64_t from, int64_t to) {
      return record_.node_impaired(client, from, to);
    });
    record_.world_whole_at_end = true;
    const size_t processes = all_members().size();
    record_.world_state_at_end = "real world: " + std::to_string(processes) + " processes in " +
                                 std::to_string(groups_.size()) +
                                 (groups_.size() == 1 ? " cluster" : " clusters") +
                                 "; every fault healed at the end of the run";
    service_->finish(record_);
    // What the members' transports saw, asked of each through its Admin service.
    uint64_t dropped_by_filter = 0;
    uint64_t delivered = 0;
    uint64_t delayed = 0;
    uint64_t lost = 0;
    uint64_t duplicated = 0;
    for (NodeId node : all_members()) {
      Group* group = group_of(node);
      if (!group->processes->running(node)) continue;
      real::AdminClient admin(member(node)->endpoint(), auth_token(), admin_tls());
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
    record_.figures["real.driver_loop_max_lag_ms"] = std::chrono::duration<double, std::milli>(lag_max_).count();
    record_.figures["real.restart_ready_max_ms"] =
        std::chrono::duration<double, std::milli>(restart_ready_max_).count();
    record_.figures["real.fault_step_max_ms"] = std::chrono::duration<double, std::milli>(step_max_).count();
    if (step_max_ > Duration::zero()) {
      note(kNoNode, "the slowest fault step held the driver's loop " +
                        format_duration(std::chrono::round<std::chrono::microseconds>(step_max_)) + " (" +
                        step_max_what_ + ")");
    }
    note(kNoNode, "the driver's loop ran a timer at most " + format_duration(round_ms(lag_max_)) +
                      " (real time) late, at " + format_duration(round_ms(lag_max_at_)));
    if (netns_) {
      stop_routes();
      if (Status healed = netns_->heal_all(); !healed.ok()) note(kNoNode, "kernel heal failed: " + healed.error().message);
      record_.figures["real.kernel_blackhole_routes"] = static_cast<double>(kernel_routes_);
    }
    record_.figures["real.processes"] = static_cast<double>(processes);
    record_.figures["real.clusters"] = static_cast<double>(groups_.size());
    record_.figures["nodes"] = static_cast<double>(scenario_.index.node_count());
    record_.trace_hash = 0;  // a real run has no replayable trace
  }

  const std::string& auth_token() const { return groups_.front().processes->cluster().auth_token; }

  const Scenario& scenario_;
  const RealRunOptions& options_;
  uint64_t seed_;
  reports::RunRecord record_;
  std::unique_ptr<RealService> service_;
  std::unique_ptr<real::NetnsNetwork> netns_;  // before groups_: deleted after every process in it is killed
  std::string netns_launcher_;
  std::string netns_token_;
  uint64_t kernel_routes_ = 0;
  std::thread route_thread_;  // runs kernel_route()'s `ip` commands (kernel_route(), run_routes())
  std::mutex routes_mutex_;
  std::condition_variable routes_wake_;
  std::deque<std::pair<std::pair<NodeId, NodeId>, bool>> route_jobs_;  // (from, to), cut or heal; in order
  bool routes_stop_ = false;
  size_t routes_pending_ = 0;  // loop side: made, outcome not yet posted back
  std::unique_ptr<sim::World> plan_world_;  // the topology: the fault plan, and the backbone model of cuts
  std::map<std::pair<NodeId, NodeId>, int> cuts_;  // directed member pair (kDriverId: the hub) -> faults cutting it
  std::set<std::pair<NodeId, NodeId>> backbone_cuts_;  // the pairs the backbone model cannot route now
  std::map<sim::ClusterId, int> clusters_cut_;          // cluster_outage "network" faults active per cluster
  std::map<std::pair<sim::RegionId, sim::RegionId>, int> wans_cut_;  // wan_cut faults active per region pair
  std::map<std::pair<NodeId, NodeId>, std::pair<bool, bool>> filters_held_;  // (at, peer) -> (out, in) set there
  std::set<NodeId> filters_unsure_;  // members a filter call to which was dropped or failed (resync_member())
  std::map<NodeId, std::vector<std::pair<uint64_t, Duration>>> skews_;  // node -> active skews, latest last
  std::map<NodeId, int> storage_failing_;  // node -> active storage_failure faults
  std::set<NodeId> member_faulted_;  // nodes that ever had a clock_skew or storage_failure: a resume resyncs them
  std::set<NodeId> link_faulted_;    // nodes that ever sent under a link fault: a resume resyncs their links
  std::vector<Group> groups_;
  std::unique_ptr<real::MemberProcess> driver_;
  std::vector<std::unique_ptr<runtime::RuntimeClient>> group_clients_;  // [0] unused: the driver's own client
  std::vector<std::unique_ptr<StreamDriver>> streams_;
  std::optional<TimePoint> start_;  // the loop time of scenario time 0: set once the service is deployed
  Duration deploy_real_{};           // how long the deploy took, in real time
  std::vector<std::pair<Duration, std::function<void()>>> before_start_;  // at() calls made while deploying
  Duration lag_max_{};     // the driver loop's worst lateness (real time), and when (scenario time)
  Duration lag_max_at_{};
  uint64_t fault_ids_ = 0;
  std::map<uint64_t, Active> active_;
  std::shared_ptr<AdminInbox> admin_inbox_ = std::make_shared<AdminInbox>();  // shared with gRPC's threads
  std::map<NodeId, std::deque<AdminCall>> admin_queues_;  // member -> its calls; the front one is in flight
  size_t admin_in_flight_ = 0;
  std::map<NodeId, uint64_t> starting_;  // members restarting (still in down_) -> which start (starts_)
  uint64_t starts_ = 0;
  Duration restart_ready_max_{};  // the longest restart, spawn to ready line (real time)
  Duration step_max_{};           // the longest apply() of a scheduled step (real time), and which
  std::string step_max_what_;
  std::set<NodeId> down_;
  std::set<NodeId> paused_;
  std::map<NodeId, size_t> node_span_;
  std::map<std::pair<NodeId, NodeId>, std::map<uint64_t, Fault>> link_faults_;  // (from, to) -> active faults
  std::map<uint64_t, Duration> clog_ends_;  // active clog fault -> when it ends, in scenario time
  Scope driver_scope_;  // last: its coroutines use everything above
};

}  // namespace

std::vector<std::string> real_world_problems(const Scenario& scenario) {
  std::vector<std::string> problems;
  size_t deployable = 0;
  for (size_t i = 0; i < scenario.services.size(); ++i) {
    const ServiceSpec& service = *scenario.services[i];
    if (automl_config(service) != nullptr || fanout_config(service) != nullptr) {
      ++deployable;
    } else if (serving_config(service) != nullptr) {
      ++deployable;
      for (std::string& problem : real_world::real_serving_problems(scenario, i)) problems.push_back(std::move(problem));
    } else if (rpc_config(service) != nullptr) {
      ++deployable;
      for (std::string& problem : real_world::real_rpc_problems(scenario, i)) problems.push_back(std::move(problem));
    } else {
      problems.push_back("/services/" + std::to_string(i) + ": service kind \"" + std::string(service.kind()) +
                         "\" has no real deployment yet (the real world runs \"automl\", \"serving\", \"fanout\" and \"rpc\"; "
                         "fix: run it in sim)");
    }
  }
  if (deployable > 1) {
    problems.push_back("/services: the real world runs one service per scenario (fix: split the scenario)");
  }
  for (const EventSpec& event : scenario.events) {
    if (event.kind == EventSpec::Kind::kOperation) {
      // Serving operations run on the keeper in the driver, as in sim; rpc's set_service_time reaches every
      // server; automl and fanout have no operations.
      const ServiceSpec& service = *scenario.services[event.service];
      if (serving_config(service) == nullptr && rpc_config(service) == nullptr) {
        problems.push_back(event.source + ": \"op\" events are applied on the real world to serving and rpc services "
                                          "only (fix: run it in sim)");
      }
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
  RealRun run(scenario, options, options.seed.value_or(scenario.seed));
  return run.run();
}

}  // namespace tandem::scenarios
