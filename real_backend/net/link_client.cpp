// ClientLink: the sending side of a Link stream (see link_core.h for its lifecycle).
#include <string>
#include <utility>

#include "real_backend/net/link_core.h"

namespace tandem::real::detail {

ClientLink::ClientLink(std::shared_ptr<LinkCore> core, std::shared_ptr<PeerLink> peer)
    : core_(std::move(core)), peer_(std::move(peer)) {}

void ClientLink::start() {
  self_ = shared_from_this();
  core_->link_started();
  context_.AddMetadata(kNodeHeader, std::to_string(core_->self));
  if (!core_->options.auth_token.empty()) context_.AddMetadata(kAuthHeader, "Bearer " + core_->options.auth_token);
  peer_->stub->PrepareBidiStreamingCall(&context_, kConnectMethod, grpc::StubOptions(), this);
  AddHold();  // writes come from outside reactions; released when the read side ends
  StartRead(&read_buffer_);
  StartCall();
  // The connect timeout runs on the loop's timers; a weak reference, so it keeps nothing alive.
  std::weak_ptr<ClientLink> weak = self_;
  EventLoop& loop = core_->loop;
  const Duration timeout = core_->options.connect_timeout;
  loop.post([&loop, weak, timeout] {
    loop.run_at(loop.now() + timeout, [weak] {
      if (std::shared_ptr<ClientLink> link = weak.lock()) link->cancel_if_not_open();
    });
  });
}

void ClientLink::cancel_if_not_open() {
  {
    std::lock_guard<std::mutex> lock(peer_->mutex);
    if (opened_ || done_) return;
  }
  context_.TryCancel();  // OnDone bounces what is pending: the peer did not answer within connect_timeout
}

void ClientLink::write(std::vector<Message> batch) {
  encode_batch(batch, kFrameMessage, &write_buffer_);
  StartWrite(&write_buffer_);
}

void ClientLink::OnReadInitialMetadataDone(bool ok) {
  if (!ok) return;  // the call failed; OnDone follows
  const auto& metadata = context_.GetServerInitialMetadata();
  auto it = metadata.find(kLinkHeader);
  if (it == metadata.end() || it->second != "1") {
    // Something answered that is not a tandem link server (or it refused us with a trailers-only response).
    return;
  }
  std::vector<Message> batch;
  bool reconnected = false;
  {
    std::lock_guard<std::mutex> lock(peer_->mutex);
    opened_ = true;
    reconnected = peer_->ever_opened;
    peer_->ever_opened = true;
    peer_->reported_down = false;
    if (peer_->stream.get() == this && !peer_->pending.empty() && can_write_locked()) {
      batch = peer_->take_batch_locked(std::min(kBatchTargetBytes, core_->options.max_message_bytes));
      writing_ = true;
    }
  }
  if (reconnected) core_->stats.reconnects.fetch_add(1, std::memory_order_relaxed);
  if (core_->log.enabled(LogLevel::kDebug)) {
    core_->log.write(LogLevel::kDebug, "transport",
                     "stream to node " + std::to_string(peer_->node) + " at " + peer_->endpoint + " is open" +
                         (reconnected ? " (reconnected)" : "") + (batch.empty() ? "" : ", writing"));
  }
  if (!batch.empty()) write(std::move(batch));
}

void ClientLink::OnWriteDone(bool ok) {
  std::vector<Message> batch;
  bool release_hold = false;
  {
    std::lock_guard<std::mutex> lock(peer_->mutex);
    writing_ = false;
    if (read_ended_ && !hold_removed_) {
      hold_removed_ = true;
      release_hold = true;
    } else if (ok && peer_->stream.get() == this && !peer_->pending.empty() && can_write_locked()) {
      batch = peer_->take_batch_locked(std::min(kBatchTargetBytes, core_->options.max_message_bytes));
      writing_ = true;
    }
  }
  // A failed write may still have reached the peer, so it gets no notice; the stream's end is handled in OnDone.
  if (release_hold) RemoveHold();
  if (!batch.empty()) write(std::move(batch));
}

void ClientLink::OnReadDone(bool ok) {
  if (!ok) {
    end_reading();
    return;
  }
  DecodedBatch decoded =
      decode_batch(read_buffer_, kFrameBounce, core_->self, peer_->node, core_->options.max_message_bytes);
  AtomicStats& stats = core_->stats;
  stats.rejected_malformed.fetch_add(decoded.malformed, std::memory_order_relaxed);
  stats.rejected_unknown_peer.fetch_add(decoded.unknown_peer, std::memory_order_relaxed);
  stats.rejected_oversized.fetch_add(decoded.oversized, std::memory_order_relaxed);
  if (!decoded.first_problem.empty()) {
    core_->log_rejection(decoded.first_problem + " from node " + std::to_string(peer_->node) + " (" +
                         peer_->endpoint + ")");
  }
  if (!decoded.messages.empty() && core_->drops_incoming(peer_->node)) {
    stats.dropped_by_filter.fetch_add(decoded.messages.size(), std::memory_order_relaxed);
    decoded.messages.clear();
  }
  if (!decoded.messages.empty()) {
    core_->loop.post([core = core_, messages = std::move(decoded.messages),
                      reasons = std::move(decoded.reasons)]() mutable { core->notify_undeliverable(messages, reasons); });
  }
  StartRead(&read_buffer_);
}

void ClientLink::end_reading() {
  bool release_hold = false;
  {
    std::lock_guard<std::mutex> lock(peer_->mutex);
    read_ended_ = true;
    if (!writing_ && !hold_removed_) {
      hold_removed_ = true;
      release_hold = true;
    }
  }
  if (release_hold) RemoveHold();
}

void ClientLink::OnDone(const grpc::Status& status) {
  std::vector<Message> never_written;
  std::shared_ptr<ClientLink> next;
  bool was_open = false;
  bool report = false;
  {
    std::lock_guard<std::mutex> lock(peer_->mutex);
    done_ = true;
    was_open = opened_;
    if (peer_->stream.get() == this) {
      peer_->stream.reset();
      if (!was_open) {
        // Nothing was written on this stream: everything pending provably never reached the peer.
        never_written.assign(std::make_move_iterator(peer_->pending.begin()),
                             std::make_move_iterator(peer_->pending.end()));
        peer_->pending.clear();
        peer_->pending_bytes = 0;
        report = !peer_->reported_down;
        peer_->reported_down = true;
      } else if (!peer_->pending.empty() && !peer_->retired && !core_->closed.load()) {
        next = std::make_shared<ClientLink>(core_, peer_);  // carry the unsent messages to a fresh stream
        peer_->stream = next;
      }
    }
  }
  const bool shutting_down = core_->closed.load() || peer_->retired;
  if (!shutting_down) {
    if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
      core_->log.write(LogLevel::kError, "transport",
                       "node " + std::to_string(peer_->node) + " at " + peer_->endpoint +
                           " refused our token: " + status.error_message() +
                           " (fix: give every member the same auth token)");
    } else if (report && core_->log.enabled(LogLevel::kWarning)) {
      core_->log.write(LogLevel::kWarning, "transport",
                       "node " + std::to_string(peer_->node) + " at " + peer_->endpoint + " is unreachable (" +
                           status.error_message() + "); messages to it bounce until it answers again");
    } else if (was_open && core_->log.enabled(LogLevel::kInfo)) {
      core_->log.write(LogLevel::kInfo, "transport",
                       "stream to node " + std::to_string(peer_->node) + " ended: " + status.error_message());
    }
  }
  core_->post_undeliverable(std::move(never_written), Errc::kUnreachable);
  if (next) next->start();
  // Last: drop our own reference, then tell shutdown() (which may be waiting) that this stream is gone.
  std::shared_ptr<LinkCore> core = core_;
  std::shared_ptr<ClientLink> self = std::move(self_);
  self.reset();
  core->link_finished();
}

}  // namespace tandem::real::detail
