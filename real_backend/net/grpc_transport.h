// GrpcTransport: core's Transport between real processes, over one gRPC stream per ordered pair of nodes.
//
// Contract (core/env/transport.h, and where the real world differs from the sim, docs/real_backend_net.md):
// - Threads: send/bind/unbind/allocate_port/set_peer/shutdown run on the loop thread (or before the loop runs,
//   on the thread that will run it). gRPC's threads read and write the streams and hand every received frame to
//   the loop with post(); bound Receivers are only ever called on the loop thread. stats() and the filter calls
//   are thread-safe.
// - Per-pair FIFO: the messages from this node to one peer travel on one stream, in send order. A broken stream
//   is replaced by a new one on the next send (a peer killed and restarted on the same port becomes reachable
//   again without restarting the sender).
// - Undeliverable notices (always posted, never inside send()):
//     kUnreachable      no set_peer() for the node; connection refused or not established within
//                       connect_timeout (the peer process is down, paused or not listening); or the peer refused
//                       our token. Only messages never written to a stream get it: a message written to a stream
//                       that later breaks may have been delivered, so it gets no notice (a deadline finds it).
//     kPeerDied         the peer is up but nothing is bound to the port: the peer bounces the frame back.
//     kInvalidArgument  the payload is larger than max_message_bytes (refused at send, logged). The sim has no
//                       size limit, so this reason exists only here.
// - Bad input from the network (unparsable batch, unknown frame type, a frame claiming a `from` node other than
//   the stream's peer or addressed to another node, an oversized payload, a missing or wrong token) is refused
//   with a logged error and counted in stats(); the stream and the process keep serving.
// - Admin filter: set_filter(peer, out, in) drops messages to/from `peer` silently (a partition: no notice, like
//   the sim's). set_link_faults(peer, faults) delays, loses or duplicates what this node sends to `peer` (the
//   sim's link_delay / link_loss / link_duplicate / link_reorder / clog, made at the sender): a delayed message
//   is held on the loop thread and is never overtaken by a later message to the same peer; a clog holds what
//   is sent until clog_ms after it was set (FoundationDB's clogPair), in order; reorder jitter holds each
//   message a further random time on its own, so later messages may overtake it (the only fault that breaks
//   per-pair order, as in the sim); loss, duplication and jitter are drawn from Randoms seeded by faults.seed
//   and both node ids. The Admin gRPC service on the same port does both from
//   another process; clear_filters() clears both.
// - Member faults (Admin only): SetClockSkew sets the loop's clock skew (EventLoop::set_clock_skew: what core
//   code's clock reads), SetStorageFailing flips options.storage_fault (FailingStorage fails every sync while
//   it is on). Both answer with the member's clock and storage fault state; clear_filters() touches neither.
// - Security: listen_host defaults to loopback. auth_token set → every Link stream and Admin call must carry
//   `authorization: Bearer TOKEN`. tls set → the server and every outgoing channel use TLS with these files
//   (mutual: each side presents cert/key and checks the other against ca).
//
// Lifecycle:
//
//   constructed ──start()──> SERVING ──shutdown() or ~GrpcTransport──> SHUT DOWN
//        │                                      streams cancelled, server stopped, every gRPC callback
//        │                                      finished; later sends are dropped, Receivers never called
//        └── start() failed (port taken, bad TLS file): the error says which; shutdown() is still safe
//
// The EventLoop must outlive the transport.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/common/result.h"
#include "core/env/log.h"
#include "core/env/transport.h"
#include "real_backend/net/event_loop.h"
#include "real_backend/storage/failing_storage.h"

