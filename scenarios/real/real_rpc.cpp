// The "rpc" kind on the real world: one runtime cluster whose head is a control store of the run's own (not a
// topology node, so no fault hits it: the sim's rpc service has no control plane) and whose nodes are the
// service's server nodes, each a `tandem node` hosting one RpcServerActor (core/apps/rpc/server.h, pinned by hard
// node affinity, restarted by the runtime after its process is killed and started again). The actor serves the
// same port and answers with the same code as the sim's server part. Each client node is an RpcClient of its own
// in the driver (the sim's client, scenarios/services/rpc.h) calling the servers' ports over the driver's
// transport, so requests end the same way and the same figures and checks come out.
//
// Cuts (isolate, partition, partition_one_way, a network cluster_outage or wan_cut: RealHost::reachable())
// between a client node and a server cannot be made by a transport filter: every client node is the driver,
// one transport. The clients apply them instead: an attempt to a server that the client cannot reach, or whose
// reply could not come back, through the faults active when it starts, sends nothing and waits out its
// deadline, as a lost message does in sim (rpc.<name>.attempts_cut_by_fault counts them). Crashes and pauses of servers are the real processes'.
//
// Every time of the service (service time, deadline, backoff, eject_for) is divided by the time scale; every
// time recorded is in scenario time. set_service_time is stored in the control store's KV (a restarted server
// reads it) and pushed to every live server.
#include <algorithm>
#include <map>
#include <memory>

#include "core/apps/rpc/server.h"
#include "core/async/when.h"
#include "core/runtime/codec.h"
#include "fault_injection/fault.h"
#include "scenarios/real/real_service.h"
#include "scenarios/services/rpc.h"

namespace tandem::scenarios::real_world {
namespace {

using namespace std::chrono_literals;

constexpr NodeId kRpcHeadId = 999'998;     // below the driver's id, above any topology node
constexpr Port kRpcPort = kServicePortBase;  // service 0's first port, as in sim
constexpr Duration kDeployTimeout = 30s;     // real time: every server ALIVE

class RealRpc final : public RealService {
 public:
  RealRpc(const Scenario& scenario, const RpcServiceConfig& config) : scenario_(scenario), config_(config) {}

  std::vector<GroupPlan> groups() const override {
    GroupPlan group;
    group.name = config_.name;
    group.head = kRpcHeadId;
    group.names[kRpcHeadId] = config_.name + "-control";
    group.nodes = config_.servers;
    group.resources[kRpcHeadId] = runtime::ResourceSet{};
    for (NodeId node : config_.servers) {
      group.resources[node] = runtime::ResourceSet{};
      group.labels[node] = {{"cluster", scenario_.index.cluster_name(scenario_.index.cluster_of(node))},
                            {"node", scenario_.index.node_name(node)}};
    }
    return {group};
  }

  Status deploy(RealHost& host) override {
    host_ = &host;
    targets_.config = config_;
    targets_.config.deadline = host.scaled(config_.deadline);
    targets_.config.backoff = host.scaled(config_.backoff);
    targets_.config.eject_for = host.scaled(config_.eject_for);
    targets_.request.assign(static_cast<size_t>(config_.request_bytes), 'q');
    for (NodeId server : config_.servers) {
      targets_.servers.push_back(Address{server, kRpcPort});
      targets_.server_clusters.push_back(scenario_.index.cluster_of(server));
    }
    const TimePoint began = host.driver().env().clock.now();
    Result<std::vector<runtime::ActorHandle>> servers = host.driver().await(deploy_servers(), kDeployTimeout);
    if (!servers.ok()) {
      return make_error(Errc::kUnavailable, "deploying the rpc servers of " + config_.name +
                                                " failed: " + servers.error().to_string());
    }
    servers_ = std::move(servers).value();
    host.note(kNoNode, "rpc " + config_.name + ": " + std::to_string(servers_.size()) + " servers ALIVE after " +
                           format_duration(host.driver().env().clock.now() - began) + " (real time)");
    for (NodeId client : config_.clients) {
      auto done = [this](reports::RequestLog::RequestId id, Errc code, uint32_t attempts) {
        host_->record().requests.end(id, code, TimePoint(host_->scenario_now()), attempts);
        ++ended_;
      };
      auto cut = [this, client](size_t server) {
        const NodeId node = config_.servers[server];
        return host_->up(client) && host_->up(node) &&
               (!host_->reachable(client, node) || !host_->reachable(node, client));
      };
      clients_[client] = std::make_unique<RpcClient>(host.driver().env(), targets_,
                                                     scenario_.index.cluster_of(client), done, cut);
    }
    return {};
  }

  void issue(NodeId client) override {
    const auto id = host_->record().requests.begin(0, client, TimePoint(host_->scenario_now()),
                                                   rpc_request_budget(config_));
    ++issued_;
    clients_.at(client)->start(id);
  }

