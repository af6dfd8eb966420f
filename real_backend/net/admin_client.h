// AdminClient: drives another node's transport filter and link faults from outside — a launcher's way to make
// real partitions, link delays and link loss.
//
// Contract: each call is one blocking unary gRPC call to the node's Admin service (on the node's transport port)
// and returns within `timeout`: ok, kFailedPrecondition (wrong or missing token; the message says so),
// kUnreachable (nothing answers at the endpoint), kInvalidArgument (link faults out of range) or kTimeout. Use
// it from a launcher or CLI thread, never from an EventLoop thread (it blocks). Thread-safe.
//
//   AdminClient node1("127.0.0.1:7001", token);
//   node1.set_filter(/*peer=*/2, /*drop_outgoing=*/true, /*drop_incoming=*/true);  // cut 1 <-> 2 at node 1
//   node1.set_link_faults(/*peer=*/2, LinkFaults{.delay_ms = 50, .loss_probability = 0.1});  // 1 -> 2 only
//   node1.clear_filters();  // filters and link faults
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "core/common/result.h"
#include "core/env/time.h"
#include "core/env/transport.h"
#include "real_backend/net/grpc_transport.h"

namespace tandem::real {

class AdminClient {
 public:
  // `tls`: the same files the nodes use (this side presents cert/key and checks the node against ca).
  explicit AdminClient(std::string endpoint, std::string auth_token = {}, std::optional<TlsFiles> tls = {});
  ~AdminClient();
  AdminClient(const AdminClient&) = delete;
  AdminClient& operator=(const AdminClient&) = delete;

  // Drop what the node sends to / receives from `peer` (both false: remove the node's filter for `peer`).
  Status set_filter(NodeId peer, bool drop_outgoing, bool drop_incoming, Duration timeout = std::chrono::seconds(5));
  // Delay / lose / duplicate what the node sends to `peer` (all zero: remove them). See GrpcTransport.
  Status set_link_faults(NodeId peer, const LinkFaults& faults, Duration timeout = std::chrono::seconds(5));
  Status clear_filters(Duration timeout = std::chrono::seconds(5));
  Result<TransportStats> stats(Duration timeout = std::chrono::seconds(5));

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tandem::real
