#include "core/runtime/runtime_client.h"

#include <algorithm>
#include <deque>
#include <map>
#include <set>

#include "core/async/sleep.h"
#include "core/async/when.h"
#include "core/runtime/call_wire.h"
#include "core/runtime/fifo_vector.h"

namespace tandem::runtime {

using protocol::NodeIncarnation;

namespace {

using CallQueue = FifoVector<PendingCall*>;

constexpr size_t kMaxRetainedBatches = 16;  // free batches (and their buffers) kept after a flush

// Calls queue and fly in sequence order; appending is the usual case.
void insert_by_sequence(CallQueue& queue, PendingCall* call) {
  if (queue.empty() || queue.back()->sequence < call->sequence) {
    queue.push_back(call);
    return;
  }
  auto at = std::lower_bound(queue.begin(), queue.end(), call->sequence,
                             [](const auto& queued, uint64_t sequence) { return queued->sequence < sequence; });
  queue.insert(at, call);
}

CallQueue::iterator find_by_sequence(CallQueue& queue, uint64_t sequence) {
  if (!queue.empty() && queue.front()->sequence == sequence) return queue.begin();
  auto at = std::lower_bound(queue.begin(), queue.end(), sequence,
                             [](const auto& queued, uint64_t wanted) { return queued->sequence < wanted; });
  return at != queue.end() && (*at)->sequence == sequence ? at : queue.end();
}

}  // namespace

struct RuntimeClient::ActorSubmitter {
  ActorId id = kNoActor;
  std::optional<ActorInfo> location;  // last known
  bool stale = true;                  // location must be (re)resolved before anything is sent
  uint64_t failed_incarnation = 0;    // the life whose calls failed: wait for a later one
  bool resolving = false;
  bool dirty = false;                 // listed in dirty_: pumped at the next flush
  uint64_t next_sequence = 0;
  CallQueue queued;    // by sequence: waiting to be sent
  CallQueue inflight;  // by sequence: sent, result pending
  // (incarnation, calls in flight to it), only counts above 0, in no order: almost always one entry, kept in a
  // vector so a call neither allocates nor frees a map node.
  std::vector<std::pair<uint64_t, size_t>> inflight_by_incarnation;

  std::pair<uint64_t, size_t>* inflight_count(uint64_t incarnation) {
    for (auto& entry : inflight_by_incarnation) {
      if (entry.first == incarnation) return &entry;
    }
    return nullptr;
  }

