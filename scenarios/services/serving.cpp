#include "scenarios/services/serving.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>
#include <tuple>

#include "core/async/sleep.h"
#include "core/runtime/runtime_node.h"
#include "core/serving/appmaster_client.h"
#include "core/serving/catalog.h"
#include "core/serving/discovery.h"
#include "core/serving/serving_client.h"
#include "core/serving/serving_keeper.h"
#include "core/serving/service_metadata.h"

namespace tandem::scenarios {
namespace {

using namespace std::chrono_literals;
namespace sv = tandem::serving;

constexpr size_t kMaxPayloadVariety = 997;  // distinct request payloads (validation replays recorded ones)
constexpr Duration kMaxPolicyDuration = std::chrono::hours(24);

using ServingConfig = ServingServiceConfig;

// ---------------------------------------------------------------------------------------------------------
// Node parts.

class RuntimePart final : public sim::NodeProcess {
 public:
  RuntimePart(Env& env, const runtime::RuntimeCatalog& catalog, runtime::RuntimeNodeOptions options)
      : node(env, catalog, std::move(options)) {}
  runtime::RuntimeNode node;
  Scope drivers;  // last: drivers use the node
};

class DiscoveryPart final : public sim::NodeProcess {
 public:
  DiscoveryPart(Env& env, sv::DiscoveryPlantedBugs planted) : server(env, planted) {}
  sv::DiscoveryServer server;
};

struct Observation;

class KeeperPart final : public sim::NodeProcess {
 public:
  KeeperPart(Env& env, sv::ServingKeeperOptions options, const ServingConfig& config,
             const runtime::RuntimeCatalog& catalog)
      : env_(env), keeper(env, options) {
    for (const std::string& cluster : config.clusters) {
      runtime::ClientOptions client_options;
      client_options.control_store = Address{config.heads.at(cluster), runtime::kControlStorePort};
      client_options.catalog = &catalog;
      runtimes_.push_back(std::make_unique<runtime::RuntimeClient>(env, client_options));
      sv::AppMasterClientOptions master_options;
      master_options.call_timeout = 1s;
      master_options.attempts = 1;
      masters.push_back(std::make_unique<sv::AppMasterClient>(*runtimes_.back(), config.name, cluster,
                                                              options.appmaster, master_options));
    }
  }
  Env& env() { return env_; }

 private:
  Env& env_;
  std::vector<std::unique_ptr<runtime::RuntimeClient>> runtimes_;

 public:
  sv::ServingKeeper keeper;
  std::vector<std::unique_ptr<sv::AppMasterClient>> masters;  // the observer's, one per cluster
  Scope operations;  // last: operations and the observer use everything above
};

class ClientPart final : public sim::NodeProcess {
 public:
  ClientPart(Env& env, sv::ServingClientOptions options) : client(env, std::move(options)) { client.start(); }
  sv::ServingClient client;
  Scope requests;  // last: request coroutines use the client
};

// ---------------------------------------------------------------------------------------------------------
// The instance.

class ServingInstance final : public ServiceInstance {
 public:
  ServingInstance(const ServingConfig& config, ServiceContext& context)
      : config_(config),
        world_(context.world),
        topology_(context.topology),
        requests_(context.requests),
        serving_(context.serving),
        request_service_(context.request_service) {
    sv::register_serving_classes(catalog_);
    serving_.present = true;

    // Runtime nodes: heads and workers of every serving cluster.
    for (const std::string& cluster : config.clusters) {
      const NodeId head = config.heads.at(cluster);
      add_runtime(context, head, head, true, cluster);
      for (NodeId worker : config.workers.at(cluster)) add_runtime(context, worker, head, false, cluster);
      head_slots_[cluster] = runtime_slots_.at(head);
    }
    discovery_slot_ = context.hosting.add_part(
        config.discovery,
        [planted = config.planted](Env& env) { return std::make_unique<DiscoveryPart>(env, planted); });

    const sv::ServingKeeperOptions keeper_options = serving_keeper_options(config);
    keeper_slot_ = context.hosting.add_part(config.keeper, [this, keeper_options](Env& env) {
      return std::make_unique<KeeperPart>(env, keeper_options, config_, catalog_);
    });

    for (NodeId client : config.clients) {
      const sv::ServingClientOptions options = serving_client_options(config, client);
      client_slots_[client] = context.hosting.add_part(
          client, [options](Env& env) { return std::make_unique<ClientPart>(env, options); });
    }

    context.injector.set_actor_kill_hook([this](const std::string& actor) { return kill_actor(actor); });

    if (config.auto_deploy) {
      world_.at(TimePoint(config.deploy_at), [this] { deploy("deploy " + config_.name); });
    }
    world_.at(TimePoint(config.observe_every), [this] { observe_tick(); });
  }

  void issue(NodeId client) override {
    ClientPart* part = NodeHosting::part<ClientPart>(world_, client, client_slots_.at(client));
    if (part == nullptr) {
      requests_.not_issued(request_service_, world_.now());
      return;
    }
    const auto id = requests_.begin(request_service_, client, world_.now(), budget());
    part->requests.spawn(one_request(part->client, id, payload(next_payload_++ % kMaxPayloadVariety)));
  }

  void operate(const ServiceOperation& operation) override {
    const auto& op = dynamic_cast<const ServingOperation&>(operation);
    if (op.name == "deploy") {
      deploy(op.description);
      return;
    }
    // Not a coroutine lambda: its captures would die before the coroutine ends.
    run_on_keeper(op.description, [this, op](sv::ServingKeeper& keeper) {
      return run_serving_operation(keeper, config_.name, op, serving_);
    });
  }

  void finish(reports::RunRecord& record) override {
    observations_.finish(record, operations_ok_, operations_failed_);
  }

 private:
  Duration budget() const { return config_.client_deadline + 200ms; }
  // "req-<n>", built in place (once per request: to_string and a concatenation cost twice as much).
  static std::string payload(uint64_t n) {
    char buffer[32] = "req-";
    char* end = std::to_chars(buffer + 4, buffer + sizeof buffer, n).ptr;
    return std::string(buffer, end);
  }

  Task<void> one_request(sv::ServingClient& client, reports::RequestLog::RequestId id, std::string payload) {
    sv::RequestOutcome outcome = co_await client.request(std::move(payload));
    requests_.end(id, outcome.code, world_.now(), std::max<uint32_t>(1, outcome.attempts));
    if (outcome.ok()) observations_.answered(outcome.cluster, outcome.version);
  }

