#include "real_backend/real_catalog.h"

#include "core/apps/automl/service.h"
#include "core/apps/fanout/workers.h"
#include "core/apps/rpc/server.h"
#include "core/serving/catalog.h"

namespace tandem::real {

const runtime::RuntimeCatalog& real_catalog() {
  static const runtime::RuntimeCatalog catalog = [] {
    runtime::RuntimeCatalog built;
    apps::automl::register_automl(built);
    serving::register_serving_classes(built);
    apps::register_fanout_classes(built);
    apps::register_rpc_classes(built);
    return built;
  }();
  return catalog;
}

}  // namespace tandem::real
