// The upgrade state machine: how an AppMaster moves its backends from one version to another, batch by batch,
// and back again when validation fails (the seed's slide 12). The AppMaster owns and persists the record;
// this header owns the states, the diagram and the pure batch planning.
//
//        upgrade(to)
//            │
//            ▼
//    ┌───────────────┐  pick the next batch within step / max_unavailable / max_surge; start surge
//    │ PRE_UPDATING  │  instances (old version, capacity cover); fetch recorded requests to replay.
//    └───────────────┘  No instance left on `from` ──────────────────────────────────────▶ SUCCEEDED
//            │ batch chosen
//            ▼
//    ┌───────────────┐  out of every proxy's route table (each live proxy acknowledged) and so out of
//    │   DETACHED    │  traffic; drained: requests in flight finish (at most drain_timeout). From here
//    └───────────────┘  until the batch returns, a surge instance that dies is replaced (same version).
//            ▼
//    ┌───────────────┐  reload in place to `to`; an instance that cannot reload (or died) is replaced by
//    │   UPGRADING   │  a fresh instance of `to`, still detached.
//    └───────────────┘
//            ▼
//    ┌───────────────┐  replay recorded requests on each upgraded instance and on old ones; compare
//    │  VALIDATING   │  errors, p99 and answers beyond old-vs-old noise (core/serving/validation.h).
//    └───────────────┘
//        │ pass                                   │ fail (here, or in another cluster: rollback())
//        ▼                                        ▼
//   re-attach the batch, retire its       ┌───────────────┐ every instance not on `from` goes through
//   surge instances ──▶ PRE_UPDATING      │ ROLLING_BACK  │ detach ▶ reload(from) ▶ re-attach, within the
//                                         └───────────────┘ same limits; no validation
//                                                 ▼
//                                           ROLLED_BACK (every instance on `from`)
//
// Invariants the AppMaster keeps (tested by the stateful property):
// - At most max_unavailable + (surge instances attached) instances of the stable group are detached by the
//   upgrade at any time, and never so many that fewer than desired - max_unavailable stay available.
// - A failed validation ends in ROLLED_BACK with every stable instance on `from`.
// - Every transition is persisted before the next side effect, so a restarted AppMaster resumes at the
//   recorded phase; each phase is idempotent (reload to the running version returns at once).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/runtime/codec.h"
#include "core/serving/messages.h"
#include "core/serving/service_spec.h"

namespace tandem::serving {

enum class UpgradeState : uint8_t {
  kIdle = 0,
  kPreUpdating,
  kDetached,
  kUpgrading,
  kValidating,
  kSucceeded,
  kRollingBack,
  kRolledBack,
};
inline bool codec_valid(UpgradeState state) { return state <= UpgradeState::kRolledBack; }
std::string_view upgrade_state_name(UpgradeState state);
// An upgrade is running (not idle and not finished).
bool upgrade_active(UpgradeState state);

struct UpgradeRecord {
  UpgradeState state = UpgradeState::kIdle;
  UpgradeState phase = UpgradeState::kIdle;  // the batch step; equals state unless rolling back
  uint64_t release = 0;                      // chosen by the caller (keeper); identifies this release
  std::string from;
  std::string to;
  std::vector<ActorId> batch;                // the instances of the current batch
  std::vector<std::string> surge;            // names of the surge instances of the current batch
  uint32_t batches_done = 0;
  std::string failure;                       // why it rolled back
  bool rollback_requested = false;           // by rollback(): taken at the next phase boundary
  TANDEM_CODEC_FIELDS(state, phase, release, from, to, batch, surge, batches_done, failure, rollback_requested)
  friend bool operator==(const UpgradeRecord&, const UpgradeRecord&) = default;

  // The version instances are moving to now: `to` going forward, `from` rolling back.
  const std::string& target() const { return state == UpgradeState::kRollingBack ? from : to; }
  bool rolling_back() const { return state == UpgradeState::kRollingBack; }
};

// What plan_batch sees of one stable-group instance.
struct PlanMember {
  ActorId id = 0;
  std::string version;
  bool ready = false;     // started and healthy
  bool attached = false;  // in route tables
};

struct BatchPlan {
  std::vector<ActorId> batch;  // instances to detach and move to the target
  uint32_t surge = 0;          // surge instances to start (and attach) before detaching the batch
  uint32_t remaining = 0;      // instances not yet on the target (including the batch)
};

// The next batch: instances not on `target`, those already detached first (they cost no new unavailability),
// then attached ones while available + surge - batch >= desired - max_unavailable, at most `step` in all.
// Surge instances cover what max_unavailable alone does not allow, at most max_surge.
BatchPlan plan_batch(const std::vector<PlanMember>& members, const std::string& target, int32_t desired,
                     const UpgradePolicy& policy);

}  // namespace tandem::serving
