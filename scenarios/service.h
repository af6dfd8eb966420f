// Service kinds: the pluggable part of a scenario's "services". Each entry is a tagged union on "kind"; a
// kind parses its own fields, builds its processes on the sim world, and serves the workload's requests.
//
// Contract:
// - ServiceKind::parse() reads one "services" entry (after the common keys "kind" and "name") and returns a
//   ServiceSpec, or nullptr with Problems. Every field is validated here, before anything runs.
// - ServiceSpec is immutable, shareable data: which nodes serve, which issue requests (clients()), the
// longest a
//   client waits for one request (request_budget(), used by the no-lost-requests check and to drain the run).
// - instantiate() builds the service on a World through ServiceContext: it registers its node parts with
//   NodeHosting before the nodes boot, records every request in the RequestLog (begin when the client starts
//   it, end when the client has its answer), and may fill the ServingRecord for the serving checks.
// - Operations ("op" events: deploy, scale, upgrade, ...) are parsed by the kind and applied by the instance.
//
// To add a kind ("serving", "automl"): implement ServiceKind/ServiceSpec/ServiceInstance in
// scenarios/services/<kind>.cpp, register it in ServiceRegistry::builtin() (service.cpp), and add its branch
// to the "service" oneOf in scenarios/schema.json.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/env/random.h"
#include "core/env/time.h"
#include "core/env/transport.h"
#include "fault_injection/injector.h"
#include "reports/run_record.h"
#include "scenarios/hosting.h"
#include "scenarios/problems.h"
#include "scenarios/topology.h"
#include "sim/world.h"

namespace tandem::scenarios {

inline constexpr size_t kMaxServices = 64;
inline constexpr Port kServicePortBase = 1000;  // service i binds ports from kServicePortBase + 16 * i
inline constexpr Port kPortsPerService = 16;

// A parsed operation of an "op" event; each kind subclasses it.
struct ServiceOperation {
  virtual ~ServiceOperation() = default;
  std::string name;         // "set_service_time"
  std::string description;  // for traces and progress output
};

struct ServiceContext {
  sim::World& world;
  const TopologyIndex& topology;
  NodeHosting& hosting;
  reports::RequestLog& requests;
  reports::ServingRecord& serving;
  fault_injection::FaultInjector& injector;
  uint32_t request_service;  // this service's index in the RequestLog
  Port port_base;            // the first of kPortsPerService ports this service may bind
  Random random;             // the service's own stream
};

class ServiceInstance {
 public:
  virtual ~ServiceInstance() = default;
  // Starts one request on `client` (one of the spec's clients(), currently up). The instance records it.
  virtual void issue(NodeId client) = 0;
  // Applies an operation parsed by the kind.
  virtual void operate(const ServiceOperation& operation) = 0;
  // After the run: adds figures ("rpc.quote.servers") to the record.
  virtual void finish(reports::RunRecord& record) = 0;
};

class ServiceSpec {
 public:
  virtual ~ServiceSpec() = default;
  virtual std::string_view kind() const = 0;
  virtual const std::string& name() const = 0;
  virtual const std::vector<NodeId>& clients() const = 0;
  virtual Duration request_budget() const = 0;
  virtual std::unique_ptr<ServiceInstance> instantiate(ServiceContext& context) const = 0;
  // "rpc quote: 6 servers, 9 clients in 3 clusters; deadline 200ms, 2 attempts"
  virtual std::string describe() const = 0;
  // True when the service runs actors on the actor runtime: then "kill_actor" faults are allowed, and the
  // instance installs FaultInjector::set_actor_kill_hook.
  virtual bool runs_actors() const { return false; }
  // True when the service sets its own replica count (an autoscaler): the autoscaler checks judge it.
  virtual bool autoscales() const { return false; }
  // For `tandem explore` (scenarios/explore/explorer.h): the actor names a "kill_actor" fault may target, and
  // complete "op" events (every field but "at") it may interleave with the faults it generates. A kind that
  // offers none leaves both empty.
  virtual std::vector<std::string> explore_actor_targets() const { return {}; }
  virtual std::vector<Json> explore_operations() const { return {}; }
};

class ServiceKind {
 public:
  virtual ~ServiceKind() = default;
  virtual std::string_view name() const = 0;
  virtual std::string_view summary() const = 0;
  virtual std::shared_ptr<const ServiceSpec> parse(ObjectReader& entry, const std::string& name,
                                                   const TopologyIndex& topology,
                                                   Problems& problems) const = 0;
  virtual std::vector<std::string> operations() const { return {}; }
  // Parses an "op" event for a service of this kind (its "at", "op", "service" and "for" are read already).
  virtual std::shared_ptr<const ServiceOperation> parse_operation(const ServiceSpec& service,
                                                                  const std::string& op, ObjectReader& event,
                                                                  Problems& problems) const;
};

class ServiceRegistry {
 public:
  // The kinds tandem ships: "rpc" today; "serving" and "automl" arrive with core/serving.
  static const ServiceRegistry& builtin();

  void add(std::unique_ptr<ServiceKind> kind);
  const ServiceKind* find(std::string_view name) const;
  std::vector<std::string> names() const;

 private:
  std::vector<std::unique_ptr<ServiceKind>> kinds_;
};

// A service entry's node-group field: entry[key], or `fallback` when absent; nullopt (with a problem naming the
// groups there are) when it names no group of `groups` (topology.group_names()).
std::optional<std::string> read_node_group(ObjectReader& entry, std::string_view key, const std::string& fallback,
                                           const std::vector<std::string>& groups, Problems& problems);

// Kinds that are planned but not yet available, with the reason, for a helpful refusal.
std::optional<std::string> planned_service_kind(std::string_view name);

}  // namespace tandem::scenarios