  void operate(const ServiceOperation& operation) override {
    const std::optional<LatencyModel> model = rpc_set_service_time(operation);
    TANDEM_CHECK(model.has_value(), "the rpc kind has no operation but set_service_time");
    host_->scope().spawn(push_service_time(scaled(*model)));
  }

  void kill_actor(const std::string&, size_t span) override { skip_actor_kill(host_->record(), span); }

  bool all_ended() const override { return ended_ == issued_; }

  void finish(reports::RunRecord& record) override {
    add_rpc_figures(record, config_);
    const std::string prefix = "rpc." + config_.name + ".";
    uint64_t cut = 0;
    for (const auto& [node, client] : clients_) cut += client->attempts_cut();
    record.figures[prefix + "attempts_cut_by_fault"] = static_cast<double>(cut);
    Result<std::vector<runtime::ActorInfo>> actors =
        host_->driver().await(host_->runtime(0).list_actors(false, true), 5s);
    if (actors.ok()) {
      int64_t restarts = 0;
      for (const runtime::ActorInfo& info : actors.value()) {
        if (info.class_name == apps::kRpcServerClass) restarts += info.restarts_used;
      }
      record.figures[prefix + "server_restarts"] = static_cast<double>(restarts);
    } else {
      host_->note(kNoNode, "listing the rpc servers at the end failed: " + actors.error().to_string());
    }
  }

  void stop() override { clients_.clear(); }

  // Failure detection matters little here (a restarted server's node registers again at once, which restarts
  // its actor); a long miss limit keeps a paused or isolated server from being declared dead and restarted,
  // which the sim's rpc server never is.
  Duration heartbeat_period() const override { return 1s; }
  uint32_t heartbeat_miss_limit() const override { return 30; }

 private:
  LatencyModel scaled(LatencyModel model) const {
    model.base = host_->scaled(model.base);
    model.spread = host_->scaled(model.spread);
    if (model.kind == LatencyModel::Kind::kLogNormal && model.spread > Duration::zero())
      model.base = std::max<Duration>(model.base, 1ns);  // a lognormal needs a positive mean
    return model;
  }

  std::string service_time_key() const { return "rpc/" + config_.name + "/service_time"; }

  // One RpcServerActor per server node, pinned there, restarted without limit; every one ALIVE.
  Task<Result<std::vector<runtime::ActorHandle>>> deploy_servers() {
    runtime::RuntimeClient& client = host_->runtime(0);
    const apps::LatencyWire service_time = apps::LatencyWire::from(scaled(config_.service_time));
    if (Status stored = co_await client.kv_put(service_time_key(), runtime::encode(service_time)); !stored.ok())
      co_return stored.error();
    apps::RpcServerSpec spec;
    spec.port = kRpcPort;
    spec.service_time = service_time;
    spec.max_concurrency = config_.max_concurrency;
    spec.reply_bytes = config_.reply_bytes;
    spec.service_time_key = service_time_key();
    std::vector<Task<Result<runtime::ActorHandle>>> servers;  // all at once: the run's clock is ticking
    for (NodeId node : config_.servers) servers.push_back(deploy_server(node, spec));
    std::vector<runtime::ActorHandle> handles;
    for (Result<runtime::ActorHandle>& server : co_await when_all(std::move(servers))) {
      if (!server.ok()) co_return server.error();
      handles.push_back(server.value());
    }
    co_return handles;
  }

  Task<Result<runtime::ActorHandle>> deploy_server(NodeId node, apps::RpcServerSpec spec) {
    runtime::ActorOptions options;
    options.name = "rpc/" + config_.name + "/" + scenario_.index.node_name(node);
    options.node_affinity = runtime::NodeAffinity{node, /*soft=*/false};
    options.max_restarts = -1;
    options.detached = true;
    runtime::RuntimeClient& client = host_->runtime(0);
    Result<runtime::ActorHandle> handle = co_await client.create_actor(apps::kRpcServerClass, options, spec);
    if (!handle.ok()) co_return handle.error();
    Result<runtime::ActorInfo> alive = co_await client.wait_actor_alive(handle.value().ref().id, kDeployTimeout);
    if (!alive.ok()) co_return alive.error();
    co_return handle.value();
  }

