#include "scenarios/scenario.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

namespace tandem::scenarios {
namespace {

using fault_injection::Fault;
using fault_injection::FaultKind;
using fault_injection::TargetShape;

constexpr Duration kMaxSkew = std::chrono::hours(24);
constexpr Duration kMaxFaultDelay = std::chrono::minutes(10);
constexpr size_t kMaxDescriptionLength = 4000;
constexpr size_t kMaxNoteLength = 1000;
constexpr int64_t kMaxConcurrentNemesisFaults = 64;
constexpr int64_t kMaxDirectionChanges = 1'000'000;                    // autoscaler_flapping
constexpr Duration kMaxFlappingWindow = std::chrono::hours(24 * 7);  // autoscaler_flapping

// --- Duplicate keys
// ------------------------------------------------------------------------------------------ nlohmann::json
// keeps the last of duplicate keys silently; a SAX pass finds them with their pointers first.
class DuplicateKeyFinder final : public nlohmann::json_sax<Json> {
 public:
  std::vector<std::string> duplicates;

  bool null() override { return value(); }
  bool boolean(bool) override { return value(); }
  bool number_integer(number_integer_t) override { return value(); }
  bool number_unsigned(number_unsigned_t) override { return value(); }
  bool number_float(number_float_t, const string_t&) override { return value(); }
  bool string(string_t&) override { return value(); }
  bool binary(binary_t&) override { return value(); }
  bool start_object(std::size_t) override {
    frames_.push_back(Frame{false, 0, "", {}, child()});
    return true;
  }
  bool key(string_t& key) override {
    Frame& frame = frames_.back();
    if (!frame.keys.insert(key).second && duplicates.size() < Problems::kMaxProblems) {
      duplicates.push_back(child_pointer(frame.pointer, key));
    }
    frame.key = key;
    return true;
  }
  bool end_object() override {
    frames_.pop_back();
    return true;
  }
  bool start_array(std::size_t) override {
    frames_.push_back(Frame{true, 0, "", {}, child()});
    return true;
  }
  bool end_array() override {
    frames_.pop_back();
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  struct Frame {
    bool array;
    size_t next_index;
    std::string key;
    std::set<std::string> keys;
    std::string pointer;
  };
  // The pointer of the value starting now, advancing the parent array's index.
  std::string child() {
    if (frames_.empty()) return "";
    Frame& parent = frames_.back();
    if (parent.array) return child_pointer(parent.pointer, parent.next_index++);
    return child_pointer(parent.pointer, parent.key);
  }
  bool value() {
    if (!frames_.empty() && frames_.back().array) ++frames_.back().next_index;
    return true;
  }
  std::vector<Frame> frames_;
};

std::string parse_error_message(const std::string& what) {
  // "[json.exception.parse_error.101] parse error at line 3, column 5: ..." -> "parse error at line 3, ..."
  const size_t bracket = what.find("] ");
  return bracket == std::string::npos ? what : what.substr(bracket + 2);
}

std::string targets_text(const Json& value) {
  if (value.is_string()) return value.get<std::string>();
  std::string out;
  if (value.is_array()) {
    for (const Json& item : value) {
      if (!out.empty()) out += ",";
      out += item.is_string() ? item.get<std::string>() : item.dump();
    }
  }
  return out;
}

std::string percent_text(double probability) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g%%", probability * 100);
  return buffer;
}

// "1s" or ["1s", "5s"]: a fixed duration or a range to draw from.
std::optional<std::pair<Duration, Duration>> read_duration_range(const Json& value,
                                                                 const std::string& pointer,
                                                                 Problems& problems) {
  if (value.is_array()) {
    if (value.size() != 2) {
      problems.add(pointer,
                   "expected a duration (\"2s\") or a range of two ([\"1s\", \"5s\"]), got an array of " +
                       std::to_string(value.size()));
      return std::nullopt;
    }
    auto low = read_duration(value[0], child_pointer(pointer, 0), problems);
    auto high = read_duration(value[1], child_pointer(pointer, 1), problems);
    if (!low || !high) return std::nullopt;
    if (*high < *low) {
      problems.add(pointer, "the range [" + format_scenario_duration(*low) + ", " +
                                format_scenario_duration(*high) +
                                "] goes backwards; give [shortest, longest]");
      return std::nullopt;
    }
    return std::make_pair(*low, *high);
  }
  auto fixed = read_duration(value, pointer, problems);
  if (!fixed) return std::nullopt;
  return std::make_pair(*fixed, *fixed);
}

class Loader {
 public:
  Loader(const Json& document, std::string base_dir, Problems& problems)
      : document_(document), base_dir_(std::move(base_dir)), problems_(problems) {}

