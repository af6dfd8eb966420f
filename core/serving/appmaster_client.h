// AppMasterClient: how the ServingKeeper, operators and tests talk to one service's AppMaster in one cluster
// through that cluster's RuntimeClient — create it as a named, detached, always-restarted actor, call its
// methods with retries while it recovers, restart its job.
//
// Contract:
// - Every call is bounded: at most `attempts` tries, each with `call_timeout`, `retry_pause` apart; only
//   kUnavailable, kTimeout, kPeerDied and kNotFound (the AppMaster is being re-created) are retried. Other
//   errors come back at once and unchanged (kInvalidArgument names the bad field).
// - The AppMaster is found by its name (appmaster_name(service)); the handle is cached and dropped when a
//   call says the actor died.
// - restart_job() is the seed's "whole service job restarted by the user or the ServingKeeper": the old
//   AppMaster is killed for good (and, with kill_members, every proxy and backend its metadata lists, as a
//   job crash would), then a new AppMaster with the next job id starts and recovers in job-restart mode.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/runtime/runtime_client.h"
#include "core/serving/appmaster.h"

namespace tandem::serving {

struct AppMasterClientOptions {
  Duration call_timeout = std::chrono::seconds(5);
  int attempts = 40;
  Duration retry_pause = std::chrono::milliseconds(250);
  runtime::ResourceSet resources{{"CPU", 0.1}};
  runtime::LabelSelector labels;
};

class AppMasterClient {
 public:
  AppMasterClient(runtime::RuntimeClient& client, std::string service, std::string cluster,
                  AppMasterOptions appmaster_options, AppMasterClientOptions options = {})
      : client_(client),
        service_(std::move(service)),
        cluster_(std::move(cluster)),
        appmaster_options_(appmaster_options),
        options_(options) {}

  const std::string& service() const { return service_; }
  const std::string& cluster() const { return cluster_; }

  // Creates the AppMaster actor for job `job_id` unless one lives already (then that one is used).
  Task<Status> ensure(uint64_t job_id);
  // Kills the AppMaster (and with kill_members its proxies and backends) and starts job `job_id`.
  Task<Status> restart_job(uint64_t job_id, bool kill_members);
  // Kills the AppMaster actor once (the runtime restarts it: an actor restart).
  Task<Status> kill_appmaster(bool no_restart);

  Task<Result<AppMasterStatus>> status();
  // One status call, bounded by `timeout` in all (no retries): for health probes.
  Task<Result<AppMasterStatus>> probe(Duration timeout);
  Task<Result<ServiceMetadata>> metadata();
  Task<Status> apply(const ServiceSpec& spec);
  Task<Status> scale(int32_t replicas);
  Task<Status> upgrade(const std::string& version, uint64_t release);
  Task<Status> rollback(uint64_t release, const std::string& reason);
  Task<Status> set_split(const VersionSplit& split);
  Task<Status> promote(uint64_t release);
  Task<Status> abort_split();
  Task<Status> stop();

 private:
  template <typename R, typename... Args>
  Task<Result<R>> call(std::string method, Args... args);
  Task<Result<runtime::ActorHandle>> handle();

  runtime::RuntimeClient& client_;
  std::string service_;
  std::string cluster_;
  AppMasterOptions appmaster_options_;
  AppMasterClientOptions options_;
  std::optional<runtime::ActorHandle> handle_;
};

}  // namespace tandem::serving
