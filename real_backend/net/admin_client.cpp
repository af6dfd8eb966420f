#include "real_backend/net/admin_client.h"

#include <grpcpp/grpcpp.h>

#include <fstream>
#include <future>
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

using AsyncStub = wire::Admin::StubInterface::async_interface;  // the callback API

// One call in flight: what gRPC writes into lives here until the callback has run.
template <typename Request, typename Reply>
struct Call {
  grpc::ClientContext context;
  Request request;
  Reply reply;
};

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
        return make_error(Errc::kUnreachable,
                          where + " (is the node running, and is this its transport port?)");
      default:
        return make_error(Errc::kInternal, where);
    }
  }

  // Every Admin call goes through here: `start` names the method on the async stub (a lambda, as each method
  // also has a reactor overload); `done` gets the reply or the error, on a gRPC thread. `impl` rides along
  // with the call, so the stub outlives it even when the AdminClient does not.
  template <typename Reply, typename Request, typename Start>
  static void call_async(std::shared_ptr<const Impl> impl, const char* what, Request request,
                         Duration timeout, Start start, std::function<void(Result<Reply>)> done) {
    auto call = std::make_shared<Call<Request, Reply>>();
    call->request = std::move(request);
    impl->prepare(call->context, timeout);
    AsyncStub& stub = *impl->stub->async();
    start(stub, &call->context, &call->request, &call->reply,
          [impl, call, what, done = std::move(done)](grpc::Status status) {
            if (Status s = impl->to_status(status, what); !s.ok()) {
              done(s.error());
            } else {
              done(std::move(call->reply));
            }
          });
  }

  // The blocking form: the same call, waited for.
  template <typename Reply, typename Request, typename Start>
  static Result<Reply> call_blocking(std::shared_ptr<const Impl> impl, const char* what, Request request,
                                     Duration timeout, Start start) {
    auto answer = std::make_shared<std::promise<Result<Reply>>>();
    std::future<Result<Reply>> future = answer->get_future();
    call_async<Reply>(std::move(impl), what, std::move(request), timeout, start,
                      [answer](Result<Reply> reply) { answer->set_value(std::move(reply)); });
    return future.get();
  }
};

