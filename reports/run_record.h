// RunRecord: everything a run leaves behind for the checks and the report writers — request outcomes and
// their time series, the fault timeline, node lifecycle spans, world figures. Written by the scenario runner
// while the world runs; read afterwards by reports/checks.h and reports/writers.h, which never see the world
// itself.
//
// Contract:
// - Times are nanoseconds of world time since the start of the run (the sim's virtual time).
// - RequestLog::begin/end bracket each request a client issues; a request's bucket is the one its start falls
//   in, so a window's availability is "of the requests started in it, how many succeeded". settle() runs once
//   after the run: a request that never ended is `abandoned` when its client crashed or paused meanwhile (the
//   caller is gone; nobody waits for the answer) and `lost` otherwise — a lost request is a bug in the
//   service or the client (a missing timeout), which the no-lost-requests check reports.
// - Bounded: per-request state lives only while a request is in flight; kept examples of bad requests are
// capped
//   at kMaxExamples; latencies of successful requests are kept (8 bytes each) for exact percentiles.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/common/result.h"
#include "core/env/time.h"
#include "core/env/transport.h"
#include "core/metrics/histogram.h"
#include "reports/serving_record.h"

namespace tandem::reports {

struct RequestTotals {
  uint64_t issued = 0;
  uint64_t ok = 0;
  uint64_t timeouts = 0;    // kTimeout: no answer within the deadline (after retries)
  uint64_t refused = 0;     // kUnreachable / kPeerDied: failed fast
  uint64_t overloaded = 0;  // kResourceExhausted / kUnavailable: explicit back-pressure
  uint64_t other_errors = 0;
  uint64_t lost = 0;        // never ended, client alive: a bug
  uint64_t abandoned = 0;   // never ended because the client crashed or paused
  uint64_t late = 0;        // ended after the client's own time budget, client alive
  uint64_t not_issued = 0;  // the workload had a request for a client that was down or paused
  uint64_t retried = 0;     // needed more than one attempt

  uint64_t failed() const { return timeouts + refused + overloaded + other_errors + lost; }
  uint64_t judged() const { return ok + failed(); }  // the denominator of availability
  // ok / judged; 1 when nothing was judged (callers check judged() first).
  double availability() const;
  void add(const RequestTotals& other);
};

// One fine-grained bucket of the request series, by start time.
struct SeriesBucket {
  uint64_t issued = 0;
  uint64_t ok = 0;
  uint64_t failed = 0;
};

// A request that ended badly or never did, kept as an example for reports.
struct RequestExample {
  uint32_t service = 0;
  NodeId client = kNoNode;
  int64_t start_ns = 0;
  std::optional<int64_t> end_ns;
  std::string what;  // "lost", "late (took 1.2s, budget 400ms)", ...
};

class RequestLog {
 public:
  using RequestId = uint64_t;
  static constexpr size_t kMaxExamples = 50;
  static constexpr size_t kMaxInFlight = 10'000'000;
  // Replies within this much past the client's budget are not late: timers and message hops add a little.
  static constexpr Duration kLateGrace = std::chrono::milliseconds(50);

  // `bucket` is the resolution of the fine series (recovery, windows); `chart_bucket` (a multiple of it) of
  // the latency series; `horizon` the end of the series (duration + drain).
  RequestLog(Duration bucket, Duration chart_bucket, Duration horizon);

  uint32_t add_service(std::string name);
  const std::vector<std::string>& services() const { return services_; }

  // A client starts a request; `budget` is the longest the client may take to answer it (all attempts).
  RequestId begin(uint32_t service, NodeId client, TimePoint at, Duration budget);
  void end(RequestId id, Errc code, TimePoint at, uint32_t attempts);
  void not_issued(uint32_t service, TimePoint at);
  // Settles requests still in flight and judges late ones. `impaired(client, from, to)` says whether the
  // client was down or paused at some point in [from, to].
  void settle(TimePoint end_of_run, const std::function<bool(NodeId, int64_t, int64_t)>& impaired);

