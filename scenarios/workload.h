// Workload: streams of requests with a rate shape, and the driver that turns a stream into request arrivals
// in the sim world.
//
// Contract:
// - A stream offers requests to one service at rate(t) requests per second (total over its clients), t being
//   world time since the start of the run, within [start, end). Shapes:
//     constant  rate
//     step      piecewise constant: [{"at": "0s", "rate": 100}, {"at": "20s", "rate": 400}]
//     ramp      linear from `from` to `to` between `start_ramp` and `end_ramp` (flat outside)
//     diurnal   mean + amplitude * cos(2π (t - peak) / period): one "day" of load per period
//     burst     base, plus listed bursts {"at", "for", "rate"} and/or a periodic burst {"every", "for",
//     "rate"} replay    the requests of a recorded log, one per line: "<seconds since start>[,<cluster>]"
// - Arrivals are a Poisson process with that rate (the default; thinning against max_rate()) or evenly spaced
//   ("uniform"). All randomness comes from the Random the driver is given, so arrivals replay from the seed.
// - Each arrival goes to a client node of the service, chosen at random among the stream's candidates that
// are
//   up; when none is up, the request is counted as not issued.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/env/random.h"
#include "core/env/time.h"
#include "core/env/transport.h"
#include "scenarios/problems.h"
#include "scenarios/topology.h"
#include "sim/world.h"

namespace tandem::scenarios {

inline constexpr double kMaxRequestRate = 1e6;            // requests per second, one stream
inline constexpr double kMaxRequestsPerRun = 50'000'000;  // expected requests over all streams
inline constexpr size_t kMaxReplayRequests = 10'000'000;
inline constexpr size_t kMaxRateSteps = 10'000;

enum class RateShape : uint8_t { kConstant, kStep, kRamp, kDiurnal, kBurst, kReplay };
enum class ArrivalProcess : uint8_t { kPoisson, kUniform };

struct RateStep {
  Duration at{};
  double rate = 0;
};

struct BurstSpec {
  Duration at{};
  Duration length{};
  double rate = 0;
};

struct ReplayRequest {
  Duration at{};
  std::optional<sim::ClusterId> cluster;  // issue from a client in this cluster
};

struct WorkloadStream {
  std::string service;
  size_t service_index = 0;
  RateShape shape = RateShape::kConstant;
  ArrivalProcess arrivals = ArrivalProcess::kPoisson;
  Duration start{};
  std::optional<Duration> end;           // default: the scenario's duration
  std::vector<sim::ClusterId> clusters;  // issue only from clients in these clusters (empty: all)
  // constant
  double rate = 0;
  // step
  std::vector<RateStep> steps;
  // ramp
  double from = 0;
  double to = 0;
  Duration ramp_start{};
  Duration ramp_end{};
  // diurnal
  double mean = 0;
  double amplitude = 0;
  Duration period{};
  Duration peak{};
  // burst
  double base = 0;
  std::vector<BurstSpec> bursts;
  Duration burst_every{};
  Duration burst_for{};
  double burst_rate = 0;
  // replay
  std::string file;
  double speed = 1;
  std::vector<ReplayRequest> replay;

  // Requests per second at world time t (before start/end are applied).
  double rate_at(Duration t) const;
  // An upper bound of rate_at over the stream's life.
  double max_rate() const;
  // Expected number of requests over [start, min(end, duration)).
  double expected_requests(Duration duration) const;
};

std::string_view rate_shape_name(RateShape shape);

// Parses one entry of "workload". `services` are the service names in order; `base_dir` is where replay files
// are looked up when relative.
std::optional<WorkloadStream> parse_stream(const Json& value, const std::string& pointer,
                                           const std::vector<std::string>& services,
                                           const TopologyIndex& index, const std::string& base_dir,
                                           Problems& problems);

// Reads a replay log ("<seconds>[,<cluster>]" per line, '#' comments, blank lines ignored). Problems name the
// line.
std::optional<std::vector<ReplayRequest>> read_replay_log(const std::string& path, const TopologyIndex& index,
                                                          const std::string& pointer, Problems& problems);

// What a StreamDriver needs of the world it runs on (the sim World, or the real runner's clock and processes).
struct StreamHost {
  std::function<void(Duration at, std::function<void()> action)> at;  // run `action` at scenario time `at`
  std::function<Duration()> now;                                       // scenario time now
  std::function<bool(NodeId)> up;                                      // may this client issue now?
  std::function<sim::ClusterId(NodeId)> cluster_of;
};

// Drives one stream on a world: schedules each arrival as a World action that picks a client and calls
// `issue(client)`, or `not_issued()` when no candidate client is up.
class StreamDriver {
 public:
  StreamDriver(const WorkloadStream& stream, Duration duration, std::vector<NodeId> candidates, Random random,
               std::function<void(NodeId)> issue, std::function<void()> not_issued);
  // Schedules the first arrival; the driver (and the world or host) must outlive the run.
  void start(sim::World& world);
  void start(StreamHost host);
  uint64_t arrivals() const { return arrivals_; }

 private:
  std::optional<Duration> next_arrival(Duration after);
  void arrive(Duration at, std::optional<sim::ClusterId> cluster);  // `at`: when it was due
  void schedule_next(Duration after);

  StreamHost host_;

  const WorkloadStream& stream_;
  Duration end_;
  std::vector<NodeId> candidates_;
  Random random_;
  std::function<void(NodeId)> issue_;
  std::function<void()> not_issued_;
  double max_rate_ = 0;
  size_t replay_next_ = 0;
  uint64_t arrivals_ = 0;
};

}  // namespace tandem::scenarios
