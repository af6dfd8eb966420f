#include "real_backend/storage/batched_storage.h"

namespace tandem::real {

std::optional<Bytes> BatchedStorage::get(std::string_view key) const {
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

void BatchedStorage::put(std::string_view key, Bytes value) {
  pending_.insert_or_assign(std::string(key), value);
  entries_.insert_or_assign(std::string(key), std::move(value));
}

void BatchedStorage::erase(std::string_view key) {
  // Deleting a key the durable store may hold must reach it even if this process never saw the key put.
  pending_.insert_or_assign(std::string(key), std::nullopt);
  auto it = entries_.find(key);
  if (it != entries_.end()) entries_.erase(it);
}

std::vector<std::pair<std::string, Bytes>> BatchedStorage::scan(std::string_view prefix) const {
  std::vector<std::pair<std::string, Bytes>> result;
  for (auto it = entries_.lower_bound(prefix); it != entries_.end() && it->first.starts_with(prefix); ++it) {
    result.emplace_back(it->first, it->second);
  }
  return result;
}

Status BatchedStorage::sync_now() {
  if (pending_.empty()) return {};
  Status status = write_batch(pending_);
  if (status.ok()) pending_.clear();
  return status;
}

Task<Status> BatchedStorage::sync() { co_return sync_now(); }

}  // namespace tandem::real
