#include "core/runtime/labels.h"

#include <algorithm>

#include "core/common/check.h"

namespace tandem::runtime {

bool LabelConstraint::matches(const NodeLabels& labels) const {
  auto it = labels.find(key);
  const bool present = it != labels.end();
  switch (op) {
    case Op::kIn: return present && std::find(values.begin(), values.end(), it->second) != values.end();
    case Op::kNotIn: return !present || std::find(values.begin(), values.end(), it->second) == values.end();
    case Op::kExists: return present;
    case Op::kDoesNotExist: return !present;
  }
  return false;
}

std::string LabelConstraint::to_string() const {
  auto list = [&] {
    std::string out = "(";
    for (size_t i = 0; i < values.size(); ++i) out += (i > 0 ? ", " : "") + values[i];
    return out + ")";
  };
  switch (op) {
    case Op::kIn: return key + " in " + list();
    case Op::kNotIn: return key + " not in " + list();
    case Op::kExists: return key + " exists";
    case Op::kDoesNotExist: return key + " does not exist";
  }
  return key;
}

LabelSelector::LabelSelector(std::initializer_list<std::pair<std::string_view, std::string_view>> equal) {
  for (const auto& [key, value] : equal) in(std::string(key), {std::string(value)});
}

LabelSelector& LabelSelector::in(std::string key, std::vector<std::string> values) {
  TANDEM_CHECK(constraints_.size() < kMaxLabelConstraints, "too many label constraints");
  constraints_.push_back(LabelConstraint{std::move(key), LabelConstraint::Op::kIn, std::move(values)});
  return *this;
}
LabelSelector& LabelSelector::not_in(std::string key, std::vector<std::string> values) {
  TANDEM_CHECK(constraints_.size() < kMaxLabelConstraints, "too many label constraints");
  constraints_.push_back(LabelConstraint{std::move(key), LabelConstraint::Op::kNotIn, std::move(values)});
  return *this;
}
LabelSelector& LabelSelector::exists(std::string key) {
  TANDEM_CHECK(constraints_.size() < kMaxLabelConstraints, "too many label constraints");
  constraints_.push_back(LabelConstraint{std::move(key), LabelConstraint::Op::kExists, {}});
  return *this;
}
LabelSelector& LabelSelector::does_not_exist(std::string key) {
  TANDEM_CHECK(constraints_.size() < kMaxLabelConstraints, "too many label constraints");
  constraints_.push_back(LabelConstraint{std::move(key), LabelConstraint::Op::kDoesNotExist, {}});
  return *this;
}

bool LabelSelector::matches(const NodeLabels& labels) const {
  for (const LabelConstraint& constraint : constraints_) {
    if (!constraint.matches(labels)) return false;
  }
  return true;
}

std::string LabelSelector::to_string() const {
  if (constraints_.empty()) return "any node";
  std::string out;
  for (size_t i = 0; i < constraints_.size(); ++i) out += (i > 0 ? ", " : "") + constraints_[i].to_string();
  return out;
}

}  // namespace tandem::runtime
