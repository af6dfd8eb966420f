// Problems and readers: how the scenario loader walks a JSON document and reports every fault in it.
//
// Contract:
// - A Problem is a JSON pointer (RFC 6901; "" is the whole document) and one sentence that says what is wrong
//   and how to fix it. Problems collects them in the order found, up to kMaxProblems (then one last line says
//   how many more there were), so a broken file is refused with every fault at once rather than one per run.
// - ObjectReader reads one JSON object. Every key the loader asks for (required or optional) becomes a known
//   key; finish() reports each key that was never asked for as unknown, with a did-you-mean among the known
//   keys when one is close. So a key is accepted exactly when some code reads it — the loader cannot silently
//   ignore a field.
// - The typed getters never throw: a wrong type, a missing required field or a number out of range adds a
//   Problem and yields std::nullopt, and the loader carries on to find the next problem.
#pragma once

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/env/time.h"
#include "scenarios/duration.h"

namespace tandem::scenarios {

using Json = nlohmann::json;

struct Problem {
  std::string pointer;
  std::string message;
  // "/events/3/target: no node or cluster named ..."; the whole document is shown as "(document)".
  std::string to_string() const;
  friend bool operator==(const Problem&, const Problem&) = default;
};

class Problems {
 public:
  static constexpr size_t kMaxProblems = 100;

  void add(std::string pointer, std::string message);
  bool empty() const { return items_.empty(); }
  size_t size() const { return items_.size(); }
  const std::vector<Problem>& items() const { return items_; }
  size_t dropped() const { return dropped_; }
  // One problem per line.
  std::string to_string() const;

 private:
  std::vector<Problem> items_;
  size_t dropped_ = 0;
};

// JSON pointer of a child: escapes '~' and '/' in keys.
std::string child_pointer(std::string_view parent, std::string_view key);
std::string child_pointer(std::string_view parent, size_t index);

// The closest candidate to `word` (edit distance, case-insensitive), when close enough to be a likely typo.
std::optional<std::string> closest_match(std::string_view word, const std::vector<std::string>& candidates);

// "the number 5", "the string \"x\"", "an array", "an object", "null", "the boolean true".
std::string describe_json(const Json& value);

// The end of an "unknown name" sentence: '; did you mean "x"? Faults: a, b' when one candidate is close,
// '; faults: a, b' otherwise, '; faults: (none)' when none. `label` is lowercase ("faults", "known clusters").
// Empty candidates (placeholders kept for index alignment where an entry's name was refused) are not listed.
std::string suggestion(std::string_view word, const std::vector<std::string>& candidates,
                       std::string_view label, size_t max_shown = 40);

// 5, 0.25, 1e+12: a number as a person would write it in a message.
std::string format_number(double value);

// "a, b and c" / "a, b, c, ... (12 in all)" for lists in messages.
std::string join_names(const std::vector<std::string>& names, size_t max_shown = 12);

enum class Need : uint8_t { kOptional, kRequired };

// Readers for one JSON value at a pointer. Each records a Problem and returns nullopt when the value is
// wrong.
std::optional<std::string> read_string(const Json& value, const std::string& pointer, Problems& problems,
                                       std::string_view what = "a string");
std::optional<Duration> read_duration(const Json& value, const std::string& pointer, Problems& problems,
                                      Sign sign = Sign::kNonNegative);
// A finite number in [min, max]; `unit` ("requests per second") makes range messages readable.
std::optional<double> read_number(const Json& value, const std::string& pointer, Problems& problems,
                                  double min, double max, std::string_view unit = "");
// A whole number in [min, max].
std::optional<int64_t> read_integer(const Json& value, const std::string& pointer, Problems& problems,
                                    int64_t min, int64_t max, std::string_view unit = "");
std::optional<uint64_t> read_unsigned(const Json& value, const std::string& pointer, Problems& problems,
                                      uint64_t max = std::numeric_limits<uint64_t>::max());
std::optional<bool> read_bool(const Json& value, const std::string& pointer, Problems& problems);
// An array (reports otherwise) with at most max_items items.
const Json* read_array(const Json& value, const std::string& pointer, Problems& problems, size_t max_items,
                       std::string_view of_what);

class ObjectReader {
 public:
  // `what` names the object in messages ("a service", "the topology"). A non-object adds a Problem and the
  // reader is !ok(): every getter then returns nothing and finish() does nothing.
  ObjectReader(const Json& value, std::string pointer, Problems& problems, std::string_view what);

  bool ok() const { return object_ != nullptr; }
  const std::string& pointer() const { return pointer_; }
  std::string child(std::string_view key) const { return child_pointer(pointer_, key); }
  Problems& problems() { return problems_; }
  bool has(std::string_view key) const;

  // Marks `key` known and returns its value, or nullptr when absent. `required` reports a missing key as
  // "<pointer>/<key>: missing; <hint>".
  const Json* optional(std::string_view key);
  const Json* required(std::string_view key, std::string_view hint);
  const Json* field(std::string_view key, Need need, std::string_view hint) {
    return need == Need::kRequired ? required(key, hint) : optional(key);
  }

  std::optional<std::string> string(std::string_view key, Need need, std::string_view hint = "");
  std::optional<Duration> duration(std::string_view key, Need need, std::string_view hint = "",
                                   Sign sign = Sign::kNonNegative);
  std::optional<double> number(std::string_view key, Need need, double min, double max,
                               std::string_view unit = "", std::string_view hint = "");
  std::optional<int64_t> integer(std::string_view key, Need need, int64_t min, int64_t max,
                                 std::string_view unit = "", std::string_view hint = "");
  std::optional<bool> boolean(std::string_view key, Need need, std::string_view hint = "");

  // Marks every key known without reading it: after a problem that makes the rest of the object meaningless
  // (an unknown fault kind), so its other keys are not reported as unknown too.
  void skip_rest();

  // Reports every key nobody asked for. `context` ends the sentence ("for shape \"constant\"").
  void finish(std::string_view context = "");

 private:
  const Json* object_;
  std::string pointer_;
  Problems& problems_;
  std::vector<std::string> known_;
};

}  // namespace tandem::scenarios
