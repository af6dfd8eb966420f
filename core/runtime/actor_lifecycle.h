// The actor lifecycle: the states an actor goes through in the control store's actor table, and which
// transitions are legal. The control store is the only writer of these states (core/runtime/control_store.h);
// everyone else reads them (callers resolving where an actor lives, tests, reports).
//
//      create_actor
//           │
//           ▼
//     ┌───────────┐   (1) placed on a node, constructor and start() done   ┌─────────┐
//     │  PENDING  │ ─────────────────────────────────────────────────────▶ │  ALIVE  │
//     └───────────┘                                                        └─────────┘
//           │                                                         (3) │    ▲ (4) placed again,
//           │                                         node or process died,│    │     constructor ran again
//           │                                         restarts left       ▼    │
//           │                                                        ┌──────────────┐
//           │ (2)                                                    │  RESTARTING  │
//           │                                                        └──────────────┘
//           ▼                          (5) from ALIVE                        │ (6)
//     ┌───────────┐ ◀───────────────────────────────────────────────────────┘
//     │   DEAD    │ ◀─── (5): no restarts left, exit(), kill(no_restart), owner died
//     └───────────┘
//
// (1) PENDING → ALIVE: the scheduler found a node with the resources, labels and placement group slot; the
//     node daemon set up the runtime environment, ran the constructor and start(), and acknowledged. Only then
//     do callers see the actor's address, so a call never reaches a half-built actor.
// (2) PENDING → DEAD: killed before it ran; its class is unknown, its constructor arguments undecodable or its
//     start() failed (a creation failure never restarts); its owner died (not detached); its placement group
//     was removed; or creation failed max_creation_attempts times. A node that dies while a creation is in
//     flight does NOT kill a PENDING actor: it goes back to the queue (same state, new incarnation). A creation
//     refused before any daemon saw it (node down, daemon gone) is not counted, and that node gets no placement
//     until it heartbeats again, so a node not yet declared dead cannot use the attempts up.
// (3) ALIVE → RESTARTING: its node was declared dead (missed heartbeats, or the node re-registered as a new
//     instance), the daemon reported the actor's process gone, or it was killed with no_restart = false — and
//     restarts_used < max_restarts (max_restarts = -1: unlimited). restarts_used += 1 here and nowhere else,
//     so restarts_used <= max_restarts always holds. Calls in flight fail with kPeerDied, or are retried per
//     max_task_retries once the actor is ALIVE again.
// (4) RESTARTING → ALIVE: as (1). The constructor runs again from scratch; restoring state is the
//     application's business (e.g. a checkpoint in the control store's KV, read in start()).
// (5) ALIVE → DEAD: as (3) with no restarts left; or the actor called exit(); or kill(no_restart = true); or
//     its owner died (not detached). Its name is released; its resources are freed.
// (6) RESTARTING → DEAD: killed, owner died or placement group removed while waiting to be placed again.
// DEAD is final. Every placement attempt takes a new incarnation number; a daemon only serves calls that name
// the incarnation it hosts, so a call can never reach an older or newer life of the actor than it was sent to.
#pragma once

#include <cstdint>
#include <string_view>

namespace tandem::runtime {

enum class ActorState : uint8_t { kPending = 0, kAlive, kRestarting, kDead };
inline bool codec_valid(ActorState state) { return state <= ActorState::kDead; }

inline std::string_view actor_state_name(ActorState state) {
  switch (state) {
    case ActorState::kPending: return "PENDING";
    case ActorState::kAlive: return "ALIVE";
    case ActorState::kRestarting: return "RESTARTING";
    case ActorState::kDead: return "DEAD";
  }
  return "UNKNOWN";
}

// Whether the diagram above has an edge from -> to.
inline bool legal_transition(ActorState from, ActorState to) {
  switch (from) {
    case ActorState::kPending: return to == ActorState::kAlive || to == ActorState::kDead;
    case ActorState::kAlive: return to == ActorState::kRestarting || to == ActorState::kDead;
    case ActorState::kRestarting: return to == ActorState::kAlive || to == ActorState::kDead;
    case ActorState::kDead: return false;
  }
  return false;
}

// An actor in PENDING or RESTARTING waits for a node; only ALIVE serves calls.
inline bool awaiting_placement(ActorState state) {
  return state == ActorState::kPending || state == ActorState::kRestarting;
}

}  // namespace tandem::runtime
