// What every `tandem` subcommand shares: argument parsing helpers, the scenario library location, loading a
// scenario with its problems printed, human-readable spans, shell quoting and a progress bar on stderr.
//
// Contract: nothing here exits the process; errors are printed to stderr and returned as values (exit code 2
// for bad arguments, std::nullopt for a scenario that did not load).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/env/time.h"
#include "scenarios/scenario.h"

namespace tandem::cli {

bool is_help(std::string_view arg);
// A non-negative decimal integer that fits in 64 bits, or nullopt.
std::optional<uint64_t> parse_u64(std::string_view text);
// Prints "tandem COMMAND: MESSAGE" and the usage to stderr; returns 2.
int usage_error(const char* command, const std::string& message, const char* usage);
// scenarios/library, or $TANDEM_SCENARIO_LIBRARY.
std::string library_dir();
// "61.4s", "2m05.0s", "1h02m": simulated spans in progress lines and summaries.
std::string seconds_text(Duration d);
std::string hex64(uint64_t value);
// Quotes for a POSIX shell only when needed, so printed commands can be pasted.
std::string shell_quote(const std::string& text);
// Loads a scenario named by path or library name; prints the problems and returns nullopt when it fails.
std::optional<scenarios::Scenario> load_or_report(const char* command, const std::string& name_or_path);

// A one-line progress bar on stderr, shown only when stderr is a terminal.
class ProgressBar {
 public:
  explicit ProgressBar(bool enabled);
  void show(double fraction, const std::string& suffix);
  void clear();

 private:
  bool enabled_;
  bool shown_ = false;
};

}  // namespace tandem::cli