  // A dirty submitter counts as busy so that eviction never frees one dirty_ points to.
  bool busy() const { return !queued.empty() || !inflight.empty() || resolving || dirty; }
  bool sendable() const { return location && !stale && location->state == ActorState::kAlive; }
};

// The calls for one node instance gathered during one flush, encoded as they are added. Kept between flushes
// (node kNoNode: free) so the writer's buffer is reused.
struct RuntimeClient::OutBatch {
  NodeId node = kNoNode;
  NodeInstance instance = 0;
  protocol::WireWriter writer;      // the kCallBatch message (call_wire.h)
  std::vector<PendingCall*> calls;  // held by their submitters' inflight lists until the batch is posted
};

struct RuntimeClient::TaskAttempt {
  explicit TaskAttempt(Clock& clock) : done(clock) {}
  NodeId node = kNoNode;
  NodeInstance instance = 0;
  TaskRef rpc;
  Completion<Outcome> done;
};

RuntimeClient::Outcome RuntimeClient::classify(Result<Bytes> rpc) {
  if (!rpc.ok()) {
    const Errc code = rpc.error().code;
    const bool refused = code == Errc::kUnreachable || code == Errc::kPeerDied || code == Errc::kUnavailable;
    return Outcome{refused ? Delivery::kNotDelivered : Delivery::kDone, std::move(rpc)};
  }
  Result<protocol::ExecutionReply> reply = decode<protocol::ExecutionReply>(rpc.value());
  if (!reply.ok()) {
    return Outcome{Delivery::kDone, Error{Errc::kInternal, "undecodable reply from a node: " + reply.error().message}};
  }
  protocol::ExecutionReply& execution = reply.value();
  if (execution.lost) return Outcome{Delivery::kLost, Error{Errc::kPeerDied, std::move(execution.message)}};
  if (execution.code != Errc::kOk) {
    return Outcome{Delivery::kDone, Error{execution.code, std::move(execution.message)}};
  }
  return Outcome{Delivery::kDone, std::move(execution.value)};
}

RuntimeClient::Outcome RuntimeClient::classify(const protocol::CallResultView& result) {
  switch (result.outcome) {
    case protocol::CallOutcome::kRefused:
      return Outcome{Delivery::kNotDelivered, Error{result.code, std::string(result.message)}};
    case protocol::CallOutcome::kLost:
      return Outcome{Delivery::kLost, Error{Errc::kPeerDied, std::string(result.message)}};
    case protocol::CallOutcome::kRan:
      break;
  }
  if (result.code != Errc::kOk) return Outcome{Delivery::kDone, Error{result.code, std::string(result.message)}};
  return Outcome{Delivery::kDone, Bytes(result.value)};
}

namespace {

// Counts an RPC to a daemon for as long as its coroutine lives (also when cancelled).
struct NodeDependency {
  explicit NodeDependency(std::function<void()> release) : release_(std::move(release)) {}
  NodeDependency(const NodeDependency&) = delete;
  NodeDependency& operator=(const NodeDependency&) = delete;
  ~NodeDependency() { release_(); }
  std::function<void()> release_;
};

bool retryable_control_error(Errc code) {
  return code == Errc::kUnreachable || code == Errc::kTimeout || code == Errc::kPeerDied ||
         code == Errc::kUnavailable;
}

std::string actor_name(ActorId id) { return "actor " + std::to_string(id); }

template <typename T>
Result<T> decode_reply(const Result<Bytes>& reply, std::string_view what) {
  if (!reply.ok()) return reply.error();
  Result<T> decoded = decode<T>(reply.value());
  if (!decoded.ok()) {
    return Error{Errc::kInternal, "undecodable " + std::string(what) + " from the control store: " +
                                      decoded.error().message};
  }
  return decoded;
}

}  // namespace

RuntimeClient::RuntimeClient(Env& env, ClientOptions options)
    : env_(env),
      options_(std::move(options)),
      own_metrics_(options_.metrics == nullptr ? std::make_unique<metrics::MetricsRegistry>() : nullptr),
      metrics_(options_.metrics != nullptr ? *options_.metrics : *own_metrics_),
      id_(env.random.next_u64() | 1),
      endpoint_(env.transport, env.clock),
      call_retries_(metrics_.counter("runtime_client_call_retries_total", {{"node", std::to_string(env.node)}})),
      task_retries_(metrics_.counter("runtime_client_task_retries_total", {{"node", std::to_string(env.node)}})),
      call_latency_ms_(metrics_.histogram("runtime_client_call_latency_ms", {{"node", std::to_string(env.node)}})),
      task_latency_ms_(metrics_.histogram("runtime_client_task_latency_ms", {{"node", std::to_string(env.node)}})),
      flusher_(env.clock, [this] { flush(); }),
      resumer_(env.clock, [this] { resume_settled(); }) {
  TANDEM_CHECK(options_.max_control_attempts >= 1, "max_control_attempts must be at least 1");
  endpoint_.serve_posts(protocol::kCallResults, [this](Address, uint64_t, Bytes payload) { on_results(payload); });
  endpoint_.serve_posts(protocol::kCallBatchRejected, [this](Address, uint64_t, Bytes payload) {
    Result<protocol::CallBatchRejected> rejected = decode<protocol::CallBatchRejected>(payload);
    if (!rejected.ok()) return;
    settle_batch(rejected.value().batch,
                 Outcome{Delivery::kDone, Error{Errc::kInvalidArgument, "malformed call batch: " + rejected.value().message}});
  });
  endpoint_.on_bounce(protocol::kCallBatch, [this](Address to, uint64_t batch, Errc reason) {
    settle_batch(batch, Outcome{Delivery::kNotDelivered,
                                Error{reason, reason == Errc::kUnreachable ? "node " + std::to_string(to.node) + " is down"
                                                                           : "no endpoint at " + to_string(to)}});
  });
  flusher_.start(scope_);
  resumer_.start(scope_);
}

RuntimeClient::~RuntimeClient() { scope_.cancel_all(); }

size_t RuntimeClient::calls_in_flight() const {
  size_t count = 0;
  submitters_.for_each([&count](ActorId, const ActorSubmitter& s) { count += s.queued.size() + s.inflight.size(); });
  return count;
}

// --- Control-store requests ----------------------------------------------------------------------------------

Task<Result<Bytes>> RuntimeClient::control(uint32_t method, Bytes request, Duration extra_wait) {
  Error last{Errc::kUnavailable, "no attempt made"};
  Duration backoff = options_.control_backoff_initial;
  for (int attempt = 0; attempt < options_.max_control_attempts; ++attempt) {
    if (attempt > 0) {
      const int64_t half = std::max<int64_t>(to_ns(backoff) / 2, 1);
      co_await sleep(env_.clock, Duration(half + env_.random.between(0, half)));
      backoff = std::min(backoff * 2, options_.control_backoff_max);
    }
    Result<Bytes> reply =
        co_await endpoint_.call(options_.control_store, method, request, options_.control_timeout + extra_wait);
    if (reply.ok() || !retryable_control_error(reply.error().code)) co_return reply;
    last = reply.error();
  }
  co_return Error{Errc::kUnavailable, "the control store at " + to_string(options_.control_store) +
                                          " did not answer after " + std::to_string(options_.max_control_attempts) +
                                          " attempts (last: " + last.to_string() + ")"};
}

Duration RuntimeClient::clamp_wait(TimePoint deadline) const {
  const Duration left = deadline - env_.clock.now();
  return std::clamp(left, Duration::zero(), options_.long_poll_timeout);
}

// --- Actors ------------------------------------------------------------------------------------------------

Task<Result<ActorHandle>> RuntimeClient::create_actor_raw(std::string class_name, ActorOptions options, Bytes args,
                                                          OwnerRef owner) {
  if (Status s = validate_name(class_name, "the actor class name"); !s.ok()) co_return s.error();
  if (Status s = options.validate(); !s.ok()) co_return s.error();
  if (args.size() > protocol::kMaxArgsBytes) {
    co_return Error{Errc::kInvalidArgument, "constructor arguments of " + class_name + " exceed kMaxArgsBytes"};
  }
  if (options_.catalog != nullptr) {
    if (options_.catalog->actor_classes.find(class_name) == nullptr) {
      co_return Error{Errc::kNotFound, "unknown actor class '" + class_name + "'"};
    }
    if (!options.runtime_env.empty() && options_.catalog->find_runtime_env(options.runtime_env) == nullptr) {
      co_return Error{Errc::kNotFound, "unknown runtime env '" + options.runtime_env + "'"};
    }
  }
  if (owner.node == kNoNode) owner.node = env_.node;
  const Bytes request = encode(protocol::CreateActorRequest{id_, next_request_++, std::move(class_name),
                                                            std::move(options), std::move(args), owner});
  Result<Bytes> reply = co_await control(protocol::kCreateActor, request);
  Result<ActorInfo> info = decode_reply<ActorInfo>(reply, "actor info");
  if (!info.ok()) co_return info.error();
  seed_location(info.value());
  co_return ActorHandle(this, info.value().id);
}

Task<Result<ActorHandle>> RuntimeClient::get_actor(std::string name) {
  if (Status s = validate_name(name, "the actor name"); !s.ok()) co_return s.error();
  const Bytes request = encode(protocol::GetActorRequest{kNoActor, std::move(name)});
  Result<Bytes> reply = co_await control(protocol::kGetActor, request);
  Result<ActorInfo> info = decode_reply<ActorInfo>(reply, "actor info");
  if (!info.ok()) co_return info.error();
  seed_location(info.value());
  co_return ActorHandle(this, info.value().id);
}

Task<Result<ActorInfo>> RuntimeClient::actor_info(ActorId id) {
  const Bytes request = encode(protocol::GetActorRequest{id, ""});
  Result<Bytes> reply = co_await control(protocol::kGetActor, request);
  co_return decode_reply<ActorInfo>(reply, "actor info");
}

Task<Result<ActorInfo>> RuntimeClient::wait_actor_alive(ActorId id, Duration timeout) {
  const TimePoint deadline = env_.clock.now() + timeout;
  while (true) {
    const Duration wait = clamp_wait(deadline);
    const Bytes request = encode(protocol::WaitActorRequest{id, 0, wait});
    Result<Bytes> reply = co_await control(protocol::kWaitActor, request, wait);
    Result<ActorInfo> info = decode_reply<ActorInfo>(reply, "actor info");
    if (!info.ok()) co_return info.error();
    if (info.value().state == ActorState::kAlive) {
      seed_location(info.value());
      co_return info;
    }
    if (info.value().state == ActorState::kDead) {
      co_return Error{Errc::kPeerDied, actor_name(id) + " is dead: " + info.value().death_cause};
    }
    if (env_.clock.now() >= deadline) {
      co_return Error{Errc::kTimeout, actor_name(id) + " was not ALIVE within " + format_duration(timeout) +
                                          " (state " + std::string(actor_state_name(info.value().state)) + ")"};
    }
  }
}

Task<Result<std::vector<ActorInfo>>> RuntimeClient::list_actors(bool named_only, bool include_dead) {
  const Bytes request = encode(protocol::ListActorsRequest{named_only, include_dead});
  Result<Bytes> reply = co_await control(protocol::kListActors, request);
  Result<protocol::ActorList> list = decode_reply<protocol::ActorList>(reply, "actor list");
  if (!list.ok()) co_return list.error();
  co_return std::move(list.value().actors);
}

Task<Status> RuntimeClient::kill_actor(ActorId id, bool no_restart) {
  const Bytes request = encode(protocol::KillActorRequest{id, no_restart, "killed by client " + std::to_string(id_)});
  Result<Bytes> reply = co_await control(protocol::kKillActor, request);
  if (!reply.ok()) co_return reply.error();
  // The life this client knew is over: look the actor up again before the next call instead of sending it to
  // the old location (where a node-death notice would turn a call that never ran into a lost one).
  if (ActorSubmitter* found = submitters_.find(id); found != nullptr && found->location) {
    ActorSubmitter& s = *found;
    s.stale = true;
    s.failed_incarnation = std::max(s.failed_incarnation, s.location->incarnation);
  }
  co_return Status{};
}

RuntimeClient::ActorSubmitter& RuntimeClient::submitter(ActorId id) {
  if (ActorSubmitter* found = submitters_.find(id)) return *found;
  if (submitters_.size() >= options_.max_cached_actors) evict_idle_submitters();
  auto submitter = std::make_unique<ActorSubmitter>();
  submitter->id = id;
  return submitters_.insert(id, std::move(submitter));
}

void RuntimeClient::evict_idle_submitters() {
  // Forget the oldest (lowest id) idle half: their locations are re-resolved on the next call.
  std::vector<ActorId> idle;
  submitters_.for_each([&idle](ActorId id, const ActorSubmitter& s) {
    if (!s.busy()) idle.push_back(id);
  });
  std::sort(idle.begin(), idle.end());
  const size_t to_evict = std::min(idle.size(), submitters_.size() / 2 + 1);
  for (size_t i = 0; i < to_evict; ++i) submitters_.erase(idle[i]);
}

void RuntimeClient::seed_location(const ActorInfo& info) {
  ActorSubmitter& s = submitter(info.id);
  if (s.location && s.location->incarnation > info.incarnation) return;  // we know a later life already
  if (s.location && s.location->state == ActorState::kDead) return;
  if (info.state == ActorState::kAlive && info.incarnation <= s.failed_incarnation) return;
  s.location = info;
  s.stale = !(info.state == ActorState::kAlive || info.state == ActorState::kDead);
  pump(s);
}

void ActorCall::queue(const CallOptions& options) {
  call_.started = clock_->now();
  call_.deadline = call_.started + options.timeout;
  queued_ = client_.start_call(actor_, call_);
}

ActorCall::~ActorCall() {
  if (queued_) client_.withdraw(actor_, call_);  // the caller was cancelled mid-call
}

Result<Bytes>& ActorCall::finish() {
  if (!queued_) return *call_.result;  // refused before it was queued, or finished already
  queued_ = false;
  if (!call_.done()) {
    // The deadline came first: withdraw the call wherever it is.
    std::string detail = "no reply within " + format_duration(timeout_);
    Errc code = Errc::kTimeout;
    if (client_.withdraw(actor_, call_) == RuntimeClient::Withdrawn::kFromQueue) {
      code = Errc::kUnavailable;
      detail = "it was not ALIVE within the call timeout of " + format_duration(timeout_) + client_.state_of(actor_);
    }
    call_.result.emplace(Error{code, "call to " + call_.method + " on " + actor_name(actor_) + " failed: " + detail});
  }
  client_.call_latency_ms_.record(to_ms(clock_->now() - call_.started));
  return *call_.result;
}

ActorCallGroup::ActorCallGroup(RuntimeClient& client, Duration timeout)
    : client_(client), clock_(&client.env().clock), deadline_(clock_->now() + timeout) {
  options_.timeout = timeout;
}

void ActorCallGroup::start(ActorId actor, std::string_view method, Bytes args) {
  ActorCall& call = calls_.emplace_back(client_, actor, method, std::move(args), options_);
  // Nothing settles a queued call before the current event ends, so the countdown is in place first.
  call.call_.countdown = &countdown_;
  if (call.queued_) ++countdown_.pending;
}

void RuntimeClient::settle(PendingCall& call, Result<Bytes> value) {
  if (call.done()) return;
  call.result.emplace(std::move(value));
  wake_settled(call);
}

void RuntimeClient::settle_value(PendingCall& call, std::string_view value) {
  if (call.done()) return;
  call.result.emplace(Bytes(value));
  wake_settled(call);
}

void RuntimeClient::wake_settled(PendingCall& call) {
  const Wakeup* waiter = &call.waiter;
  if (call.countdown != nullptr) {
    TANDEM_CHECK(call.countdown->pending > 0, "a call group settled more calls than it queued");
    if (--call.countdown->pending > 0) return;  // the group waits for its last call
    waiter = &call.countdown->waiter;
  }
  if (!waiter->valid()) return;  // its caller was cancelled, or has not suspended yet
  settled_.push_back(*waiter);
  resumer_.request();
}

void RuntimeClient::resume_settled() {
  resuming_.swap(settled_);
  for (const Wakeup& waiter : resuming_) waiter.fire();  // a caller that already timed out is skipped
  resuming_.clear();
}

Task<Result<Bytes>> RuntimeClient::call_actor(ActorId id, std::string method, Bytes args, CallOptions options) {
  ActorCall call(*this, id, std::move(method), std::move(args), options);
  co_return co_await call;
}

bool RuntimeClient::start_call(ActorId id, PendingCall& call) {
  auto refuse = [&call](Error error) {
    call.result.emplace(std::move(error));
    return false;
  };
  if (id == kNoActor) return refuse(Error{Errc::kInvalidArgument, "calling actor id 0"});
  if (Status s = validate_name(call.method, "the method name"); !s.ok()) return refuse(s.error());
  if (call.args.size() > protocol::kMaxArgsBytes) {
    return refuse(Error{Errc::kInvalidArgument, "arguments of " + call.method + " exceed kMaxArgsBytes"});
  }
  ActorSubmitter& s = submitter(id);
  if (s.location && !s.stale && s.location->state == ActorState::kDead) {
    return refuse(Error{Errc::kPeerDied, actor_name(id) + " is dead: " + s.location->death_cause});
  }
  if (s.queued.size() + s.inflight.size() >= options_.max_pending_calls_per_actor) {
    return refuse(Error{Errc::kResourceExhausted, actor_name(id) + " already has " +
                                                      std::to_string(options_.max_pending_calls_per_actor) +
                                                      " calls pending from this client"});
  }
  call.sequence = s.next_sequence++;
  s.queued.push_back(&call);  // the newest sequence
  pump(s);
  return true;
}

std::string RuntimeClient::state_of(ActorId actor) const {
  const ActorSubmitter* s = submitters_.find(actor);
  if (s == nullptr || !s->location) return "";
  return " (state " + std::string(actor_state_name(s->location->state)) + ")";
}

RuntimeClient::Withdrawn RuntimeClient::withdraw(ActorId actor, PendingCall& call) {
  ActorSubmitter* found = submitters_.find(actor);
  if (found == nullptr) return Withdrawn::kNowhere;
  ActorSubmitter& s = *found;
  if (call.in_flight) {
    take_inflight(s, call);
    pump(s);  // it may have held back calls to a later life
    return Withdrawn::kFromFlight;
  }
  auto it = find_by_sequence(s.queued, call.sequence);
  if (it == s.queued.end() || *it != &call) return Withdrawn::kNowhere;
  s.queued.erase(it);
  return Withdrawn::kFromQueue;
}

void RuntimeClient::take_inflight(ActorSubmitter& s, PendingCall& call) {
  auto it = find_by_sequence(s.inflight, call.sequence);
  TANDEM_CHECK(it != s.inflight.end() && *it == &call, "an in-flight call is missing from its list");
  s.inflight.erase(it);
  call.in_flight = false;
  std::pair<uint64_t, size_t>* count = s.inflight_count(call.incarnation);
  TANDEM_CHECK(count != nullptr && count->second > 0, "in-flight call count underflow");
  if (--count->second == 0) {
    *count = s.inflight_by_incarnation.back();
    s.inflight_by_incarnation.pop_back();
  }
  release_nodes();
}

void RuntimeClient::pump(ActorSubmitter& s) {
  if (s.queued.empty() || s.dirty) return;
  s.dirty = true;
  dirty_.push_back(&s);
  flusher_.request();
}

void RuntimeClient::flush() {
  flushing_.swap(dirty_);
  for (ActorSubmitter* submitter : flushing_) {
    submitter->dirty = false;
    pump_now(*submitter);
  }
  flushing_.clear();
  for (OutBatch& batch : out_) {
    post_batch(batch);
    batch.node = kNoNode;
  }
  if (out_.size() > kMaxRetainedBatches) out_.erase(out_.begin() + kMaxRetainedBatches, out_.end());
}

void RuntimeClient::pump_now(ActorSubmitter& s) {
  if (s.queued.empty()) return;
  if (!s.sendable()) {
    if (s.location && !s.stale && s.location->state == ActorState::kDead) {
      fail_queued(s, Error{Errc::kPeerDied, actor_name(s.id) + " is dead: " + s.location->death_cause});
      return;
    }
    if (!s.resolving) {
      s.resolving = true;
      scope_.spawn(resolve(s.id));
    }
    return;
  }
  // Never overtake calls still in flight to another life of the actor: they may yet be retried.
  for (const auto& [incarnation, count] : s.inflight_by_incarnation) {
    if (incarnation != s.location->incarnation) return;
  }
  while (!s.queued.empty()) {
    PendingCall* call = s.queued.front();
    s.queued.pop_front();
    if (call->done()) continue;
    send(s, call);
  }
}

void RuntimeClient::send(ActorSubmitter& s, PendingCall* call) {
  const ActorInfo& location = *s.location;
  ++call->attempt;
  call->node = location.node;
  call->instance = location.node_instance;
  call->incarnation = location.incarnation;
  if (!call->retries_known) {
    call->retries_left = location.max_task_retries;
    call->retries_known = true;
  }
  OutBatch* batch = nullptr;
  OutBatch* free = nullptr;
  for (OutBatch& candidate : out_) {
    if (candidate.node == call->node && candidate.instance == call->instance) batch = &candidate;
    if (candidate.node == kNoNode && free == nullptr) free = &candidate;
  }
  if (batch == nullptr) {
    batch = free != nullptr ? free : &out_.emplace_back();
    batch->node = call->node;
    batch->instance = call->instance;
  }
  if (batch->writer.empty()) batch->writer.call_batch_header(batch->instance, id_);
  batch->writer.call_entry(s.id, call->incarnation, call->sequence, call->attempt, call->method, call->args);
  batch->calls.push_back(call);
  call->in_flight = true;
  if (std::pair<uint64_t, size_t>* count = s.inflight_count(call->incarnation)) {
    ++count->second;
  } else {
    s.inflight_by_incarnation.emplace_back(call->incarnation, 1);
  }
  depend_on_nodes();
  insert_by_sequence(s.inflight, call);
  if (batch->calls.size() >= protocol::kMaxCallBatchCalls || batch->writer.size() >= protocol::kMaxCallBatchBytes) {
    post_batch(*batch);
  }
}

void RuntimeClient::post_batch(OutBatch& batch) {
  if (batch.calls.empty()) return;
  const uint64_t correlation =
      endpoint_.post(Address{batch.node, kNodeDaemonPort}, protocol::kCallBatch, batch.writer.take());
  for (PendingCall* call : batch.calls) call->batch = correlation;
  batch.calls.clear();
}

void RuntimeClient::on_results(const Bytes& payload) {
  protocol::CallWireReader reader(payload);
  if (!reader.call_results_header()) {
    env_.log.write(LogLevel::kWarning, "runtime", "undecodable call results from a node: " + reader.error().message);
    return;
  }
  ActorSubmitter* s = nullptr;
  ActorId cached = kNoActor;
  while (!reader.at_end()) {
    protocol::CallResultView result;  // views into `payload`
    if (!reader.call_result(result)) {
      env_.log.write(LogLevel::kWarning, "runtime", "undecodable call results from a node: " + reader.error().message);
      return;
    }
    if (result.actor != cached) {
      cached = result.actor;
      s = submitters_.find(result.actor);
    }
    if (s == nullptr) continue;
    auto it = find_by_sequence(s->inflight, result.sequence);
    if (it == s->inflight.end() || (*it)->attempt != result.attempt) continue;  // settled already, or stale
    if (result.outcome == protocol::CallOutcome::kRan && result.code == Errc::kOk) {
      // The usual case, finish_attempt's kDone path with the value built once, in place.
      PendingCall& call = **it;
      take_inflight(*s, call);
      settle_value(call, result.value);
      pump(*s);
      continue;
    }
    finish_attempt(*s, *it, classify(result));
  }
}

void RuntimeClient::settle_batch(uint64_t batch, const Outcome& outcome) {
  std::vector<std::pair<ActorId, PendingCall*>> calls;
  submitters_.for_each([&](ActorId actor, const ActorSubmitter& s) {
    for (PendingCall* call : s.inflight) {
      if (call->batch == batch) calls.emplace_back(actor, call);
    }
  });
  // Settled in (actor, sequence) order, whatever the hash order of the submitters.
  std::sort(calls.begin(), calls.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : a.second->sequence < b.second->sequence;
  });
  for (auto& [actor, call] : calls) {
    ActorSubmitter* s = submitters_.find(actor);
    if (s == nullptr || !call->in_flight) continue;
    finish_attempt(*s, call, outcome);
  }
}