  std::optional<Scenario> load() {
    Scenario scenario;
    scenario.document = document_;
    ObjectReader top(document_, "", problems_, "a scenario");
    if (!top.ok()) return std::nullopt;
    top.optional("$schema");  // editors: "$schema": "../schema.json"
    if (const Json* name = top.required("name", "give the scenario a short name, e.g. \"cluster-outage\"")) {
      if (auto text = read_string(*name, top.child("name"), problems_, "a name")) {
        if (!is_valid_name(*text)) {
          problems_.add(top.child("name"), "\"" + *text + "\" is not a valid name; " + kNameRule);
        }
        scenario.name = *text;
      }
    }
    if (auto description = top.string("description", Need::kOptional)) {
      if (description->size() > kMaxDescriptionLength) {
        problems_.add(top.child("description"), "is " + std::to_string(description->size()) +
                                                    " characters long; keep it under " +
                                                    std::to_string(kMaxDescriptionLength));
      }
      scenario.description = *description;
    }
    if (const Json* seed = top.optional("seed")) {
      if (auto value = read_unsigned(*seed, top.child("seed"), problems_)) scenario.seed = *value;
    }
    if (auto duration =
            top.duration("duration", Need::kRequired, "give how long the workload runs, e.g. \"60s\"")) {
      if (*duration <= Duration::zero()) {
        problems_.add(top.child("duration"),
                      "a run of 0s does nothing; give a positive duration such as \"60s\"");
      } else if (*duration > kMaxRunDuration) {
        problems_.add(top.child("duration"), format_scenario_duration(*duration) +
                                                 " is too long; a run may simulate at most " +
                                                 format_scenario_duration(kMaxRunDuration));
      } else {
        duration_ = *duration;
      }
    }
    scenario.duration = duration_;

    const size_t before_topology = problems_.size();
    if (const Json* topology = top.required("topology", "describe the regions and clusters")) {
      scenario.topology = parse_topology(*topology, top.child("topology"), problems_);
    }
    const bool topology_ok = problems_.size() == before_topology && top.has("topology");
    // The sections below name nodes and clusters; with a broken topology their errors would be noise.
    const Json* services =
        top.required("services", "list at least one service, e.g. [{\"kind\": \"rpc\", ...}]");
    const Json* workload = top.optional("workload");
    const Json* events = top.optional("events");
    const Json* nemesis = top.optional("nemesis");
    const Json* liveness = top.optional("liveness");
    const Json* expect = top.optional("expect");
    top.finish("at the top level of a scenario");
    if (!topology_ok) return std::nullopt;

    scenario.index = TopologyIndex(scenario.topology);
    index_ = &scenario.index;
    if (liveness != nullptr) scenario.liveness = parse_liveness(*liveness, "/liveness");
    if (services != nullptr) parse_services(*services, "/services", scenario);
    // Streams name services; when "services" is not even a list, their errors would only repeat that.
    if (workload != nullptr && services != nullptr && services->is_array())
      parse_workload(*workload, "/workload", scenario);
    if (events != nullptr) parse_events(*events, "/events", scenario);
    if (nemesis != nullptr) scenario.nemesis = parse_nemesis(*nemesis, "/nemesis", scenario);
    parse_expect(expect, "/expect", scenario);
    if (!problems_.empty()) return std::nullopt;
    return scenario;
  }

 private:
  // --- liveness -------------------------------------------------------------------------------------------
  std::optional<LivenessSpec> parse_liveness(const Json& value, const std::string& pointer) {
    ObjectReader reader(value, pointer, problems_, "a liveness section");
    LivenessSpec spec;
    auto heal_at =
        reader.duration("heal_at", Need::kRequired, "give when every fault is healed, e.g. \"50s\"");
    auto within = reader.duration("within", Need::kRequired,
                                  "give how soon after the heal the service must be healthy");
    if (auto v = reader.number("availability", Need::kOptional, 0, 1, "(a fraction: 0.99 = 99%)"))
      spec.availability = *v;
    if (auto v = reader.duration("window", Need::kOptional)) {
      if (*v <= Duration::zero()) problems_.add(reader.child("window"), "a window must be longer than 0s");
      spec.window = *v;
    }
    reader.finish("in the liveness section");
    if (!heal_at || !within) return std::nullopt;
    spec.heal_at = *heal_at;
    spec.within = *within;
    if (duration_ > Duration::zero() && spec.heal_at + spec.within + spec.window > duration_) {
      problems_.add(
          reader.child("heal_at"),
          "healing at " + format_scenario_duration(spec.heal_at) + " and converging within " +
              format_scenario_duration(spec.within) + " (plus one " + format_scenario_duration(spec.window) +
              " window to observe it) needs the run to last until " +
              format_scenario_duration(spec.heal_at + spec.within + spec.window) + ", but the duration is " +
              format_scenario_duration(duration_) + "; heal earlier or lengthen the run");
      return std::nullopt;
    }
    return spec;
  }

