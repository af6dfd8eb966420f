#include "reports/run_record.h"

#include <algorithm>
#include <utility>

namespace tandem::reports {

namespace {

// Sorts a run's success latencies: an LSD radix sort, 11 bits a pass and only as many passes as the largest value
// needs (3 for latencies under 8.6 s), several times faster than std::sort on millions of values. Small or
// negative inputs take std::sort.
void sort_latencies(std::vector<int64_t>& values) {
  constexpr int kDigitBits = 11;
  constexpr size_t kDigits = size_t{1} << kDigitBits;
  const bool small = values.size() < kDigits;
  const bool negative = std::any_of(values.begin(), values.end(), [](int64_t value) { return value < 0; });
  if (small || negative) {
    std::sort(values.begin(), values.end());
    return;
  }
  const int64_t largest = *std::max_element(values.begin(), values.end());
  std::vector<int64_t> buffer(values.size());
  std::vector<size_t> starts(kDigits);
  for (int shift = 0; shift < 63 && (largest >> shift) != 0; shift += kDigitBits) {
    std::fill(starts.begin(), starts.end(), 0);
    for (int64_t value : values) ++starts[static_cast<size_t>(value >> shift) & (kDigits - 1)];
    size_t total = 0;
    for (size_t& start : starts) total += std::exchange(start, total);
    for (int64_t value : values) buffer[starts[static_cast<size_t>(value >> shift) & (kDigits - 1)]++] = value;
    values.swap(buffer);
  }
}

}  // namespace

double RequestTotals::availability() const {
  const uint64_t denominator = judged();
  return denominator == 0 ? 1.0 : static_cast<double>(ok) / static_cast<double>(denominator);
}

void RequestTotals::add(const RequestTotals& other) {
  issued += other.issued;
  ok += other.ok;
  timeouts += other.timeouts;
  refused += other.refused;
  overloaded += other.overloaded;
  other_errors += other.other_errors;
  lost += other.lost;
  abandoned += other.abandoned;
  late += other.late;
  not_issued += other.not_issued;
  retried += other.retried;
}

RequestLog::RequestLog(Duration bucket, Duration chart_bucket, Duration horizon)
    : bucket_(bucket), chart_bucket_(chart_bucket) {
  TANDEM_CHECK(bucket > Duration::zero(), "the series bucket must be positive");
  TANDEM_CHECK(chart_bucket >= bucket, "the chart bucket must be at least the series bucket");
  series_.resize(static_cast<size_t>(horizon / bucket) + 1);
  chart_latency_ms_.resize(static_cast<size_t>(horizon / chart_bucket) + 1);
}

uint32_t RequestLog::add_service(std::string name) {
  services_.push_back(std::move(name));
  per_service_.emplace_back();
  return static_cast<uint32_t>(services_.size() - 1);
}

size_t RequestLog::bucket_index(int64_t ns) const {
  const auto index = static_cast<size_t>(std::max<int64_t>(0, ns) / bucket_.count());
  return std::min(index, series_.size() - 1);
}

void RequestLog::count(uint32_t service, uint64_t RequestTotals::*field) {
  ++(totals_.*field);
  ++(per_service_.at(service).*field);
}

void RequestLog::example(const InFlight& request, std::optional<int64_t> end_ns, std::string what) {
  if (examples_.size() >= kMaxExamples) return;
  examples_.push_back(
      RequestExample{request.service, request.client, request.start_ns, end_ns, std::move(what)});
}

RequestLog::RequestId RequestLog::begin(uint32_t service, NodeId client, TimePoint at, Duration budget) {
  TANDEM_CHECK(service < services_.size(), "begin: unknown service index");
  TANDEM_CHECK(in_flight_.size() < kMaxInFlight, "more requests in flight than RequestLog::kMaxInFlight");
  const RequestId id = next_id_++;
  in_flight_.emplace(id, InFlight{service, client, to_ns(at), budget.count()});
  count(service, &RequestTotals::issued);
  ++series_[bucket_index(to_ns(at))].issued;
  return id;
}

void RequestLog::end(RequestId id, Errc code, TimePoint at, uint32_t attempts) {
  const auto it = in_flight_.find(id);
  TANDEM_CHECK(it != in_flight_.end(), "end: a request ended twice or never began");
  const InFlight request = it->second;
  in_flight_.erase(it);
  const int64_t end_ns = to_ns(at);
  const int64_t latency_ns = end_ns - request.start_ns;
  SeriesBucket& bucket = series_[bucket_index(request.start_ns)];
  if (attempts > 1) count(request.service, &RequestTotals::retried);
  switch (code) {
    case Errc::kOk:
      count(request.service, &RequestTotals::ok);
      ++bucket.ok;
      latencies_ns_.push_back(latency_ns);
      chart_latency_ms_[std::min(chart_latency_ms_.size() - 1,
                                 static_cast<size_t>(request.start_ns / chart_bucket_.count()))]
          .record(static_cast<double>(latency_ns) / 1e6);
      break;
    case Errc::kTimeout:
      count(request.service, &RequestTotals::timeouts);
      ++bucket.failed;
      break;
    case Errc::kUnreachable:
    case Errc::kPeerDied:
      count(request.service, &RequestTotals::refused);
      ++bucket.failed;
      break;
    case Errc::kResourceExhausted:
    case Errc::kUnavailable:
      count(request.service, &RequestTotals::overloaded);
      ++bucket.failed;
      break;
    default:
      count(request.service, &RequestTotals::other_errors);
      ++bucket.failed;
      break;
  }
  if (latency_ns > request.budget_ns + kLateGrace.count()) {
    if (late_candidates_.size() < kMaxInFlight) late_candidates_.push_back(LateCandidate{request, end_ns});
  }
}

void RequestLog::not_issued(uint32_t service, TimePoint) { count(service, &RequestTotals::not_issued); }

void RequestLog::settle(TimePoint end_of_run, const std::function<bool(NodeId, int64_t, int64_t)>& impaired) {
  const int64_t end_ns = to_ns(end_of_run);
  for (const LateCandidate& late : late_candidates_) {
    if (impaired(late.request.client, late.request.start_ns, late.end_ns)) continue;
    count(late.request.service, &RequestTotals::late);
    example(late.request, late.end_ns,
            "late: took " + format_duration(Duration(late.end_ns - late.request.start_ns)) + ", budget " +
                format_duration(Duration(late.request.budget_ns)));
  }
  late_candidates_.clear();
  // In id order, so the kept examples do not depend on hash-map order.
  std::vector<std::pair<RequestId, InFlight>> pending(in_flight_.begin(), in_flight_.end());
  std::sort(pending.begin(), pending.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [id, request] : pending) {
    if (impaired(request.client, request.start_ns, end_ns)) {
      count(request.service, &RequestTotals::abandoned);
      continue;
    }
    count(request.service, &RequestTotals::lost);
    ++series_[bucket_index(request.start_ns)].failed;
    example(request, std::nullopt, "lost: no reply and no error by the end of the run");
  }
  in_flight_.clear();
  sort_latencies(latencies_ns_);
}

std::vector<NodeSpan> node_spans_from_trace(const std::vector<TraceEntry>& entries) {
  std::vector<NodeSpan> spans;
  std::map<NodeId, size_t> open_down;
  std::map<NodeId, size_t> open_paused;
  auto starts_with = [](const std::string& text, std::string_view prefix) {
    return text.rfind(prefix, 0) == 0;
  };
  auto close = [&](std::map<NodeId, size_t>& open, NodeId node, int64_t time_ns) {
    const auto it = open.find(node);
    if (it == open.end()) return;
    spans[it->second].end_ns = time_ns;
    open.erase(it);
  };
  for (const TraceEntry& entry : entries) {
    if (entry.category != "fault" || entry.node == kNoNode) continue;
    if (starts_with(entry.detail, "crash ")) {
      close(open_paused, entry.node, entry.time_ns);  // a crash ends a pause: the node is down instead
      if (!open_down.contains(entry.node)) {
        open_down[entry.node] = spans.size();
        spans.push_back(NodeSpan{entry.node, "down", entry.time_ns, std::nullopt});
      }
    } else if (starts_with(entry.detail, "restart ")) {
      close(open_down, entry.node, entry.time_ns);
    } else if (starts_with(entry.detail, "pause ")) {
      if (!open_paused.contains(entry.node)) {
        open_paused[entry.node] = spans.size();
        spans.push_back(NodeSpan{entry.node, "paused", entry.time_ns, std::nullopt});
      }
    } else if (starts_with(entry.detail, "resume ")) {
      close(open_paused, entry.node, entry.time_ns);
    }
  }
  return spans;
}

bool RunRecord::node_impaired(NodeId node, int64_t from_ns, int64_t to_ns) const {
  for (const NodeSpan& span : node_spans) {
    if (span.node != node) continue;
    const int64_t span_end = span.end_ns.value_or(INT64_MAX);
    if (span.start_ns <= to_ns && span_end >= from_ns) return true;
  }
  return false;
}

}  // namespace tandem::reports
