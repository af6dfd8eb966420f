#include "core/apps/ensemble/ensemble_spec.h"

#include <set>

#include "core/env/random.h"

namespace tandem::apps {

Status EnsembleSpec::validate() const {
  std::vector<std::string> problems;
  if (!serving::validate_service_name(name, "name").ok()) {
    problems.push_back("name = '" + name + "': use 1-128 letters, digits, '-', '_' or '.'");
  }
  if (models.empty() || models.size() > kMaxEnsembleModels) {
    problems.push_back("models: list 1.." + std::to_string(kMaxEnsembleModels) + " model services (got " +
                       std::to_string(models.size()) + ")");
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < models.size(); ++i) {
    const std::string field = "models[" + std::to_string(i) + "]";
    if (!serving::validate_service_name(models[i].service, "service").ok()) {
      problems.push_back(field + ".service = '" + models[i].service + "': not a service name");
    }
    if (!(models[i].weight > 0)) problems.push_back(field + ".weight must be positive");
    if (!seen.insert(models[i].service).second) {
      problems.push_back(field + ".service '" + models[i].service + "' is listed twice");
    }
  }
  if (quorum < 1 || quorum > models.size()) {
    problems.push_back("quorum = " + std::to_string(quorum) + ": must be 1..number of models (" +
                       std::to_string(models.size()) + ")");
  }
  if (deadline <= Duration::zero()) problems.push_back("deadline must be positive");
  if (hop_margin < Duration::zero() || hop_margin * 2 >= deadline) {
    problems.push_back("hop_margin must be >= 0 and less than half the deadline");
  }
  if (pull_interval <= Duration::zero()) problems.push_back("pull_interval must be positive");
  if (problems.empty()) return Status{};
  std::string message = "ensemble '" + name + "' refused, nothing was created: ";
  for (size_t i = 0; i < problems.size(); ++i) message += (i == 0 ? "" : "; ") + problems[i];
  return Error{Errc::kInvalidArgument, message};
}

double model_score(const std::string& answer) {
  return static_cast<double>(stable_hash(answer) % 1'000'000) / 1e6;
}

serving::ServiceSpec model_service_spec(const std::string& name, const std::string& cluster, int32_t replicas,
                                        uint32_t versions, Duration median_latency) {
  serving::ServiceSpec spec;
  spec.name = name;
  spec.version = "v1";
  for (uint32_t v = 1; v <= versions; ++v) {
    serving::VersionSpec version;
    version.name = std::string("v").append(std::to_string(v));  // not "v" + ...: GCC 12 -O3 warns (-Wrestrict)
    version.latency = serving::ServiceTime{serving::LatencyShape::kLognormal, median_latency, 0.3, 3.0};
    version.startup = std::chrono::seconds(5);   // model load
    version.reload = std::chrono::seconds(1);    // in-place swap of the weights
    version.output_salt = name;
    version.concurrency = 8;
    spec.versions.push_back(version);
  }
  spec.replicas = {{cluster, replicas}};
  spec.proxies_per_cluster = 2;
  spec.upgrade.step = 1;
  spec.upgrade.max_unavailable = 1;
  spec.upgrade.max_surge = 1;
  spec.upgrade.validation_requests = 10;
  return spec;
}

}  // namespace tandem::apps
