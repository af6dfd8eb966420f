// LinkSpec: what one simulated link does to a message — how long it takes (a LatencyModel, which lives in
// core/common/latency_model.h and is named here as sim::LatencyModel), how often it is lost, how fast bytes go
// through.
//
// Contract: a value type, cheap to copy and compare. User-supplied numbers go through LinkSpec::make(), which
// returns an Error that says which number is wrong and what is allowed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/common/latency_model.h"
#include "core/common/result.h"

namespace tandem::sim {

// The latency model is core's (core/common/latency_model.h); sim code names it as its own.
inline constexpr Duration kMaxLinkLatency = kMaxLatency;
using tandem::LatencyModel;
using tandem::latency_kind_name;
using tandem::parse_latency_kind;

// One link of the topology: a node's uplink to its cluster switch, a cluster's uplink to its region router,
// or a WAN link between two regions.
struct LinkSpec {
  LatencyModel latency;
  double loss_probability = 0;  // each message crossing the link is lost with this probability
  double bandwidth_bytes_per_second =
      0;  // 0 = unlimited; otherwise adds bytes / bandwidth of serialization delay

  // Validating factory for user-supplied numbers: loss in [0, 1], bandwidth 0 or at least 1 byte/s.
  static Result<LinkSpec> make(LatencyModel latency, double loss_probability = 0,
                               double bandwidth_bytes_per_second = 0);

  Status validate() const;
  std::string to_string() const;

  friend bool operator==(const LinkSpec&, const LinkSpec&) = default;
};

}  // namespace tandem::sim
