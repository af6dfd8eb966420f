// The AutoML worker: a stateless remote function (kWorkerFunction) that trains and evaluates one candidate.
//
// Contract: automl_worker(context, dataset, candidate, cost) waits a training time drawn from the job's cost
// model (log-normal; the node's random stream) and returns evaluate(dataset, candidate). It is idempotent: a
// re-run after its node died returns the same score. It runs wherever the scheduler finds the worker's
// resources (a GPU by default) and runtime environment.
#pragma once

#include <string>

#include "core/apps/automl/job.h"
#include "core/async/task.h"
#include "core/common/result.h"
#include "core/runtime/remote_function.h"

namespace tandem::apps::automl {

Task<Result<double>> automl_worker(runtime::TaskContext& context, std::string dataset, Candidate candidate,
                                   CostModel cost);

}  // namespace tandem::apps::automl
