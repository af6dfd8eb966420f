#include "cli/command_support.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "scenarios/library.h"

namespace tandem::cli {

bool is_help(std::string_view arg) { return arg == "--help" || arg == "-h"; }

std::optional<uint64_t> parse_u64(std::string_view text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

int usage_error(const char* command, const std::string& message, const char* usage) {
  std::fprintf(stderr, "tandem %s: %s\n\n%s", command, message.c_str(), usage);
  return 2;
}

std::string library_dir() {
  if (const char* env = std::getenv("TANDEM_SCENARIO_LIBRARY"); env != nullptr && *env != '\0') return env;
  return scenarios::builtin_library_dir();
}

std::string seconds_text(Duration d) {
  const double seconds = to_seconds(d);
  char buffer[48];
  if (seconds < 120) {
    std::snprintf(buffer, sizeof buffer, "%.1fs", seconds);
  } else if (seconds < 7200) {
    std::snprintf(buffer, sizeof buffer, "%dm%04.1fs", static_cast<int>(seconds / 60),
                  std::fmod(seconds, 60));
  } else {
    std::snprintf(buffer, sizeof buffer, "%dh%02dm", static_cast<int>(seconds / 3600),
                  static_cast<int>(std::fmod(seconds, 3600) / 60));
  }
  return buffer;
}

std::string hex64(uint64_t value) {
  char buffer[24];
  std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(value));
  return buffer;
}

std::string shell_quote(const std::string& text) {
  if (!text.empty() &&
      text.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:") ==
          std::string::npos) {
    return text;
  }
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::optional<scenarios::Scenario> load_or_report(const char* command, const std::string& name_or_path) {
  const std::optional<std::string> path = scenarios::resolve_scenario_path(name_or_path, library_dir());
  if (!path) {
    std::fprintf(
        stderr,
        "tandem %s: no scenario file or library scenario named '%s' ('tandem list' shows the library)\n",
        command, name_or_path.c_str());
    return std::nullopt;
  }
  scenarios::LoadResult loaded = scenarios::load_scenario_file(*path);
  if (!loaded.ok()) {
    std::fprintf(stderr, "tandem %s: %s is not a valid scenario (%zu problem%s):\n%s", command, path->c_str(),
                 loaded.problems.size(), loaded.problems.size() == 1 ? "" : "s",
                 loaded.problems.to_string().c_str());
    return std::nullopt;
  }
  return std::move(loaded.scenario);
}


ProgressBar::ProgressBar(bool enabled) : enabled_(enabled && isatty(STDERR_FILENO) != 0) {}

void ProgressBar::show(double fraction, const std::string& suffix) {
  if (!enabled_) return;
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(std::round(std::clamp(fraction, 0.0, 1.0) * kWidth));
  std::fprintf(stderr, "\r[%s%s] %3d%% %s", std::string(static_cast<size_t>(filled), '#').c_str(),
               std::string(static_cast<size_t>(kWidth - filled), '.').c_str(),
               static_cast<int>(fraction * 100), suffix.c_str());
  std::fflush(stderr);
  shown_ = true;
}

void ProgressBar::clear() {
  if (!shown_) return;
  std::fprintf(stderr, "\r%70s\r", "");
  std::fflush(stderr);
  shown_ = false;
}

}  // namespace tandem::cli
