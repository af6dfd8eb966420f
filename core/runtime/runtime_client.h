// RuntimeClient: the driver API of the actor runtime — create and call actors, submit tasks, find named actors,
// use the control store's KV and placement groups. Every node daemon owns one (its actors and tasks use it);
// a driver process builds its own from an Env and the head's address.
//
// Contract:
// - Everything returns a Task that ends in a value or a typed Error; nothing waits forever: calls and tasks
//   have a timeout (CallOptions, TaskOptions), control-store requests a bounded number of attempts.
// - Actor calls from one client to one actor are sent in the order they were made and, with max_concurrency
//   = 1, run in that order. When the actor dies mid-call the call fails with kPeerDied, or — while
//   max_task_retries allows — is sent again, in the original order, to the restarted actor once it is ALIVE
//   (nothing is sent to the new life until every call to the old one has been answered or given up). A call
//   to a DEAD actor fails at once with kPeerDied and the death cause; one that finds the actor not ALIVE before
//   its timeout fails with kUnavailable; an unanswered call fails with kTimeout (it may or may not have run).
// - Tasks: a lease is asked of the control store (waiting while nothing can take it, kResourceExhausted when
//   no node ever could), then the task runs on the leased node. When that node dies the task runs again
//   elsewhere, up to max_retries times; errors the function returns are never retried.
// - Node deaths are learnt from the control store (a long poll that runs only while calls or tasks are in
//   flight), so work on a crashed node fails over in about the failure-detection delay, not its timeout.
// - Typed helpers encode arguments with the codec when called (not when awaited), so temporaries are safe.
// - Single event loop. The client must outlive the coroutines that use it; destroying it cancels its own.
#pragma once

#include <concepts>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/async/deferred.h"
#include "core/async/rpc.h"
#include "core/async/scope.h"
#include "core/async/task.h"
#include "core/common/id_map.h"
#include "core/common/result.h"
#include "core/env/env.h"
#include "core/metrics/registry.h"
#include "core/runtime/actor.h"
#include "core/runtime/catalog.h"
#include "core/runtime/codec.h"
#include "core/runtime/completion.h"
#include "core/runtime/protocol.h"
#include "core/runtime/types.h"

namespace tandem::runtime {

struct ClientOptions {
  Address control_store{kNoNode, kControlStorePort};
  const RuntimeCatalog* catalog = nullptr;       // when set, unknown classes and functions fail on the client
  metrics::MetricsRegistry* metrics = nullptr;   // nullptr: the client keeps a private registry
  OwnerRef default_owner;                        // owner of actors created without an explicit one

  Duration control_timeout = std::chrono::seconds(2);   // one control-store request attempt
  int max_control_attempts = 6;                          // then kUnavailable
  Duration control_backoff_initial = std::chrono::milliseconds(50);
  Duration control_backoff_max = std::chrono::seconds(2);
  Duration long_poll_timeout = std::chrono::seconds(10);  // longest a poll is held by the control store

  size_t max_pending_calls_per_actor = 100'000;  // queued + in flight; beyond: kResourceExhausted
  size_t max_inflight_tasks = 1'000'000;
  size_t max_cached_actors = 100'000;            // idle actors whose location is remembered
  uint32_t max_undelivered_resends = 100;        // per call or task: refusals before it ran (stale addresses)
};

class RuntimeClient;

// Calls awaited together (ActorCallGroup): each settled call counts down, and the last one resumes the awaiter.
struct CallCountdown {
  size_t pending = 0;  // calls queued and not yet settled
  Wakeup waiter{};
};

// One actor call as its caller sees it: queued, in flight, or settled. Internal to RuntimeClient; it lives in
// the caller's coroutine frame (inside an ActorCall), the client's lists point at it until it settles, and a
// caller cancelled mid-call withdraws it from them.
struct PendingCall {
  uint64_t sequence = 0;
  std::string method;
  Bytes args;
  TimePoint started{};
  TimePoint deadline{};
  int32_t retries_left = 0;
  bool retries_known = false;
  bool in_flight = false;    // in the submitter's inflight list (else queued, or nowhere once settled)
  uint32_t attempt = 0;      // bumped on every send
  uint32_t undelivered = 0;  // sends refused before the call ran
  // Where the current attempt went.
  NodeId node = kNoNode;
  NodeInstance instance = 0;
  uint64_t incarnation = 0;
  uint64_t batch = 0;  // correlation of the batch post that carried the current attempt
  // The outcome for the caller (the first one wins; later ones are dropped). The caller's Wakeup also serves as
  // its deadline timer.
  std::optional<Result<Bytes>> result{};
  Wakeup waiter{};
  CallCountdown* countdown = nullptr;  // set for a call of an ActorCallGroup, which is resumed instead of `waiter`