  void add_runtime(ServiceContext& context, NodeId node, NodeId head, bool is_head, const std::string& cluster) {
    runtime::RuntimeNodeOptions options;
    options.head = head;
    options.run_control_store = is_head;
    options.control_store.heartbeat_period = config_.heartbeat_period;
    options.control_store.heartbeat_miss_limit = config_.heartbeat_miss_limit;
    options.control_store.lease_start_grace = config_.heartbeat_period * 10;
    options.daemon.heartbeat_period = config_.heartbeat_period;
    options.daemon.client.long_poll_timeout = 2s;
    const auto& [resources, labels] = config_.node_resources.at(node);
    Result<runtime::ResourceSet> set = runtime::ResourceSet::make(resources);
    TANDEM_CHECK(set.ok(), "node resources were validated by the loader");
    options.daemon.resources = set.value();
    options.daemon.labels.clear();
    for (const auto& [key, value] : labels) options.daemon.labels[key] = value;
    options.daemon.labels["cluster"] = cluster;
    runtime_slots_[node] = context.hosting.add_part(node, [this, options](Env& env) {
      return std::make_unique<RuntimePart>(env, catalog_, options);
    });
  }

  KeeperPart* keeper_part() { return NodeHosting::part<KeeperPart>(world_, config_.keeper, keeper_slot_); }

  template <typename Make>
  void run_on_keeper(const std::string& what, Make make) {
    KeeperPart* part = keeper_part();
    if (part == nullptr) {
      ++operations_failed_;
      world_.note(config_.keeper, "note", what + ": not run, the keeper node is down");
      return;
    }
    part->operations.spawn(run_operation(part->keeper, what, make(part->keeper)));
  }

  Task<void> run_operation(sv::ServingKeeper&, std::string what, Task<Status> operation) {
    Status status = co_await std::move(operation);
    if (status.ok()) {
      ++operations_ok_;
      world_.note(config_.keeper, "note", what + ": ok");
    } else {
      ++operations_failed_;
      world_.note(config_.keeper, "note", what + ": " + status.error().to_string());
    }
  }

  void deploy(const std::string& what) {
    sv::ServiceSpec spec = config_.spec;
    run_on_keeper(what, [spec](sv::ServingKeeper& keeper) { return keeper.deploy(spec, kServingDeployTimeout); });
  }

  // --- kill_actor faults --------------------------------------------------------------------------------
  Status kill_actor(const std::string& target) {
    std::string cluster_name;
    std::string actor = target;
    if (auto colon = target.find(':'); colon != std::string::npos) {
      cluster_name = target.substr(0, colon);
      actor = target.substr(colon + 1);
    }
    size_t killed = 0;
    std::string why;
    for (const std::string& cluster : config_.clusters) {
      if (!cluster_name.empty() && cluster != cluster_name) continue;
      RuntimePart* head = NodeHosting::part<RuntimePart>(world_, config_.heads.at(cluster), head_slots_.at(cluster));
      if (head == nullptr || head->node.control_store() == nullptr) {
        why += " the head of " + cluster + " is down;";
        continue;
      }
      for (const runtime::ActorInfo& info : head->node.control_store()->actors()) {
        if (info.name != actor || info.state == runtime::ActorState::kDead) continue;
        head->drivers.spawn(kill_on(head->node.client(), info.id));
        ++killed;
      }
    }
    if (killed > 0) return Status{};
    return Error{Errc::kNotFound, "no live actor named \"" + actor + "\"" +
                                      (cluster_name.empty() ? "" : " in cluster " + cluster_name) + ";" + why};
  }

  static Task<void> kill_on(runtime::RuntimeClient& client, runtime::ActorId id) {
    co_await client.kill_actor(id, /*no_restart=*/false);
  }

  // --- The observer ---------------------------------------------------------------------------------------
  void observe_tick() {
    world_.after(config_.observe_every, [this] { observe_tick(); });
    observe_discovery();
    KeeperPart* part = keeper_part();
    if (part == nullptr || probing_) return;
    probing_ = true;
    part->operations.spawn(probe_all(*part));
  }

  Task<void> probe_all(KeeperPart& part) {
    for (size_t c = 0; c < config_.clusters.size(); ++c) {
      Result<sv::AppMasterStatus> status = co_await part.masters[c]->probe(std::min<Duration>(config_.observe_every, 800ms));
      if (status.ok()) take(config_.clusters[c], status.value());
    }
    probing_ = false;
  }

  void take(const std::string& cluster, const sv::AppMasterStatus& status) {
    observations_.take(cluster, status, to_ns(world_.now()));
  }

  // Discovery is converged when, in every cluster with weight, it lists exactly the nodes of the service's
  // live proxies that discovery can reach (read in-process: no messages, so observing does not change the run).
  void observe_discovery() {
    auto* discovery = NodeHosting::part<DiscoveryPart>(world_, config_.discovery, discovery_slot_);
    if (discovery == nullptr) return;
    const sv::Resolution resolution = discovery->server.resolve_now(config_.name);
    bool converged = true;
    const std::string prefix = sv::member_prefix(config_.name);
    for (const std::string& cluster : config_.clusters) {
      const auto [listed, weight] = ServingObservations::listed(resolution, cluster);
      RuntimePart* head = NodeHosting::part<RuntimePart>(world_, config_.heads.at(cluster), head_slots_.at(cluster));
      if (head == nullptr || head->node.control_store() == nullptr) {
        // The cluster's control plane is gone: converged once discovery routes nothing there.
        if (weight > 0 && !listed.empty()) converged = false;
        continue;
      }
      std::multiset<NodeId> live;
      for (const runtime::ActorInfo& info : head->node.control_store()->actors()) {
        if (info.class_name != sv::kProxyClass || info.state != runtime::ActorState::kAlive) continue;
        if (info.name.rfind(prefix, 0) != 0 || info.node == kNoNode) continue;
        if (world_.state(info.node) != sim::NodeState::kUp) continue;
        if (!world_.network().reachable(config_.discovery, info.node)) continue;
        live.insert(info.node);
      }
      if (weight == 0) continue;  // no traffic goes there: its list does not matter to clients
      if (listed != live) converged = false;
    }
    observations_.discovery(converged, !resolution.clusters.empty(), to_ns(world_.now()));
  }

