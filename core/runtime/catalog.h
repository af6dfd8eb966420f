// RuntimeCatalog: what a cluster can run — its actor classes, remote functions and runtime environments.
//
// Contract: built once at start-up, then read-only; every node daemon and client of one cluster is handed the
// same catalog (in sim, one object; on the real backend, the same registrations compiled into each binary).
// A runtime environment is a named set of packages an actor or task may require: a node that has not
// installed it pays setup_delay the first time (modelled, the seed's per-component runtime_env), then keeps it
// installed (in its Storage, so a daemon restart keeps it too) until evicted by its cache limit.
#pragma once

#include <map>
#include <string>

#include "core/env/time.h"
#include "core/runtime/actor.h"
#include "core/runtime/remote_function.h"

namespace tandem::runtime {

struct RuntimeEnvSpec {
  Duration setup_delay = std::chrono::seconds(10);  // first installation on a node
};

struct RuntimeCatalog {
  ActorClassRegistry actor_classes;
  FunctionRegistry functions;
  std::map<std::string, RuntimeEnvSpec, std::less<>> runtime_envs;

  const RuntimeEnvSpec* find_runtime_env(std::string_view name) const {
    auto it = runtime_envs.find(name);
    return it == runtime_envs.end() ? nullptr : &it->second;
  }
};

}  // namespace tandem::runtime
