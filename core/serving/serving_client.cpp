#include "core/serving/serving_client.h"

#include <algorithm>

#include "core/async/sleep.h"
#include "core/runtime/codec.h"

namespace tandem::serving {

namespace {

bool gateway_failure(Errc code) {
  return code == Errc::kUnreachable || code == Errc::kPeerDied || code == Errc::kTimeout ||
         code == Errc::kUnavailable || code == Errc::kResourceExhausted || code == Errc::kNotFound;
}

// The request did no work anywhere (see the contract): retrying it elsewhere adds no load to the service.
bool refused(Errc code) { return code == Errc::kUnreachable || code == Errc::kPeerDied; }

}  // namespace

ServingClient::ServingClient(Env& env, ServingClientOptions options)
    : env_(env),
      options_(std::move(options)),
      random_(env.random.fork("serving-client", stable_hash(options_.service))),
      retry_budget_(options_.retry_ratio, options_.min_retries_per_second),
      outlier_(options_.outlier),
      endpoint_(env.transport, env.clock) {
  resolution_.service = options_.service;
}

void ServingClient::start() {
  if (started_) return;
  started_ = true;
  scope_.spawn(pull_loop());
}

bool ServingClient::ready() const {
  for (const ClusterEntry& entry : resolution_.clusters) {
    if (!entry.proxies.empty() && entry.weight > 0) return true;
  }
  return false;
}

Task<void> ServingClient::pull_loop() {
  while (true) {
    co_await pull_once();
    co_await sleep(env_.clock, options_.pull_interval);
  }
}

Task<bool> ServingClient::pull_once() {
  ResolveRequest request;
  request.service = options_.service;
  Bytes bytes = runtime::encode(request);
  Result<Bytes> reply =
      co_await endpoint_.call(options_.discovery, kDiscoveryResolve, std::move(bytes), options_.pull_interval);
  if (!reply.ok()) co_return false;  // keep the cached view
  Result<Resolution> resolution = runtime::decode<Resolution>(reply.value());
  if (!resolution.ok()) co_return false;
  adopt(std::move(resolution).value());
  co_return true;
}

void ServingClient::adopt(Resolution resolution) {
  for (auto& [endpoint, state] : proxies_) state.listed = false;
  for (const ClusterEntry& entry : resolution.clusters) {
    for (const Endpoint& endpoint : entry.proxies) {
      ProxyState& state = proxies_[endpoint];
      state.cluster = entry.cluster;
      state.stats = &cluster_stats_[entry.cluster];
      state.listed = true;
    }
  }
  std::erase_if(proxies_, [](const auto& item) { return !item.second.listed && item.second.inflight == 0; });
  resolution_ = std::move(resolution);
  listed_.clear();
  listed_stats_.clear();
  views_.clear();
  for (const ClusterEntry& entry : resolution_.clusters) {
    std::vector<ProxyState*>& states = listed_.emplace_back();
    for (const Endpoint& endpoint : entry.proxies) states.push_back(&proxies_.at(endpoint));
    listed_stats_.push_back(&cluster_stats_[entry.cluster]);
    ClusterView& view = views_.emplace_back();
    view.cluster = entry.cluster;
    view.weight = entry.weight;
    view.total = static_cast<uint32_t>(entry.proxies.size());
  }
}

void ServingClient::refresh_views(TimePoint now, std::vector<ClusterView>& views) const {
  for (size_t i = 0; i < views.size(); ++i) {
    ClusterView& view = views[i];
    view.healthy = 0;
    for (const ProxyState* state : listed_[i]) {
      if (!outlier_.ejected(state->outlier, now)) ++view.healthy;
    }
    view.latency_ms = listed_stats_[i]->latency_ms;
  }
}

std::vector<double> ServingClient::current_shares(TimePoint now) const {
  std::vector<ClusterView> views = views_;
  refresh_views(now, views);
  return cluster_shares(views, options_.local_cluster, options_.overprovisioning);
}

std::optional<ServingClient::Candidate> ServingClient::choose(const std::vector<Endpoint>& tried,
                                                              const std::string& avoid_cluster, TimePoint now) {
  refresh_views(now, views_);
  const std::vector<ClusterView>& views = views_;
  std::vector<double>& shares = shares_;
  cluster_shares(views, options_.local_cluster, options_.overprovisioning, shares);
  auto was_tried = [&](const Endpoint& endpoint) {
    return std::find(tried.begin(), tried.end(), endpoint) != tried.end();
  };
  // Candidates per cluster: untried and not ejected; else untried (a last resort beats refusing).
  pool_.clear();
  pool_range_.clear();
  auto has_candidates = [&](size_t i) { return pool_range_[i].second > pool_range_[i].first; };
  for (size_t i = 0; i < views.size(); ++i) {
    const std::vector<Endpoint>& proxies = resolution_.clusters[i].proxies;
    const std::vector<ProxyState*>& states = listed_[i];
    const size_t begin = pool_.size();
    for (size_t j = 0; j < proxies.size(); ++j) {
      if (!was_tried(proxies[j]) && !outlier_.ejected(states[j]->outlier, now)) pool_.push_back({proxies[j], states[j]});
    }
    if (pool_.size() == begin) {
      for (size_t j = 0; j < proxies.size(); ++j) {
        if (!was_tried(proxies[j])) pool_.push_back({proxies[j], states[j]});
      }
      if (pool_.size() > begin && shares[i] == 0 && views[i].weight > 0) shares[i] = 1e-6;
    }
    pool_range_.emplace_back(begin, pool_.size());
    if (!has_candidates(i)) shares[i] = 0;
  }
  // After a timeout, prefer any other cluster that can take the retry.
  if (!avoid_cluster.empty()) {
    bool other = false;
    for (size_t i = 0; i < views.size(); ++i) {
      if (views[i].cluster != avoid_cluster && has_candidates(i) && views[i].weight > 0) other = true;
    }
    if (other) {
      for (size_t i = 0; i < views.size(); ++i) {
        if (views[i].cluster == avoid_cluster) {
          shares[i] = 0;
        } else if (shares[i] == 0 && has_candidates(i) && views[i].weight > 0) {
          shares[i] = 1e-6;
        }
      }
    }
  }
  double total = 0;
  for (double share : shares) total += share;
  if (total <= 0) return std::nullopt;
  double draw = random_.unit() * total;
  size_t chosen = views.size();
  for (size_t i = 0; i < views.size(); ++i) {
    if (shares[i] <= 0) continue;
    chosen = i;
    if (draw < shares[i]) break;
    draw -= shares[i];
  }
  if (chosen == views.size()) return std::nullopt;
  const Candidate* pool = pool_.data() + pool_range_[chosen].first;
  const size_t size = pool_range_[chosen].second - pool_range_[chosen].first;
  if (size == 1) return pool[0];
  const size_t a = random_.below(size);
  size_t b = random_.below(size - 1);
  if (b >= a) ++b;
  auto cost = [](const Candidate& candidate) {
    const ProxyState& state = *candidate.state;
    const double latency = state.latency_ms > 0 ? state.latency_ms : 1.0;
    return latency * (state.inflight + 1);
  };
  return cost(pool[b]) < cost(pool[a]) ? pool[b] : pool[a];
}

void ServingClient::on_result(ProxyState& state, Errc code, Duration latency, TimePoint now) {
  const double weight = options_.latency_ewma_weight;
  if (code == Errc::kOk || code == Errc::kInternal) {
    const double ms = to_ms(latency);
    state.latency_ms = state.latency_ms == 0 ? ms : (1 - weight) * state.latency_ms + weight * ms;
    ClusterStats& cluster = *state.stats;
    cluster.latency_ms = cluster.latency_ms == 0 ? ms : (1 - weight) * cluster.latency_ms + weight * ms;
    outlier_.on_success(state.outlier);
    return;
  }
  if (!gateway_failure(code)) return;
  size_t group = 0;
  size_t ejected = 0;
  for (const auto& [endpoint, other] : proxies_) {
    if (other.cluster != state.cluster || !other.listed) continue;
    ++group;
    if (outlier_.ejected(other.outlier, now)) ++ejected;
  }
  // A down node is certain, not a symptom to confirm: the refusal counts as a whole run of failures, so the
  // proxy is ejected now (still within the group's ejection cap).
  const uint32_t run = options_.outlier.consecutive_failures;
  if (code == Errc::kUnreachable && run > 0) {
    state.outlier.failures_in_a_row = std::max(state.outlier.failures_in_a_row, run - 1);
  }
  if (outlier_.on_failure(state.outlier, now, ejected, std::max<size_t>(group, 1))) ++ejections_;
}

Task<RequestOutcome> ServingClient::request(std::string payload) {
  return request_with(std::move(payload), options_.deadline);
}

Task<RequestOutcome> ServingClient::request_with(std::string payload, Duration deadline_after) {
  RequestOutcome out;
  out.id = next_request_++;
  out.start = env_.clock.now();
  const TimePoint deadline = out.start + deadline_after;
  if (inflight_ >= options_.max_inflight) {
    out.end = out.start;
    out.code = Errc::kResourceExhausted;
    out.error = "the client has max_inflight requests in flight";
    co_return out;
  }
  ++inflight_;
  struct Leave {
    size_t& inflight;
    ~Leave() { --inflight; }
  } leave{inflight_};
  ++requests_;
  retry_budget_.on_request(out.start);

  std::vector<Endpoint> tried;
  std::string avoid_cluster;
  std::optional<Error> last;  // built only when an attempt fails: the common request succeeds at once
  uint32_t counted = 0;       // attempts that count against max_attempts
  uint32_t refusals = 0;      // attempts refused (no work done anywhere)
  bool after_refusal = false; // the previous attempt was refused: this one is not a budgeted retry
  for (uint32_t attempt = 0; counted < options_.max_attempts; ++attempt) {
    const TimePoint now = env_.clock.now();
    if (now >= deadline) {
      last = Error{Errc::kTimeout, "the request deadline of " + format_duration(deadline_after) + " passed"};
      break;
    }
    if (attempt > 0 && !after_refusal) {
      if (!retry_budget_.try_retry(now)) break;
      ++retries_;
    }
    std::optional<Candidate> chosen = choose(tried, avoid_cluster, now);
    if (!chosen) break;
    const Endpoint proxy = chosen->endpoint;
    // Stays valid across the call: proxies_ erases a state only once nothing is in flight on it.
    ProxyState& state = *chosen->state;
    ++state.inflight;
    out.cluster = state.cluster;  // taken now: a pull meanwhile may relabel the proxy
    const Duration left = deadline - now;
    ServeRequest request{out.id, payload, left, attempt};
    RpcEndpoint::Call call(endpoint_, proxy.address(), kServeMethod, runtime::encode(request),
                           std::min(options_.per_try_timeout, left));
    Result<Bytes> reply = co_await call;
    const TimePoint done = env_.clock.now();
    --state.inflight;
    // A proxy discovery dropped meanwhile is forgotten with its last request (and learns nothing from it).
    const bool forgotten = !state.listed && state.inflight == 0;
    if (forgotten) proxies_.erase(proxy);
    out.attempts = attempt + 1;
    if (reply.ok()) {
      Result<ServeReply> decoded = runtime::decode<ServeReply>(reply.value());
      if (!decoded.ok()) {
        last = Error{Errc::kInternal, "undecodable reply: " + decoded.error().message};
        break;
      }
      if (!forgotten) on_result(state, Errc::kOk, done - now, done);
      out.end = done;
      out.code = Errc::kOk;
      out.answer = std::move(decoded.value().payload);
      out.version = std::move(decoded.value().version);
      out.proxy_attempts = decoded.value().proxy_attempts;
      co_return out;
    }
    last = reply.error();
    if (!forgotten) on_result(state, last->code, done - now, done);
    if (!gateway_failure(last->code)) break;
    tried.push_back(proxy);  // only a retry reads it: the usual request allocates nothing for it
    if (last->code == Errc::kTimeout) avoid_cluster = out.cluster;
    after_refusal = refused(last->code) && refusals < options_.max_refused_attempts;
    if (after_refusal) {
      ++refusals;
      ++refusals_;
    } else {
      ++counted;
    }
  }
  if (!last) {
    last = Error{Errc::kUnavailable, "no proxy of " + options_.service + " is known (discovery has not listed any)"};
  }
  out.end = env_.clock.now();
  out.code = last->code;
  out.error = std::move(last->message);
  co_return out;
}

}  // namespace tandem::serving