void RuntimeClient::finish_attempt(ActorSubmitter& s, PendingCall* call, Outcome outcome) {
  take_inflight(s, *call);
  if (outcome.delivery == Delivery::kDone) {
    settle(*call, std::move(outcome.result));
    pump(s);
    return;
  }
  // The actor's life we sent to is over (or never was where we thought): find the next one before sending more.
  if (s.location && s.location->incarnation == call->incarnation) {
    s.stale = true;
    s.failed_incarnation = std::max(s.failed_incarnation, call->incarnation);
  }
  const bool time_left = env_.clock.now() < call->deadline && !call->done();
  if (outcome.delivery == Delivery::kNotDelivered) {
    if (time_left && call->undelivered < options_.max_undelivered_resends) {
      ++call->undelivered;  // it never ran: sending it again is not a retry
      insert_by_sequence(s.queued, call);
    } else {
      settle(*call, Error{Errc::kUnavailable, "could not deliver " + call->method + " to " +
                                                               actor_name(s.id) + " (" +
                                                               outcome.result.error().message + ")"});
    }
  } else if (call->retries_left != 0 && time_left) {
    if (call->retries_left > 0) --call->retries_left;
    call_retries_.increment();
    insert_by_sequence(s.queued, call);
  } else {
    settle(*call, Error{Errc::kPeerDied, actor_name(s.id) + " died while " + call->method +
                                                          " was in flight (" + outcome.result.error().message + ")"});
  }
  pump(s);
}

