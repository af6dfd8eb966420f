#include "core/apps/rpc/server.h"

#include "core/async/sleep.h"
#include "core/runtime/runtime_client.h"

namespace tandem::apps {

RpcServerCore::RpcServerCore(Env& env, const LatencyModel& service_time, int64_t max_concurrency, const Bytes& reply,
                             Port port)
    : endpoint_(env.transport, env.clock, port) {
  endpoint_.serve(kRpcCallMethod,
                  [&env, &service_time, max_concurrency, &reply, this](Address, Bytes) -> Task<Result<Bytes>> {
                    if (in_flight_ >= max_concurrency) {
                      co_return make_error(Errc::kResourceExhausted, "server at max_concurrency");
                    }
                    ++in_flight_;
                    co_await sleep(env.clock, service_time.sample(env.random));
                    --in_flight_;
                    co_return reply;
                  });
}

LatencyWire LatencyWire::from(const LatencyModel& model) {
  return LatencyWire{static_cast<uint8_t>(model.kind), model.base, model.spread};
}

Result<LatencyModel> LatencyWire::model() const {
  if (kind > static_cast<uint8_t>(LatencyModel::Kind::kExponential)) {
    return make_error(Errc::kInvalidArgument, "unknown latency kind " + std::to_string(kind));
  }
  LatencyModel model;
  model.kind = static_cast<LatencyModel::Kind>(kind);
  model.base = base;
  model.spread = spread;
  if (Status valid = model.validate(); !valid.ok()) return valid.error();
  return model;
}

RpcServerActor::RpcServerActor(runtime::ActorContext& context, RpcServerSpec spec)
    : context_(context), spec_(std::move(spec)), reply_(static_cast<size_t>(std::max<int64_t>(0, spec_.reply_bytes)), 'r') {}

Task<Status> RpcServerActor::start() {
  Result<LatencyModel> model = spec_.service_time.model();
  if (!model.ok()) co_return Error{Errc::kInvalidArgument, "RpcServer service time: " + model.error().message};
  service_time_ = model.value();
  if (!spec_.service_time_key.empty()) {
    Result<std::optional<Bytes>> stored = co_await context_.client().kv_get(spec_.service_time_key);
    if (!stored.ok()) co_return stored.error();
    if (stored.value()) {
      Result<LatencyWire> wire = runtime::decode<LatencyWire>(*stored.value());
      if (!wire.ok()) co_return Error{Errc::kInvalidArgument, spec_.service_time_key + ": " + wire.error().message};
      Result<LatencyModel> latest = wire.value().model();
      if (!latest.ok()) co_return Error{Errc::kInvalidArgument, spec_.service_time_key + ": " + latest.error().message};
      service_time_ = latest.value();
    }
  }
  server_ = std::make_unique<RpcServerCore>(context_.env(), service_time_, spec_.max_concurrency, reply_, spec_.port);
  co_return Status{};
}

Task<Status> RpcServerActor::set_service_time(LatencyWire service_time) {
  Result<LatencyModel> model = service_time.model();
  if (!model.ok()) co_return Error{Errc::kInvalidArgument, "set_service_time: " + model.error().message};
  service_time_ = model.value();
  co_return Status{};
}

void register_rpc_classes(runtime::RuntimeCatalog& catalog) {
  catalog.actor_classes.add<RpcServerActor, RpcServerSpec>(kRpcServerClass)
      .method("set_service_time", &RpcServerActor::set_service_time);
}

}  // namespace tandem::apps
