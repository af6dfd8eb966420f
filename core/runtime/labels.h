// Node labels and label selectors: where a request may run (cluster, zone, hardware generation, ...).
//
// Contract: a node carries NodeLabels (key -> value). A LabelSelector is a conjunction of constraints, each on
// one key: kIn (value is one of), kNotIn (absent or not one of), kExists, kDoesNotExist. An empty selector
// matches every node. Selectors are values that cross the wire (codec) and print for "why is this waiting"
// messages. Keys and values are plain strings; matching is exact.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/runtime/codec.h"

namespace tandem::runtime {

using NodeLabels = std::map<std::string, std::string>;

inline constexpr size_t kMaxLabelConstraints = 32;

struct LabelConstraint {
  enum class Op : uint8_t { kIn = 0, kNotIn, kExists, kDoesNotExist };
  std::string key;
  Op op = Op::kIn;
  std::vector<std::string> values;  // for kIn / kNotIn

  bool matches(const NodeLabels& labels) const;
  std::string to_string() const;
  friend bool operator==(const LabelConstraint&, const LabelConstraint&) = default;
  TANDEM_CODEC_FIELDS(key, op, values)
};
inline bool codec_valid(LabelConstraint::Op op) { return op <= LabelConstraint::Op::kDoesNotExist; }

class LabelSelector {
 public:
  LabelSelector() = default;
  // {{"zone", "a"}, {"cluster", "c1"}}: each key must equal its value.
  LabelSelector(std::initializer_list<std::pair<std::string_view, std::string_view>> equal);

  LabelSelector& in(std::string key, std::vector<std::string> values);
  LabelSelector& not_in(std::string key, std::vector<std::string> values);
  LabelSelector& exists(std::string key);
  LabelSelector& does_not_exist(std::string key);

  bool matches(const NodeLabels& labels) const;
  bool empty() const { return constraints_.empty(); }
  const std::vector<LabelConstraint>& constraints() const { return constraints_; }
  // "zone in (a), gpu exists"; "any node" when empty.
  std::string to_string() const;

  friend bool operator==(const LabelSelector&, const LabelSelector&) = default;
  TANDEM_CODEC_FIELDS(constraints_)
  std::string codec_check() const {
    return constraints_.size() <= kMaxLabelConstraints ? "" : "at most kMaxLabelConstraints label constraints";
  }

 private:
  std::vector<LabelConstraint> constraints_;
};

}  // namespace tandem::runtime
