// FailingStorage: a member's Storage with a switch for the storage_failure fault — while the switch is on,
// sync() fails with kStorageFailure without touching the store; off, it is the store itself.
//
// Contract:
// - get/put/erase/scan go to the wrapped store unchanged, switch on or off (the sim's failing storage also
//   keeps reads and volatile writes working: only durability fails).
// - sync() while failing: kStorageFailure at once, the wrapped store not called, so its writes since the last
//   good sync stay pending (a BatchedStorage keeps its batch) and the first sync after the heal makes them
//   durable. Nothing acknowledged before the fault is lost.
// - StorageFaultSwitch is thread-safe (the Admin service flips it from a gRPC thread); the storage itself is
//   used on the loop thread only, like every Storage.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <utility>

#include "core/env/storage.h"

namespace tandem::real {

struct StorageFaultSwitch {
  std::atomic<bool> failing{false};
  std::atomic<uint64_t> failed_syncs{0};  // syncs refused by the fault, for the Admin service's report
};

class FailingStorage final : public Storage {
 public:
  FailingStorage(std::unique_ptr<Storage> store, std::shared_ptr<StorageFaultSwitch> fault)
      : store_(std::move(store)), fault_(std::move(fault)) {}

  std::optional<Bytes> get(std::string_view key) const override { return store_->get(key); }
  void put(std::string_view key, Bytes value) override { store_->put(key, std::move(value)); }
  void erase(std::string_view key) override { store_->erase(key); }
  std::vector<std::pair<std::string, Bytes>> scan(std::string_view prefix) const override {
    return store_->scan(prefix);
  }
  Task<Status> sync() override {
    if (fault_->failing.load(std::memory_order_relaxed)) {
      fault_->failed_syncs.fetch_add(1, std::memory_order_relaxed);
      co_return make_error(Errc::kStorageFailure, "storage_failure fault: the state store's sync fails until it "
                                                  "is healed");
    }
    co_return co_await store_->sync();
  }

  Storage& store() { return *store_; }

 private:
  std::unique_ptr<Storage> store_;
  std::shared_ptr<StorageFaultSwitch> fault_;
};

}  // namespace tandem::real