namespace tandem::real {

// PEM files for TLS: this node's certificate and key, and the CA that signed the peers' certificates.
struct TlsFiles {
  std::string cert_path;
  std::string key_path;
  std::string ca_path;
};

struct TransportOptions {
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 0;               // 0: pick a free port (see port())
  size_t max_message_bytes = 64 << 20;    // largest payload sent or accepted
  std::string auth_token;                 // empty: no token required or sent
  std::optional<TlsFiles> tls;            // unset: plaintext
  Duration connect_timeout = std::chrono::seconds(2);  // a stream not established by then: kUnreachable
  size_t max_queued_bytes_per_peer = 256 << 20;       // beyond this, sends to a slow peer are dropped (a loss)
  Log* log = nullptr;  // thread-safe Log for transport errors (StderrLog is); nullptr: a StderrLog at kWarning
  // The member's storage_failure switch, flipped by the Admin service's SetStorageFailing (unset: the process
  // has no state store to fault, and that call is refused). Clock skew needs nothing here: it is the loop's.
  std::shared_ptr<StorageFaultSwitch> storage_fault;
};

// Link faults on what this node sends to one peer. All zero: none.
struct LinkFaults {
  uint32_t delay_ms = 0;             // hold each message this long before it is sent (order per pair kept)
  double loss_probability = 0;       // drop each message with this probability, in [0, 1]
  double duplicate_probability = 0;  // send each message twice with this probability, in [0, 1]
  uint64_t seed = 0;                 // seeds the draws, mixed with both node ids: a rerun draws the same
  uint32_t reorder_jitter_us = 0;    // each message held a further uniform [0, jitter]: it may overtake others
  uint32_t clog_ms = 0;              // everything sent in the next clog_ms is held until then (order kept)
  bool any() const {
    return delay_ms > 0 || loss_probability > 0 || duplicate_probability > 0 || reorder_jitter_us > 0 ||
           clog_ms > 0;
  }
};

inline constexpr uint32_t kMaxLinkDelayMs = 60'000;  // a longer delay is a partition: use the filter

struct TransportStats {
  uint64_t sent = 0;                      // send() calls
  uint64_t delivered = 0;                 // messages handed to a bound Receiver here
  uint64_t bounced = 0;                   // undeliverable notices given to Receivers here
  uint64_t bounces_sent = 0;              // frames sent back because nothing was bound to their port
  uint64_t rejected_malformed = 0;        // unparsable batches, unknown frame types, misaddressed frames
  uint64_t rejected_unknown_peer = 0;     // frames whose `from` node is not the stream's peer
  uint64_t rejected_unauthenticated = 0;  // streams and admin calls without the right token
  uint64_t rejected_oversized = 0;        // payloads over max_message_bytes, received or sent
  uint64_t dropped_by_filter = 0;         // messages dropped by the admin filter (either direction)
  uint64_t dropped_queue_full = 0;        // sends dropped because a peer's queue was full
  uint64_t reconnects = 0;                // streams established to a peer after its first one
  uint64_t delayed_by_link_fault = 0;     // messages held back by a link delay
  uint64_t lost_by_link_fault = 0;        // messages dropped by a link loss draw
  uint64_t duplicated_by_link_fault = 0;  // extra copies sent by a link duplicate draw
};

namespace detail {
struct LinkCore;
}

class GrpcTransport final : public Transport {
 public:
  GrpcTransport(EventLoop& loop, NodeId self, TransportOptions options);
  ~GrpcTransport() override;
  GrpcTransport(const GrpcTransport&) = delete;
  GrpcTransport& operator=(const GrpcTransport&) = delete;

  // Binds the server on listen_host:listen_port. Fails (kUnavailable) if the port is taken, kInvalidArgument
  // for an unreadable TLS file; the message says which and how to fix it.
  Status start();
  // The bound port (after a successful start()).
  uint16_t port() const;
  // Where `node` listens: "127.0.0.1:PORT". Replacing an endpoint drops the old stream.
  void set_peer(NodeId node, std::string endpoint);
  // Cancels every stream, stops the server and waits for gRPC's callbacks to finish. Idempotent.
  void shutdown();

  // Admin filter (thread-safe): drop what goes to / comes from `peer`.
  void set_filter(NodeId peer, bool drop_outgoing, bool drop_incoming);
  // Replaces the link faults on what goes to `peer` (all zero: removes them; messages already held are still
  // sent at their time). kInvalidArgument for a probability outside [0, 1] or delay_ms over kMaxLinkDelayMs.
  Status set_link_faults(NodeId peer, const LinkFaults& faults);
  // Removes every filter and every link fault.
  void clear_filters();

  TransportStats stats() const;

  // Transport
  NodeId node() const override;
  void bind(Port port, Receiver* receiver) override;
  void unbind(Port port) override;
  Port allocate_port() override;
  void send(Message&& message) override;

 private:
  std::shared_ptr<detail::LinkCore> core_;
};

}  // namespace tandem::real