  bool done() const { return result.has_value(); }
};

// The awaitable of one actor call: constructing it queues the call (or records why it was refused at once);
// co_await gives the result. Neither copyable nor movable: the client points at it until it settles. Keep it in
// a named local of a coroutine (see the GCC 12 note in runtime_client.cpp).
class ActorCall {
 public:
  // Takes the arguments over and builds the method's name straight into the call: moved from a std::string&&,
  // copied once from a std::string_view (defined below RuntimeClient).
  template <typename Method>
    requires std::constructible_from<std::string, Method&&>
  ActorCall(RuntimeClient& client, ActorId actor, Method&& method, Bytes&& args, const CallOptions& options);
  ~ActorCall();
  ActorCall(const ActorCall&) = delete;
  ActorCall& operator=(const ActorCall&) = delete;

  const std::string& method() const { return call_.method; }

  bool await_ready() const noexcept { return call_.done(); }
  template <typename Promise>
  void await_suspend(std::coroutine_handle<Promise> handle) {
    call_.waiter = make_wakeup(handle);
    clock_->wake_at(call_.deadline, call_.waiter);  // the deadline, unless an outcome resumes it first
  }
  Result<Bytes> await_resume() { return std::move(finish()); }
  // await_resume's work without moving the outcome out: a reference to it, valid while this call lives.
  Result<Bytes>& finish();

 private:
  friend class ActorCallGroup;
  void queue(const CallOptions& options);

  RuntimeClient& client_;
  Clock* clock_;
  ActorId actor_;
  Duration timeout_;
  bool queued_ = false;  // entered the client's lists and not yet settled for the caller
  PendingCall call_;
};

// ActorCall with its result decoded as R (void: none): what ActorHandle::start returns. The same contract as
// ActorCall (keep it in a named local, co_await it once); awaiting it needs no coroutine frame of its own, which
// is the cheapest way to call an actor when the caller awaits at once.
template <typename R>
class TypedActorCall {
 public:
  template <typename Method>  // as ActorCall takes it
  TypedActorCall(RuntimeClient& client, ActorId actor, Method&& method, Bytes&& args, const CallOptions& options)
      : call_(client, actor, std::forward<Method>(method), std::move(args), options) {}

  bool await_ready() const noexcept { return call_.await_ready(); }
  template <typename Promise>
  void await_suspend(std::coroutine_handle<Promise> handle) {
    call_.await_suspend(handle);
  }
  Result<R> await_resume() {
    Result<Bytes>& bytes = call_.finish();  // decoded where it lies: no move of the bytes first
    if (!bytes.ok()) return bytes.error();
    if constexpr (std::is_void_v<R>) {
      return Status{};
    } else {
      Result<R> value = decode<R>(bytes.value());
      if (!value.ok()) {
        return Error{Errc::kInvalidArgument, "undecodable result of " + call_.method() + ": " + value.error().message};
      }
      return value;
    }
  }

