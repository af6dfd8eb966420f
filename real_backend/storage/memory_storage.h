// MemoryStorage: a Storage that keeps everything in memory and syncs at once — for members that keep nothing
// durable (a driver, a benchmark). Not for a head or node: nothing survives the process.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/env/storage.h"

namespace tandem::real {

class MemoryStorage final : public Storage {
 public:
  std::optional<Bytes> get(std::string_view key) const override {
    auto it = entries_.find(key);
    if (it == entries_.end()) return std::nullopt;
    return it->second;
  }
  void put(std::string_view key, Bytes value) override { entries_[std::string(key)] = std::move(value); }
  void erase(std::string_view key) override {
    auto it = entries_.find(key);
    if (it != entries_.end()) entries_.erase(it);
  }
  std::vector<std::pair<std::string, Bytes>> scan(std::string_view prefix) const override {
    std::vector<std::pair<std::string, Bytes>> out;
    for (auto it = entries_.lower_bound(prefix); it != entries_.end() && it->first.starts_with(prefix); ++it) {
      out.emplace_back(it->first, it->second);
    }
    return out;
  }
  Task<Status> sync() override { co_return Status{}; }

 private:
  std::map<std::string, Bytes, std::less<>> entries_;
};

}  // namespace tandem::real
