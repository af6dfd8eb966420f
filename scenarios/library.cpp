#include "scenarios/library.h"

#include <algorithm>
#include <filesystem>

#include "scenarios/scenario.h"

namespace tandem::scenarios {

std::string builtin_library_dir() { return TANDEM_SCENARIO_LIBRARY_DIR; }
std::string builtin_schema_path() { return TANDEM_SCENARIO_SCHEMA_PATH; }

std::vector<LibraryEntry> list_library(const std::string& directory) {
  std::vector<LibraryEntry> entries;
  std::error_code error;
  for (const auto& file : std::filesystem::directory_iterator(directory, error)) {
    if (!file.is_regular_file() || file.path().extension() != ".json") continue;
    LibraryEntry entry;
    entry.name = file.path().stem().string();
    entry.path = file.path().string();
    LoadResult loaded = load_scenario_file(entry.path);
    entry.loads = loaded.ok();
    entry.description = loaded.ok() ? loaded.scenario->description
                                    : "(does not load: " + loaded.problems.items().front().to_string() + ")";
    entries.push_back(std::move(entry));
  }
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return entries;
}

std::optional<std::string> resolve_scenario_path(const std::string& name_or_path,
                                                 const std::string& directory) {
  std::error_code error;
  if (std::filesystem::is_regular_file(name_or_path, error)) return name_or_path;
  const std::string candidate = directory + "/" + name_or_path + ".json";
  if (name_or_path.find('/') == std::string::npos && std::filesystem::is_regular_file(candidate, error)) {
    return candidate;
  }
  return std::nullopt;
}

}  // namespace tandem::scenarios
