#include "scenarios/services/automl.h"

#include <algorithm>
#include <functional>
#include <set>

#include "core/apps/automl/service.h"
#include "core/async/sleep.h"
#include "core/metrics/registry.h"
#include "core/runtime/runtime_node.h"

namespace tandem::scenarios {
namespace {

namespace automl = apps::automl;

constexpr int64_t kMaxCandidatesPerJob = 10'000;

using AutoMLScenarioConfig = AutoMLServiceConfig;

// What every node part of one automl service shares: owned by the instance, which outlives the processes.
struct Shared {
  AutoMLScenarioConfig config;
  runtime::RuntimeCatalog catalog;
  metrics::MetricsRegistry metrics;
};

using Done = std::function<void(reports::RequestLog::RequestId, Errc)>;

// One node's part: a runtime node (head or worker) and/or a job-submitting client.
class AutoMLNode final : public sim::NodeProcess {
 public:
  AutoMLNode(Env& env, Shared& shared, bool runs_runtime, Done done)
      : env_(env), shared_(shared), done_(std::move(done)) {
    const AutoMLScenarioConfig& config = shared.config;
    if (runs_runtime) {
      const bool head = env.node == config.head;
      runtime::RuntimeNodeOptions options;
      options.head = config.head;
      options.run_control_store = head;
      options.control_store.heartbeat_period = config.heartbeat_period;
      options.control_store.heartbeat_miss_limit = static_cast<uint32_t>(config.heartbeat_miss_limit);
      options.control_store.metrics = &shared.metrics;
      options.daemon.resources = config.resources.at(env.node);
      options.daemon.heartbeat_period = config.heartbeat_period;
      options.daemon.metrics = &shared.metrics;
      runtime_ = std::make_unique<runtime::RuntimeNode>(env, shared.catalog, std::move(options));
    } else {
      runtime::ClientOptions options;
      options.control_store = Address{config.head, runtime::kControlStorePort};
      options.catalog = &shared.catalog;
      options.metrics = &shared.metrics;
      own_client_ = std::make_unique<runtime::RuntimeClient>(env, std::move(options));
    }
    automl_ = std::make_unique<automl::AutoMLClient>(client(), config.app.proxy_name,
                                                     std::min<Duration>(config.job_timeout, std::chrono::seconds(30)));
    if (env.node == config.head) scope_.spawn(deploy_until_done());
  }

  runtime::RuntimeClient& client() { return runtime_ ? runtime_->client() : *own_client_; }
  runtime::ControlStore* control_store() { return runtime_ ? runtime_->control_store() : nullptr; }
  void spawn(Task<void> task) { scope_.spawn(std::move(task)); }

  void submit(reports::RequestLog::RequestId id, automl::JobSpec spec) { scope_.spawn(run_job(id, std::move(spec))); }

 private:
  // The head (re)deploys the proxy on every boot; get_if_exists makes that a no-op while it lives.
  Task<void> deploy_until_done() {
    while (true) {
      Result<runtime::ActorHandle> proxy = co_await automl::deploy(client(), shared_.config.app);
      if (proxy.ok() || proxy.code() == Errc::kInvalidArgument) co_return;
      co_await sleep(env_.clock, std::chrono::seconds(1));
    }
  }

  Task<void> run_job(reports::RequestLog::RequestId id, automl::JobSpec spec) {
    const TimePoint deadline = env_.clock.now() + shared_.config.job_timeout;
    Result<std::string> job = co_await automl_->submit(spec);
    if (!job.ok()) {
      done_(id, job.code());
      co_return;
    }
    const Duration left = std::max<Duration>(deadline - env_.clock.now(), Duration::zero());
    Result<automl::JobStatus> status = co_await automl_->wait(job.value(), left, std::chrono::milliseconds(250));
    if (!status.ok()) {
      done_(id, status.code());
    } else if (status.value().state != automl::JobState::kSucceeded) {
      done_(id, Errc::kFailedPrecondition);
    } else {
      const bool right = status.value().best && *status.value().best == automl::true_best(spec);
      done_(id, right ? Errc::kOk : Errc::kInternal);
    }
  }