 private:
  ActorCall call_;
};

// Actor calls started together and awaited as one, as a health round pings every backend: co_await resumes the
// caller once every call has settled or the group's timeout has passed, whichever is first; result(i) then gives
// call i's outcome exactly as co_await on its own ActorCall would (kTimeout, or kUnavailable while the actor was
// not ALIVE, for one the deadline caught). Each call keeps its own order and retry rules; what the group saves
// is a coroutine frame and a deadline timer per call. Neither copyable nor movable (the client points at its
// calls); keep it in a named local and co_await it once. Destroying it withdraws the calls still pending.
class ActorCallGroup {
 public:
  ActorCallGroup(RuntimeClient& client, Duration timeout);
  ActorCallGroup(const ActorCallGroup&) = delete;
  ActorCallGroup& operator=(const ActorCallGroup&) = delete;

  // Queues a call now (sent with the others after the current event).
  void start(ActorId actor, std::string_view method, Bytes args);
  size_t size() const { return calls_.size(); }

  bool await_ready() const noexcept { return countdown_.pending == 0; }
  template <typename Promise>
  void await_suspend(std::coroutine_handle<Promise> handle) {
    countdown_.waiter = make_wakeup(handle);
    clock_->wake_at(deadline_, countdown_.waiter);  // the deadline, unless the last outcome resumes it first
  }
  void await_resume() const noexcept {}

  // Call i's outcome (after co_await), valid while the group lives.
  Result<Bytes>& result(size_t i) { return calls_[i].finish(); }

 private:
  RuntimeClient& client_;
  Clock* clock_;
  CallOptions options_;
  TimePoint deadline_;
  CallCountdown countdown_;
  std::deque<ActorCall> calls_;  // a deque: calls never move once queued
};

// What a liveness probe (RuntimeClient::probe_actors) learned of one actor.
enum class ProbeOutcome : uint8_t {
  kAlive,     // its node answered: it hosts the actor, ready, in the life this client knows
  kNoAnswer,  // its node did not answer within the timeout (down, partitioned, paused or slow)
  kUnknown,   // not known here as ALIVE on a node, or its node refused or no longer hosts that life: a call learns
              // more (it re-resolves the actor and reports kPeerDied when it is gone)
};

// A reference to an actor that can be sent in arguments; rebind with RuntimeClient::handle().
struct ActorRef {
  ActorId id = kNoActor;
  friend bool operator==(const ActorRef&, const ActorRef&) = default;
  TANDEM_CODEC_FIELDS(id)
};

class ActorHandle {
 public:
  ActorHandle() = default;
  ActorHandle(RuntimeClient* client, ActorId id) : client_(client), id_(id) {}

  ActorId id() const { return id_; }
  bool valid() const { return client_ != nullptr && id_ != kNoActor; }
  ActorRef ref() const { return ActorRef{id_}; }

  // call<int>("add", 2, 3): encodes the arguments now, decodes the result as R (void: no result).
  template <typename R = void, typename... Args>
  Task<Result<R>> call(std::string method, const Args&... args) const;
  template <typename R = void, typename... Args>
  Task<Result<R>> call_with(CallOptions options, std::string method, const Args&... args) const;
  Task<Result<Bytes>> call_raw(std::string method, Bytes args, CallOptions options = {}) const;
  // The call queued now, as an awaitable: `auto call = actor.start<R>(options, "m", x); auto r = co_await call;`.
  // Cheaper than call() (no coroutine frame) for a caller that awaits at once; `call` must be a named local.
  template <typename R = void, typename... Args>
  TypedActorCall<R> start(const CallOptions& options, std::string_view method, const Args&... args) const;

 private:
  RuntimeClient* client_ = nullptr;
  ActorId id_ = kNoActor;
};

class RuntimeClient {
 public:
  RuntimeClient(Env& env, ClientOptions options);
  ~RuntimeClient();
  RuntimeClient(const RuntimeClient&) = delete;
  RuntimeClient& operator=(const RuntimeClient&) = delete;

  ClientId id() const { return id_; }
  Env& env() const { return env_; }
  const ClientOptions& options() const { return options_; }
  Address address() const { return endpoint_.address(); }

