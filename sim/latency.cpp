#include "sim/latency.h"

#include <cmath>

namespace tandem::sim {
namespace {

Error invalid(std::string message) { return make_error(Errc::kInvalidArgument, std::move(message)); }

}  // namespace

Result<LinkSpec> LinkSpec::make(LatencyModel latency, double loss_probability,
                                double bandwidth_bytes_per_second) {
  LinkSpec link{latency, loss_probability, bandwidth_bytes_per_second};
  if (Status s = link.validate(); !s.ok()) return s.error();
  return link;
}

Status LinkSpec::validate() const {
  if (Status s = latency.validate(); !s.ok()) return s;
  // Written as !(in range) so NaN is refused too.
  if (!(loss_probability >= 0 && loss_probability <= 1)) {
    return invalid("link loss probability is " + std::to_string(loss_probability) +
                   "; it must be a probability between 0 and 1 (0.01 means 1% of messages are lost)");
  }
  if (!(bandwidth_bytes_per_second == 0 ||
        (bandwidth_bytes_per_second >= 1 && std::isfinite(bandwidth_bytes_per_second)))) {
    return invalid("link bandwidth is " + std::to_string(bandwidth_bytes_per_second) +
                   " bytes/s; give 0 for unlimited or a finite rate of at least 1 byte/s");
  }
  return {};
}

std::string LinkSpec::to_string() const {
  std::string out = latency.to_string();
  if (loss_probability > 0) out += ", loss " + std::to_string(loss_probability);
  if (bandwidth_bytes_per_second > 0) {
    out += ", " + std::to_string(static_cast<int64_t>(bandwidth_bytes_per_second)) + " bytes/s";
  }
  return out;
}

}  // namespace tandem::sim
