#include "core/common/latency_model.h"

#include <cmath>

namespace tandem {
namespace {

using Kind = LatencyModel::Kind;

Error invalid(std::string message) { return make_error(Errc::kInvalidArgument, std::move(message)); }

// Clamps a sampled latency into [0, kMaxLatency] before converting; NaN (impossible with valid
// parameters) falls to 0 rather than into undefined behaviour.
Duration from_sample_ns(double ns) {
  constexpr double kMaxNs = static_cast<double>(kMaxLatency.count());
  if (!(ns > 0)) return Duration::zero();
  if (ns >= kMaxNs) return kMaxLatency;
  return Duration(std::llround(ns));
}

double as_double_ns(Duration d) { return static_cast<double>(d.count()); }

Status check_range(std::string_view kind, std::string_view what, Duration value) {
  if (value < Duration::zero()) {
    return invalid(std::string(kind) + " latency: " + std::string(what) + " is " + format_duration(value) +
                   "; it must not be negative");
  }
  if (value > kMaxLatency) {
    return invalid(std::string(kind) + " latency: " + std::string(what) + " is " + format_duration(value) +
                   "; a link latency parameter may be at most " + format_duration(kMaxLatency));
  }
  return {};
}

LatencyModel checked(Result<LatencyModel> model) {
  TANDEM_CHECK(model.ok(), model.error().message.c_str());
  return model.value();
}

}  // namespace

LatencyModel LatencyModel::constant(Duration latency) { return checked(make(Kind::kConstant, latency)); }
LatencyModel LatencyModel::uniform(Duration low, Duration high) {
  return checked(make(Kind::kUniform, low, high));
}
LatencyModel LatencyModel::normal(Duration mean, Duration stddev) {
  return checked(make(Kind::kNormal, mean, stddev));
}
LatencyModel LatencyModel::lognormal(Duration mean, Duration stddev) {
  return checked(make(Kind::kLogNormal, mean, stddev));
}
LatencyModel LatencyModel::exponential(Duration mean, Duration floor) {
  return checked(make(Kind::kExponential, mean, floor));
}

Result<LatencyModel> LatencyModel::make(Kind kind, Duration first, Duration second) {
  LatencyModel model;
  model.kind = kind;
  switch (kind) {
    case Kind::kConstant:
      if (second != Duration::zero()) {
        return invalid("constant latency takes one value; got a second parameter " + format_duration(second));
      }
      model.base = first;
      break;
    case Kind::kUniform:
      // Range-check both ends before subtracting so the error names the number the user wrote.
      if (Status s = check_range("uniform", "low", first); !s.ok()) return s.error();
      if (Status s = check_range("uniform", "high", second); !s.ok()) return s.error();
      if (second < first) {
        return invalid("uniform latency: high (" + format_duration(second) + ") is below low (" +
                       format_duration(first) + "); give low <= high");
      }
      model.base = first;
      model.spread = second - first;
      break;
    case Kind::kNormal:
    case Kind::kLogNormal:
      model.base = first;
      model.spread = second;
      break;
    case Kind::kExponential:
      if (Status s = check_range("exponential", "mean", first); !s.ok()) return s.error();
      if (Status s = check_range("exponential", "floor", second); !s.ok()) return s.error();
      if (first < second) {
        return invalid("exponential latency: mean (" + format_duration(first) + ") is below the floor (" +
                       format_duration(second) + "); the mean includes the floor, so give mean >= floor");
      }
      model.base = second;
      model.spread = first - second;
      break;
    default:
      return invalid("unknown latency kind " + std::to_string(static_cast<int>(kind)));
  }
  if (Status s = model.validate(); !s.ok()) return s.error();
  return model;
}

Status LatencyModel::validate() const {
  const std::string_view name = latency_kind_name(kind);
  switch (kind) {
    case Kind::kConstant:
      if (spread != Duration::zero()) return invalid("constant latency must have no spread");
      return check_range(name, "latency", base);
    case Kind::kUniform:
      if (Status s = check_range(name, "low", base); !s.ok()) return s;
      if (Status s = check_range(name, "high - low", spread); !s.ok()) return s;
      if (base + spread > kMaxLatency) {
        return invalid("uniform latency: high is " + format_duration(base + spread) + "; it may be at most " +
                       format_duration(kMaxLatency));
      }
      return {};
    case Kind::kNormal:
      if (Status s = check_range(name, "mean", base); !s.ok()) return s;
      return check_range(name, "stddev", spread);
    case Kind::kLogNormal:
      if (Status s = check_range(name, "mean", base); !s.ok()) return s;
      if (Status s = check_range(name, "stddev", spread); !s.ok()) return s;
      if (base == Duration::zero() && spread != Duration::zero()) {
        return invalid("lognormal latency: a mean of 0 cannot have a spread; give a positive mean");
      }
      return {};
    case Kind::kExponential:
      if (Status s = check_range(name, "floor", base); !s.ok()) return s;
      if (Status s = check_range(name, "mean above the floor", spread); !s.ok()) return s;
      if (base + spread > kMaxLatency) {
        return invalid("exponential latency: mean is " + format_duration(base + spread) +
                       "; it may be at most " + format_duration(kMaxLatency));
      }
      return {};
  }
  return invalid("unknown latency kind " + std::to_string(static_cast<int>(kind)));
}

Duration LatencyModel::mean() const {
  switch (kind) {
    case Kind::kUniform:
      return base + spread / 2;
    case Kind::kExponential:
      return base + spread;
    case Kind::kConstant:
    case Kind::kNormal:
    case Kind::kLogNormal:
      return base;
  }
  return base;
}

Duration LatencyModel::sample(Random& random) const {
  if (is_constant()) return base;
  switch (kind) {
    case Kind::kConstant:
      return base;
    case Kind::kUniform:
      return base + Duration(random.between(0, spread.count()));
    case Kind::kNormal:
      return from_sample_ns(random.normal(as_double_ns(base), as_double_ns(spread)));
    case Kind::kLogNormal: {
      // Parameters of the underlying normal from the mean m and stddev s of the latency itself:
      // sigma^2 = ln(1 + s^2/m^2), mu = ln(m) - sigma^2/2. validate() guarantees m > 0 here.
      const double m = as_double_ns(base);
      const double ratio = as_double_ns(spread) / m;
      const double sigma_squared = std::log1p(ratio * ratio);
      return from_sample_ns(random.lognormal(std::log(m) - sigma_squared / 2, std::sqrt(sigma_squared)));
    }
    case Kind::kExponential:
      return base + from_sample_ns(random.exponential(as_double_ns(spread)));
  }
  return base;
}

std::string LatencyModel::to_string() const {
  const std::string name(latency_kind_name(kind));
  switch (kind) {
    case Kind::kConstant:
      return name + "(" + format_duration(base) + ")";
    case Kind::kUniform:
      return name + "(" + format_duration(base) + ".." + format_duration(base + spread) + ")";
    case Kind::kNormal:
    case Kind::kLogNormal:
      return name + "(" + format_duration(base) + ", sd " + format_duration(spread) + ")";
    case Kind::kExponential:
      return name + "(mean " + format_duration(base + spread) + ", floor " + format_duration(base) + ")";
  }
  return name;
}

std::string_view latency_kind_name(LatencyModel::Kind kind) {
  switch (kind) {
    case Kind::kConstant:
      return "constant";
    case Kind::kUniform:
      return "uniform";
    case Kind::kNormal:
      return "normal";
    case Kind::kLogNormal:
      return "lognormal";
    case Kind::kExponential:
      return "exponential";
  }
  return "unknown";
}

Result<LatencyModel::Kind> parse_latency_kind(std::string_view name) {
  for (Kind kind : {Kind::kConstant, Kind::kUniform, Kind::kNormal, Kind::kLogNormal, Kind::kExponential}) {
    if (latency_kind_name(kind) == name) return kind;
  }
  return invalid("unknown latency kind \"" + std::string(name) +
                 "\"; use one of constant, uniform, normal, lognormal, exponential");
}

}  // namespace tandem
