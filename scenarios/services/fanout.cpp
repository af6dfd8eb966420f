#include "scenarios/services/fanout.h"

#include <algorithm>
#include <optional>

#include "core/apps/fanout/deploy.h"
#include "core/apps/fanout/workers.h"
#include "core/runtime/runtime_node.h"

namespace tandem::scenarios {
namespace {

using namespace std::chrono_literals;

constexpr Duration kClientGrace = kFanoutClientGrace;
constexpr int kMaxDeployAttempts = 10;

using FanoutConfig = FanoutServiceConfig;

class RuntimePart final : public sim::NodeProcess {
 public:
  RuntimePart(Env& env, const runtime::RuntimeCatalog& catalog, runtime::RuntimeNodeOptions options)
      : node(env, catalog, std::move(options)) {}
  runtime::RuntimeNode node;
  Scope drivers;  // last: drivers use the node
};

class ClientPart final : public sim::NodeProcess {
 public:
  ClientPart(Env& env, runtime::ClientOptions options) : runtime(env, std::move(options)) {}
  runtime::RuntimeClient runtime;
  std::optional<apps::FanoutClient> fanout;  // once the app is deployed
  Scope requests;                            // last: request coroutines use the clients
};

class FanoutInstance final : public ServiceInstance {
 public:
  FanoutInstance(const FanoutConfig& config, ServiceContext& context)
      : config_(config), world_(context.world), requests_(context.requests), request_service_(context.request_service) {
    apps::register_fanout_classes(catalog_);
    add_runtime(context, config.head, true);
    for (NodeId worker : config.workers) add_runtime(context, worker, false);
    for (NodeId client : config.clients) {
      runtime::ClientOptions options;
      options.control_store = Address{config.head, runtime::kControlStorePort};
      options.catalog = &catalog_;
      client_slots_[client] = context.hosting.add_part(
          client, [options](Env& env) { return std::make_unique<ClientPart>(env, options); });
    }
    world_.at(TimePoint(config.deploy_at), [this] { deploy(); });
  }

  void issue(NodeId client) override {
    ClientPart* part = NodeHosting::part<ClientPart>(world_, client, client_slots_.at(client));
    if (part == nullptr) {
      requests_.not_issued(request_service_, world_.now());
      return;
    }
    const auto id = requests_.begin(request_service_, client, world_.now(), budget());
    if (!deployment_) {
      ++tally_.failed;
      requests_.end(id, Errc::kUnavailable, world_.now(), 1);
      return;
    }
    if (!part->fanout) part->fanout.emplace(part->runtime, deployment_->triggers, config_.spec.deadline, kClientGrace);
    part->requests.spawn(one_request(*part->fanout, id, next_time_++));
  }

  void operate(const ServiceOperation&) override {}

  void finish(reports::RunRecord& record) override {
    tally_.write(record, config_.name, config_.workers.size());
  }

 private:
  Duration budget() const { return fanout_request_budget(config_.spec); }

  void add_runtime(ServiceContext& context, NodeId node, bool is_head) {
    runtime::RuntimeNodeOptions options;
    options.head = is_head ? kNoNode : config_.head;
    options.run_control_store = is_head;
    options.control_store.heartbeat_period = config_.heartbeat;
    options.control_store.heartbeat_miss_limit = 5;
    options.control_store.lease_start_grace = config_.heartbeat * 10;
    options.daemon.heartbeat_period = config_.heartbeat;
    options.daemon.client.long_poll_timeout = 2s;
    // The head runs the control store only: every actor lands on a worker.
    options.daemon.resources = is_head ? runtime::ResourceSet{} : runtime::ResourceSet{{"CPU", config_.worker_cpus}};
    slots_[node] = context.hosting.add_part(node, [this, options](Env& env) {
      return std::make_unique<RuntimePart>(env, catalog_, options);
    });
  }

