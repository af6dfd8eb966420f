// StderrLog: the real world's Log — one line per write on standard error.
//
// Contract: lines below `threshold` are dropped. A line reads "[   12.345678s] warn  node-1   rpc: message": the
// time is the given clock's now() (seconds since the process's loop started), then the level, the node name, the
// component and the message. Each line goes out in one write(2), so lines from several threads never interleave
// mid-line (stderr is unbuffered); write() never throws and never blocks the loop for long. Thread-safe as long
// as the clock's now() is (RealClock's is), because the transport logs from gRPC threads too.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/env/clock.h"
#include "core/env/log.h"

namespace tandem::real {

class StderrLog final : public Log {
 public:
  StderrLog(LogLevel threshold, std::string node_name, const Clock& clock);

  bool enabled(LogLevel level) const override { return level >= threshold_; }
  void write(LogLevel level, std::string_view component, std::string_view message) override;

 private:
  LogLevel threshold_;
  std::string node_name_;
  const Clock& clock_;
};

// "debug", "info", "warn"/"warning", "error" → the level; anything else → nullopt (the caller names the choices).
std::optional<LogLevel> parse_log_level(std::string_view name);

}  // namespace tandem::real
