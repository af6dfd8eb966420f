#include "scenarios/problems.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

namespace tandem::scenarios {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> previous(b.size() + 1);
  std::vector<size_t> current(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitution});
    }
    std::swap(previous, current);
  }
  return previous[b.size()];
}

std::string range_message(double value, double min, double max, std::string_view unit) {
  const std::string suffix = unit.empty() ? "" : " " + std::string(unit);
  if (value < min) {
    if (min == 0)
      return format_number(value) + " is negative; give a value from 0 to " + format_number(max) + suffix;
    return format_number(value) + " is too small; give a value from " + format_number(min) + " to " +
           format_number(max) + suffix;
  }
  return format_number(value) + " is too large; give a value from " + format_number(min) + " to " +
         format_number(max) + suffix;
}

}  // namespace

std::string Problem::to_string() const { return (pointer.empty() ? "(document)" : pointer) + ": " + message; }

void Problems::add(std::string pointer, std::string message) {
  if (items_.size() >= kMaxProblems) {
    ++dropped_;
    return;
  }
  items_.push_back(Problem{std::move(pointer), std::move(message)});
}

std::string Problems::to_string() const {
  std::string out;
  for (const Problem& problem : items_) out += problem.to_string() + "\n";
  if (dropped_ > 0) out += "... and " + std::to_string(dropped_) + " more problems\n";
  return out;
}

std::string child_pointer(std::string_view parent, std::string_view key) {
  std::string out(parent);
  out += '/';
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

std::string child_pointer(std::string_view parent, size_t index) {
  return std::string(parent) + "/" + std::to_string(index);
}

std::optional<std::string> closest_match(std::string_view word, const std::vector<std::string>& candidates) {
  const std::string needle = lower(word);
  std::optional<std::string> best;
  size_t best_distance = SIZE_MAX;
  for (const std::string& candidate : candidates) {
    const size_t distance = edit_distance(needle, lower(candidate));
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  // A typo: a couple of edits, or a third of the word for long names.
  const size_t allowed = std::max<size_t>(2, needle.size() / 3);
  if (!best || best_distance > allowed || best_distance >= needle.size()) return std::nullopt;
  return best;
}

std::string suggestion(std::string_view word, const std::vector<std::string>& candidates,
                       std::string_view label, size_t max_shown) {
  std::vector<std::string> named;  // without the empty placeholders of entries refused for a bad name
  for (const std::string& candidate : candidates) {
    if (!candidate.empty()) named.push_back(candidate);
  }
  const std::string list = join_names(named, max_shown);
  if (const std::optional<std::string> match = closest_match(word, named)) {
    std::string capital(label);
    if (!capital.empty())
      capital[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(capital[0])));
    return "; did you mean \"" + *match + "\"? " + capital + ": " + list;
  }
  return "; " + std::string(label) + ": " + list;
}

std::string format_number(double value) {
  if (std::isfinite(value) && value == std::floor(value) && std::fabs(value) < 1e15) {
    return std::to_string(static_cast<int64_t>(value));
  }
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%.10g", value);
  return buffer;
}

std::string describe_json(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::boolean:
      return std::string("the boolean ") + (value.get<bool>() ? "true" : "false");
    case Json::value_t::number_integer:
      return "the number " + std::to_string(value.get<int64_t>());
    case Json::value_t::number_unsigned:
      return "the number " + std::to_string(value.get<uint64_t>());
    case Json::value_t::number_float:
      return "the number " + format_number(value.get<double>());
    case Json::value_t::string: {
      std::string text = value.get<std::string>();
      if (text.size() > 40) text = text.substr(0, 37) + "...";
      return "the string \"" + text + "\"";
    }
    case Json::value_t::array:
      return "an array";
    case Json::value_t::object:
      return "an object";
    default:
      return "an unsupported value";
  }
}