  // --- services -------------------------------------------------------------------------------------------
  void parse_services(const Json& value, const std::string& pointer, Scenario& scenario) {
    const Json* array = read_array(value, pointer, problems_, kMaxServices, "services");
    if (array == nullptr) return;
    if (array->empty()) problems_.add(pointer, "is empty; list at least one service");
    const ServiceRegistry& registry = ServiceRegistry::builtin();
    for (size_t i = 0; i < array->size(); ++i) {
      const std::string at = child_pointer(pointer, i);
      ObjectReader entry((*array)[i], at, problems_, "a service");
      if (!entry.ok()) continue;
      // A plain string and a flag rather than an optional reset on error: GCC 12 at -O3 warns (falsely) that
      // a reset optional<string> may be read uninitialized, which fails the -Werror Release build.
      const std::optional<std::string> given =
          entry.string("name", Need::kRequired, "give the service a name, e.g. \"quote\"");
      const std::string name = given.value_or("");
      bool name_ok = given.has_value();
      if (name_ok && !is_valid_name(name)) {
        problems_.add(entry.child("name"), "\"" + name + "\" is not a valid name; " + kNameRule);
        name_ok = false;
      }
      if (name_ok && std::find(service_names_.begin(), service_names_.end(), name) != service_names_.end()) {
        problems_.add(entry.child("name"),
                      "service \"" + name + "\" is defined twice; service names must be unique");
        name_ok = false;
      }
      service_names_.push_back(name_ok ? name : "");
      const std::optional<std::string> kind_name =
          entry.string("kind", Need::kRequired, "give the service kind: " + join_names(registry.names()));
      if (!kind_name) {
        entry.finish();
        continue;
      }
      const ServiceKind* kind = registry.find(*kind_name);
      if (kind == nullptr) {
        if (auto reason = planned_service_kind(*kind_name)) {
          problems_.add(entry.child("kind"), "service kind \"" + *kind_name +
                                                 "\" is not available yet: " + *reason +
                                                 ". Available kinds: " + join_names(registry.names()));
        } else {
          problems_.add(entry.child("kind"), "unknown service kind \"" + *kind_name + "\"" +
                                                 suggestion(*kind_name, registry.names(), "available kinds"));
        }
        entry.skip_rest();
        continue;
      }
      if (!name_ok) {  // already reported; its other keys would only draw "unknown key" noise
        entry.skip_rest();
        continue;
      }
      // The serving kind runs the actor runtime on its clusters' nodes, which bind well-known ports: one
      // serving service per scenario.
      if (*kind_name == "serving" && serving_at_) {
        problems_.add(entry.child("kind"), "a scenario runs at most one service of kind \"serving\" (" +
                                               *serving_at_ + " is one); merge them or split the scenario");
        entry.skip_rest();
        continue;
      }
      if (*kind_name == "serving") serving_at_ = entry.pointer();
      std::shared_ptr<const ServiceSpec> spec = kind->parse(entry, name, *index_, problems_);
      if (spec) {
        service_specs_.resize(i + 1);
        service_specs_[i] = spec;
      }
    }
    for (size_t i = 0; i < array->size(); ++i) {
      if (i < service_specs_.size() && service_specs_[i]) {
        scenario.services.push_back(service_specs_[i]);
        runs_actors_ |= service_specs_[i]->runs_actors();
      }
    }
    if (scenario.services.size() != array->size()) scenario.services.clear();
  }

  const ServiceSpec* service_by_name(const std::string& name) const {
    for (const auto& spec : service_specs_) {
      if (spec && spec->name() == name) return spec.get();
    }
    return nullptr;
  }

  // --- workload -------------------------------------------------------------------------------------------
  void parse_workload(const Json& value, const std::string& pointer, Scenario& scenario) {
    const Json* array = read_array(value, pointer, problems_, kMaxServices, "workload streams");
    if (array == nullptr) return;
    double expected = 0;
    for (size_t i = 0; i < array->size(); ++i) {
      const std::string at = child_pointer(pointer, i);
      std::optional<WorkloadStream> stream =
          parse_stream((*array)[i], at, service_names_, *index_, base_dir_, problems_);
      if (!stream) continue;
      if (stream->start >= duration_ && duration_ > Duration::zero()) {
        problems_.add(child_pointer(at, "start"), "starts at " + format_scenario_duration(stream->start) +
                                                      ", after the run ends (" +
                                                      format_scenario_duration(duration_) + ")");
        continue;
      }
      if (const ServiceSpec* service = service_by_name(stream->service);
          service != nullptr && !stream->clusters.empty()) {
        const bool any = std::any_of(service->clients().begin(), service->clients().end(), [&](NodeId node) {
          return std::find(stream->clusters.begin(), stream->clusters.end(), index_->cluster_of(node)) !=
                 stream->clusters.end();
        });
        if (!any) {
          problems_.add(child_pointer(at, "clusters"),
                        "service \"" + stream->service + "\" has no clients in these clusters");
          continue;
        }
      }
      const double requests = stream->expected_requests(duration_);
      expected += requests;
      scenario.workload.push_back(std::move(*stream));
    }
    if (expected > kMaxRequestsPerRun) {
      problems_.add(pointer, "the workload would issue about " + format_number(std::round(expected)) +
                                 " requests; a run may issue at most " + format_number(kMaxRequestsPerRun) +
                                 "; lower the rates or shorten the duration");
    }
  }

  // --- faults ---------------------------------------------------------------------------------------------
  // Reads the numbers a fault kind takes (skew, delay, probability, jitter, outage mode) into `fault`.
  // `defaults` (nemesis) fills in missing ones instead of reporting them.
  void parse_fault_parameters(ObjectReader& reader, Fault& fault, bool defaults) {
    const Need need = defaults ? Need::kOptional : Need::kRequired;
    switch (fault.kind) {
      case FaultKind::kClockSkew:
        fault.skew = std::chrono::seconds(1);
        if (auto v = reader.duration("skew", need, "give the clock offset, e.g. \"500ms\" or \"-2s\"",
                                     Sign::kAllowNegative)) {
          if (*v > kMaxSkew || *v < -kMaxSkew) {
            problems_.add(reader.child("skew"), "a skew of " + format_scenario_duration(*v) +
                                                    " is beyond +/-24h; give a smaller offset");
          }
          fault.skew = *v;
        }
        break;
      case FaultKind::kLinkDelay:
      case FaultKind::kSlowNode:
        fault.delay = std::chrono::milliseconds(100);
        if (auto v = reader.duration("delay", need, "give the extra delay per message, e.g. \"50ms\"")) {
          if (*v > kMaxFaultDelay)
            problems_.add(reader.child("delay"),
                          "an extra delay over 10m is no longer slow but down; use a partition instead");
          fault.delay = *v;
        }
        break;
      case FaultKind::kLinkLoss:
      case FaultKind::kLinkDuplicate:
        fault.probability = 0.2;
        if (auto v = reader.number("probability", need, 0, 1, "(0.2 = 20% of messages)",
                                   "give the chance per message, e.g. 0.2")) {
          fault.probability = *v;
        }
        break;
      case FaultKind::kLinkReorder:
        fault.jitter = std::chrono::milliseconds(20);
        if (auto v = reader.duration("jitter", need,
                                     "give the random extra delay that reorders messages, e.g. \"20ms\"")) {
          if (*v > kMaxFaultDelay)
            problems_.add(reader.child("jitter"), "a jitter over 10m is not a reorder; give at most \"10m\"");
          fault.jitter = *v;
        }
        break;
      case FaultKind::kClusterOutage:
        if (auto v = reader.string("mode", Need::kOptional)) {
          if (*v == "network") {
            fault.outage = fault_injection::OutageMode::kNetwork;
          } else if (*v == "power") {
            fault.outage = fault_injection::OutageMode::kPower;
          } else {
            problems_.add(reader.child("mode"),
                          "unknown outage mode \"" + *v +
                              "\"; use \"network\" (cut off the backbone) or \"power\" (every node crashes)");
          }
        }
        break;
      default:
        break;
    }
  }

