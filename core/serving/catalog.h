// The serving control plane's actor classes, registered in a cluster's RuntimeCatalog.
//
// Contract: every node of a serving cluster runs with a catalog on which register_serving_classes() was
// called once (it registers ServingAppMaster, ServingProxy and ServingBackend with their methods under the
// names below). Registering twice is a bug (the registry checks).
#pragma once

#include "core/runtime/catalog.h"

namespace tandem::serving {

inline constexpr const char* kAppMasterClass = "ServingAppMaster";
inline constexpr const char* kProxyClass = "ServingProxy";
inline constexpr const char* kBackendClass = "ServingBackend";

void register_serving_classes(runtime::RuntimeCatalog& catalog);

}  // namespace tandem::serving
