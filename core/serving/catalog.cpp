#include "core/serving/catalog.h"

#include "core/serving/appmaster.h"
#include "core/serving/backend.h"
#include "core/serving/proxy.h"

namespace tandem::serving {

void register_serving_classes(runtime::RuntimeCatalog& catalog) {
  catalog.actor_classes.add<ServingBackend, std::string, std::string, VersionSpec, Duration, uint64_t>(kBackendClass)
      .method("handle", &ServingBackend::handle)
      .method("reload", &ServingBackend::reload)
      .method("status", &ServingBackend::status)
      .method("ping", &ServingBackend::ping)
      .method("stop", &ServingBackend::stop);
  catalog.actor_classes.add<AppMaster, std::string, std::string, uint64_t, AppMasterOptions>(kAppMasterClass)
      .method("status", &AppMaster::status)
      .method("metadata", &AppMaster::metadata)
      .method("apply", &AppMaster::apply)
      .method("scale", &AppMaster::scale)
      .method("upgrade", &AppMaster::upgrade)
      .method("rollback", &AppMaster::rollback)
      .method("set_split", &AppMaster::set_split)
      .method("promote", &AppMaster::promote)
      .method("abort_split", &AppMaster::abort_split)
      .method("stop", &AppMaster::stop);
  catalog.actor_classes.add<ServingProxy, std::string, std::string, ProxyPolicy>(kProxyClass)
      .method("status", &ServingProxy::status)
      .method("update_routes", &ServingProxy::update_routes)
      .method("recorded", &ServingProxy::recorded);
}

}  // namespace tandem::serving