  // --- Actors -----------------------------------------------------------------------------------------
  // Registers the actor with the control store and returns its handle at once (it is PENDING until placed);
  // calls made meanwhile wait for it. Errors: kNotFound (unknown class, with a catalog), kInvalidArgument
  // (bad options), kAlreadyExists (name taken), kResourceExhausted (no node could ever host it).
  template <typename... Args>
  Task<Result<ActorHandle>> create_actor(std::string class_name, ActorOptions options, const Args&... args) {
    return create_actor_raw(std::move(class_name), std::move(options), encode_args(args...), options_.default_owner);
  }
  Task<Result<ActorHandle>> create_actor_raw(std::string class_name, ActorOptions options, Bytes args,
                                             OwnerRef owner);

  // The live actor registered under `name`; kNotFound when there is none.
  Task<Result<ActorHandle>> get_actor(std::string name);
  ActorHandle handle(ActorId id) { return ActorHandle(this, id); }
  ActorHandle handle(ActorRef ref) { return ActorHandle(this, ref.id); }
  Task<Result<ActorInfo>> actor_info(ActorId id);
  // Waits until the actor is ALIVE (its info) or DEAD (kPeerDied with the cause); kTimeout otherwise.
  Task<Result<ActorInfo>> wait_actor_alive(ActorId id, Duration timeout);
  Task<Result<std::vector<ActorInfo>>> list_actors(bool named_only = false, bool include_dead = true);
  Task<Result<std::vector<ActorInfo>>> list_named_actors() { return list_actors(true, false); }
  // no_restart = false lets the actor restart if it has restarts left (counts as one).
  Task<Status> kill_actor(ActorId id, bool no_restart = true);
  Task<Result<Bytes>> call_actor(ActorId id, std::string method, Bytes args, CallOptions options = {});
  // Liveness of many actors at one request per node, where a call per actor costs a call's bookkeeping on both
  // sides: asks each actor's node (where this client last located it) whether it hosts that life, ready. It runs
  // no actor code, is ordered with no call, and resolves nothing: an actor this client has not located ALIVE is
  // kUnknown. The outcomes follow `actors`' order.
  Task<std::vector<ProbeOutcome>> probe_actors(std::vector<ActorId> actors, Duration timeout);
  // call_actor, then the result decoded as R (void: none), in one coroutine.
  template <typename R>
  Task<Result<R>> call_actor_as(ActorId id, std::string method, Bytes args, CallOptions options);

  // --- Tasks ------------------------------------------------------------------------------------------
  template <typename R = void, typename... Args>
  Task<Result<R>> submit(std::string function, TaskOptions options, const Args&... args) {
    return decode_result<R>(submit_raw(std::move(function), encode_args(args...), std::move(options)),
                            "task result");
  }
  Task<Result<Bytes>> submit_raw(std::string function, Bytes args, TaskOptions options = {});

  // --- Key-value store (checkpoints, app metadata; durable in the control store) --------------------------
  Task<Status> kv_put(std::string key, Bytes value);
  // False (and nothing written) when the key exists.
  Task<Result<bool>> kv_put_if_absent(std::string key, Bytes value);
  Task<Result<std::optional<Bytes>>> kv_get(std::string key);
  // True when the key existed.
  Task<Result<bool>> kv_delete(std::string key);
  Task<Result<std::vector<std::string>>> kv_keys(std::string prefix);

  // --- Placement groups -------------------------------------------------------------------------------
  Task<Result<PlacementGroupInfo>> create_placement_group(std::vector<ResourceSet> bundles, BundleStrategy strategy,
                                                          LabelSelector labels = {}, std::string name = {});
  Task<Result<PlacementGroupInfo>> placement_group(PlacementGroupId id);
  // Waits until every bundle is placed (CREATED); kTimeout otherwise, kNotFound when removed.
  Task<Result<PlacementGroupInfo>> wait_placement_group_ready(PlacementGroupId id, Duration timeout);
  Task<Status> remove_placement_group(PlacementGroupId id);

  // --- Cluster ----------------------------------------------------------------------------------------
  Task<Result<std::vector<NodeInfo>>> nodes();
  // Requests waiting for resources, with the reason (infeasible now, not forever).
  Task<Result<std::vector<PendingRequest>>> pending_requests();