void RuntimeClient::fail_queued(ActorSubmitter& s, const Error& error) {
  for (PendingCall* call : s.queued) settle(*call, error);
  s.queued.clear();
}

Task<void> RuntimeClient::resolve(ActorId actor) {
  while (true) {
    ActorSubmitter* found = submitters_.find(actor);
    if (found == nullptr) co_return;
    if (found->queued.empty()) {
      found->resolving = false;
      co_return;
    }
    const uint64_t after = found->failed_incarnation;
    const Bytes request = encode(protocol::WaitActorRequest{actor, after, options_.long_poll_timeout});
    Result<Bytes> reply = co_await control(protocol::kWaitActor, request, options_.long_poll_timeout);
    found = submitters_.find(actor);  // it may have been evicted meanwhile
    if (found == nullptr) co_return;
    ActorSubmitter& s = *found;
    if (!reply.ok()) {
      if (reply.error().code == Errc::kNotFound || reply.error().code == Errc::kInvalidArgument) {
        s.resolving = false;
        fail_queued(s, reply.error());
        co_return;
      }
      // The control store is unreachable: keep trying while calls wait (each has its own deadline).
      co_await sleep(env_.clock, options_.control_backoff_max);
      continue;
    }
    Result<ActorInfo> info = decode<ActorInfo>(reply.value());
    if (!info.ok()) {
      s.resolving = false;
      fail_queued(s, Error{Errc::kInternal, "undecodable actor info: " + info.error().message});
      co_return;
    }
    if (info.value().state == ActorState::kDead) {
      s.location = info.value();
      s.stale = false;
      s.resolving = false;
      fail_queued(s, Error{Errc::kPeerDied, actor_name(actor) + " is dead: " + info.value().death_cause});
      co_return;
    }
    if (info.value().state == ActorState::kAlive && info.value().incarnation > after) {
      s.location = info.value();
      s.stale = false;
      s.resolving = false;
      pump(s);
      co_return;
    }
    // Still PENDING or RESTARTING (or the life that failed): poll again.
  }
}

