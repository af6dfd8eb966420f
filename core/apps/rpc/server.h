// The rpc service kind's server (scenarios/services/rpc.h): holds each request for a service-time sample and
// answers with a fixed reply — the model of the demo's quote service. The sim hosts a Server as a node part of
// each server node; the real world hosts an RpcServerActor (a Server inside) on each server node's
// `tandem node`, so both worlds answer with the same code.
//
// Contract:
// - Server serves kRpcCallMethod on `port` of env.transport. With max_concurrency requests in flight, a request
//   is refused at once with kResourceExhausted; otherwise it is held for service_time.sample(env.random) and
//   answered with `reply`. service_time and reply are read through the references at each request (their
//   owner outlives the Server and may change them: a set_service_time operation).
// - RpcServerActor(spec): owns its Server and the spec's values. start() takes the service time stored under
//   spec.service_time_key in the control store's KV when there is one (the deployer writes it there at each
//   change, so an actor restarted after its node died comes back with the latest), else spec.service_time.
//   set_service_time() changes it from then on; a model that does not validate gives kInvalidArgument. Two
//   servers on one node would bind one port twice: deploy at most one per node (hard node affinity).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/async/rpc.h"
#include "core/common/latency_model.h"
#include "core/runtime/actor.h"
#include "core/runtime/catalog.h"

namespace tandem::apps {

inline constexpr uint32_t kRpcCallMethod = RpcEndpoint::kFirstMethod;
inline constexpr const char* kRpcServerClass = "RpcServer";

class RpcServerCore {
 public:
  RpcServerCore(Env& env, const LatencyModel& service_time, int64_t max_concurrency, const Bytes& reply, Port port);
  int64_t in_flight() const { return in_flight_; }

 private:
  int64_t in_flight_ = 0;
  RpcEndpoint endpoint_;
};

// A LatencyModel as it crosses the wire (actor arguments, the KV).
struct LatencyWire {
  uint8_t kind = 0;
  Duration base{};
  Duration spread{};
  static LatencyWire from(const LatencyModel& model);
  Result<LatencyModel> model() const;  // validated
  TANDEM_CODEC_FIELDS(kind, base, spread)
};

struct RpcServerSpec {
  Port port = 0;
  LatencyWire service_time;
  int64_t max_concurrency = 256;
  int64_t reply_bytes = 64;
  std::string service_time_key;  // in the control store's KV; empty: none
  TANDEM_CODEC_FIELDS(port, service_time, max_concurrency, reply_bytes, service_time_key)
};

class RpcServerActor final : public runtime::Actor {
 public:
  RpcServerActor(runtime::ActorContext& context, RpcServerSpec spec);
  Task<Status> start() override;
  Task<Status> set_service_time(LatencyWire service_time);

 private:
  runtime::ActorContext& context_;
  RpcServerSpec spec_;
  LatencyModel service_time_;
  Bytes reply_;
  std::unique_ptr<RpcServerCore> server_;  // made in start(), once the service time is known
};

void register_rpc_classes(runtime::RuntimeCatalog& catalog);

}  // namespace tandem::apps