  Env& env_;
  Shared& shared_;
  Done done_;
  std::unique_ptr<runtime::RuntimeNode> runtime_;
  std::unique_ptr<runtime::RuntimeClient> own_client_;
  std::unique_ptr<automl::AutoMLClient> automl_;
  Scope scope_;  // last: its coroutines use everything above
};

class AutoMLInstance final : public ServiceInstance {
 public:
  AutoMLInstance(const AutoMLScenarioConfig& config, ServiceContext& context)
      : world_(context.world),
        requests_(context.requests),
        request_service_(context.request_service),
        random_(context.random) {
    shared_.config = config;
    automl::register_automl(shared_.catalog);
    std::set<NodeId> runtime_nodes(config.workers.begin(), config.workers.end());
    runtime_nodes.insert(config.head);
    std::set<NodeId> all = runtime_nodes;
    all.insert(config.clients.begin(), config.clients.end());
    for (NodeId node : all) {
      const bool runs_runtime = runtime_nodes.contains(node);
      slots_[node] = context.hosting.add_part(node, [this, runs_runtime](Env& env) {
        return std::make_unique<AutoMLNode>(env, shared_, runs_runtime,
                                            [this](reports::RequestLog::RequestId id, Errc code) {
                                              requests_.end(id, code, world_.now(), 1);
                                              ++outcomes_[code];
                                            });
      });
    }
    context.injector.set_actor_kill_hook([this](const std::string& name) { return kill(name); });
  }

  void issue(NodeId client) override {
    AutoMLNode* part = NodeHosting::part<AutoMLNode>(world_, client, slots_.at(client));
    if (part == nullptr) {
      requests_.not_issued(request_service_, world_.now());
      return;
    }
    automl::JobSpec spec = draw_automl_job(shared_.config, ++jobs_, random_);
    part->submit(requests_.begin(request_service_, client, world_.now(), shared_.config.job_timeout),
                 std::move(spec));
  }

  void operate(const ServiceOperation&) override {}

  void finish(reports::RunRecord& record) override {
    const std::string prefix = "automl." + shared_.config.name + ".";
    const metrics::MetricsRegistry& m = shared_.metrics;
    record.figures[prefix + "workers"] = static_cast<double>(shared_.config.workers.size());
    record.figures[prefix + "jobs_submitted"] = static_cast<double>(jobs_);
    record.figures[prefix + "jobs_best_found"] = static_cast<double>(outcomes_[Errc::kOk]);
    record.figures[prefix + "jobs_wrong_best"] = static_cast<double>(outcomes_[Errc::kInternal]);
    record.figures[prefix + "jobs_failed"] = static_cast<double>(outcomes_[Errc::kFailedPrecondition]);
    record.figures[prefix + "candidates_finished"] =
        static_cast<double>(m.counter_sum("automl_candidates_finished_total"));
    record.figures[prefix + "candidates_resubmitted"] =
        static_cast<double>(m.counter_sum("automl_candidates_resubmitted_total"));
    record.figures[prefix + "trainer_restores"] = static_cast<double>(m.counter_sum("automl_trainer_restores_total"));
    record.figures[prefix + "worker_task_retries"] =
        static_cast<double>(m.counter_sum("runtime_client_task_retries_total"));
  }

 private:
  // kill_actor: a restart is allowed, as after a process crash. The kill itself is asynchronous.
  Status kill(const std::string& name) {
    AutoMLNode* head = NodeHosting::part<AutoMLNode>(world_, shared_.config.head, slots_.at(shared_.config.head));
    if (head == nullptr || head->control_store() == nullptr) {
      return Error{Errc::kUnavailable, "the actor runtime's head node is down"};
    }
    std::vector<std::string> named;
    for (const runtime::ActorInfo& info : head->control_store()->actors()) {
      if (info.state == runtime::ActorState::kDead || info.name.empty()) continue;
      if (info.name == name) {
        head->spawn(kill_later(head->client(), info.id));
        return Status{};
      }
      named.push_back(info.name);
    }
    return Error{Errc::kNotFound, "no live actor named \"" + name + "\"; live named actors: " + join_names(named)};
  }

  static Task<void> kill_later(runtime::RuntimeClient& client, runtime::ActorId id) {
    (void)co_await client.kill_actor(id, /*no_restart=*/false);
  }

