#include "core/apps/automl/worker.h"

#include <algorithm>
#include <cmath>

#include "core/async/sleep.h"

namespace tandem::apps::automl {

Task<Result<double>> automl_worker(runtime::TaskContext& context, std::string dataset, Candidate candidate,
                                   CostModel cost) {
  // Capped at 100 medians: a heavy tail, but never a worker that outlives every timeout.
  const double ms = std::min(cost.median_ms * 100,
                             cost.sigma > 0 ? context.env.random.lognormal(std::log(cost.median_ms), cost.sigma)
                                            : cost.median_ms);
  co_await sleep(context.env.clock, std::chrono::microseconds(static_cast<int64_t>(ms * 1000)));
  co_return evaluate(dataset, candidate);
}

}  // namespace tandem::apps::automl