  size_t in_flight() const { return in_flight_.size(); }
  const RequestTotals& totals() const { return totals_; }
  const std::vector<RequestTotals>& per_service() const { return per_service_; }
  Duration bucket() const { return bucket_; }
  Duration chart_bucket() const { return chart_bucket_; }
  const std::vector<SeriesBucket>& series() const { return series_; }
  const std::vector<metrics::Histogram>& chart_latency_ms() const { return chart_latency_ms_; }
  // Latencies (ns) of successful requests: in completion order while the run goes, sorted ascending once
  // settle() ran (sorted once there, because every report and check reads percentiles of them).
  const std::vector<int64_t>& success_latencies_ns() const { return latencies_ns_; }
  const std::vector<RequestExample>& examples() const { return examples_; }

 private:
  struct InFlight {
    uint32_t service;
    NodeId client;
    int64_t start_ns;
    int64_t budget_ns;
  };
  struct LateCandidate {
    InFlight request;
    int64_t end_ns;
  };
  size_t bucket_index(int64_t ns) const;
  void count(uint32_t service, uint64_t RequestTotals::*field);
  void example(const InFlight& request, std::optional<int64_t> end_ns, std::string what);

  Duration bucket_;
  Duration chart_bucket_;
  std::vector<std::string> services_;
  RequestId next_id_ = 1;
  std::unordered_map<RequestId, InFlight> in_flight_;  // looked up by id; iterated only in settle(), sorted
  std::vector<LateCandidate> late_candidates_;
  RequestTotals totals_;
  std::vector<RequestTotals> per_service_;
  std::vector<SeriesBucket> series_;
  std::vector<metrics::Histogram> chart_latency_ms_;
  std::vector<int64_t> latencies_ns_;
  std::vector<RequestExample> examples_;
};

struct FaultSpan {
  uint64_t id = 0;
  std::string kind;
  std::string label;
  std::string target;
  std::string source;
  int64_t start_ns = 0;
  std::optional<int64_t> end_ns;  // absent: still in force at the end of the run
  bool skipped = false;
  std::string skip_reason;
};

// A stretch of time a node was down or paused, from the world trace.
struct NodeSpan {
  NodeId node = kNoNode;
  std::string state;  // "down" or "paused"
  int64_t start_ns = 0;
  std::optional<int64_t> end_ns;
};

// The world trace records reports care about, copied out of the world (reports never see sim/ types).
struct TraceEntry {
  int64_t time_ns = 0;
  NodeId node = kNoNode;
  std::string category;
  std::string detail;
};

// Down/paused spans per node from the world's "fault" records ("crash X", "restart X", "pause X", "resume
// X").
std::vector<NodeSpan> node_spans_from_trace(const std::vector<TraceEntry>& entries);

struct RunRecord {
  std::string scenario;
  uint64_t seed = 0;
  Duration duration{};  // the workload's span; the world ran `drain` longer so requests could finish
  Duration drain{};
  std::vector<std::string> node_names;  // by NodeId
  std::vector<std::string> node_clusters;
  RequestLog requests{std::chrono::milliseconds(100), std::chrono::seconds(1), std::chrono::seconds(1)};
  std::vector<FaultSpan> faults;
  std::vector<NodeSpan> node_spans;
  std::vector<TraceEntry> notes;             // "note" records of the trace (scenario notes, operations)
  std::vector<std::string> nemesis_enabled;  // fault kinds the swarm draw enabled
  std::optional<Duration> heal_at;           // liveness: when everything was healed
  bool world_whole_at_end = true;            // every node up, no network fault left
  std::string world_state_at_end;            // "all 15 nodes up, no network faults" or what is wrong
  uint64_t trace_hash = 0;
  uint64_t trace_records = 0;
  std::map<std::string, double> figures;  // world statistics: events, messages, ...
  ServingRecord serving;

  // Was `node` down or paused at some point in [from_ns, to_ns]?
  bool node_impaired(NodeId node, int64_t from_ns, int64_t to_ns) const;
};

}  // namespace tandem::reports
