// The values serving components exchange: requests and replies on the data plane, and the status reports and
// commands of the control plane (AppMaster <-> proxies and backends).
//
// Contract: plain codec values (core/runtime/codec.h), fields appended, never reordered. Deadlines cross the
// wire as a remaining budget (a Duration), never as a TimePoint, because two nodes' clocks may disagree.
// Every control command carries the sender's AppMaster epoch (see core/serving/epoch_lease.h): a proxy or
// backend remembers the highest epoch it has seen and refuses commands from lower ones (kFailedPrecondition,
// "fenced"), so a deposed AppMaster can never undo what its successor did.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/env/time.h"
#include "core/env/transport.h"
#include "core/runtime/codec.h"
#include "core/runtime/types.h"

namespace tandem::serving {

using runtime::ActorId;

// A transport address as a codec value.
struct Endpoint {
  NodeId node = kNoNode;
  Port port = 0;
  Address address() const { return Address{node, port}; }
  static Endpoint of(Address address) { return Endpoint{address.node, address.port}; }
  friend auto operator<=>(const Endpoint&, const Endpoint&) = default;
  TANDEM_CODEC_FIELDS(node, port)
};

// --- Data plane ----------------------------------------------------------------------------------------------

// RPC method ids on a proxy's data endpoint.
inline constexpr uint32_t kServeMethod = 40;

struct ServeRequest {
  uint64_t request_id = 0;
  std::string payload;
  Duration budget{};     // time left for the whole request when sent
  uint32_t attempt = 0;  // 0 = first try from the client
  TANDEM_CODEC_FIELDS(request_id, payload, budget, attempt)
};

struct ServeReply {
  std::string payload;
  std::string version;  // the version that answered
  ActorId backend = 0;
  uint32_t proxy_attempts = 1;  // backend calls the proxy made
  TANDEM_CODEC_FIELDS(payload, version, backend, proxy_attempts)
};

// A ServeReply's encoding read in place (the views point into the bytes it was decoded from): how a proxy reads the
// reply it forwards without copying it.
struct ServeReplyView {
  std::string_view payload;
  std::string_view version;
  ActorId backend = 0;
  uint32_t proxy_attempts = 1;
  TANDEM_CODEC_FIELDS(payload, version, backend, proxy_attempts)
};

// --- Backends ------------------------------------------------------------------------------------------------

enum class BackendPhase : uint8_t { kServing = 0, kReloading, kStopping };
inline bool codec_valid(BackendPhase phase) { return phase <= BackendPhase::kStopping; }
std::string_view backend_phase_name(BackendPhase phase);

struct BackendStatus {
  ActorId id = 0;
  std::string version;
  BackendPhase phase = BackendPhase::kServing;
  uint32_t inflight = 0;  // requests being served or waiting for a slot
  uint64_t served = 0;
  uint64_t errors = 0;
  uint64_t epoch = 0;     // highest AppMaster epoch seen
  uint64_t reloads = 0;
  TANDEM_CODEC_FIELDS(id, version, phase, inflight, served, errors, epoch, reloads)
};

// --- Proxies -------------------------------------------------------------------------------------------------

struct RouteEntry {
  ActorId backend = 0;
  std::string version;
  friend bool operator==(const RouteEntry&, const RouteEntry&) = default;
  TANDEM_CODEC_FIELDS(backend, version)
};

// What a proxy may route to. `version_weights` empty: every listed backend alike; else a request first picks
// a version by weight (among versions with a backend listed), then a backend of that version.
struct RouteTable {
  uint64_t epoch = 0;
  uint64_t generation = 0;  // bumped by the AppMaster on every change; proxies ignore older tables
  std::vector<RouteEntry> backends;
  std::map<std::string, uint32_t> version_weights;
  friend bool operator==(const RouteTable&, const RouteTable&) = default;
  TANDEM_CODEC_FIELDS(epoch, generation, backends, version_weights)
};

// One request a proxy recorded for later replay during validation, with what the serving version answered.
struct RecordedRequest {
  std::string payload;
  std::string answer;
  std::string version;
  Duration latency{};
  bool failed = false;
  TANDEM_CODEC_FIELDS(payload, answer, version, latency, failed)
};

// Counters a proxy keeps per version that answered (for canary gates): cumulative since the proxy started,
// and the p99 of the last kLatencyWindow latencies.
struct VersionStats {
  uint64_t requests = 0;
  uint64_t errors = 0;
  double p99_ms = 0;
  TANDEM_CODEC_FIELDS(requests, errors, p99_ms)
};

struct ProxyStatus {
  ActorId id = 0;
  Endpoint data;  // where clients send requests
  uint64_t epoch = 0;
  uint64_t route_generation = 0;
  uint32_t routable_backends = 0;
  uint32_t inflight = 0;
  uint32_t queued = 0;
  uint64_t requests = 0;
  uint64_t shed = 0;
  uint64_t failed = 0;
  uint64_t retries = 0;
  std::map<std::string, VersionStats> versions;
  TANDEM_CODEC_FIELDS(id, data, epoch, route_generation, routable_backends, inflight, queued, requests, shed, failed,
                      retries, versions)
};

}  // namespace tandem::serving
