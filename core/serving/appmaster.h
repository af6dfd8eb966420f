// AppMaster: the actor that owns one service in one cluster (one per service job per cluster). It creates and
// health-checks the service's proxies and backends, keeps the proxies' route tables and the cluster's
// discovery registration current, runs upgrades (core/serving/upgrade.h), traffic splits and autoscaling,
// and persists its metadata (core/serving/service_metadata.h) to the cluster's control-store KV on every
// change, before it acknowledges the change.
//
// The data plane never waits for it: proxies keep routing with the last table they got and eject dead
// backends themselves, so an AppMaster crash or restart costs no request.
//
// Recovery, told apart in run() after the epoch claim:
//
//                        start: claim epoch N (core/serving/epoch_lease.h)
//                                              │
//                            wait until acting (one lease after the claim)
//                                              │
//                        read the metadata of the highest epoch < N
//          ┌───────────────────────────────────┼─────────────────────────────────────┐
//          │ none                              │ same job id                          │ other job id
//          ▼                                   ▼                                      ▼
//     FRESH: wait for apply()        ACTOR RESTART (the runtime          JOB RESTART (the job was restarted by
//                                    rebuilt this actor):                the user or the ServingKeeper):
//                                    restore metadata to memory;         restore spec, desired counts, split and
//                                    adopt each recorded proxy and       history; reset runtime state: build new
//                                    backend with status(epoch N),       proxies and backends from the config;
//                                    which fences epoch < N; drop the    once they serve and are registered,
//                                    dead, finish creations in flight;   stop the previous job's leftovers;
//                                    resume the upgrade at its phase     restart an interrupted upgrade
//          └───────────────────────────────────┼─────────────────────────────────────┘
//                                              ▼
//                                persist under epoch N, then ACTING:
//                     reconcile ⟲, health checks ⟲, discovery ⟲, upgrades, autoscaling
//                                              │
//                    confirm sees epoch > N ───┴──▶ DEPOSED: exit() (its successor owns everything)
//          (confirm failing for a lease only pauses acting: nothing is sent until a confirm succeeds)
//
// Contract for callers (keeper, operators, tests): mutating methods return kUnavailable while recovering or
// not acting (retry), kInvalidArgument for bad input (nothing applied), kFailedPrecondition when the request
// conflicts with the state (e.g. a traffic split during an upgrade), and ok once the change is persisted;
// convergence is observed with status().
#pragma once

#include <cstdint>
#include <map>
#include <unordered_map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/async/rpc.h"
#include "core/runtime/actor.h"
#include "core/runtime/completion.h"
#include "core/runtime/runtime_client.h"
#include "core/serving/autoscaler.h"
#include "core/serving/epoch_lease.h"
#include "core/serving/messages.h"
#include "core/serving/service_metadata.h"
#include "core/serving/slots.h"
#include "core/serving/validation.h"

