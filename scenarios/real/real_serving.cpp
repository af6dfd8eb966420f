// The "serving" kind on the real world: each serving cluster a runtime cluster of its own (`tandem head` on
// its head node, `tandem node` on each worker, one cluster file each), the discovery node a `tandem head` of
// its own whose discovery server every cluster registers with, and in the driver process the ServingKeeper
// (the scenario's keeper node), one ServingClient per client node, and an observer that probes each AppMaster
// and discovery as the sim instance's does — so the same serving checks judge the run.
//
// Every time of the service (versions' latencies, start-up and reload, upgrade and autoscale policies, the
// SLO, client deadlines and pulls, heartbeats, the AppMaster's and keeper's periods, canary steps and
// blue-green bakes) is divided by the time scale; periods are kept at kMinPeriod or more.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "core/async/rpc.h"
#include "core/runtime/codec.h"
#include "core/serving/appmaster_client.h"
#include "core/serving/catalog.h"
#include "core/serving/discovery.h"
#include "core/serving/service_metadata.h"
#include "core/serving/serving_client.h"
#include "core/serving/serving_keeper.h"
#include "fault_injection/fault.h"
#include "real_backend/real_catalog.h"
#include "scenarios/real/real_service.h"
#include "scenarios/services/serving.h"

namespace tandem::scenarios::real_world {
namespace {

using namespace std::chrono_literals;
namespace sv = tandem::serving;

constexpr size_t kMaxPayloadVariety = 997;  // as the sim instance: validation replays recorded payloads

// Scales every time of `config` (and of what the kind derives from it) by 1 / time_scale.
class Scaler {
 public:
  explicit Scaler(double time_scale) : time_scale_(time_scale) {}
  Duration operator()(Duration d) const {
    return Duration(static_cast<int64_t>(std::llround(static_cast<double>(d.count()) / time_scale_)));
  }
  Duration period(Duration d) const { return std::max((*this)(d), kMinPeriod); }

  ServingServiceConfig config(ServingServiceConfig c) const {
    for (sv::VersionSpec& v : c.spec.versions) {
      v.latency.median = std::max<Duration>((*this)(v.latency.median), 1us);
      v.startup = (*this)(v.startup);
      v.reload = (*this)(v.reload);
    }
    sv::UpgradePolicy& u = c.spec.upgrade;
    u.drain_timeout = period(u.drain_timeout);
    u.step_timeout = period(u.step_timeout);
    sv::AutoscalePolicy& a = c.spec.autoscale;
    a.tick = period(a.tick);
    a.stable_window = period(a.stable_window);
    a.panic_window = period(a.panic_window);
    a.scale_down_delay = (*this)(a.scale_down_delay);
    a.provisioning_delay = (*this)(a.provisioning_delay);
    a.season = period(a.season);
    a.lead_time = period(a.lead_time);
    c.spec.slo.latency_p99 = period(c.spec.slo.latency_p99);
    c.client_deadline = period(c.client_deadline);
    c.per_try_timeout = period(c.per_try_timeout);
    c.pull_interval = period(c.pull_interval);
    c.heartbeat_period = period(c.heartbeat_period);
    c.observe_every = period(c.observe_every);
    return c;
  }
  sv::AppMasterOptions appmaster(sv::AppMasterOptions o) const {
    o.lease = period(o.lease);
    o.health_period = period(o.health_period);
    o.health_timeout = period(o.health_timeout);
    o.reconcile_period = period(o.reconcile_period);
    o.route_coalesce = (*this)(o.route_coalesce);
    o.discovery_period = period(o.discovery_period);
    o.discovery_ttl = period(o.discovery_ttl);
    o.deregistration_grace = period(o.deregistration_grace);
    o.control_timeout = period(o.control_timeout);
    o.start_timeout = period(o.start_timeout);
    o.replay_budget = period(o.replay_budget);
    return o;
  }
  sv::ServingKeeperOptions keeper(sv::ServingKeeperOptions o) const {
    o.appmaster = appmaster(o.appmaster);
    o.appmaster_client.call_timeout = period(o.appmaster_client.call_timeout);
    o.appmaster_client.retry_pause = period(o.appmaster_client.retry_pause);
    o.monitor_period = period(o.monitor_period);
    o.probe_timeout = period(o.probe_timeout);
    o.release_poll = period(o.release_poll);
    o.release_timeout = period(o.release_timeout);
    return o;
  }

