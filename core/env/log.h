// Log: structured, leveled diagnostics from core/ code.
//
// Contract: write() records one line attributed to this node at the node's current time (the implementation
// adds both); it never blocks the event loop for long and never changes what the program does, so a run with
// logging off is the same run. Components are short lowercase names ("rpc", "appmaster").
#pragma once

#include <string_view>

namespace tandem {

enum class LogLevel : uint8_t { kDebug = 0, kInfo, kWarning, kError };

class Log {
 public:
  virtual ~Log() = default;

  // Whether lines at `level` are kept; check before building an expensive message.
  virtual bool enabled(LogLevel level) const = 0;

  // Record one line.
  virtual void write(LogLevel level, std::string_view component, std::string_view message) = 0;
};

// A Log that keeps nothing: for tests and benchmarks.
class NullLog final : public Log {
 public:
  bool enabled(LogLevel) const override { return false; }
  void write(LogLevel, std::string_view, std::string_view) override {}
};

}  // namespace tandem