// --- Tasks -------------------------------------------------------------------------------------------------

Task<Result<Bytes>> RuntimeClient::submit_raw(std::string function, Bytes args, TaskOptions options) {
  if (Status s = validate_name(function, "the function name"); !s.ok()) co_return s.error();
  if (Status s = options.validate(); !s.ok()) co_return s.error();
  if (args.size() > protocol::kMaxArgsBytes) {
    co_return Error{Errc::kInvalidArgument, "arguments of task " + function + " exceed kMaxArgsBytes"};
  }
  if (options_.catalog != nullptr) {
    if (options_.catalog->functions.find(function) == nullptr) {
      co_return Error{Errc::kNotFound, "unknown remote function '" + function + "'"};
    }
    if (!options.runtime_env.empty() && options_.catalog->find_runtime_env(options.runtime_env) == nullptr) {
      co_return Error{Errc::kNotFound, "unknown runtime env '" + options.runtime_env + "'"};
    }
  }
  if (task_attempts_.size() >= options_.max_inflight_tasks) {
    co_return Error{Errc::kResourceExhausted, "this client already runs " +
                                                  std::to_string(options_.max_inflight_tasks) + " tasks"};
  }
  const TimePoint started = env_.clock.now();
  const TimePoint deadline = started + options.timeout;
  const SchedulingSpec spec = options.scheduling();
  uint32_t lost_runs = 0;    // attempts that may have run: bounded by max_retries
  uint32_t undelivered = 0;  // attempts refused before they ran: bounded by max_undelivered_resends
  Duration resend_backoff = options_.control_backoff_initial;
  while (true) {
    const uint64_t request_number = next_request_++;
    protocol::LeaseRequest lease_request{id_, request_number, spec, function, {}};
    Result<protocol::LeaseReply> lease = co_await acquire_lease(std::move(lease_request), deadline);
    if (!lease.ok()) co_return lease.error();
    const protocol::LeaseReply grant = lease.value();
    Bytes run = encode(protocol::RunTaskRequest{grant.instance, grant.lease, spec.resources, grant.bundle, function,
                                                args, spec.runtime_env, lost_runs});
    const uint64_t attempt_id = next_attempt_id_++;
    auto entry = std::make_unique<TaskAttempt>(env_.clock);
    entry->node = grant.node;
    entry->instance = grant.instance;
    Completion<Outcome> done = entry->done;
    TaskAttempt& stored = *task_attempts_.emplace(attempt_id, std::move(entry)).first->second;
    const Address daemon{grant.node, kNodeDaemonPort};
    stored.rpc = scope_.spawn(run_task_attempt(attempt_id, daemon, std::move(run), deadline));
    std::optional<Outcome> outcome = co_await done.wait_until(deadline);
    if (auto it = task_attempts_.find(attempt_id); it != task_attempts_.end()) {
      scope_.cancel(it->second->rpc);
      task_attempts_.erase(it);
    }
    if (!outcome) {
      co_return Error{Errc::kTimeout, "task " + function + " did not finish within its timeout of " +
                                          format_duration(options.timeout)};
    }
    if (outcome->delivery == Delivery::kDone) {
      task_latency_ms_.record(to_ms(env_.clock.now() - started));
      co_return std::move(outcome->result);
    }
    const std::string why = outcome->result.error().message;
    if (outcome->delivery == Delivery::kNotDelivered) {
      return_lease(grant.lease);  // nobody will run under it; the control store may still count it
      if (++undelivered > options_.max_undelivered_resends || env_.clock.now() >= deadline) {
        co_return Error{Errc::kUnavailable, "task " + function + " could not be started (" + why + ")"};
      }
      // The lease pointed at a node that is gone or full; the control store will know soon. Pace the retries.
      co_await sleep(env_.clock, resend_backoff);
      resend_backoff = std::min(resend_backoff * 2, options_.control_backoff_max);
      continue;
    }
    if (lost_runs >= static_cast<uint32_t>(options.max_retries) || env_.clock.now() >= deadline) {
      co_return Error{Errc::kPeerDied, "task " + function + " lost its node on attempt " +
                                           std::to_string(lost_runs + 1) + " of " +
                                           std::to_string(options.max_retries + 1) + " (" + why + ")"};
    }
    ++lost_runs;
    task_retries_.increment();
  }
}

