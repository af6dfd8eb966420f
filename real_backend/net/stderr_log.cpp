#include "real_backend/net/stderr_log.h"

#include <unistd.h>

#include <cstdio>

namespace tandem::real {
namespace {
// A line longer than this is cut (and ends with "..."): a bound on the stack buffer, and logs stay readable.
constexpr size_t kMaxLineBytes = 4096;
}  // namespace

StderrLog::StderrLog(LogLevel threshold, std::string node_name, const Clock& clock)
    : threshold_(threshold), node_name_(std::move(node_name)), clock_(clock) {}

void StderrLog::write(LogLevel level, std::string_view component, std::string_view message) {
  if (!enabled(level)) return;
  static constexpr const char* kLevelNames[] = {"debug", "info", "warn", "error"};
  char line[kMaxLineBytes];
  int length = std::snprintf(line, sizeof line, "[%14.6fs] %-5s %-8s %.*s: %.*s\n",
                             to_seconds(clock_.now().time_since_epoch()), kLevelNames[static_cast<int>(level)],
                             node_name_.c_str(), static_cast<int>(component.size()), component.data(),
                             static_cast<int>(message.size()), message.data());
  if (length < 0) return;
  if (static_cast<size_t>(length) >= sizeof line) {
    length = static_cast<int>(sizeof line - 1);
    line[length - 4] = '.';
    line[length - 3] = '.';
    line[length - 2] = '.';
    line[length - 1] = '\n';
  }
  // One write(2) per line; a failed write to stderr has nowhere to be reported.
  [[maybe_unused]] const ssize_t written = ::write(STDERR_FILENO, line, static_cast<size_t>(length));
}

std::optional<LogLevel> parse_log_level(std::string_view name) {
  if (name == "debug") return LogLevel::kDebug;
  if (name == "info") return LogLevel::kInfo;
  if (name == "warn" || name == "warning") return LogLevel::kWarning;
  if (name == "error") return LogLevel::kError;
  return std::nullopt;
}

}  // namespace tandem::real
