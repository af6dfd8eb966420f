#include "real_backend/storage/sqlite_storage.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>

namespace tandem::real {
namespace {

// Frees a prepared statement on every path out of a function.
struct Statement {
  sqlite3_stmt* handle = nullptr;
  ~Statement() { sqlite3_finalize(handle); }
};

// Fsyncs a directory so a freshly created file's name is durable too (SQLite syncs the files themselves).
void sync_directory(const std::string& file_path) {
  const std::string dir = std::filesystem::path(file_path).parent_path().string();
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

Result<std::unique_ptr<SqliteStorage>> SqliteStorage::open(const std::string& path) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = "cannot open SQLite database '" + path +
                          "': " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)) +
                          "; check that the directory exists and is writable";
    sqlite3_close(db);
    return make_error(Errc::kStorageFailure, std::move(message));
  }
  std::unique_ptr<SqliteStorage> storage(new SqliteStorage(db, path));
  Status loaded = storage->load();
  if (!loaded.ok()) return loaded.error();
  sync_directory(path);
  return storage;
}

SqliteStorage::~SqliteStorage() { sqlite3_close(db_); }

Error SqliteStorage::failure(std::string_view what) const {
  return make_error(Errc::kStorageFailure,
                    "SQLite database '" + path_ + "': " + std::string(what) + ": " + sqlite3_errmsg(db_));
}

Status SqliteStorage::load() {
  // busy_timeout: wait a little for a lock held by a dying previous owner instead of failing at once (the
  // kernel drops a killed process's locks at once, so this is short).
  const std::string setup = "PRAGMA busy_timeout=" + std::to_string(kBusyTimeoutMs) +
                            ";"
                            "PRAGMA journal_mode=WAL;"
                            "PRAGMA synchronous=FULL;"
                            "CREATE TABLE IF NOT EXISTS kv(key BLOB PRIMARY KEY, value BLOB) WITHOUT ROWID;";
  if (sqlite3_exec(db_, setup.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
    return failure("cannot set up table kv");
  }
  Statement select;
  if (sqlite3_prepare_v2(db_, "SELECT key, value FROM kv", -1, &select.handle, nullptr) != SQLITE_OK) {
    return failure("cannot read table kv");
  }
  int rc = SQLITE_ROW;
  while ((rc = sqlite3_step(select.handle)) == SQLITE_ROW) {
    const auto* key = static_cast<const char*>(sqlite3_column_blob(select.handle, 0));
    const int key_size = sqlite3_column_bytes(select.handle, 0);
    const auto* value = static_cast<const char*>(sqlite3_column_blob(select.handle, 1));
    const int value_size = sqlite3_column_bytes(select.handle, 1);
    entries().insert_or_assign(std::string(key ? key : "", key_size), Bytes(value ? value : "", value_size));
  }
  if (rc != SQLITE_DONE) return failure("cannot read table kv");
  return {};
}

Status SqliteStorage::write_batch(const Batch& batch) {
  Statement upsert;
  Statement remove;
  if (sqlite3_prepare_v2(db_, "INSERT OR REPLACE INTO kv(key, value) VALUES(?1, ?2)", -1, &upsert.handle,
                         nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(db_, "DELETE FROM kv WHERE key = ?1", -1, &remove.handle, nullptr) != SQLITE_OK) {
    return failure("cannot prepare the batch statements");
  }
  if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return failure("cannot begin a transaction");
  }
  for (const auto& [key, value] : batch) {
    sqlite3_stmt* statement = value ? upsert.handle : remove.handle;
    sqlite3_reset(statement);
    sqlite3_bind_blob64(statement, 1, key.data(), key.size(), SQLITE_STATIC);
    if (value) sqlite3_bind_blob64(statement, 2, value->data(), value->size(), SQLITE_STATIC);
    if (sqlite3_step(statement) != SQLITE_DONE) {
      Error error = failure("cannot write key of " + std::to_string(key.size()) + " bytes");
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return error;
    }
  }
  if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    Error error = failure("cannot commit the batch");
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return error;
  }
  return {};
}

}  // namespace tandem::real
