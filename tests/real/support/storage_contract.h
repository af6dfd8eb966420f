// The Storage contract (core/env/storage.h) as one check every real store must pass, plus helpers the store
// tests share. `open` opens the same node's store again each time it is called (a reopen); the store must
// start empty.
#pragma once

#include <catch2/catch.hpp>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/env/storage.h"
#include "tests/real/support/run_sync.h"

namespace tandem::testing {

using OpenStorage = std::function<std::unique_ptr<Storage>()>;

// Bytes 0..255 repeated, so values hold NULs and every byte value.
inline Bytes binary_bytes(size_t size, unsigned seed) {
  Bytes bytes(size, '\0');
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>((i * 131 + seed) & 0xff);
  return bytes;
}

inline std::vector<std::string> keys_of(const std::vector<std::pair<std::string, Bytes>>& entries) {
  std::vector<std::string> keys;
  for (const auto& entry : entries) keys.push_back(entry.first);
  return keys;
}

inline void check_storage_contract(const OpenStorage& open) {
  using namespace std::string_literals;
  const std::string nul_key = "k\0ey"s;
  const std::string high_key = "\xff\x01"s;
  const Bytes nul_value = "v\0a\0l"s;
  const Bytes large_value = binary_bytes(1 << 20, 7);
  {
    std::unique_ptr<Storage> store = open();
    REQUIRE(store != nullptr);
    CHECK(!store->get("a").has_value());
    CHECK(store->scan("").empty());

    // Writes are visible at once, before any sync.
    store->put("b", "2");
    store->put("a", "1");
    store->put("ab", "12");
    store->put(nul_key, nul_value);
    store->put(high_key, "high");
    store->put("", "empty key");
    store->put("big", large_value);
    CHECK(store->get("a") == Bytes("1"));
    CHECK(store->get(nul_key) == nul_value);
    CHECK(store->get("big") == large_value);
    CHECK(store->get("") == Bytes("empty key"));
    CHECK(keys_of(store->scan("a")) == std::vector<std::string>{"a", "ab"});
    CHECK(keys_of(store->scan("")) == std::vector<std::string>{"", "a", "ab", "b", "big", nul_key, high_key});
    CHECK(keys_of(store->scan("k\0"s)) == std::vector<std::string>{nul_key});
    CHECK(keys_of(store->scan("zzz")).empty());

    store->put("b", "two");
    store->erase("ab");
    store->erase("never-written");
    CHECK(store->get("b") == Bytes("two"));
    CHECK(!store->get("ab").has_value());
    REQUIRE(run_sync(*store).ok());
    CHECK(run_sync(*store).ok());  // nothing pending: still ok

    // After the last sync: not required to survive a reopen.
    store->put("unsynced", "maybe");
  }
  {
    std::unique_ptr<Storage> store = open();
    REQUIRE(store != nullptr);
    CHECK(store->get("a") == Bytes("1"));
    CHECK(store->get("b") == Bytes("two"));
    CHECK(!store->get("ab").has_value());
    CHECK(store->get(nul_key) == nul_value);
    CHECK(store->get(high_key) == Bytes("high"));
    CHECK(store->get("") == Bytes("empty key"));
    CHECK(store->get("big") == large_value);
    CHECK(keys_of(store->scan("a")) == std::vector<std::string>{"a"});

    // Erases and overwrites are durable too.
    store->erase("a");
    store->put("big", "small now");
    REQUIRE(run_sync(*store).ok());
  }
  {
    std::unique_ptr<Storage> store = open();
    REQUIRE(store != nullptr);
    CHECK(!store->get("a").has_value());
    CHECK(store->get("big") == Bytes("small now"));
    CHECK(store->get("b") == Bytes("two"));
  }
}

// Writes `batches` batches of `batch_size` keys "key-<n>" under `prefix`, syncing each (each must be ok).
inline void write_acknowledged(Storage& store, const std::string& prefix, size_t batches, size_t batch_size) {
  for (size_t batch = 0; batch < batches; ++batch) {
    for (size_t i = 0; i < batch_size; ++i) {
      const size_t n = batch * batch_size + i;
      store.put(prefix + std::to_string(n), binary_bytes(100 + n, static_cast<unsigned>(n)));
    }
    REQUIRE(run_sync(store).ok());
  }
}

// Counts the keys written by write_acknowledged that `store` holds with the right value.
inline size_t count_acknowledged(const Storage& store, const std::string& prefix, size_t count) {
  size_t present = 0;
  for (size_t n = 0; n < count; ++n) {
    if (store.get(prefix + std::to_string(n)) == binary_bytes(100 + n, static_cast<unsigned>(n))) ++present;
  }
  return present;
}

}  // namespace tandem::testing
