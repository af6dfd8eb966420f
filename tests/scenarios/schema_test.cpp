// scenarios/schema.json describes the same format the loader accepts. No JSON Schema library is available, so
// this test carries a small validator for the subset the schema uses (type, properties, required,
// additionalProperties, items, enum, const, pattern, bounds, oneOf, $ref, propertyNames) and checks that
// every library scenario validates, that broken ones do not, and that the top-level keys agree with the
// loader's.
#include <catch2/catch.hpp>
#include <fstream>
#include <regex>
#include <set>
#include <string>

#include "scenarios/library.h"
#include "scenarios/scenario.h"
#include "tests/scenarios/scenario_test_support.h"

namespace tandem::scenarios {
namespace {

class MiniSchema {
 public:
  explicit MiniSchema(Json root) : root_(std::move(root)) {}

  // Returns the first violation found ("" when valid).
  std::string validate(const Json& value) const { return check(root_, value, ""); }

 private:
  const Json& resolve(const Json& schema) const {
    if (!schema.contains("$ref")) return schema;
    const std::string ref = schema["$ref"].get<std::string>();
    REQUIRE(ref.rfind("#/$defs/", 0) == 0);
    return root_["$defs"][ref.substr(8)];
  }

  static bool has_type(const Json& value, const std::string& type) {
    if (type == "object") return value.is_object();
    if (type == "array") return value.is_array();
    if (type == "string") return value.is_string();
    if (type == "boolean") return value.is_boolean();
    if (type == "integer")
      return value.is_number_integer() ||
             (value.is_number_float() && value.get<double>() == std::floor(value.get<double>()));
    if (type == "number") return value.is_number();
    return false;
  }

  std::string check(const Json& schema_in, const Json& value, const std::string& at) const {
    const Json& schema = resolve(schema_in);
    if (schema.contains("oneOf")) {
      int matches = 0;
      std::string last;
      for (const Json& branch : schema["oneOf"]) {
        std::string problem = check(branch, value, at);
        if (problem.empty())
          ++matches;
        else
          last = problem;
      }
      if (matches != 1)
        return at + ": matches " + std::to_string(matches) + " branches of oneOf (last problem: " + last +
               ")";
    }
    if (schema.contains("type") && !has_type(value, schema["type"].get<std::string>())) {
      return at + ": not of type " + schema["type"].get<std::string>();
    }
    if (schema.contains("const") && value != schema["const"]) return at + ": not " + schema["const"].dump();
    if (schema.contains("enum")) {
      bool found = false;
      for (const Json& option : schema["enum"]) found |= option == value;
      if (!found) return at + ": not one of " + schema["enum"].dump();
    }
    if (value.is_string()) {
      const std::string text = value.get<std::string>();
      if (schema.contains("pattern") &&
          !std::regex_search(text, std::regex(schema["pattern"].get<std::string>()))) {
        return at + ": \"" + text + "\" does not match " + schema["pattern"].get<std::string>();
      }
      if (schema.contains("minLength") && text.size() < schema["minLength"].get<size_t>())
        return at + ": too short";
      if (schema.contains("maxLength") && text.size() > schema["maxLength"].get<size_t>())
        return at + ": too long";
    }
    if (value.is_number()) {
      if (schema.contains("minimum") && value.get<double>() < schema["minimum"].get<double>())
        return at + ": below minimum";
      if (schema.contains("maximum") && value.get<double>() > schema["maximum"].get<double>())
        return at + ": above maximum";
    }
    if (value.is_array()) {
      if (schema.contains("minItems") && value.size() < schema["minItems"].get<size_t>())
        return at + ": too few items";
      if (schema.contains("maxItems") && value.size() > schema["maxItems"].get<size_t>())
        return at + ": too many items";
      if (schema.contains("items")) {
        for (size_t i = 0; i < value.size(); ++i) {
          if (std::string problem = check(schema["items"], value[i], at + "/" + std::to_string(i));
              !problem.empty())
            return problem;
        }
      }
    }
    if (value.is_object()) {
      if (schema.contains("required")) {
        for (const Json& key : schema["required"]) {
          if (!value.contains(key.get<std::string>())) return at + ": missing " + key.get<std::string>();
        }
      }
      if (schema.contains("minProperties") && value.size() < schema["minProperties"].get<size_t>())
        return at + ": too few keys";
      for (const auto& [key, item] : value.items()) {
        if (schema.contains("propertyNames")) {
          if (std::string problem = check(schema["propertyNames"], Json(key), at + "/" + key);
              !problem.empty())
            return problem;
        }
        if (schema.contains("properties") && schema["properties"].contains(key)) {
          if (std::string problem = check(schema["properties"][key], item, at + "/" + key); !problem.empty())
            return problem;
        } else if (schema.contains("additionalProperties")) {
          const Json& additional = schema["additionalProperties"];
          if (additional.is_boolean()) {
            if (!additional.get<bool>()) return at + ": unknown key " + key;
          } else if (std::string problem = check(additional, item, at + "/" + key); !problem.empty()) {
            return problem;
          }
        }
      }
    }
    return "";
  }

