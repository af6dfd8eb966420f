// The server side of the transport: Link streams from peers (ServerLink) and the Admin service.
#include <charconv>
#include <string>
#include <utility>

#include "real_backend/net/link_core.h"

namespace tandem::real::detail {
namespace {

// A stream refused before it began: finishes at once with `status`.
class RefusedLink final : public grpc::ServerGenericBidiReactor {
 public:
  explicit RefusedLink(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

std::string metadata_value(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata, const char* key) {
  auto it = metadata.find(key);
  return it == metadata.end() ? std::string() : std::string(it->second.data(), it->second.size());
}

}  // namespace

// --- LinkService ---------------------------------------------------------------------------------------------

grpc::ServerGenericBidiReactor* LinkService::CreateReactor(grpc::GenericCallbackServerContext* context) {
  if (core_.closed.load()) return new RefusedLink(grpc::Status(grpc::StatusCode::UNAVAILABLE, "shutting down"));
  if (context->method() != kConnectMethod) {
    return new RefusedLink(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                                        "no method " + context->method() + " here; a tandem node serves " +
                                            kConnectMethod + " and the Admin service"));
  }
  const auto& metadata = context->client_metadata();
  if (!core_.authorized(metadata)) {
    core_.stats.rejected_unauthenticated.fetch_add(1, std::memory_order_relaxed);
    core_.log_rejection("a link stream from " + context->peer() + " without the right token");
    return new RefusedLink(grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                        "missing or wrong token: send `authorization: Bearer <the cluster's token>`"));
  }
  const std::string node_text = metadata_value(metadata, kNodeHeader);
  NodeId peer = kNoNode;
  const auto parsed = std::from_chars(node_text.data(), node_text.data() + node_text.size(), peer);
  if (node_text.empty() || parsed.ec != std::errc() || parsed.ptr != node_text.data() + node_text.size() ||
      peer == kNoNode) {
    core_.stats.rejected_malformed.fetch_add(1, std::memory_order_relaxed);
    core_.log_rejection("a link stream from " + context->peer() + " with tandem-node '" + node_text +
                        "' (expected the sender's node id)");
    return new RefusedLink(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                        "the `tandem-node` metadata must be the sending node's id"));
  }
  auto link = std::make_shared<ServerLink>(core_.shared_from_this(), peer);
  link->begin(context);
  return link.get();
}

// --- ServerLink ----------------------------------------------------------------------------------------------

ServerLink::ServerLink(std::shared_ptr<LinkCore> core, NodeId peer) : core_(std::move(core)), peer_(peer) {}

void ServerLink::begin(grpc::GenericCallbackServerContext* context) {
  self_ = shared_from_this();
  core_->link_started();
  // The handshake: the client writes nothing before it sees this, so a stream that never got it carried nothing.
  context->AddInitialMetadata(kLinkHeader, "1");
  StartSendInitialMetadata();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    read_starting_ = true;
  }
  start_read();
}

void ServerLink::OnReadDone(bool ok) {
  if (!ok) {
    finish(grpc::Status::OK);  // the peer closed the stream or went away
    return;
  }
  DecodedBatch decoded =
      decode_batch(read_buffer_, kFrameMessage, peer_, core_->self, core_->options.max_message_bytes);
  AtomicStats& stats = core_->stats;
  stats.rejected_malformed.fetch_add(decoded.malformed, std::memory_order_relaxed);
  stats.rejected_unknown_peer.fetch_add(decoded.unknown_peer, std::memory_order_relaxed);
  stats.rejected_oversized.fetch_add(decoded.oversized, std::memory_order_relaxed);
  if (!decoded.first_problem.empty()) {
    core_->log_rejection(decoded.first_problem + " on the link stream from node " + std::to_string(peer_));
  }
  if (!decoded.messages.empty() && core_->drops_incoming(peer_)) {
    stats.dropped_by_filter.fetch_add(decoded.messages.size(), std::memory_order_relaxed);
    decoded.messages.clear();
  }
  bool read_more = true;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!decoded.messages.empty()) ++posted_batches_;
    if (finish_requested_) {
      read_more = false;  // cancelled meanwhile: no more reads after Finish
    } else if (posted_batches_ >= kMaxPostedBatchesPerStream) {
      read_paused_ = true;  // batch_consumed() resumes
      read_more = false;
    } else {
      read_starting_ = true;
    }
  }
  if (!decoded.messages.empty()) {
    core_->loop.post([core = core_, link = shared_from_this(), messages = std::move(decoded.messages)]() mutable {
      core->deliver(messages, link.get());
      link->batch_consumed();
    });
  }
  if (read_more) start_read();
}