 private:
  double time_scale_;
};

class RealServing final : public RealService {
 public:
  RealServing(const ServingServiceConfig& scenario_config, double time_scale)
      : scenario_config_(scenario_config), scale_(time_scale), config_(scale_.config(scenario_config)) {}

  std::vector<GroupPlan> groups() const override {
    std::vector<GroupPlan> groups;
    for (const std::string& cluster : config_.clusters) {
      GroupPlan group;
      group.name = cluster;
      group.head = config_.heads.at(cluster);
      group.nodes = config_.workers.at(cluster);
      std::vector<NodeId> members{group.head};
      members.insert(members.end(), group.nodes.begin(), group.nodes.end());
      for (NodeId node : members) {
        const auto& [resources, labels] = config_.node_resources.at(node);
        Result<runtime::ResourceSet> set = runtime::ResourceSet::make(resources);
        TANDEM_CHECK(set.ok(), "node resources were validated by the loader");
        group.resources[node] = set.value();
        runtime::NodeLabels& node_labels = group.labels[node];
        for (const auto& [key, value] : labels) node_labels[key] = value;
        node_labels["cluster"] = cluster;  // as the sim: the serving cluster's name
      }
      groups.push_back(std::move(group));
    }
    // Discovery: a head of its own (its runtime idles), so faults on the discovery node hit only discovery.
    GroupPlan discovery;
    discovery.name = "discovery";
    discovery.head = config_.discovery;
    discovery.labels[config_.discovery] = {{"cluster", "discovery"}};
    groups.push_back(std::move(discovery));
    return groups;
  }

  Status deploy(RealHost& host) override {
    host_ = &host;
    observations_.emplace(scenario_config_, host.record().serving);
    Env& env = host.driver().env();
    sv::AppMasterOptions appmaster = scale_.appmaster(serving_appmaster_options(config_));
    for (size_t c = 0; c < config_.clusters.size(); ++c) {
      sv::AppMasterClientOptions options;
      options.call_timeout = scale_.period(1s);
      options.attempts = 1;
      masters_.push_back(std::make_unique<sv::AppMasterClient>(host.runtime(c), config_.name,
                                                               config_.clusters[c], appmaster, options));
    }
    keeper_ = std::make_unique<sv::ServingKeeper>(env, scale_.keeper(serving_keeper_options(config_)));
    for (NodeId client : config_.clients) {
      auto serving_client = std::make_unique<sv::ServingClient>(env, serving_client_options(config_, client));
      serving_client->start();
      clients_[client] = std::move(serving_client);
    }
    endpoint_ = std::make_unique<RpcEndpoint>(env.transport, env.clock);
    if (config_.auto_deploy) {
      host.at(scenario_config_.deploy_at, [this] {
        host_->announce("deploy " + config_.name);
        deploy_service("deploy " + config_.name);
      });
    }
    host.at(scenario_config_.observe_every, [this] { observe_tick(); });
    host.record().serving.present = true;
    return {};
  }

  void issue(NodeId client) override {
    reports::RequestLog& requests = host_->record().requests;
    const auto id =
        requests.begin(0, client, TimePoint(host_->scenario_now()), scenario_config_.client_deadline + 200ms);
    ++issued_;
    host_->scope().spawn(
        one_request(*clients_.at(client), id, "req-" + std::to_string(next_payload_++ % kMaxPayloadVariety)));
  }

  void operate(const ServiceOperation& operation) override {
    auto op = dynamic_cast<const ServingOperation&>(operation);
    if (op.name == "deploy") {
      deploy_service(op.description);
      return;
    }
    op.canary.step_duration = scale_.period(op.canary.step_duration);
    op.bake = scale_(op.bake);
    host_->scope().spawn(run_operation(
        op.description, run_serving_operation(*keeper_, config_.name, op, host_->record().serving)));
  }

  void kill_actor(const std::string& target, size_t span) override {
    host_->scope().spawn(kill(target, span));
  }

  bool all_ended() const override { return ended_ == issued_; }

  void finish(reports::RunRecord& record) override {
    if (observations_) observations_->finish(record, operations_ok_, operations_failed_);
  }

  Duration heartbeat_period() const override { return scenario_config_.heartbeat_period; }
  uint32_t heartbeat_miss_limit() const override { return config_.heartbeat_miss_limit; }

  void stop() override {
    endpoint_.reset();
    clients_.clear();
    keeper_.reset();
    masters_.clear();
  }

 private:
  int64_t now_ns() const { return to_ns(host_->scenario_now()); }