  const ServingConfig& config_;
  sim::World& world_;
  const TopologyIndex& topology_;
  reports::RequestLog& requests_;
  reports::ServingRecord& serving_;
  uint32_t request_service_;
  runtime::RuntimeCatalog catalog_;
  std::map<NodeId, size_t> runtime_slots_;
  std::map<std::string, size_t> head_slots_;
  std::map<NodeId, size_t> client_slots_;
  size_t discovery_slot_ = 0;
  size_t keeper_slot_ = 0;
  uint64_t next_payload_ = 0;
  uint64_t operations_ok_ = 0;
  uint64_t operations_failed_ = 0;
  bool probing_ = false;
  ServingObservations observations_{config_, serving_};
};

// ---------------------------------------------------------------------------------------------------------
// The spec.

class ServingSpecImpl final : public ServiceSpec {
 public:
  explicit ServingSpecImpl(ServingConfig config) : config_(std::move(config)) {}
  std::string_view kind() const override { return "serving"; }
  const std::string& name() const override { return config_.name; }
  const std::vector<NodeId>& clients() const override { return config_.clients; }
  Duration request_budget() const override { return config_.client_deadline + 200ms; }
  std::unique_ptr<ServiceInstance> instantiate(ServiceContext& context) const override {
    return std::make_unique<ServingInstance>(config_, context);
  }
  bool runs_actors() const override { return true; }
  bool autoscales() const override { return config_.spec.autoscale.mode != sv::AutoscaleMode::kOff; }
  // Each cluster's AppMaster is what the seed's failure stories kill.
  std::vector<std::string> explore_actor_targets() const override {
    std::vector<std::string> actors;
    for (const std::string& cluster : config_.clusters)
      actors.push_back(cluster + ":" + sv::appmaster_name(config_.name));
    return actors;
  }
  // Operations an operator runs while things fail: AppMaster kills and job restarts, scaling by one, and a
  // rolling upgrade to each other version.
  std::vector<Json> explore_operations() const override {
    std::vector<Json> operations;
    for (const std::string& cluster : config_.clusters) {
      operations.push_back({{"op", "kill_appmaster"}, {"service", config_.name}, {"cluster", cluster}});
      operations.push_back({{"op", "restart_job"}, {"service", config_.name}, {"cluster", cluster}});
      const auto replicas = config_.spec.replicas.find(cluster);
      if (replicas != config_.spec.replicas.end() && config_.spec.autoscale.mode == sv::AutoscaleMode::kOff) {
        operations.push_back(
            {{"op", "scale"}, {"service", config_.name}, {"cluster", cluster}, {"replicas", replicas->second + 1}});
      }
    }
    for (const auto& version : config_.spec.versions) {
      if (version.name != config_.spec.version)
        operations.push_back({{"op", "upgrade"}, {"service", config_.name}, {"version", version.name}});
    }
    return operations;
  }
  std::string describe() const override {
    int32_t replicas = 0;
    for (const auto& [cluster, count] : config_.spec.replicas) replicas += count;
    return "serving " + config_.name + ": " + std::to_string(replicas) + " backends of " + config_.spec.version +
           " in " + std::to_string(config_.clusters.size()) + " clusters, " +
           std::to_string(config_.spec.proxies_per_cluster) + " proxies each, " +
           std::to_string(config_.clients.size()) + " clients; autoscale " +
           std::string(sv::autoscale_mode_name(config_.spec.autoscale.mode));
  }
  const ServingConfig& config() const { return config_; }