void ServerLink::batch_consumed() {
  bool resume = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    --posted_batches_;
    if (read_paused_ && !finish_requested_) {
      read_paused_ = false;
      read_starting_ = true;
      resume = true;
    }
  }
  if (resume) start_read();
}

void ServerLink::start_read() {
  // read_starting_ is set: finish() waits for this StartRead to be issued, so no Start* follows Finish.
  StartRead(&read_buffer_);
  bool finish_now = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    read_starting_ = false;
    finish_now = finish_due_locked();
  }
  if (finish_now) Finish(finish_status_);
}

bool ServerLink::finish_due_locked() {
  if (!finish_requested_ || finish_called_ || writing_ || read_starting_) return false;
  finish_called_ = true;
  return true;
}

void ServerLink::push_bounces(std::vector<Message>&& bounces) {
  std::vector<Message> batch;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (finish_requested_) return;  // no way back to the sender: the bounce is lost, as in the sim
    for (Message& bounce : bounces) pending_bounces_.push_back(std::move(bounce));
    if (writing_) return;
    batch.swap(pending_bounces_);
    writing_ = true;
  }
  write(std::move(batch));
}

void ServerLink::write(std::vector<Message> batch) {
  encode_batch(batch, kFrameBounce, &write_buffer_);
  StartWrite(&write_buffer_);
}

void ServerLink::OnWriteDone(bool ok) {
  std::vector<Message> batch;
  bool finish_now = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    writing_ = false;
    if (finish_requested_) {
      finish_now = finish_due_locked();
    } else if (ok && !pending_bounces_.empty()) {
      batch.swap(pending_bounces_);
      writing_ = true;
    }
  }
  if (finish_now) Finish(finish_status_);
  if (!batch.empty()) write(std::move(batch));
}

void ServerLink::finish(const grpc::Status& status) {
  bool finish_now = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (finish_requested_) return;
    finish_requested_ = true;
    finish_status_ = status;
    finish_now = finish_due_locked();  // else the write or read being started finishes
  }
  if (finish_now) Finish(status);
}

void ServerLink::OnCancel() { finish(grpc::Status::CANCELLED); }

void ServerLink::OnDone() {
  std::shared_ptr<LinkCore> core = core_;
  std::shared_ptr<ServerLink> self = std::move(self_);
  self.reset();  // posted deliveries may still hold the link; they find it finished and send nothing back
  core->link_finished();
}

// --- AdminService -------------------------------------------------------------------------------------------

bool AdminService::refuse_unauthorized(grpc::CallbackServerContext* context, grpc::ServerUnaryReactor* reactor) {
  if (core_.authorized(context->client_metadata())) return false;
  core_.stats.rejected_unauthenticated.fetch_add(1, std::memory_order_relaxed);
  core_.log_rejection("an admin call from " + context->peer() + " without the right token");
  reactor->Finish(grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                               "missing or wrong token: send `authorization: Bearer <the cluster's token>`"));
  return true;
}