  Task<void> one_request(sv::ServingClient& client, reports::RequestLog::RequestId id, std::string payload) {
    sv::RequestOutcome outcome = co_await client.request(std::move(payload));
    host_->record().requests.end(id, outcome.code, TimePoint(host_->scenario_now()),
                                 std::max<uint32_t>(1, outcome.attempts));
    if (outcome.ok()) observations_->answered(std::move(outcome.cluster), std::move(outcome.version));
    ++ended_;
  }

  void deploy_service(const std::string& what) {
    host_->scope().spawn(
        run_operation(what, keeper_->deploy(config_.spec, scale_.period(kServingDeployTimeout))));
  }

  Task<void> run_operation(std::string what, Task<Status> operation) {
    Status status = co_await std::move(operation);
    if (status.ok()) {
      ++operations_ok_;
      host_->note(config_.keeper, what + ": ok");
    } else {
      ++operations_failed_;
      host_->note(config_.keeper, what + ": " + status.error().to_string());
    }
  }

  // "c1:serving/ranker/appmaster" (one cluster) or "serving/ranker/appmaster" (every serving cluster); each
  // live actor of that name is killed with a restart allowed, as in sim.
  Task<void> kill(std::string target, size_t span) {
    std::string only;
    std::string actor = target;
    if (auto colon = target.find(':'); colon != std::string::npos) {
      only = target.substr(0, colon);
      actor = target.substr(colon + 1);
    }
    size_t killed = 0;
    std::string why;
    for (size_t c = 0; c < config_.clusters.size(); ++c) {
      if (!only.empty() && config_.clusters[c] != only) continue;
      Result<std::vector<runtime::ActorInfo>> actors = co_await host_->runtime(c).list_actors(false, false);
      if (!actors.ok()) {
        why +=
            " listing the actors of " + config_.clusters[c] + " failed: " + actors.error().to_string() + ";";
        continue;
      }
      for (const runtime::ActorInfo& info : actors.value()) {
        if (info.name != actor || info.state == runtime::ActorState::kDead) continue;
        Status done = co_await host_->runtime(c).kill_actor(info.id, /*no_restart=*/false);
        if (done.ok()) ++killed;
      }
    }
    if (killed > 0) co_return;
    reports::FaultSpan& fault = host_->record().faults[span];
    fault.skipped = true;
    fault.skip_reason =
        "no live actor named \"" + actor + "\"" + (only.empty() ? "" : " in cluster " + only) + ";" + why;
  }

  // --- The observer (as the sim instance's: AppMaster probes every observe_every, discovery convergence) ---
  void observe_tick() {
    host_->at(host_->scenario_now() + scenario_config_.observe_every, [this] { observe_tick(); });
    if (observing_) return;
    observing_ = true;
    host_->scope().spawn(observe());
  }

  Task<void> observe() {
    const Duration probe_timeout = std::min<Duration>(config_.observe_every, scale_.period(800ms));
    for (size_t c = 0; c < config_.clusters.size(); ++c) {
      Result<sv::AppMasterStatus> status = co_await masters_[c]->probe(probe_timeout);
      if (status.ok()) take(config_.clusters[c], status.value());
    }
    co_await observe_discovery(probe_timeout);
    observing_ = false;
  }

  void take(const std::string& cluster, const sv::AppMasterStatus& status) {
    observations_->take(cluster, status, now_ns());
  }

  // Converged when, in every cluster with weight, discovery lists exactly the nodes of the service's live
  // proxies it can reach. Asked of discovery and of each control store over RPC (the sim reads them
  // in-process); when discovery does not answer, nothing is concluded.
  Task<void> observe_discovery(Duration timeout) {
    // Named, not a temporary inside the co_await expression (GCC 12 destroys such temporaries twice).
    const sv::ResolveRequest request{config_.name};
    Bytes request_bytes = runtime::encode(request);
    Result<Bytes> answer = co_await endpoint_->call(Address{config_.discovery, sv::kDiscoveryPort},
                                                    sv::kDiscoveryResolve, std::move(request_bytes), timeout);
    if (!answer.ok()) co_return;
    Result<sv::Resolution> resolution = runtime::decode<sv::Resolution>(answer.value());
    if (!resolution.ok()) co_return;
    bool converged = true;
    const std::string prefix = sv::member_prefix(config_.name);
    for (size_t c = 0; c < config_.clusters.size(); ++c) {
      const std::string& cluster = config_.clusters[c];
      const auto [listed, weight] = ServingObservations::listed(resolution.value(), cluster);
      Result<std::vector<runtime::ActorInfo>> actors = make_error(Errc::kUnavailable, "the head is down");
      if (host_->up(config_.heads.at(cluster))) actors = co_await host_->runtime(c).list_actors(false, false);
      if (!actors.ok()) {
        // The cluster's control plane is gone: converged once discovery routes nothing there.
        if (weight > 0 && !listed.empty()) converged = false;
        continue;
      }
      std::multiset<NodeId> live;
      for (const runtime::ActorInfo& info : actors.value()) {
        if (info.class_name != sv::kProxyClass || info.state != runtime::ActorState::kAlive) continue;
        if (info.name.rfind(prefix, 0) != 0 || info.node == kNoNode) continue;
        if (!host_->up(info.node) || !host_->reachable(config_.discovery, info.node)) continue;
        live.insert(info.node);
      }
      if (weight == 0) continue;
      if (listed != live) converged = false;
    }
    observations_->discovery(converged, !resolution.value().clusters.empty(), now_ns());
  }

