#include "scenarios/workload.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numbers>

namespace tandem::scenarios {
namespace {

constexpr std::string_view kRateUnit = "requests per second";

double seconds(Duration d) { return static_cast<double>(d.count()) / 1e9; }

std::optional<double> read_rate(ObjectReader& reader, std::string_view key, Need need,
                                std::string_view hint) {
  return reader.number(key, need, 0, kMaxRequestRate, kRateUnit, hint);
}

std::string shape_list() { return "constant, step, ramp, diurnal, burst, replay"; }

}  // namespace

std::string_view rate_shape_name(RateShape shape) {
  switch (shape) {
    case RateShape::kConstant:
      return "constant";
    case RateShape::kStep:
      return "step";
    case RateShape::kRamp:
      return "ramp";
    case RateShape::kDiurnal:
      return "diurnal";
    case RateShape::kBurst:
      return "burst";
    case RateShape::kReplay:
      return "replay";
  }
  return "unknown";
}

double WorkloadStream::rate_at(Duration t) const {
  switch (shape) {
    case RateShape::kConstant:
      return rate;
    case RateShape::kStep: {
      double current = 0;
      for (const RateStep& step : steps) {
        if (step.at > t) break;
        current = step.rate;
      }
      return current;
    }
    case RateShape::kRamp: {
      if (t <= ramp_start) return from;
      if (t >= ramp_end) return to;
      const double fraction = seconds(t - ramp_start) / seconds(ramp_end - ramp_start);
      return from + (to - from) * fraction;
    }
    case RateShape::kDiurnal: {
      const double phase = 2 * std::numbers::pi * seconds(t - peak) / seconds(period);
      return std::max(0.0, mean + amplitude * std::cos(phase));
    }
    case RateShape::kBurst: {
      double current = base;
      for (const BurstSpec& burst : bursts) {
        if (t >= burst.at && t < burst.at + burst.length) current = std::max(current, burst.rate);
      }
      if (burst_every > Duration::zero() && (t % burst_every) < burst_for)
        current = std::max(current, burst_rate);
      return current;
    }
    case RateShape::kReplay:
      return 0;
  }
  return 0;
}

double WorkloadStream::max_rate() const {
  switch (shape) {
    case RateShape::kConstant:
      return rate;
    case RateShape::kStep: {
      double top = 0;
      for (const RateStep& step : steps) top = std::max(top, step.rate);
      return top;
    }
    case RateShape::kRamp:
      return std::max(from, to);
    case RateShape::kDiurnal:
      return mean + amplitude;
    case RateShape::kBurst: {
      double top = std::max(base, burst_rate);
      for (const BurstSpec& burst : bursts) top = std::max(top, burst.rate);
      return top;
    }
    case RateShape::kReplay:
      return 0;
  }
  return 0;
}

double WorkloadStream::expected_requests(Duration duration) const {
  const Duration stop = std::min(end.value_or(duration), duration);
  if (stop <= start) return 0;
  if (shape == RateShape::kReplay) {
    return static_cast<double>(std::count_if(replay.begin(), replay.end(), [&](const ReplayRequest& request) {
      const auto at = Duration(static_cast<int64_t>(static_cast<double>(request.at.count()) / speed));
      return at >= start && at < stop;
    }));
  }
  // Midpoint rule; shapes are piecewise smooth, and this is only used to refuse absurd loads.
  const int64_t steps = 10'000;
  const Duration step = std::max<Duration>(Duration(1), (stop - start) / steps);
  double total = 0;
  for (Duration t = start; t < stop; t += step)
    total += rate_at(t + step / 2) * seconds(std::min(step, stop - t));
  return total;
}

std::optional<std::vector<ReplayRequest>> read_replay_log(const std::string& path, const TopologyIndex& index,
                                                          const std::string& pointer, Problems& problems) {
  std::ifstream in(path);
  if (!in) {
    problems.add(pointer, "cannot open the replay log \"" + path +
                              "\"; give a path relative to the scenario file, or an absolute one");
    return std::nullopt;
  }
  std::vector<ReplayRequest> requests;
  std::string line;
  size_t line_number = 0;
  Duration previous{};
  while (std::getline(in, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    if (requests.size() >= kMaxReplayRequests) {
      problems.add(pointer, "the replay log \"" + path + "\" has more than " +
                                std::to_string(kMaxReplayRequests) + " requests; split or sample it");
      return std::nullopt;
    }
    const size_t comma = line.find(',');
    const std::string time_text =
        line.substr(first, comma == std::string::npos ? std::string::npos : comma - first);
    auto where = [&] { return "replay log \"" + path + "\" line " + std::to_string(line_number) + ": "; };
    char* end = nullptr;
    const double at_seconds = std::strtod(time_text.c_str(), &end);
    if (end == time_text.c_str() || !std::isfinite(at_seconds) || at_seconds < 0 ||
        at_seconds > seconds(kMaxScenarioDuration)) {
      problems.add(pointer,
                   where() + "\"" + time_text + "\" is not a time; write seconds since the start, e.g. 12.5");
      return std::nullopt;
    }
    ReplayRequest request;
    request.at = Duration(static_cast<int64_t>(std::llround(at_seconds * 1e9)));
    if (request.at < previous) {
      problems.add(pointer, where() + "time " + time_text + " goes back; keep the log in time order");
      return std::nullopt;
    }
    previous = request.at;
    if (comma != std::string::npos) {
      std::string cluster = line.substr(comma + 1);
      cluster.erase(0, cluster.find_first_not_of(" \t"));
      cluster.erase(cluster.find_last_not_of(" \t") + 1);
      if (!cluster.empty()) {
        request.cluster = index.find_cluster(cluster);
        if (!request.cluster) {
          problems.add(pointer, where() + "no cluster named \"" + cluster +
                                    "\"; known clusters: " + join_names(index.cluster_names()));
          return std::nullopt;
        }
      }
    }
    requests.push_back(request);
  }
  return requests;
}

std::optional<WorkloadStream> parse_stream(const Json& value, const std::string& pointer,
                                           const std::vector<std::string>& services,
                                           const TopologyIndex& index, const std::string& base_dir,
                                           Problems& problems) {
  ObjectReader reader(value, pointer, problems, "a workload stream");
  if (!reader.ok()) return std::nullopt;
  const size_t problems_before = problems.size();
  WorkloadStream stream;
  if (std::optional<std::string> service =
          reader.string("service", Need::kRequired, "name the service the requests go to")) {
    const auto it = std::find(services.begin(), services.end(), *service);
    if (it == services.end()) {
      problems.add(reader.child("service"),
                   "no service named \"" + *service + "\"" + suggestion(*service, services, "services"));
    } else {
      stream.service = *service;
      stream.service_index = static_cast<size_t>(it - services.begin());
    }
  }
  if (std::optional<std::string> arrivals = reader.string("arrivals", Need::kOptional)) {
    if (*arrivals == "poisson") {
      stream.arrivals = ArrivalProcess::kPoisson;
    } else if (*arrivals == "uniform") {
      stream.arrivals = ArrivalProcess::kUniform;
    } else {
      problems.add(reader.child("arrivals"),
                   "unknown arrival process \"" + *arrivals + "\"; use \"poisson\" or \"uniform\"");
    }
  }
  if (auto start = reader.duration("start", Need::kOptional)) stream.start = *start;
  if (auto end = reader.duration("end", Need::kOptional)) stream.end = *end;
  if (stream.end && *stream.end <= stream.start) {
    problems.add(reader.child("end"), "ends at " + format_scenario_duration(*stream.end) +
                                          ", not after its start " + format_scenario_duration(stream.start) +
                                          "; give end > start");
  }
  if (const Json* clusters = reader.optional("clusters")) {
    const std::string at = reader.child("clusters");
    if (const Json* array = read_array(*clusters, at, problems, kMaxScenarioClusters, "cluster names")) {
      for (size_t i = 0; i < array->size(); ++i) {
        std::optional<std::string> name =
            read_string((*array)[i], child_pointer(at, i), problems, "a cluster name");
        if (!name) continue;
        if (std::optional<sim::ClusterId> cluster = index.find_cluster(*name)) {
          stream.clusters.push_back(*cluster);
        } else {
          problems.add(child_pointer(at, i), "no cluster named \"" + *name +
                                                 "\"; known clusters: " + join_names(index.cluster_names()));
        }
      }
    }
  }

  const std::optional<std::string> shape =
      reader.string("shape", Need::kRequired, "give one of " + shape_list());
  if (!shape) {
    reader.finish();
    return std::nullopt;
  }
  const std::string context = "for shape \"" + *shape + "\"";
  if (*shape == "constant") {
    stream.shape = RateShape::kConstant;
    if (auto rate = read_rate(reader, "rate", Need::kRequired, "give the requests per second, e.g. 200"))
      stream.rate = *rate;
  } else if (*shape == "step") {
    stream.shape = RateShape::kStep;
    if (const Json* steps =
            reader.required("steps", "list the steps, e.g. [{\"at\": \"0s\", \"rate\": 100}]")) {
      const std::string at = reader.child("steps");
      if (const Json* array = read_array(*steps, at, problems, kMaxRateSteps, "steps")) {
        if (array->empty()) problems.add(at, "is empty; give at least one step");
        for (size_t i = 0; i < array->size(); ++i) {
          ObjectReader step((*array)[i], child_pointer(at, i), problems, "a step");
          if (!step.ok()) continue;
          auto when = step.duration("at", Need::kRequired, "give when the step starts");
          auto rate = read_rate(step, "rate", Need::kRequired, "give the requests per second");
          step.finish("in a step");
          if (!when || !rate) continue;
          if (!stream.steps.empty() && *when <= stream.steps.back().at) {
            problems.add(step.child("at"), "steps must be in increasing time order; " +
                                               format_scenario_duration(*when) + " is not after " +
                                               format_scenario_duration(stream.steps.back().at));
            continue;
          }
          stream.steps.push_back(RateStep{*when, *rate});
        }
      }
    }
  } else if (*shape == "ramp") {
    stream.shape = RateShape::kRamp;
    if (auto from = read_rate(reader, "from", Need::kRequired, "give the starting requests per second"))
      stream.from = *from;
    if (auto to = read_rate(reader, "to", Need::kRequired, "give the final requests per second"))
      stream.to = *to;
    stream.ramp_start = reader.duration("ramp_start", Need::kOptional).value_or(stream.start);
    const std::optional<Duration> ramp_end =
        reader.duration("ramp_end", Need::kRequired, "give when the ramp reaches \"to\"");
    if (ramp_end) {
      stream.ramp_end = *ramp_end;
      if (*ramp_end <= stream.ramp_start) {
        problems.add(reader.child("ramp_end"),
                     "the ramp ends at " + format_scenario_duration(*ramp_end) + ", not after it starts (" +
                         format_scenario_duration(stream.ramp_start) + "); give ramp_end > ramp_start");
      }
    }
  } else if (*shape == "diurnal") {
    stream.shape = RateShape::kDiurnal;
    if (auto mean = read_rate(reader, "mean", Need::kRequired, "give the mean requests per second"))
      stream.mean = *mean;
    if (auto amplitude = read_rate(reader, "amplitude", Need::kRequired, "give the swing around the mean")) {
      stream.amplitude = *amplitude;
      if (stream.amplitude > stream.mean) {
        problems.add(reader.child("amplitude"),
                     "an amplitude of " + format_number(stream.amplitude) + " is larger than the mean " +
                         format_number(stream.mean) +
                         ", so the rate would go negative; give amplitude <= mean");
      }
    }
    if (auto period =
            reader.duration("period", Need::kRequired, "give the length of one cycle, e.g. \"60s\"")) {
      stream.period = *period;
      if (*period <= Duration::zero())
        problems.add(reader.child("period"), "a period of 0 is no cycle; give a positive duration");
    }
    stream.peak = reader.duration("peak", Need::kOptional).value_or(stream.period / 2);
  } else if (*shape == "burst") {
    stream.shape = RateShape::kBurst;
    if (auto base = read_rate(reader, "base", Need::kRequired, "give the requests per second between bursts"))
      stream.base = *base;
    const Json* bursts = reader.optional("bursts");
    const Json* periodic = reader.optional("periodic");
    if (bursts == nullptr && periodic == nullptr) {
      problems.add(reader.child("bursts"),
                   "missing; a burst shape needs \"bursts\" (a list) or \"periodic\"");
    }
    if (bursts != nullptr) {
      const std::string at = reader.child("bursts");
      if (const Json* array = read_array(*bursts, at, problems, kMaxRateSteps, "bursts")) {
        for (size_t i = 0; i < array->size(); ++i) {
          ObjectReader burst((*array)[i], child_pointer(at, i), problems, "a burst");
          if (!burst.ok()) continue;
          auto when = burst.duration("at", Need::kRequired, "give when the burst starts");
          auto length = burst.duration("for", Need::kRequired, "give how long the burst lasts");
          auto rate =
              read_rate(burst, "rate", Need::kRequired, "give the requests per second during the burst");
          burst.finish("in a burst");
          if (when && length && rate) stream.bursts.push_back(BurstSpec{*when, *length, *rate});
        }
      }
    }
    if (periodic != nullptr) {
      ObjectReader p(*periodic, reader.child("periodic"), problems, "a periodic burst");
      auto every = p.duration("every", Need::kRequired, "give the time between bursts");
      auto length = p.duration("for", Need::kRequired, "give how long each burst lasts");
      auto rate = read_rate(p, "rate", Need::kRequired, "give the requests per second during a burst");
      p.finish("in a periodic burst");
      if (every && length && rate) {
        if (*every <= Duration::zero() || *length > *every) {
          problems.add(p.pointer(), "a periodic burst needs 0 < for <= every");
        } else {
          stream.burst_every = *every;
          stream.burst_for = *length;
          stream.burst_rate = *rate;
        }
      }
    }
  } else if (*shape == "replay") {
    stream.shape = RateShape::kReplay;
    if (auto speed = reader.number("speed", Need::kOptional, 0.001, 1000, "(times real speed)"))
      stream.speed = *speed;
    if (auto file = reader.string("file", Need::kRequired, "give the path of the request log")) {
      stream.file = (!file->empty() && file->front() == '/') ? *file : base_dir + "/" + *file;
      if (auto requests = read_replay_log(stream.file, index, reader.child("file"), problems)) {
        stream.replay = std::move(*requests);
      }
    }
  } else {
    const std::vector<std::string> shapes = {"constant", "step", "ramp", "diurnal", "burst", "replay"};
    problems.add(reader.child("shape"),
                 "unknown shape \"" + *shape + "\"" + suggestion(*shape, shapes, "shapes"));
    return std::nullopt;
  }
  reader.finish(context);
  if (problems.size() != problems_before) return std::nullopt;
  return stream;
}

// --- StreamDriver
// -------------------------------------------------------------------------------------------

StreamDriver::StreamDriver(const WorkloadStream& stream, Duration duration, std::vector<NodeId> candidates,
                           Random random, std::function<void(NodeId)> issue, std::function<void()> not_issued)
    : stream_(stream),
      end_(std::min(stream.end.value_or(duration), duration)),
      candidates_(std::move(candidates)),
      random_(random),
      issue_(std::move(issue)),
      not_issued_(std::move(not_issued)),
      max_rate_(stream.max_rate()) {}

void StreamDriver::start(sim::World& world) {
  sim::World* w = &world;
  start(StreamHost{[w](Duration at, std::function<void()> action) { w->at(TimePoint(at), std::move(action)); },
                   [w] { return w->now().time_since_epoch(); },
                   [w](NodeId node) { return w->state(node) == sim::NodeState::kUp; },
                   [w](NodeId node) { return w->network().cluster_of(node); }});
}

void StreamDriver::start(StreamHost host) {
  host_ = std::move(host);
  schedule_next(stream_.start);
}

std::optional<Duration> StreamDriver::next_arrival(Duration after) {
  if (stream_.arrivals == ArrivalProcess::kPoisson) {
    if (max_rate_ <= 0) return std::nullopt;
    const double mean_gap_ns = 1e9 / max_rate_;
    Duration t = after;
    // Thinning (Lewis & Shedler): candidates at the peak rate, each kept with probability rate(t) / peak.
    for (int tries = 0; tries < 1'000'000; ++tries) {
      t += Duration(static_cast<int64_t>(random_.exponential(mean_gap_ns)) + 1);
      if (t >= end_) return std::nullopt;
      if (random_.unit() * max_rate_ < stream_.rate_at(t)) return t;
    }
    return std::nullopt;
  }
  Duration t = after;
  while (t < end_) {
    const double rate = stream_.rate_at(t);
    if (rate > 0) {
      const Duration next = t + Duration(static_cast<int64_t>(1e9 / rate));
      return next < end_ ? std::optional<Duration>(next) : std::nullopt;
    }
    t += std::chrono::milliseconds(10);  // no load now: look again shortly
  }
  return std::nullopt;
}

void StreamDriver::schedule_next(Duration after) {
  if (stream_.shape == RateShape::kReplay) {
    while (replay_next_ < stream_.replay.size()) {
      const ReplayRequest& request = stream_.replay[replay_next_++];
      const auto at = Duration(static_cast<int64_t>(static_cast<double>(request.at.count()) / stream_.speed));
      if (at < stream_.start) continue;
      if (at >= end_) return;
      host_.at(at, [this, at, cluster = request.cluster] { arrive(at, cluster); });
      return;
    }
    return;
  }
  const std::optional<Duration> next = next_arrival(after);
  if (!next) return;
  host_.at(*next, [this, at = *next] { arrive(at, std::nullopt); });
}

void StreamDriver::arrive(Duration at, std::optional<sim::ClusterId> cluster) {
  ++arrivals_;
  std::optional<NodeId> chosen;
  if (!candidates_.empty()) {
    const size_t offset = random_.below(candidates_.size());
    for (size_t i = 0; i < candidates_.size() && !chosen; ++i) {
      const NodeId node = candidates_[(offset + i) % candidates_.size()];
      if (cluster && host_.cluster_of(node) != *cluster) continue;
      if (host_.up(node)) chosen = node;
    }
  }
  if (chosen) {
    issue_(*chosen);
  } else {
    not_issued_();
  }
  // From when this arrival was due, not from now: a real loop runs each timer a little late, and drawing the
  // next gap from now would add that lateness to every gap (100 req/s ran at 83). In sim the two are equal.
  schedule_next(at);
}

}  // namespace tandem::scenarios
