#include "core/apps/ensemble/model_updater.h"

#include "core/async/sleep.h"

namespace tandem::apps {

ModelUpdater::ModelUpdater(runtime::RuntimeClient& client, std::string cluster,
                           std::vector<serving::ServiceSpec> models, ModelUpdaterOptions options)
    : client_(client),
      cluster_(std::move(cluster)),
      models_(std::move(models)),
      options_(std::move(options)),
      random_(client.env().random.fork("model-updater")),
      next_release_(options_.first_release) {}

Task<void> ModelUpdater::run(Duration duration) {
  Clock& clock = client_.env().clock;
  const TimePoint end = clock.now() + duration;
  const int64_t low = options_.min_interval.count();
  const int64_t high = std::max(low, options_.max_interval.count());
  while (!models_.empty()) {
    const Duration wait(random_.between(low, high));
    if (clock.now() + wait >= end) {
      co_await sleep(clock, end - clock.now());
      co_return;
    }
    co_await sleep(clock, wait);
    for (size_t tried = 0; tried < models_.size(); ++tried) {
      const size_t model = next_model_++ % models_.size();
      ModelRelease done = co_await release(model);
      if (done.to.empty()) continue;  // no newer version: the next model
      releases_.push_back(std::move(done));
      break;
    }
  }
}

Task<ModelRelease> ModelUpdater::release(size_t model) {
  serving::ServiceSpec& spec = models_[model];
  ModelRelease out;
  out.service = spec.name;
  out.from = spec.version;
  for (size_t i = 0; i + 1 < spec.versions.size(); ++i) {
    if (spec.versions[i].name == spec.version) out.to = spec.versions[i + 1].name;
  }
  if (out.to.empty()) co_return out;
  Clock& clock = client_.env().clock;
  out.started = clock.now();
  serving::AppMasterClient master(client_, spec.name, cluster_, options_.appmaster, options_.appmaster_client);
  const uint64_t release = next_release_++;
  Status started = co_await master.upgrade(out.to, release);
  if (!started.ok()) {
    out.reason = started.error().to_string();
    out.ended = clock.now();
    co_return out;
  }
  const TimePoint give_up = clock.now() + options_.release_timeout;
  while (clock.now() < give_up) {
    co_await sleep(clock, options_.poll);
    Result<serving::AppMasterStatus> status = co_await master.status();
    if (!status.ok() || status.value().upgrade.release != release) continue;
    const serving::UpgradeRecord& record = status.value().upgrade;
    if (serving::upgrade_active(record.state)) continue;
    out.final_state = record.state;
    out.reason = record.failure;
    if (record.state == serving::UpgradeState::kSucceeded) spec.version = out.to;
    break;
  }
  if (out.final_state == serving::UpgradeState::kIdle) out.reason = "the release did not finish in time";
  out.ended = clock.now();
  co_return out;
}

}  // namespace tandem::apps