  std::optional<FaultKind> read_fault_kind(ObjectReader& reader, std::string_view key) {
    auto name = reader.string(key, Need::kRequired);
    if (!name) return std::nullopt;
    std::optional<FaultKind> kind = fault_injection::parse_fault_kind(*name);
    if (!kind) {
      const std::vector<std::string> names = fault_injection::fault_kind_names();
      problems_.add(reader.child(key),
                    "unknown fault \"" + *name + "\"" + suggestion(*name, names, "faults"));
      reader.skip_rest();
      return std::nullopt;
    }
    if (fault_injection::kind_info(*kind).needs_runtime && !runs_actors_) {
      problems_.add(reader.child(key), "fault \"" + *name +
                                           "\" needs the actor runtime, which no service kind in this "
                                           "scenario runs yet; use crash or pause on the actor's node");
      reader.skip_rest();
      return std::nullopt;
    }
    return kind;
  }

  // The targets of a scripted fault, resolved, with its label.
  bool parse_fault_targets(ObjectReader& reader, Fault& fault) {
    const std::string name(fault_injection::fault_kind_name(fault.kind));
    switch (fault_injection::kind_info(fault.kind).shape) {
      case TargetShape::kNodes: {
        const Json* target = reader.required(
            "target", "name a node (\"east-a/server0\"), a cluster, a region, a glob or \"*\"");
        if (target == nullptr) return false;
        auto nodes = read_targets(*target, reader.child("target"), *index_, problems_);
        if (!nodes) return false;
        fault.nodes = *nodes;
        fault.target = targets_text(*target);
        fault.label = name + " " + fault.target;
        if (fault.kind == FaultKind::kClockSkew)
          fault.label = name + " " + format_scenario_duration(fault.skew) + " " + fault.target;
        if (fault.kind == FaultKind::kSlowNode)
          fault.label = name + " +" + format_scenario_duration(fault.delay) + " " + fault.target;
        return true;
      }
      case TargetShape::kTwoSides: {
        const Json* a = nullptr;
        const Json* b = nullptr;
        std::string a_at;
        std::string b_at;
        if (fault.kind == FaultKind::kPartition) {
          const Json* sides =
              reader.required("sides", "give the two sides, e.g. [[\"east-a\"], [\"west-a\"]]");
          if (sides == nullptr) return false;
          if (!sides->is_array() || sides->size() != 2) {
            problems_.add(reader.child("sides"),
                          "expected two sides such as [[\"east-a\"], [\"west-a\", \"east-b\"]], got " +
                              describe_json(*sides));
            return false;
          }
          a = &(*sides)[0];
          b = &(*sides)[1];
          a_at = child_pointer(reader.child("sides"), 0);
          b_at = child_pointer(reader.child("sides"), 1);
        } else {
          a = reader.required("from", "name the sending side, e.g. \"east-b\"");
          b = reader.required("to", "name the receiving side, e.g. \"west-a\"");
          a_at = reader.child("from");
          b_at = reader.child("to");
          if (a == nullptr || b == nullptr) return false;
        }
        auto side_a = read_targets(*a, a_at, *index_, problems_);
        auto side_b = read_targets(*b, b_at, *index_, problems_);
        if (!side_a || !side_b) return false;
        fault.nodes = *side_a;
        fault.other = *side_b;
        const bool partition =
            fault.kind == FaultKind::kPartition || fault.kind == FaultKind::kPartitionOneWay;
        if (partition) {
          std::vector<NodeId> both;
          std::set_intersection(side_a->begin(), side_a->end(), side_b->begin(), side_b->end(),
                                std::back_inserter(both));
          if (!both.empty()) {
            problems_.add(fault.kind == FaultKind::kPartition ? reader.child("sides") : reader.child("to"),
                          "node " + index_->node_name(both.front()) +
                              " is on both sides; a node can only be on one side "
                              "of a partition");
            return false;
          }
        } else if (side_a->size() == 1 && *side_a == *side_b) {
          problems_.add(reader.child("to"),
                        "from and to are the same node; a link fault needs two different nodes");
          return false;
        }
        fault.target =
            targets_text(*a) + (fault.kind == FaultKind::kPartition ? " | " : " -> ") + targets_text(*b);
        std::string parameter;
        if (fault.kind == FaultKind::kLinkLoss || fault.kind == FaultKind::kLinkDuplicate)
          parameter = " " + percent_text(fault.probability);
        if (fault.kind == FaultKind::kLinkDelay) parameter = " +" + format_scenario_duration(fault.delay);
        if (fault.kind == FaultKind::kLinkReorder) parameter = " " + format_scenario_duration(fault.jitter);
        fault.label = name + parameter + " " + fault.target;
        return true;
      }
      case TargetShape::kCluster: {
        auto cluster = reader.string("target", Need::kRequired, "name the cluster, e.g. \"west-a\"");
        if (!cluster) return false;
        auto id = index_->find_cluster(*cluster);
        if (!id) {
          problems_.add(reader.child("target"), "no cluster named \"" + *cluster + "\"; known clusters: " +
                                                    join_names(index_->cluster_names()));
          return false;
        }
        fault.cluster = *id;
        fault.target = *cluster;
        fault.label = name + " " + *cluster +
                      (fault.outage == fault_injection::OutageMode::kPower ? " (power)" : " (network)");
        return true;
      }
      case TargetShape::kRegionPair: {
        const Json* between = reader.required("between", "name the two regions, e.g. [\"east\", \"west\"]");
        if (between == nullptr) return false;
        if (!between->is_array() || between->size() != 2 || !(*between)[0].is_string() ||
            !(*between)[1].is_string()) {
          problems_.add(
              reader.child("between"),
              "expected two region names such as [\"east\", \"west\"], got " + describe_json(*between));
          return false;
        }
        const std::string a = (*between)[0].get<std::string>();
        const std::string b = (*between)[1].get<std::string>();
        auto ra = index_->find_region(a);
        auto rb = index_->find_region(b);
        if (!ra || !rb) {
          problems_.add(reader.child("between"),
                        "no region named \"" + (!ra ? a : b) +
                            "\"; known regions: " + join_names(index_->region_names()));
          return false;
        }
        if (*ra == *rb || !index_->has_wan_link(*ra, *rb)) {
          problems_.add(reader.child("between"),
                        "there is no WAN link between \"" + a + "\" and \"" + b + "\" to cut");
          return false;
        }
        fault.region_a = *ra;
        fault.region_b = *rb;
        fault.target = a + " - " + b;
        fault.label = name + " " + fault.target;
        return true;
      }
      case TargetShape::kActor: {
        auto actor = reader.string("target", Need::kRequired, "name the actor to kill");
        if (!actor) return false;
        fault.actor = *actor;
        fault.target = *actor;
        fault.label = name + " " + *actor;
        return true;
      }
    }
    return false;
  }

