#include <grpcpp/support/proto_buffer_reader.h>
#include <grpcpp/support/proto_buffer_writer.h>

#include <string>
#include <utility>

#include "real_backend/net/link_core.h"

namespace tandem::real::detail {

// --- Frame codec --------------------------------------------------------------------------------------------

DecodedBatch decode_batch(grpc::ByteBuffer& buffer, uint32_t type, NodeId expected_from, NodeId expected_to,
                          size_t max_payload_bytes) {
  DecodedBatch out;
  wire::Batch batch;
  const grpc::Status parsed = grpc::SerializationTraits<wire::Batch>::Deserialize(&buffer, &batch);
  if (!parsed.ok()) {
    ++out.malformed;
    out.first_problem = "a batch that is not a valid Batch protobuf (truncated or corrupt)" +
                        (parsed.error_message().empty() ? std::string() : ": " + parsed.error_message());
    return out;
  }
  out.messages.reserve(static_cast<size_t>(batch.frames_size()));
  auto refuse = [&out](uint64_t& counter, std::string why) {
    ++counter;
    if (out.first_problem.empty()) out.first_problem = std::move(why);
  };
  for (wire::Frame& frame : *batch.mutable_frames()) {
    if (frame.type() != type) {
      refuse(out.malformed, "a frame of unknown type " + std::to_string(frame.type()) + " (this side of a link takes " +
                                "only type " + std::to_string(type) + ")");
      continue;
    }
    if (frame.from_node() != expected_from) {
      refuse(out.unknown_peer, "a frame claiming to come from node " + std::to_string(frame.from_node()) +
                                   " (expected node " + std::to_string(expected_from) + ")");
      continue;
    }
    if (frame.to_node() != expected_to) {
      refuse(out.malformed, "a frame addressed to node " + std::to_string(frame.to_node()) + " (expected node " +
                                std::to_string(expected_to) + ")");
      continue;
    }
    if (frame.payload().size() > max_payload_bytes) {
      refuse(out.oversized, "a " + std::to_string(frame.payload().size()) + "-byte payload, over the " +
                                std::to_string(max_payload_bytes) + "-byte limit (max_message_bytes)");
      continue;
    }
    Errc reason = Errc::kOk;
    if (type == kFrameBounce) {
      reason = static_cast<Errc>(frame.reason());
      if (frame.reason() > UINT8_MAX || (reason != Errc::kPeerDied && reason != Errc::kUnreachable)) {
        refuse(out.malformed, "a bounce with reason " + std::to_string(frame.reason()) +
                                  " (only kUnreachable = 2 and kPeerDied = 3 are bounce reasons)");
        continue;
      }
    }
    out.messages.push_back(Message{Address{frame.from_node(), frame.from_port()},
                                   Address{frame.to_node(), frame.to_port()}, frame.kind(), frame.correlation(),
                                   std::move(*frame.mutable_payload())});
    if (type == kFrameBounce) out.reasons.push_back(reason);
  }
  return out;
}

void encode_batch(std::vector<Message>& messages, uint32_t type, grpc::ByteBuffer* out) {
  wire::Batch batch;
  batch.mutable_frames()->Reserve(static_cast<int>(messages.size()));
  for (Message& message : messages) {
    wire::Frame* frame = batch.add_frames();
    frame->set_type(type);
    frame->set_from_node(message.from.node);
    frame->set_from_port(message.from.port);
    frame->set_to_node(message.to.node);
    frame->set_to_port(message.to.port);
    frame->set_kind(message.kind);
    frame->set_correlation(message.correlation);
    frame->set_payload(std::move(message.payload));
    if (type == kFrameBounce) frame->set_reason(static_cast<uint32_t>(Errc::kPeerDied));
  }
  out->Clear();  // the serializer needs an empty buffer; the last write's bytes may still be in it
  bool own_buffer = false;
  const grpc::Status serialized = grpc::SerializationTraits<wire::Batch>::Serialize(batch, out, &own_buffer);
  TANDEM_CHECK(serialized.ok(), "serializing a Batch failed (out of memory?)");
}

// --- PeerLink -----------------------------------------------------------------------------------------------

std::vector<Message> PeerLink::take_batch_locked(size_t target_bytes) {
  std::vector<Message> batch;
  size_t bytes = 0;
  while (!pending.empty() && batch.size() < kMaxFramesPerBatch) {
    const size_t size = pending.front().payload.size() + kFrameOverheadBytes;
    if (!batch.empty() && bytes + size > target_bytes) break;
    bytes += size;
    pending_bytes -= pending.front().payload.size();
    batch.push_back(std::move(pending.front()));
    pending.pop_front();
  }
  return batch;
}

// --- LinkCore -----------------------------------------------------------------------------------------------

LinkCore::LinkCore(EventLoop& event_loop, NodeId self_node, TransportOptions transport_options)
    : loop(event_loop),
      self(self_node),
      options(std::move(transport_options)),
      own_log(options.log == nullptr
                  ? std::make_unique<StderrLog>(LogLevel::kWarning, "node-" + std::to_string(self_node),
                                                event_loop.clock())
                  : nullptr),
      log(options.log != nullptr ? *options.log : *own_log) {}

LinkCore::~LinkCore() = default;

bool LinkCore::drops_outgoing(NodeId peer) const {
  if (!any_filter.load(std::memory_order_relaxed)) return false;
  std::lock_guard<std::mutex> lock(filter_mutex);
  auto it = filters.find(peer);
  return it != filters.end() && it->second.drop_outgoing;
}

bool LinkCore::drops_incoming(NodeId peer) const {
  if (!any_filter.load(std::memory_order_relaxed)) return false;
  std::lock_guard<std::mutex> lock(filter_mutex);
  auto it = filters.find(peer);
  return it != filters.end() && it->second.drop_incoming;
}

void LinkCore::set_filter(NodeId peer, bool drop_outgoing, bool drop_incoming) {
  std::lock_guard<std::mutex> lock(filter_mutex);
  PeerFilter& filter = filters[peer];
  filter.drop_outgoing = drop_outgoing;
  filter.drop_incoming = drop_incoming;
  if (filter.empty()) filters.erase(peer);
  any_filter.store(!filters.empty());
  if (log.enabled(LogLevel::kInfo)) {
    log.write(LogLevel::kInfo, "transport",
              "filter for node " + std::to_string(peer) + ": drop outgoing " + (drop_outgoing ? "on" : "off") +
                  ", drop incoming " + (drop_incoming ? "on" : "off"));
  }
}

Status LinkCore::set_link_faults(NodeId peer, const LinkFaults& faults) {
  auto probability = [](double p) { return p >= 0 && p <= 1; };  // also false for NaN
  if (!probability(faults.loss_probability) || !probability(faults.duplicate_probability)) {
    return make_error(Errc::kInvalidArgument, "a link fault probability must be in [0, 1] (loss " +
                                                  std::to_string(faults.loss_probability) + ", duplicate " +
                                                  std::to_string(faults.duplicate_probability) + ")");
  }
  if (faults.delay_ms > kMaxLinkDelayMs || faults.clog_ms > kMaxLinkDelayMs ||
      faults.reorder_jitter_us / 1000 > kMaxLinkDelayMs) {
    return make_error(Errc::kInvalidArgument, "a link delay of " + std::to_string(faults.delay_ms) +
                                                  " ms is over the 60,000 ms limit (fix: use a partition instead)");
  }
  std::lock_guard<std::mutex> lock(filter_mutex);
  PeerFilter& filter = filters[peer];
  filter.link = faults;
  // Seeded per ordered pair, so two nodes given one seed still draw independently.
  filter.draws.emplace(Random(faults.seed).fork("link-faults", (static_cast<uint64_t>(self) << 32) | peer));
  filter.jitter_draws.emplace(Random(faults.seed).fork("link-reorder", (static_cast<uint64_t>(self) << 32) | peer));
  filter.clog_until = loop.now() + std::chrono::milliseconds(faults.clog_ms);
  if (filter.empty()) filters.erase(peer);
  any_filter.store(!filters.empty());
  if (log.enabled(LogLevel::kInfo)) {
    log.write(LogLevel::kInfo, "transport",
              "link faults to node " + std::to_string(peer) + ": delay " + std::to_string(faults.delay_ms) +
                  " ms, loss " + std::to_string(faults.loss_probability) + ", duplicate " +
                  std::to_string(faults.duplicate_probability) + ", reorder jitter " +
                  std::to_string(faults.reorder_jitter_us) + " us, clog " + std::to_string(faults.clog_ms) + " ms");
  }
  return {};
}

void LinkCore::clear_filters() {
  std::lock_guard<std::mutex> lock(filter_mutex);
  filters.clear();
  any_filter.store(false);
  if (log.enabled(LogLevel::kInfo)) log.write(LogLevel::kInfo, "transport", "filters cleared");
}

LinkCore::LinkDecision LinkCore::decide_link(NodeId peer) {
  LinkDecision decision;
  if (!any_filter.load(std::memory_order_relaxed)) return decision;
  std::lock_guard<std::mutex> lock(filter_mutex);
  auto it = filters.find(peer);
  if (it == filters.end() || !it->second.link.any()) return decision;
  PeerFilter& filter = it->second;
  // Draw both every time, so one fault's draws do not shift when the other probability changes from 0.
  const bool lost = filter.draws->chance(filter.link.loss_probability);
  const bool duplicated = filter.draws->chance(filter.link.duplicate_probability);
  decision.lost = lost;
  decision.duplicated = duplicated && !lost;
  decision.delay = std::chrono::milliseconds(filter.link.delay_ms);
  const TimePoint now = loop.now();
  if (filter.clog_until > now) decision.delay = std::max<Duration>(decision.delay, filter.clog_until - now);
  if (filter.link.reorder_jitter_us > 0) {
    decision.jitter = std::chrono::microseconds(1 + filter.jitter_draws->below(filter.link.reorder_jitter_us));
  }
  return decision;
}

void LinkCore::send_after_delay(Message&& message, Duration delay) {
  auto it = held.find(message.to.node);
  if (delay <= Duration::zero() && it == held.end()) {
    send_now(std::move(message));
    return;
  }
  HeldQueue& queue = held[message.to.node];
  if (queue.bytes + message.payload.size() > options.max_queued_bytes_per_peer) {
    stats.dropped_queue_full.fetch_add(1, std::memory_order_relaxed);
    return;  // a loss, as for a full send queue
  }
  if (delay > Duration::zero()) stats.delayed_by_link_fault.fetch_add(1, std::memory_order_relaxed);
  // Never before what is already held: a later message to the same peer must not overtake an earlier one.
  const TimePoint release = std::max(loop.now() + delay, queue.last_release);
  queue.last_release = release;
  queue.bytes += message.payload.size();
  const NodeId peer = message.to.node;
  queue.messages.push_back(HeldMessage{release, std::move(message)});
  if (queue.messages.size() == 1) {
    loop.run_at(release, [core = shared_from_this(), peer] { core->release_held(peer); });
  }
}

void LinkCore::send_reordered(Message&& message, Duration delay) {
  const NodeId peer = message.to.node;
  size_t& bytes = reordered_bytes[peer];
  if (bytes + message.payload.size() > options.max_queued_bytes_per_peer) {
    stats.dropped_queue_full.fetch_add(1, std::memory_order_relaxed);
    return;  // a loss, as for a full send queue
  }
  stats.delayed_by_link_fault.fetch_add(1, std::memory_order_relaxed);
  bytes += message.payload.size();
  auto held_message = std::make_shared<Message>(std::move(message));
  loop.run_at(loop.now() + delay, [core = shared_from_this(), held_message] {
    if (core->closed.load()) return;
    auto it = core->reordered_bytes.find(held_message->to.node);
    if (it != core->reordered_bytes.end()) {
      it->second -= held_message->payload.size();
      if (it->second == 0) core->reordered_bytes.erase(it);
    }
    core->send_now(std::move(*held_message));
  });
}

void LinkCore::release_held(NodeId peer) {
  if (closed.load()) return;
  auto it = held.find(peer);
  if (it == held.end()) return;
  HeldQueue& queue = it->second;
  const TimePoint now = loop.now();
  while (!queue.messages.empty() && queue.messages.front().release <= now) {
    Message message = std::move(queue.messages.front().message);
    queue.messages.pop_front();
    queue.bytes -= message.payload.size();
    send_now(std::move(message));
  }
  if (queue.messages.empty()) {
    held.erase(it);  // later messages take the direct path again (unless delayed)
    return;
  }
  loop.run_at(queue.messages.front().release, [core = shared_from_this(), peer] { core->release_held(peer); });
}

void LinkCore::send_now(Message&& message) {
  auto it = peers.find(message.to.node);
  if (it == peers.end()) {
    std::vector<Message> unknown;
    unknown.push_back(std::move(message));
    post_undeliverable(std::move(unknown), Errc::kUnreachable);
    return;
  }
  send_to_peer(it->second, std::move(message));
}

void LinkCore::link_started() {
  std::lock_guard<std::mutex> lock(live_mutex);
  ++live_links;
}

void LinkCore::link_finished() {
  std::lock_guard<std::mutex> lock(live_mutex);
  --live_links;
  live_changed.notify_all();
}

void LinkCore::log_rejection(const std::string& message) {
  const uint64_t count = rejections_logged.fetch_add(1);
  if (count < kRejectionsLoggedInFull) {
    log.write(LogLevel::kError, "transport", "refused " + message);
  } else if (count % kRejectionLogEvery == 0) {
    log.write(LogLevel::kError, "transport",
              "refused " + message + " (" + std::to_string(count) + " refusals so far; logging 1 in " +
                  std::to_string(kRejectionLogEvery) + ")");
  }
}

bool LinkCore::authorized(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) const {
  if (options.auth_token.empty()) return true;
  auto it = metadata.find(kAuthHeader);
  if (it == metadata.end()) return false;
  const std::string expected = "Bearer " + options.auth_token;
  const grpc::string_ref& got = it->second;
  if (got.size() != expected.size()) return false;
  unsigned char difference = 0;  // constant time in the token's length: no timing hint
  for (size_t i = 0; i < expected.size(); ++i) {
    difference |= static_cast<unsigned char>(got.data()[i] ^ expected[i]);
  }
  return difference == 0;
}

void LinkCore::deliver(std::vector<Message>& messages, ServerLink* back) {
  std::vector<Message> bounces;
  for (Message& message : messages) {
    if (closed.load()) return;
    Receiver* receiver = receiver_at(message.to.port);
    if (receiver != nullptr) {
      stats.delivered.fetch_add(1, std::memory_order_relaxed);
      receiver->on_message(std::move(message));
    } else {
      stats.bounces_sent.fetch_add(1, std::memory_order_relaxed);
      bounces.push_back(std::move(message));
    }
  }
  if (!bounces.empty() && back != nullptr) back->push_bounces(std::move(bounces));
}

void LinkCore::notify_undeliverable(std::vector<Message>& messages, const std::vector<Errc>& reasons) {
  for (size_t i = 0; i < messages.size(); ++i) {
    if (closed.load()) return;
    Receiver* receiver = receiver_at(messages[i].from.port);
    if (receiver == nullptr) continue;  // the sender is gone: nobody to tell, as in the sim
    stats.bounced.fetch_add(1, std::memory_order_relaxed);
    receiver->on_undeliverable(std::move(messages[i]), reasons[i]);
  }
}

void LinkCore::post_undeliverable(std::vector<Message> messages, Errc reason) {
  if (messages.empty()) return;
  loop.post([core = shared_from_this(), messages = std::move(messages), reason]() mutable {
    core->notify_undeliverable(messages, std::vector<Errc>(messages.size(), reason));
  });
}

std::shared_ptr<grpc::Channel> LinkCore::make_channel(const std::string& endpoint) const {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a channel per peer, never shared with another transport
  // Reconnect quickly after a peer restarts (gRPC's default backoff grows to 2 minutes).
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  // Find a peer whose host vanished without closing the connection.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  const int limit = static_cast<int>(std::min<size_t>(options.max_message_bytes + kEnvelopeSlackBytes, INT32_MAX));
  args.SetMaxReceiveMessageSize(limit);
  args.SetMaxSendMessageSize(limit);
  std::shared_ptr<grpc::ChannelCredentials> credentials =
      channel_credentials != nullptr ? channel_credentials : grpc::InsecureChannelCredentials();
  return grpc::CreateCustomChannel(endpoint, credentials, args);
}

void LinkCore::send_to_peer(const std::shared_ptr<PeerLink>& peer_link, Message&& message) {
  PeerLink& peer = *peer_link;
  std::shared_ptr<ClientLink> to_start;
  std::shared_ptr<ClientLink> to_write;
  std::vector<Message> batch;
  {
    std::lock_guard<std::mutex> lock(peer.mutex);
    if (peer.pending_bytes + message.payload.size() > options.max_queued_bytes_per_peer) {
      stats.dropped_queue_full.fetch_add(1, std::memory_order_relaxed);
      return;  // a loss, as the contract allows: the caller's deadline finds it
    }
    peer.pending_bytes += message.payload.size();
    peer.pending.push_back(std::move(message));
    if (peer.stream == nullptr) {
      if (peer.channel == nullptr) {
        peer.channel = make_channel(peer.endpoint);
        peer.stub = std::make_unique<grpc::GenericStub>(peer.channel);
      }
      peer.stream = std::make_shared<ClientLink>(shared_from_this(), peer_link);
      to_start = peer.stream;
    } else if (peer.stream->can_write_locked()) {
      batch = peer.take_batch_locked(std::min(kBatchTargetBytes, options.max_message_bytes));
      peer.stream->writing_ = true;
      to_write = peer.stream;
    }
  }
  if (to_start) to_start->start();
  if (to_write) to_write->write(std::move(batch));
}

}  // namespace tandem::real::detail