std::string join_names(const std::vector<std::string>& names, size_t max_shown) {
  std::string out;
  const size_t shown = std::min(names.size(), max_shown);
  for (size_t i = 0; i < shown; ++i) {
    if (i > 0) out += ", ";
    out += names[i];
  }
  if (names.size() > shown) out += ", ... (" + std::to_string(names.size()) + " in all)";
  if (names.empty()) out = "(none)";
  return out;
}

std::optional<std::string> read_string(const Json& value, const std::string& pointer, Problems& problems,
                                       std::string_view what) {
  if (!value.is_string()) {
    problems.add(pointer, "expected " + std::string(what) + ", got " + describe_json(value));
    return std::nullopt;
  }
  return value.get<std::string>();
}

std::optional<Duration> read_duration(const Json& value, const std::string& pointer, Problems& problems,
                                      Sign sign) {
  if (!value.is_string()) {
    std::string message =
        "expected a duration string such as \"5s\" or \"250ms\", got " + describe_json(value);
    if (value.is_number()) message += "; write it with a unit, e.g. \"" + value.dump() + "s\"";
    problems.add(pointer, message);
    return std::nullopt;
  }
  Result<Duration> parsed = parse_duration(value.get<std::string>(), sign);
  if (!parsed.ok()) {
    problems.add(pointer, parsed.error().message);
    return std::nullopt;
  }
  return parsed.value();
}

std::optional<double> read_number(const Json& value, const std::string& pointer, Problems& problems,
                                  double min, double max, std::string_view unit) {
  if (!value.is_number()) {
    problems.add(pointer, "expected a number, got " + describe_json(value));
    return std::nullopt;
  }
  const double number = value.get<double>();
  if (!(number >= min && number <= max)) {
    problems.add(pointer, range_message(number, min, max, unit));
    return std::nullopt;
  }
  return number;
}

std::optional<int64_t> read_integer(const Json& value, const std::string& pointer, Problems& problems,
                                    int64_t min, int64_t max, std::string_view unit) {
  if (!value.is_number()) {
    problems.add(pointer, "expected a whole number, got " + describe_json(value));
    return std::nullopt;
  }
  if (value.is_number_float()) {
    const double number = value.get<double>();
    if (number != std::floor(number) || std::fabs(number) > 9e15) {
      problems.add(pointer, "expected a whole number, got " + describe_json(value));
      return std::nullopt;
    }
  }
  if (value.is_number_unsigned() && value.get<uint64_t>() > static_cast<uint64_t>(max)) {
    problems.add(pointer, range_message(static_cast<double>(value.get<uint64_t>()), static_cast<double>(min),
                                        static_cast<double>(max), unit));
    return std::nullopt;
  }
  const auto number =
      value.is_number_float() ? static_cast<int64_t>(value.get<double>()) : value.get<int64_t>();
  if (number < min || number > max) {
    problems.add(pointer, range_message(static_cast<double>(number), static_cast<double>(min),
                                        static_cast<double>(max), unit));
    return std::nullopt;
  }
  return number;
}

std::optional<uint64_t> read_unsigned(const Json& value, const std::string& pointer, Problems& problems,
                                      uint64_t max) {
  if (!value.is_number_integer() ||
      (value.is_number_integer() && !value.is_number_unsigned() && value.get<int64_t>() < 0)) {
    problems.add(pointer, "expected a non-negative whole number, got " + describe_json(value));
    return std::nullopt;
  }
  const auto number = value.get<uint64_t>();
  if (number > max) {
    problems.add(pointer, std::to_string(number) + " is too large; give at most " + std::to_string(max));
    return std::nullopt;
  }
  return number;
}

std::optional<bool> read_bool(const Json& value, const std::string& pointer, Problems& problems) {
  if (!value.is_boolean()) {
    problems.add(pointer, "expected true or false, got " + describe_json(value));
    return std::nullopt;
  }
  return value.get<bool>();
}