 private:
  ServingConfig config_;
};

// ---------------------------------------------------------------------------------------------------------
// Parsing.

std::optional<Duration> positive_duration(ObjectReader& r, std::string_view key, Duration max = kMaxPolicyDuration) {
  std::optional<Duration> value = r.duration(key, Need::kOptional);
  if (!value) return std::nullopt;
  if (*value <= Duration::zero() || *value > max) {
    r.problems().add(r.child(key), "must be more than 0 and at most " + format_duration(max) + "; give e.g. \"1s\"");
    return std::nullopt;
  }
  return value;
}

template <typename T>
void read_count(ObjectReader& r, std::string_view key, T& out, int64_t min, int64_t max, std::string_view unit) {
  if (auto v = r.integer(key, Need::kOptional, min, max, unit)) out = static_cast<T>(*v);
}

void read_resources(ObjectReader& r, std::string_view key, runtime::ResourceSet& out) {
  const Json* value = r.optional(key);
  if (value == nullptr) return;
  const std::string at = r.child(key);
  if (!value->is_object()) {
    r.problems().add(at, "must be an object of resource amounts, e.g. {\"CPU\": 1}; got " + describe_json(*value));
    return;
  }
  std::map<std::string, double> amounts;
  for (const auto& [name, amount] : value->items()) {
    if (auto v = read_number(amount, child_pointer(at, name), r.problems(), 0, 1e15)) amounts[name] = *v;
  }
  Result<runtime::ResourceSet> set = runtime::ResourceSet::make(amounts);
  if (!set.ok()) {
    r.problems().add(at, set.error().message);
    return;
  }
  out = set.value();
}

std::optional<sv::ServiceTime> parse_service_time(const Json& value, const std::string& at, Problems& problems) {
  sv::ServiceTime time;
  if (value.is_string()) {
    auto d = read_duration(value, at, problems);
    if (!d) return std::nullopt;
    time.shape = sv::LatencyShape::kConstant;
    time.median = *d;
    return time;
  }
  ObjectReader r(value, at, problems, "a latency (\"4ms\" or {\"shape\": \"lognormal\", \"median\": \"4ms\", \"sigma\": 0.3})");
  if (!r.ok()) return std::nullopt;
  const size_t before = problems.size();
  if (auto shape = r.string("shape", Need::kOptional)) {
    if (*shape == "constant") time.shape = sv::LatencyShape::kConstant;
    else if (*shape == "lognormal") time.shape = sv::LatencyShape::kLognormal;
    else if (*shape == "pareto") time.shape = sv::LatencyShape::kPareto;
    else problems.add(r.child("shape"), "unknown shape \"" + *shape + "\"; use \"constant\", \"lognormal\" or \"pareto\"");
  }
  if (auto v = positive_duration(r, "median", 1h)) time.median = *v;
  else if (!r.has("median")) problems.add(r.child("median"), "missing; give the median latency, e.g. \"4ms\"");
  if (auto v = r.number("sigma", Need::kOptional, 0, 5)) time.sigma = *v;
  if (auto v = r.number("alpha", Need::kOptional, 1.01, 100)) time.alpha = *v;
  r.finish("in a latency");
  if (problems.size() != before) return std::nullopt;
  return time;
}

std::optional<sv::VersionSpec> parse_version(const Json& value, const std::string& at, Problems& problems,
                                            const std::vector<std::string>& clusters) {
  ObjectReader r(value, at, problems, "a version");
  if (!r.ok()) return std::nullopt;
  const size_t before = problems.size();
  sv::VersionSpec version;
  if (auto name = r.string("name", Need::kRequired, "name the version, e.g. \"v1\"")) {
    version.name = *name;
    if (Status ok = sv::validate_service_name(*name, "a version name"); !ok.ok()) {
      problems.add(r.child("name"), ok.error().message);
    }
  }
  if (const Json* latency = r.optional("latency")) {
    if (auto t = parse_service_time(*latency, r.child("latency"), problems)) version.latency = *t;
  }
  if (auto v = r.number("error_rate", Need::kOptional, 0, 1, "(a fraction)")) version.error_rate = *v;
  if (auto v = r.duration("startup", Need::kOptional)) version.startup = *v;
  if (auto v = r.duration("reload", Need::kOptional)) version.reload = *v;
  for (std::string_view key : {"startup", "reload"}) {
    const Duration d = key == "startup" ? version.startup : version.reload;
    if (d > 1h) problems.add(r.child(key), "at most \"1h\"; an instance that takes longer never starts in a run");
  }
  if (auto v = r.string("output_salt", Need::kOptional)) version.output_salt = *v;
  if (auto v = r.number("output_noise", Need::kOptional, 0, 1, "(a fraction)")) version.output_noise = *v;
  read_count(r, "concurrency", version.concurrency, 1, sv::kMaxBackendConcurrency, "requests");
  if (auto v = r.boolean("reload_fails", Need::kOptional)) version.reload_fails = *v;
  if (const Json* broken = r.optional("broken_in")) {
    const std::string bat = r.child("broken_in");
    if (const Json* array = read_array(*broken, bat, problems, sv::kMaxClustersPerService, "cluster names")) {
      for (size_t i = 0; i < array->size(); ++i) {
        auto name = read_string((*array)[i], child_pointer(bat, i), problems, "a cluster name");
        if (!name) continue;
        if (std::find(clusters.begin(), clusters.end(), *name) == clusters.end()) {
          problems.add(child_pointer(bat, i), "no serving cluster named \"" + *name + "\"; serving clusters: " +
                                                  join_names(clusters));
          continue;
        }
        version.broken_in.push_back(*name);
      }
    }
  }
  r.finish("in a version");
  if (problems.size() != before) return std::nullopt;
  return version;
}

// A node or a group name: the node itself, or the first node of the group in the scenario.
std::optional<NodeId> read_host(ObjectReader& r, std::string_view key, const std::string& fallback,
                                const TopologyIndex& topology) {
  const bool given = r.has(key);
  std::optional<std::string> name = r.string(key, Need::kOptional);
  if (given && !name) return std::nullopt;
  const std::string value = name.value_or(fallback);
  if (auto node = topology.find_node(value)) return node;
  const std::vector<NodeId> nodes = topology.nodes_in_group(value);
  if (!nodes.empty()) return nodes.front();
  std::string message = "no node or node group named \"" + value + "\"";
  if (!given) message = "missing, and the scenario has no node group \"" + fallback + "\"";
  r.problems().add(r.child(key), message + "; name the node that runs the " + std::string(key) +
                                     " (e.g. \"ops/" + fallback + "0\") or add a group \"" + fallback +
                                     "\" to a cluster" + suggestion(value, topology.group_names(), "groups"));
  return std::nullopt;
}

class ServingKind final : public ServiceKind {
 public:
  std::string_view name() const override { return "serving"; }
  std::string_view summary() const override {
    return "the serving control plane on the actor runtime: AppMasters, proxies and versioned backends per "
           "cluster, two-level discovery, local-first clients, a ServingKeeper for releases and outages";
  }
  std::vector<std::string> operations() const override {
    return {"deploy", "scale", "upgrade", "canary", "blue_green", "kill_appmaster", "restart_job", "set_weight"};
  }

