#include "real_backend/net/admin_client.h"

#include <grpcpp/grpcpp.h>

#include <fstream>
#include <sstream>
#include <utility>

#include "tandem_net.grpc.pb.h"

namespace tandem::real {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream file(path);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

}  // namespace

struct AdminClient::Impl {
  std::string endpoint;
  std::string auth_token;
  std::unique_ptr<wire::Admin::Stub> stub;

  void prepare(grpc::ClientContext& context, Duration timeout) const {
    context.set_deadline(std::chrono::system_clock::now() + timeout);
    if (!auth_token.empty()) context.AddMetadata("authorization", "Bearer " + auth_token);
  }

  Status to_status(const grpc::Status& status, const char* what) const {
    if (status.ok()) return {};
    const std::string where = std::string(what) + " at " + endpoint + ": " + status.error_message();
    switch (status.error_code()) {
      case grpc::StatusCode::UNAUTHENTICATED:
        return make_error(Errc::kFailedPrecondition, where + " (fix: pass the cluster's auth token)");
      case grpc::StatusCode::DEADLINE_EXCEEDED:
        return make_error(Errc::kTimeout, where);
      case grpc::StatusCode::INVALID_ARGUMENT:
        return make_error(Errc::kInvalidArgument, where);
      case grpc::StatusCode::FAILED_PRECONDITION:
        return make_error(Errc::kFailedPrecondition, where);
      case grpc::StatusCode::UNAVAILABLE:
        return make_error(Errc::kUnreachable, where + " (is the node running, and is this its transport port?)");
      default:
        return make_error(Errc::kInternal, where);
    }
  }
};

AdminClient::AdminClient(std::string endpoint, std::string auth_token, std::optional<TlsFiles> tls)
    : impl_(std::make_unique<Impl>()) {
  impl_->endpoint = std::move(endpoint);
  impl_->auth_token = std::move(auth_token);
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (tls) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = read_file(tls->ca_path);
    options.pem_private_key = read_file(tls->key_path);
    options.pem_cert_chain = read_file(tls->cert_path);
    credentials = grpc::SslCredentials(options);
  }
  impl_->stub = wire::Admin::NewStub(grpc::CreateChannel(impl_->endpoint, credentials));
}

AdminClient::~AdminClient() = default;

Status AdminClient::set_filter(NodeId peer, bool drop_outgoing, bool drop_incoming, Duration timeout) {
  grpc::ClientContext context;
  impl_->prepare(context, timeout);
  wire::FilterRequest request;
  request.set_peer(peer);
  request.set_drop_outgoing(drop_outgoing);
  request.set_drop_incoming(drop_incoming);
  wire::Empty reply;
  return impl_->to_status(impl_->stub->SetFilter(&context, request, &reply), "SetFilter");
}

Status AdminClient::set_link_faults(NodeId peer, const LinkFaults& faults, Duration timeout) {
  grpc::ClientContext context;
  impl_->prepare(context, timeout);
  wire::LinkFaultsRequest request;
  request.set_peer(peer);
  request.set_delay_ms(faults.delay_ms);
  request.set_loss_probability(faults.loss_probability);
  request.set_duplicate_probability(faults.duplicate_probability);
  request.set_seed(faults.seed);
  request.set_reorder_jitter_us(faults.reorder_jitter_us);
  request.set_clog_ms(faults.clog_ms);
  wire::Empty reply;
  return impl_->to_status(impl_->stub->SetLinkFaults(&context, request, &reply), "SetLinkFaults");
}

Status AdminClient::clear_filters(Duration timeout) {
  grpc::ClientContext context;
  impl_->prepare(context, timeout);
  wire::Empty request;
  wire::Empty reply;
  return impl_->to_status(impl_->stub->ClearFilters(&context, request, &reply), "ClearFilters");
}

Result<TransportStats> AdminClient::stats(Duration timeout) {
  grpc::ClientContext context;
  impl_->prepare(context, timeout);
  wire::Empty request;
  wire::StatsReply reply;
  if (Status status = impl_->to_status(impl_->stub->Stats(&context, request, &reply), "Stats"); !status.ok()) {
    return status.error();
  }
  TransportStats out;
  out.sent = reply.sent();
  out.delivered = reply.delivered();
  out.bounced = reply.bounced();
  out.bounces_sent = reply.bounces_sent();
  out.rejected_malformed = reply.rejected_malformed();
  out.rejected_unknown_peer = reply.rejected_unknown_peer();
  out.rejected_unauthenticated = reply.rejected_unauthenticated();
  out.rejected_oversized = reply.rejected_oversized();
  out.dropped_by_filter = reply.dropped_by_filter();
  out.dropped_queue_full = reply.dropped_queue_full();
  out.reconnects = reply.reconnects();
  out.delayed_by_link_fault = reply.delayed_by_link_fault();
  out.lost_by_link_fault = reply.lost_by_link_fault();
  out.duplicated_by_link_fault = reply.duplicated_by_link_fault();
  return out;
}

namespace {
MemberFaultState member_faults_from(const wire::MemberFaultsReply& reply) {
  MemberFaultState out;
  out.clock_skew = Duration(reply.clock_skew_ns());
  out.clock_now = time_from_ns(reply.clock_now_ns());
  out.loop_now = time_from_ns(reply.loop_now_ns());
  out.storage_failing = reply.storage_failing();
  out.storage_failed_syncs = reply.storage_failed_syncs();
  return out;
}
}  // namespace

Result<MemberFaultState> AdminClient::set_clock_skew(Duration skew, Duration timeout) {
  grpc::ClientContext context;
  impl_->prepare(context, timeout);
  wire::ClockSkewRequest request;
  request.set_skew_ns(to_ns(skew));
  wire::MemberFaultsReply reply;
  if (Status s = impl_->to_status(impl_->stub->SetClockSkew(&context, request, &reply), "SetClockSkew"); !s.ok()) {
    return s.error();
  }
  return member_faults_from(reply);
}

Result<MemberFaultState> AdminClient::set_storage_failing(bool failing, Duration timeout) {
  grpc::ClientContext context;
  impl_->prepare(context, timeout);
  wire::StorageFailingRequest request;
  request.set_failing(failing);
  wire::MemberFaultsReply reply;
  if (Status s = impl_->to_status(impl_->stub->SetStorageFailing(&context, request, &reply), "SetStorageFailing");
      !s.ok()) {
    return s.error();
  }
  return member_faults_from(reply);
}

Result<MemberFaultState> AdminClient::member_faults(Duration timeout) {
  grpc::ClientContext context;
  impl_->prepare(context, timeout);
  wire::Empty request;
  wire::MemberFaultsReply reply;
  if (Status s = impl_->to_status(impl_->stub->MemberFaults(&context, request, &reply), "MemberFaults"); !s.ok()) {
    return s.error();
  }
  return member_faults_from(reply);
}

}  // namespace tandem::real
