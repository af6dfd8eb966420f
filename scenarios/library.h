// The scenario library: the JSON scenarios shipped in scenarios/library/, found by name.
//
// Contract: the library directory is compiled in (the source tree's scenarios/library) unless the caller
// gives another; entries are the *.json files in it, in name order. resolve_scenario_path() accepts a path to
// a file or a library name ("default", "cluster-outage").
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace tandem::scenarios {

struct LibraryEntry {
  std::string name;  // file name without .json
  std::string path;
  std::string description;  // the scenario's "description", or why it could not be read
  bool loads = false;       // the loader accepts it
};

// The compiled-in library directory and schema file.
std::string builtin_library_dir();
std::string builtin_schema_path();

std::vector<LibraryEntry> list_library(const std::string& directory);

// `name_or_path` as a file if one exists there, else <directory>/<name>.json; nullopt when neither exists.
std::optional<std::string> resolve_scenario_path(const std::string& name_or_path,
                                                 const std::string& directory);

}  // namespace tandem::scenarios
