#include "scenarios/services/rpc.h"

#include <algorithm>
#include <set>

#include "core/apps/rpc/server.h"
#include "core/async/sleep.h"

namespace tandem::scenarios {
namespace {

constexpr int64_t kMaxAttempts = 10;
constexpr int64_t kMaxPayloadBytes = 16 << 20;

using Prefer = RpcPrefer;
using PlantedBug = RpcPlantedBug;
using RpcConfig = RpcServiceConfig;

struct SetServiceTime final : ServiceOperation {
  sim::LatencyModel service_time;
};

// What every part of one rpc service shares (owned by the instance, which outlives the world's processes).
struct Shared {
  RpcTargets targets;
  sim::LatencyModel service_time;
  Bytes reply;
};

class RpcServer final : public sim::NodeProcess {
 public:
  RpcServer(Env& env, const Shared& shared, Port port)
      : core_(env, shared.service_time, shared.targets.config.max_concurrency, shared.reply, port) {}

 private:
  apps::RpcServerCore core_;
};

class RpcClientProcess final : public sim::NodeProcess {
 public:
  RpcClientProcess(Env& env, const RpcTargets& targets, sim::ClusterId cluster, RpcClient::Done done)
      : client(env, targets, cluster, std::move(done)) {}
  RpcClient client;
};

class RpcInstance final : public ServiceInstance {
 public:
  RpcInstance(const RpcConfig& config, ServiceContext& context)
      : world_(context.world), requests_(context.requests), request_service_(context.request_service) {
    shared_.targets.config = config;
    shared_.service_time = config.service_time;
    shared_.reply.assign(static_cast<size_t>(config.reply_bytes), 'r');
    shared_.targets.request.assign(static_cast<size_t>(config.request_bytes), 'q');
    const Port port = context.port_base;
    for (NodeId server : config.servers) {
      shared_.targets.servers.push_back(Address{server, port});
      shared_.targets.server_clusters.push_back(context.topology.cluster_of(server));
      context.hosting.add_part(
          server, [this, port](Env& env) { return std::make_unique<RpcServer>(env, shared_, port); });
    }
    budget_ = rpc_request_budget(config);
    for (NodeId client : config.clients) {
      const sim::ClusterId cluster = context.topology.cluster_of(client);
      client_slots_[client] = context.hosting.add_part(client, [this, cluster](Env& env) {
        return std::make_unique<RpcClientProcess>(
            env, shared_.targets, cluster, [this](reports::RequestLog::RequestId id, Errc code, uint32_t attempts) {
              requests_.end(id, code, world_.now(), attempts);
            });
      });
    }
  }

  void issue(NodeId client) override {
    RpcClientProcess* part = NodeHosting::part<RpcClientProcess>(world_, client, client_slots_.at(client));
    if (part == nullptr) {
      requests_.not_issued(request_service_, world_.now());
      return;
    }
    part->client.start(requests_.begin(request_service_, client, world_.now(), budget_));
  }

  void operate(const ServiceOperation& operation) override {
    if (const auto* set = dynamic_cast<const SetServiceTime*>(&operation))
      shared_.service_time = set->service_time;
  }

  void finish(reports::RunRecord& record) override { add_rpc_figures(record, shared_.targets.config); }

 private:
  sim::World& world_;
  reports::RequestLog& requests_;
  uint32_t request_service_;
  Shared shared_;
  Duration budget_{};
  std::map<NodeId, size_t> client_slots_;
};

class RpcSpec final : public ServiceSpec {
 public:
  explicit RpcSpec(RpcConfig config) : config_(std::move(config)) {}
  std::string_view kind() const override { return "rpc"; }
  const std::string& name() const override { return config_.name; }
  const std::vector<NodeId>& clients() const override { return config_.clients; }
  Duration request_budget() const override { return rpc_request_budget(config_); }
  const RpcConfig& config() const { return config_; }
  std::unique_ptr<ServiceInstance> instantiate(ServiceContext& context) const override {
    return std::make_unique<RpcInstance>(config_, context);
  }
  std::string describe() const override {
    return "rpc " + config_.name + ": " + std::to_string(config_.servers.size()) + " servers, " +
           std::to_string(config_.clients.size()) + " clients in " + std::to_string(config_.clusters.size()) +
           " clusters; service time " + config_.service_time.to_string() + ", deadline " +
           format_duration(config_.deadline) + " x " + std::to_string(config_.attempts) + " attempts";
  }