  // --- events ---------------------------------------------------------------------------------------------
  void parse_events(const Json& value, const std::string& pointer, Scenario& scenario) {
    const Json* array = read_array(value, pointer, problems_, kMaxEvents, "events");
    if (array == nullptr) return;
    for (size_t i = 0; i < array->size(); ++i) {
      const std::string at = child_pointer(pointer, i);
      ObjectReader reader((*array)[i], at, problems_, "an event");
      if (!reader.ok()) continue;
      const size_t before = problems_.size();
      EventSpec event;
      event.source = "events/" + std::to_string(i);
      auto when = reader.duration("at", Need::kRequired, "give when the event happens, e.g. \"10s\"");
      const int kinds = static_cast<int>(reader.has("fault")) + static_cast<int>(reader.has("action")) +
                        static_cast<int>(reader.has("op"));
      if (kinds != 1) {
        problems_.add(
            at, kinds == 0
                    ? "an event needs one of \"fault\" (e.g. \"crash\"), \"action\" (restart, resume, heal, "
                      "note) or \"op\" (a service operation)"
                    : "an event has exactly one of \"fault\", \"action\" or \"op\"; split it into several "
                      "events");
        reader.optional("fault");
        reader.optional("action");
        reader.optional("op");
        reader.optional("for");
        reader.finish();
        continue;
      }
      std::string context;
      if (reader.has("fault")) {
        event.kind = EventSpec::Kind::kFault;
        if (auto kind = read_fault_kind(reader, "fault")) {
          event.fault.kind = *kind;
          context = "for fault \"" + std::string(fault_injection::fault_kind_name(*kind)) + "\"";
          parse_fault_parameters(reader, event.fault, false);
          parse_fault_targets(reader, event.fault);
          event.duration = reader.duration(
              "for", fault_injection::kind_info(*kind).needs_duration ? Need::kRequired : Need::kOptional,
              "a clog holds messages until it ends; give how long, e.g. \"2s\"");
          if (event.duration && *event.duration <= Duration::zero()) {
            problems_.add(
                reader.child("for"),
                "a fault that lasts 0s does nothing; give a positive duration or leave \"for\" out");
          }
          if (event.fault.kind == FaultKind::kClog && event.duration) event.fault.clog_for = *event.duration;
        }
      } else if (reader.has("action")) {
        auto action = reader.string("action", Need::kRequired);
        context = action ? "for action \"" + *action + "\"" : "";
        if (action && (*action == "restart" || *action == "resume")) {
          event.kind = *action == "restart" ? EventSpec::Kind::kRestart : EventSpec::Kind::kResume;
          if (const Json* target = reader.required("target", "name the nodes to " + *action)) {
            if (auto nodes = read_targets(*target, reader.child("target"), *index_, problems_))
              event.nodes = *nodes;
          }
        } else if (action && *action == "heal") {
          event.kind = EventSpec::Kind::kHeal;
        } else if (action && *action == "note") {
          event.kind = EventSpec::Kind::kNote;
          if (auto text = reader.string("text", Need::kRequired, "give the note's text")) {
            if (text->size() > kMaxNoteLength)
              problems_.add(reader.child("text"), "keep a note under 1000 characters");
            event.text = *text;
          }
        } else if (action) {
          std::vector<std::string> actions = {"restart", "resume", "heal", "note"};
          problems_.add(reader.child("action"), "unknown action \"" + *action + "\"" +
                                                    suggestion(*action, actions, "actions") +
                                                    " (faults go in \"fault\")");
          reader.skip_rest();
        }
      } else {
        event.kind = EventSpec::Kind::kOperation;
        auto op = reader.string("op", Need::kRequired);
        auto service = reader.string("service", Need::kRequired, "name the service the operation applies to");
        context = op ? "for operation \"" + *op + "\"" : "";
        if (op && service) {
          const auto it = std::find(service_names_.begin(), service_names_.end(), *service);
          const ServiceSpec* spec = service_by_name(*service);
          if (it == service_names_.end()) {
            problems_.add(reader.child("service"), "no service named \"" + *service + "\"" +
                                                       suggestion(*service, service_names_, "services"));
          } else if (spec != nullptr) {
            event.service = static_cast<size_t>(it - service_names_.begin());
            const ServiceKind* kind = ServiceRegistry::builtin().find(spec->kind());
            event.operation = kind->parse_operation(*spec, *op, reader, problems_);
          }
        }
      }
      reader.finish(context);
      if (when) {
        event.at = *when;
        if (duration_ > Duration::zero() && *when >= duration_) {
          problems_.add(reader.child("at"),
                        format_scenario_duration(*when) + " is at or after the end of the run (duration " +
                            format_scenario_duration(duration_) + "); move it earlier or lengthen the run");
        }
        if (scenario.liveness && event.kind == EventSpec::Kind::kFault &&
            *when >= scenario.liveness->heal_at) {
          problems_.add(reader.child("at"),
                        "a fault at " + format_scenario_duration(*when) + " comes after liveness.heal_at (" +
                            format_scenario_duration(scenario.liveness->heal_at) +
                            "), when everything must stay healed; move it before the heal");
        }
      }
      if (problems_.size() == before) scenario.events.push_back(std::move(event));
    }
  }