  Json root_;
};

Json load_schema() {
  std::ifstream in(builtin_schema_path());
  REQUIRE(in.good());
  return Json::parse(in);
}

TEST_CASE("Schema: schema.json parses and lists exactly the top-level keys the loader accepts and requires") {
  const Json schema = load_schema();
  std::set<std::string> schema_keys;
  for (const auto& [key, value] : schema["properties"].items()) schema_keys.insert(key);
  const std::vector<std::string> loader_keys = scenario_top_level_keys();
  CHECK(schema_keys == std::set<std::string>(loader_keys.begin(), loader_keys.end()));
  std::set<std::string> schema_required;
  for (const Json& key : schema["required"]) schema_required.insert(key.get<std::string>());
  const std::vector<std::string> loader_required = scenario_required_keys();
  CHECK(schema_required == std::set<std::string>(loader_required.begin(), loader_required.end()));
  CHECK(schema["additionalProperties"] == false);
  // Every key the loader accepts is really accepted (no unknown-key problem for it).
  for (const std::string& key : loader_keys) {
    Json doc = testing::tiny_scenario();
    if (!doc.contains(key)) continue;
    const LoadResult loaded = load_scenario_json(doc);
    for (const Problem& problem : loaded.problems.items()) CHECK(problem.pointer != "/" + key);
  }
}

TEST_CASE("Schema: every library scenario validates against both the loader and schema.json") {
  const MiniSchema schema(load_schema());
  const std::vector<LibraryEntry> entries = list_library(builtin_library_dir());
  REQUIRE(entries.size() >= 5);
  for (const LibraryEntry& entry : entries) {
    INFO(entry.path);
    CHECK(entry.loads);
    std::ifstream in(entry.path);
    CHECK(schema.validate(Json::parse(in)) == "");
  }
  CHECK(schema.validate(testing::tiny_scenario()) == "");
}

TEST_CASE("Schema: the schema refuses what the loader refuses (unknown keys, wrong types, bad durations)") {
  const MiniSchema schema(load_schema());
  Json doc = testing::tiny_scenario();
  doc["descripton"] = "typo";
  CHECK(schema.validate(doc) != "");
  doc = testing::tiny_scenario();
  doc["duration"] = "5";
  CHECK(schema.validate(doc) != "");
  doc = testing::tiny_scenario();
  doc["services"][0]["kind"] = "serving";
  CHECK(schema.validate(doc) != "");
  doc = testing::tiny_scenario();
  doc["events"][0]["fault"] = "crush";
  CHECK(schema.validate(doc) != "");
  doc = testing::tiny_scenario();
  doc["workload"][0]["rate"] = -1;
  CHECK(schema.validate(doc) != "");
}

}  // namespace
}  // namespace tandem::scenarios