  sim::World& world_;
  reports::RequestLog& requests_;
  uint32_t request_service_;
  Random random_;
  Shared shared_;
  std::map<NodeId, size_t> slots_;
  uint64_t jobs_ = 0;
  std::map<Errc, uint64_t> outcomes_;
};

class AutoMLSpec final : public ServiceSpec {
 public:
  explicit AutoMLSpec(AutoMLScenarioConfig config) : config_(std::move(config)) {}
  const AutoMLServiceConfig& config() const { return config_; }
  std::string_view kind() const override { return "automl"; }
  const std::string& name() const override { return config_.name; }
  const std::vector<NodeId>& clients() const override { return config_.clients; }
  Duration request_budget() const override { return config_.job_timeout; }
  bool runs_actors() const override { return true; }
  std::unique_ptr<ServiceInstance> instantiate(ServiceContext& context) const override {
    return std::make_unique<AutoMLInstance>(config_, context);
  }
  std::string describe() const override {
    return "automl " + config_.name + ": proxy \"" + config_.app.proxy_name + "\", " +
           std::to_string(config_.workers.size()) + " worker nodes, " + std::to_string(config_.clients.size()) +
           " clients; " + std::to_string(config_.candidates) + " candidates per job, " +
           std::to_string(config_.app.max_parallel_workers) + " in parallel, job timeout " +
           format_duration(config_.job_timeout);
  }

 private:
  AutoMLScenarioConfig config_;
};

std::optional<runtime::ResourceSet> read_resource_set(ObjectReader& entry, std::string_view key) {
  const Json* value = entry.optional(key);
  if (value == nullptr) return std::nullopt;
  const std::string at = entry.child(key);
  Problems& problems = entry.problems();
  if (!value->is_object()) {
    problems.add(at, "expected resource amounts such as {\"CPU\": 1, \"GPU\": 1}, got " + describe_json(*value));
    return std::nullopt;
  }
  std::map<std::string, double> amounts;
  for (const auto& [name, amount] : value->items()) {
    if (auto number = read_number(amount, child_pointer(at, name), problems, 0, 9e14)) amounts[name] = *number;
  }
  Result<runtime::ResourceSet> set = runtime::ResourceSet::make(amounts);
  if (!set.ok()) {
    problems.add(at, set.error().message);
    return std::nullopt;
  }
  return set.value();
}

class AutoMLKind final : public ServiceKind {
 public:
  std::string_view name() const override { return "automl"; }
  std::string_view summary() const override {
    return "the seed's AutoML service on the actor runtime: a named proxy, a trainer actor per job, GPU worker "
           "tasks; each request is a job that must end with the true best candidate";
  }

