// The "rpc" service kind: request/response servers with a service-time distribution, and local-first clients
// with per-attempt deadlines, retries, backoff and optional ejection of failing servers — the model of the
// `tandem demo` quote service, and the simplest thing a fault scenario can exercise.
//
// Scenario entry (see scenarios/schema.json, "rpcService"):
//   {"kind": "rpc", "name": "quote", "servers": "server", "clients": "client",
//    "clusters": ["east-a", "west-a"],                       // optional: default every cluster with the
//    groups "service_time": {"kind": "lognormal", "mean": "2ms", "stddev": "1ms"}, "max_concurrency": 256, //
//    per server; beyond it: kResourceExhausted "deadline": "200ms",                                    // per
//    attempt "retry": {"attempts": 2, "backoff": "0s", "prefer": "any"},   // prefer: any | local | remote
//    "routing": {"local_fraction": 0.8, "eject_for": "0s"},
//    "request_bytes": 64, "reply_bytes": 64}
// Operations: {"op": "set_service_time", "service": "quote", "service_time": {...}} changes the servers'
// service time from then on (a slow deploy, a noisy neighbour).
//
// A request's outcome is the last attempt's: a reply, or the error of the last try. Its budget (the longest a
// client takes) is attempts * deadline + (attempts - 1) * backoff.
//
// The parts below are shared with the kind's real deployment (scenarios/real/real_rpc.cpp): the parsed
// configuration and the client. The server is core/apps/rpc/server.h's, in both worlds.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/async/rpc.h"
#include "core/async/scope.h"
#include "core/common/latency_model.h"
#include "reports/run_record.h"
#include "scenarios/service.h"

namespace tandem::scenarios {

std::unique_ptr<ServiceKind> make_rpc_service_kind();

enum class RpcPrefer : uint8_t { kAny, kLocal, kRemote };

// Known bugs a scenario can plant on purpose ("planted_bug"), so `tandem explore` can prove it finds and
// shrinks real failures (issue 7's self-test). Never set by default.
enum class RpcPlantedBug : uint8_t {
  kNone,
  kNoDeadline,       // clients wait for a reply forever: a lost message loses the request
  kRetrySameServer,  // a retry goes back to the server that just failed
};

struct RpcServiceConfig {
  std::string name;
  std::string server_group;
  std::string client_group;
  std::vector<sim::ClusterId> clusters;
  std::vector<NodeId> servers;  // ascending
  std::vector<NodeId> clients;  // ascending
  LatencyModel service_time = LatencyModel::lognormal(std::chrono::milliseconds(2), std::chrono::milliseconds(1));
  int64_t max_concurrency = 256;
  Duration deadline = std::chrono::milliseconds(200);
  int64_t attempts = 2;
  Duration backoff{};
  RpcPrefer prefer = RpcPrefer::kAny;
  double local_fraction = 0.8;
  Duration eject_for{};
  int64_t request_bytes = 64;
  int64_t reply_bytes = 64;
  RpcPlantedBug planted_bug = RpcPlantedBug::kNone;
};

// The rpc service's configuration, nullptr when `spec` is another kind's.
const RpcServiceConfig* rpc_config(const ServiceSpec& spec);
// The longest a client takes on one request: attempts * deadline + (attempts - 1) * backoff.
Duration rpc_request_budget(const RpcServiceConfig& config);
// The new service time of a set_service_time operation; nullopt for any other operation.
std::optional<LatencyModel> rpc_set_service_time(const ServiceOperation& operation);
// The figures both worlds report: rpc.<name>.servers and rpc.<name>.clients.
void add_rpc_figures(reports::RunRecord& record, const RpcServiceConfig& config);

// What the clients of one rpc service share; its owner outlives them.
struct RpcTargets {
  RpcServiceConfig config;                      // the times the clients use (scaled on the real world)
  std::vector<Address> servers;                 // by server index
  std::vector<sim::ClusterId> server_clusters;  // by server index
  Bytes request;
};

// One client node's requests: local-first server choice, per-attempt deadlines, retries with backoff, ejection
// of servers that failed. A request's outcome is its last attempt's. `cut`, when set, says an attempt to a
// server is cut by a fault the transport does not make itself (the real world's client nodes share the
// driver's transport): that attempt sends nothing and waits out its deadline, as a lost message does.
class RpcClient {
 public:
  using Done = std::function<void(reports::RequestLog::RequestId, Errc, uint32_t attempts)>;
  using Cut = std::function<bool(size_t server)>;

  RpcClient(Env& env, const RpcTargets& targets, sim::ClusterId cluster, Done done, Cut cut = {});

  void start(reports::RequestLog::RequestId id) { scope_.spawn(run(id)); }
  uint64_t attempts_cut() const { return attempts_cut_; }

 private:
  bool healthy(size_t server) const { return ejected_until_[server] <= env_.clock.now(); }
  size_t choose(bool retry, const std::vector<size_t>& tried);
  Task<void> run(reports::RequestLog::RequestId id);

  Env& env_;
  const RpcTargets& targets_;
  sim::ClusterId cluster_;
  Done done_;
  Cut cut_;
  RpcEndpoint endpoint_;
  std::vector<TimePoint> ejected_until_;
  std::vector<size_t> pool_;
  uint64_t attempts_cut_ = 0;
  Scope scope_;  // last: request coroutines die before the endpoint and state they use
};

}  // namespace tandem::scenarios
