// Storage: a node's durable key-value store, with explicit sync.
//
// Contract:
// - Keys are byte strings ordered lexicographically; scan() returns keys with a prefix in that order.
// - put() and erase() apply at once to what this node reads (get/scan see them immediately) but are volatile:
//   a crash before a successful sync() may lose any of them. A sync() that returns ok makes every write issued
//   before it durable; a crash after that keeps them. sync() may fail (kStorageFailure) — then durability of
//   the writes since the last good sync is unknown, and the caller must treat them as not persisted.
// - One writer: the node that owns the store. The store survives the node's crash and restart; only the
//   durable part does (sim) — the real stores (SQLite file, Redis, MariaDB) behave the same way.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/async/task.h"
#include "core/common/result.h"
#include "core/env/transport.h"

namespace tandem {

class Storage {
 public:
  virtual ~Storage() = default;

  // The value stored under `key`, if any (including unsynced writes).
  virtual std::optional<Bytes> get(std::string_view key) const = 0;

  // Set `key` to `value`; volatile until the next successful sync().
  virtual void put(std::string_view key, Bytes value) = 0;

  // Remove `key`; volatile until the next successful sync().
  virtual void erase(std::string_view key) = 0;

  // All entries whose key starts with `prefix`, in key order.
  virtual std::vector<std::pair<std::string, Bytes>> scan(std::string_view prefix) const = 0;

  // Make every earlier write durable. Completes after the store's modelled or real write latency.
  virtual Task<Status> sync() = 0;
};

}  // namespace tandem
