// Prometheus text exposition (format 0.0.4) of a MetricsRegistry: what `/metrics` of every real process serves.
//
// Contract: a pure function of the registry, in its (name, labels) order. Counters and gauges become series of
// their kind; a histogram becomes a summary (quantiles 0.5, 0.9, 0.99 from its buckets, plus _sum and _count),
// because tandem's log-scale buckets do not map onto fixed `le` bounds. Label values are escaped (\\, \", \n);
// `extra` labels (e.g. {process="n1"}) are added to every series.
#pragma once

#include <string>

#include "core/metrics/registry.h"

namespace tandem::real {

std::string prometheus_text(const metrics::MetricsRegistry& registry, const metrics::Labels& extra = {});

}  // namespace tandem::real
