// Internal to GrpcTransport: the state its gRPC callbacks share, the Link stream reactors and the frame codec.
//
// Ownership: GrpcTransport holds a shared_ptr<LinkCore>; every stream reactor and every function posted to the
// loop holds one too, so a callback that runs after shutdown() finds `closed` set and does nothing. Stream
// reactors own themselves (self_) from start until gRPC's OnDone. Nothing here is for use outside net/.
//
// Outgoing stream (ClientLink), one at a time per peer:
//
//   start ──server's `tandem-link: 1` metadata──> OPEN (writes pending batches, one write in flight)
//     │                                             │ read fails / cancelled / peer gone
//     │ refused, timed out, bad token               ▼
//     └─────────────────────────────────────────> DONE: never opened → pending messages bounce kUnreachable;
//                                                        was open → pending messages go to a new stream
//
// Incoming stream (ServerLink): checks token and `tandem-node`, sends `tandem-link: 1`, then reads batches,
// validates each frame and posts the good ones to the loop (at most kMaxPostedBatchesPerStream unconsumed, after
// which reading pauses: HTTP/2 flow control pushes back on the sender). Bounces go back on the same stream.
#pragma once

#include <grpcpp/grpcpp.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/env/random.h"
#include "real_backend/net/grpc_transport.h"
#include "real_backend/net/stderr_log.h"
#include "real_backend/net/tandem_net.grpc.pb.h"

namespace tandem::real::detail {

inline constexpr char kConnectMethod[] = "/tandem.real.wire.Link/Connect";
inline constexpr char kNodeHeader[] = "tandem-node";
inline constexpr char kLinkHeader[] = "tandem-link";
inline constexpr char kAuthHeader[] = "authorization";
inline constexpr uint32_t kFrameMessage = 1;
inline constexpr uint32_t kFrameBounce = 2;

inline constexpr size_t kMaxPostedBatchesPerStream = 16;  // unconsumed batches before a stream stops reading
inline constexpr size_t kBatchTargetBytes = 1 << 20;      // a write carries at most this much (or one frame)
inline constexpr size_t kMaxFramesPerBatch = 4096;
inline constexpr size_t kFrameOverheadBytes = 48;         // header bytes per frame, for batch sizing
inline constexpr size_t kEnvelopeSlackBytes = 1 << 20;    // gRPC's limit = max_message_bytes + this
inline constexpr uint64_t kRejectionsLoggedInFull = 20;   // then 1 in kRejectionLogEvery
inline constexpr uint64_t kRejectionLogEvery = 1000;

struct AtomicStats {
  std::atomic<uint64_t> sent{0}, delivered{0}, bounced{0}, bounces_sent{0}, rejected_malformed{0},
      rejected_unknown_peer{0}, rejected_unauthenticated{0}, rejected_oversized{0}, dropped_by_filter{0},
      dropped_queue_full{0}, reconnects{0}, delayed_by_link_fault{0}, lost_by_link_fault{0},
      duplicated_by_link_fault{0};
};

// The result of decoding one received Batch: the frames that passed, and what was refused.
struct DecodedBatch {
  std::vector<Message> messages;
  std::vector<Errc> reasons;  // bounces: one per message
  uint64_t malformed = 0;
  uint64_t unknown_peer = 0;
  uint64_t oversized = 0;
  std::string first_problem;  // for the log
};

// Frames of `type` must come from `expected_from` and be addressed to `expected_to`.
DecodedBatch decode_batch(grpc::ByteBuffer& buffer, uint32_t type, NodeId expected_from, NodeId expected_to,
                          size_t max_payload_bytes);
// Moves the messages' payloads into one serialized Batch. Bounces carry kPeerDied.
void encode_batch(std::vector<Message>& messages, uint32_t type, grpc::ByteBuffer* out);

class ClientLink;
class ServerLink;
class LinkService;
class AdminService;

// One peer this node sends to.
struct PeerLink {
  NodeId node = kNoNode;
  std::string endpoint;
  std::shared_ptr<grpc::Channel> channel;  // made on first use (credentials come from start())
  std::unique_ptr<grpc::GenericStub> stub;

  std::mutex mutex;                     // guards everything below and ClientLink's flags
  std::deque<Message> pending;          // not yet handed to a stream write
  size_t pending_bytes = 0;
  std::shared_ptr<ClientLink> stream;   // the current stream, if any
  bool ever_opened = false;
  bool reported_down = false;           // logged once per outage
  bool retired = false;                 // replaced by set_peer or shut down: no new streams

