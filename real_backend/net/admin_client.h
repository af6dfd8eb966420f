// AdminClient: drives another node's transport filter and link faults from outside — a launcher's way to make
// real partitions, link delays and link loss.
//
// Contract: each call is one unary gRPC call to the node's Admin service (on the node's transport port) and ends
// within `timeout`: ok, kFailedPrecondition (wrong or missing token; the message says so), kUnreachable (nothing
// answers at the endpoint), kInvalidArgument (link faults out of range) or kTimeout. The plain forms block: use
// them from a launcher or CLI thread, never from an EventLoop thread. The *_async forms return at once and run
// `done` exactly once, on a gRPC thread (post to your loop from there); the client may be destroyed before
// `done` runs. Thread-safe.
//
//   AdminClient node1("127.0.0.1:7001", token);
//   node1.set_filter(/*peer=*/2, /*drop_outgoing=*/true, /*drop_incoming=*/true);  // cut 1 <-> 2 at node 1
//   node1.set_link_faults(/*peer=*/2, LinkFaults{.delay_ms = 50, .loss_probability = 0.1});  // 1 -> 2 only
//   node1.clear_filters();  // filters and link faults
//   node1.set_clock_skew(std::chrono::seconds(5));  // node 1's clock reads real time + 5 s (0 heals)
//   node1.set_storage_failing(true);                // node 1's state store syncs fail (false heals)
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/common/result.h"
#include "core/env/time.h"
#include "core/env/transport.h"
#include "real_backend/net/grpc_transport.h"

namespace tandem::real {

// A member's own faults as it reports them (every member-fault call answers with this).
struct MemberFaultState {
  Duration clock_skew{};
  TimePoint clock_now{};  // the member's clock as its core code reads it
  TimePoint loop_now{};   // its unskewed loop time
  bool storage_failing = false;
  uint64_t storage_failed_syncs = 0;
};

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
  // clock_skew / storage_failure on the member itself. kFailedPrecondition from a process with no state store
  // switch (set_storage_failing only).
  Result<MemberFaultState> set_clock_skew(Duration skew, Duration timeout = std::chrono::seconds(5));
  Result<MemberFaultState> set_storage_failing(bool failing, Duration timeout = std::chrono::seconds(5));
  Result<MemberFaultState> member_faults(Duration timeout = std::chrono::seconds(5));

  // The same calls without blocking (see the contract: `done` runs on a gRPC thread).
  void set_filter_async(NodeId peer, bool drop_outgoing, bool drop_incoming, Duration timeout,
                        std::function<void(Status)> done);
  void set_link_faults_async(NodeId peer, const LinkFaults& faults, Duration timeout,
                             std::function<void(Status)> done);
  void set_clock_skew_async(Duration skew, Duration timeout, std::function<void(Result<MemberFaultState>)> done);
  void set_storage_failing_async(bool failing, Duration timeout,
                                 std::function<void(Result<MemberFaultState>)> done);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;  // shared with the calls in flight
};

}  // namespace tandem::real
