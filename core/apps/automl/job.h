// AutoML jobs: what a client submits (a candidate space to search), what a query answers (status, best so
// far), and the evaluation every worker performs — the values the proxy, trainer and worker exchange.
//
// Contract:
// - Plain values that cross the wire through the runtime's codec; fields are appended, never reordered.
// - validate() is the one check of user input (the proxy runs it before a job exists): a non-empty candidate
//   space of at most kMaxCandidates, unique non-empty candidate names, finite parameters, a sane cost model.
//   Its error names the field (candidates[3].name) and how to fix it.
// - evaluate() is the synthetic "train and evaluate": a pure function of the dataset name and the candidate, so
//   a test can compute the true best of a job (true_best()) without running anything. Ties go to the lower
//   candidate index, everywhere.
//
// Job lifecycle (owned by the trainer; the proxy and clients read it from the trainer's checkpoint):
//
//   submit ──▶ RUNNING ──every candidate evaluated──▶ SUCCEEDED (best is final)
//                 │
//                 └──a candidate cannot run (no node could ever host a worker, an app error, or
//                    max_candidate_attempts spent) ──▶ FAILED (error says which candidate and why)
//
// A trainer or node failure does not change the state: the restarted trainer restores the checkpoint and
// resumes with the candidates that were not yet recorded as finished.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/result.h"
#include "core/runtime/codec.h"

namespace tandem::apps::automl {

inline constexpr size_t kMaxCandidates = 100'000;
inline constexpr size_t kMaxParams = 64;
inline constexpr size_t kMaxNameBytes = 256;  // job ids, dataset and candidate names, parameter names

// One point of the search space: a model configuration to train and evaluate.
struct Candidate {
  std::string name;                      // unique within the job: "xgb depth=6 lr=0.1"
  std::map<std::string, double> params;  // hyper-parameters
  TANDEM_CODEC_FIELDS(name, params)
};

// How long training one candidate takes: log-normal with this median and shape (sigma 0 = always the median).
struct CostModel {
  double median_ms = 1000;
  double sigma = 0.5;
  TANDEM_CODEC_FIELDS(median_ms, sigma)
};

inline constexpr size_t kMaxSubmissionKeyBytes = 128;

// A request: search `candidates` on `dataset`. `submission_key` makes a submit idempotent: the proxy runs one job
// per key, so a client that retries a submit whose answer it lost gets the same job id back (AutoMLClient fills
// it when empty; printable ASCII without spaces, at most kMaxSubmissionKeyBytes).
struct JobSpec {
  std::string dataset = "default";
  std::vector<Candidate> candidates;
  CostModel cost;
  std::string submission_key;
  TANDEM_CODEC_FIELDS(dataset, candidates, cost, submission_key)
};

enum class JobState : uint8_t { kRunning = 0, kSucceeded, kFailed };
inline bool codec_valid(JobState state) { return state <= JobState::kFailed; }
std::string_view job_state_name(JobState state);

struct CandidateResult {
  uint64_t index = 0;  // in JobSpec::candidates
  std::string name;
  double score = 0;
  friend bool operator==(const CandidateResult&, const CandidateResult&) = default;
  TANDEM_CODEC_FIELDS(index, name, score)
};

// What a query answers.
struct JobStatus {
  std::string job;
  JobState state = JobState::kRunning;
  uint64_t candidates = 0;
  uint64_t finished = 0;
  std::optional<CandidateResult> best;  // best so far; final once SUCCEEDED
  std::string error;                    // set when FAILED
  uint32_t trainer_restores = 0;        // times a restarted trainer resumed from the checkpoint
  TANDEM_CODEC_FIELDS(job, state, candidates, finished, best, error, trainer_restores)
};

// Checks a submitted job; kInvalidArgument naming the field otherwise.
Status validate(const JobSpec& spec);

// The synthetic validation score of `candidate` trained on `dataset`, in [0, 1).
double evaluate(std::string_view dataset, const Candidate& candidate);

// True when `a` beats `b` (higher score; on a tie, the lower index).
bool better(const CandidateResult& a, const CandidateResult& b);

// The best candidate of a valid spec, computed directly from evaluate().
CandidateResult true_best(const JobSpec& spec);

}  // namespace tandem::apps::automl
