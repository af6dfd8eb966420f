// The catalog every real process of a cluster is built with: the actor classes and remote functions tandem ships
// (the AutoML service of core/apps/automl, the serving control plane of core/serving, the strategy fan-out's
// workers of core/apps/fanout, the rpc kind's servers of core/apps/rpc).
//
// Contract: every head, node and driver of one cluster calls real_catalog() and so registers the same code
// (the real-world counterpart of the sim's one shared catalog object). Built once, then read-only.
#pragma once

#include "core/runtime/catalog.h"

namespace tandem::real {

const runtime::RuntimeCatalog& real_catalog();

}  // namespace tandem::real