  // --- Introspection (tests, metrics) ---------------------------------------------------------------------
  size_t calls_in_flight() const;
  size_t tasks_in_flight() const { return task_attempts_.size(); }
  bool watching_nodes() const { return watching_; }

  // Decodes a raw result as R; kInvalidArgument when it does not decode.
  template <typename R>
  static Task<Result<R>> decode_result(Task<Result<Bytes>> raw, std::string what) {
    Result<Bytes> bytes = co_await std::move(raw);
    if (!bytes.ok()) co_return bytes.error();
    if constexpr (std::is_void_v<R>) {
      co_return Status{};
    } else {
      Result<R> value = decode<R>(bytes.value());
      if (!value.ok()) co_return Error{Errc::kInvalidArgument, "undecodable " + what + ": " + value.error().message};
      co_return std::move(value).value();
    }
  }

 public:
 private:
  friend class ActorCall;
  struct ActorSubmitter;
  struct OutBatch;
  struct TaskAttempt;
  // How one attempt of a call or task ended, as seen from here.
  enum class Delivery : uint8_t {
    kDone,          // it ran (value or its own error), or failed for good (timeout, malformed, ...)
    kNotDelivered,  // refused before it ran (node down, actor or node instance not there): safe to resend
    kLost,          // the actor or node ended while it was queued or running: resending is a retry
  };
  struct Outcome {
    Delivery delivery;
    Result<Bytes> result;
  };
  static Outcome classify(Result<Bytes> rpc);
  static Outcome classify(const protocol::CallResultView& result);

  // Control-store requests: retried on kUnreachable / kTimeout / kPeerDied / kUnavailable with backoff.
  Task<Result<Bytes>> control(uint32_t method, Bytes request, Duration extra_wait = Duration::zero());
  Duration clamp_wait(TimePoint deadline) const;

  ActorSubmitter& submitter(ActorId id);
  void seed_location(const ActorInfo& info);
  // Actor calls are sent in batches: pump() marks a submitter for the next flush (after the current event),
  // which sends every call then ready, one kCallBatch post per node instance.
  void pump(ActorSubmitter& submitter);
  void flush();
  void pump_now(ActorSubmitter& submitter);
  void send(ActorSubmitter& submitter, PendingCall* call);
  void post_batch(OutBatch& batch);
  void on_results(const Bytes& payload);
  // Settles every call still in flight in `batch` (bounced or rejected).
  void settle_batch(uint64_t batch, const Outcome& outcome);
  void take_inflight(ActorSubmitter& submitter, PendingCall& call);
  void finish_attempt(ActorSubmitter& submitter, PendingCall* call, Outcome outcome);
  // ActorCall's side: queue a call (false, with call.result set, when refused at once); take it back.
  bool start_call(ActorId actor, PendingCall& call);
  enum class Withdrawn : uint8_t { kNowhere, kFromQueue, kFromFlight };
  Withdrawn withdraw(ActorId actor, PendingCall& call);
  std::string state_of(ActorId actor) const;
  // Hands a call its outcome; its caller resumes after the current event, with the others settled in it (or, for
  // a call settled by a results message, once on_results() has read the whole message).
  void settle(PendingCall& call, Result<Bytes> value);
  void settle_value(PendingCall& call, std::string_view value);  // a value the actor returned
  void wake_settled(PendingCall& call);
  void resume_settled();

  Task<void> resolve(ActorId actor);
  void fail_queued(ActorSubmitter& submitter, const Error& error);
  void evict_idle_submitters();

  Task<Result<protocol::LeaseReply>> acquire_lease(protocol::LeaseRequest request, TimePoint deadline);
  Task<void> run_task_attempt(uint64_t attempt_id, Address daemon, Bytes request, TimePoint deadline);
  void withdraw_lease(uint64_t request);
  void return_lease(LeaseId lease);

