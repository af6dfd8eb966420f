#include "core/serving/serving_keeper.h"

#include <algorithm>
#include <cmath>

#include "core/async/sleep.h"
#include "core/async/when.h"
#include "core/runtime/codec.h"

namespace tandem::serving {

std::string_view release_state_name(ReleaseState state) {
  switch (state) {
    case ReleaseState::kNone: return "none";
    case ReleaseState::kRunning: return "running";
    case ReleaseState::kSucceeded: return "succeeded";
    case ReleaseState::kRolledBack: return "rolled_back";
    case ReleaseState::kInterrupted: return "interrupted";
  }
  return "unknown";
}

namespace {
const std::string kStatePrefix = "keeper/service/";
constexpr size_t kMaxReleaseHistory = 32;

VersionSplit make_split(const std::string& candidate, int32_t replicas, const std::string& stable,
                        uint32_t candidate_weight) {
  VersionSplit split;
  split.active = true;
  split.candidate = candidate;
  split.candidate_replicas = replicas;
  split.weights[stable] = 100 - candidate_weight;
  split.weights[candidate] = candidate_weight;
  return split;
}
}  // namespace

ServingKeeper::ServingKeeper(Env& env, ServingKeeperOptions options)
    : env_(env), options_(std::move(options)), endpoint_(env.transport, env.clock) {
  for (const KeeperCluster& cluster : options_.clusters) {
    runtime::ClientOptions client;
    client.control_store = cluster.control_store;
    client.max_control_attempts = 3;
    runtimes_[cluster.name] = std::make_unique<runtime::RuntimeClient>(env_, client);
  }
  load();
  scope_.spawn(monitor_loop());
}

void ServingKeeper::load() {
  for (auto& [key, bytes] : env_.storage.scan(kStatePrefix)) {
    Result<KeeperServiceState> state = runtime::decode<KeeperServiceState>(bytes);
    if (!state.ok()) continue;
    KeeperServiceState& loaded = services_[state.value().spec.name] = std::move(state).value();
    if (loaded.release.state == ReleaseState::kRunning) {
      loaded.release.state = ReleaseState::kInterrupted;
      loaded.release.failure = "the keeper restarted during the release";
    }
    next_release_ = std::max(next_release_, loaded.release.id + 1);
    for (const ReleaseRecord& old : loaded.history) next_release_ = std::max(next_release_, old.id + 1);
  }
}

Task<Status> ServingKeeper::save(const std::string& service) {
  auto it = services_.find(service);
  if (it == services_.end()) co_return Status{};
  env_.storage.put(kStatePrefix + service, runtime::encode(it->second));
  co_return co_await env_.storage.sync();
}

AppMasterClient& ServingKeeper::master(const std::string& service, const std::string& cluster) {
  auto key = std::make_pair(service, cluster);
  auto it = masters_.find(key);
  if (it == masters_.end()) {
    it = masters_
             .emplace(key, std::make_unique<AppMasterClient>(*runtimes_.at(cluster), service, cluster,
                                                             options_.appmaster, options_.appmaster_client))
             .first;
  }
  return *it->second;
}

std::optional<KeeperServiceState> ServingKeeper::state(const std::string& service) const {
  auto it = services_.find(service);
  if (it == services_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> ServingKeeper::services() const {
  std::vector<std::string> out;
  for (const auto& [name, state] : services_) out.push_back(name);
  return out;
}

Task<Result<AppMasterStatus>> ServingKeeper::status(std::string service, std::string cluster) {
  if (runtimes_.count(cluster) == 0) co_return Error{Errc::kNotFound, "unknown cluster '" + cluster + "'"};
  co_return co_await master(service, cluster).status();
}

// --- Deploy, stop, scale -------------------------------------------------------------------------------------

Task<Status> ServingKeeper::deploy(ServiceSpec spec, Duration ready_timeout) {
  if (Status valid = spec.validate(); !valid.ok()) co_return valid;
  for (const std::string& cluster : spec.clusters()) {
    if (runtimes_.count(cluster) == 0) {
      co_return Error{Errc::kInvalidArgument, "replicas[" + cluster + "]: the keeper knows no cluster named '" +
                                                  cluster + "' (nothing was applied)"};
    }
  }
  auto existing = services_.find(spec.name);
  if (existing == services_.end() && services_.size() >= kMaxKeeperServices) {
    co_return Error{Errc::kResourceExhausted, "the keeper manages kMaxKeeperServices services already"};
  }
  if (existing != services_.end() && !existing->second.stopped) {
    if (existing->second.spec.version != spec.version) {
      co_return Error{Errc::kFailedPrecondition, "service " + spec.name + " runs " + existing->second.spec.version +
                                                     ": release " + spec.version + " with upgrade/canary/blue_green"};
    }
    if (existing->second.release.state == ReleaseState::kRunning) {
      co_return Error{Errc::kFailedPrecondition, "a release of " + spec.name + " is running"};
    }
  }
  KeeperServiceState& state = services_[spec.name];
  state.spec = spec;
  state.clusters = spec.clusters();
  state.stopped = false;
  for (const std::string& cluster : state.clusters) {
    if (state.job_ids.count(cluster) == 0) state.job_ids[cluster] = 1;
    if (state.base_weights.count(cluster) == 0) state.base_weights[cluster] = 1;
    state.down[cluster] = false;
  }
  if (Status saved = co_await save(spec.name); !saved.ok()) co_return saved;
  for (const std::string& cluster : state.clusters) {
    AppMasterClient& appmaster = master(spec.name, cluster);
    if (Status created = co_await appmaster.ensure(services_[spec.name].job_ids[cluster]); !created.ok()) {
      co_return created;
    }
    if (Status applied = co_await appmaster.apply(spec); !applied.ok()) co_return applied;
  }
  if (Status pushed = co_await push_weights(spec.name); !pushed.ok()) co_return pushed;
  for (const std::string& cluster : spec.clusters()) {
    Status ready = co_await wait_serving(spec.name, cluster, spec.version, spec.replicas_in(cluster), ready_timeout);
    if (!ready.ok()) co_return ready;
  }
  co_return Status{};
}

Task<Status> ServingKeeper::stop(std::string service) {
  auto it = services_.find(service);
  if (it == services_.end()) co_return Error{Errc::kNotFound, "no service named '" + service + "'"};
  it->second.stopped = true;
  if (Status saved = co_await save(service); !saved.ok()) co_return saved;
  for (const std::string& cluster : std::vector<std::string>(it->second.clusters)) {
    if (Status stopped = co_await master(service, cluster).stop(); !stopped.ok()) co_return stopped;
  }
  co_return Status{};
}

Task<Status> ServingKeeper::scale(std::string service, std::string cluster, int32_t replicas) {
  auto it = services_.find(service);
  if (it == services_.end()) co_return Error{Errc::kNotFound, "no service named '" + service + "'"};
  if (std::find(it->second.clusters.begin(), it->second.clusters.end(), cluster) == it->second.clusters.end()) {
    co_return Error{Errc::kInvalidArgument, "service " + service + " does not run in cluster '" + cluster + "'"};
  }
  ServiceSpec next = it->second.spec;
  next.replicas[cluster] = replicas;
  if (Status valid = next.validate(); !valid.ok()) co_return valid;
  if (Status scaled = co_await master(service, cluster).scale(replicas); !scaled.ok()) co_return scaled;
  services_[service].spec = std::move(next);
  co_return co_await save(service);
}

Task<Status> ServingKeeper::set_base_weight(std::string service, std::string cluster, uint32_t weight) {
  auto it = services_.find(service);
  if (it == services_.end()) co_return Error{Errc::kNotFound, "no service named '" + service + "'"};
  if (weight > 1000) co_return Error{Errc::kInvalidArgument, "a base weight is at most 1000"};
  it->second.base_weights[cluster] = weight;
  co_return co_await push_weights(service);
}

Task<Status> ServingKeeper::restart_job(std::string service, std::string cluster, bool kill_members) {
  auto it = services_.find(service);
  if (it == services_.end()) co_return Error{Errc::kNotFound, "no service named '" + service + "'"};
  if (runtimes_.count(cluster) == 0) co_return Error{Errc::kNotFound, "unknown cluster '" + cluster + "'"};
  const uint64_t job = ++it->second.job_ids[cluster];
  if (Status saved = co_await save(service); !saved.ok()) co_return saved;
  co_return co_await master(service, cluster).restart_job(job, kill_members);
}

Task<Status> ServingKeeper::kill_appmaster(std::string service, std::string cluster) {
  if (runtimes_.count(cluster) == 0) co_return Error{Errc::kNotFound, "unknown cluster '" + cluster + "'"};
  co_return co_await master(service, cluster).kill_appmaster(false);
}

// --- Weights and the monitor ---------------------------------------------------------------------------------

Task<Status> ServingKeeper::push_weights(const std::string& service) {
  auto it = services_.find(service);
  if (it == services_.end()) co_return Status{};
  KeeperServiceState& state = it->second;
  std::map<std::string, uint32_t> weights;
  bool any = false;
  for (const std::string& cluster : state.clusters) {
    const uint32_t base = state.base_weights.count(cluster) > 0 ? state.base_weights[cluster] : 1;
    const uint32_t weight = state.down[cluster] ? 0 : base * 100;
    weights[cluster] = weight;
    any = any || weight > 0;
  }
  if (!any) {
    // Every cluster looks down: better to let clients try everywhere than nowhere.
    for (const std::string& cluster : state.clusters) weights[cluster] = std::max<uint32_t>(1, state.base_weights[cluster]) * 100;
  }
  if (weights == state.weights && state.weights_version > 0) co_return Status{};
  state.weights = weights;
  ++state.weights_version;
  WeightUpdate update{service, weights, state.weights_version};
  if (Status saved = co_await save(service); !saved.ok()) co_return saved;
  Result<Bytes> reply =
      co_await endpoint_.call(options_.discovery, kDiscoverySetWeights, runtime::encode(update), options_.probe_timeout * 2);
  if (!reply.ok()) {
    services_[service].weights.clear();  // try again on the next monitor pass
    co_return reply.error();
  }
  co_return Status{};
}

Task<void> ServingKeeper::monitor_loop() {
  while (true) {
    co_await sleep(env_.clock, options_.monitor_period);
    for (const std::string& service : services()) {
      auto it = services_.find(service);
      if (it == services_.end() || it->second.stopped) continue;
      co_await monitor_service(service);
    }
  }
}

Task<void> ServingKeeper::monitor_service(std::string service) {
  // Probe the data plane: one request through the proxies discovery lists for each cluster.
  ResolveRequest request;
  request.service = service;
  Bytes request_bytes = runtime::encode(request);
  Result<Bytes> resolved =
      co_await endpoint_.call(options_.discovery, kDiscoveryResolve, std::move(request_bytes), options_.probe_timeout);
  if (!resolved.ok()) co_return;  // discovery is away: change nothing
  Result<Resolution> resolution = runtime::decode<Resolution>(resolved.value());
  if (!resolution.ok()) co_return;
  auto it = services_.find(service);
  if (it == services_.end()) co_return;
  bool changed = false;
  for (const std::string& cluster : std::vector<std::string>(it->second.clusters)) {
    bool healthy = false;
    for (const ClusterEntry& entry : resolution.value().clusters) {
      if (entry.cluster != cluster) continue;
      for (size_t i = 0; i < entry.proxies.size() && i < 2 && !healthy; ++i) {
        ServeRequest probe{0, "keeper-probe", options_.probe_timeout, 0};
        Result<Bytes> answer = co_await endpoint_.call(entry.proxies[i].address(), kServeMethod,
                                                       runtime::encode(probe), options_.probe_timeout);
        healthy = answer.ok() || answer.error().code == Errc::kInternal;  // a model error still means it serves
      }
    }
    it = services_.find(service);
    if (it == services_.end()) co_return;
    KeeperServiceState& state = it->second;
    uint32_t& failures = failed_probes_[{service, cluster}];
    if (healthy) {
      failures = 0;
      if (state.down[cluster]) {
        state.down[cluster] = false;
        changed = true;
      }
    } else if (++failures >= options_.outage_checks && !state.down[cluster]) {
      state.down[cluster] = true;
      changed = true;
    }
  }
  if (changed || services_[service].weights_version == 0 || services_[service].weights.empty()) {
    co_await push_weights(service);
  }
}

// --- Releases ------------------------------------------------------------------------------------------------

Status ServingKeeper::begin_release(const std::string& service, ReleaseKind kind, const std::string& to) {
  auto it = services_.find(service);
  if (it == services_.end()) return Error{Errc::kNotFound, "no service named '" + service + "'"};
  KeeperServiceState& state = it->second;
  if (state.stopped) return Error{Errc::kFailedPrecondition, "service " + service + " is stopped"};
  if (state.spec.find_version(to) == nullptr) {
    return Error{Errc::kInvalidArgument, "unknown version '" + to + "': add it to the spec's versions first"};
  }
  if (state.release.state == ReleaseState::kRunning) {
    return Error{Errc::kFailedPrecondition, "release " + std::to_string(state.release.id) + " of " + service +
                                                " is running"};
  }
  if (to == state.spec.version) return Error{Errc::kInvalidArgument, service + " runs " + to + " already"};
  if (state.release.id != 0) {
    state.history.push_back(state.release);
    while (state.history.size() > kMaxReleaseHistory) state.history.erase(state.history.begin());
  }
  state.release = ReleaseRecord{next_release_++, kind, ReleaseState::kRunning, state.spec.version, to, {}, ""};
  return Status{};
}

Task<Status> ServingKeeper::end_release(const std::string& service, ReleaseState final_state, std::string failure) {
  KeeperServiceState& state = services_.at(service);
  state.release.state = final_state;
  state.release.failure = std::move(failure);
  if (final_state == ReleaseState::kSucceeded) state.spec.version = state.release.to;
  Status saved = co_await save(service);
  if (final_state == ReleaseState::kRolledBack) {
    co_return Error{Errc::kFailedPrecondition, "release " + std::to_string(state.release.id) + " of " + service +
                                                   " (" + state.release.from + " -> " + state.release.to +
                                                   ") was rolled back: " + state.release.failure};
  }
  co_return saved;
}

Task<Status> ServingKeeper::wait_release(const std::string& service, const std::string& cluster, uint64_t release,
                                         bool want_rolled_back, UpgradeState* final_state, std::string* failure) {
  const TimePoint deadline = env_.clock.now() + options_.release_timeout;
  while (env_.clock.now() < deadline) {
    Result<AppMasterStatus> status = co_await master(service, cluster).status();
    if (status.ok() && status.value().upgrade.release == release) {
      const UpgradeRecord& up = status.value().upgrade;
      const bool finished = up.state == UpgradeState::kSucceeded || up.state == UpgradeState::kRolledBack;
      if (finished && (!want_rolled_back || up.state == UpgradeState::kRolledBack)) {
        if (final_state != nullptr) *final_state = up.state;
        if (failure != nullptr) *failure = up.failure;
        co_return Status{};
      }
    }
    co_await sleep(env_.clock, options_.release_poll);
  }
  co_return Error{Errc::kTimeout, "release " + std::to_string(release) + " did not finish in " + cluster + " within " +
                                      format_duration(options_.release_timeout)};
}

Task<Status> ServingKeeper::wait_serving(const std::string& service, const std::string& cluster,
                                         const std::string& version, int32_t count, Duration timeout) {
  const TimePoint deadline = env_.clock.now() + timeout;
  while (env_.clock.now() < deadline) {
    Result<AppMasterStatus> status = co_await master(service, cluster).status();
    if (status.ok()) {
      auto it = status.value().serving.find(version);
      const int32_t serving = it == status.value().serving.end() ? 0 : static_cast<int32_t>(it->second);
      if (serving >= count && (count == 0 || status.value().proxies_ready > 0)) co_return Status{};
    }
    co_await sleep(env_.clock, options_.release_poll);
  }
  co_return Error{Errc::kTimeout, service + " in " + cluster + " did not serve " + std::to_string(count) + " x " +
                                      version + " within " + format_duration(timeout)};
}

Task<Status> ServingKeeper::rollback_touched(const std::string& service, const std::string& reason) {
  const ReleaseRecord release = services_.at(service).release;
  for (const std::string& cluster : release.touched) {
    co_await master(service, cluster).rollback(release.id, reason);
  }
  for (const std::string& cluster : release.touched) {
    co_await wait_release(service, cluster, release.id, true, nullptr, nullptr);
  }
  co_return Status{};
}

Task<Status> ServingKeeper::upgrade(std::string service, std::string version) {
  if (Status begun = begin_release(service, ReleaseKind::kRolling, version); !begun.ok()) co_return begun;
  if (Status saved = co_await save(service); !saved.ok()) co_return saved;
  const uint64_t id = services_.at(service).release.id;
  for (const std::string& cluster : std::vector<std::string>(services_.at(service).clusters)) {
    services_.at(service).release.touched.push_back(cluster);
    co_await save(service);
    Status started = co_await master(service, cluster).upgrade(version, id);
    UpgradeState final_state = UpgradeState::kIdle;
    std::string failure;
    if (started.ok()) started = co_await wait_release(service, cluster, id, false, &final_state, &failure);
    if (!started.ok() || final_state != UpgradeState::kSucceeded) {
      const std::string reason = !started.ok() ? started.error().message : failure;
      co_await rollback_touched(service, "release failed in " + cluster + ": " + reason);
      co_return co_await end_release(service, ReleaseState::kRolledBack, "in " + cluster + ": " + reason);
    }
  }
  co_return co_await end_release(service, ReleaseState::kSucceeded, "");
}

Task<Result<std::map<std::string, VersionStats>>> ServingKeeper::candidate_stats(const std::string& service) {
  std::map<std::string, VersionStats> out;
  for (const std::string& cluster : std::vector<std::string>(services_.at(service).clusters)) {
    Result<AppMasterStatus> status = co_await master(service, cluster).status();
    if (!status.ok()) co_return status.error();
    for (const auto& [version, stats] : status.value().version_stats) {
      VersionStats& sum = out[version];
      sum.requests += stats.requests;
      sum.errors += stats.errors;
      sum.p99_ms = std::max(sum.p99_ms, stats.p99_ms);
    }
  }
  co_return out;
}

Task<Status> ServingKeeper::canary(std::string service, std::string version, CanaryPolicy policy) {
  if (policy.weight_steps.empty() || policy.weight_steps.size() > kMaxCanarySteps) {
    co_return Error{Errc::kInvalidArgument, "a canary needs 1 to kMaxCanarySteps weight steps"};
  }
  for (uint32_t weight : policy.weight_steps) {
    if (weight > 100) co_return Error{Errc::kInvalidArgument, "canary weight steps are percentages (0..100)"};
  }
  if (!(policy.canary_fraction > 0 && policy.canary_fraction <= 1)) {
    co_return Error{Errc::kInvalidArgument, "canary_fraction must be in (0, 1]"};
  }
  if (Status begun = begin_release(service, ReleaseKind::kCanary, version); !begun.ok()) co_return begun;
  if (Status saved = co_await save(service); !saved.ok()) co_return saved;
  const uint64_t id = services_.at(service).release.id;
  const std::string from = services_.at(service).release.from;
  const std::vector<std::string> clusters = services_.at(service).clusters;
  const SloSpec slo = services_.at(service).spec.slo;
  std::map<std::string, int32_t> canaries;
  for (const std::string& cluster : clusters) {
    const int32_t replicas = services_.at(service).spec.replicas_in(cluster);
    const int32_t count = std::max<int32_t>(1, static_cast<int32_t>(std::ceil(replicas * policy.canary_fraction)));
    canaries[cluster] = count;
    services_.at(service).release.touched.push_back(cluster);
    Status split = co_await master(service, cluster).set_split(make_split(version, count, from, 0));
    if (!split.ok()) co_return co_await abort_split_release(service, "could not start the canary in " + cluster + ": " + split.error().message);
  }
  for (const std::string& cluster : clusters) {
    Status ready = co_await wait_serving(service, cluster, version, canaries[cluster], options_.release_timeout);
    if (!ready.ok()) co_return co_await abort_split_release(service, ready.error().message);
  }
  for (uint32_t weight : policy.weight_steps) {
    Result<std::map<std::string, VersionStats>> before = co_await candidate_stats(service);
    for (const std::string& cluster : clusters) {
      co_await master(service, cluster).set_split(make_split(version, canaries[cluster], from, weight));
    }
    co_await sleep(env_.clock, policy.step_duration);
    Result<std::map<std::string, VersionStats>> after = co_await candidate_stats(service);
    if (!before.ok() || !after.ok()) continue;  // cannot judge this step; the next one will
    const VersionStats now = after.value()[version];
    const VersionStats then = before.value()[version];
    const uint64_t requests = now.requests - std::min(now.requests, then.requests);
    const uint64_t errors = now.errors - std::min(now.errors, then.errors);
    if (requests < policy.min_requests) continue;
    const double error_rate = static_cast<double>(errors) / static_cast<double>(requests);
    if (error_rate > 1.0 - slo.availability) {
      co_return co_await abort_split_release(service, "canary " + version + " at " + std::to_string(weight) + "% failed the SLO: error rate " +
                               std::to_string(error_rate) + " > " + std::to_string(1.0 - slo.availability));
    }
    if (now.p99_ms > to_ms(slo.latency_p99)) {
      co_return co_await abort_split_release(service, "canary " + version + " at " + std::to_string(weight) + "% failed the SLO: p99 " +
                               std::to_string(now.p99_ms) + "ms > " + format_duration(slo.latency_p99));
    }
  }
  for (const std::string& cluster : clusters) {
    Status promoted = co_await master(service, cluster).promote(id);
    UpgradeState final_state = UpgradeState::kIdle;
    std::string failure;
    if (promoted.ok()) promoted = co_await wait_release(service, cluster, id, false, &final_state, &failure);
    if (!promoted.ok() || final_state != UpgradeState::kSucceeded) {
      const std::string reason = !promoted.ok() ? promoted.error().message : failure;
      co_await rollback_touched(service, reason);
      co_return co_await end_release(service, ReleaseState::kRolledBack, "promotion in " + cluster + ": " + reason);
    }
  }
  co_return co_await end_release(service, ReleaseState::kSucceeded, "");
}

Task<Status> ServingKeeper::blue_green(std::string service, std::string version, Duration bake) {
  if (Status begun = begin_release(service, ReleaseKind::kBlueGreen, version); !begun.ok()) co_return begun;
  if (Status saved = co_await save(service); !saved.ok()) co_return saved;
  const uint64_t id = services_.at(service).release.id;
  const std::string from = services_.at(service).release.from;
  const std::vector<std::string> clusters = services_.at(service).clusters;
  const SloSpec slo = services_.at(service).spec.slo;
  std::map<std::string, int32_t> greens;
  for (const std::string& cluster : clusters) {
    greens[cluster] = services_.at(service).spec.replicas_in(cluster);
    services_.at(service).release.touched.push_back(cluster);
    Status split = co_await master(service, cluster).set_split(make_split(version, greens[cluster], from, 0));
    if (!split.ok()) co_return co_await abort_split_release(service, "could not start green in " + cluster + ": " + split.error().message);
  }
  for (const std::string& cluster : clusters) {
    Status ready = co_await wait_serving(service, cluster, version, greens[cluster], options_.release_timeout);
    if (!ready.ok()) co_return co_await abort_split_release(service, ready.error().message);
  }
  Result<std::map<std::string, VersionStats>> before = co_await candidate_stats(service);
  for (const std::string& cluster : clusters) {
    co_await master(service, cluster).set_split(make_split(version, greens[cluster], from, 100));
  }
  co_await sleep(env_.clock, bake);
  Result<std::map<std::string, VersionStats>> after = co_await candidate_stats(service);
  if (before.ok() && after.ok()) {
    const VersionStats now = after.value()[version];
    const VersionStats then = before.value()[version];
    const uint64_t requests = now.requests - std::min(now.requests, then.requests);
    const uint64_t errors = now.errors - std::min(now.errors, then.errors);
    if (requests > 0 && static_cast<double>(errors) / static_cast<double>(requests) > 1.0 - slo.availability) {
      co_return co_await abort_split_release(service, "green " + version + " failed the SLO during the bake: " + std::to_string(errors) +
                               " errors in " + std::to_string(requests) + " requests");
    }
  }
  for (const std::string& cluster : clusters) {
    Status promoted = co_await master(service, cluster).promote(id);
    if (!promoted.ok()) co_return co_await abort_split_release(service, "promotion in " + cluster + ": " + promoted.error().message);
  }
  co_return co_await end_release(service, ReleaseState::kSucceeded, "");
}

}  // namespace tandem::serving

namespace tandem::serving {

Task<Status> ServingKeeper::abort_split_release(const std::string& service, std::string reason) {
  const std::vector<std::string> clusters = services_.at(service).release.touched;
  for (const std::string& cluster : clusters) co_await master(service, cluster).abort_split();
  co_return co_await end_release(service, ReleaseState::kRolledBack, std::move(reason));
}

}  // namespace tandem::serving