namespace tandem::serving {

inline constexpr size_t kMaxParallelCreates = 128;
inline constexpr int kMaxPersistAttempts = 5;
inline constexpr size_t kMaxStaleMembers = 100'000;

struct AppMasterOptions {
  Endpoint discovery{kNoNode, 7};
  Duration lease = std::chrono::seconds(2);
  Duration health_period = std::chrono::seconds(1);
  Duration health_timeout = std::chrono::milliseconds(800);
  uint32_t health_failures = 3;            // consecutive failed checks before an instance is replaced
  Duration reconcile_period = std::chrono::milliseconds(500);
  Duration route_coalesce = std::chrono::milliseconds(20);
  Duration discovery_period = std::chrono::seconds(2);
  Duration discovery_ttl = std::chrono::seconds(30);
  Duration deregistration_grace = std::chrono::seconds(2);  // >= clients' pull interval
  Duration control_timeout = std::chrono::seconds(2);
  Duration start_timeout = std::chrono::seconds(60);        // added to a version's start-up time
  Duration replay_budget = std::chrono::seconds(1);
  TANDEM_CODEC_FIELDS(discovery, lease, health_period, health_timeout, health_failures, reconcile_period,
                      route_coalesce, discovery_period, discovery_ttl, deregistration_grace, control_timeout,
                      start_timeout, replay_budget)
};

enum class RecoveryMode : uint8_t { kStarting = 0, kFresh, kActorRestart, kJobRestart };
inline bool codec_valid(RecoveryMode mode) { return mode <= RecoveryMode::kJobRestart; }
std::string_view recovery_mode_name(RecoveryMode mode);

struct AppMasterStatus {
  std::string service;
  std::string cluster;
  uint64_t epoch = 0;
  uint64_t job_id = 0;
  bool acting = false;
  bool recovered = false;
  RecoveryMode recovery = RecoveryMode::kStarting;
  bool deployed = false;
  bool stopped = false;
  std::string stable_version;
  int32_t desired = 0;
  std::map<std::string, uint32_t> serving;  // ready and attached backends per version
  uint32_t backends = 0;
  uint32_t backends_ready = 0;
  uint32_t proxies = 0;
  uint32_t proxies_ready = 0;
  UpgradeRecord upgrade;
  uint32_t detached_for_upgrade = 0;  // stable instances out of traffic because of the upgrade
  uint32_t allowed_unavailable = 0;   // max_unavailable + surge instances attached
  VersionSplit split;
  std::vector<ReleaseOutcome> history;
  std::map<std::string, VersionStats> version_stats;  // summed over proxies, cumulative
  uint32_t load = 0;                                  // requests in flight or queued at the proxies
  uint64_t generation = 0;
  uint64_t persisted_generation = 0;
  TANDEM_CODEC_FIELDS(service, cluster, epoch, job_id, acting, recovered, recovery, deployed, stopped, stable_version,
                      desired, serving, backends, backends_ready, proxies, proxies_ready, upgrade,
                      detached_for_upgrade, allowed_unavailable, split, history, version_stats, load, generation,
                      persisted_generation)
};

class AppMaster final : public runtime::Actor {
 public:
  AppMaster(runtime::ActorContext& context, std::string service, std::string cluster, uint64_t job_id,
            AppMasterOptions options);

  Task<Status> start() override;

  Task<Result<AppMasterStatus>> status();
  Task<Result<ServiceMetadata>> metadata();
  // Deploys or reconfigures; a new spec.version starts a rolling upgrade (release = generation).
  Task<Status> apply(ServiceSpec spec);
  Task<Status> scale(int32_t replicas);
  Task<Status> upgrade(std::string version, uint64_t release);
  // Rolls the release back (from any upgrade state but idle / rolled back): a failed validation elsewhere.
  Task<Status> rollback(uint64_t release, std::string reason);
  Task<Status> set_split(VersionSplit split);
  // The candidate becomes stable: blue-green retires the old set, a canary upgrades the rest in place.
  Task<Status> promote(uint64_t release);
  Task<Status> abort_split();
  // Deregisters, drains and stops every proxy and backend; the AppMaster stays to report.
  Task<Status> stop();

 private:
  // Recovery and the loops.
  Task<void> run();
  Task<void> confirm_loop();
  Task<void> health_loop();
  Task<void> reconcile_loop();
  Task<void> route_loop();
  Task<void> discovery_loop();
  Task<void> upgrade_loop();
  Task<void> autoscale_loop();
  Task<std::optional<ServiceMetadata>> load_latest();
  Task<void> adopt_members();
  void rebuild_from(const ServiceMetadata& previous);
  Task<void> reap_stale();
  Task<void> sweep_orphans();

  // Persistence and routes.
  // Every change may change what discovery should list: the discovery loop looks at once (it sends only a
  // different list), so clients stop seeing a dead proxy within a pull interval, not a discovery period.
  void changed() {
    ++meta_.generation;
    register_dirty_ = true;
    register_wake_.notify_all();
  }
  Task<Status> persist();
  Task<Status> persist_or_retry();
  RouteTable current_routes();
  void request_routes();
  Task<void> push_routes();
  Task<void> push_to(ActorId proxy, RouteTable table);
  Task<Status> register_now(bool only_if_changed = false);