 private:
  RpcConfig config_;
};

class RpcKind final : public ServiceKind {
 public:
  std::string_view name() const override { return "rpc"; }
  std::string_view summary() const override {
    return "request/response servers with a service-time distribution; local-first clients with deadlines "
           "and "
           "retries";
  }
  std::vector<std::string> operations() const override { return {"set_service_time"}; }

  std::shared_ptr<const ServiceSpec> parse(ObjectReader& entry, const std::string& name,
                                           const TopologyIndex& topology, Problems& problems) const override {
    const size_t before = problems.size();
    RpcConfig config;
    config.name = name;
    const std::vector<std::string> groups = topology.group_names();
    auto read_group = [&](std::string_view key, std::string_view role) -> std::optional<std::string> {
      std::optional<std::string> group =
          entry.string(key, Need::kRequired,
                       "name the node group that runs the " + std::string(role) + ", e.g. \"" +
                           std::string(key == "servers" ? "server" : "client") + "\"");
      if (!group) return std::nullopt;
      if (std::find(groups.begin(), groups.end(), *group) == groups.end()) {
        problems.add(entry.child(key), "no node group named \"" + *group + "\" in any cluster" +
                                           suggestion(*group, groups, "groups"));
        return std::nullopt;
      }
      return group;
    };
    const std::optional<std::string> server_group = read_group("servers", "servers");
    const std::optional<std::string> client_group = read_group("clients", "clients");
    if (const Json* clusters = entry.optional("clusters")) {
      const std::string at = entry.child("clusters");
      if (const Json* array = read_array(*clusters, at, problems, kMaxScenarioClusters, "cluster names")) {
        if (array->empty()) problems.add(at, "is empty; leave it out to use every cluster");
        for (size_t i = 0; i < array->size(); ++i) {
          std::optional<std::string> cluster =
              read_string((*array)[i], child_pointer(at, i), problems, "a cluster name");
          if (!cluster) continue;
          if (auto id = topology.find_cluster(*cluster)) {
            config.clusters.push_back(*id);
          } else {
            problems.add(child_pointer(at, i), "no cluster named \"" + *cluster + "\"; known clusters: " +
                                                   join_names(topology.cluster_names()));
          }
        }
      }
    }
    if (const Json* v = entry.optional("service_time")) {
      if (auto model = parse_latency(*v, entry.child("service_time"), problems)) config.service_time = *model;
    }
    if (auto v = entry.integer("max_concurrency", Need::kOptional, 1, 1'000'000, "requests"))
      config.max_concurrency = *v;
    if (auto v = entry.duration("deadline", Need::kOptional)) {
      config.deadline = *v;
      if (*v <= Duration::zero() || *v > std::chrono::hours(1)) {
        problems.add(entry.child("deadline"),
                     "a deadline must be more than 0 and at most 1h; give e.g. \"200ms\"");
      }
    }
    if (const Json* retry = entry.optional("retry")) {
      ObjectReader r(*retry, entry.child("retry"), problems, "a retry policy");
      if (auto v = r.integer("attempts", Need::kOptional, 1, kMaxAttempts, "attempts (1 = no retry)"))
        config.attempts = *v;
      if (auto v = r.duration("backoff", Need::kOptional)) {
        config.backoff = *v;
        if (*v > std::chrono::minutes(10))
          problems.add(r.child("backoff"),
                       "a backoff over 10m leaves requests hanging; give at most \"10m\"");
      }
      if (auto v = r.string("prefer", Need::kOptional)) {
        if (*v == "any")
          config.prefer = Prefer::kAny;
        else if (*v == "local")
          config.prefer = Prefer::kLocal;
        else if (*v == "remote")
          config.prefer = Prefer::kRemote;
        else
          problems.add(r.child("prefer"),
                       "unknown preference \"" + *v + "\"; use \"any\", \"local\" or \"remote\"");
      }
      r.finish("in a retry policy");
    }
    if (const Json* routing = entry.optional("routing")) {
      ObjectReader r(*routing, entry.child("routing"), problems, "a routing policy");
      if (auto v = r.number("local_fraction", Need::kOptional, 0, 1, "(a fraction)"))
        config.local_fraction = *v;
      if (auto v = r.duration("eject_for", Need::kOptional)) config.eject_for = *v;
      r.finish("in a routing policy");
    }
    if (auto v = entry.integer("request_bytes", Need::kOptional, 0, kMaxPayloadBytes, "bytes"))
      config.request_bytes = *v;
    if (auto v = entry.integer("reply_bytes", Need::kOptional, 0, kMaxPayloadBytes, "bytes"))
      config.reply_bytes = *v;
    if (auto v = entry.string("planted_bug", Need::kOptional)) {
      if (*v == "no_deadline")
        config.planted_bug = PlantedBug::kNoDeadline;
      else if (*v == "retry_same_server")
        config.planted_bug = PlantedBug::kRetrySameServer;
      else
        problems.add(entry.child("planted_bug"), "unknown planted bug \"" + *v +
                                                     "\"; use \"no_deadline\" or \"retry_same_server\" "
                                                     "(planted bugs exist only to test tandem explore)");
    }
    entry.finish("for service kind \"rpc\"");
    if (problems.size() != before || !server_group || !client_group) return nullptr;

    if (config.clusters.empty()) {
      std::set<sim::ClusterId> with_groups;
      for (NodeId node : topology.nodes_in_group(*server_group))
        with_groups.insert(topology.cluster_of(node));
      for (NodeId node : topology.nodes_in_group(*client_group))
        with_groups.insert(topology.cluster_of(node));
      config.clusters.assign(with_groups.begin(), with_groups.end());
    }
    config.server_group = *server_group;
    config.client_group = *client_group;
    config.servers = topology.nodes_in_group(*server_group, config.clusters);
    config.clients = topology.nodes_in_group(*client_group, config.clusters);
    if (config.servers.empty()) {
      problems.add(entry.child("servers"),
                   "no node of group \"" + *server_group + "\" is in the service's clusters");
    }
    if (config.clients.empty()) {
      problems.add(entry.child("clients"),
                   "no node of group \"" + *client_group + "\" is in the service's clusters");
    }
    if (problems.size() != before) return nullptr;
    return std::make_shared<RpcSpec>(std::move(config));
  }

