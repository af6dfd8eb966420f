#include "scenarios/service.h"

#include <algorithm>

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

std::optional<std::string> read_node_group(ObjectReader& entry, std::string_view key, const std::string& fallback,
                                           const std::vector<std::string>& groups, Problems& problems) {
  const bool given = entry.has(key);
  std::optional<std::string> value = entry.string(key, Need::kOptional);
  if (given && !value) return std::nullopt;
  const std::string group = value.value_or(fallback);
  if (std::find(groups.begin(), groups.end(), group) == groups.end()) {
    problems.add(entry.child(key), (given ? "no node group named \"" + group + "\""
                                          : "missing, and no node group is named \"" + fallback + "\"") +
                                       "; name the group of the " + std::string(key) + " nodes" +
                                       suggestion(group, groups, "groups"));
    return std::nullopt;
  }
  return group;
}

}  // namespace tandem::scenarios
