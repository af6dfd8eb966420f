// SqliteStorage: a node's Storage in one SQLite file, the embedded default state store.
//
// Contract: open() creates or opens `<path>` (table `kv(key BLOB PRIMARY KEY, value BLOB)`), in WAL mode with
// synchronous=FULL, and loads every row into memory. sync() writes the pending batch in one transaction; when
// COMMIT returns, the WAL has been fsynced, so the batch survives a process crash or power loss. A failed
// sync — e.g. one that cannot get the write lock within kBusyTimeoutMs — rolls its transaction back, returns
// kStorageFailure and keeps the batch for the next sync (see batched_storage.h). One process owns the file;
// SQLite's lock stops a second writer only while a transaction runs, so owners must not share a file
// (open_storage gives each node its own).
#pragma once

#include <memory>
#include <string>

#include "core/common/result.h"
#include "real_backend/storage/batched_storage.h"

struct sqlite3;

namespace tandem::real {

class SqliteStorage final : public BatchedStorage {
 public:
  static constexpr int kBusyTimeoutMs = 250;  // how long a sync waits for a write lock another opener holds

  // Opens (creating if needed) the database file at `path`; its directory must exist.
  static Result<std::unique_ptr<SqliteStorage>> open(const std::string& path);
  ~SqliteStorage() override;

 protected:
  Status write_batch(const Batch& batch) override;

 private:
  SqliteStorage(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  Status load();
  Error failure(std::string_view what) const;  // kStorageFailure naming the file and SQLite's message

  sqlite3* db_;
  std::string path_;
};

}  // namespace tandem::real
