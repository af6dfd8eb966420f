#include "real_backend/net/grpc_transport.h"

#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include "real_backend/net/link_core.h"

namespace tandem::real {
namespace {

// How long shutdown() waits for gRPC to finish the streams' callbacks before it gives up and says so.
constexpr auto kShutdownWait = std::chrono::seconds(10);

Result<std::string> read_pem(const std::string& path, const char* what) {
  std::ifstream file(path);
  if (!file) {
    return make_error(Errc::kInvalidArgument, std::string("cannot read the TLS ") + what + " file '" + path +
                                                  "' (fix: check the path and that this user may read it)");
  }
  std::ostringstream text;
  text << file.rdbuf();
  if (text.str().find("-----BEGIN") == std::string::npos) {
    return make_error(Errc::kInvalidArgument,
                      std::string("the TLS ") + what + " file '" + path + "' is not PEM (fix: give a PEM file)");
  }
  return text.str();
}

}  // namespace

GrpcTransport::GrpcTransport(EventLoop& loop, NodeId self, TransportOptions options)
    : core_(std::make_shared<detail::LinkCore>(loop, self, std::move(options))) {
  TANDEM_CHECK(self != kNoNode, "a transport needs a node id");
}

GrpcTransport::~GrpcTransport() { shutdown(); }

Status GrpcTransport::start() {
  detail::LinkCore& core = *core_;
  TANDEM_CHECK(core.server == nullptr, "GrpcTransport::start() called twice");
  if (core.closed.load()) return make_error(Errc::kFailedPrecondition, "start() after shutdown()");
  if (core.options.max_message_bytes == 0) {
    return make_error(Errc::kInvalidArgument, "max_message_bytes is 0 (fix: leave the default 64 MiB or set a size)");
  }
  std::shared_ptr<grpc::ServerCredentials> server_credentials = grpc::InsecureServerCredentials();
  if (core.options.tls) {
    const TlsFiles& files = *core.options.tls;
    Result<std::string> cert = read_pem(files.cert_path, "certificate");
    if (!cert.ok()) return cert.error();
    Result<std::string> key = read_pem(files.key_path, "key");
    if (!key.ok()) return key.error();
    Result<std::string> ca = read_pem(files.ca_path, "CA");
    if (!ca.ok()) return ca.error();
    grpc::SslServerCredentialsOptions server_options(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    server_options.pem_root_certs = ca.value();
    server_options.pem_key_cert_pairs.push_back({key.value(), cert.value()});
    server_credentials = grpc::SslServerCredentials(server_options);
    grpc::SslCredentialsOptions client_options;
    client_options.pem_root_certs = ca.value();
    client_options.pem_private_key = key.value();
    client_options.pem_cert_chain = cert.value();
    core.channel_credentials = grpc::SslCredentials(client_options);
  }

  const std::string address = core.options.listen_host + ":" + std::to_string(core.options.listen_port);
  core.link_service = std::make_unique<detail::LinkService>(core);
  core.admin_service = std::make_unique<detail::AdminService>(core);
  grpc::ServerBuilder builder;
  int selected_port = 0;
  builder.AddListeningPort(address, server_credentials, &selected_port);
  // gRPC sets SO_REUSEPORT by default: a second process could then bind the same port and steal half the
  // streams. Refuse instead, so a taken port is an error.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  const int limit =
      static_cast<int>(std::min<size_t>(core.options.max_message_bytes + detail::kEnvelopeSlackBytes, INT32_MAX));
  builder.SetMaxReceiveMessageSize(limit);
  builder.SetMaxSendMessageSize(limit);
  // Peers send keepalive pings every 10 s on long-lived streams; never treat them as abuse.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 1000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.RegisterCallbackGenericService(core.link_service.get());
  builder.RegisterService(core.admin_service.get());
  core.server = builder.BuildAndStart();
  if (core.server == nullptr || selected_port == 0) {
    core.server.reset();
    return make_error(Errc::kUnavailable,
                      "cannot listen on " + address +
                          ": the port is taken or the host is not an address of this machine (fix: stop the "
                          "process holding the port, choose another port, or use port 0 for a free one)");
  }
  core.bound_port = static_cast<uint16_t>(selected_port);
  if (core.log.enabled(LogLevel::kInfo)) {
    core.log.write(LogLevel::kInfo, "transport",
                   "listening on " + core.options.listen_host + ":" + std::to_string(core.bound_port) +
                       (core.options.tls ? " (TLS)" : "") + (core.options.auth_token.empty() ? "" : " (token)"));
  }
  return {};
}

uint16_t GrpcTransport::port() const { return core_->bound_port; }

void GrpcTransport::set_peer(NodeId node, std::string endpoint) {
  detail::LinkCore& core = *core_;
  TANDEM_CHECK(node != kNoNode, "set_peer() needs a node id");
  auto it = core.peers.find(node);
  if (it != core.peers.end()) {
    if (it->second->endpoint == endpoint) return;
    std::shared_ptr<detail::ClientLink> old_stream;
    {
      std::lock_guard<std::mutex> lock(it->second->mutex);
      it->second->retired = true;
      old_stream = it->second->stream;
    }
    if (old_stream) old_stream->cancel();  // its unsent messages bounce kUnreachable
  }
  const size_t colon = endpoint.rfind(':');
  const bool has_port = colon != std::string::npos && colon > 0 && colon + 1 < endpoint.size() &&
                        endpoint.find_first_not_of("0123456789", colon + 1) == std::string::npos;
  if (!has_port) {
    // Kept anyway (messages to the node will bounce kUnreachable), but said loudly: it is a configuration bug.
    core.log.write(LogLevel::kError, "transport",
                   "node " + std::to_string(node) + "'s endpoint '" + endpoint +
                       "' is not HOST:PORT (fix: give its address as e.g. 127.0.0.1:7001)");
  }
  auto peer = std::make_shared<detail::PeerLink>();
  peer->node = node;
  peer->endpoint = std::move(endpoint);
  core.peers[node] = std::move(peer);
}

void GrpcTransport::shutdown() {
  detail::LinkCore& core = *core_;
  if (core.closed.exchange(true)) return;
  for (auto& [node, peer] : core.peers) {
    std::shared_ptr<detail::ClientLink> stream;
    {
      std::lock_guard<std::mutex> lock(peer->mutex);
      peer->retired = true;
      stream = peer->stream;
    }
    if (stream) stream->cancel();
  }
  // Cancel incoming streams at once rather than wait for their peers to close them.
  if (core.server) core.server->Shutdown(std::chrono::system_clock::now());
  {
    std::unique_lock<std::mutex> lock(core.live_mutex);
    if (!core.live_changed.wait_for(lock, kShutdownWait, [&core] { return core.live_links == 0; })) {
      core.log.write(LogLevel::kError, "transport",
                     std::to_string(core.live_links) + " streams still open 10 s after shutdown began (gRPC did "
                                                       "not finish their callbacks); stopping anyway");
    }
  }
  if (core.server) core.server->Wait();
  core.server.reset();
  core.link_service.reset();
  core.admin_service.reset();
  core.peers.clear();
}

void GrpcTransport::set_filter(NodeId peer, bool drop_outgoing, bool drop_incoming) {
  core_->set_filter(peer, drop_outgoing, drop_incoming);
}

Status GrpcTransport::set_link_faults(NodeId peer, const LinkFaults& faults) {
  return core_->set_link_faults(peer, faults);
}

void GrpcTransport::clear_filters() { core_->clear_filters(); }

TransportStats GrpcTransport::stats() const {
  const detail::AtomicStats& s = core_->stats;
  TransportStats out;
  out.sent = s.sent.load();
  out.delivered = s.delivered.load();
  out.bounced = s.bounced.load();
  out.bounces_sent = s.bounces_sent.load();
  out.rejected_malformed = s.rejected_malformed.load();
  out.rejected_unknown_peer = s.rejected_unknown_peer.load();
  out.rejected_unauthenticated = s.rejected_unauthenticated.load();
  out.rejected_oversized = s.rejected_oversized.load();
  out.dropped_by_filter = s.dropped_by_filter.load();
  out.dropped_queue_full = s.dropped_queue_full.load();
  out.reconnects = s.reconnects.load();
  out.delayed_by_link_fault = s.delayed_by_link_fault.load();
  out.lost_by_link_fault = s.lost_by_link_fault.load();
  out.duplicated_by_link_fault = s.duplicated_by_link_fault.load();
  return out;
}

NodeId GrpcTransport::node() const { return core_->self; }

void GrpcTransport::bind(Port port, Receiver* receiver) {
  detail::LinkCore& core = *core_;
  TANDEM_CHECK(port != 0, "port 0 is not a valid port");
  TANDEM_CHECK(receiver != nullptr, "binding a null receiver");
  if (port >= core.ports.size()) core.ports.resize(port + 1, nullptr);
  TANDEM_CHECK(core.ports[port] == nullptr, "binding a port that is already bound");
  core.ports[port] = receiver;
  if (port >= core.next_port) core.next_port = port + 1;
}

void GrpcTransport::unbind(Port port) {
  detail::LinkCore& core = *core_;
  TANDEM_CHECK(port < core.ports.size(), "unbinding a port that was never bound");
  TANDEM_CHECK(core.ports[port] != nullptr, "unbinding a port that is not bound");
  core.ports[port] = nullptr;
}

Port GrpcTransport::allocate_port() { return core_->next_port++; }

void GrpcTransport::send(Message&& message) {
  detail::LinkCore& core = *core_;
  TANDEM_CHECK(message.from.node == core.self, "a node may only send from its own addresses");
  if (core.closed.load()) return;  // shut down: the process is going away, like a crashed sim node
  core.stats.sent.fetch_add(1, std::memory_order_relaxed);
  if (message.payload.size() > core.options.max_message_bytes) {
    core.stats.rejected_oversized.fetch_add(1, std::memory_order_relaxed);
    core.log.write(LogLevel::kError, "transport",
                   "refused to send a " + std::to_string(message.payload.size()) + "-byte message from " +
                       to_string(message.from) + " to " + to_string(message.to) + " (kind " +
                       std::to_string(message.kind) + "): over max_message_bytes = " +
                       std::to_string(core.options.max_message_bytes) +
                       " (fix: send less per message, or raise the limit on every node)");
    std::vector<Message> refused;
    refused.push_back(std::move(message));
    core.post_undeliverable(std::move(refused), Errc::kInvalidArgument);
    return;
  }
  if (message.to.node == core.self) {
    // To ourselves: through the loop, never inline (the sender is still inside send()).
    core.loop.post([core = core_, message = std::move(message)]() mutable {
      if (core->closed.load()) return;
      if (Receiver* receiver = core->receiver_at(message.to.port)) {
        core->stats.delivered.fetch_add(1, std::memory_order_relaxed);
        receiver->on_message(std::move(message));
      } else {
        std::vector<Message> bounced;
        bounced.push_back(std::move(message));
        core->notify_undeliverable(bounced, {Errc::kPeerDied});
      }
    });
    return;
  }
  if (core.drops_outgoing(message.to.node)) {
    core.stats.dropped_by_filter.fetch_add(1, std::memory_order_relaxed);
    return;  // a partition: no notice, as in the sim
  }
  const detail::LinkCore::LinkDecision link = core.decide_link(message.to.node);
  if (link.lost) {
    core.stats.lost_by_link_fault.fetch_add(1, std::memory_order_relaxed);
    return;  // a lost message: no notice, as in the sim
  }
  if (link.jitter > Duration::zero()) {
    if (link.duplicated) {
      core.stats.duplicated_by_link_fault.fetch_add(1, std::memory_order_relaxed);
      Message copy = message;
      core.send_reordered(std::move(copy), link.delay + link.jitter);
    }
    core.send_reordered(std::move(message), link.delay + link.jitter);
    return;
  }
  if (link.duplicated) {
    core.stats.duplicated_by_link_fault.fetch_add(1, std::memory_order_relaxed);
    Message copy = message;
    core.send_after_delay(std::move(copy), link.delay);
  }
  core.send_after_delay(std::move(message), link.delay);
}

}  // namespace tandem::real