  void depend_on_nodes() {
    ++node_dependents_;
    if (!watching_) {
      watching_ = true;
      scope_.spawn(watch_nodes());
    }
  }
  void release_nodes() { --node_dependents_; }
  Task<void> watch_nodes();
  void on_nodes_dead(const std::vector<protocol::NodeIncarnation>& dead, const std::vector<protocol::NodeIncarnation>* alive);

  Env& env_;
  ClientOptions options_;
  std::unique_ptr<metrics::MetricsRegistry> own_metrics_;
  metrics::MetricsRegistry& metrics_;
  ClientId id_;
  uint64_t next_request_ = 1;
  uint64_t next_attempt_id_ = 1;
  RpcEndpoint endpoint_;
  // Looked up on every call (an IdMap: a multiply and usually one slot); the walks that act on several (eviction,
  // bounced batches, node deaths) sort what they collect, so table order never reaches behaviour.
  IdMap<ActorSubmitter> submitters_;
  std::map<uint64_t, std::unique_ptr<TaskAttempt>> task_attempts_;  // by attempt id
  uint64_t nodes_version_ = 0;
  size_t node_dependents_ = 0;  // RPCs in flight to daemons
  bool watching_ = false;
  metrics::Counter& call_retries_;
  metrics::Counter& task_retries_;
  metrics::Histogram& call_latency_ms_;
  metrics::Histogram& task_latency_ms_;
  std::vector<ActorSubmitter*> dirty_;     // to pump at the next flush, in the order they were marked
  std::vector<ActorSubmitter*> flushing_;  // dirty_ while a flush walks it
  std::vector<OutBatch> out_;              // batches being filled by the current flush
  Deferred flusher_;
  std::vector<Wakeup> settled_;   // callers to resume after the current event, in the order their calls settled
  std::vector<Wakeup> resuming_;  // settled_ while they are resumed
  Deferred resumer_;
  Scope scope_;  // last: its coroutines use everything above
};

// --- Typed helpers -----------------------------------------------------------------------------------------

template <typename R, typename... Args>
Task<Result<R>> ActorHandle::call(std::string method, const Args&... args) const {
  TANDEM_CHECK(valid(), "calling through an empty ActorHandle");
  return client_->call_actor_as<R>(id_, std::move(method), encode_args(args...), CallOptions{});
}

template <typename Method>
  requires std::constructible_from<std::string, Method&&>
ActorCall::ActorCall(RuntimeClient& client, ActorId actor, Method&& method, Bytes&& args, const CallOptions& options)
    : client_(client),
      clock_(&client.env_.clock),
      actor_(actor),
      timeout_(options.timeout),
      call_{.method = std::string(std::forward<Method>(method)), .args = std::move(args)} {
  queue(options);
}

template <typename R>
Task<Result<R>> RuntimeClient::call_actor_as(ActorId id, std::string method, Bytes args, CallOptions options) {
  TypedActorCall<R> call(*this, id, std::move(method), std::move(args), options);
  co_return co_await call;
}

template <typename R, typename... Args>
TypedActorCall<R> ActorHandle::start(const CallOptions& options, std::string_view method, const Args&... args) const {
  TANDEM_CHECK(valid(), "calling through an empty ActorHandle");
  return TypedActorCall<R>(*client_, id_, method, encode_args(args...), options);
}

template <typename R, typename... Args>
Task<Result<R>> ActorHandle::call_with(CallOptions options, std::string method, const Args&... args) const {
  TANDEM_CHECK(valid(), "calling through an empty ActorHandle");
  return client_->call_actor_as<R>(id_, std::move(method), encode_args(args...), options);
}

inline Task<Result<Bytes>> ActorHandle::call_raw(std::string method, Bytes args, CallOptions options) const {
  TANDEM_CHECK(valid(), "calling through an empty ActorHandle");
  return client_->call_actor(id_, std::move(method), std::move(args), options);
}

template <typename... Args>
Task<Result<ActorHandle>> ActorContext::create_actor(std::string class_name, ActorOptions options,
                                                     const Args&... args) {
  return client_.create_actor_raw(std::move(class_name), std::move(options), encode_args(args...), as_owner());
}

}  // namespace tandem::runtime
