// The runtime's wire protocol: RPC method ids and the request/reply records exchanged between clients, node
// daemons and the control store. Internal to core/runtime; users see RuntimeClient.
//
// Contract: every record is encoded with the codec (core/runtime/codec.h) and travels as the payload of an
// RpcEndpoint call (core/async/rpc.h), the same bytes in every world. Records only grow by appending fields.
// A reply with no content is the empty byte string. Each receiver validates what it decodes; undecodable
// bytes are answered with kInvalidArgument.
//
// Who calls whom:
//   client  -> control store  actors, leases, KV, placement groups, queries, node watch (long polls)
//   daemon  -> control store  register, heartbeat, actor died, return lease
//   control store -> daemon   create actor, kill actor
//   client  -> daemon         call actor, run task (with a lease)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/async/rpc.h"
#include "core/runtime/codec.h"
#include "core/runtime/types.h"

namespace tandem {
// Errc values this program defines (the codec refuses others); found by argument-dependent lookup.
inline bool codec_valid(Errc code) { return code <= Errc::kInternal; }
}  // namespace tandem

namespace tandem::runtime::protocol {

// Methods served by the control store (port kControlStorePort).
enum ControlMethod : uint32_t {
  kRegisterNode = RpcEndpoint::kFirstMethod,
  kHeartbeat,
  kCreateActor,
  kGetActor,
  kWaitActor,
  kListActors,
  kKillActor,
  kActorDied,
  kRequestLease,
  kReturnLease,
  kWatchNodes,
  kKvPut,
  kKvGet,
  kKvDelete,
  kKvList,
  kCreatePlacementGroup,
  kGetPlacementGroup,
  kWaitPlacementGroup,
  kRemovePlacementGroup,
  kListPending,
  kListNodes,
};

// Methods served by a node daemon (port kNodeDaemonPort).
enum DaemonMethod : uint32_t {
  kCreateActorOnNode = RpcEndpoint::kFirstMethod,
  kKillActorOnNode,
  kCallActorRetired,  // was one RPC per actor call; calls now travel batched as posts (below)
  kRunTask,
  kProbeActors,  // ProbeActorsRequest -> ProbeActorsReply: which of these actors this node hosts, alive
};

// Actor calls travel as one-way posts (RpcEndpoint::post), batched, not as one RPC each:
// - kCallBatch, client -> daemon: a header and one entry per call (fixed layout: call_wire.h), every call the
//   client had ready for that node instance in one turn, in send order (so per actor in sequence order).
// - kCallResults, daemon -> client: the results (fixed layout: call_wire.h) the daemon finished for that client
//   in one turn, in the order they finished. (CallEntry, CallResult: the same fields as codec records, unsent.)
// - kCallBatchRejected, daemon -> client: a CallBatchRejected record: the batch (by its correlation) did not
//   decode, and none of it ran.
// A batch that cannot be delivered bounces to the client (RpcEndpoint::on_bounce), which resends its calls.
// Lost posts are found by each call's own deadline, as lost RPCs were.
enum CallPost : uint32_t {
  kCallBatch = RpcEndpoint::kFirstMethod + 32,
  kCallResults,
  kCallBatchRejected,
};

inline constexpr size_t kMaxCallBatchBytes = size_t{1} << 20;  // a batch is sent once it holds this much
inline constexpr size_t kMaxCallBatchCalls = 4096;             // ... or this many calls

// Limits on message contents.
inline constexpr size_t kMaxArgsBytes = size_t{16} << 20;        // arguments of one call, task or constructor
inline constexpr size_t kMaxKvKeyBytes = 1024;
inline constexpr size_t kMaxKvValueBytes = size_t{16} << 20;
inline constexpr size_t kMaxKvListKeys = 100'000;               // keys one kv_list returns

struct RegisterNodeRequest {
  NodeId node = kNoNode;
  NodeInstance instance = 0;
  ResourceSet total;
  NodeLabels labels;
  std::vector<std::string> runtime_envs;
  TANDEM_CODEC_FIELDS(node, instance, total, labels, runtime_envs)
};

struct RegisterNodeReply {
  uint64_t control_store_epoch = 0;
  Duration heartbeat_period{};  // the cluster's: the control store's failure detector counts misses of it
  TANDEM_CODEC_FIELDS(control_store_epoch, heartbeat_period)
};

struct LeaseUsage {
  LeaseId lease = 0;
  ResourceSet resources;
  std::optional<BundleRef> bundle;
  TANDEM_CODEC_FIELDS(lease, resources, bundle)
};

struct ActorIncarnation {
  ActorId actor = kNoActor;
  uint64_t incarnation = 0;
  friend auto operator<=>(const ActorIncarnation&, const ActorIncarnation&) = default;
  TANDEM_CODEC_FIELDS(actor, incarnation)
};

// Order-independent digest of a set of (actor, incarnation): the daemon and the control store compare theirs.
uint64_t actor_digest_term(ActorId actor, uint64_t incarnation);

struct HeartbeatRequest {
  NodeId node = kNoNode;
  NodeInstance instance = 0;
  uint64_t actor_count = 0;
  uint64_t actor_digest = 0;  // XOR of actor_digest_term over hosted actors
  std::vector<LeaseUsage> leases;
  std::vector<std::string> runtime_envs;
  TANDEM_CODEC_FIELDS(node, instance, actor_count, actor_digest, leases, runtime_envs)
};

struct HeartbeatReply {
  bool known = true;  // false: the control store has declared this instance dead; re-register as a new one
  std::optional<std::vector<ActorIncarnation>> expected_actors;  // sent when the digests differ
  TANDEM_CODEC_FIELDS(known, expected_actors)
};

struct CreateActorRequest {
  ClientId client = 0;
  uint64_t request = 0;  // per client; a retried request is recognised and answered the same way
  std::string class_name;
  ActorOptions options;
  Bytes args;
  OwnerRef owner;
  TANDEM_CODEC_FIELDS(client, request, class_name, options, args, owner)
};

struct GetActorRequest {
  ActorId actor = kNoActor;  // by id, or by name when 0
  std::string name;
  TANDEM_CODEC_FIELDS(actor, name)
};

// Long poll: answered when the actor is ALIVE with an incarnation above `after_incarnation`, or DEAD, or when
// the poll times out (then with the current state).
struct WaitActorRequest {
  ActorId actor = kNoActor;
  uint64_t after_incarnation = 0;
  Duration max_wait{};  // capped by the control store's long_poll_timeout
  TANDEM_CODEC_FIELDS(actor, after_incarnation, max_wait)
};

struct ListActorsRequest {
  bool named_only = false;
  bool include_dead = true;
  TANDEM_CODEC_FIELDS(named_only, include_dead)
};

struct ActorList {
  std::vector<ActorInfo> actors;
  TANDEM_CODEC_FIELDS(actors)
};

struct KillActorRequest {
  ActorId actor = kNoActor;
  bool no_restart = true;
  std::string cause;
  TANDEM_CODEC_FIELDS(actor, no_restart, cause)
};

struct ActorDiedRequest {
  NodeId node = kNoNode;
  NodeInstance instance = 0;
  ActorId actor = kNoActor;
  uint64_t incarnation = 0;
  std::string cause;
  bool exit_requested = false;  // the actor called exit(): DEAD, no restart
  TANDEM_CODEC_FIELDS(node, instance, actor, incarnation, cause, exit_requested)
};

struct LeaseRequest {
  ClientId client = 0;
  uint64_t request = 0;  // per client; re-polling the same request never makes a second lease
  SchedulingSpec spec;
  std::string function;  // for pending-request reports
  Duration max_wait{};   // how long to hold the poll when nothing can take it; capped by long_poll_timeout
  TANDEM_CODEC_FIELDS(client, request, spec, function, max_wait)
};

struct LeaseReply {
  bool granted = false;
  LeaseId lease = 0;
  NodeId node = kNoNode;
  NodeInstance instance = 0;
  std::string waiting_reason;       // when not granted yet
  std::optional<BundleRef> bundle;  // the bundle the lease draws on, when in a placement group
  TANDEM_CODEC_FIELDS(granted, lease, node, instance, waiting_reason, bundle)
};

// Returns a lease by id (from the daemon that ran the task), or withdraws the request (client, request) of a
// submitter that gave up — pending or already granted.
struct ReturnLeaseRequest {
  LeaseId lease = 0;
  NodeId node = kNoNode;
  ClientId client = 0;
  uint64_t request = 0;
  TANDEM_CODEC_FIELDS(lease, node, client, request)
};

// Long poll for node deaths: answered when the node version passes `after_version`, or at max_wait.
struct WatchNodesRequest {
  uint64_t after_version = 0;
  Duration max_wait{};
  TANDEM_CODEC_FIELDS(after_version, max_wait)
};

struct NodeIncarnation {
  NodeId node = kNoNode;
  NodeInstance instance = 0;
  friend auto operator<=>(const NodeIncarnation&, const NodeIncarnation&) = default;
  TANDEM_CODEC_FIELDS(node, instance)
};

struct WatchNodesReply {
  uint64_t version = 0;
  std::vector<NodeIncarnation> dead;   // node instances declared dead after `after_version`
  bool truncated = false;              // the log no longer reaches back that far: use `alive` instead
  std::vector<NodeIncarnation> alive;  // only when truncated; ascending node id
  TANDEM_CODEC_FIELDS(version, dead, truncated, alive)
};

struct KvPutRequest {
  std::string key;
  Bytes value;
  bool overwrite = true;
  TANDEM_CODEC_FIELDS(key, value, overwrite)
};

struct KvKeyRequest {
  std::string key;
  TANDEM_CODEC_FIELDS(key)
};

struct KvListRequest {
  std::string prefix;
  TANDEM_CODEC_FIELDS(prefix)
};

struct CreatePlacementGroupRequest {
  ClientId client = 0;
  uint64_t request = 0;
  std::string name;
  std::vector<ResourceSet> bundles;
  BundleStrategy strategy = BundleStrategy::kPack;
  LabelSelector labels;
  TANDEM_CODEC_FIELDS(client, request, name, bundles, strategy, labels)
};

struct PlacementGroupRequest {
  PlacementGroupId group = 0;
  Duration max_wait{};  // for kWaitPlacementGroup
  TANDEM_CODEC_FIELDS(group, max_wait)
};

struct CreateActorOnNodeRequest {
  NodeInstance instance = 0;
  ActorInfo actor;
  ActorOptions options;
  Bytes args;
  TANDEM_CODEC_FIELDS(instance, actor, options, args)
};

struct KillActorOnNodeRequest {
  NodeInstance instance = 0;
  ActorId actor = kNoActor;
  uint64_t incarnation = 0;  // 0: whatever incarnation is hosted
  std::string cause;
  TANDEM_CODEC_FIELDS(instance, actor, incarnation, cause)
};

// A liveness probe of actors on one node: which of them the daemon hosts, ready, in the incarnation given. It
// reads the daemon's table only: no actor code runs and no call is ordered before or after it.
struct ProbeActorsRequest {
  NodeInstance instance = 0;           // the node instance the caller located them on
  std::vector<ActorId> actors;
  std::vector<uint64_t> incarnations;  // one per actor
  TANDEM_CODEC_FIELDS(instance, actors, incarnations)
};

struct ProbeActorsReply {
  std::vector<uint8_t> alive;  // one per actor asked about: 1 when hosted here, ready, in that incarnation
  TANDEM_CODEC_FIELDS(alive)
};

struct CallBatchHeader {
  NodeInstance instance = 0;  // the node instance the calls are meant for
  ClientId caller = 0;
  TANDEM_CODEC_FIELDS(instance, caller)
};

struct CallEntry {
  ActorId actor = kNoActor;
  uint64_t incarnation = 0;
  uint64_t sequence = 0;  // per caller and actor, in send order
  uint32_t attempt = 0;   // the caller's attempt number; echoed in the result so stale results are dropped
  std::string method;
  Bytes args;
  TANDEM_CODEC_FIELDS(actor, incarnation, sequence, attempt, method, args)
};

// The same record as CallEntry, decoded in place: the views point into the batch message (no copies).
struct CallEntryView {
  ActorId actor = kNoActor;
  uint64_t incarnation = 0;
  uint64_t sequence = 0;
  uint32_t attempt = 0;
  std::string_view method;
  std::string_view args;
  TANDEM_CODEC_FIELDS(actor, incarnation, sequence, attempt, method, args)
};

struct CallBatchRejected {
  uint64_t batch = 0;  // the kCallBatch post's correlation
  std::string message;
  TANDEM_CODEC_FIELDS(batch, message)
};

// How a call sent to a daemon ended there.
enum class CallOutcome : uint8_t {
  kRan = 0,      // accepted: the method's value or error (or a typed refusal such as an unknown method)
  kRefused = 1,  // not accepted: the actor or node instance is not there; it did not run and may be sent again
  kLost = 2,     // the actor ended while the call was queued or running: it may or may not have run
};
inline bool codec_valid(CallOutcome outcome) { return outcome <= CallOutcome::kLost; }

struct CallResult {
  ActorId actor = kNoActor;
  uint64_t sequence = 0;
  uint32_t attempt = 0;
  CallOutcome outcome = CallOutcome::kRan;
  Errc code = Errc::kOk;
  std::string message;  // the error's message when code != kOk
  Bytes value;          // the encoded result when code == kOk
  TANDEM_CODEC_FIELDS(actor, sequence, attempt, outcome, code, message, value)
};

// The same record as CallResult, decoded in place: the views point into the results message.
struct CallResultView {
  ActorId actor = kNoActor;
  uint64_t sequence = 0;
  uint32_t attempt = 0;
  CallOutcome outcome = CallOutcome::kRan;
  Errc code = Errc::kOk;
  std::string_view message;
  std::string_view value;
  TANDEM_CODEC_FIELDS(actor, sequence, attempt, outcome, code, message, value)
};

struct RunTaskRequest {
  NodeInstance instance = 0;
  LeaseId lease = 0;
  ResourceSet resources;
  std::optional<BundleRef> bundle;
  std::string function;
  Bytes args;
  std::string runtime_env;
  uint32_t attempt = 0;
  TANDEM_CODEC_FIELDS(instance, lease, resources, bundle, function, args, runtime_env, attempt)
};

// A daemon's answer to a task it accepted. RPC-level errors from a daemon mean the request was not
// accepted (kPeerDied: the actor or node instance is not there; kUnavailable: the node cannot take it now), so
// it did not run and may be sent again. Once accepted, the outcome travels here: the method's own value or
// error, or lost = true when the actor or node ended while the request was queued or running (it may or may
// not have run, so resending it is a retry).
struct ExecutionReply {
  Errc code = Errc::kOk;
  std::string message;
  Bytes value;
  bool lost = false;
  TANDEM_CODEC_FIELDS(code, message, value, lost)
};

// Decodes a request or answers kInvalidArgument naming the message.
template <typename T>
Result<T> decode_request(const Bytes& bytes, std::string_view what) {
  Result<T> decoded = decode<T>(bytes);
  if (!decoded.ok()) {
    return Error{Errc::kInvalidArgument, "malformed " + std::string(what) + ": " + decoded.error().message};
  }
  return decoded;
}

}  // namespace tandem::runtime::protocol