  Task<void> push_service_time(LatencyModel model) {
    const apps::LatencyWire wire = apps::LatencyWire::from(model);
    if (Status stored = co_await host_->runtime(0).kv_put(service_time_key(), runtime::encode(wire)); !stored.ok()) {
      host_->note(kNoNode, "set_service_time: storing it failed: " + stored.error().to_string());
    }
    std::vector<Task<Result<void>>> calls;
    runtime::CallOptions options;
    options.timeout = std::max<Duration>(host_->scaled(2s), 200ms);
    for (const runtime::ActorHandle& server : servers_) {
      calls.push_back(server.call_with<void>(options, "set_service_time", wire));
    }
    size_t failed = 0;
    for (Result<void>& set : co_await when_all(std::move(calls))) failed += set.ok() ? 0 : 1;
    if (failed > 0) {
      host_->note(kNoNode, "set_service_time reached " + std::to_string(servers_.size() - failed) + " of " +
                               std::to_string(servers_.size()) +
                               " servers now; the others read it from the control store when they restart");
    }
  }

  const Scenario& scenario_;
  const RpcServiceConfig& config_;  // scenario times
  RealHost* host_ = nullptr;
  RpcTargets targets_;  // real times
  std::vector<runtime::ActorHandle> servers_;
  std::map<NodeId, std::unique_ptr<RpcClient>> clients_;  // one per client node, as in sim
  uint64_t issued_ = 0;
  uint64_t ended_ = 0;
};

}  // namespace

std::unique_ptr<RealService> make_real_rpc(const Scenario& scenario, const ServiceSpec& spec) {
  const RpcServiceConfig* config = rpc_config(spec);
  TANDEM_CHECK(config != nullptr, "make_real_rpc() of a service that is not of kind rpc");
  return std::make_unique<RealRpc>(scenario, *config);
}

}  // namespace tandem::scenarios::real_world

namespace tandem::scenarios::real_world {
namespace {

bool link_fault(fault_injection::FaultKind kind) {
  using fault_injection::FaultKind;
  return kind == FaultKind::kLinkDelay || kind == FaultKind::kLinkLoss || kind == FaultKind::kLinkDuplicate ||
         kind == FaultKind::kLinkReorder || kind == FaultKind::kClog || kind == FaultKind::kSlowNode;
}

}  // namespace

std::vector<std::string> real_rpc_problems(const Scenario& scenario, size_t service_index) {
  const RpcServiceConfig& config = *rpc_config(*scenario.services[service_index]);
  std::vector<std::string> problems;
  if (config.planted_bug != RpcPlantedBug::kNone) {
    problems.push_back("/services/" + std::to_string(service_index) +
                       "/planted_bug: planted bugs exist for tandem explore's self-test in sim (fix: run it in sim, "
                       "or drop \"planted_bug\")");
  }
  // Link faults are made by the sending member's transport; the rpc clients all run in the driver, one
  // transport, so a link fault to or from a client node (or a slow server, whose only peers are clients)
  // would silently do nothing.
  const std::string why = " is not applied to real processes for an rpc service: the clients all run in the "
                          "driver, one transport, so link faults to or from client nodes cannot be made";
  auto is_server = [&config](NodeId node) {
    return std::find(config.servers.begin(), config.servers.end(), node) != config.servers.end();
  };
  auto kind_name = [](const fault_injection::Fault& fault) {
    return "fault \"" + std::string(fault_injection::fault_kind_name(fault.kind)) + "\"";
  };
  for (const EventSpec& event : scenario.events) {
    if (event.kind != EventSpec::Kind::kFault || !link_fault(event.fault.kind)) continue;
    const fault_injection::Fault& fault = event.fault;
    if (fault.kind == fault_injection::FaultKind::kSlowNode) {
      problems.push_back(event.source + ": " + kind_name(fault) + why +
                         ", and a slow server's only peers are clients (fix: run it in sim, or drop the fault)");
      continue;
    }
    std::vector<NodeId> named = fault.nodes;
    named.insert(named.end(), fault.other.begin(), fault.other.end());
    for (NodeId node : named) {
      if (is_server(node)) continue;
      problems.push_back(event.source + ": " + kind_name(fault) + " names " + scenario.index.node_name(node) +
                         ", which is not an rpc server;" + why.substr(why.find(':') + 1) +
                         " (fix: run it in sim; partitions and isolate of client nodes are applied)");
      break;
    }
  }
  if (scenario.nemesis) {
    for (size_t i = 0; i < scenario.nemesis->faults.size(); ++i) {
      const fault_injection::Fault& fault = scenario.nemesis->faults[i].parameters;
      if (!link_fault(fault.kind)) continue;
      const std::vector<NodeId>& targets = scenario.nemesis->nodes;
      const bool servers_only = std::all_of(targets.begin(), targets.end(), is_server);
      if (servers_only && fault.kind != fault_injection::FaultKind::kSlowNode) continue;
      problems.push_back("/nemesis/faults/" + std::to_string(i) + ": " + kind_name(fault) + why +
                         (servers_only ? ", and a slow server's only peers are clients"
                                       : ", and the nemesis may draw client nodes") +
                         " (fix: run it in sim, target server nodes only, or leave it out of the nemesis)");
    }
  }
  return problems;
}

}  // namespace tandem::scenarios::real_world