  std::shared_ptr<const ServiceSpec> parse(ObjectReader& entry, const std::string& name,
                                           const TopologyIndex& topology, Problems& problems) const override {
    const size_t before = problems.size();
    AutoMLScenarioConfig config;
    config.name = name;
    config.app.proxy_name = name;
    const std::vector<std::string> groups = topology.group_names();
    auto read_group = [&](std::string_view key, std::string_view role) -> std::vector<NodeId> {
      std::optional<std::string> group =
          entry.string(key, Need::kRequired, "name the node group that runs the " + std::string(role));
      if (!group) return {};
      if (std::find(groups.begin(), groups.end(), *group) == groups.end()) {
        problems.add(entry.child(key), "no node group named \"" + *group + "\" in any cluster" +
                                           suggestion(*group, groups, "groups"));
        return {};
      }
      return topology.nodes_in_group(*group);
    };
    const std::vector<NodeId> heads = read_group("head", "control store (its first node)");
    const std::vector<NodeId> workers = read_group("workers", "node daemons (the GPU workers)");
    const std::vector<NodeId> clients = read_group("clients", "clients that submit jobs");
    if (auto v = entry.string("proxy_name", Need::kOptional)) config.app.proxy_name = *v;
    if (auto v = entry.integer("candidates", Need::kOptional, 1, kMaxCandidatesPerJob, "candidates per job"))
      config.candidates = *v;
    if (const Json* cost = entry.optional("cost")) {
      ObjectReader r(*cost, entry.child("cost"), problems, "a cost model");
      if (auto v = r.duration("median", Need::kOptional)) {
        config.cost.median_ms = to_ms(*v);
        if (*v <= Duration::zero() || *v > std::chrono::hours(24))
          problems.add(r.child("median"), "the median training time must be more than 0 and at most 24h");
      }
      if (auto v = r.number("sigma", Need::kOptional, 0, 3, "(log-normal shape; 0 = always the median)"))
        config.cost.sigma = *v;
      r.finish("in a cost model");
    }
    if (auto v = entry.integer("max_parallel_workers", Need::kOptional, 1, automl::kMaxParallelWorkersLimit,
                               "workers per job"))
      config.app.max_parallel_workers = static_cast<uint32_t>(*v);
    if (auto v = entry.integer("max_candidate_attempts", Need::kOptional, 1, automl::kMaxCandidateAttemptsLimit,
                               "attempts"))
      config.app.max_candidate_attempts = static_cast<uint32_t>(*v);
    if (auto v = entry.integer("worker_max_retries", Need::kOptional, 0, 1000, "retries"))
      config.app.worker_max_retries = static_cast<int32_t>(*v);
    if (auto v = read_resource_set(entry, "proxy_resources")) config.app.proxy_resources = *v;
    if (auto v = read_resource_set(entry, "trainer_resources")) config.app.trainer_resources = *v;
    if (auto v = read_resource_set(entry, "worker_resources")) config.app.worker_resources = *v;
    if (const Json* heartbeat = entry.optional("heartbeat")) {
      ObjectReader r(*heartbeat, entry.child("heartbeat"), problems, "a failure detector");
      if (auto v = r.duration("period", Need::kOptional)) {
        config.heartbeat_period = *v;
        if (*v < std::chrono::milliseconds(10) || *v > std::chrono::minutes(1))
          problems.add(r.child("period"), "a heartbeat period must be in [10ms, 1m]; Ray's default is about 1s");
      }
      if (auto v = r.integer("miss_limit", Need::kOptional, 1, 100, "missed heartbeats"))
        config.heartbeat_miss_limit = *v;
      r.finish("in a failure detector");
    }
    auto positive = [&](std::string_view key, Duration& out, Duration max) {
      if (auto v = entry.duration(key, Need::kOptional)) {
        out = *v;
        if (*v <= Duration::zero() || *v > max)
          problems.add(entry.child(key), "must be more than 0 and at most " + format_duration(max));
      }
    };
    positive("supervise_period", config.app.supervise_period, std::chrono::minutes(10));
    positive("job_timeout", config.job_timeout, std::chrono::hours(24));
    entry.finish("for service kind \"automl\"");
    if (problems.size() != before || heads.empty() || workers.empty() || clients.empty()) return nullptr;

    if (Status valid = config.app.validate(); !valid.ok()) {
      problems.add(entry.child("proxy_name"), valid.error().message);
      return nullptr;
    }
    config.head = heads.front();
    for (NodeId worker : workers) {
      if (worker != config.head) config.workers.push_back(worker);
    }
    config.clients = clients;
    std::vector<NodeId> runtime_nodes = config.workers;
    runtime_nodes.push_back(config.head);
    bool worker_fits = false;
    for (NodeId node : runtime_nodes) {
      Result<runtime::ResourceSet> resources = runtime::ResourceSet::make(topology.resources_of(node));
      if (!resources.ok()) {
        problems.add(entry.child("workers"), "node " + topology.node_name(node) + ": " + resources.error().message);
        return nullptr;
      }
      worker_fits |= config.app.worker_resources.fits_in(resources.value());
      config.resources[node] = std::move(resources).value();
    }
    if (!worker_fits) {
      problems.add(entry.child("worker_resources"),
                   "no head or worker node has " + config.app.worker_resources.to_string() +
                       "; give the workers' node group such \"resources\" in the topology, or ask for less");
      return nullptr;
    }
    return std::make_shared<AutoMLSpec>(std::move(config));
  }
};

}  // namespace

namespace automl = apps::automl;

const AutoMLServiceConfig* automl_config(const ServiceSpec& spec) {
  const auto* automl_spec = dynamic_cast<const AutoMLSpec*>(&spec);
  return automl_spec == nullptr ? nullptr : &automl_spec->config();
}

automl::JobSpec draw_automl_job(const AutoMLServiceConfig& config, uint64_t job, Random& random) {
  automl::JobSpec spec;
  spec.dataset = config.name + "-" + std::to_string(job);
  spec.cost = config.cost;
  for (int64_t i = 0; i < config.candidates; ++i) {
    spec.candidates.push_back(automl::Candidate{
        "c" + std::to_string(i),
        {{"learning_rate", random.unit() * 0.1}, {"depth", static_cast<double>(random.between(2, 12))}}});
  }
  return spec;
}

std::unique_ptr<ServiceKind> make_automl_service_kind() { return std::make_unique<AutoMLKind>(); }

}  // namespace tandem::scenarios