  void deploy() {
    RuntimePart* head = NodeHosting::part<RuntimePart>(world_, config_.head, slots_.at(config_.head));
    if (head == nullptr) {
      retry_deploy("the head node is down");
      return;
    }
    head->drivers.spawn(run_deploy(head->node.client()));
  }
  void retry_deploy(const std::string& why) {
    world_.note(config_.head, "note", "fanout " + config_.name + " deploy: " + why);
    if (++deploy_attempts_ < kMaxDeployAttempts) world_.after(1s, [this] { deploy(); });
  }
  Task<void> run_deploy(runtime::RuntimeClient& client) {
    Result<apps::FanoutDeployment> deployed = co_await apps::deploy_fanout(client, config_.spec);
    if (!deployed.ok()) {
      retry_deploy(deployed.error().to_string());
      co_return;
    }
    deployment_ = std::move(deployed).value();
    world_.note(config_.head, "note", "fanout " + config_.name + " deployed: every worker pre-started");
  }

  Task<void> one_request(apps::FanoutClient& client, reports::RequestLog::RequestId id, int64_t time) {
    const apps::FanoutOutcome outcome = co_await client.request(time);
    requests_.end(id, tally_.add(outcome), world_.now(), 1);
  }

  FanoutConfig config_;
  sim::World& world_;
  reports::RequestLog& requests_;
  uint32_t request_service_;
  runtime::RuntimeCatalog catalog_;
  std::map<NodeId, size_t> slots_;
  std::map<NodeId, size_t> client_slots_;
  std::optional<apps::FanoutDeployment> deployment_;
  int deploy_attempts_ = 0;
  int64_t next_time_ = 0;
  FanoutTally tally_;
};

class FanoutSpecImpl final : public ServiceSpec {
 public:
  explicit FanoutSpecImpl(FanoutConfig config) : config_(std::move(config)) {}
  std::string_view kind() const override { return "fanout"; }
  const std::string& name() const override { return config_.name; }
  const std::vector<NodeId>& clients() const override { return config_.clients; }
  Duration request_budget() const override { return fanout_request_budget(config_.spec); }
  std::unique_ptr<ServiceInstance> instantiate(ServiceContext& context) const override {
    return std::make_unique<FanoutInstance>(config_, context);
  }
  const FanoutConfig& config() const { return config_; }
  std::string describe() const override {
    const apps::FanoutSpec& s = config_.spec;
    return "fanout " + config_.name + ": " + std::to_string(s.banks) + " banks x " + std::to_string(s.indicators) +
           " indicators; " + std::to_string(s.triggers) + " triggers, " + std::to_string(s.l1_workers) + " L1 and " +
           std::to_string(s.l2_workers) + " L2 workers on " + std::to_string(config_.workers.size()) +
           " nodes; deadline " + format_duration(s.deadline);
  }

 private:
  FanoutConfig config_;
};

class FanoutKind final : public ServiceKind {
 public:
  std::string_view name() const override { return "fanout"; }
  std::string_view summary() const override {
    return "the seed's strategy fan-out on actors: Trigger, L1 and L2 workers, answers gathered within a "
           "deadline (partial and explicit when it passes)";
  }