  const ServingServiceConfig& scenario_config_;  // scenario times (for the record and the schedule)
  Scaler scale_;
  ServingServiceConfig config_;  // real times
  RealHost* host_ = nullptr;
  std::vector<std::unique_ptr<sv::AppMasterClient>> masters_;  // the observer's, one per cluster
  std::unique_ptr<sv::ServingKeeper> keeper_;
  std::map<NodeId, std::unique_ptr<sv::ServingClient>> clients_;
  std::unique_ptr<RpcEndpoint> endpoint_;
  uint64_t next_payload_ = 0;
  uint64_t issued_ = 0;
  uint64_t ended_ = 0;
  uint64_t operations_ok_ = 0;
  uint64_t operations_failed_ = 0;
  bool observing_ = false;
  std::optional<ServingObservations> observations_;  // from deploy(): it records into the run's record
};

}  // namespace

std::unique_ptr<RealService> make_real_serving(const ServiceSpec& spec, double time_scale) {
  const ServingServiceConfig* config = serving_config(spec);
  TANDEM_CHECK(config != nullptr, "make_real_serving() of a service that is not of kind serving");
  return std::make_unique<RealServing>(*config, time_scale);
}

std::optional<NodeId> real_serving_keeper(const ServiceSpec& spec) {
  const ServingServiceConfig* config = serving_config(spec);
  if (config == nullptr) return std::nullopt;
  return config->keeper;
}

std::string keeper_fault_problem(const std::string& where, const fault_injection::Fault& fault,
                                 const Scenario& scenario, NodeId keeper) {
  return where + ": fault \"" + std::string(fault_injection::fault_kind_name(fault.kind)) + "\" hits node " +
         scenario.index.node_name(keeper) +
         ", the serving keeper, which runs inside the driver process on the real world: that process also plays "
         "every client node and keeps the run's clock, so crashing, pausing, skewing or cutting it would stop or "
         "skew the experiment itself, and its one transport cannot cut the keeper's messages apart from the "
         "clients' (fix: target other nodes, or run it in sim)";
}

bool fault_hits(const fault_injection::Fault& fault, const Scenario& scenario, NodeId node) {
  auto named = [node](const std::vector<NodeId>& nodes) {
    return std::find(nodes.begin(), nodes.end(), node) != nodes.end();
  };
  if (fault.kind == fault_injection::FaultKind::kClusterOutage) {
    return named(scenario.index.nodes_in_cluster(fault.cluster));
  }
  if (fault.kind == fault_injection::FaultKind::kWanCut) {  // the keeper's region is one side of the cut
    const sim::RegionId region = scenario.index.region_of(scenario.index.cluster_of(node));
    return region == fault.region_a || region == fault.region_b;
  }
  return named(fault.nodes) || named(fault.other);
}

std::vector<std::string> real_serving_problems(const Scenario& scenario, size_t service_index) {
  std::vector<std::string> problems;
  const ServingServiceConfig* config = serving_config(*scenario.services[service_index]);
  if (config == nullptr) return problems;
  const std::string at = "/services/" + std::to_string(service_index);
  if (config->planted.keep_removed_proxies) {
    problems.push_back(at +
                       "/planted_bug: planted bugs exist for tandem explore's simulated self-test only "
                       "(fix: drop \"planted_bug\" to run on the real world)");
  }
  for (const EventSpec& event : scenario.events) {
    if (event.kind == EventSpec::Kind::kFault && fault_hits(event.fault, scenario, config->keeper)) {
      problems.push_back(keeper_fault_problem(event.source, event.fault, scenario, config->keeper));
    }
  }
  return problems;
}

}  // namespace tandem::scenarios::real_world
