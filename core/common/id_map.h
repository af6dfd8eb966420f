// IdMap: owned objects by non-zero 64-bit id, for the lookups on every actor call (a client's submitters, a
// daemon's actors).
//
// Contract:
// - Open addressing with linear probing in a power-of-two table at most half full: a lookup is a multiply, a shift
//   and (almost always) one slot of a contiguous array, where std::unordered_map divides by a prime and follows
//   two pointers. Erasing shifts the probe run back (no tombstones).
// - The objects live behind unique_ptr: a T& stays valid until that id is erased or extracted, however the table
//   grows or other ids come and go.
// - Id 0 is the empty-slot marker and cannot be stored.
// - for_each() visits in table order, which depends on the ids and the insertion history only (never on
//   addresses), like a hash map's: callers whose behaviour would depend on it sort first. The callback must not
//   insert or erase.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "core/common/check.h"

namespace tandem {

template <typename T>
class IdMap {
 public:
  IdMap() : slots_(kMinSlots) {}

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  bool contains(uint64_t id) const { return find(id) != nullptr; }

  T* find(uint64_t id) const {
    if (id == 0) return nullptr;
    for (size_t i = home(id);; i = next(i)) {
      const Slot& slot = slots_[i];
      if (slot.id == id) return slot.value.get();
      if (slot.id == 0) return nullptr;
    }
  }
  T& at(uint64_t id) const {
    T* value = find(id);
    TANDEM_CHECK(value != nullptr, "IdMap::at: no such id");
    return *value;
  }

  // Stores `value` under `id`, which must be non-zero and absent.
  T& insert(uint64_t id, std::unique_ptr<T> value) {
    TANDEM_CHECK(id != 0 && value != nullptr, "IdMap::insert: id 0 or no value");
    if (2 * (size_ + 1) > slots_.size()) rehash(2 * slots_.size());
    size_t i = home(id);
    for (; slots_[i].id != 0; i = next(i)) TANDEM_CHECK(slots_[i].id != id, "IdMap::insert: the id is present");
    slots_[i] = Slot{id, std::move(value)};
    ++size_;
    return *slots_[i].value;
  }

  // Takes the object out (nullptr when absent).
  std::unique_ptr<T> extract(uint64_t id) {
    if (id == 0) return nullptr;
    size_t hole = home(id);
    while (slots_[hole].id != id) {
      if (slots_[hole].id == 0) return nullptr;
      hole = next(hole);
    }
    std::unique_ptr<T> out = std::move(slots_[hole].value);
    slots_[hole].id = 0;
    --size_;
    // Backward shift: move later members of the probe run into the hole when their home allows it.
    for (size_t i = next(hole); slots_[i].id != 0; i = next(i)) {
      const size_t wanted = home(slots_[i].id);
      // Movable when the hole lies cyclically within [wanted, i).
      const bool movable = hole <= i ? (wanted <= hole || wanted > i) : (wanted <= hole && wanted > i);
      if (!movable) continue;
      slots_[hole] = std::move(slots_[i]);
      slots_[i].id = 0;
      hole = i;
    }
    return out;
  }
  bool erase(uint64_t id) { return extract(id) != nullptr; }

  template <typename F>
  void for_each(F&& visit) const {
    for (const Slot& slot : slots_) {
      if (slot.id != 0) visit(slot.id, *slot.value);
    }
  }

 private:
  struct Slot {
    uint64_t id = 0;
    std::unique_ptr<T> value;
  };
  static constexpr size_t kMinSlots = 16;

  size_t home(uint64_t id) const {
    // Fibonacci hashing: the top bits of id x 2^64/phi spread sequential ids over the table.
    return static_cast<size_t>((id * 0x9E3779B97F4A7C15ULL) >> shift_);
  }
  size_t next(size_t i) const { return (i + 1) & (slots_.size() - 1); }

  void rehash(size_t count) {
    std::vector<Slot> old = std::exchange(slots_, std::vector<Slot>(count));
    shift_ = 64;
    for (size_t n = count; n > 1; n >>= 1) --shift_;
    size_ = 0;
    for (Slot& slot : old) {
      if (slot.id == 0) continue;
      size_t i = home(slot.id);
      while (slots_[i].id != 0) i = next(i);
      slots_[i] = std::move(slot);
      ++size_;
    }
  }

  std::vector<Slot> slots_;
  int shift_ = 60;  // 64 - log2(slots_.size())
  size_t size_ = 0;
};

}  // namespace tandem