grpc::ServerUnaryReactor* AdminService::SetFilter(grpc::CallbackServerContext* context,
                                                  const wire::FilterRequest* request, wire::Empty*) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (refuse_unauthorized(context, reactor)) return reactor;
  core_.set_filter(request->peer(), request->drop_outgoing(), request->drop_incoming());
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::SetLinkFaults(grpc::CallbackServerContext* context,
                                                      const wire::LinkFaultsRequest* request, wire::Empty*) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (refuse_unauthorized(context, reactor)) return reactor;
  LinkFaults faults;
  faults.delay_ms = request->delay_ms();
  faults.loss_probability = request->loss_probability();
  faults.duplicate_probability = request->duplicate_probability();
  faults.seed = request->seed();
  faults.reorder_jitter_us = request->reorder_jitter_us();
  faults.clog_ms = request->clog_ms();
  const Status set = core_.set_link_faults(request->peer(), faults);
  reactor->Finish(set.ok() ? grpc::Status::OK
                           : grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, set.error().message));
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::ClearFilters(grpc::CallbackServerContext* context, const wire::Empty*,
                                                     wire::Empty*) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (refuse_unauthorized(context, reactor)) return reactor;
  core_.clear_filters();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::Stats(grpc::CallbackServerContext* context, const wire::Empty*,
                                              wire::StatsReply* reply) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (refuse_unauthorized(context, reactor)) return reactor;
  const AtomicStats& s = core_.stats;
  reply->set_sent(s.sent.load());
  reply->set_delivered(s.delivered.load());
  reply->set_bounced(s.bounced.load());
  reply->set_bounces_sent(s.bounces_sent.load());
  reply->set_rejected_malformed(s.rejected_malformed.load());
  reply->set_rejected_unknown_peer(s.rejected_unknown_peer.load());
  reply->set_rejected_unauthenticated(s.rejected_unauthenticated.load());
  reply->set_rejected_oversized(s.rejected_oversized.load());
  reply->set_dropped_by_filter(s.dropped_by_filter.load());
  reply->set_dropped_queue_full(s.dropped_queue_full.load());
  reply->set_reconnects(s.reconnects.load());
  reply->set_delayed_by_link_fault(s.delayed_by_link_fault.load());
  reply->set_lost_by_link_fault(s.lost_by_link_fault.load());
  reply->set_duplicated_by_link_fault(s.duplicated_by_link_fault.load());
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

void AdminService::fill(wire::MemberFaultsReply* reply) const {
  reply->set_clock_skew_ns(to_ns(core_.loop.clock_skew()));
  reply->set_clock_now_ns(to_ns(core_.loop.clock().now()));
  reply->set_loop_now_ns(to_ns(core_.loop.now()));
  if (const auto& storage = core_.options.storage_fault) {
    reply->set_storage_failing(storage->failing.load());
    reply->set_storage_failed_syncs(storage->failed_syncs.load());
  }
}

grpc::ServerUnaryReactor* AdminService::SetClockSkew(grpc::CallbackServerContext* context,
                                                     const wire::ClockSkewRequest* request,
                                                     wire::MemberFaultsReply* reply) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (refuse_unauthorized(context, reactor)) return reactor;
  core_.loop.set_clock_skew(Duration(request->skew_ns()));
  if (core_.log.enabled(LogLevel::kInfo)) {
    core_.log.write(LogLevel::kInfo, "admin", "clock skew set to " + format_duration(Duration(request->skew_ns())));
  }
  fill(reply);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::SetStorageFailing(grpc::CallbackServerContext* context,
                                                          const wire::StorageFailingRequest* request,
                                                          wire::MemberFaultsReply* reply) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (refuse_unauthorized(context, reactor)) return reactor;
  if (!core_.options.storage_fault) {
    reactor->Finish(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                 "this process has no fault switch on a state store (only tandem head and "
                                 "tandem node members have one)"));
    return reactor;
  }
  core_.options.storage_fault->failing.store(request->failing());
  if (core_.log.enabled(LogLevel::kInfo)) {
    core_.log.write(LogLevel::kInfo, "admin",
                    request->failing() ? "state store syncs fail (storage_failure)" : "state store syncs work again");
  }
  fill(reply);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::MemberFaults(grpc::CallbackServerContext* context, const wire::Empty*,
                                                     wire::MemberFaultsReply* reply) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (refuse_unauthorized(context, reactor)) return reactor;
  fill(reply);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace tandem::real::detail