  // --- nemesis --------------------------------------------------------------------------------------------
  std::optional<fault_injection::NemesisSpec> parse_nemesis(const Json& value, const std::string& pointer,
                                                            Scenario& scenario) {
    ObjectReader reader(value, pointer, problems_, "a nemesis");
    if (!reader.ok()) return std::nullopt;
    const size_t before = problems_.size();
    fault_injection::NemesisSpec spec;
    const Duration default_end = scenario.liveness ? scenario.liveness->heal_at : duration_;
    spec.start = reader.duration("start", Need::kOptional).value_or(Duration::zero());
    spec.end = reader.duration("end", Need::kOptional).value_or(default_end);
    if (spec.end <= spec.start) {
      problems_.add(reader.child("end"), "the nemesis ends at " + format_scenario_duration(spec.end) +
                                             ", not after it starts (" +
                                             format_scenario_duration(spec.start) + "); give end > start");
    } else if (spec.end > default_end) {
      problems_.add(reader.child("end"),
                    format_scenario_duration(spec.end) + " is after " +
                        (scenario.liveness ? "liveness.heal_at (" : "the end of the run (") +
                        format_scenario_duration(default_end) + "); end the nemesis by then");
    }
    if (const Json* targets = reader.optional("targets")) {
      if (auto nodes = read_targets(*targets, reader.child("targets"), *index_, problems_))
        spec.nodes = *nodes;
    } else {
      spec.nodes.resize(index_->node_count());
      for (NodeId node = 0; node < spec.nodes.size(); ++node) spec.nodes[node] = node;
    }
    spec.wan_links = index_->wan_links();
    if (auto v = reader.boolean("swarm", Need::kOptional)) spec.swarm = *v;
    if (auto v =
            reader.integer("max_concurrent", Need::kOptional, 1, kMaxConcurrentNemesisFaults, "faults")) {
      spec.max_concurrent = static_cast<uint32_t>(*v);
    }
    if (const Json* quiet = reader.optional("quiet")) {
      ObjectReader q(*quiet, reader.child("quiet"), problems_, "quiet periods");
      auto every = q.duration("every", Need::kRequired, "give the cycle, e.g. \"20s\"");
      auto length = q.duration("for", Need::kRequired, "give how long each quiet period lasts, e.g. \"5s\"");
      q.finish("in quiet periods");
      if (every && length) {
        if (!(*length > Duration::zero() && *length < *every)) {
          problems_.add(q.pointer(), "quiet periods need 0 < for < every (a quiet period of " +
                                         format_scenario_duration(*length) + " every " +
                                         format_scenario_duration(*every) + ")");
        } else {
          spec.quiet_every = *every;
          spec.quiet_for = *length;
        }
      }
    }
    if (const Json* faults = reader.required(
            "faults",
            "list the fault kinds, e.g. [{\"fault\": \"crash\", \"every\": \"10s\", \"for\": \"2s\"}]")) {
      const std::string at = reader.child("faults");
      if (const Json* array = read_array(*faults, at, problems_, kMaxNemesisKinds, "fault kinds")) {
        if (array->empty()) problems_.add(at, "is empty; list at least one fault kind");
        for (size_t i = 0; i < array->size(); ++i) {
          ObjectReader f((*array)[i], child_pointer(at, i), problems_, "a nemesis fault kind");
          if (!f.ok()) continue;
          fault_injection::NemesisFaultSpec kind;
          std::string context;
          if (auto parsed = read_fault_kind(f, "fault")) {
            kind.parameters.kind = *parsed;
            context = "for nemesis fault \"" + std::string(fault_injection::fault_kind_name(*parsed)) + "\"";
            parse_fault_parameters(f, kind.parameters, true);
          }
          if (auto every = f.duration("every", Need::kRequired,
                                      "give the mean time between faults of this kind, e.g. \"10s\"")) {
            if (*every < std::chrono::milliseconds(1)) {
              problems_.add(f.child("every"),
                            "faults more often than every 1ms would swamp the run; give at least \"1ms\"");
            }
            kind.mean_interval = *every;
          }
          if (const Json* length =
                  f.required("for", "give how long each fault lasts: \"2s\" or a range [\"1s\", \"5s\"]")) {
            if (auto range = read_duration_range(*length, f.child("for"), problems_)) {
              if (range->first <= Duration::zero()) {
                problems_.add(f.child("for"), "a fault that lasts 0s does nothing; give a positive duration");
              }
              kind.min_duration = range->first;
              kind.max_duration = range->second;
            }
          }
          f.finish(context);
          spec.faults.push_back(std::move(kind));
        }
      }
    }
    reader.finish("in the nemesis");
    if (problems_.size() != before) return std::nullopt;
    return spec;
  }