  // Members.
  void create_backends(uint32_t count, const std::string& version, MemberRole role, bool attach,
                       Duration extra_startup = Duration::zero());
  void create_proxy();
  Task<void> create_backend(std::string name, bool attach, Duration extra_startup);
  Task<void> create_proxy_actor(std::string name);
  Task<void> finish_start(std::string name, bool attach);
  Task<void> retire_backend(std::string name);
  Task<void> retire_proxy(std::string name);
  Task<void> kill(ActorId id);
  // Checks the backends (a health round checks every ready one) and judges each outcome. One that took this
  // epoch's ping is probed (the runtime asks its node, one request per node); the others, and any the probe
  // could not place, are pinged as one group: ping(epoch) fences older AppMasters, and a call re-resolves an
  // actor that moved or died.
  Task<void> check_backends(std::vector<ActorId> ids);
  // Judges a ping group's outcomes; a backend that answered ping(epoch) is probed from the next round on.
  void judge_backend_pings(const std::vector<ActorId>& ids, runtime::ActorCallGroup& pings, uint64_t epoch);
  void judge_backend_check(ActorId id, const Result<Bytes>& status);
  BackendRecord* backend_record(ActorId id);
  BackendRecord* backend_named(const std::string& name);
  Task<void> check_proxy(ActorId id);
  void backend_dead(ActorId id, const std::string& why);
  void proxy_dead(ActorId id, const std::string& why);
  void reconcile_once();
  // Drops surge names whose instance is gone; replaces them while their batch is out of traffic.
  void replace_lost_surge();

  // Upgrades.
  Task<bool> upgrade_step();  // false: finished
  Task<Status> detach_batch();
  Task<Status> reload_batch();
  Task<ValidationVerdict> validate_instance(ActorId candidate);
  Task<ReplayResult> replay(ActorId backend, std::string payload);
  Task<void> attach_batch();
  void finish_upgrade(UpgradeState final_state);
  void begin_rollback(const std::string& reason);
  Task<void> fetch_sample();
  Status start_upgrade(const std::string& version, uint64_t release);
  std::vector<PlanMember> stable_members() const;

  // Helpers.
  bool acting() const { return lease_.acting(context_.clock().now()); }
  Status check_can_act() const;
  const VersionSpec* version(const std::string& name) const { return meta_.spec.find_version(name); }
  std::string next_member_name(const char* kind);
  void publish_lease_gauges();  // acting epoch and its bounds, after every lease confirmation
  void publish_gauges();        // those, plus backends serving per version, desired replicas, upgrade state
  Duration wait_poll() const { return std::min<Duration>(options_.reconcile_period, std::chrono::milliseconds(100)); }

  runtime::ActorContext& context_;
  std::string service_;
  std::string cluster_;
  uint64_t job_id_;
  AppMasterOptions options_;
  EpochLease lease_;
  ServiceMetadata meta_;
  RecoveryMode mode_ = RecoveryMode::kStarting;
  bool recovered_ = false;
  uint64_t persisted_generation_ = 0;
  bool writing_ = false;
  runtime::WaitList persisted_;
  runtime::WaitList wake_;        // reconcile
  runtime::WaitList routes_wake_; // route pushes
  runtime::WaitList register_wake_;
  std::optional<std::vector<Endpoint>> registered_;  // the list this life last had accepted by discovery
  bool register_dirty_ = false;  // a change since the discovery loop last looked
  bool routes_dirty_ = false;
  uint64_t route_generation_ = 0;
  std::map<ActorId, uint64_t> route_acked_;   // proxy -> generation it acknowledged
  std::map<ActorId, uint32_t> health_failures_;  // member -> consecutive failed checks; absent = none
  // Backends that answered ping(epoch) -> that epoch: later rounds probe them. Entries of backends no longer
  // recorded are pruned when it outgrows meta_.backends.
  std::unordered_map<ActorId, uint64_t> fenced_;
  // meta_.backend(id) without its scan (a health check per backend per period): positions in meta_.backends,
  // checked on every use and rebuilt on a miss, so edits of meta_ need not keep it up to date.
  std::unordered_map<ActorId, size_t> backend_index_;
  std::unordered_map<std::string, size_t> backend_name_index_;  // the same for meta_.backend_named(name)
  std::map<ActorId, ProxyStatus> proxy_status_;
  std::set<std::string> busy_;    // members with a creation or retirement coroutine running
  std::vector<std::pair<std::string, ActorId>> stale_;  // job restart: the previous job's members
  bool upgrade_running_ = false;
  std::vector<RecordedRequest> sample_;
  std::set<std::string> gauge_versions_;
  std::optional<Autoscaler> autoscaler_;
  Slots create_slots_;
  std::unique_ptr<RpcEndpoint> rpc_;  // calls to discovery; the actor's coroutines die before it
};

}  // namespace tandem::serving
