#include "core/runtime/node_daemon.h"

#include <algorithm>

#include "core/async/sleep.h"
#include "core/runtime/call_wire.h"
#include "core/runtime/fifo_vector.h"

namespace tandem::runtime {

using namespace protocol;  // NOLINT: the wire records are this file's vocabulary

namespace {
constexpr std::string_view kEnvPrefix = "daemon/env/";
constexpr size_t kMaxRememberedDeaths = 10'000;  // ended actors kept to re-report a lost death notice
constexpr int kMaxNotifyAttempts = 5;            // then the heartbeat's reconciliation repairs what was lost
constexpr size_t kMaxRetainedReplyBuffers = 16;  // free reply buffers (and their memory) kept after a flush
}  // namespace

struct NodeDaemon::QueuedCall {
  Address caller;  // the calling client's endpoint: where the result goes
  uint64_t sequence = 0;
  uint32_t attempt = 0;
  uint64_t number = 0;  // arrival order at this actor
  const ActorMethod* method = nullptr;  // in the catalog, which outlives every daemon
  Bytes args;
  TimePoint arrived{};
};

// A runner task of an actor: runs queued calls one after the other. An actor has at most max_concurrency.
struct NodeDaemon::RunnerSlot {
  bool alive = false;  // a runner holds this slot
  bool busy = false;   // ... and is running the call below
  Address caller;
  uint64_t sequence = 0;
  uint32_t attempt = 0;
  uint64_t number = 0;
};

// Results for one client, gathered during one event and posted after it as one kCallResults message. Kept
// between events (in_use false: free) so the writer's buffer is reused.
struct NodeDaemon::ReplyBuffer {
  bool in_use = false;
  Address to;
  protocol::WireWriter writer;  // the kCallResults message (call_wire.h); its count() is the results in it
};

namespace {
Bytes execution_reply(const Result<Bytes>& result, bool lost) {
  protocol::ExecutionReply reply;
  if (result.ok()) {
    reply.value = result.value();
  } else {
    reply.code = result.error().code;
    reply.message = result.error().message;
  }
  reply.lost = lost;
  return encode(reply);
}
}  // namespace

struct NodeDaemon::ClassMetrics {
  metrics::Counter& calls;
  metrics::Counter& failures;
  metrics::Histogram& latency_ms;
  metrics::Gauge& queued;
  metrics::Gauge& hosted;
};

struct NodeDaemon::ActorHost {
  ActorInfo info;
  ActorOptions options;
  const ActorClass* actor_class = nullptr;
  ClassMetrics* metrics = nullptr;
  bool ready = false;
  std::optional<Completion<Status>> starting;
  FifoVector<QueuedCall> queue;
  std::vector<RunnerSlot> runner_slots;
  uint32_t runners = 0;  // runner tasks alive
  uint32_t running = 0;  // calls running
  uint64_t next_call = 0;
  std::unique_ptr<ActorContext> context;   // outlives the instance, which holds a reference to it
  std::unique_ptr<runtime::Actor> instance;
  Scope scope;  // last: the actor's coroutines die before its instance and context
};

NodeDaemon::NodeDaemon(Env& env, const RuntimeCatalog& catalog, NodeDaemonOptions options)
    : env_(env),
      catalog_(catalog),
      options_(std::move(options)),
      own_metrics_(options_.metrics == nullptr ? std::make_unique<metrics::MetricsRegistry>() : nullptr),
      metrics_(options_.metrics != nullptr ? *options_.metrics : *own_metrics_),
      instance_(env.random.next_u64() | 1),
      heartbeat_period_(options_.heartbeat_period),
      endpoint_(env.transport, env.clock, kNodeDaemonPort),
      reply_flusher_(env.clock, [this] { flush_replies(); }) {
  TANDEM_CHECK(options_.control_store.node != kNoNode, "NodeDaemonOptions.control_store must name the head node");
  TANDEM_CHECK(options_.heartbeat_period > Duration::zero(), "heartbeat_period must be positive");
  ClientOptions client_options = options_.client;
  client_options.control_store = options_.control_store;
  client_options.catalog = &catalog_;
  client_options.metrics = &metrics_;
  client_options.default_owner = OwnerRef{env_.node, kNoActor};
  client_ = std::make_unique<RuntimeClient>(env_, client_options);

  endpoint_.serve(kCreateActorOnNode,
                  [this](Address from, Bytes request) { return handle_create_actor(from, std::move(request)); });
  endpoint_.serve(kKillActorOnNode,
                  [this](Address from, Bytes request) { return handle_kill_actor(from, std::move(request)); });
  endpoint_.serve_posts(kCallBatch,
                        [this](Address from, uint64_t batch, Bytes payload) { on_call_batch(from, batch, payload); });
  endpoint_.serve(kRunTask, [this](Address from, Bytes request) { return handle_run_task(from, std::move(request)); });
  endpoint_.serve(kProbeActors, [this](Address, Bytes request) -> Task<Result<Bytes>> {
    co_return probe_actors(request);
  });

  for (const std::string& name : options_.installed_runtime_envs) {
    EnvEntry& entry = envs_[name];
    entry.ready = true;
    entry.pinned = true;
  }
  for (const auto& [key, value] : env_.storage.scan(kEnvPrefix)) {
    EnvEntry& entry = envs_[key.substr(kEnvPrefix.size())];
    entry.ready = true;
  }
  for (const auto& [name, units] : options_.resources.all_units()) {
    metrics_.gauge("runtime_node_resources_total", {{"node", std::to_string(env_.node)}, {"resource", name}})
        .set(options_.resources.get(name));
  }
  reply_flusher_.start(scope_);
  scope_.spawn(heartbeat_loop());
}

NodeDaemon::~NodeDaemon() {
  scope_.cancel_all();
  tasks_scope_.cancel_all();
  // Each actor's coroutines first (its Scope), while the client they may use still lives; in id order.
  for (ActorId id : sorted_actor_ids()) actors_.erase(id);
}

std::vector<ActorId> NodeDaemon::sorted_actor_ids() const {
  std::vector<ActorId> ids;
  ids.reserve(actors_.size());
  actors_.for_each([&ids](ActorId id, const ActorHost&) { ids.push_back(id); });
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::vector<NodeDaemon::HostedActor> NodeDaemon::hosted_actors() const {
  std::vector<HostedActor> out;
  for (ActorId id : sorted_actor_ids()) {
    const ActorHost* host = &actors_.at(id);
    out.push_back(HostedActor{id, host->info.incarnation, host->info.class_name, host->ready, host->queue.size(),
                              host->running});
  }
  return out;
}

std::vector<std::string> NodeDaemon::installed_runtime_envs() const {
  std::vector<std::string> out;
  for (const auto& [name, entry] : envs_) {
    if (entry.ready) out.push_back(name);
  }
  return out;
}

// --- Resources ---------------------------------------------------------------------------------------------

bool NodeDaemon::reserve(const ResourceSet& resources) {
  ResourceSet free = options_.resources;
  free.subtract(in_use_);
  if (!resources.fits_in(free)) return false;
  in_use_.add(resources);
  TANDEM_CHECK(in_use_.fits_in(options_.resources), "a node uses more than its capacity");
  update_resource_gauges();
  return true;
}

void NodeDaemon::release(const ResourceSet& resources) {
  in_use_.subtract(resources);  // TANDEM_CHECKs that nothing goes below zero
  update_resource_gauges();
}

void NodeDaemon::update_resource_gauges() {
  for (const auto& [name, units] : options_.resources.all_units()) {
    metrics_.gauge("runtime_node_resources_in_use", {{"node", std::to_string(env_.node)}, {"resource", name}})
        .set(in_use_.get(name));
  }
}

NodeDaemon::ClassMetrics& NodeDaemon::class_metrics(const std::string& key) {
  auto it = class_metrics_.find(key);
  if (it != class_metrics_.end()) return *it->second;
  const std::string node = std::to_string(env_.node);
  const auto hash = key.find('#');
  metrics::Labels labels{{"class", key.substr(0, hash)}, {"node", node}};
  if (hash != std::string::npos) labels = labels.with("actor", key.substr(hash + 1));
  auto made = std::make_unique<ClassMetrics>(ClassMetrics{
      metrics_.counter("runtime_actor_calls_total", labels),
      metrics_.counter("runtime_actor_call_failures_total", labels),
      metrics_.histogram("runtime_actor_call_latency_ms", labels),
      metrics_.gauge("runtime_actor_queue_length", labels),
      metrics_.gauge("runtime_actors_hosted", labels),
  });
  return *class_metrics_.emplace(key, std::move(made)).first->second;
}

// --- Heartbeats and registration ---------------------------------------------------------------------------

Task<void> NodeDaemon::heartbeat_loop() {
  while (true) {
    if (!registered_) {
      RegisterNodeRequest request{env_.node, instance_, options_.resources, options_.labels,
                                  installed_runtime_envs()};
      Result<Bytes> reply = co_await endpoint_.call(options_.control_store, kRegisterNode, encode(request),
                                                    heartbeat_period_ * 2);
      if (!reply.ok()) {
        co_await sleep(env_.clock, heartbeat_period_);
        continue;
      }
      registered_ = true;
      Result<RegisterNodeReply> registration = decode<RegisterNodeReply>(reply.value());
      if (registration.ok() && registration.value().heartbeat_period > Duration::zero()) {
        heartbeat_period_ = registration.value().heartbeat_period;
      }
    }
    co_await sleep(env_.clock, heartbeat_period_);
    HeartbeatRequest heartbeat{env_.node, instance_, actors_.size(), actor_digest_, {}, installed_runtime_envs()};
    heartbeat.leases.reserve(tasks_.size());
    for (const auto& [lease, task] : tasks_) heartbeat.leases.push_back(LeaseUsage{lease, task.resources, task.bundle});
    const NodeInstance sent_for = instance_;
    Result<Bytes> reply =
        co_await endpoint_.call(options_.control_store, kHeartbeat, encode(heartbeat), heartbeat_period_);
    if (!reply.ok() || instance_ != sent_for) continue;  // the control store is away: keep beating
    Result<HeartbeatReply> decoded = decode<HeartbeatReply>(reply.value());
    if (!decoded.ok()) continue;
    if (!decoded.value().known) {
      new_instance("the control store declared node " + std::to_string(env_.node) + " dead");
      continue;
    }
    if (decoded.value().expected_actors) reconcile(*decoded.value().expected_actors);
  }
}

void NodeDaemon::reconcile(const std::vector<ActorIncarnation>& expected) {
  const std::set<ActorIncarnation> wanted(expected.begin(), expected.end());
  std::vector<ActorId> extra;
  for (ActorId id : sorted_actor_ids()) {
    if (wanted.count(ActorIncarnation{id, actors_.at(id).info.incarnation}) == 0) extra.push_back(id);
  }
  for (ActorId id : extra) end_actor(id, "the control store no longer places it on node " + std::to_string(env_.node));
  // Deaths the control store has not heard of (the notice was lost): tell it again.
  for (const ActorIncarnation& pair : expected) {
    if (actors_.contains(pair.actor)) continue;
    auto ended = ended_.find(pair.actor);
    if (ended != ended_.end() && ended->second.incarnation == pair.incarnation) {
      report_death(pair.actor, pair.incarnation, ended->second.cause, ended->second.exit_requested);
    }
  }
}

void NodeDaemon::new_instance(const std::string& cause) {
  for (ActorId id : sorted_actor_ids()) end_actor(id, cause);
  for (auto& [lease, task] : tasks_) {
    tasks_scope_.cancel(task.task);
    *task.lost = true;
    task.done.complete(Error{Errc::kPeerDied, "the task's node ended it: " + cause});
    release(task.resources);
  }
  tasks_.clear();
  ended_.clear();
  ended_order_.clear();
  instance_ = env_.random.next_u64() | 1;
  registered_ = false;
}

Task<void> NodeDaemon::notify_control(uint32_t method, Bytes request) {
  Duration backoff = heartbeat_period_ / 4;
  for (int attempt = 0; attempt < kMaxNotifyAttempts; ++attempt) {
    if (attempt > 0) {
      co_await sleep(env_.clock, backoff);
      backoff *= 2;
    }
    Result<Bytes> reply = co_await endpoint_.call(options_.control_store, method, request, heartbeat_period_ * 2);
    if (reply.ok()) co_return;
    const Errc code = reply.error().code;
    if (code != Errc::kUnreachable && code != Errc::kTimeout && code != Errc::kPeerDied && code != Errc::kUnavailable) {
      co_return;
    }
  }
}

void NodeDaemon::report_death(ActorId id, uint64_t incarnation, const std::string& cause, bool exit_requested) {
  ActorDiedRequest request{env_.node, instance_, id, incarnation, cause, exit_requested};
  scope_.spawn(notify_control(kActorDied, encode(request)));
}

void NodeDaemon::return_lease(LeaseId lease) {
  scope_.spawn(notify_control(kReturnLease, encode(ReturnLeaseRequest{lease, env_.node, 0, 0})));
}

// --- Actors ------------------------------------------------------------------------------------------------

Task<Result<Bytes>> NodeDaemon::handle_create_actor(Address from, Bytes bytes) {
  (void)from;
  Result<CreateActorOnNodeRequest> decoded = decode_request<CreateActorOnNodeRequest>(bytes, "CreateActorOnNode");
  if (!decoded.ok()) co_return decoded.error();
  CreateActorOnNodeRequest& request = decoded.value();
  const std::string here = "node " + std::to_string(env_.node);
  // The instance matching is enough: the control store only places on instances that registered (the reply to
  // our registration may still be on its way).
  if (request.instance != instance_) {
    co_return Error{Errc::kUnavailable, here + " is not the instance the request was meant for"};
  }
  const ActorId id = request.actor.id;
  const uint64_t incarnation = request.actor.incarnation;
  if (const ActorHost* hosted = actors_.find(id)) {
    if (hosted->info.incarnation >= incarnation) {
      co_return Error{Errc::kUnavailable, here + " already hosts a life of actor " + std::to_string(id)};
    }
    end_actor(id, "superseded by incarnation " + std::to_string(incarnation));
  }
  if (actors_.size() >= options_.max_actors) co_return Error{Errc::kUnavailable, here + " hosts max_actors actors"};
  const ActorClass* actor_class = catalog_.actor_classes.find(request.actor.class_name);
  if (actor_class == nullptr) {
    co_return Error{Errc::kNotFound, "actor class '" + request.actor.class_name + "' is not registered on " + here};
  }
  if (!reserve(request.options.resources)) {
    ResourceSet free = options_.resources;
    free.subtract(in_use_);
    co_return Error{Errc::kUnavailable, here + " lacks free resources (" +
                                            request.options.resources.shortfall(free) + ")"};
  }
  auto host = std::make_unique<ActorHost>();
  host->info = request.actor;
  host->options = request.options;
  host->actor_class = actor_class;
  host->metrics = &class_metrics(options_.per_actor_metrics ? request.actor.class_name + "#" + std::to_string(id)
                                                            : request.actor.class_name);
  host->metrics->hosted.add(1);
  actors_.insert(id, std::move(host));
  actor_digest_ ^= actor_digest_term(id, incarnation);

  Status env_ready = co_await ensure_env(request.options.runtime_env);
  ActorHost* hosted = actors_.find(id);
  if (hosted == nullptr || hosted->info.incarnation != incarnation) {
    co_return Error{Errc::kUnavailable, "actor " + std::to_string(id) + " was ended while being created"};
  }
  if (!env_ready.ok()) {
    end_actor(id, "its runtime env is unavailable");
    co_return env_ready.error();
  }
  ActorHost& actor = *hosted;
  actor.context = std::make_unique<ActorContext>(
      env_, *client_, metrics_, actor.info, actor.scope,
      [this, id, incarnation](std::string cause) { scope_.spawn(exit_later(id, incarnation, std::move(cause))); });
  Result<std::unique_ptr<runtime::Actor>> made = actor_class->factory(*actor.context, request.args);
  if (!made.ok()) {
    end_actor(id, "its constructor failed");
    co_return made.error();
  }
  actor.instance = std::move(made).value();
  Completion<Status> started(env_.clock);
  actor.starting = started;
  actor.scope.spawn(run_start(actor, started));
  std::optional<Status> outcome = co_await started.wait_until(env_.clock.now() + options_.actor_start_timeout);
  hosted = actors_.find(id);
  if (hosted == nullptr || hosted->info.incarnation != incarnation) {
    co_return Error{Errc::kUnavailable, "actor " + std::to_string(id) + " was ended while starting"};
  }
  if (!outcome) {
    end_actor(id, "start() did not finish in time");
    co_return Error{Errc::kUnavailable, "actor " + std::to_string(id) + ": start() did not finish within " +
                                            format_duration(options_.actor_start_timeout)};
  }
  if (!outcome->ok()) {
    end_actor(id, "start() failed");
    co_return Error{outcome->error().code, request.actor.class_name + ".start() failed: " + outcome->error().message};
  }
  hosted->starting.reset();
  hosted->ready = true;
  dispatch(*hosted);
  co_return Bytes{};
}

Task<void> NodeDaemon::run_start(ActorHost& actor, Completion<Status> done) {
  std::optional<Status> status;
  std::string thrown;
  try {
    status.emplace(co_await actor.instance->start());
  } catch (const std::exception& e) {
    thrown = e.what();
  } catch (...) {
    thrown = "a non-standard exception";
  }
  done.complete(status ? std::move(*status) : Status(Error{Errc::kInternal, "start() threw: " + thrown}));
}

Task<void> NodeDaemon::exit_later(ActorId id, uint64_t incarnation, std::string cause) {
  co_await yield(env_.clock);  // never end an actor from inside its own coroutine
  const ActorHost* hosted = actors_.find(id);
  if (hosted == nullptr || hosted->info.incarnation != incarnation) co_return;
  end_actor(id, cause, true);
  report_death(id, incarnation, cause, true);
}

Task<Result<Bytes>> NodeDaemon::handle_kill_actor(Address from, Bytes bytes) {
  (void)from;
  Result<KillActorOnNodeRequest> decoded = decode_request<KillActorOnNodeRequest>(bytes, "KillActorOnNode");
  if (!decoded.ok()) co_return decoded.error();
  const KillActorOnNodeRequest& request = decoded.value();
  if (request.instance != instance_) co_return Bytes{};
  const ActorHost* hosted = actors_.find(request.actor);
  if (hosted != nullptr && (request.incarnation == 0 || hosted->info.incarnation == request.incarnation)) {
    end_actor(request.actor, "killed: " + request.cause);
  }
  co_return Bytes{};
}

Result<Bytes> NodeDaemon::probe_actors(const Bytes& bytes) const {
  Result<ProbeActorsRequest> decoded = decode_request<ProbeActorsRequest>(bytes, "ProbeActors");
  if (!decoded.ok()) return decoded.error();
  const ProbeActorsRequest& request = decoded.value();
  if (request.actors.size() != request.incarnations.size()) {
    return Error{Errc::kInvalidArgument, "ProbeActors: " + std::to_string(request.actors.size()) + " actors but " +
                                             std::to_string(request.incarnations.size()) + " incarnations"};
  }
  ProbeActorsReply reply;
  reply.alive.resize(request.actors.size(), 0);
  if (request.instance != instance_) return encode(reply);  // restarted since: none of them lives here
  for (size_t i = 0; i < request.actors.size(); ++i) {
    const ActorHost* hosted = actors_.find(request.actors[i]);
    reply.alive[i] = hosted != nullptr && hosted->ready && hosted->info.incarnation == request.incarnations[i];
  }
  return encode(reply);
}

void NodeDaemon::on_call_batch(Address from, uint64_t batch, const Bytes& payload) {
  // Decoded whole before anything runs: a malformed batch is refused as a unit.
  std::vector<CallEntryView> entries = std::move(batch_scratch_);  // views into `payload`
  entries.clear();
  CallWireReader reader(payload);
  CallBatchHeader header;
  bool decoded = reader.call_batch_header(header);
  while (decoded && !reader.at_end()) decoded = reader.call_entry(entries.emplace_back());
  if (!decoded) {
    endpoint_.post(from, kCallBatchRejected, encode(CallBatchRejected{batch, reader.error().message}));
    return;
  }
  if (header.instance != instance_) {
    const std::string why = "node " + std::to_string(env_.node) + " restarted since the call was addressed";
    for (const CallEntryView& entry : entries) {
      post_result(from, entry.actor, entry.sequence, entry.attempt, CallOutcome::kRefused, Error{Errc::kPeerDied, why});
    }
    return;
  }
  std::vector<ActorId> touched = std::move(touched_scratch_);  // actors given calls, to dispatch once all are queued
  ActorHost* actor = nullptr;
  // The previous entry's method and its class: a batch usually calls one method many times, often of many
  // actors of one class (a health round pings every backend).
  const ActorMethod* method = nullptr;
  const ActorClass* method_class = nullptr;
  std::string_view method_name;
  for (const CallEntryView& entry : entries) {
    if (actor == nullptr || actor->info.id != entry.actor) actor = actors_.find(entry.actor);
    if (actor == nullptr || !actor->ready || actor->info.incarnation != entry.incarnation) {
      post_result(from, entry.actor, entry.sequence, entry.attempt, CallOutcome::kRefused,
                  Error{Errc::kPeerDied, "actor " + std::to_string(entry.actor) + " (incarnation " +
                                             std::to_string(entry.incarnation) + ") is not on node " +
                                             std::to_string(env_.node)});
      continue;
    }
    if (method == nullptr || method_class != actor->actor_class || entry.method != method_name) {
      method = actor->actor_class->find_method(entry.method);
      method_class = actor->actor_class;
      method_name = entry.method;
    }
    if (method == nullptr) {
      std::string known;
      for (const auto& [name, m] : actor->actor_class->methods) known += (known.empty() ? "" : ", ") + name;
      post_result(from, entry.actor, entry.sequence, entry.attempt, CallOutcome::kRan,
                  Error{Errc::kNotFound, "actor class " + actor->info.class_name + " has no method '" +
                                             std::string(entry.method) + "' (it has: " + known + ")"});
      continue;
    }
    if (method->run_now != nullptr && actor->queue.empty() &&
        actor->running < static_cast<uint32_t>(actor->options.max_concurrency)) {
      run_inline(*actor, *method, from, entry);  // it would start at once anyway: no queue, frame or runner
      continue;
    }
    if (actor->queue.size() >= options_.max_queued_calls_per_actor) {
      post_result(from, entry.actor, entry.sequence, entry.attempt, CallOutcome::kRan,
                  Error{Errc::kResourceExhausted, "actor " + std::to_string(entry.actor) + " has " +
                                                      std::to_string(options_.max_queued_calls_per_actor) +
                                                      " calls queued"});
      continue;
    }
    QueuedCall& call = actor->queue.emplace_back();
    call.caller = from;
    call.sequence = entry.sequence;
    call.attempt = entry.attempt;
    call.number = actor->next_call++;
    call.method = method;
    call.args.assign(entry.args);
    call.arrived = env_.clock.now();
    actor->metrics->queued.add(1);
    if (touched.empty() || touched.back() != entry.actor) touched.push_back(entry.actor);
  }
  entries.clear();  // its views die with the message
  batch_scratch_ = std::move(entries);
  for (ActorId id : touched) {
    if (ActorHost* hosted = actors_.find(id)) dispatch(*hosted);
  }
  touched.clear();
  touched_scratch_ = std::move(touched);
}

void NodeDaemon::run_inline(ActorHost& actor, const ActorMethod& method, Address from, const CallEntryView& entry) {
  ++actor.next_call;  // numbered as a queued call would be
  std::optional<Result<Bytes>> result;
  std::string thrown;
  try {
    result.emplace(method.run_now(method.member, *actor.instance, entry.args, method.qualified_name));
  } catch (const std::exception& e) {
    thrown = e.what();
  } catch (...) {
    thrown = "a non-standard exception";
  }
  report_ran(actor, method, from, entry.sequence, entry.attempt, Duration::zero(), result, thrown);  // ran on arrival
}

void NodeDaemon::report_ran(ActorHost& actor, const ActorMethod& method, Address caller, uint64_t sequence,
                            uint32_t attempt, Duration since_arrival, std::optional<Result<Bytes>>& result,
                            const std::string& thrown) {
  if (!result) result.emplace(Error{Errc::kInternal, method.qualified_name + " threw: " + thrown});
  ClassMetrics& metrics = *actor.metrics;
  metrics.calls.increment();
  if (!result->ok()) metrics.failures.increment();
  metrics.latency_ms.record(to_ms(since_arrival));
  post_result(caller, actor.info.id, sequence, attempt, CallOutcome::kRan, *result);
}

void NodeDaemon::post_result(Address to, ActorId actor, uint64_t sequence, uint32_t attempt, CallOutcome outcome,
                             const Result<Bytes>& result) {
  ReplyBuffer* buffer = nullptr;
  if (last_reply_ < replies_.size() && replies_[last_reply_].in_use && replies_[last_reply_].to == to) {
    buffer = &replies_[last_reply_];
  } else {
    size_t free = replies_.size();
    for (size_t i = 0; i < replies_.size(); ++i) {
      if (replies_[i].in_use && replies_[i].to == to) {
        buffer = &replies_[i];
        last_reply_ = i;
      }
      if (!replies_[i].in_use && free == replies_.size()) free = i;
    }
    if (buffer == nullptr) {
      if (free == replies_.size()) replies_.emplace_back();
      last_reply_ = free;
      buffer = &replies_[free];
      buffer->in_use = true;
      buffer->to = to;
      reply_flusher_.request();
    }
  }
  // The value is copied once, into the message.
  WireWriter& writer = buffer->writer;
  if (writer.empty()) writer.call_results_header();
  if (result.ok()) {
    writer.call_result(actor, sequence, attempt, outcome, Errc::kOk, {}, result.value());
  } else {
    writer.call_result(actor, sequence, attempt, outcome, result.error().code, result.error().message, {});
  }
  if (writer.count() >= kMaxCallBatchCalls || writer.size() >= kMaxCallBatchBytes) {
    endpoint_.post(buffer->to, kCallResults, writer.take());
  }
}

void NodeDaemon::flush_replies() {
  for (ReplyBuffer& buffer : replies_) {
    if (!buffer.writer.empty()) endpoint_.post(buffer.to, kCallResults, buffer.writer.take());
    buffer.in_use = false;
  }
  if (replies_.size() > kMaxRetainedReplyBuffers) {
    replies_.erase(replies_.begin() + kMaxRetainedReplyBuffers, replies_.end());
  }
  last_reply_ = 0;
}

void NodeDaemon::dispatch(ActorHost& actor) {
  // Every live runner is inside a call (a runner never waits for work: it ends when the queue is empty), so a
  // new runner is needed while calls wait and max_concurrency allows one.
  while (actor.ready && !actor.queue.empty() && actor.runners == actor.running &&
         actor.runners < static_cast<uint32_t>(actor.options.max_concurrency)) {
    size_t slot = 0;
    while (slot < actor.runner_slots.size() && actor.runner_slots[slot].alive) ++slot;
    if (slot == actor.runner_slots.size()) actor.runner_slots.emplace_back();
    actor.runner_slots[slot].alive = true;
    ++actor.runners;
    actor.scope.spawn(run_calls(actor, slot));
  }
}

Task<void> NodeDaemon::run_calls(ActorHost& actor, size_t slot) {
  while (!actor.queue.empty()) {
    QueuedCall call = std::move(actor.queue.front());
    actor.queue.pop_front();
    actor.metrics->queued.add(-1);
    RunnerSlot& running = actor.runner_slots[slot];
    running.busy = true;
    running.caller = call.caller;
    running.sequence = call.sequence;
    running.attempt = call.attempt;
    running.number = call.number;
    ++actor.running;
    std::optional<Result<Bytes>> result;
    std::string thrown;
    try {
      MethodRun run = (*call.method)(*actor.instance, call.args);  // the method's frame, not yet run
      co_await run;
      run.result_into(result);
    } catch (const std::exception& e) {
      thrown = e.what();
    } catch (...) {
      thrown = "a non-standard exception";
    }
    --actor.running;
    actor.runner_slots[slot].busy = false;  // (the vector may have grown meanwhile)
    report_ran(actor, *call.method, call.caller, call.sequence, call.attempt, env_.clock.now() - call.arrived, result,
               thrown);
  }
  actor.runner_slots[slot].alive = false;
  --actor.runners;
}

void NodeDaemon::end_actor(ActorId id, const std::string& cause, bool exit_requested) {
  std::unique_ptr<ActorHost> host = actors_.extract(id);
  if (host == nullptr) return;
  const uint64_t incarnation = host->info.incarnation;
  actor_digest_ ^= actor_digest_term(id, incarnation);
  host->scope.cancel_all();  // its coroutines first: none of them runs again
  const Error died{Errc::kPeerDied, "actor " + std::to_string(id) + " died: " + cause};
  // Its running and queued calls are lost, reported in arrival order.
  std::vector<const RunnerSlot*> running;
  for (const RunnerSlot& slot : host->runner_slots) {
    if (slot.alive && slot.busy) running.push_back(&slot);
  }
  std::sort(running.begin(), running.end(), [](const RunnerSlot* a, const RunnerSlot* b) { return a->number < b->number; });
  for (const RunnerSlot* slot : running) {
    post_result(slot->caller, id, slot->sequence, slot->attempt, CallOutcome::kLost, died);
  }
  for (const QueuedCall& call : host->queue) {
    post_result(call.caller, id, call.sequence, call.attempt, CallOutcome::kLost, died);
  }
  if (host->starting) host->starting->complete(died);
  host->metrics->queued.add(-static_cast<double>(host->queue.size()));
  host->metrics->hosted.add(-1);
  release(host->options.resources);
  host.reset();
  ended_[id] = Ended{incarnation, cause, exit_requested};
  ended_order_.push_back(id);
  while (ended_order_.size() > kMaxRememberedDeaths) {
    ended_.erase(ended_order_.front());
    ended_order_.pop_front();
  }
}

// --- Tasks -------------------------------------------------------------------------------------------------

Task<Result<Bytes>> NodeDaemon::handle_run_task(Address from, Bytes bytes) {
  (void)from;
  Result<RunTaskRequest> decoded = decode_request<RunTaskRequest>(bytes, "RunTask");
  if (!decoded.ok()) co_return decoded.error();
  RunTaskRequest& request = decoded.value();
  const std::string here = "node " + std::to_string(env_.node);
  if (request.instance != instance_) {
    co_return Error{Errc::kPeerDied, here + " restarted since the task's lease was granted"};
  }
  if (tasks_.count(request.lease) > 0) co_return Error{Errc::kUnavailable, "lease already in use on " + here};
  const RemoteFunction* function = catalog_.functions.find(request.function);
  if (function == nullptr) {
    return_lease(request.lease);
    co_return Error{Errc::kNotFound, "remote function '" + request.function + "' is not registered on " + here};
  }
  if (tasks_.size() >= options_.max_running_tasks) {
    return_lease(request.lease);
    co_return Error{Errc::kUnavailable, here + " runs max_running_tasks tasks"};
  }
  if (!reserve(request.resources)) {
    return_lease(request.lease);
    ResourceSet free = options_.resources;
    free.subtract(in_use_);
    co_return Error{Errc::kUnavailable, here + " lacks free resources for the lease (" +
                                            request.resources.shortfall(free) + ")"};
  }
  const LeaseId lease = request.lease;
  tasks_.emplace(lease, RunningTask{request.resources, request.bundle, Completion<Result<Bytes>>(env_.clock), {}});
  const std::string function_name = request.function;
  const TimePoint started = env_.clock.now();

  Status env_ready = co_await ensure_env(request.runtime_env);
  auto it = tasks_.find(lease);
  if (it == tasks_.end()) co_return Error{Errc::kPeerDied, "the task was ended by its node before it started"};
  if (!env_ready.ok()) {
    release(it->second.resources);
    tasks_.erase(it);
    return_lease(lease);
    co_return env_ready.error();
  }
  Completion<Result<Bytes>> done = it->second.done;
  const std::shared_ptr<bool> lost = it->second.lost;
  it->second.task = tasks_scope_.spawn(
      run_function(function, function_name, lease, request.attempt, std::move(request.args), done));
  Result<Bytes> result = co_await done.wait();
  if (auto finished = tasks_.find(lease); finished != tasks_.end()) {
    release(finished->second.resources);
    tasks_.erase(finished);
    return_lease(lease);
  }
  const metrics::Labels labels{{"function", function_name}, {"node", std::to_string(env_.node)}};
  metrics_.counter("runtime_tasks_total", labels).increment();
  if (!result.ok()) metrics_.counter("runtime_task_failures_total", labels).increment();
  metrics_.histogram("runtime_task_latency_ms", {{"node", std::to_string(env_.node)}})
      .record(to_ms(env_.clock.now() - started));
  co_return execution_reply(result, *lost);
}

Task<void> NodeDaemon::run_function(const RemoteFunction* function, std::string name, LeaseId lease,
                                    uint32_t attempt, Bytes args, Completion<Result<Bytes>> done) {
  TaskContext context{env_, *client_, std::move(name), lease, attempt};
  std::optional<Result<Bytes>> result;
  std::string thrown;
  try {
    result.emplace(co_await (*function)(context, std::move(args)));
  } catch (const std::exception& e) {
    thrown = e.what();
  } catch (...) {
    thrown = "a non-standard exception";
  }
  done.complete(result ? std::move(*result) : Result<Bytes>(Error{Errc::kInternal, "task " + context.function + " threw: " + thrown}));
}

// --- Runtime environments ----------------------------------------------------------------------------------

Task<Status> NodeDaemon::ensure_env(std::string name) {
  if (name.empty()) co_return Status{};
  const RuntimeEnvSpec* spec = catalog_.find_runtime_env(name);
  if (spec == nullptr) co_return Error{Errc::kNotFound, "runtime env '" + name + "' is not in the catalog"};
  while (true) {
    auto it = envs_.find(name);
    if (it != envs_.end() && it->second.ready) {
      it->second.last_used = env_.clock.now();
      co_return Status{};
    }
    if (it != envs_.end()) {  // another request is installing it: wait for that installation
      if (!it->second.waiters) it->second.waiters = std::make_unique<WaitList>(env_.clock);
      co_await it->second.waiters->wait_until(env_.clock.now() + spec->setup_delay + heartbeat_period_);
      continue;
    }
    envs_.emplace(name, EnvEntry{});
    const metrics::Labels labels{{"env", name}, {"node", std::to_string(env_.node)}};
    metrics_.counter("runtime_env_setups_total", labels).increment();
    const TimePoint began = env_.clock.now();
    co_await sleep(env_.clock, spec->setup_delay);
    env_.storage.put(std::string(kEnvPrefix) + name, Bytes{});
    (void)co_await env_.storage.sync();  // if it fails, the next start of the daemon installs it again
    auto installed = envs_.find(name);
    TANDEM_CHECK(installed != envs_.end(), "a runtime env vanished while being installed");
    installed->second.ready = true;
    installed->second.last_used = env_.clock.now();
    if (installed->second.waiters) installed->second.waiters->notify_all();
    metrics_.histogram("runtime_env_setup_ms", {{"node", std::to_string(env_.node)}})
        .record(to_ms(env_.clock.now() - began));
    evict_envs();
    co_return Status{};
  }
}

void NodeDaemon::evict_envs() {
  while (true) {
    size_t evictable = 0;
    auto oldest = envs_.end();
    for (auto it = envs_.begin(); it != envs_.end(); ++it) {
      if (!it->second.ready || it->second.pinned) continue;
      ++evictable;
      if (oldest == envs_.end() || it->second.last_used < oldest->second.last_used) oldest = it;
    }
    if (evictable <= options_.max_cached_runtime_envs || oldest == envs_.end()) return;
    env_.storage.erase(std::string(kEnvPrefix) + oldest->first);
    envs_.erase(oldest);
  }
}

}  // namespace tandem::runtime
