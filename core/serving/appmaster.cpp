#include "core/serving/appmaster.h"

#include <algorithm>

#include "core/async/sleep.h"
#include "core/async/when.h"
#include "core/serving/backend.h"
#include "core/serving/catalog.h"
#include "core/serving/discovery.h"

namespace tandem::serving {

using runtime::ActorHandle;
using runtime::ActorOptions;
using runtime::CallOptions;

std::string_view recovery_mode_name(RecoveryMode mode) {
  switch (mode) {
    case RecoveryMode::kStarting: return "starting";
    case RecoveryMode::kFresh: return "fresh";
    case RecoveryMode::kActorRestart: return "actor_restart";
    case RecoveryMode::kJobRestart: return "job_restart";
  }
  return "unknown";
}

namespace {
constexpr uint32_t kProxyActorConcurrency = 64;
constexpr TimePoint kForever = TimePoint::max();
}  // namespace

AppMaster::AppMaster(runtime::ActorContext& context, std::string service, std::string cluster, uint64_t job_id,
                     AppMasterOptions options)
    : context_(context),
      service_(std::move(service)),
      cluster_(std::move(cluster)),
      job_id_(job_id),
      options_(options),
      lease_(context.client(), context.clock(), service_, options.lease),
      persisted_(context.clock()),
      wake_(context.clock()),
      routes_wake_(context.clock()),
      register_wake_(context.clock()),
      create_slots_(context.clock(), kMaxParallelCreates, kMaxStaleMembers),
      rpc_(std::make_unique<RpcEndpoint>(context.env().transport, context.clock())) {
  meta_.service = service_;
  meta_.cluster = cluster_;
  meta_.job_id = job_id_;
}

Task<Status> AppMaster::start() {
  if (Status s = validate_service_name(service_, "service"); !s.ok()) co_return s;
  if (Status s = validate_service_name(cluster_, "cluster"); !s.ok()) co_return s;
  context_.spawn(run());
  co_return Status{};
}

Status AppMaster::check_can_act() const {
  if (!recovered_) {
    return Error{Errc::kUnavailable, "the AppMaster of " + service_ + " in " + cluster_ + " is recovering (epoch " +
                                         std::to_string(lease_.epoch()) + "); retry"};
  }
  if (lease_.deposed()) {
    return Error{Errc::kFailedPrecondition, "the AppMaster of " + service_ + " in " + cluster_ + " was deposed"};
  }
  if (!acting()) {
    return Error{Errc::kUnavailable, "the AppMaster of " + service_ + " in " + cluster_ +
                                         " cannot confirm its epoch right now; retry"};
  }
  return Status{};
}

std::string AppMaster::next_member_name(const char* kind) {
  return member_prefix(service_) + kind + "-" + std::to_string(meta_.next_member++);
}

// --- Recovery ------------------------------------------------------------------------------------------------

Task<void> AppMaster::run() {
  EpochClaim claim{0, job_id_, context_.id(), context_.incarnation()};
  while (true) {
    Result<uint64_t> claimed = co_await lease_.claim(claim);
    if (claimed.ok()) break;
    co_await sleep(context_.clock(), std::chrono::seconds(1));
  }
  meta_.epoch = lease_.epoch();
  context_.spawn(confirm_loop());
  while (!acting()) {
    if (lease_.deposed()) co_return;
    co_await sleep(context_.clock(), options_.lease / 8);
  }
  std::optional<ServiceMetadata> previous = co_await load_latest();
  if (!previous) {
    mode_ = RecoveryMode::kFresh;
  } else if (previous->job_id == job_id_) {
    mode_ = RecoveryMode::kActorRestart;
    meta_ = std::move(*previous);
    meta_.epoch = lease_.epoch();
    co_await adopt_members();
  } else {
    mode_ = RecoveryMode::kJobRestart;
    rebuild_from(*previous);
  }
  meta_.epoch = lease_.epoch();
  meta_.job_id = job_id_;
  if (meta_.spec.autoscale.mode != AutoscaleMode::kOff) autoscaler_.emplace(meta_.spec.autoscale);
  changed();
  while (true) {
    const Status persisted = co_await persist();
    if (persisted.ok()) break;
    if (lease_.deposed()) co_return;
    co_await sleep(context_.clock(), options_.lease / 4);
  }
  recovered_ = true;
  publish_gauges();
  context_.spawn(health_loop());
  context_.spawn(route_loop());
  context_.spawn(discovery_loop());
  context_.spawn(reconcile_loop());
  context_.spawn(autoscale_loop());
  if (upgrade_active(meta_.upgrade.state)) context_.spawn(upgrade_loop());
  if (!stale_.empty()) context_.spawn(reap_stale());
  context_.spawn(sweep_orphans());
  request_routes();
}

Task<std::optional<ServiceMetadata>> AppMaster::load_latest() {
  const std::string prefix = metadata_prefix(service_);
  for (int attempt = 0; attempt < 100; ++attempt) {
    Result<std::vector<std::string>> keys = co_await context_.client().kv_keys(prefix);
    if (!keys.ok()) {
      co_await sleep(context_.clock(), options_.lease / 4);
      continue;
    }
    uint64_t best = 0;
    std::string best_key;
    for (const std::string& key : keys.value()) {
      const uint64_t epoch = epoch_of_key(key, prefix);
      if (epoch > best && epoch < lease_.epoch()) {
        best = epoch;
        best_key = key;
      }
    }
    if (best == 0) co_return std::nullopt;
    Result<std::optional<Bytes>> value = co_await context_.client().kv_get(best_key);
    if (!value.ok()) {
      co_await sleep(context_.clock(), options_.lease / 4);
      continue;
    }
    if (!value.value()) co_return std::nullopt;
    Result<ServiceMetadata> decoded = runtime::decode<ServiceMetadata>(*value.value());
    if (!decoded.ok()) co_return std::nullopt;  // unreadable: start fresh rather than act on garbage
    // Older epochs' records are no longer needed once ours is written; drop all but the one we read.
    for (const std::string& key : keys.value()) {
      const uint64_t epoch = epoch_of_key(key, prefix);
      if (epoch > 0 && epoch < best) co_await context_.client().kv_delete(key);
    }
    co_return std::move(decoded).value();
  }
  co_return std::nullopt;
}

Task<void> AppMaster::adopt_members() {
  // Backends and proxies recorded by the previous life: confirm each (ping(epoch) and status(epoch) also fence
  // the old epoch), find by name those whose creation was in flight, drop the dead.
  std::vector<ActorId> backends;
  for (const BackendRecord& record : meta_.backends) {
    if (record.id != 0) backends.push_back(record.id);
  }
  std::vector<Task<void>> checks;
  checks.push_back(check_backends(std::move(backends)));
  for (const ProxyRecord& record : meta_.proxies) {
    if (record.id != 0) checks.push_back(check_proxy(record.id));
  }
  co_await when_all(std::move(checks));
  // Anything the checks could not reach stays recorded: the health loop decides about it.
  std::vector<std::string> unnamed;
  for (const BackendRecord& record : meta_.backends) {
    if (record.id == 0 || !record.ready) unnamed.push_back(record.name);
  }
  for (const ProxyRecord& record : meta_.proxies) {
    if (record.id == 0 || !record.ready) unnamed.push_back(record.name);
  }
  for (const std::string& name : unnamed) {
    BackendRecord* backend = backend_named(name);
    ActorId id = backend != nullptr ? backend->id : 0;
    if (backend == nullptr) {
      for (const ProxyRecord& proxy : meta_.proxies) {
        if (proxy.name == name) id = proxy.id;
      }
    }
    if (id == 0) {
      Result<ActorHandle> found = co_await context_.client().get_actor(name);
      if (!found.ok()) {
        std::erase_if(meta_.backends, [&](const BackendRecord& r) { return r.name == name; });
        std::erase_if(meta_.proxies, [&](const ProxyRecord& r) { return r.name == name; });
        continue;
      }
      id = found.value().id();
      if (BackendRecord* again = backend_named(name)) again->id = id;
      for (ProxyRecord& proxy : meta_.proxies) {
        if (proxy.name == name) proxy.id = id;
      }
    }
    if (BackendRecord* again = backend_named(name)) {
      const bool attach = again->role != MemberRole::kRetired &&
                          !(upgrade_active(meta_.upgrade.state) &&
                            std::find(meta_.upgrade.batch.begin(), meta_.upgrade.batch.end(), id) !=
                                meta_.upgrade.batch.end());
      context_.spawn(finish_start(name, attach));
    } else {
      context_.spawn(finish_start(name, false));
    }
  }
  // Members that were leaving when the previous life died: finish their retirement.
  for (const BackendRecord& record : meta_.backends) {
    if (record.role == MemberRole::kRetired) context_.spawn(retire_backend(record.name));
  }
  for (const ProxyRecord& record : meta_.proxies) {
    if (record.retiring) context_.spawn(retire_proxy(record.name));
  }
}

void AppMaster::rebuild_from(const ServiceMetadata& previous) {
  meta_.deployed = previous.deployed;
  meta_.stopped = previous.stopped;
  meta_.spec = previous.spec;
  meta_.desired = previous.desired;
  meta_.split = previous.split;
  meta_.history = previous.history;
  meta_.next_member = previous.next_member;
  for (const BackendRecord& record : previous.backends) {
    if (stale_.size() < kMaxStaleMembers) stale_.emplace_back(record.name, record.id);
  }
  for (const ProxyRecord& record : previous.proxies) {
    if (stale_.size() < kMaxStaleMembers) stale_.emplace_back(record.name, record.id);
  }
  // An interrupted release starts again from the beginning on the rebuilt instances; one that was rolling
  // back is done, since everything is rebuilt on the stable version.
  const UpgradeRecord& old = previous.upgrade;
  meta_.upgrade = UpgradeRecord{};
  if (upgrade_active(old.state) && !old.rolling_back() && !old.rollback_requested) {
    meta_.upgrade.state = UpgradeState::kPreUpdating;
    meta_.upgrade.phase = UpgradeState::kPreUpdating;
    meta_.upgrade.release = old.release;
    meta_.upgrade.from = old.from;
    meta_.upgrade.to = old.to;
  } else if (upgrade_active(old.state)) {
    meta_.upgrade = old;
    meta_.upgrade.batch.clear();
    meta_.upgrade.surge.clear();
    meta_.upgrade.state = UpgradeState::kRolledBack;
    meta_.upgrade.phase = UpgradeState::kRolledBack;
  } else {
    meta_.upgrade = old;
    meta_.upgrade.batch.clear();
    meta_.upgrade.surge.clear();
  }
}

Task<void> AppMaster::reap_stale() {
  // Make before break: wait until the rebuilt service serves (or a start timeout), then give clients a pull
  // interval to notice the new registration, then stop what the previous job left running.
  const TimePoint give_up = context_.clock().now() + options_.start_timeout;
  while (context_.clock().now() < give_up) {
    uint32_t proxies = 0;
    for (const ProxyRecord& proxy : meta_.proxies) proxies += proxy.ready ? 1 : 0;
    const auto serving = meta_.serving_by_version();
    uint32_t backends = 0;
    for (const auto& [version, count] : serving) backends += count;
    if (proxies > 0 && static_cast<int32_t>(backends) >= meta_.desired) break;
    co_await sleep(context_.clock(), wait_poll());
  }
  co_await register_now();
  co_await sleep(context_.clock(), options_.deregistration_grace);
  std::vector<std::pair<std::string, ActorId>> stale = std::move(stale_);
  stale_.clear();
  for (auto& [name, id] : stale) {
    ActorId target = id;
    if (target == 0) {
      Result<ActorHandle> found = co_await context_.client().get_actor(name);
      if (!found.ok()) continue;
      target = found.value().id();
    }
    co_await kill(target);
  }
}

Task<void> AppMaster::sweep_orphans() {
  // Named members of this service that no record mentions (created by a life that died before persisting
  // them) are stopped, unless a job restart is still about to reap them.
  Result<std::vector<runtime::ActorInfo>> named = co_await context_.client().list_named_actors();
  if (!named.ok()) co_return;
  const std::string prefix = member_prefix(service_);
  std::set<std::string> known;
  for (const BackendRecord& record : meta_.backends) known.insert(record.name);
  for (const ProxyRecord& record : meta_.proxies) known.insert(record.name);
  for (const auto& [name, id] : stale_) known.insert(name);
  for (const runtime::ActorInfo& info : named.value()) {
    if (info.name.compare(0, prefix.size(), prefix) != 0 || known.count(info.name) > 0) continue;
    if (busy_.count(info.name) > 0) continue;
    co_await kill(info.id);
  }
}

// --- Loops ---------------------------------------------------------------------------------------------------

Task<void> AppMaster::confirm_loop() {
  while (true) {
    Status confirmed = co_await lease_.confirm();
    publish_lease_gauges();  // the serving gauges follow the health rounds: counting them 4x a second was 9% of idle
    if (lease_.deposed()) {
      context_.exit("AppMaster epoch " + std::to_string(lease_.epoch()) + " deposed: " + confirmed.error().message);
      co_return;
    }
    co_await sleep(context_.clock(), options_.lease / 4);
  }
}

Task<void> AppMaster::health_loop() {
  while (true) {
    co_await sleep(context_.clock(), options_.health_period);
    if (!acting() || meta_.stopped) continue;
    std::vector<ActorId> backends;
    for (const BackendRecord& record : meta_.backends) {
      if (record.id != 0 && record.ready) backends.push_back(record.id);
    }
    std::vector<Task<void>> checks;
    checks.push_back(check_backends(std::move(backends)));
    for (const ProxyRecord& record : meta_.proxies) {
      if (record.id != 0 && record.ready) checks.push_back(check_proxy(record.id));
    }
    co_await when_all(std::move(checks));
    // Proxies that missed a route table get it again.
    bool lagging = false;
    for (const ProxyRecord& record : meta_.proxies) {
      if (!record.ready || record.retiring) continue;
      auto acked = route_acked_.find(record.id);
      if (acked == route_acked_.end() || acked->second < route_generation_) lagging = true;
    }
    if (lagging) request_routes();
    publish_gauges();
  }
}

BackendRecord* AppMaster::backend_record(ActorId id) {
  if (id == 0) return nullptr;
  auto valid = [&](auto it) { return it != backend_index_.end() && it->second < meta_.backends.size() &&
                                     meta_.backends[it->second].id == id; };
  if (auto it = backend_index_.find(id); valid(it)) return &meta_.backends[it->second];
  BackendRecord* record = meta_.backend(id);
  if (record != nullptr) {
    backend_index_.clear();
    for (size_t i = 0; i < meta_.backends.size(); ++i) backend_index_.emplace(meta_.backends[i].id, i);
  }
  return record;
}

BackendRecord* AppMaster::backend_named(const std::string& name) {
  auto valid = [&](auto it) { return it != backend_name_index_.end() && it->second < meta_.backends.size() &&
                                     meta_.backends[it->second].name == name; };
  if (auto it = backend_name_index_.find(name); valid(it)) return &meta_.backends[it->second];
  BackendRecord* record = meta_.backend_named(name);
  if (record != nullptr) {
    backend_name_index_.clear();
    for (size_t i = 0; i < meta_.backends.size(); ++i) backend_name_index_.emplace(meta_.backends[i].name, i);
  }
  return record;
}

Task<void> AppMaster::check_backends(std::vector<ActorId> ids) {
  if (ids.empty()) co_return;
  const uint64_t epoch = lease_.epoch();
  std::vector<ActorId> probe_ids;
  std::vector<ActorId> ping_ids;
  for (ActorId id : ids) {
    auto fenced = fenced_.find(id);
    (fenced != fenced_.end() && fenced->second == epoch ? probe_ids : ping_ids).push_back(id);
  }
  // Groups, not a call each: no coroutine and no deadline timer per backend. ping, not status: nothing here reads
  // the backend's report.
  const Bytes args = runtime::encode_args(epoch);
  runtime::ActorCallGroup pings(context_.client(), options_.health_timeout);
  for (ActorId id : ping_ids) pings.start(id, "ping", Bytes(args));
  std::vector<ActorId> unplaced;  // probed, but the probe could not tell: pinged after all
  if (!probe_ids.empty()) {
    const std::vector<runtime::ProbeOutcome> probed =
        co_await context_.client().probe_actors(probe_ids, options_.health_timeout);
    // A probe's finding, judged as a ping's outcome would be.
    static const Result<Bytes> kHealthy = Bytes{};
    static const Result<Bytes> kNodeSilent =
        Error{Errc::kTimeout, "the backend's node did not answer the health probe in time"};
    for (size_t i = 0; i < probe_ids.size(); ++i) {
      switch (probed[i]) {
        case runtime::ProbeOutcome::kAlive: judge_backend_check(probe_ids[i], kHealthy); break;
        case runtime::ProbeOutcome::kNoAnswer: judge_backend_check(probe_ids[i], kNodeSilent); break;
        case runtime::ProbeOutcome::kUnknown: unplaced.push_back(probe_ids[i]); break;
      }
    }
  }
  runtime::ActorCallGroup repings(context_.client(), options_.health_timeout);
  for (ActorId id : unplaced) repings.start(id, "ping", Bytes(args));
  co_await pings;
  judge_backend_pings(ping_ids, pings, epoch);
  co_await repings;
  judge_backend_pings(unplaced, repings, epoch);
  if (fenced_.size() > 2 * meta_.backends.size() + 16) {
    std::erase_if(fenced_, [&](const auto& entry) { return backend_record(entry.first) == nullptr; });
  }
}

void AppMaster::judge_backend_pings(const std::vector<ActorId>& ids, runtime::ActorCallGroup& pings,
                                    uint64_t epoch) {
  for (size_t i = 0; i < ids.size(); ++i) {
    const Result<Bytes>& status = pings.result(i);
    if (status.ok()) {
      fenced_[ids[i]] = epoch;
    } else {
      fenced_.erase(ids[i]);
    }
    judge_backend_check(ids[i], status);
  }
}

void AppMaster::judge_backend_check(ActorId id, const Result<Bytes>& status) {
  BackendRecord* record = backend_record(id);
  if (record == nullptr) return;
  if (status.ok()) {
    health_failures_.erase(id);  // absent means none: no tree insert per healthy ping
    if (!record->ready && busy_.count(record->name) == 0) {
      record->ready = true;
      changed();
    }
    return;
  }
  if (status.error().code == Errc::kFailedPrecondition) return;  // a newer epoch owns it: confirm will tell
  if (status.error().code == Errc::kPeerDied) {
    backend_dead(id, status.error().message);
    return;
  }
  if (++health_failures_[id] >= options_.health_failures) backend_dead(id, status.error().message);
}

Task<void> AppMaster::check_proxy(ActorId id) {
  CallOptions options;
  options.timeout = options_.health_timeout;
  auto call = context_.client().handle(id).start<ProxyStatus>(options, "status", lease_.epoch());
  Result<ProxyStatus> status = co_await call;
  ProxyRecord* record = nullptr;
  for (ProxyRecord& proxy : meta_.proxies) {
    if (proxy.id == id) record = &proxy;
  }
  if (record == nullptr) co_return;
  if (status.ok()) {
    health_failures_.erase(id);
    proxy_status_[id] = status.value();
    if (status.value().epoch == lease_.epoch() && status.value().route_generation >= route_acked_[id]) {
      route_acked_[id] = status.value().route_generation;
    }
    if (!(record->data == status.value().data)) {
      record->data = status.value().data;
      changed();
    }
    co_return;
  }
  if (status.error().code == Errc::kFailedPrecondition) co_return;
  if (status.error().code == Errc::kPeerDied) {
    proxy_dead(id, status.error().message);
    co_return;
  }
  if (++health_failures_[id] >= options_.health_failures) proxy_dead(id, status.error().message);
}

void AppMaster::backend_dead(ActorId id, const std::string& why) {
  (void)why;
  std::erase_if(meta_.backends, [&](const BackendRecord& r) { return r.id == id; });
  std::erase(meta_.upgrade.batch, id);
  health_failures_.erase(id);
  fenced_.erase(id);
  changed();
  context_.spawn(kill(id));
  request_routes();
  wake_.notify_all();
}

void AppMaster::proxy_dead(ActorId id, const std::string& why) {
  (void)why;
  std::erase_if(meta_.proxies, [&](const ProxyRecord& r) { return r.id == id; });
  health_failures_.erase(id);
  proxy_status_.erase(id);
  route_acked_.erase(id);
  changed();
  context_.spawn(kill(id));
  register_wake_.notify_all();
  wake_.notify_all();
}

Task<void> AppMaster::reconcile_loop() {
  while (true) {
    if (acting() && !meta_.stopped) {
      reconcile_once();
      if (persisted_generation_ < meta_.generation) co_await persist();
    }
    co_await wake_.wait_until(context_.clock().now() + options_.reconcile_period);
  }
}

void AppMaster::reconcile_once() {
  if (!meta_.deployed || meta_.stopped) return;
  const ServiceSpec& spec = meta_.spec;
  // Proxies: a fixed number per cluster while anything runs here.
  const bool running = meta_.desired > 0 || (meta_.split.active && meta_.split.candidate_replicas > 0);
  const int32_t want_proxies = running ? spec.proxies_per_cluster : 0;
  int32_t live_proxies = 0;
  for (const ProxyRecord& proxy : meta_.proxies) live_proxies += proxy.retiring ? 0 : 1;
  for (int32_t i = live_proxies; i < want_proxies; ++i) create_proxy();
  if (live_proxies > want_proxies) {
    int32_t extra = live_proxies - want_proxies;
    for (auto it = meta_.proxies.rbegin(); it != meta_.proxies.rend() && extra > 0; ++it) {
      if (it->retiring || busy_.count(it->name) > 0) continue;
      context_.spawn(retire_proxy(it->name));
      --extra;
    }
  }

  // Backends by role.
  auto count_role = [&](MemberRole role) {
    int32_t count = 0;
    for (const BackendRecord& record : meta_.backends) count += record.role == role ? 1 : 0;
    return count;
  };
  const bool upgrading = upgrade_active(meta_.upgrade.state);
  if (upgrading) replace_lost_surge();
  const int32_t stable = count_role(MemberRole::kStable);
  if (stable < meta_.desired) {
    const std::string& version = upgrading ? meta_.upgrade.from : spec.version;
    create_backends(static_cast<uint32_t>(meta_.desired - stable), version, MemberRole::kStable, true);
  } else if (stable > meta_.desired && !upgrading) {
    // Retire the surplus: not ready first, then those off the stable version, then the newest.
    std::vector<const BackendRecord*> order;
    for (const BackendRecord& record : meta_.backends) {
      if (record.role == MemberRole::kStable && busy_.count(record.name) == 0) order.push_back(&record);
    }
    std::stable_sort(order.begin(), order.end(), [&](const BackendRecord* a, const BackendRecord* b) {
      const int ra = (a->ready ? 2 : 0) + (a->version == spec.version ? 1 : 0);
      const int rb = (b->ready ? 2 : 0) + (b->version == spec.version ? 1 : 0);
      return ra < rb;
    });
    int32_t extra = stable - meta_.desired;
    std::vector<std::string> names;
    for (const BackendRecord* record : order) {
      if (extra-- <= 0) break;
      names.push_back(record->name);
    }
    for (const std::string& name : names) context_.spawn(retire_backend(name));
  }
  // Surge instances outlive no upgrade.
  if (!upgrading) {
    std::vector<std::string> names;
    for (const BackendRecord& record : meta_.backends) {
      if (record.role == MemberRole::kSurge && busy_.count(record.name) == 0) names.push_back(record.name);
    }
    for (const std::string& name : names) context_.spawn(retire_backend(name));
  }
  // Candidates of a traffic split.
  const int32_t want_candidates = meta_.split.active ? meta_.split.candidate_replicas : 0;
  const int32_t candidates = count_role(MemberRole::kCandidate);
  if (candidates < want_candidates) {
    create_backends(static_cast<uint32_t>(want_candidates - candidates), meta_.split.candidate, MemberRole::kCandidate,
                    true);
  } else if (candidates > want_candidates) {
    int32_t extra = candidates - want_candidates;
    std::vector<std::string> names;
    for (auto it = meta_.backends.rbegin(); it != meta_.backends.rend() && extra > 0; ++it) {
      if (it->role != MemberRole::kCandidate || busy_.count(it->name) > 0) continue;
      names.push_back(it->name);
      --extra;
    }
    for (const std::string& name : names) context_.spawn(retire_backend(name));
  }
}

void AppMaster::replace_lost_surge() {
  UpgradeRecord& up = meta_.upgrade;
  std::vector<std::string> lost;
  for (const std::string& name : up.surge) {
    if (backend_named(name) == nullptr) lost.push_back(name);
  }
  if (lost.empty()) return;
  for (const std::string& name : lost) std::erase(up.surge, name);
  changed();
  // Before the batch leaves, pre-updating counts the surge again (a shortfall shrinks the batch); after, the
  // batch's absence is covered only by the surge, so a lost one is replaced (the same count, same limit).
  const bool batch_out = up.phase == UpgradeState::kDetached || up.phase == UpgradeState::kUpgrading ||
                         up.phase == UpgradeState::kValidating;
  if (batch_out) {
    // Counted so a test can prove it reached this path.
    context_.metrics()
        .counter("serving_upgrade_surge_replaced_total", {{"service", service_}, {"cluster", cluster_}})
        .increment(lost.size());
    create_backends(static_cast<uint32_t>(lost.size()), up.from, MemberRole::kSurge, true);
  }
}

Task<void> AppMaster::route_loop() {
  while (true) {
    if (routes_dirty_ && acting()) {
      routes_dirty_ = false;
      co_await push_routes();
      co_await sleep(context_.clock(), options_.route_coalesce);
      continue;
    }
    co_await routes_wake_.wait_until(context_.clock().now() + options_.health_period);
  }
}

Task<void> AppMaster::discovery_loop() {
  // Refreshes the registration (its TTL) every discovery_period; between refreshes, a wake (any change)
  // sends the list only if it differs from the last one sent.
  TimePoint refresh_at{};
  while (true) {
    const TimePoint now = context_.clock().now();
    if (acting() && (meta_.deployed || meta_.stopped)) {
      const bool refresh = now >= refresh_at;
      if (refresh) refresh_at = now + options_.discovery_period;
      register_dirty_ = false;
      co_await register_now(!refresh);
    }
    if (register_dirty_) {
      co_await sleep(context_.clock(), options_.route_coalesce);
      continue;
    }
    co_await register_wake_.wait_until(std::max(refresh_at, context_.clock().now() + options_.route_coalesce));
  }
}

Task<Status> AppMaster::register_now(bool only_if_changed) {
  if (!acting()) co_return Error{Errc::kUnavailable, "not acting"};
  ClusterRegistration registration;
  registration.service = service_;
  registration.cluster = cluster_;
  registration.epoch = lease_.epoch();
  registration.ttl = options_.discovery_ttl;
  // A proxy is listed once it holds a route table; nothing is listed while no backend serves (clients then
  // keep the previous registration until its TTL, or go elsewhere).
  bool serving = false;
  for (const BackendRecord& record : meta_.backends) {
    serving = serving || (record.ready && record.attached && record.role != MemberRole::kRetired);
  }
  for (const ProxyRecord& proxy : meta_.proxies) {
    auto acked = route_acked_.find(proxy.id);
    if (proxy.ready && !proxy.retiring && proxy.data.node != kNoNode && !meta_.stopped &&
        acked != route_acked_.end() && acked->second > 0) {
      registration.proxies.push_back(proxy.data);
    }
  }
  const bool running = meta_.desired > 0 || (meta_.split.active && meta_.split.candidate_replicas > 0);
  if (!meta_.stopped && running && (!serving || registration.proxies.empty())) co_return Status{};
  if (!running) registration.proxies.clear();  // scaled to zero here: deregister
  if (only_if_changed && registered_ == registration.proxies) co_return Status{};
  Result<Bytes> reply = co_await rpc_->call(options_.discovery.address(), kDiscoveryRegister,
                                           runtime::encode(registration), options_.control_timeout);
  if (!reply.ok()) co_return reply.error();
  registered_ = registration.proxies;
  co_return Status{};
}

// --- Persistence and routes ----------------------------------------------------------------------------------

Task<Status> AppMaster::persist() {
  const uint64_t target = meta_.generation;
  int failures = 0;
  while (persisted_generation_ < target) {
    if (!acting()) co_return Error{Errc::kUnavailable, "not acting: the metadata cannot be persisted now"};
    if (writing_) {
      co_await persisted_.wait_until(context_.clock().now() + options_.control_timeout * 4);
      continue;
    }
    writing_ = true;
    const uint64_t generation = meta_.generation;
    Status written = co_await context_.client().kv_put(metadata_key(service_, lease_.epoch()), runtime::encode(meta_));
    writing_ = false;
    persisted_.notify_all();
    if (written.ok()) {
      persisted_generation_ = std::max(persisted_generation_, generation);
    } else if (++failures >= kMaxPersistAttempts) {
      co_return written;
    }
  }
  co_return Status{};
}

Task<Status> AppMaster::persist_or_retry() {
  while (true) {
    Status persisted = co_await persist();
    if (persisted.ok() || lease_.deposed()) co_return persisted;
    co_await sleep(context_.clock(), wait_poll());
  }
}

RouteTable AppMaster::current_routes() {
  RouteTable table;
  table.epoch = lease_.epoch();
  table.generation = ++route_generation_;
  for (const BackendRecord& record : meta_.backends) {
    if (record.id != 0 && record.ready && record.attached && record.role != MemberRole::kRetired) {
      table.backends.push_back(RouteEntry{record.id, record.version});
    }
  }
  if (meta_.split.active) table.version_weights = meta_.split.weights;
  return table;
}

void AppMaster::request_routes() {
  routes_dirty_ = true;
  routes_wake_.notify_all();
}

Task<void> AppMaster::push_routes() {
  if (!acting()) co_return;
  const RouteTable table = current_routes();
  std::vector<Task<void>> pushes;
  for (const ProxyRecord& proxy : meta_.proxies) {
    if (proxy.id != 0 && proxy.ready) pushes.push_back(push_to(proxy.id, table));
  }
  co_await when_all(std::move(pushes));
}

Task<void> AppMaster::push_to(ActorId proxy, RouteTable table) {
  CallOptions options;
  options.timeout = options_.control_timeout;
  const uint64_t generation = table.generation;
  Result<ProxyStatus> acked =
      co_await context_.client().handle(proxy).call_with<ProxyStatus>(options, "update_routes", table);
  if (acked.ok()) {
    uint64_t& acked_generation = route_acked_[proxy];
    if (acked_generation == 0) register_wake_.notify_all();  // its first table: it may be listed now
    acked_generation = std::max(acked_generation, generation);
  }
}

// --- Members -------------------------------------------------------------------------------------------------

void AppMaster::create_backends(uint32_t count, const std::string& version, MemberRole role, bool attach,
                                Duration extra_startup) {
  for (uint32_t i = 0; i < count; ++i) {
    BackendRecord record;
    record.name = next_member_name("backend");
    record.version = version;
    record.role = role;
    busy_.insert(record.name);
    if (role == MemberRole::kSurge) meta_.upgrade.surge.push_back(record.name);
    meta_.backends.push_back(record);
    context_.spawn(create_backend(record.name, attach, extra_startup));
  }
  if (count > 0) changed();
}

void AppMaster::create_proxy() {
  ProxyRecord record;
  record.name = next_member_name("proxy");
  busy_.insert(record.name);
  meta_.proxies.push_back(record);
  context_.spawn(create_proxy_actor(record.name));
  changed();
}

Task<void> AppMaster::create_backend(std::string name, bool attach, Duration extra_startup) {
  std::optional<Slots::Permit> permit = co_await create_slots_.acquire(kForever);
  co_await persist_or_retry();  // the intent is durable before the actor exists
  BackendRecord* record = backend_named(name);
  const VersionSpec* spec = record == nullptr ? nullptr : version(record->version);
  if (record == nullptr || spec == nullptr || !acting()) {
    if (record != nullptr) {
      std::erase_if(meta_.backends, [&](const BackendRecord& r) { return r.name == name; });
      changed();
    }
    busy_.erase(name);
    co_return;
  }
  ActorOptions options;
  options.name = name;
  options.resources = meta_.spec.backend_resources;
  options.labels = meta_.spec.backend_labels;
  options.strategy = runtime::PlacementStrategy::kSpread;  // one node's loss takes as few instances as possible
  options.detached = true;
  options.max_restarts = 0;
  options.max_concurrency = kBackendActorConcurrency;
  const VersionSpec version_spec = *spec;
  Result<ActorHandle> created = co_await context_.create_actor(kBackendClass, options, service_, cluster_,
                                                               version_spec, extra_startup, lease_.epoch());
  if (!created.ok() && created.error().code == Errc::kAlreadyExists) {
    created = co_await context_.client().get_actor(name);  // an earlier attempt made it
  }
  permit.reset();
  record = backend_named(name);
  if (!created.ok() || record == nullptr) {
    if (created.ok()) co_await kill(created.value().id());
    std::erase_if(meta_.backends, [&](const BackendRecord& r) { return r.name == name; });
    changed();
    busy_.erase(name);
    wake_.notify_all();
    co_return;
  }
  record->id = created.value().id();
  changed();
  co_await finish_start(name, attach);
}

Task<void> AppMaster::create_proxy_actor(std::string name) {
  std::optional<Slots::Permit> permit = co_await create_slots_.acquire(kForever);
  co_await persist_or_retry();
  auto find = [&]() -> ProxyRecord* {
    for (ProxyRecord& proxy : meta_.proxies) {
      if (proxy.name == name) return &proxy;
    }
    return nullptr;
  };
  if (find() == nullptr || !acting()) {
    std::erase_if(meta_.proxies, [&](const ProxyRecord& r) { return r.name == name; });
    busy_.erase(name);
    co_return;
  }
  ActorOptions options;
  options.name = name;
  options.resources = meta_.spec.proxy_resources;
  options.strategy = runtime::PlacementStrategy::kSpread;
  options.detached = true;
  options.max_restarts = 0;
  options.max_concurrency = kProxyActorConcurrency;
  Result<ActorHandle> created =
      co_await context_.create_actor(kProxyClass, options, service_, cluster_, meta_.spec.proxy);
  if (!created.ok() && created.error().code == Errc::kAlreadyExists) {
    created = co_await context_.client().get_actor(name);
  }
  permit.reset();
  ProxyRecord* record = find();
  if (!created.ok() || record == nullptr) {
    if (created.ok()) co_await kill(created.value().id());
    std::erase_if(meta_.proxies, [&](const ProxyRecord& r) { return r.name == name; });
    changed();
    busy_.erase(name);
    wake_.notify_all();
    co_return;
  }
  record->id = created.value().id();
  changed();
  co_await finish_start(name, false);
}

Task<void> AppMaster::finish_start(std::string name, bool attach) {
  busy_.insert(name);
  ActorId id = 0;
  Duration startup = options_.start_timeout;
  bool is_proxy = false;
  if (BackendRecord* record = backend_named(name)) {
    id = record->id;
    if (const VersionSpec* spec = version(record->version)) {
      startup += spec->startup;
      if (meta_.spec.autoscale.mode != AutoscaleMode::kOff) startup += meta_.spec.autoscale.provisioning_delay;
    }
  } else {
    for (const ProxyRecord& proxy : meta_.proxies) {
      if (proxy.name == name) {
        id = proxy.id;
        is_proxy = true;
      }
    }
  }
  if (id == 0) {
    busy_.erase(name);
    co_return;
  }
  Result<runtime::ActorInfo> alive = co_await context_.client().wait_actor_alive(id, startup);
  std::optional<ProxyStatus> proxy_status;
  if (alive.ok() && is_proxy) {
    CallOptions options;
    options.timeout = options_.control_timeout;
    Result<ProxyStatus> status =
        co_await context_.client().handle(id).call_with<ProxyStatus>(options, "status", lease_.epoch());
    if (status.ok()) proxy_status = status.value();
  }
  const bool ok = alive.ok() && (!is_proxy || proxy_status.has_value());
  if (BackendRecord* record = backend_named(name); record != nullptr && !is_proxy) {
    if (ok) {
      record->ready = true;
      record->attached = attach && record->role != MemberRole::kRetired;
      health_failures_[id] = 0;
      request_routes();
    } else {
      std::erase_if(meta_.backends, [&](const BackendRecord& r) { return r.name == name; });
      context_.spawn(kill(id));
    }
    changed();
  } else if (is_proxy) {
    ProxyRecord* record = nullptr;
    for (ProxyRecord& proxy : meta_.proxies) {
      if (proxy.name == name) record = &proxy;
    }
    if (record != nullptr && ok) {
      record->ready = true;
      record->data = proxy_status->data;
      health_failures_[id] = 0;
      changed();
      request_routes();
      register_wake_.notify_all();
    } else if (record != nullptr) {
      std::erase_if(meta_.proxies, [&](const ProxyRecord& r) { return r.name == name; });
      context_.spawn(kill(id));
      changed();
    }
  } else {
    context_.spawn(kill(id));  // its record went away meanwhile
  }
  busy_.erase(name);
  wake_.notify_all();
  co_await persist();
}

Task<void> AppMaster::retire_backend(std::string name) {
  BackendRecord* record = backend_named(name);
  if (record == nullptr) co_return;
  busy_.insert(name);
  record->role = MemberRole::kRetired;
  record->attached = false;
  const ActorId id = record->id;
  changed();
  co_await persist_or_retry();
  co_await push_routes();
  if (id != 0) {
    const TimePoint deadline = context_.clock().now() + meta_.spec.upgrade.drain_timeout;
    CallOptions options;
    options.timeout = options_.health_timeout;
    while (context_.clock().now() < deadline) {
      Result<BackendStatus> status =
          co_await context_.client().handle(id).call_with<BackendStatus>(options, "status", lease_.epoch());
      if (!status.ok() || status.value().inflight == 0) break;
      co_await sleep(context_.clock(), std::chrono::milliseconds(20));
    }
    co_await context_.client().handle(id).call_with<BackendStatus>(options, "stop", lease_.epoch());
    co_await kill(id);
  }
  std::erase_if(meta_.backends, [&](const BackendRecord& r) { return r.name == name; });
  std::erase(meta_.upgrade.surge, name);
  health_failures_.erase(id);
  changed();
  busy_.erase(name);
  co_await persist();
}

Task<void> AppMaster::retire_proxy(std::string name) {
  ActorId id = 0;
  for (ProxyRecord& proxy : meta_.proxies) {
    if (proxy.name == name) {
      proxy.retiring = true;
      id = proxy.id;
    }
  }
  busy_.insert(name);
  changed();
  co_await persist_or_retry();
  co_await register_now();  // deregister before the planned stop
  co_await sleep(context_.clock(), options_.deregistration_grace);
  if (id != 0) co_await kill(id);
  std::erase_if(meta_.proxies, [&](const ProxyRecord& r) { return r.name == name; });
  proxy_status_.erase(id);
  route_acked_.erase(id);
  health_failures_.erase(id);
  changed();
  busy_.erase(name);
  co_await persist();
}

Task<void> AppMaster::kill(ActorId id) {
  if (id == 0) co_return;
  co_await context_.client().kill_actor(id, true);
}

// --- Upgrades ------------------------------------------------------------------------------------------------

std::vector<PlanMember> AppMaster::stable_members() const {
  std::vector<PlanMember> members;
  for (const BackendRecord& record : meta_.backends) {
    if (record.role == MemberRole::kStable && record.id != 0) {
      members.push_back(PlanMember{record.id, record.version, record.ready, record.attached});
    }
  }
  return members;
}

Status AppMaster::start_upgrade(const std::string& target, uint64_t release) {
  if (version(target) == nullptr) {
    return Error{Errc::kInvalidArgument, "unknown version '" + target + "': add it to the spec's versions first"};
  }
  UpgradeRecord& up = meta_.upgrade;
  if (upgrade_active(up.state)) {
    if (up.to == target && !up.rolling_back()) return Status{};  // the same release asked again
    return Error{Errc::kFailedPrecondition, "an upgrade from " + up.from + " to " + up.to + " is in progress (" +
                                                std::string(upgrade_state_name(up.state)) + ")"};
  }
  if (meta_.split.active) {
    return Error{Errc::kFailedPrecondition, "a traffic split to " + meta_.split.candidate +
                                                " is active: promote or abort it before an upgrade"};
  }
  up = UpgradeRecord{};
  up.release = release;
  up.from = meta_.spec.version;
  up.to = target;
  if (target == meta_.spec.version) {
    up.state = UpgradeState::kSucceeded;  // nothing to do, and the caller may wait for success
    up.phase = UpgradeState::kSucceeded;
    changed();
    return Status{};
  }
  up.state = UpgradeState::kPreUpdating;
  up.phase = UpgradeState::kPreUpdating;
  changed();
  sample_.clear();
  if (!upgrade_running_) context_.spawn(upgrade_loop());
  return Status{};
}

Task<void> AppMaster::upgrade_loop() {
  if (upgrade_running_) co_return;
  upgrade_running_ = true;
  while (true) {
    if (!acting()) {
      if (lease_.deposed()) break;
      co_await sleep(context_.clock(), wait_poll());
      continue;
    }
    const bool more = co_await upgrade_step();
    if (!more) break;
  }
  upgrade_running_ = false;
}

void AppMaster::begin_rollback(const std::string& reason) {
  UpgradeRecord& up = meta_.upgrade;
  if (up.failure.empty()) up.failure = reason;
  up.rollback_requested = false;
  up.state = UpgradeState::kRollingBack;
  up.phase = UpgradeState::kPreUpdating;
  up.batch.clear();
  meta_.spec.version = up.from;
  changed();
}

void AppMaster::finish_upgrade(UpgradeState final_state) {
  UpgradeRecord& up = meta_.upgrade;
  if (final_state == UpgradeState::kSucceeded) meta_.spec.version = up.to;
  up.state = final_state;
  up.phase = final_state;
  up.batch.clear();
  meta_.history.push_back(ReleaseOutcome{up.release, up.from, up.to, final_state, up.failure});
  while (meta_.history.size() > kMaxHistory) meta_.history.erase(meta_.history.begin());
  changed();
  wake_.notify_all();  // the reconciler retires leftover surge instances and the surplus
}

Task<bool> AppMaster::upgrade_step() {
  UpgradeRecord& up = meta_.upgrade;
  if (!upgrade_active(up.state)) co_return false;
  if (up.rollback_requested && !up.rolling_back()) {
    begin_rollback(up.failure.empty() ? "rollback requested" : up.failure);
    co_await persist_or_retry();
    co_return true;
  }
  const UpgradePolicy& policy = meta_.spec.upgrade;
  switch (up.phase) {
    case UpgradeState::kPreUpdating: {
      if (!up.rolling_back() && policy.validate && sample_.empty()) co_await fetch_sample();
      BatchPlan plan = plan_batch(stable_members(), up.target(), meta_.desired, policy);
      if (plan.remaining == 0) {
        // Done only when the whole stable group is there and ready on the target: after a crash the group
        // may be short (its replacements not created yet), and finishing then would make the target stable
        // and start the replacements on it without any instance of it ever validated.
        int32_t ready_on_target = 0;
        for (const PlanMember& member : stable_members()) {
          ready_on_target += member.ready && member.version == up.target() ? 1 : 0;
        }
        if (ready_on_target < meta_.desired) {
          co_await sleep(context_.clock(), wait_poll());
          co_return true;
        }
        finish_upgrade(up.rolling_back() ? UpgradeState::kRolledBack : UpgradeState::kSucceeded);
        co_await persist_or_retry();
        request_routes();
        co_return false;
      }
      if (plan.batch.empty()) {
        co_await sleep(context_.clock(), wait_poll());  // not enough capacity now: wait for the reconciler
        co_return true;
      }
      if (plan.surge > 0) {
        // Surge instances already recorded for this batch (a previous life of this AppMaster started them
        // before it was restarted) count: starting plan.surge more would exceed max_surge.
        const uint32_t have = static_cast<uint32_t>(up.surge.size());
        if (plan.surge > have) create_backends(plan.surge - have, up.from, MemberRole::kSurge, true);
        std::vector<std::string> names = up.surge;
        co_await persist_or_retry();
        const TimePoint deadline = context_.clock().now() + policy.step_timeout + options_.start_timeout;
        uint32_t serving = 0;
        while (context_.clock().now() < deadline) {
          serving = 0;
          uint32_t pending = 0;
          for (const std::string& name : names) {
            const BackendRecord* record = backend_named(name);
            if (record == nullptr) continue;
            if (record->ready && record->attached) {
              ++serving;
            } else {
              ++pending;
            }
          }
          if (pending == 0) break;
          co_await sleep(context_.clock(), wait_poll());
        }
        if (serving < plan.surge) {
          // Cover only what came up: shrink the batch to what the budget allows without the missing surge.
          const size_t keep = plan.batch.size() - (plan.surge - serving);
          plan.batch.resize(keep);
          if (plan.batch.empty()) co_return true;
        }
        co_await push_routes();  // the surge takes traffic before the batch leaves
      }
      up.batch = plan.batch;
      up.phase = UpgradeState::kDetached;
      if (!up.rolling_back()) up.state = UpgradeState::kDetached;
      changed();
      co_await persist_or_retry();
      co_return true;
    }
    case UpgradeState::kDetached: {
      co_await detach_batch();
      up.phase = UpgradeState::kUpgrading;
      if (!up.rolling_back()) up.state = UpgradeState::kUpgrading;
      changed();
      co_await persist_or_retry();
      co_return true;
    }
    case UpgradeState::kUpgrading: {
      co_await reload_batch();
      if (!up.rolling_back() && policy.validate) {
        up.phase = UpgradeState::kValidating;
        up.state = UpgradeState::kValidating;
        changed();
        co_await persist_or_retry();
      } else {
        co_await attach_batch();
      }
      co_return true;
    }
    case UpgradeState::kValidating: {
      // A restarted AppMaster resumes here without the sample its previous life fetched: fetch it again, or
      // the candidate would be compared with nothing recorded.
      if (sample_.empty()) co_await fetch_sample();
      std::vector<Task<ValidationVerdict>> checks;
      for (ActorId id : up.batch) checks.push_back(validate_instance(id));
      std::vector<ValidationVerdict> verdicts = co_await when_all(std::move(checks));
      for (const ValidationVerdict& verdict : verdicts) {
        if (!verdict.passed) {
          begin_rollback("version " + up.to + " in " + cluster_ + ": " + verdict.reason);
          co_await persist_or_retry();
          co_return true;
        }
      }
      co_await attach_batch();
      co_return true;
    }
    default:
      // A phase that is not a batch step (a record written by a newer program?): start the batch over.
      up.phase = UpgradeState::kPreUpdating;
      changed();
      co_return true;
  }
}

Task<Status> AppMaster::detach_batch() {
  UpgradeRecord& up = meta_.upgrade;
  for (ActorId id : up.batch) {
    if (BackendRecord* record = backend_record(id)) record->attached = false;
  }
  changed();
  co_await persist_or_retry();
  co_await push_routes();
  // Drain: wait for requests in flight to finish, at most drain_timeout.
  const TimePoint deadline = context_.clock().now() + meta_.spec.upgrade.drain_timeout;
  CallOptions options;
  options.timeout = options_.health_timeout;
  while (context_.clock().now() < deadline) {
    bool busy = false;
    for (ActorId id : std::vector<ActorId>(up.batch)) {
      Result<BackendStatus> status =
          co_await context_.client().handle(id).call_with<BackendStatus>(options, "status", lease_.epoch());
      if (status.ok() && status.value().inflight > 0) busy = true;
    }
    if (!busy) break;
    co_await sleep(context_.clock(), std::chrono::milliseconds(20));
  }
  co_return Status{};
}

Task<Status> AppMaster::reload_batch() {
  UpgradeRecord& up = meta_.upgrade;
  const VersionSpec* target = version(up.target());
  if (target == nullptr) co_return Error{Errc::kInternal, "the target version vanished from the spec"};
  const VersionSpec spec = *target;
  CallOptions options;
  options.timeout = meta_.spec.upgrade.step_timeout;
  std::vector<ActorId> batch = up.batch;
  std::vector<Task<Result<BackendStatus>>> reloads;
  for (ActorId id : batch) {
    reloads.push_back(context_.client().handle(id).call_with<BackendStatus>(options, "reload", lease_.epoch(), spec));
  }
  std::vector<Result<BackendStatus>> results = co_await when_all(std::move(reloads));
  std::vector<std::string> replacements;
  for (size_t i = 0; i < batch.size(); ++i) {
    BackendRecord* record = backend_record(batch[i]);
    if (record == nullptr) continue;
    if (results[i].ok() && results[i].value().version == spec.name) {
      record->version = spec.name;
      continue;
    }
    // Cannot reload in place (or died): replace it with a fresh instance of the target, still detached.
    std::erase(up.batch, batch[i]);
    std::erase_if(meta_.backends, [&](const BackendRecord& r) { return r.id == batch[i]; });
    context_.spawn(kill(batch[i]));
    const size_t before = meta_.backends.size();
    create_backends(1, spec.name, MemberRole::kStable, false);
    if (meta_.backends.size() > before) replacements.push_back(meta_.backends.back().name);
  }
  changed();
  co_await persist_or_retry();
  if (!replacements.empty()) {
    const TimePoint deadline = context_.clock().now() + spec.startup + options_.start_timeout;
    while (context_.clock().now() < deadline) {
      bool pending = false;
      for (const std::string& name : replacements) {
        const BackendRecord* record = backend_named(name);
        if (record != nullptr && !record->ready) pending = true;
      }
      if (!pending) break;
      co_await sleep(context_.clock(), wait_poll());
    }
    for (const std::string& name : replacements) {
      const BackendRecord* record = backend_named(name);
      if (record != nullptr && record->ready) up.batch.push_back(record->id);
    }
    changed();
    co_await persist_or_retry();
  }
  co_return Status{};
}

Task<void> AppMaster::attach_batch() {
  UpgradeRecord& up = meta_.upgrade;
  for (ActorId id : up.batch) {
    if (BackendRecord* record = backend_record(id)) record->attached = true;
  }
  changed();
  co_await persist_or_retry();
  co_await push_routes();
  std::vector<std::string> surge = std::move(up.surge);
  up.surge.clear();
  for (const std::string& name : surge) context_.spawn(retire_backend(name));
  up.batch.clear();
  ++up.batches_done;
  up.phase = UpgradeState::kPreUpdating;
  if (!up.rolling_back()) up.state = UpgradeState::kPreUpdating;
  changed();
  co_await persist_or_retry();
}

Task<void> AppMaster::fetch_sample() {
  const uint32_t wanted = meta_.spec.upgrade.validation_requests;
  sample_.clear();
  CallOptions options;
  options.timeout = options_.control_timeout;
  std::vector<ActorId> proxies;
  for (const ProxyRecord& proxy : meta_.proxies) {
    if (proxy.ready && proxy.id != 0) proxies.push_back(proxy.id);
  }
  for (ActorId proxy : proxies) {
    Result<std::vector<RecordedRequest>> recorded =
        co_await context_.client().handle(proxy).call_with<std::vector<RecordedRequest>>(options, "recorded",
                                                                                         lease_.epoch(), wanted * 4);
    if (!recorded.ok()) continue;
    for (RecordedRequest& request : recorded.value()) {
      if (sample_.size() >= wanted) break;
      if (!request.failed && request.version == meta_.upgrade.from) sample_.push_back(std::move(request));
    }
    if (sample_.size() >= wanted) break;
  }
}

Task<ReplayResult> AppMaster::replay(ActorId backend, std::string payload) {
  CallOptions options;
  options.timeout = options_.replay_budget;
  const TimePoint start = context_.clock().now();
  ServeRequest request;
  request.payload = std::move(payload);
  request.budget = options_.replay_budget;
  Result<ServeReply> reply =
      co_await context_.client().handle(backend).call_with<ServeReply>(options, "handle", request);
  ReplayResult result;
  result.latency = context_.clock().now() - start;
  result.failed = !reply.ok();
  if (reply.ok()) result.answer = reply.value().payload;
  co_return result;
}

Task<ValidationVerdict> AppMaster::validate_instance(ActorId candidate) {
  const UpgradePolicy& policy = meta_.spec.upgrade;
  const UpgradeRecord& up = meta_.upgrade;
  std::vector<ActorId> old;
  for (const BackendRecord& record : meta_.backends) {
    if (record.id != 0 && record.ready && record.attached && record.version == up.from && old.size() < 2 &&
        record.role != MemberRole::kRetired) {
      old.push_back(record.id);
    }
  }
  std::vector<RecordedRequest> sample = sample_;
  std::vector<ReplaySample> samples;
  const uint32_t count = policy.validation_requests;
  for (uint32_t i = 0; i < count; ++i) {
    const bool recorded = i < sample.size();
    const std::string payload =
        recorded ? sample[i].payload : "validation-" + std::to_string(up.release) + "-" + std::to_string(i);
    ReplaySample replayed;
    replayed.candidate = co_await replay(candidate, payload);
    size_t next_old = 0;
    if (recorded) {
      replayed.primary = ReplayResult{false, sample[i].answer, sample[i].latency};
    } else if (!old.empty()) {
      replayed.primary = co_await replay(old[next_old++], payload);
    } else {
      // Nothing old to compare with (a single instance, no recorded traffic): judge the candidate against a
      // flawless baseline — same answer and latency, no error — so its errors still fail it. Comparing it
      // with itself would pass any version.
      replayed.primary = ReplayResult{false, replayed.candidate.answer, replayed.candidate.latency};
    }
    if (next_old < old.size()) {
      replayed.has_secondary = true;
      replayed.secondary = co_await replay(old[next_old], payload);
    }
    samples.push_back(std::move(replayed));
  }
  co_return judge(samples, policy);
}

// --- Methods -------------------------------------------------------------------------------------------------

Task<Result<AppMasterStatus>> AppMaster::status() {
  AppMasterStatus out;
  out.service = service_;
  out.cluster = cluster_;
  out.epoch = lease_.epoch();
  out.job_id = job_id_;
  out.acting = acting();
  out.recovered = recovered_;
  out.recovery = mode_;
  out.deployed = meta_.deployed;
  out.stopped = meta_.stopped;
  out.stable_version = meta_.spec.version;
  out.desired = meta_.desired;
  out.serving = meta_.serving_by_version();
  for (const BackendRecord& record : meta_.backends) {
    ++out.backends;
    if (record.ready) ++out.backends_ready;
    if (record.role == MemberRole::kStable && !record.attached && upgrade_active(meta_.upgrade.state) &&
        record.ready) {
      ++out.detached_for_upgrade;
    }
  }
  uint32_t surge_attached = 0;
  for (const BackendRecord& record : meta_.backends) {
    if (record.role == MemberRole::kSurge && record.ready && record.attached) ++surge_attached;
  }
  out.allowed_unavailable = meta_.spec.upgrade.max_unavailable + surge_attached;
  for (const ProxyRecord& record : meta_.proxies) {
    ++out.proxies;
    if (record.ready) ++out.proxies_ready;
  }
  out.upgrade = meta_.upgrade;
  out.split = meta_.split;
  out.history = meta_.history;
  for (const auto& [id, status] : proxy_status_) {
    out.load += status.inflight + status.queued;
    for (const auto& [version, stats] : status.versions) {
      VersionStats& sum = out.version_stats[version];
      sum.requests += stats.requests;
      sum.errors += stats.errors;
      sum.p99_ms = std::max(sum.p99_ms, stats.p99_ms);
    }
  }
  out.generation = meta_.generation;
  out.persisted_generation = persisted_generation_;
  co_return out;
}

Task<Result<ServiceMetadata>> AppMaster::metadata() { co_return meta_; }

Task<Status> AppMaster::apply(ServiceSpec spec) {
  if (Status valid = spec.validate(); !valid.ok()) co_return valid;
  if (spec.name != service_) {
    co_return Error{Errc::kInvalidArgument, "this AppMaster serves '" + service_ + "', not '" + spec.name + "'"};
  }
  if (Status can = check_can_act(); !can.ok()) co_return can;
  const std::string wanted = spec.version;
  if (meta_.deployed && !meta_.stopped) {
    const std::string stable = meta_.spec.version;
    if (spec.find_version(stable) == nullptr) {
      co_return Error{Errc::kInvalidArgument, "version '" + stable + "' still runs here: keep it in `versions` (" +
                                                  "nothing was applied)"};
    }
    const UpgradeRecord& up = meta_.upgrade;
    if (wanted != stable && !(upgrade_active(up.state) && up.to == wanted)) {
      if (upgrade_active(up.state)) {
        co_return Error{Errc::kFailedPrecondition, "an upgrade to " + up.to + " is in progress (nothing was applied)"};
      }
      if (meta_.split.active) {
        co_return Error{Errc::kFailedPrecondition, "a traffic split is active (nothing was applied)"};
      }
    }
    const int32_t before = meta_.spec.replicas_in(cluster_);
    spec.version = stable;
    meta_.spec = std::move(spec);
    if (meta_.spec.replicas_in(cluster_) != before || meta_.spec.autoscale.mode == AutoscaleMode::kOff) {
      meta_.desired = meta_.spec.replicas_in(cluster_);
    }
  } else {
    meta_.spec = std::move(spec);
    meta_.desired = meta_.spec.replicas_in(cluster_);
    meta_.deployed = true;
    meta_.stopped = false;
  }
  if (meta_.spec.autoscale.mode != AutoscaleMode::kOff) {
    meta_.desired = std::clamp(meta_.desired, meta_.spec.autoscale.min_replicas, meta_.spec.autoscale.max_replicas);
    if (!autoscaler_ || !(autoscaler_->policy() == meta_.spec.autoscale)) autoscaler_.emplace(meta_.spec.autoscale);
  } else {
    autoscaler_.reset();
  }
  changed();
  if (wanted != meta_.spec.version) {
    if (Status started = start_upgrade(wanted, meta_.generation); !started.ok()) co_return started;
  }
  Status persisted = co_await persist();
  wake_.notify_all();
  request_routes();
  co_return persisted;
}

Task<Status> AppMaster::scale(int32_t replicas) {
  if (replicas < 0 || replicas > kMaxReplicasPerCluster) {
    co_return Error{Errc::kInvalidArgument, "replicas = " + std::to_string(replicas) + ": must be in [0, " +
                                                std::to_string(kMaxReplicasPerCluster) + "]"};
  }
  if (Status can = check_can_act(); !can.ok()) co_return can;
  if (!meta_.deployed) co_return Error{Errc::kFailedPrecondition, "nothing is deployed: apply a spec first"};
  const AutoscalePolicy& policy = meta_.spec.autoscale;
  if (policy.mode != AutoscaleMode::kOff && (replicas < policy.min_replicas || replicas > policy.max_replicas)) {
    co_return Error{Errc::kInvalidArgument, "replicas = " + std::to_string(replicas) +
                                                ": outside the autoscale bounds [" +
                                                std::to_string(policy.min_replicas) + ", " +
                                                std::to_string(policy.max_replicas) + "]"};
  }
  meta_.desired = replicas;
  meta_.spec.replicas[cluster_] = replicas;
  changed();
  Status persisted = co_await persist();
  wake_.notify_all();
  co_return persisted;
}

Task<Status> AppMaster::upgrade(std::string target, uint64_t release) {
  if (Status can = check_can_act(); !can.ok()) co_return can;
  if (!meta_.deployed) co_return Error{Errc::kFailedPrecondition, "nothing is deployed: apply a spec first"};
  if (Status started = start_upgrade(target, release); !started.ok()) co_return started;
  co_return co_await persist();
}

Task<Status> AppMaster::rollback(uint64_t release, std::string reason) {
  if (Status can = check_can_act(); !can.ok()) co_return can;
  UpgradeRecord& up = meta_.upgrade;
  if (up.release != release) {
    co_return Error{Errc::kNotFound, "release " + std::to_string(release) + " is not the last one here (" +
                                         std::to_string(up.release) + ")"};
  }
  if (up.state == UpgradeState::kRolledBack || up.rolling_back()) co_return Status{};
  if (up.state == UpgradeState::kIdle) co_return Error{Errc::kFailedPrecondition, "no release to roll back"};
  if (up.failure.empty()) up.failure = reason;
  if (up.state == UpgradeState::kSucceeded) {
    if (!meta_.history.empty() && meta_.history.back().release == release) meta_.history.pop_back();
    begin_rollback(reason);
    if (!upgrade_running_) context_.spawn(upgrade_loop());
  } else {
    up.rollback_requested = true;
    changed();
  }
  co_return co_await persist();
}

Task<Status> AppMaster::set_split(VersionSplit split) {
  if (Status can = check_can_act(); !can.ok()) co_return can;
  if (!meta_.deployed) co_return Error{Errc::kFailedPrecondition, "nothing is deployed: apply a spec first"};
  if (upgrade_active(meta_.upgrade.state)) {
    co_return Error{Errc::kFailedPrecondition, "an upgrade is in progress: wait for it before splitting traffic"};
  }
  if (version(split.candidate) == nullptr) {
    co_return Error{Errc::kInvalidArgument, "unknown candidate version '" + split.candidate + "'"};
  }
  if (split.candidate == meta_.spec.version) {
    co_return Error{Errc::kInvalidArgument, "the candidate is the stable version already"};
  }
  if (meta_.split.active && meta_.split.candidate != split.candidate) {
    co_return Error{Errc::kFailedPrecondition, "a split to " + meta_.split.candidate + " is active"};
  }
  if (split.candidate_replicas < 0 || split.candidate_replicas > kMaxReplicasPerCluster) {
    co_return Error{Errc::kInvalidArgument, "candidate_replicas must be in [0, " +
                                                std::to_string(kMaxReplicasPerCluster) + "]"};
  }
  for (const auto& [name, weight] : split.weights) {
    if (name != split.candidate && name != meta_.spec.version) {
      co_return Error{Errc::kInvalidArgument, "weights name version '" + name + "', which is neither stable nor the "
                                                  "candidate"};
    }
  }
  split.active = true;
  meta_.split = std::move(split);
  changed();
  Status persisted = co_await persist();
  request_routes();
  wake_.notify_all();
  co_return persisted;
}

Task<Status> AppMaster::promote(uint64_t release) {
  if (Status can = check_can_act(); !can.ok()) co_return can;
  if (!meta_.split.active) co_return Error{Errc::kFailedPrecondition, "no traffic split to promote"};
  const std::string candidate = meta_.split.candidate;
  int32_t candidates = 0;
  for (const BackendRecord& record : meta_.backends) candidates += record.role == MemberRole::kCandidate ? 1 : 0;
  std::vector<std::string> old_names;
  for (BackendRecord& record : meta_.backends) {
    if (record.role == MemberRole::kCandidate) record.role = MemberRole::kStable;
  }
  if (candidates >= meta_.desired) {
    // Blue-green: the candidates are a full set; the old set leaves.
    for (const BackendRecord& record : meta_.backends) {
      if (record.role == MemberRole::kStable && record.version != candidate) old_names.push_back(record.name);
    }
    UpgradeRecord& up = meta_.upgrade;
    up = UpgradeRecord{};
    up.release = release;
    up.from = meta_.spec.version;
    up.to = candidate;
    meta_.split = VersionSplit{};
    finish_upgrade(UpgradeState::kSucceeded);
    for (const std::string& name : old_names) context_.spawn(retire_backend(name));
  } else {
    // Canary: the canary instances join the stable group; the rest is upgraded in place.
    meta_.split = VersionSplit{};
    changed();
    if (Status started = start_upgrade(candidate, release); !started.ok()) co_return started;
  }
  changed();
  Status persisted = co_await persist();
  request_routes();
  wake_.notify_all();
  co_return persisted;
}

Task<Status> AppMaster::abort_split() {
  if (Status can = check_can_act(); !can.ok()) co_return can;
  if (!meta_.split.active) co_return Status{};
  meta_.split = VersionSplit{};
  changed();
  Status persisted = co_await persist();
  request_routes();
  wake_.notify_all();  // the reconciler retires the candidates
  co_return persisted;
}

Task<Status> AppMaster::stop() {
  if (Status can = check_can_act(); !can.ok()) co_return can;
  meta_.stopped = true;
  changed();
  if (Status persisted = co_await persist(); !persisted.ok()) co_return persisted;
  co_await register_now();  // deregistration comes first
  co_await sleep(context_.clock(), options_.deregistration_grace);
  std::vector<std::string> backends;
  for (const BackendRecord& record : meta_.backends) backends.push_back(record.name);
  std::vector<std::string> proxies;
  for (const ProxyRecord& record : meta_.proxies) proxies.push_back(record.name);
  for (const std::string& name : backends) context_.spawn(retire_backend(name));
  for (const std::string& name : proxies) context_.spawn(retire_proxy(name));
  co_return Status{};
}

// --- Autoscaling ---------------------------------------------------------------------------------------------

Task<void> AppMaster::autoscale_loop() {
  while (true) {
    const Duration tick = autoscaler_ ? autoscaler_->policy().tick : std::chrono::seconds(1);
    co_await sleep(context_.clock(), tick);
    if (!autoscaler_ || !acting() || meta_.stopped || !meta_.deployed) continue;
    CallOptions options;
    options.timeout = std::min(tick, options_.health_timeout);
    std::vector<Task<Result<ProxyStatus>>> polls;
    std::vector<ActorId> ids;
    for (const ProxyRecord& proxy : meta_.proxies) {
      if (proxy.ready && proxy.id != 0 && !proxy.retiring) {
        polls.push_back(context_.client().handle(proxy.id).call_with<ProxyStatus>(options, "status", uint64_t{0}));
        ids.push_back(proxy.id);
      }
    }
    std::vector<Result<ProxyStatus>> results = co_await when_all(std::move(polls));
    double load = 0;
    for (size_t i = 0; i < results.size(); ++i) {
      if (results[i].ok()) {
        load += results[i].value().inflight + results[i].value().queued;
        proxy_status_[ids[i]] = results[i].value();
      } else if (auto it = proxy_status_.find(ids[i]); it != proxy_status_.end()) {
        load += it->second.inflight + it->second.queued;
      }
    }
    if (!autoscaler_) continue;
    const TimePoint now = context_.clock().now();
    autoscaler_->observe(now, load);
    if (upgrade_active(meta_.upgrade.state)) continue;
    int32_t ready = 0;
    for (const BackendRecord& record : meta_.backends) {
      if (record.role == MemberRole::kStable && record.ready) ++ready;
    }
    // Decide against what is wanted already, so instances still starting are not asked for twice.
    const int32_t wanted = autoscaler_->desire(now, std::max(ready, meta_.desired));
    if (wanted != meta_.desired) {
      meta_.desired = wanted;
      changed();
      wake_.notify_all();
      publish_gauges();
    }
  }
}

// --- Gauges --------------------------------------------------------------------------------------------------

void AppMaster::publish_lease_gauges() {
  metrics::MetricsRegistry& metrics = context_.metrics();
  const metrics::Labels labels{{"service", service_}, {"cluster", cluster_}};
  if (lease_.epoch() > 0) {
    const metrics::Labels epoch = labels.with("epoch", std::to_string(lease_.epoch()));
    metrics.gauge("serving_appmaster_acting_from_ns", epoch).set(static_cast<double>(to_ns(lease_.acting_from())));
    metrics.gauge("serving_appmaster_acting_until_ns", epoch)
        .set(static_cast<double>(to_ns(lease_.deposed() ? std::min(lease_.acting_until(), context_.clock().now())
                                                        : lease_.acting_until())));
  }
}

void AppMaster::publish_gauges() {
  publish_lease_gauges();
  if (!recovered_) return;
  metrics::MetricsRegistry& metrics = context_.metrics();
  const metrics::Labels labels{{"service", service_}, {"cluster", cluster_}};
  const std::map<std::string, uint32_t> serving = meta_.serving_by_version();
  for (const auto& [version, count] : serving) gauge_versions_.insert(version);
  for (const std::string& version : gauge_versions_) {
    auto it = serving.find(version);
    metrics.gauge("serving_backends_serving", labels.with("version", version))
        .set(it == serving.end() ? 0 : it->second);
  }
  metrics.gauge("serving_desired_replicas", labels).set(meta_.desired);
  metrics.gauge("serving_upgrade_state", labels).set(static_cast<double>(meta_.upgrade.state));
}

}  // namespace tandem::serving