  std::shared_ptr<const ServiceSpec> parse(ObjectReader& entry, const std::string& name,
                                           const TopologyIndex& topology, Problems& problems) const override {
    const size_t before = problems.size();
    FanoutConfig config;
    config.name = name;
    config.spec.name = name;
    const std::vector<std::string> groups = topology.group_names();
    auto group = [&](std::string_view key, const std::string& fallback) {
      return read_node_group(entry, key, fallback, groups, problems);
    };
    const auto head = group("head", "head");
    const auto workers = group("workers", "worker");
    const auto clients = group("clients", "client");
    apps::FanoutSpec& spec = config.spec;
    auto count = [&](std::string_view key, uint32_t& field, int64_t max) {
      if (auto v = entry.integer(key, Need::kOptional, 1, max)) field = static_cast<uint32_t>(*v);
    };
    count("banks", spec.banks, apps::kMaxFanoutBanks);
    count("indicators", spec.indicators, apps::kMaxFanoutIndicators);
    count("triggers", spec.triggers, apps::kMaxFanoutWorkers);
    count("l1_workers", spec.l1_workers, apps::kMaxFanoutWorkers);
    count("l2_workers", spec.l2_workers, apps::kMaxFanoutWorkers);
    count("l2_concurrency", spec.l2_concurrency, apps::kMaxFanoutConcurrency);
    if (auto v = entry.duration("l1_time", Need::kOptional, "the median time an L1 worker spends itself")) {
      spec.l1_time.median = *v;
    }
    if (auto v = entry.duration("l2_time", Need::kOptional, "the median time of one indicator")) {
      spec.l2_time.median = *v;
    }
    if (auto v = entry.number("l2_sigma", Need::kOptional, 0, 3, "", "the spread of log(L2 time)")) {
      spec.l2_time.sigma = *v;
    }
    if (auto v = entry.duration("deadline", Need::kOptional, "the seed's is 2xx ms, e.g. \"250ms\"")) {
      spec.deadline = *v;
    }
    if (auto v = entry.duration("worker_startup", Need::kOptional)) spec.worker_startup = *v;
    if (auto v = entry.duration("deploy_at", Need::kOptional)) config.deploy_at = *v;
    if (auto v = entry.number("worker_cpus", Need::kOptional, 1, 1e6, "CPUs", "per worker node, e.g. 16")) {
      config.worker_cpus = *v;
    }
    if (auto v = entry.duration("heartbeat", Need::kOptional)) {
      config.heartbeat = *v;
      if (*v < 10ms || *v > 10s) problems.add(entry.child("heartbeat"), "give a heartbeat from \"10ms\" to \"10s\"");
    }
    entry.finish("for service kind \"fanout\"");
    if (Status valid = spec.validate(); !valid.ok()) problems.add(entry.pointer(), valid.error().message);
    if (problems.size() != before || !head || !workers || !clients) return nullptr;

    const std::vector<NodeId> heads = topology.nodes_in_group(*head);
    if (heads.size() != 1) {
      problems.add(entry.child("head"), "group \"" + *head + "\" has " + std::to_string(heads.size()) +
                                            " nodes; the fan-out's runtime cluster needs exactly one head node");
      return nullptr;
    }
    config.head = heads.front();
    config.workers = topology.nodes_in_group(*workers, {topology.cluster_of(config.head)});
    config.clients = topology.nodes_in_group(*clients);
    if (config.workers.empty()) {
      problems.add(entry.child("workers"), "no node of group \"" + *workers + "\" is in the head's cluster " +
                                               topology.cluster_name(topology.cluster_of(config.head)) +
                                               "; the workers run there");
    }
    if (config.clients.empty()) problems.add(entry.child("clients"), "no node of group \"" + *clients + "\"");
    if (problems.size() != before) return nullptr;
    return std::make_shared<FanoutSpecImpl>(std::move(config));
  }
};

}  // namespace

std::unique_ptr<ServiceKind> make_fanout_service_kind() { return std::make_unique<FanoutKind>(); }

Errc FanoutTally::add(const apps::FanoutOutcome& outcome) {
  max_latency = std::max(max_latency, outcome.latency());
  if (outcome.complete()) {
    ++complete;
  } else if (outcome.code == Errc::kOk) {
    ++partial;
  } else {
    ++failed;
  }
  return outcome.code == Errc::kOk && !outcome.reply.complete ? Errc::kTimeout : outcome.code;
}

void FanoutTally::write(reports::RunRecord& record, const std::string& name, size_t workers,
                        double latency_scale) const {
  const std::string prefix = "fanout." + name + ".";
  record.figures[prefix + "complete"] = static_cast<double>(complete);
  record.figures[prefix + "partial"] = static_cast<double>(partial);
  record.figures[prefix + "failed"] = static_cast<double>(failed);
  record.figures[prefix + "max_latency_ms"] =
      std::chrono::duration<double, std::milli>(max_latency).count() * latency_scale;
  record.figures[prefix + "workers"] = static_cast<double>(workers);
}

const FanoutServiceConfig* fanout_config(const ServiceSpec& spec) {
  const auto* fanout_spec = dynamic_cast<const FanoutSpecImpl*>(&spec);
  return fanout_spec == nullptr ? nullptr : &fanout_spec->config();
}

}  // namespace tandem::scenarios