const Json* read_array(const Json& value, const std::string& pointer, Problems& problems, size_t max_items,
                       std::string_view of_what) {
  if (!value.is_array()) {
    problems.add(pointer, "expected an array of " + std::string(of_what) + ", got " + describe_json(value));
    return nullptr;
  }
  if (value.size() > max_items) {
    problems.add(pointer, "has " + std::to_string(value.size()) + " " + std::string(of_what) + "; at most " +
                              std::to_string(max_items) + " are allowed");
    return nullptr;
  }
  return &value;
}

// --- ObjectReader -----------------------------------------------------------------------------------------

ObjectReader::ObjectReader(const Json& value, std::string pointer, Problems& problems, std::string_view what)
    : object_(value.is_object() ? &value : nullptr), pointer_(std::move(pointer)), problems_(problems) {
  if (object_ == nullptr) {
    problems_.add(pointer_,
                  "expected " + std::string(what) + " (a JSON object), got " + describe_json(value));
  }
}

bool ObjectReader::has(std::string_view key) const {
  return object_ != nullptr && object_->find(key) != object_->end();
}

const Json* ObjectReader::optional(std::string_view key) {
  if (object_ == nullptr) return nullptr;
  if (std::find(known_.begin(), known_.end(), key) == known_.end()) known_.emplace_back(key);
  const auto it = object_->find(key);
  return it == object_->end() ? nullptr : &*it;
}

const Json* ObjectReader::required(std::string_view key, std::string_view hint) {
  if (object_ == nullptr) return nullptr;
  const Json* value = optional(key);
  if (value == nullptr) {
    problems_.add(child(key), "missing" + (hint.empty() ? std::string() : "; " + std::string(hint)));
  }
  return value;
}

std::optional<std::string> ObjectReader::string(std::string_view key, Need need, std::string_view hint) {
  const Json* value = field(key, need, hint);
  if (value == nullptr) return std::nullopt;
  return read_string(*value, child(key), problems_);
}

std::optional<Duration> ObjectReader::duration(std::string_view key, Need need, std::string_view hint,
                                               Sign sign) {
  const Json* value = field(key, need, hint);
  if (value == nullptr) return std::nullopt;
  return read_duration(*value, child(key), problems_, sign);
}

std::optional<double> ObjectReader::number(std::string_view key, Need need, double min, double max,
                                           std::string_view unit, std::string_view hint) {
  const Json* value = field(key, need, hint);
  if (value == nullptr) return std::nullopt;
  return read_number(*value, child(key), problems_, min, max, unit);
}

std::optional<int64_t> ObjectReader::integer(std::string_view key, Need need, int64_t min, int64_t max,
                                             std::string_view unit, std::string_view hint) {
  const Json* value = field(key, need, hint);
  if (value == nullptr) return std::nullopt;
  return read_integer(*value, child(key), problems_, min, max, unit);
}

std::optional<bool> ObjectReader::boolean(std::string_view key, Need need, std::string_view hint) {
  const Json* value = field(key, need, hint);
  if (value == nullptr) return std::nullopt;
  return read_bool(*value, child(key), problems_);
}

void ObjectReader::skip_rest() {
  if (object_ == nullptr) return;
  for (const auto& [key, value] : object_->items()) optional(key);
}

void ObjectReader::finish(std::string_view context) {
  if (object_ == nullptr) return;
  for (const auto& [key, value] : object_->items()) {
    if (std::find(known_.begin(), known_.end(), key) != known_.end()) continue;
    std::string message = "unknown key \"" + key + "\"";
    if (!context.empty()) message += " " + std::string(context);
    if (const std::optional<std::string> match = closest_match(key, known_)) {
      message += "; did you mean \"" + *match + "\"?";
    } else {
      std::vector<std::string> sorted = known_;
      std::sort(sorted.begin(), sorted.end());
      message += "; the keys allowed here are " + join_names(sorted, 40);
    }
    problems_.add(child(key), message);
  }
}

}  // namespace tandem::scenarios
