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
#pragma once

#include <memory>

#include "scenarios/service.h"

namespace tandem::scenarios {

std::unique_ptr<ServiceKind> make_rpc_service_kind();

}  // namespace tandem::scenarios
