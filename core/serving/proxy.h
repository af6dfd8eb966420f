// ServingProxy: a service's entry point in one cluster — an actor that serves requests on its own RPC endpoint
// (the data address clients find through discovery) and routes each to a healthy backend.
//
// Contract:
// - Admission: at most policy.max_inflight requests are sent to backends at once; up to policy.max_queue more
//   wait in FIFO order. A request beyond both is shed at once with kResourceExhausted ("overloaded"), an
//   explicit error clients may retry elsewhere; a queued request whose budget runs out fails with kTimeout.
// - Routing: power of two choices on this proxy's own count of requests in flight per backend, among the
//   backends of the latest route table (a version is first drawn by the table's version weights when it has
//   any). A backend that failed as unreachable or dead is ejected locally until a newer route table lists
//   it again, so traffic keeps flowing while the AppMaster is away.
// - Retries: a request that failed on a backend with a retryable error (kPeerDied, kUnavailable,
//   kResourceExhausted, kUnreachable) is sent to another backend while policy.max_attempts, the request's
//   budget and the retry budget (core/serving/retry_budget.h) allow. Modelled errors (kInternal) and
//   timeouts are not retried: the client owns that decision. When no attempt is left, a backend's kPeerDied or
//   kUnreachable reaches the client as kUnavailable: those two codes mean "this proxy is gone" to a client.
// - Recording: a bounded ring of recent requests with the answers the serving version gave — the recorded
//   traffic that upgrade validation replays (core/serving/validation.h).
// - Control calls (update_routes, status with epoch > 0) are fenced by AppMaster epoch. Route tables from
//   the current epoch with an older generation are ignored.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/async/rpc.h"
#include "core/env/random.h"
#include "core/metrics/registry.h"
#include "core/runtime/actor.h"
#include "core/serving/messages.h"
#include "core/serving/retry_budget.h"
#include "core/serving/service_spec.h"
#include "core/serving/slots.h"

namespace tandem::serving {

// Routing picks by sampling above this many listed backends, with at most kMaxPickDraws draws per pick.
inline constexpr size_t kPickScanBelow = 16;
inline constexpr uint32_t kMaxPickDraws = 16;

inline constexpr size_t kMaxRecordedRequests = 256;  // the replay ring
inline constexpr uint32_t kRecordEvery = 4;          // record one request in this many
inline constexpr size_t kLatencyWindow = 512;         // latencies per version kept for p99
inline constexpr Duration kLocalEjection = std::chrono::seconds(5);

class ServingProxy final : public runtime::Actor {
 public:
  ServingProxy(runtime::ActorContext& context, std::string service, std::string cluster, ProxyPolicy policy);

  // Health check; with epoch > 0 also adopts the caller as the acting AppMaster.
  Task<Result<ProxyStatus>> status(uint64_t epoch);
  Task<Result<ProxyStatus>> update_routes(RouteTable table);
  Task<Result<std::vector<RecordedRequest>>> recorded(uint64_t epoch, uint32_t limit);

  Address data_address() const { return endpoint_->address(); }

 private:
  struct BackendState {
    std::string version;
    uint32_t inflight = 0;
    bool listed = false;               // in the current route table
    TimePoint ejected_until{};
  };
  // A listed backend and its state (update_routes() keeps the pointer valid: it erases only unlisted states).
  struct Routable {
    ActorId id = runtime::kNoActor;
    BackendState* state = nullptr;
  };
  struct VersionWindow {
    uint64_t requests = 0;
    uint64_t errors = 0;
    std::deque<double> latencies_ms;
  };

  Task<Result<Bytes>> serve(Bytes request_bytes);
  // `request` is the caller's (serve() keeps it alive across the call); its budget is rewritten per attempt.
  // The answer is a ServeReply's encoding, the backend's own bytes when they already say what the client reads.
  Task<Result<Bytes>> route(ServeRequest& request, TimePoint deadline);
  // A backend not in `tried`, or one with a null state when none is usable.
  // `tried`: backends this request already went to (a handful at most: max_attempts).
  Routable pick(const std::vector<ActorId>& tried, TimePoint now);
  Status fence(uint64_t epoch);
  ProxyStatus snapshot() const;
  void note_version(std::string_view version, bool error, Duration latency);

  runtime::ActorContext& context_;
  std::string service_;
  std::string cluster_;
  ProxyPolicy policy_;
  Random random_;
  uint64_t epoch_ = 0;
  RouteTable routes_;
  // Listed ones and recently listed ones with requests in flight. A hash whose nodes never move (routable_
  // and requests in flight point into it); every walk over it is order-independent (marking, erasing).
  std::unordered_map<ActorId, BackendState> backends_;
  std::vector<Routable> routable_;  // listed, in table order: a request picks here without hashing
  RetryBudget retry_budget_;
  uint64_t requests_ = 0;
  uint64_t shed_ = 0;
  uint64_t failed_ = 0;
  uint64_t retries_ = 0;
  uint64_t seen_ = 0;
  std::deque<RecordedRequest> recorded_;
  std::map<std::string, VersionWindow, std::less<>> versions_;  // found by string_view
  metrics::Counter& requests_total_;
  metrics::Counter& shed_total_;
  metrics::Counter& failed_total_;
  metrics::Histogram& latency_ms_;
  Slots slots_;
  std::unique_ptr<RpcEndpoint> endpoint_;  // last: its handlers use everything above
};

}  // namespace tandem::serving