  // Up to kBatchTargetBytes (at least one message) from the front of `pending`. Caller holds `mutex`.
  std::vector<Message> take_batch_locked(size_t target_bytes);
};

struct LinkCore : std::enable_shared_from_this<LinkCore> {
  LinkCore(EventLoop& event_loop, NodeId self_node, TransportOptions transport_options);
  ~LinkCore();

  EventLoop& loop;
  const NodeId self;
  const TransportOptions options;
  std::unique_ptr<StderrLog> own_log;  // when options.log is null
  Log& log;
  std::atomic<bool> closed{false};
  AtomicStats stats;

  // Loop thread only.
  std::vector<Receiver*> ports;  // indexed by Port
  Port next_port = 1;
  std::map<NodeId, std::shared_ptr<PeerLink>> peers;

  // Set by start(), read by streams.
  std::shared_ptr<grpc::ChannelCredentials> channel_credentials;
  std::unique_ptr<LinkService> link_service;
  std::unique_ptr<AdminService> admin_service;
  std::unique_ptr<grpc::Server> server;
  uint16_t bound_port = 0;

  // Admin filter and link faults; any thread. An entry exists while it drops or has a link fault.
  struct PeerFilter {
    bool drop_outgoing = false;
    bool drop_incoming = false;
    LinkFaults link;
    std::optional<Random> draws;  // for link.loss / link.duplicate; reseeded by each set_link_faults
    std::optional<Random> jitter_draws;  // for link.reorder_jitter_us (its own stream: the others keep theirs)
    TimePoint clog_until{};              // set_link_faults' time + link.clog_ms
    bool empty() const { return !drop_outgoing && !drop_incoming && !link.any(); }
  };
  mutable std::mutex filter_mutex;
  std::map<NodeId, PeerFilter> filters;
  std::atomic<bool> any_filter{false};
  bool drops_outgoing(NodeId peer) const;
  bool drops_incoming(NodeId peer) const;
  void set_filter(NodeId peer, bool drop_outgoing, bool drop_incoming);
  Status set_link_faults(NodeId peer, const LinkFaults& faults);
  void clear_filters();

  // What the link faults do to one message to `peer` (draws taken here, on the loop thread).
  struct LinkDecision {
    Duration delay{};
    Duration jitter{};  // > 0: the message travels on its own, out of the pair's order
    bool lost = false;
    bool duplicated = false;
  };
  LinkDecision decide_link(NodeId peer);

  // Loop thread only: messages held by a link delay, per peer, in send order with nondecreasing release times.
  struct HeldMessage {
    TimePoint release;
    Message message;
  };
  struct HeldQueue {
    std::deque<HeldMessage> messages;
    size_t bytes = 0;
    TimePoint last_release{};
  };
  std::map<NodeId, HeldQueue> held;
  // Loop thread: after the link faults, hold `message` for `delay` (or behind what is already held), else send.
  void send_after_delay(Message&& message, Duration delay);
  // Loop thread: sends `message` after `delay` on its own (reorder jitter): not held behind the pair's queue.
  void send_reordered(Message&& message, Duration delay);
  std::map<NodeId, size_t> reordered_bytes;  // loop thread: bytes of messages in flight in send_reordered
  // Loop thread: sends the held messages to `peer` that are due, and waits for the next one.
  void release_held(NodeId peer);
  // Loop thread: to the peer's stream now (kUnreachable for an unknown node).
  void send_now(Message&& message);

  // Live stream reactors; shutdown() waits for zero.
  std::mutex live_mutex;
  std::condition_variable live_changed;
  size_t live_links = 0;
  void link_started();
  void link_finished();

  // Any thread. Logs the first rejections in full, then 1 in kRejectionLogEvery.
  void log_rejection(const std::string& message);
  std::atomic<uint64_t> rejections_logged{0};
  bool authorized(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) const;

  // Loop thread: hand messages to bound Receivers; those for unbound ports go back through `back`.
  void deliver(std::vector<Message>& messages, ServerLink* back);
  // Loop thread: tell each message's sender it could not be delivered.
  void notify_undeliverable(std::vector<Message>& messages, const std::vector<Errc>& reasons);
  // Any thread: posts notify_undeliverable with one reason for all.
  void post_undeliverable(std::vector<Message> messages, Errc reason);
  Receiver* receiver_at(Port port) const { return port < ports.size() ? ports[port] : nullptr; }