  // --- expect ---------------------------------------------------------------------------------------------
  void parse_expect(const Json* value, const std::string& pointer, Scenario& scenario) {
    reports::Expectations& expect = scenario.expect;
    if (scenario.liveness) {
      expect.liveness =
          reports::LivenessExpectation{scenario.liveness->heal_at, scenario.liveness->within,
                                       scenario.liveness->availability, scenario.liveness->window};
    }
    if (value == nullptr) return;
    ObjectReader reader(*value, pointer, problems_, "the expectations");
    if (!reader.ok()) return;
    if (auto v = reader.boolean("no_lost_requests", Need::kOptional)) expect.no_lost_requests = *v;
    if (auto v = reader.boolean("determinism", Need::kOptional)) expect.determinism = *v;
    if (const Json* availability = reader.optional("availability")) {
      ObjectReader a(*availability, reader.child("availability"), problems_, "availability expectations");
      reports::AvailabilityExpectation spec;
      const char* fraction = "(a fraction: 0.999 = 99.9%)";
      if (auto v = a.number("overall", Need::kOptional, 0, 1, fraction)) spec.overall = *v;
      if (auto v = a.number("per_window", Need::kOptional, 0, 1, fraction)) spec.per_window = *v;
      if (auto v = a.duration("window", Need::kOptional)) {
        if (*v <= Duration::zero()) problems_.add(a.child("window"), "a window must be longer than 0s");
        spec.window = *v;
      }
      if (auto v = a.integer("min_requests", Need::kOptional, 1, 1'000'000'000, "requests")) {
        spec.min_requests_per_window = static_cast<uint64_t>(*v);
      }
      a.finish("in availability expectations");
      if (!spec.overall && !spec.per_window && a.ok()) {
        problems_.add(a.pointer(), "says nothing to check; give \"overall\" and/or \"per_window\"");
      }
      expect.availability = spec;
    }
    if (const Json* latency = reader.optional("latency")) {
      const std::string at = reader.child("latency");
      if (!latency->is_object()) {
        problems_.add(
            at, "expected an object of percentiles such as {\"p50\": \"5ms\", \"p99\": \"100ms\"}, got " +
                    describe_json(*latency));
      } else {
        if (latency->empty())
          problems_.add(at, "is empty; give at least one percentile, e.g. {\"p99\": \"100ms\"}");
        for (const auto& [key, limit] : latency->items()) {
          const std::string key_at = child_pointer(at, key);
          std::optional<double> percentile;
          if (key == "max") {
            percentile = 100;
          } else if (key.size() > 1 && key[0] == 'p') {
            char* end = nullptr;
            const double number = std::strtod(key.c_str() + 1, &end);
            if (end != nullptr && *end == '\0' && number > 0 && number <= 100 &&
                std::isdigit(static_cast<unsigned char>(key[1]))) {
              percentile = number;
            }
          }
          if (!percentile) {
            std::string message = "unknown latency key \"" + key + "\"";
            if (auto match = closest_match(key, {"p50", "p90", "p99", "p99.9", "max"})) {
              message += "; did you mean \"" + *match + "\"? Use";
            } else {
              message += "; use";
            }
            problems_.add(key_at, message + " p<percentile> (p50, p99, p99.9) or max");
            continue;
          }
          if (auto v = read_duration(limit, key_at, problems_)) {
            expect.latency.push_back(reports::LatencyExpectation{*percentile, *v});
          }
        }
        std::sort(expect.latency.begin(), expect.latency.end(),
                  [](const auto& a, const auto& b) { return a.percentile < b.percentile; });
      }
    }
    if (const Json* recovery = reader.optional("recovery")) {
      ObjectReader r(*recovery, reader.child("recovery"), problems_, "recovery expectations");
      reports::RecoveryExpectation spec;
      if (auto v = r.duration("max", Need::kRequired,
                              "give the longest recovery allowed after a fault heals, e.g. \"5s\""))
        spec.max = *v;
      if (auto v = r.number("availability", Need::kOptional, 0, 1, "(a fraction)")) spec.availability = *v;
      if (auto v = r.duration("window", Need::kOptional)) {
        if (*v <= Duration::zero()) problems_.add(r.child("window"), "a window must be longer than 0s");
        spec.window = *v;
      }
      r.finish("in recovery expectations");
      expect.recovery = spec;
    }
    if (const Json* serving = reader.optional("serving")) {
      ObjectReader s(*serving, reader.child("serving"), problems_, "serving expectations");
      const bool has_serving = std::any_of(scenario.services.begin(), scenario.services.end(),
                                           [](const auto& spec) { return spec->kind() == "serving"; });
      auto needs_serving = [&](std::string_view key) {
        problems_.add(s.child(key),
                      "needs a service of kind \"serving\", and this scenario has none; add one or remove it");
      };
      const bool autoscales = std::any_of(scenario.services.begin(), scenario.services.end(),
                                          [](const auto& spec) { return spec->autoscales(); });
      // An autoscaler check on a fixed replica count could only say "not evaluated": refuse it up front.
      auto needs_autoscaler = [&](std::string_view key) {
        if (!has_serving) return needs_serving(key);
        problems_.add(s.child(key), "needs a serving service that autoscales, and none does; give the service "
                                    "\"autoscale\": {\"mode\": \"reactive\"} (or \"predictive\"), or remove it");
      };
      if (auto v = s.boolean("upgrade_safety", Need::kOptional)) {
        if (*v && !has_serving) needs_serving("upgrade_safety");
        expect.serving.upgrade_safety = *v;
      }
      if (auto v = s.boolean("single_acting_appmaster", Need::kOptional)) {
        if (*v && !has_serving) needs_serving("single_acting_appmaster");
        expect.serving.single_acting_appmaster = *v;
      }
      if (auto v = s.duration("discovery_convergence", Need::kOptional)) {
        if (!has_serving) needs_serving("discovery_convergence");
        expect.serving.discovery_convergence = *v;
      }
      if (auto v = s.boolean("autoscaler_bounds", Need::kOptional)) {
        if (*v && !autoscales) needs_autoscaler("autoscaler_bounds");
        expect.serving.autoscaler_bounds = *v;
      }
      if (const Json* flapping = s.optional("autoscaler_flapping")) {
        if (!autoscales) needs_autoscaler("autoscaler_flapping");
        ObjectReader f(*flapping, s.child("autoscaler_flapping"), problems_, "autoscaler flapping expectations");
        reports::FlappingExpectation spec;
        if (auto v = f.integer("max_direction_changes", Need::kRequired, 0, kMaxDirectionChanges, "reversals",
                               "give how many times the replica target may reverse direction within the "
                               "window, e.g. 2")) {
          spec.max_direction_changes = static_cast<uint32_t>(*v);
        }
        if (auto v = f.duration("window", Need::kRequired,
                                "give the window the reversals are counted in, e.g. \"10m\"")) {
          if (*v <= Duration::zero()) {
            problems_.add(f.child("window"), "a window must be longer than 0s");
          } else if (*v > kMaxFlappingWindow) {
            problems_.add(f.child("window"), "is longer than " + format_duration(kMaxFlappingWindow) +
                                                 "; give a window of at most that, e.g. \"10m\"");
          }
          spec.window = *v;
        }
        f.finish("in autoscaler flapping expectations");
        expect.serving.autoscaler_flapping = spec;
      }
      s.finish("in serving expectations");
    }
    reader.finish("in the expectations");
  }

  const Json& document_;
  std::string base_dir_;
  Problems& problems_;
  Duration duration_{};
  const TopologyIndex* index_ = nullptr;
  std::optional<std::string> serving_at_;  // pointer of the scenario's serving service
  bool runs_actors_ = false;                // some service runs the actor runtime: actor faults are allowed
  std::vector<std::string> service_names_;  // by position in "services" ("" when invalid)
  std::vector<std::shared_ptr<const ServiceSpec>> service_specs_;
};

std::string directory_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

Duration Scenario::drain() const {
  Duration longest{};
  for (const auto& service : services) longest = std::max(longest, service->request_budget());
  return longest + std::chrono::seconds(1);
}

std::vector<std::string> scenario_top_level_keys() {
  return {"$schema",  "name",     "description", "seed",    "duration", "topology",
          "services", "workload", "events",      "nemesis", "liveness", "expect"};
}

std::vector<std::string> scenario_required_keys() { return {"name", "duration", "topology", "services"}; }

LoadResult load_scenario_json(const Json& document, const std::string& base_dir) {
  LoadResult result;
  Loader loader(document, base_dir, result.problems);
  result.scenario = loader.load();
  if (!result.problems.empty()) result.scenario.reset();
  return result;
}

LoadResult load_scenario_text(std::string_view text, const std::string& base_dir) {
  LoadResult result;
  if (text.size() > kMaxScenarioBytes) {
    result.problems.add("", "the file is " + std::to_string(text.size()) +
                                " bytes; a scenario may be at most " + std::to_string(kMaxScenarioBytes) +
                                " (put large request logs in a replay file)");
    return result;
  }
  Json document;
  try {
    document = Json::parse(text);
  } catch (const Json::parse_error& error) {
    result.problems.add("", "not valid JSON: " + parse_error_message(error.what()));
    return result;
  }
  DuplicateKeyFinder finder;
  Json::sax_parse(text, &finder);
  for (const std::string& pointer : finder.duplicates) {
    result.problems.add(pointer,
                        "this key appears twice in the same object; JSON keeps only the last, so remove one");
  }
  LoadResult loaded = load_scenario_json(document, base_dir);
  for (const Problem& problem : loaded.problems.items())
    result.problems.add(problem.pointer, problem.message);
  if (result.problems.empty()) result.scenario = std::move(loaded.scenario);
  return result;
}

LoadResult load_scenario_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadResult result;
    result.problems.add(
        "", "cannot read \"" + path + "\"; check the path (tandem list shows the scenario library)");
    return result;
  }
  std::ostringstream text;
  text << in.rdbuf();
  LoadResult result = load_scenario_text(text.str(), directory_of(path));
  if (result.scenario) result.scenario->path = path;
  return result;
}

}  // namespace tandem::scenarios
