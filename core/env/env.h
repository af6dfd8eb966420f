// Env: everything a node's code may touch that is not pure computation — the seam between core/ and a world.
//
// Contract: core/ code receives an Env by reference and reaches time, timers, the network, durable storage,
// randomness and logging only through it. A world (sim/ or real_backend/) builds one Env per node and keeps it
// alive as long as the node's incarnation; after a crash and restart the node gets a fresh Env (same Storage,
// whose durable part survived). Env members are references: an Env is a view, never an owner.
#pragma once

#include "core/env/clock.h"
#include "core/env/log.h"
#include "core/env/random.h"
#include "core/env/storage.h"
#include "core/env/transport.h"

namespace tandem {

struct Env {
  NodeId node;
  Clock& clock;
  Transport& transport;
  Storage& storage;
  Random& random;
  Log& log;
};

}  // namespace tandem