  // Loop thread: queue for `peer`, opening a stream if none is up.
  void send_to_peer(const std::shared_ptr<PeerLink>& peer_link, Message&& message);
  std::shared_ptr<grpc::Channel> make_channel(const std::string& endpoint) const;
};

// The sending side of one stream to a peer.
class ClientLink final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>,
                         public std::enable_shared_from_this<ClientLink> {
 public:
  ClientLink(std::shared_ptr<LinkCore> core, std::shared_ptr<PeerLink> peer);

  // Starts the call and the connect timer. Call without holding peer->mutex.
  void start();
  // Writes `batch` (the caller set writing_ under peer->mutex). Call without holding it.
  void write(std::vector<Message> batch);
  void cancel() { context_.TryCancel(); }

  // Guarded by peer->mutex.
  bool opened_ = false;
  bool writing_ = false;
  bool read_ended_ = false;   // no more writes once the read side has ended
  bool hold_removed_ = false;
  bool done_ = false;
  bool can_write_locked() const { return opened_ && !writing_ && !read_ended_ && !done_; }

  void OnReadInitialMetadataDone(bool ok) override;
  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  void cancel_if_not_open();
  void end_reading();

  std::shared_ptr<LinkCore> core_;
  std::shared_ptr<PeerLink> peer_;
  std::shared_ptr<ClientLink> self_;
  grpc::ClientContext context_;
  grpc::ByteBuffer read_buffer_;
  grpc::ByteBuffer write_buffer_;
};

// The receiving side of one stream from a peer.
class ServerLink final : public grpc::ServerGenericBidiReactor, public std::enable_shared_from_this<ServerLink> {
 public:
  ServerLink(std::shared_ptr<LinkCore> core, NodeId peer);
  void begin(grpc::GenericCallbackServerContext* context);
  // Loop thread: send these back as bounces.
  void push_bounces(std::vector<Message>&& bounces);
  // Loop thread: one posted batch was delivered; resume reading if it was paused.
  void batch_consumed();

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  void finish(const grpc::Status& status);
  void write(std::vector<Message> batch);
  void start_read();         // caller set read_starting_
  bool finish_due_locked();  // Finish is requested and no Start* is under way: call it now (sets finish_called_)

  std::shared_ptr<LinkCore> core_;
  const NodeId peer_;
  std::shared_ptr<ServerLink> self_;
  grpc::ByteBuffer read_buffer_;
  grpc::ByteBuffer write_buffer_;

  std::mutex mutex_;  // guards below
  std::vector<Message> pending_bounces_;
  bool writing_ = false;
  bool finish_requested_ = false;
  bool finish_called_ = false;
  grpc::Status finish_status_;
  size_t posted_batches_ = 0;
  bool read_paused_ = false;
  bool read_starting_ = false;  // a StartRead is being issued outside the lock
};

// Serves Link/Connect (and refuses any other generic method).
class LinkService final : public grpc::CallbackGenericService {
 public:
  explicit LinkService(LinkCore& core) : core_(core) {}
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* context) override;

 private:
  LinkCore& core_;
};

class AdminService final : public wire::Admin::CallbackService {
 public:
  explicit AdminService(LinkCore& core) : core_(core) {}
  grpc::ServerUnaryReactor* SetFilter(grpc::CallbackServerContext* context, const wire::FilterRequest* request,
                                      wire::Empty* reply) override;
  grpc::ServerUnaryReactor* SetLinkFaults(grpc::CallbackServerContext* context,
                                          const wire::LinkFaultsRequest* request, wire::Empty* reply) override;
  grpc::ServerUnaryReactor* ClearFilters(grpc::CallbackServerContext* context, const wire::Empty* request,
                                         wire::Empty* reply) override;
  grpc::ServerUnaryReactor* Stats(grpc::CallbackServerContext* context, const wire::Empty* request,
                                  wire::StatsReply* reply) override;
  grpc::ServerUnaryReactor* SetClockSkew(grpc::CallbackServerContext* context,
                                         const wire::ClockSkewRequest* request,
                                         wire::MemberFaultsReply* reply) override;
  grpc::ServerUnaryReactor* SetStorageFailing(grpc::CallbackServerContext* context,
                                              const wire::StorageFailingRequest* request,
                                              wire::MemberFaultsReply* reply) override;
  grpc::ServerUnaryReactor* MemberFaults(grpc::CallbackServerContext* context, const wire::Empty* request,
                                         wire::MemberFaultsReply* reply) override;

 private:
  bool refuse_unauthorized(grpc::CallbackServerContext* context, grpc::ServerUnaryReactor* reactor);
  void fill(wire::MemberFaultsReply* reply) const;
  LinkCore& core_;
};

}  // namespace tandem::real::detail