Task<Result<protocol::LeaseReply>> RuntimeClient::acquire_lease(protocol::LeaseRequest request, TimePoint deadline) {
  std::string last_reason = "no answer from the control store yet";
  while (true) {
    if (env_.clock.now() >= deadline) {
      withdraw_lease(request.request);
      co_return Error{Errc::kTimeout, "no node could take task " + request.function +
                                          " before its timeout: " + last_reason};
    }
    request.max_wait = clamp_wait(deadline);
    const Bytes bytes = encode(request);
    Result<Bytes> raw = co_await control(protocol::kRequestLease, bytes, request.max_wait);
    Result<protocol::LeaseReply> reply = decode_reply<protocol::LeaseReply>(raw, "lease reply");
    if (!reply.ok()) {
      withdraw_lease(request.request);
      co_return reply.error();
    }
    if (reply.value().granted) co_return reply;
    last_reason = reply.value().waiting_reason;
  }
}

void RuntimeClient::return_lease(LeaseId lease) {
  protocol::ReturnLeaseRequest give_back{lease, kNoNode, 0, 0};
  scope_.spawn([](RuntimeClient& client, Bytes bytes) -> Task<void> {
    (void)co_await client.control(protocol::kReturnLease, std::move(bytes));
  }(*this, encode(give_back)));
}