  std::shared_ptr<const ServiceSpec> parse(ObjectReader& entry, const std::string& name,
                                           const TopologyIndex& topology, Problems& problems) const override {
    const size_t before = problems.size();
    ServingConfig config;
    config.name = name;
    if (Status ok = sv::validate_service_name(name, "a serving service name"); !ok.ok()) {
      problems.add(entry.child("name"), ok.error().message);
    }
    const std::vector<std::string> groups = topology.group_names();
    auto group = [&](std::string_view key, const std::string& fallback) {
      return read_node_group(entry, key, fallback, groups, problems);
    };
    const auto heads = group("heads", "head");
    const auto workers = group("workers", "worker");
    const auto clients = group("clients", "client");

    // Serving clusters.
    std::vector<sim::ClusterId> cluster_ids;
    if (const Json* clusters = entry.optional("clusters")) {
      const std::string at = entry.child("clusters");
      if (const Json* array = read_array(*clusters, at, problems, sv::kMaxClustersPerService, "cluster names")) {
        if (array->empty()) problems.add(at, "is empty; leave it out to use every cluster with a head node");
        for (size_t i = 0; i < array->size(); ++i) {
          auto cluster = read_string((*array)[i], child_pointer(at, i), problems, "a cluster name");
          if (!cluster) continue;
          if (auto id = topology.find_cluster(*cluster)) {
            cluster_ids.push_back(*id);
          } else {
            problems.add(child_pointer(at, i), "no cluster named \"" + *cluster + "\"" +
                                                   suggestion(*cluster, topology.cluster_names(), "known clusters"));
          }
        }
      }
    } else if (heads) {
      std::set<sim::ClusterId> with_head;
      for (NodeId node : topology.nodes_in_group(*heads)) with_head.insert(topology.cluster_of(node));
      cluster_ids.assign(with_head.begin(), with_head.end());
    }
    if (heads && workers && clients) {
      for (sim::ClusterId id : cluster_ids) {
        const std::string& cluster = topology.cluster_name(id);
        const std::vector<NodeId> h = topology.nodes_in_group(*heads, {id});
        const std::vector<NodeId> w = topology.nodes_in_group(*workers, {id});
        if (h.size() != 1) {
          problems.add(entry.child("heads"), "cluster " + cluster + " has " + std::to_string(h.size()) +
                                                 " nodes of group \"" + *heads +
                                                 "\"; a serving cluster needs exactly one head node");
          continue;
        }
        if (w.empty()) {
          problems.add(entry.child("workers"), "cluster " + cluster + " has no node of group \"" + *workers +
                                                   "\"; the AppMaster, proxies and backends run on workers");
          continue;
        }
        config.clusters.push_back(cluster);
        config.heads[cluster] = h.front();
        config.workers[cluster] = w;
      }
      // Clients anywhere: in a serving cluster they prefer it (local-first); elsewhere (an "edge" cluster)
      // they follow discovery's weights alone.
      for (NodeId client : topology.nodes_in_group(*clients)) {
        const std::string& cluster = topology.cluster_name(topology.cluster_of(client));
        const bool serving_cluster =
            std::find(config.clusters.begin(), config.clusters.end(), cluster) != config.clusters.end();
        config.clients.push_back(client);
        config.client_cluster[client] = serving_cluster ? cluster : "";
      }
      if (config.clients.empty()) {
        problems.add(entry.child("clients"), "no node of group \"" + *clients + "\" in the scenario");
      }
    }
    std::sort(config.clients.begin(), config.clients.end());
    if (auto node = read_host(entry, "discovery", "discovery", topology)) config.discovery = *node;
    if (auto node = read_host(entry, "keeper", "keeper", topology)) config.keeper = *node;

    // The service spec.
    sv::ServiceSpec& spec = config.spec;
    spec.name = name;
    if (const Json* versions = entry.required("versions", "list the versions, e.g. [{\"name\": \"v1\"}]")) {
      const std::string at = entry.child("versions");
      if (const Json* array = read_array(*versions, at, problems, sv::kMaxVersions, "versions")) {
        if (array->empty()) problems.add(at, "is empty; list at least one version, e.g. [{\"name\": \"v1\"}]");
        std::set<std::string> seen;
        for (size_t i = 0; i < array->size(); ++i) {
          auto version = parse_version((*array)[i], child_pointer(at, i), problems, config.clusters);
          if (!version) continue;
          if (!seen.insert(version->name).second) {
            problems.add(child_pointer(child_pointer(at, i), "name"), "version \"" + version->name +
                                                                          "\" is listed twice; give each a new name");
          }
          spec.versions.push_back(*version);
        }
      }
    }
    std::vector<std::string> version_names;
    for (const auto& v : spec.versions) version_names.push_back(v.name);
    if (auto v = entry.string("version", Need::kOptional)) {
      spec.version = *v;
      if (!version_names.empty() && spec.find_version(*v) == nullptr) {
        problems.add(entry.child("version"), "unknown version \"" + *v + "\"" +
                                                 suggestion(*v, version_names, "versions"));
      }
    } else if (!spec.versions.empty()) {
      spec.version = spec.versions.front().name;
    }
    if (const Json* replicas = entry.optional("replicas")) {
      const std::string at = entry.child("replicas");
      if (replicas->is_object()) {
        for (const auto& [cluster, count] : replicas->items()) {
          const std::string cat = child_pointer(at, cluster);
          if (std::find(config.clusters.begin(), config.clusters.end(), cluster) == config.clusters.end()) {
            problems.add(cat, "no serving cluster named \"" + cluster + "\"" +
                                  suggestion(cluster, config.clusters, "serving clusters"));
            continue;
          }
          if (auto n = read_integer(count, cat, problems, 0, sv::kMaxReplicasPerCluster, "backends")) {
            spec.replicas[cluster] = static_cast<int32_t>(*n);
          }
        }
      } else if (auto n = read_integer(*replicas, at, problems, 0, sv::kMaxReplicasPerCluster, "backends per cluster")) {
        for (const std::string& cluster : config.clusters) spec.replicas[cluster] = static_cast<int32_t>(*n);
      }
    } else {
      for (const std::string& cluster : config.clusters) spec.replicas[cluster] = 2;
    }
    read_count(entry, "proxies_per_cluster", spec.proxies_per_cluster, 1, sv::kMaxProxiesPerCluster, "proxies");
    read_resources(entry, "backend_resources", spec.backend_resources);
    read_resources(entry, "proxy_resources", spec.proxy_resources);

    if (const Json* upgrade = entry.optional("upgrade")) {
      ObjectReader r(*upgrade, entry.child("upgrade"), problems, "an upgrade policy");
      sv::UpgradePolicy& u = spec.upgrade;
      read_count(r, "step", u.step, 1, sv::kMaxReplicasPerCluster, "instances");
      read_count(r, "max_unavailable", u.max_unavailable, 0, sv::kMaxReplicasPerCluster, "instances");
      read_count(r, "max_surge", u.max_surge, 0, sv::kMaxReplicasPerCluster, "instances");
      if (auto v = positive_duration(r, "drain_timeout", 1h)) u.drain_timeout = *v;
      if (auto v = positive_duration(r, "step_timeout", 1h)) u.step_timeout = *v;
      if (auto v = r.boolean("validate", Need::kOptional)) u.validate = *v;
      read_count(r, "validation_requests", u.validation_requests, 1, sv::kMaxValidationRequests, "requests");
      if (auto v = r.number("max_error_rate_increase", Need::kOptional, 0, 1)) u.max_error_rate_increase = *v;
      if (auto v = r.number("max_latency_ratio", Need::kOptional, 1, 1000)) u.max_latency_ratio = *v;
      if (auto v = r.number("max_diff_rate", Need::kOptional, 0, 1)) u.max_diff_rate = *v;
      if (u.max_unavailable == 0 && u.max_surge == 0) {
        problems.add(r.child("max_unavailable"), "max_unavailable and max_surge are both 0, so no instance could "
                                                 "ever be upgraded; allow at least 1 of either");
      }
      r.finish("in an upgrade policy");
    }
    if (const Json* autoscale = entry.optional("autoscale")) {
      ObjectReader r(*autoscale, entry.child("autoscale"), problems, "an autoscale policy");
      sv::AutoscalePolicy& a = spec.autoscale;
      a.mode = sv::AutoscaleMode::kReactive;
      if (auto mode = r.string("mode", Need::kOptional)) {
        if (*mode == "off") a.mode = sv::AutoscaleMode::kOff;
        else if (*mode == "reactive") a.mode = sv::AutoscaleMode::kReactive;
        else if (*mode == "predictive") a.mode = sv::AutoscaleMode::kPredictive;
        else problems.add(r.child("mode"), "unknown mode \"" + *mode + "\"; use \"reactive\", \"predictive\" or \"off\"");
      }
      read_count(r, "min_replicas", a.min_replicas, 0, sv::kMaxReplicasPerCluster, "backends");
      read_count(r, "max_replicas", a.max_replicas, 1, sv::kMaxReplicasPerCluster, "backends");
      if (a.min_replicas > a.max_replicas) {
        problems.add(r.child("min_replicas"), "is above max_replicas (" + std::to_string(a.max_replicas) +
                                                  "); lower it or raise max_replicas");
      }
      if (auto v = r.number("target_concurrency", Need::kOptional, 0.01, 1e6, "requests")) a.target_concurrency = *v;
      if (auto v = positive_duration(r, "tick", 1h)) a.tick = *v;
      if (auto v = positive_duration(r, "stable_window", 24h)) a.stable_window = *v;
      if (auto v = positive_duration(r, "panic_window", 24h)) a.panic_window = *v;
      if (auto v = r.number("panic_threshold", Need::kOptional, 1, 1000)) a.panic_threshold = *v;
      if (auto v = r.number("max_scale_up_rate", Need::kOptional, 1, 1000)) a.max_scale_up_rate = *v;
      if (auto v = r.number("max_scale_down_rate", Need::kOptional, 1, 1000)) a.max_scale_down_rate = *v;
      if (auto v = r.duration("scale_down_delay", Need::kOptional)) a.scale_down_delay = *v;
      if (auto v = r.duration("provisioning_delay", Need::kOptional)) a.provisioning_delay = *v;
      if (auto v = positive_duration(r, "season", 24h * 7)) a.season = *v;
      read_count(r, "season_buckets", a.season_buckets, 2, 10'000, "buckets");
      if (auto v = positive_duration(r, "lead_time", 24h)) a.lead_time = *v;
      r.finish("in an autoscale policy");
      if (problems.size() == before) {
        for (auto& [cluster, count] : spec.replicas) {
          if (a.mode != sv::AutoscaleMode::kOff && (count < a.min_replicas || count > a.max_replicas)) {
            problems.add(child_pointer(entry.child("replicas"), cluster),
                         std::to_string(count) + " backends is outside the autoscaler's [" +
                             std::to_string(a.min_replicas) + ", " + std::to_string(a.max_replicas) +
                             "]; start within the bounds");
          }
        }
      }
    }
    if (const Json* proxy = entry.optional("proxy")) {
      ObjectReader r(*proxy, entry.child("proxy"), problems, "a proxy policy");
      read_count(r, "max_inflight", spec.proxy.max_inflight, 1, 1'000'000, "requests");
      read_count(r, "max_queue", spec.proxy.max_queue, 0, 10'000'000, "requests");
      read_count(r, "max_attempts", spec.proxy.max_attempts, 1, 10, "attempts");
      if (auto v = r.number("retry_ratio", Need::kOptional, 0, 1)) spec.proxy.retry_ratio = *v;
      r.finish("in a proxy policy");
    }
    if (const Json* slo = entry.optional("slo")) {
      ObjectReader r(*slo, entry.child("slo"), problems, "an SLO");
      if (auto v = r.number("availability", Need::kOptional, 0, 1, "(a fraction)")) spec.slo.availability = *v;
      if (auto v = positive_duration(r, "latency_p99", 1h)) spec.slo.latency_p99 = *v;
      r.finish("in an SLO");
    }
    if (const Json* client = entry.optional("client")) {
      ObjectReader r(*client, entry.child("client"), problems, "client options");
      if (auto v = positive_duration(r, "deadline", 10min)) config.client_deadline = *v;
      if (auto v = positive_duration(r, "per_try_timeout", 10min)) config.per_try_timeout = *v;
      if (auto v = positive_duration(r, "pull_interval", 10min)) config.pull_interval = *v;
      read_count(r, "max_attempts", config.client_attempts, 1, 10, "attempts");
      r.finish("in client options");
    }
    if (const Json* rt = entry.optional("runtime")) {
      ObjectReader r(*rt, entry.child("runtime"), problems, "runtime options");
      if (auto v = positive_duration(r, "heartbeat_period", 1min)) config.heartbeat_period = *v;
      read_count(r, "heartbeat_miss_limit", config.heartbeat_miss_limit, 1, 1000, "heartbeats");
      r.finish("in runtime options");
    }
    if (auto v = entry.duration("deploy_at", Need::kOptional)) config.deploy_at = *v;
    if (auto v = entry.boolean("auto_deploy", Need::kOptional)) config.auto_deploy = *v;
    if (auto v = positive_duration(entry, "observe_every", 1h)) config.observe_every = *v;
    if (auto v = entry.string("planted_bug", Need::kOptional)) {
      if (*v == "discovery_keeps_dead_proxies") {
        config.planted.keep_removed_proxies = true;
      } else {
        problems.add(entry.child("planted_bug"), "unknown planted bug \"" + *v +
                                                     "\"; use \"discovery_keeps_dead_proxies\" (planted bugs "
                                                     "exist only to test tandem explore)");
      }
    }
    entry.finish("for service kind \"serving\"");
    if (problems.size() != before) return nullptr;

    // The remaining cross-field rules are core/serving's own (one message naming each bad field).
    if (Status valid = spec.validate(); !valid.ok()) {
      problems.add(entry.pointer(), valid.error().message);
      return nullptr;
    }
    std::set<NodeId> runtime_nodes;
    for (const std::string& cluster : config.clusters) {
      runtime_nodes.insert(config.heads.at(cluster));
      runtime_nodes.insert(config.workers.at(cluster).begin(), config.workers.at(cluster).end());
    }
    for (NodeId node : runtime_nodes) {
      config.node_resources[node] = {topology.resources_of(node), topology.labels_of(node)};
    }
    for (NodeId node : {config.discovery, config.keeper}) {
      if (runtime_nodes.contains(node) || config.client_cluster.contains(node)) {
        problems.add(entry.child(node == config.discovery ? "discovery" : "keeper"),
                     "node " + topology.node_name(node) +
                         " is a head, worker or client of the service; give discovery and the keeper nodes of "
                         "their own");
      }
    }
    if (problems.size() != before) return nullptr;
    return std::make_shared<ServingSpecImpl>(std::move(config));
  }

  std::shared_ptr<const ServiceOperation> parse_operation(const ServiceSpec& service, const std::string& op,
                                                          ObjectReader& event, Problems& problems) const override {
    const std::vector<std::string> known = operations();
    if (std::find(known.begin(), known.end(), op) == known.end()) {
      return ServiceKind::parse_operation(service, op, event, problems);
    }
    const auto& config = dynamic_cast<const ServingSpecImpl&>(service).config();
    const size_t before = problems.size();
    auto operation = std::make_shared<ServingOperation>();
    operation->name = op;
    auto cluster = [&] {
      auto c = event.string("cluster", Need::kRequired, "name the serving cluster, e.g. \"" +
                                                            (config.clusters.empty() ? std::string("c1") : config.clusters.front()) + "\"");
      if (!c) return;
      if (std::find(config.clusters.begin(), config.clusters.end(), *c) == config.clusters.end()) {
        problems.add(event.child("cluster"), "no serving cluster named \"" + *c + "\" for service " + config.name +
                                                 suggestion(*c, config.clusters, "serving clusters"));
        return;
      }
      operation->cluster = *c;
    };
    auto version = [&] {
      auto v = event.string("version", Need::kRequired, "name the version to release, e.g. \"v2\"");
      if (!v) return;
      if (config.spec.find_version(*v) == nullptr) {
        std::vector<std::string> names;
        for (const auto& s : config.spec.versions) names.push_back(s.name);
        problems.add(event.child("version"), "unknown version \"" + *v + "\" of service " + config.name +
                                                 suggestion(*v, names, "versions") +
                                                 "; add it to the service's \"versions\"");
        return;
      }
      operation->version = *v;
    };
    std::string what = op + " " + config.name;
    if (op == "scale") {
      cluster();
      if (auto n = event.integer("replicas", Need::kRequired, 0, sv::kMaxReplicasPerCluster, "backends",
                                 "give the new number of backends")) {
        operation->replicas = static_cast<int32_t>(*n);
      }
      what += " in " + operation->cluster + " to " + std::to_string(operation->replicas);
    } else if (op == "upgrade") {
      version();
      what += " to " + operation->version + " (rolling)";
    } else if (op == "canary") {
      version();
      sv::CanaryPolicy& canary = operation->canary;
      if (const Json* steps = event.optional("weight_steps")) {
        const std::string at = event.child("weight_steps");
        if (const Json* array = read_array(*steps, at, problems, sv::kMaxCanarySteps, "weight steps")) {
          if (array->empty()) problems.add(at, "is empty; give the candidate's traffic percent per step, e.g. [5, 25, 50]");
          canary.weight_steps.clear();
          for (size_t i = 0; i < array->size(); ++i) {
            if (auto w = read_integer((*array)[i], child_pointer(at, i), problems, 0, 100, "percent")) {
              canary.weight_steps.push_back(static_cast<uint32_t>(*w));
            }
          }
        }
      }
      if (auto v = positive_duration(event, "step_duration", 1h)) canary.step_duration = *v;
      if (auto v = event.number("canary_fraction", Need::kOptional, 0.0001, 1, "(a fraction)")) canary.canary_fraction = *v;
      if (auto v = event.integer("min_requests", Need::kOptional, 0, 1'000'000, "requests")) canary.min_requests = static_cast<uint64_t>(*v);
      what += " to " + operation->version + " (canary)";
    } else if (op == "blue_green") {
      version();
      if (auto v = positive_duration(event, "bake", 1h)) operation->bake = *v;
      what += " to " + operation->version + " (blue-green, bake " + format_duration(operation->bake) + ")";
    } else if (op == "kill_appmaster") {
      cluster();
      what += " in " + operation->cluster;
    } else if (op == "restart_job") {
      cluster();
      if (auto v = event.boolean("kill_members", Need::kOptional)) operation->kill_members = *v;
      what += " in " + operation->cluster + (operation->kill_members ? " (members killed)" : "");
    } else if (op == "set_weight") {
      cluster();
      if (auto w = event.integer("weight", Need::kRequired, 0, 1000, "", "give the cluster's base weight, e.g. 1")) {
        operation->weight = static_cast<uint32_t>(*w);
      }
      what += " of " + operation->cluster + " to " + std::to_string(operation->weight);
    }
    operation->description = what;
    if (problems.size() != before) return nullptr;
    return operation;
  }
};

}  // namespace

const ServingServiceConfig* serving_config(const ServiceSpec& spec) {
  const auto* serving = dynamic_cast<const ServingSpecImpl*>(&spec);
  return serving == nullptr ? nullptr : &serving->config();
}

sv::AppMasterOptions serving_appmaster_options(const ServingServiceConfig& config) {
  sv::AppMasterOptions options;
  options.discovery = sv::Endpoint{config.discovery, sv::kDiscoveryPort};
  options.lease = 1s;
  options.health_period = 1s;
  options.health_timeout = 800ms;
  options.reconcile_period = 500ms;
  options.discovery_period = 1s;
  options.discovery_ttl = 10s;
  options.deregistration_grace = std::max<Duration>(config.pull_interval * 2, 1s);
  options.control_timeout = 2s;
  options.start_timeout = 30s;
  return options;
}

sv::ServingKeeperOptions serving_keeper_options(const ServingServiceConfig& config) {
  sv::ServingKeeperOptions options;
  for (const std::string& cluster : config.clusters) {
    options.clusters.push_back(
        sv::KeeperCluster{cluster, Address{config.heads.at(cluster), runtime::kControlStorePort}});
  }
  options.discovery = Address{config.discovery, sv::kDiscoveryPort};
  options.appmaster = serving_appmaster_options(config);
  options.appmaster_client.call_timeout = 2s;
  options.monitor_period = 1s;
  options.probe_timeout = 500ms;
  options.outage_checks = 2;
  options.release_poll = 250ms;
  options.release_timeout = 30min;
  return options;
}

sv::ServingClientOptions serving_client_options(const ServingServiceConfig& config, NodeId client) {
  sv::ServingClientOptions options;
  options.service = config.name;
  options.local_cluster = config.client_cluster.at(client);
  options.discovery = Address{config.discovery, sv::kDiscoveryPort};
  options.pull_interval = config.pull_interval;
  options.deadline = config.client_deadline;
  options.per_try_timeout = config.per_try_timeout;
  options.max_attempts = config.client_attempts;
  return options;
}

namespace {

// After a release: how it ended, and (for a rolled-back one) how many instances are back on the old version
// in every cluster, for the upgrade-safety check.
Task<Status> record_release(sv::ServingKeeper& keeper, std::string service, Status result,
                            reports::ServingRecord& serving) {
  std::optional<sv::KeeperServiceState> state = keeper.state(service);
  reports::ServingRecord::UpgradeOutcome outcome;
  outcome.service = service;
  if (state) {
    const sv::ReleaseRecord& record = state->release;
    outcome.validation_failed = record.state == sv::ReleaseState::kRolledBack;
    for (const std::string& cluster : state->clusters) {
      Result<sv::AppMasterStatus> status = co_await keeper.status(service, cluster);
      if (!status.ok()) continue;
      outcome.instances += static_cast<uint32_t>(status.value().desired);
      auto it = status.value().serving.find(record.from);
      if (it != status.value().serving.end()) outcome.instances_on_old_version += it->second;
    }
  }
  if (!outcome.validation_failed) outcome.instances_on_old_version = 0;
  serving.upgrades.push_back(outcome);
  co_return result;
}

}  // namespace

void ServingObservations::take(const std::string& cluster, const sv::AppMasterStatus& status, int64_t now_ns) {
  last_status_[cluster] = status;
  if (status.acting) {
    std::optional<size_t>& open = acting_open_[cluster];
    if (open && serving_.appmaster_acting[*open].epoch != status.epoch) {
      serving_.appmaster_acting[*open].end_ns = last_seen_acting_[cluster];
      open.reset();
    }
    if (!open) {
      serving_.appmaster_acting.push_back({config_.name, cluster, status.epoch, now_ns, std::nullopt});
      open = serving_.appmaster_acting.size() - 1;
    }
    last_seen_acting_[cluster] = now_ns;
  }
  if (sv::upgrade_active(status.upgrade.state)) {
    serving_.upgrade_unavailability.push_back(
        {now_ns, config_.name + "@" + cluster, status.detached_for_upgrade, status.allowed_unavailable});
  }
  if (serving_.versions.size() < reports::ServingRecord::kMaxVersionSamples) {
    serving_.versions.push_back(
        {now_ns, config_.name, cluster, static_cast<uint32_t>(std::max(0, status.desired)), status.serving});
  }
  const sv::AutoscalePolicy& autoscale = config_.spec.autoscale;
  if (autoscale.mode != sv::AutoscaleMode::kOff && status.deployed) {
    serving_.replicas.push_back({now_ns, config_.name + "@" + cluster, static_cast<uint32_t>(status.desired),
                                 static_cast<uint32_t>(autoscale.min_replicas),
                                 static_cast<uint32_t>(autoscale.max_replicas)});
  }
}

std::pair<std::multiset<NodeId>, uint32_t> ServingObservations::listed(const sv::Resolution& resolution,
                                                                      const std::string& cluster) {
  std::pair<std::multiset<NodeId>, uint32_t> out;
  for (const sv::ClusterEntry& entry : resolution.clusters) {
    if (entry.cluster != cluster) continue;
    out.second = entry.weight;
    for (const sv::Endpoint& endpoint : entry.proxies) out.first.insert(endpoint.node);
  }
  return out;
}

void ServingObservations::discovery(bool converged, bool listed_any, int64_t now_ns) {
  if (!ever_converged_) {
    ever_converged_ = converged && listed_any;
    return;
  }
  if (!converged && !diverged_) {
    diverged_ = true;
    serving_.discovery.push_back({config_.name, now_ns, std::nullopt});
  } else if (converged && diverged_) {
    diverged_ = false;
    serving_.discovery.back().converged_ns = now_ns;
  }
}

void ServingObservations::answered(const std::string& cluster, const std::string& version) {
  for (Answered& entry : answered_by_) {
    if (entry.cluster == cluster && entry.version == version) {
      ++entry.count;
      return;
    }
  }
  answered_by_.push_back(Answered{cluster, version, 1});
}

void ServingObservations::finish(reports::RunRecord& record, uint64_t operations_ok, uint64_t operations_failed) {
  for (auto& [cluster, open] : acting_open_) {
    if (open) serving_.appmaster_acting[*open].end_ns = last_seen_acting_.at(cluster);
  }
  const std::string prefix = "serving." + config_.name + ".";
  record.figures[prefix + "clusters"] = static_cast<double>(config_.clusters.size());
  record.figures[prefix + "clients"] = static_cast<double>(config_.clients.size());
  record.figures[prefix + "operations_ok"] = static_cast<double>(operations_ok);
  record.figures[prefix + "operations_failed"] = static_cast<double>(operations_failed);
  std::vector<Answered> answered = answered_by_;
  std::sort(answered.begin(), answered.end(), [](const Answered& a, const Answered& b) {
    return std::tie(a.cluster, a.version) < std::tie(b.cluster, b.version);
  });
  for (const Answered& entry : answered) {
    record.figures[prefix + "answered." + entry.cluster + "." + entry.version] = static_cast<double>(entry.count);
  }
  uint32_t desired = 0;
  for (const auto& [cluster, status] : last_status_) desired += static_cast<uint32_t>(status.desired);
  record.figures[prefix + "desired_replicas_at_end"] = desired;
  for (const auto& [cluster, status] : last_status_) {
    for (const auto& [version, count] : status.serving) {
      record.figures[prefix + cluster + ".serving." + version] = count;
    }
  }
}

Task<Status> run_serving_operation(sv::ServingKeeper& keeper, std::string service, ServingOperation op,
                                   reports::ServingRecord& serving) {
  if (op.name == "scale") co_return co_await keeper.scale(service, op.cluster, op.replicas);
  if (op.name == "upgrade") {
    co_return co_await record_release(keeper, service, co_await keeper.upgrade(service, op.version), serving);
  }
  if (op.name == "canary") {
    co_return co_await record_release(keeper, service, co_await keeper.canary(service, op.version, op.canary),
                                      serving);
  }
  if (op.name == "blue_green") {
    co_return co_await record_release(keeper, service, co_await keeper.blue_green(service, op.version, op.bake),
                                      serving);
  }
  if (op.name == "kill_appmaster") co_return co_await keeper.kill_appmaster(service, op.cluster);
  if (op.name == "restart_job") co_return co_await keeper.restart_job(service, op.cluster, op.kill_members);
  if (op.name == "set_weight") co_return co_await keeper.set_base_weight(service, op.cluster, op.weight);
  co_return Error{Errc::kInternal, "unknown operation " + op.name};
}

std::unique_ptr<ServiceKind> make_serving_service_kind() { return std::make_unique<ServingKind>(); }

}  // namespace tandem::scenarios