AdminClient::AdminClient(std::string endpoint, std::string auth_token, std::optional<TlsFiles> tls)
    : impl_(std::make_shared<Impl>()) {
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

namespace {

Status status_of(const Result<wire::Empty>& reply) {
  if (!reply.ok()) return reply.error();
  return {};
}

std::function<void(Result<wire::Empty>)> to_status_callback(std::function<void(Status)> done) {
  return [done = std::move(done)](Result<wire::Empty> reply) { done(status_of(reply)); };
}

MemberFaultState member_faults_from(const wire::MemberFaultsReply& reply) {
  MemberFaultState out;
  out.clock_skew = Duration(reply.clock_skew_ns());
  out.clock_now = time_from_ns(reply.clock_now_ns());
  out.loop_now = time_from_ns(reply.loop_now_ns());
  out.storage_failing = reply.storage_failing();
  out.storage_failed_syncs = reply.storage_failed_syncs();
  return out;
}

Result<MemberFaultState> member_faults_of(Result<wire::MemberFaultsReply> reply) {
  if (!reply.ok()) return reply.error();
  return member_faults_from(reply.value());
}

std::function<void(Result<wire::MemberFaultsReply>)> to_member_faults_callback(
    std::function<void(Result<MemberFaultState>)> done) {
  return [done = std::move(done)](Result<wire::MemberFaultsReply> reply) {
    done(member_faults_of(std::move(reply)));
  };
}

// The requests and each method's call on the async stub.
wire::FilterRequest filter_request(NodeId peer, bool drop_outgoing, bool drop_incoming) {
  wire::FilterRequest request;
  request.set_peer(peer);
  request.set_drop_outgoing(drop_outgoing);
  request.set_drop_incoming(drop_incoming);
  return request;
}

wire::LinkFaultsRequest link_faults_request(NodeId peer, const LinkFaults& faults) {
  wire::LinkFaultsRequest request;
  request.set_peer(peer);
  request.set_delay_ms(faults.delay_ms);
  request.set_loss_probability(faults.loss_probability);
  request.set_duplicate_probability(faults.duplicate_probability);
  request.set_seed(faults.seed);
  request.set_reorder_jitter_us(faults.reorder_jitter_us);
  request.set_clog_ms(faults.clog_ms);
  return request;
}

wire::ClockSkewRequest clock_skew_request(Duration skew) {
  wire::ClockSkewRequest request;
  request.set_skew_ns(to_ns(skew));
  return request;
}

wire::StorageFailingRequest storage_failing_request(bool failing) {
  wire::StorageFailingRequest request;
  request.set_failing(failing);
  return request;
}

constexpr auto kSetFilter = [](AsyncStub& stub, auto... args) { stub.SetFilter(std::move(args)...); };
constexpr auto kSetLinkFaults = [](AsyncStub& stub, auto... args) { stub.SetLinkFaults(std::move(args)...); };
constexpr auto kClearFilters = [](AsyncStub& stub, auto... args) { stub.ClearFilters(std::move(args)...); };
constexpr auto kStats = [](AsyncStub& stub, auto... args) { stub.Stats(std::move(args)...); };
constexpr auto kSetClockSkew = [](AsyncStub& stub, auto... args) { stub.SetClockSkew(std::move(args)...); };
constexpr auto kSetStorageFailing = [](AsyncStub& stub, auto... args) {
  stub.SetStorageFailing(std::move(args)...);
};
constexpr auto kMemberFaults = [](AsyncStub& stub, auto... args) { stub.MemberFaults(std::move(args)...); };

}  // namespace

Status AdminClient::set_filter(NodeId peer, bool drop_outgoing, bool drop_incoming, Duration timeout) {
  return status_of(Impl::call_blocking<wire::Empty>(
      impl_, "SetFilter", filter_request(peer, drop_outgoing, drop_incoming), timeout, kSetFilter));
}

Status AdminClient::set_link_faults(NodeId peer, const LinkFaults& faults, Duration timeout) {
  return status_of(Impl::call_blocking<wire::Empty>(impl_, "SetLinkFaults", link_faults_request(peer, faults),
                                                    timeout, kSetLinkFaults));
}

Status AdminClient::clear_filters(Duration timeout) {
  return status_of(
      Impl::call_blocking<wire::Empty>(impl_, "ClearFilters", wire::Empty(), timeout, kClearFilters));
}

Result<TransportStats> AdminClient::stats(Duration timeout) {
  Result<wire::StatsReply> answer =
      Impl::call_blocking<wire::StatsReply>(impl_, "Stats", wire::Empty(), timeout, kStats);
  if (!answer.ok()) return answer.error();
  const wire::StatsReply& reply = answer.value();
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

Result<MemberFaultState> AdminClient::set_clock_skew(Duration skew, Duration timeout) {
  return member_faults_of(Impl::call_blocking<wire::MemberFaultsReply>(
      impl_, "SetClockSkew", clock_skew_request(skew), timeout, kSetClockSkew));
}

Result<MemberFaultState> AdminClient::set_storage_failing(bool failing, Duration timeout) {
  return member_faults_of(Impl::call_blocking<wire::MemberFaultsReply>(
      impl_, "SetStorageFailing", storage_failing_request(failing), timeout, kSetStorageFailing));
}

Result<MemberFaultState> AdminClient::member_faults(Duration timeout) {
  return member_faults_of(Impl::call_blocking<wire::MemberFaultsReply>(impl_, "MemberFaults", wire::Empty(),
                                                                       timeout, kMemberFaults));
}

void AdminClient::set_filter_async(NodeId peer, bool drop_outgoing, bool drop_incoming, Duration timeout,
                                   std::function<void(Status)> done) {
  Impl::call_async<wire::Empty>(impl_, "SetFilter", filter_request(peer, drop_outgoing, drop_incoming),
                                timeout, kSetFilter, to_status_callback(std::move(done)));
}

void AdminClient::set_link_faults_async(NodeId peer, const LinkFaults& faults, Duration timeout,
                                        std::function<void(Status)> done) {
  Impl::call_async<wire::Empty>(impl_, "SetLinkFaults", link_faults_request(peer, faults), timeout,
                                kSetLinkFaults, to_status_callback(std::move(done)));
}

void AdminClient::set_clock_skew_async(Duration skew, Duration timeout,
                                       std::function<void(Result<MemberFaultState>)> done) {
  Impl::call_async<wire::MemberFaultsReply>(impl_, "SetClockSkew", clock_skew_request(skew), timeout,
                                            kSetClockSkew, to_member_faults_callback(std::move(done)));
}

void AdminClient::set_storage_failing_async(bool failing, Duration timeout,
                                            std::function<void(Result<MemberFaultState>)> done) {
  Impl::call_async<wire::MemberFaultsReply>(impl_, "SetStorageFailing", storage_failing_request(failing),
                                            timeout, kSetStorageFailing,
                                            to_member_faults_callback(std::move(done)));
}

}  // namespace tandem::real
