// Time as core/ sees it: durations and instants on a node's clock, both in integer nanoseconds.
//
// Contract: TimePoint is nanoseconds since the epoch of the world the node runs in (the start of a sim run, or
// the process start of a real node). It says nothing about wall-clock dates and never comes from a system clock
// inside core/; only a Clock (core/env/clock.h) hands one out. Integer nanoseconds keep arithmetic exact and
// identical on every platform, which the determinism of sim runs depends on.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace tandem {

using Duration = std::chrono::nanoseconds;

struct WorldEpoch {};  // tag: the clock a TimePoint belongs to is the world's, not the system's
using TimePoint = std::chrono::time_point<WorldEpoch, Duration>;

using namespace std::chrono_literals;  // NOLINT: 5ms, 10s, 3min read best in code that schedules things

inline constexpr int64_t to_ns(Duration d) { return d.count(); }
inline constexpr int64_t to_ns(TimePoint t) { return t.time_since_epoch().count(); }
inline constexpr TimePoint time_from_ns(int64_t ns) { return TimePoint(Duration(ns)); }
inline constexpr double to_seconds(Duration d) { return static_cast<double>(d.count()) / 1e9; }
inline constexpr double to_ms(Duration d) { return static_cast<double>(d.count()) / 1e6; }

// "1.5s", "250ms", "12us", "7ns": the shortest exact form, for logs and reports.
std::string format_duration(Duration d);

}  // namespace tandem
