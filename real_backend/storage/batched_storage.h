// BatchedStorage: the part every real store shares — a full in-memory copy of the node's entries plus the
// batch of writes not yet sent to the durable store.
//
// Contract:
// - The subclass loads every durable entry into entries() when it opens; get() and scan() read that map only,
//   so reads never touch the disk or the network. put() and erase() update the map at once and record the
//   key's final state in the pending batch (a later write to the same key replaces the earlier one).
// - sync() hands the whole pending batch to write_batch(). On success the batch is cleared; on failure it is
//   kept, so the next sync() sends it again. Every write in a batch is idempotent (set to a value, or
//   delete), so sending a batch twice — e.g. after a commit whose reply was lost — is harmless.
// - sync() blocks the calling thread (the process's one event loop thread) for the store's I/O and then
//   completes without suspending: a real store's sync is a handful of milliseconds, and doing it inline keeps
//   the store single-threaded like the rest of the process. No threads.
// - Writes still pending when the store is destroyed are dropped (they were never acknowledged).
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/env/storage.h"

namespace tandem::real {

class BatchedStorage : public Storage {
 public:
  // The final state of one key in a batch: a value to store, or nullopt to delete the key.
  using Batch = std::map<std::string, std::optional<Bytes>, std::less<>>;

  std::optional<Bytes> get(std::string_view key) const override;
  void put(std::string_view key, Bytes value) override;
  void erase(std::string_view key) override;
  std::vector<std::pair<std::string, Bytes>> scan(std::string_view prefix) const override;
  Task<Status> sync() override;

  // The same as co_await sync(), for callers outside a coroutine (benchmarks, tools).
  Status sync_now();

  // Number of keys whose latest write has not yet been made durable.
  size_t pending_size() const { return pending_.size(); }

 protected:
  // Makes every write of `batch` durable in one atomic step, or fails with kStorageFailure and a message that
  // names the store and what went wrong. Must not change `batch`.
  virtual Status write_batch(const Batch& batch) = 0;

  // What the store held when it was opened; the subclass fills it before the store is used.
  std::map<std::string, Bytes, std::less<>>& entries() { return entries_; }

 private:
  std::map<std::string, Bytes, std::less<>> entries_;
  Batch pending_;
};

}  // namespace tandem::real
