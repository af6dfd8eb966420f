// ModelUpdater: the seed's continuous model export (slide 5: "a new model every 10-30 minutes") — every
// interval drawn uniformly from [min_interval, max_interval] it rolls the next model service to its next
// version through that service's AppMaster (core/serving/appmaster_client.h), i.e. through the upgrade state
// machine: detach, reload in place, validate against recorded requests, re-attach — or roll back.
//
// Contract:
// - One release at a time, models in turn; a model with no newer version is skipped. Each release is waited
//   for (status polled every poll) at most release_timeout, then recorded in releases() with its outcome.
// - run() returns after `duration` (a release in progress is waited for first) and never throws; errors from
//   the AppMaster are recorded as the release's reason.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/env/random.h"
#include "core/runtime/runtime_client.h"
#include "core/serving/appmaster_client.h"

namespace tandem::apps {

struct ModelUpdaterOptions {
  Duration min_interval = std::chrono::minutes(10);
  Duration max_interval = std::chrono::minutes(30);
  Duration poll = std::chrono::seconds(1);
  Duration release_timeout = std::chrono::minutes(10);
  uint64_t first_release = 1'000;
  serving::AppMasterOptions appmaster;
  serving::AppMasterClientOptions appmaster_client;
};

struct ModelRelease {
  TimePoint started{};
  TimePoint ended{};
  std::string service;
  std::string from;
  std::string to;
  serving::UpgradeState final_state = serving::UpgradeState::kIdle;  // kIdle: did not finish or not started
  std::string reason;
};

class ModelUpdater {
 public:
  ModelUpdater(runtime::RuntimeClient& client, std::string cluster, std::vector<serving::ServiceSpec> models,
               ModelUpdaterOptions options);

  Task<void> run(Duration duration);
  const std::vector<ModelRelease>& releases() const { return releases_; }

 private:
  Task<ModelRelease> release(size_t model);

  runtime::RuntimeClient& client_;
  std::string cluster_;
  std::vector<serving::ServiceSpec> models_;  // spec.version = the version running now
  ModelUpdaterOptions options_;
  Random random_;
  uint64_t next_release_;
  size_t next_model_ = 0;
  std::vector<ModelRelease> releases_;
};

}  // namespace tandem::apps
