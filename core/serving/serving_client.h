// ServingClient: how an application calls a service — resolve through discovery, pick a cluster local-first
// with spill-over, pick a proxy latency-aware, send with a deadline, retry within a budget, eject failing
// proxies.
//
// Contract:
// - start() begins pulling the service's Resolution from discovery every pull_interval; the last good answer
//   is cached and used while discovery is unreachable, so a discovery outage never stops traffic.
// - request() always ends, by the request deadline plus one network hop at most, in exactly one outcome: an
//   answer or an explicit Errc. It never throws and never hangs. Attempts are bounded by max_attempts, each
//   by per_try_timeout, and retries (after the first try) by the retry budget (core/serving/retry_budget.h).
//   A retry goes to a different proxy when one is left, preferring another cluster after a timeout.
// - A refused attempt did no work anywhere: kUnreachable (the proxy's node is down) or kPeerDied (the proxy
//   is gone, or every backend it tried was). It is retried at once on another proxy without spending the
//   retry budget or one of max_attempts — the budget guards the service's capacity, which a refusal does not
//   touch — at most max_refused_attempts times per request. A proxy whose node is down is ejected at once
//   (a timeout or an error needs outlier.consecutive_failures in a row): a dead proxy discovery still lists
//   costs a request one fast refusal, not its budget.
// - Cluster choice follows cluster_shares() (core/serving/locality.h): the local cluster keeps all traffic
//   while 1.4 x its healthy share >= 100%, the deficit spills by weight x availability x latency preference.
//   Within a cluster: power of two choices on peak-EWMA cost (latency EWMA x (requests in flight + 1)).
// - Outlier ejection counts gateway failures only (unreachable, dead, timeout, unavailable, overloaded), not
//   the service's own errors (kInternal): a proxy is not to blame for the model.
// - Bounded: at most max_inflight requests at once (beyond: kResourceExhausted at once); per-proxy state only
//   for proxies discovery listed recently.
// - The client must outlive every request() coroutine it started.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/async/rpc.h"
#include "core/async/scope.h"
#include "core/env/env.h"
#include "core/serving/discovery.h"
#include "core/serving/locality.h"
#include "core/serving/messages.h"
#include "core/serving/retry_budget.h"

namespace tandem::serving {

struct ServingClientOptions {
  std::string service;
  std::string local_cluster;  // empty: no locality preference
  Address discovery{kNoNode, kDiscoveryPort};
  Duration pull_interval = std::chrono::seconds(1);
  Duration deadline = std::chrono::seconds(1);           // whole request
  Duration per_try_timeout = std::chrono::milliseconds(300);
  uint32_t max_attempts = 3;
  uint32_t max_refused_attempts = 4;  // refused attempts per request, beyond max_attempts (free of the budget)
  double retry_ratio = 0.2;
  double min_retries_per_second = 20;
  double overprovisioning = 1.4;
  OutlierPolicy outlier;
  size_t max_inflight = 100'000;
  double latency_ewma_weight = 0.2;  // weight of the newest sample
};

struct RequestOutcome {
  uint64_t id = 0;
  TimePoint start{};
  TimePoint end{};
  Errc code = Errc::kOk;
  std::string error;    // when code != kOk
  std::string answer;
  std::string cluster;  // of the proxy that answered (or was tried last)
  std::string version;  // that answered
  uint32_t attempts = 0;
  uint32_t proxy_attempts = 0;  // backend calls the answering proxy made (when ok): 2 or more after a retry there
  bool ok() const { return code == Errc::kOk; }
  Duration latency() const { return end - start; }
};

class ServingClient {
 public:
  ServingClient(Env& env, ServingClientOptions options);
  ServingClient(const ServingClient&) = delete;
  ServingClient& operator=(const ServingClient&) = delete;

  // Starts the discovery pull loop (idempotent).
  void start();
  // True once a resolution with at least one proxy has been pulled.
  bool ready() const;
  const Resolution& view() const { return resolution_; }

  Task<RequestOutcome> request(std::string payload);
  Task<RequestOutcome> request_with(std::string payload, Duration deadline);

  // Shares per cluster the balancer uses now (in view() order), for tests and reports.
  std::vector<double> current_shares(TimePoint now) const;
  uint64_t requests() const { return requests_; }
  uint64_t retries() const { return retries_; }
  uint64_t ejections() const { return ejections_; }
  uint64_t refusals() const { return refusals_; }

 private:
  struct ClusterStats {
    double latency_ms = 0;
  };
  struct ProxyState {
    std::string cluster;
    ClusterStats* stats = nullptr;  // cluster_stats_[cluster], set by adopt() (the map never erases)
    OutlierDetector::State outlier;
    double latency_ms = 0;
    uint32_t inflight = 0;
    bool listed = false;
  };
  // A proxy choose() may pick: its address and its state in proxies_.
  struct Candidate {
    Endpoint endpoint;
    ProxyState* state = nullptr;
  };
  struct EndpointHash {
    size_t operator()(const Endpoint& e) const { return (uint64_t{e.node} << 32) ^ e.port; }
  };

  Task<void> pull_loop();
  Task<bool> pull_once();
  void adopt(Resolution resolution);
  // Fills the per-request fields (healthy, latency_ms) of views, whose names, weights and totals adopt() set.
  void refresh_views(TimePoint now, std::vector<ClusterView>& views) const;
  // A proxy to try, avoiding `tried` and (when possible) `avoid_cluster`; nullopt when none.
  std::optional<Candidate> choose(const std::vector<Endpoint>& tried, const std::string& avoid_cluster, TimePoint now);
  void on_result(ProxyState& state, Errc code, Duration latency, TimePoint now);

  Env& env_;
  ServingClientOptions options_;
  Random random_;
  Resolution resolution_;
  // Hashed: every walk over it counts or filters, so its order never reaches behaviour.
  std::unordered_map<Endpoint, ProxyState, EndpointHash> proxies_;
  std::map<std::string, ClusterStats> cluster_stats_;
  RetryBudget retry_budget_;
  OutlierDetector outlier_;
  uint64_t next_request_ = 1;
  uint64_t requests_ = 0;
  uint64_t retries_ = 0;
  uint64_t ejections_ = 0;
  uint64_t refusals_ = 0;
  size_t inflight_ = 0;
  // listed_[i][j] is proxies_'s state of resolution_.clusters[i].proxies[j], and listed_stats_[i] the
  // cluster's entry in cluster_stats_, rebuilt by adopt(). Safe to keep: proxies_ erases only unlisted entries,
  // cluster_stats_ erases nothing, and neither moves its nodes.
  std::vector<std::vector<ProxyState*>> listed_;
  std::vector<const ClusterStats*> listed_stats_;
  // One view per resolution_ cluster: adopt() sets the names, weights and totals, choose() the rest, so a
  // request copies no cluster names.
  std::vector<ClusterView> views_;
  // choose()'s scratch, kept to spare a request its allocations: the candidates of cluster i are
  // pool_[pool_range_[i].first .. pool_range_[i].second).
  std::vector<double> shares_;
  std::vector<Candidate> pool_;
  std::vector<std::pair<size_t, size_t>> pool_range_;
  bool started_ = false;
  RpcEndpoint endpoint_;
  Scope scope_;  // last: the pull loop uses everything above
};

}  // namespace tandem::serving
