#include "scenarios/service.h"

#include "scenarios/services/automl.h"
#include "scenarios/services/fanout.h"
#include "scenarios/services/rpc.h"
#include "scenarios/services/serving.h"

namespace tandem::scenarios {

std::shared_ptr<const ServiceOperation> ServiceKind::parse_operation(const ServiceSpec& service,
                                                                     const std::string& op,
                                                                     ObjectReader& event,
                                                                     Problems& problems) const {
  const std::vector<std::string> known = operations();
  std::string message =
      "service \"" + service.name() + "\" (kind " + std::string(name()) + ") has no operation \"" + op + "\"";
  message += known.empty() ? "; this kind supports no operations" : suggestion(op, known, "operations");
  event.skip_rest();
  problems.add(event.child("op"), message);
  return nullptr;
}

const ServiceRegistry& ServiceRegistry::builtin() {
  static const ServiceRegistry registry = [] {
    ServiceRegistry r;
    r.add(make_rpc_service_kind());
    r.add(make_automl_service_kind());
    r.add(make_serving_service_kind());
    r.add(make_fanout_service_kind());
    return r;
  }();
  return registry;
}

void ServiceRegistry::add(std::unique_ptr<ServiceKind> kind) { kinds_.push_back(std::move(kind)); }

const ServiceKind* ServiceRegistry::find(std::string_view name) const {
  for (const auto& kind : kinds_) {
    if (kind->name() == name) return kind.get();
  }
  return nullptr;
}

std::vector<std::string> ServiceRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& kind : kinds_) out.emplace_back(kind->name());
  return out;
}

std::optional<std::string> planned_service_kind(std::string_view /*name*/) {
  return std::nullopt;
}

}  // namespace tandem::scenarios
