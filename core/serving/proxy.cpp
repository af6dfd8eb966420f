#include "core/serving/proxy.h"

#include <algorithm>
#include <functional>

#include "core/runtime/runtime_client.h"

namespace tandem::serving {

namespace {

bool retryable(Errc code) {
  return code == Errc::kPeerDied || code == Errc::kUnavailable || code == Errc::kResourceExhausted ||
         code == Errc::kUnreachable;
}

double p99(const std::deque<double>& values) {
  if (values.empty()) return 0;
  // The value at `index` in sorted order is the k-th largest: one pass keeping the k largest (k is at most 6 for
  // the 512-sample window) instead of copying the window and partitioning it, every status call.
  const size_t index = std::min(values.size() - 1, (values.size() * 99) / 100);
  const size_t k = values.size() - index;
  std::vector<double> largest(k);
  std::partial_sort_copy(values.begin(), values.end(), largest.begin(), largest.end(), std::greater<>());
  return largest[k - 1];
}

}  // namespace

ServingProxy::ServingProxy(runtime::ActorContext& context, std::string service, std::string cluster,
                           ProxyPolicy policy)
    : context_(context),
      service_(std::move(service)),
      cluster_(std::move(cluster)),
      policy_(policy),
      random_(context.random().fork("serving-proxy", context.id())),
      retry_budget_(policy.retry_ratio, policy.min_retries_per_second),
      requests_total_(context.metrics().counter("serving_proxy_requests_total",
                                                {{"service", service_}, {"cluster", cluster_}})),
      shed_total_(context.metrics().counter("serving_proxy_shed_total", {{"service", service_}, {"cluster", cluster_}})),
      failed_total_(
          context.metrics().counter("serving_proxy_failed_total", {{"service", service_}, {"cluster", cluster_}})),
      latency_ms_(
          context.metrics().histogram("serving_proxy_latency_ms", {{"service", service_}, {"cluster", cluster_}})),
      slots_(context.clock(), policy.max_inflight, policy.max_queue),
      endpoint_(std::make_unique<RpcEndpoint>(context.env().transport, context.clock())) {
  endpoint_->serve(kServeMethod, [this](Address, Bytes request) { return serve(std::move(request)); });
}

Status ServingProxy::fence(uint64_t epoch) {
  if (epoch < epoch_) {
    return Error{Errc::kFailedPrecondition, "fenced: AppMaster epoch " + std::to_string(epoch) +
                                                " is older than epoch " + std::to_string(epoch_) + " seen by proxy " +
                                                std::to_string(context_.id())};
  }
  if (epoch > epoch_) epoch_ = epoch;
  return Status{};
}

ProxyStatus ServingProxy::snapshot() const {
  ProxyStatus status;
  status.id = context_.id();
  status.data = Endpoint::of(endpoint_->address());
  status.epoch = epoch_;
  status.route_generation = routes_.generation;
  status.routable_backends = static_cast<uint32_t>(routable_.size());
  status.inflight = slots_.in_use();
  status.queued = static_cast<uint32_t>(slots_.waiting());
  status.requests = requests_;
  status.shed = shed_;
  status.failed = failed_;
  status.retries = retries_;
  for (const auto& [version, window] : versions_) {
    status.versions[version] = VersionStats{window.requests, window.errors, p99(window.latencies_ms)};
  }
  return status;
}

Task<Result<ProxyStatus>> ServingProxy::status(uint64_t epoch) {
  if (epoch > 0) {
    if (Status fenced = fence(epoch); !fenced.ok()) co_return fenced.error();
  }
  co_return snapshot();
}

Task<Result<ProxyStatus>> ServingProxy::update_routes(RouteTable table) {
  if (Status fenced = fence(table.epoch); !fenced.ok()) co_return fenced.error();
  if (table.epoch == routes_.epoch && table.generation < routes_.generation) co_return snapshot();
  routes_ = std::move(table);
  for (auto& [id, state] : backends_) state.listed = false;
  routable_.clear();
  for (const RouteEntry& entry : routes_.backends) {
    BackendState& state = backends_[entry.backend];
    state.version = entry.version;
    state.listed = true;
    state.ejected_until = TimePoint{};  // a fresh table from the AppMaster vouches for it
    routable_.push_back(Routable{entry.backend, &state});
  }
  // Forget backends that are neither listed nor busy.
  std::erase_if(backends_, [](const auto& item) { return !item.second.listed && item.second.inflight == 0; });
  co_return snapshot();
}

Task<Result<std::vector<RecordedRequest>>> ServingProxy::recorded(uint64_t epoch, uint32_t limit) {
  if (epoch > 0) {
    if (Status fenced = fence(epoch); !fenced.ok()) co_return fenced.error();
  }
  std::vector<RecordedRequest> out;
  for (auto it = recorded_.rbegin(); it != recorded_.rend() && out.size() < limit; ++it) out.push_back(*it);
  co_return out;
}

ServingProxy::Routable ServingProxy::pick(const std::vector<ActorId>& tried, TimePoint now) {
  auto usable = [&](const Routable& backend) {
    return backend.state->ejected_until <= now && std::find(tried.begin(), tried.end(), backend.id) == tried.end();
  };
  auto less_busy = [](const Routable& a, const Routable& b) { return b.state->inflight < a.state->inflight ? b : a; };
  // Without version weights, sample two usable backends directly: O(1) per request instead of a scan of every
  // listed backend (the scan was 45% of a 1,000-instance run's time). Falls back to the scan when draws keep
  // hitting unusable ones (many ejected or already tried).
  if (routes_.version_weights.empty() && routable_.size() > kPickScanBelow) {
    const Routable* found[2] = {nullptr, nullptr};
    int count = 0;
    for (uint32_t draw = 0; draw < kMaxPickDraws && count < 2; ++draw) {
      const Routable& backend = routable_[random_.below(routable_.size())];
      if (!usable(backend) || (count == 1 && found[0]->id == backend.id)) continue;
      found[count++] = &backend;
    }
    if (count == 2) return less_busy(*found[0], *found[1]);
  }
  std::vector<Routable> candidates;
  candidates.reserve(routable_.size());
  if (!routes_.version_weights.empty()) {
    // Draw a version by weight among versions that have a usable backend.
    std::map<std::string, std::vector<Routable>> by_version;
    for (const Routable& backend : routable_) {
      if (usable(backend)) by_version[backend.state->version].push_back(backend);
    }
    uint64_t total = 0;
    for (const auto& [version, ids] : by_version) {
      auto weight = routes_.version_weights.find(version);
      if (weight != routes_.version_weights.end()) total += weight->second;
    }
    if (total > 0) {
      uint64_t draw = random_.below(total);
      for (const auto& [version, ids] : by_version) {
        auto weight = routes_.version_weights.find(version);
        const uint64_t w = weight == routes_.version_weights.end() ? 0 : weight->second;
        if (draw < w) {
          candidates = ids;
          break;
        }
        draw -= w;
      }
    }
  }
  if (candidates.empty()) {
    for (const Routable& backend : routable_) {
      if (usable(backend)) candidates.push_back(backend);
    }
  }
  if (candidates.empty()) return Routable{};
  if (candidates.size() == 1) return candidates[0];
  const size_t a = random_.below(candidates.size());
  size_t b = random_.below(candidates.size() - 1);
  if (b >= a) ++b;
  return less_busy(candidates[a], candidates[b]);
}

void ServingProxy::note_version(std::string_view version, bool error, Duration latency) {
  auto found = versions_.find(version);
  if (found == versions_.end()) found = versions_.emplace(std::string(version), VersionWindow{}).first;
  VersionWindow& window = found->second;
  ++window.requests;
  if (error) ++window.errors;
  window.latencies_ms.push_back(to_ms(latency));
  while (window.latencies_ms.size() > kLatencyWindow) window.latencies_ms.pop_front();
}

Task<Result<Bytes>> ServingProxy::serve(Bytes request_bytes) {
  Result<ServeRequest> decoded = runtime::decode<ServeRequest>(request_bytes);
  if (!decoded.ok()) co_return Error{Errc::kInvalidArgument, "undecodable request: " + decoded.error().message};
  ServeRequest& request = decoded.value();  // lives in this frame while route() runs
  const TimePoint start = context_.clock().now();
  const TimePoint deadline = start + request.budget;
  ++requests_;
  requests_total_.increment();
  retry_budget_.on_request(start);

  const bool queue_full = slots_.in_use() >= slots_.capacity() && slots_.waiting() >= policy_.max_queue;
  if (queue_full) {
    ++shed_;
    shed_total_.increment();
    co_return Error{Errc::kResourceExhausted, "proxy " + std::to_string(context_.id()) + " of " + service_ +
                                                  " is overloaded: " + std::to_string(slots_.in_use()) +
                                                  " in flight and " + std::to_string(slots_.waiting()) +
                                                  " queued (load shed)"};
  }
  std::optional<Slots::Permit> permit = slots_.try_acquire();
  if (!permit) permit = co_await slots_.acquire(deadline);
  if (!permit) {
    ++failed_;
    failed_total_.increment();
    co_return Error{Errc::kTimeout, "request waited past its deadline in proxy " + std::to_string(context_.id())};
  }
  Result<Bytes> reply = co_await route(request, deadline);
  latency_ms_.record(to_ms(context_.clock().now() - start));
  if (!reply.ok()) {
    ++failed_;
    failed_total_.increment();
  }
  co_return std::move(reply);
}

Task<Result<Bytes>> ServingProxy::route(ServeRequest& request, TimePoint deadline) {
  std::vector<ActorId> tried;
  std::optional<Error> last;  // built only when an attempt fails: the common request succeeds at once
  for (uint32_t attempt = 0; attempt < policy_.max_attempts; ++attempt) {
    const TimePoint now = context_.clock().now();
    if (now >= deadline) {
      co_return Error{Errc::kTimeout, "request budget ran out in proxy " + std::to_string(context_.id())};
    }
    if (attempt > 0) {
      if (!retry_budget_.try_retry(now)) break;
      ++retries_;
    }
    const Routable picked = pick(tried, now);
    if (picked.state == nullptr) break;
    const ActorId backend = picked.id;
    // Stays valid across the call: backends_ erases a state only once nothing is in flight on it.
    BackendState& chosen = *picked.state;
    const std::string version = chosen.version;
    ++chosen.inflight;
    request.budget = deadline - now;
    runtime::CallOptions options;
    options.timeout = deadline - now;
    // The call encodes `request` now, so the retry below may change it again.
    runtime::ActorCall call(context_.client(), backend, "handle", runtime::encode_args(request), options);
    Result<Bytes> reply = co_await call;
    ServeReplyView value;  // views into reply's bytes
    if (reply.ok()) {
      Result<ServeReplyView> view = runtime::decode<ServeReplyView>(reply.value());
      if (view.ok()) {
        value = view.value();
      } else {
        reply = Error{Errc::kInvalidArgument, "undecodable result of " + call.method() + ": " + view.error().message};
      }
    }
    const TimePoint done = context_.clock().now();
    --chosen.inflight;
    if (!reply.ok() && (reply.error().code == Errc::kPeerDied || reply.error().code == Errc::kUnreachable)) {
      chosen.ejected_until = done + kLocalEjection;
    }
    if (!chosen.listed && chosen.inflight == 0) backends_.erase(backend);
    if (reply.ok()) {
      note_version(value.version, false, done - now);
      if (seen_++ % kRecordEvery == 0) {
        recorded_.push_back(RecordedRequest{request.payload, std::string(value.payload), std::string(value.version),
                                            done - now, false});
        while (recorded_.size() > kMaxRecordedRequests) recorded_.pop_front();
      }
      if (value.proxy_attempts == attempt + 1) co_return std::move(reply);  // forwarded as it came
      co_return runtime::encode(ServeReply{std::string(value.payload), std::string(value.version), value.backend,
                                           attempt + 1});
    }
    last = reply.error();
    if (last->code == Errc::kInternal) note_version(version, true, done - now);
    if (!retryable(last->code)) break;
    tried.push_back(backend);  // only a retry reads it: the usual request allocates nothing for it
  }
  if (last) {
    // A backend's death is not the proxy's: the client reads kPeerDied / kUnreachable as "this proxy is gone, the
    // request did no work", which a backend that died mid-request cannot promise.
    if (last->code == Errc::kPeerDied || last->code == Errc::kUnreachable) {
      co_return Error{Errc::kUnavailable, "no backend of " + service_ + " could serve it (last: " + last->message + ")"};
    }
    co_return std::move(*last);
  }
  co_return Error{Errc::kUnavailable, "proxy " + std::to_string(context_.id()) + " of " + service_ + " in " + cluster_ +
                                          " has no healthy backend"};
}

}  // namespace tandem::serving