  std::shared_ptr<const ServiceOperation> parse_operation(const ServiceSpec& service, const std::string& op,
                                                          ObjectReader& event,
                                                          Problems& problems) const override {
    if (op != "set_service_time") return ServiceKind::parse_operation(service, op, event, problems);
    auto operation = std::make_shared<SetServiceTime>();
    operation->name = op;
    const Json* value = event.required(
        "service_time", "give the new service time, e.g. {\"kind\": \"constant\", \"value\": \"50ms\"}");
    if (value == nullptr) return nullptr;
    std::optional<sim::LatencyModel> model = parse_latency(*value, event.child("service_time"), problems);
    if (!model) return nullptr;
    operation->service_time = *model;
    operation->description = "set " + service.name() + " service time to " + model->to_string();
    return operation;
  }
};

}  // namespace

std::unique_ptr<ServiceKind> make_rpc_service_kind() { return std::make_unique<RpcKind>(); }

const RpcServiceConfig* rpc_config(const ServiceSpec& spec) {
  const auto* rpc = dynamic_cast<const RpcSpec*>(&spec);
  return rpc == nullptr ? nullptr : &rpc->config();
}

Duration rpc_request_budget(const RpcServiceConfig& config) {
  return config.deadline * config.attempts + config.backoff * (config.attempts - 1);
}

std::optional<LatencyModel> rpc_set_service_time(const ServiceOperation& operation) {
  const auto* set = dynamic_cast<const SetServiceTime*>(&operation);
  if (set == nullptr) return std::nullopt;
  return set->service_time;
}

void add_rpc_figures(reports::RunRecord& record, const RpcServiceConfig& config) {
  const std::string prefix = "rpc." + config.name + ".";
  record.figures[prefix + "servers"] = static_cast<double>(config.servers.size());
  record.figures[prefix + "clients"] = static_cast<double>(config.clients.size());
}

RpcClient::RpcClient(Env& env, const RpcTargets& targets, sim::ClusterId cluster, Done done, Cut cut)
    : env_(env),
      targets_(targets),
      cluster_(cluster),
      done_(std::move(done)),
      cut_(std::move(cut)),
      endpoint_(env.transport, env.clock),
      ejected_until_(targets.servers.size()) {}

// Picks a server: local first with probability local_fraction (or per the retry preference), healthy ones
// before ejected ones, never one already tried when another exists.
size_t RpcClient::choose(bool retry, const std::vector<size_t>& tried) {
  const RpcConfig& config = targets_.config;
  if (retry && config.planted_bug == PlantedBug::kRetrySameServer) return tried.back();
  bool want_local;
  if (!retry || config.prefer == Prefer::kAny) {
    want_local = env_.random.chance(config.local_fraction);
  } else {
    want_local = config.prefer == Prefer::kLocal;
  }
  std::vector<size_t>& pool = pool_;
  for (int pass = 0; pass < 4; ++pass) {
    // Passes: preferred side & healthy; any side & healthy; preferred side; anything (ignoring `tried`
    // only on the last).
    pool.clear();
    for (size_t s = 0; s < targets_.servers.size(); ++s) {
      const bool local = targets_.server_clusters[s] == cluster_;
      if (pass != 1 && pass != 3 && local != want_local) continue;
      if (pass < 2 && !healthy(s)) continue;
      if (pass < 3 && std::find(tried.begin(), tried.end(), s) != tried.end()) continue;
      pool.push_back(s);
    }
    if (!pool.empty()) return pool[env_.random.below(pool.size())];
  }
  return env_.random.below(targets_.servers.size());
}

Task<void> RpcClient::run(reports::RequestLog::RequestId id) {
  const RpcConfig& config = targets_.config;
  std::vector<size_t> tried;
  Result<Bytes> reply = make_error(Errc::kInternal, "no attempt made");
  uint32_t attempts = 0;
  for (int64_t attempt = 0; attempt < config.attempts; ++attempt) {
    if (attempt > 0 && config.backoff > Duration::zero()) co_await sleep(env_.clock, config.backoff);
    const size_t server = choose(attempt > 0, tried);
    tried.push_back(server);
    ++attempts;
    const Duration deadline =
        config.planted_bug == PlantedBug::kNoDeadline ? Duration{std::chrono::hours(24)} : config.deadline;
    if (cut_ && cut_(server)) {
      ++attempts_cut_;
      co_await sleep(env_.clock, deadline);
      reply = make_error(Errc::kTimeout, "no reply: the link to the server is cut");
    } else {
      reply = co_await endpoint_.call(targets_.servers[server], apps::kRpcCallMethod, targets_.request, deadline);
    }
    if (reply.ok()) break;
    if (config.eject_for > Duration::zero()) ejected_until_[server] = env_.clock.now() + config.eject_for;
  }
  done_(id, reply.code(), attempts);
}

}  // namespace tandem::scenarios