void RuntimeClient::withdraw_lease(uint64_t request) {
  protocol::ReturnLeaseRequest withdraw{0, kNoNode, id_, request};
  scope_.spawn([](RuntimeClient& client, Bytes bytes) -> Task<void> {
    (void)co_await client.control(protocol::kReturnLease, std::move(bytes));
  }(*this, encode(withdraw)));
}

Task<std::vector<ProbeOutcome>> RuntimeClient::probe_actors(std::vector<ActorId> actors, Duration timeout) {
  std::vector<ProbeOutcome> outcomes(actors.size(), ProbeOutcome::kUnknown);
  struct NodeProbe {
    NodeId node = kNoNode;
    protocol::ProbeActorsRequest request;
    std::vector<size_t> asked;  // index in `actors` of each actor in the request
  };
  std::vector<NodeProbe> probes;  // in order of the nodes' first actor: the same input sends the same requests
  std::map<std::pair<NodeId, NodeInstance>, size_t> probe_of;
  for (size_t i = 0; i < actors.size(); ++i) {
    const ActorSubmitter* s = submitters_.find(actors[i]);
    if (s == nullptr || !s->sendable()) continue;
    const ActorInfo& where = *s->location;
    auto [it, added] = probe_of.emplace(std::pair{where.node, where.node_instance}, probes.size());
    if (added) {
      probes.emplace_back().node = where.node;
      probes.back().request.instance = where.node_instance;
    }
    NodeProbe& probe = probes[it->second];
    probe.request.actors.push_back(actors[i]);
    probe.request.incarnations.push_back(where.incarnation);
    probe.asked.push_back(i);
  }
  std::vector<Task<Result<Bytes>>> requests;
  for (const NodeProbe& probe : probes) {
    requests.push_back(endpoint_.call(Address{probe.node, kNodeDaemonPort}, protocol::kProbeActors,
                                      encode(probe.request), timeout));
  }
  std::vector<Result<Bytes>> answers = co_await when_all(std::move(requests));
  for (size_t k = 0; k < probes.size(); ++k) {
    const NodeProbe& probe = probes[k];
    if (!answers[k].ok()) {
      // No answer in time is the probe's finding; a refusal or an unreachable node is left to a call to explain.
      if (answers[k].error().code == Errc::kTimeout) {
        for (size_t i : probe.asked) outcomes[i] = ProbeOutcome::kNoAnswer;
      }
      continue;
    }
    Result<protocol::ProbeActorsReply> reply = decode<protocol::ProbeActorsReply>(answers[k].value());
    if (!reply.ok() || reply.value().alive.size() != probe.asked.size()) {
      env_.log.write(LogLevel::kWarning, "runtime",
                     "undecodable actor probe reply from node " + std::to_string(probe.node) + ": " +
                         (reply.ok() ? "wrong number of answers" : reply.error().message));
      continue;
    }
    for (size_t j = 0; j < probe.asked.size(); ++j) {
      if (reply.value().alive[j] != 0) outcomes[probe.asked[j]] = ProbeOutcome::kAlive;
    }
  }
  co_return outcomes;
}

Task<void> RuntimeClient::run_task_attempt(uint64_t attempt_id, Address daemon, Bytes request, TimePoint deadline) {
  depend_on_nodes();
  NodeDependency dependency([this] { release_nodes(); });
  const Duration timeout = std::max(deadline - env_.clock.now(), Duration(1));
  Result<Bytes> result = co_await endpoint_.call(daemon, protocol::kRunTask, std::move(request), timeout);
  if (auto it = task_attempts_.find(attempt_id); it != task_attempts_.end()) {
    it->second->done.complete(classify(std::move(result)));
  }
}

// --- Node deaths -------------------------------------------------------------------------------------------

Task<void> RuntimeClient::watch_nodes() {
  while (node_dependents_ > 0) {
    const Bytes request = encode(protocol::WatchNodesRequest{nodes_version_, options_.long_poll_timeout});
    Result<Bytes> raw = co_await control(protocol::kWatchNodes, request, options_.long_poll_timeout);
    Result<protocol::WatchNodesReply> reply = decode_reply<protocol::WatchNodesReply>(raw, "node watch reply");
    if (!reply.ok()) {
      co_await sleep(env_.clock, options_.control_backoff_max);
      continue;
    }
    nodes_version_ = reply.value().version;
    on_nodes_dead(reply.value().dead, reply.value().truncated ? &reply.value().alive : nullptr);
  }
  watching_ = false;
}

