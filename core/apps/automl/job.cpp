#include "core/apps/automl/job.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/env/random.h"

namespace tandem::apps::automl {

std::string_view job_state_name(JobState state) {
  switch (state) {
    case JobState::kRunning: return "RUNNING";
    case JobState::kSucceeded: return "SUCCEEDED";
    case JobState::kFailed: return "FAILED";
  }
  return "UNKNOWN";
}

namespace {
Error invalid(std::string message) { return Error{Errc::kInvalidArgument, std::move(message)}; }
}  // namespace

Status validate(const JobSpec& spec) {
  if (spec.dataset.empty() || spec.dataset.size() > kMaxNameBytes) {
    return invalid("dataset must be 1.." + std::to_string(kMaxNameBytes) + " bytes; name the data to train on");
  }
  if (spec.submission_key.size() > kMaxSubmissionKeyBytes ||
      std::any_of(spec.submission_key.begin(), spec.submission_key.end(), [](char c) { return c <= ' ' || c > '~'; })) {
    return invalid("submission_key must be at most " + std::to_string(kMaxSubmissionKeyBytes) +
                   " bytes of printable ASCII without spaces (or empty)");
  }
  if (spec.candidates.empty()) {
    return invalid("candidates is empty; an AutoML job needs at least one candidate to train and evaluate");
  }
  if (spec.candidates.size() > kMaxCandidates) {
    return invalid("candidates has " + std::to_string(spec.candidates.size()) + " entries, more than the " +
                   std::to_string(kMaxCandidates) + " one job may search; split the space into several jobs");
  }
  if (!(std::isfinite(spec.cost.median_ms) && spec.cost.median_ms > 0 && spec.cost.median_ms <= 86'400'000)) {
    return invalid("cost.median_ms must be a number in (0, 86400000] (one day); it is " +
                   std::to_string(spec.cost.median_ms));
  }
  if (!(std::isfinite(spec.cost.sigma) && spec.cost.sigma >= 0 && spec.cost.sigma <= 3)) {
    return invalid("cost.sigma must be in [0, 3] (0: every candidate takes the median); it is " +
                   std::to_string(spec.cost.sigma));
  }
  std::set<std::string_view> names;
  for (size_t i = 0; i < spec.candidates.size(); ++i) {
    const Candidate& candidate = spec.candidates[i];
    const std::string where = "candidates[" + std::to_string(i) + "]";
    if (candidate.name.empty() || candidate.name.size() > kMaxNameBytes) {
      return invalid(where + ".name must be 1.." + std::to_string(kMaxNameBytes) + " bytes");
    }
    if (!names.insert(candidate.name).second) {
      return invalid(where + ".name \"" + candidate.name + "\" is used by an earlier candidate; names are unique");
    }
    if (candidate.params.size() > kMaxParams) {
      return invalid(where + ".params has more than " + std::to_string(kMaxParams) + " entries");
    }
    for (const auto& [key, value] : candidate.params) {
      if (key.empty() || key.size() > kMaxNameBytes) {
        return invalid(where + ".params has a name that is empty or longer than " + std::to_string(kMaxNameBytes));
      }
      if (!std::isfinite(value)) return invalid(where + ".params." + key + " is not a finite number");
    }
  }
  return Status{};
}

double evaluate(std::string_view dataset, const Candidate& candidate) {
  // The codec's bytes are deterministic, so the score is the same on every platform and in every world.
  const uint64_t hash = stable_hash(runtime::encode(candidate), stable_hash(dataset));
  return static_cast<double>(hash >> 11) * 0x1.0p-53;
}

bool better(const CandidateResult& a, const CandidateResult& b) {
  if (a.score != b.score) return a.score > b.score;
  return a.index < b.index;
}

CandidateResult true_best(const JobSpec& spec) {
  TANDEM_CHECK(!spec.candidates.empty(), "true_best of an empty candidate space");
  std::optional<CandidateResult> best;
  for (size_t i = 0; i < spec.candidates.size(); ++i) {
    CandidateResult result{i, spec.candidates[i].name, evaluate(spec.dataset, spec.candidates[i])};
    if (!best || better(result, *best)) best = std::move(result);
  }
  return *best;
}

}  // namespace tandem::apps::automl