void RuntimeClient::on_nodes_dead(const std::vector<NodeIncarnation>& dead, const std::vector<NodeIncarnation>* alive) {
  if (dead.empty() && alive == nullptr) return;
  const std::set<NodeIncarnation> dead_set(dead.begin(), dead.end());
  std::map<NodeId, NodeInstance> alive_map;
  if (alive != nullptr) {
    for (const NodeIncarnation& node : *alive) alive_map[node.node] = node.instance;
  }
  auto is_dead = [&](NodeId node, NodeInstance instance) {
    if (dead_set.count(NodeIncarnation{node, instance}) > 0) return true;
    if (alive == nullptr) return false;
    auto it = alive_map.find(node);
    return it == alive_map.end() || it->second != instance;
  };
  // Actor calls in flight to dead nodes: settle them now (retry or kPeerDied) instead of at their deadline.
  std::vector<std::pair<ActorId, PendingCall*>> lost_calls;
  submitters_.for_each([&](ActorId actor, const ActorSubmitter& s) {
    for (PendingCall* call : s.inflight) {
      if (is_dead(call->node, call->instance)) lost_calls.emplace_back(actor, call);
    }
  });
  // Settled in (actor, sequence) order, whatever the hash order of the submitters.
  std::sort(lost_calls.begin(), lost_calls.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : a.second->sequence < b.second->sequence;
  });
  for (auto& [actor, call] : lost_calls) {
    ActorSubmitter* s = submitters_.find(actor);
    if (s == nullptr || !call->in_flight) continue;
    finish_attempt(*s, call,
                   Outcome{Delivery::kLost, Error{Errc::kPeerDied, "node " + std::to_string(call->node) + " died"}});
  }
  for (auto& [attempt_id, attempt] : task_attempts_) {
    if (!is_dead(attempt->node, attempt->instance)) continue;
    scope_.cancel(attempt->rpc);
    attempt->done.complete(Outcome{
        Delivery::kLost, Error{Errc::kPeerDied, "node " + std::to_string(attempt->node) + " died while running the task"}});
  }
}

// --- KV ----------------------------------------------------------------------------------------------------
// Requests are built in named locals before co_await: GCC 12 mishandles braced temporaries that live across a
// suspension point inside a co_await expression (they are destroyed twice).

Task<Status> RuntimeClient::kv_put(std::string key, Bytes value) {
  const Bytes request = encode(protocol::KvPutRequest{std::move(key), std::move(value), true});
  Result<Bytes> reply = co_await control(protocol::kKvPut, request);
  Result<bool> written = decode_reply<bool>(reply, "kv reply");
  if (!written.ok()) co_return written.error();
  co_return Status{};
}

Task<Result<bool>> RuntimeClient::kv_put_if_absent(std::string key, Bytes value) {
  const Bytes request = encode(protocol::KvPutRequest{std::move(key), std::move(value), false});
  Result<Bytes> reply = co_await control(protocol::kKvPut, request);
  co_return decode_reply<bool>(reply, "kv reply");
}

Task<Result<std::optional<Bytes>>> RuntimeClient::kv_get(std::string key) {
  const Bytes request = encode(protocol::KvKeyRequest{std::move(key)});
  Result<Bytes> reply = co_await control(protocol::kKvGet, request);
  co_return decode_reply<std::optional<Bytes>>(reply, "kv reply");
}

Task<Result<bool>> RuntimeClient::kv_delete(std::string key) {
  const Bytes request = encode(protocol::KvKeyRequest{std::move(key)});
  Result<Bytes> reply = co_await control(protocol::kKvDelete, request);
  co_return decode_reply<bool>(reply, "kv reply");
}

Task<Result<std::vector<std::string>>> RuntimeClient::kv_keys(std::string prefix) {
  const Bytes request = encode(protocol::KvListRequest{std::move(prefix)});
  Result<Bytes> reply = co_await control(protocol::kKvList, request);
  co_return decode_reply<std::vector<std::string>>(reply, "kv reply");
}

// --- Placement groups --------------------------------------------------------------------------------------

Task<Result<PlacementGroupInfo>> RuntimeClient::create_placement_group(std::vector<ResourceSet> bundles,
                                                                       BundleStrategy strategy,
                                                                       LabelSelector labels, std::string name) {
  const Bytes request = encode(protocol::CreatePlacementGroupRequest{
      id_, next_request_++, std::move(name), std::move(bundles), strategy, std::move(labels)});
  Result<Bytes> reply = co_await control(protocol::kCreatePlacementGroup, request);
  co_return decode_reply<PlacementGroupInfo>(reply, "placement group");
}

Task<Result<PlacementGroupInfo>> RuntimeClient::placement_group(PlacementGroupId id) {
  const Bytes request = encode(protocol::PlacementGroupRequest{id, {}});
  Result<Bytes> reply = co_await control(protocol::kGetPlacementGroup, request);
  co_return decode_reply<PlacementGroupInfo>(reply, "placement group");
}

Task<Result<PlacementGroupInfo>> RuntimeClient::wait_placement_group_ready(PlacementGroupId id, Duration timeout) {
  const TimePoint deadline = env_.clock.now() + timeout;
  while (true) {
    const Duration wait = clamp_wait(deadline);
    const Bytes request = encode(protocol::PlacementGroupRequest{id, wait});
    Result<Bytes> reply = co_await control(protocol::kWaitPlacementGroup, request, wait);
    Result<PlacementGroupInfo> info = decode_reply<PlacementGroupInfo>(reply, "placement group");
    if (!info.ok()) co_return info.error();
    if (info.value().state == PlacementGroupState::kCreated) co_return info;
    if (info.value().state == PlacementGroupState::kRemoved) {
      co_return Error{Errc::kNotFound, "placement group " + std::to_string(id) + " was removed"};
    }
    if (env_.clock.now() >= deadline) {
      co_return Error{Errc::kTimeout, "placement group " + std::to_string(id) + " was not placed within " +
                                          format_duration(timeout)};
    }
  }
}

Task<Status> RuntimeClient::remove_placement_group(PlacementGroupId id) {
  const Bytes request = encode(protocol::PlacementGroupRequest{id, {}});
  Result<Bytes> reply = co_await control(protocol::kRemovePlacementGroup, request);
  if (!reply.ok()) co_return reply.error();
  co_return Status{};
}

// --- Cluster -----------------------------------------------------------------------------------------------

Task<Result<std::vector<NodeInfo>>> RuntimeClient::nodes() {
  const Bytes request;
  Result<Bytes> reply = co_await control(protocol::kListNodes, request);
  co_return decode_reply<std::vector<NodeInfo>>(reply, "node list");
}

Task<Result<std::vector<PendingRequest>>> RuntimeClient::pending_requests() {
  const Bytes request;
  Result<Bytes> reply = co_await control(protocol::kListPending, request);
  co_return decode_reply<std::vector<PendingRequest>>(reply, "pending list");
}

}  // namespace tandem::runtime
