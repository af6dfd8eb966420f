// MariaDbStorage: a node's Storage in a MariaDB (or MySQL) table shared by many nodes.
//
// Contract:
// - One InnoDB table `tandem_kv(node VARBINARY(64), k VARBINARY(3000), v LONGBLOB, PRIMARY KEY(node, k))` in
//   the given database; open() creates the database and the table if missing (only then: a user without
//   CREATE rights can use existing ones) and loads this node's rows. Keys longer than kMaxKeyBytes cannot be
//   stored: a sync holding one fails (kStorageFailure, says so).
// - Durability: the server must run with innodb_flush_log_at_trx_commit=1 (the default), so COMMIT returns
//   only after the redo log is fsynced. open() and every reconnect check it and refuse a server without it
//   (kFailedPrecondition at open, kStorageFailure at a later sync); likewise a tandem_kv table that is not
//   InnoDB.
// - sync() writes the pending batch in one transaction: multi-row REPLACE and DELETE statements, then COMMIT.
// - A broken connection is dropped and a sync reconnects: at most kSyncAttempts attempts per sync,
//   reconnecting before each retry; when all fail the sync returns kStorageFailure and the batch stays
//   pending.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/common/result.h"
#include "real_backend/storage/batched_storage.h"

struct st_mysql;

namespace tandem::real {

class MariaDbStorage final : public BatchedStorage {
 public:
  static constexpr int kSyncAttempts = 2;          // the first may hit a connection the server already closed
  static constexpr unsigned kConnectTimeoutS = 2;  // a server that does not accept by then counts as down
  static constexpr unsigned kCommandTimeoutS = 5;  // a stopped server fails the sync instead of hanging it
  static constexpr size_t kMaxKeyBytes = 3000;     // InnoDB's index limit leaves this much beside `node`
  // Statements stay below the server's default max_allowed_packet (16 MiB); hex doubles a value's size, so a
  // single value may be at most about max_allowed_packet / 2.
  static constexpr size_t kMaxStatementBytes = 4 << 20;

  struct Options {
    std::string host = "127.0.0.1";
    uint16_t port = 3306;
    std::string user;
    std::string password;
    std::string database;                           // letters, digits and '_' only
    std::string node;                               // at most 64 bytes
    unsigned connect_timeout_s = kConnectTimeoutS;  // libmariadb counts whole seconds
    unsigned command_timeout_s = kCommandTimeoutS;
  };

  static Result<std::unique_ptr<MariaDbStorage>> open(Options options);
  ~MariaDbStorage() override;

 protected:
  Status write_batch(const Batch& batch) override;

 private:
  explicit MariaDbStorage(Options options) : options_(std::move(options)) {}
  Status connect();  // a fresh connection to a durable server, with database and table in place
  Status load();
  Status table_engine(std::string& engine);  // "" when table tandem_kv does not exist
  Status try_write(const Batch& batch);
  Status query(const std::string& sql, std::string_view what);
  void disconnect();
  Error failure(Errc code, std::string_view what) const;  // names the server, database and node

  Options options_;
  st_mysql* connection_ = nullptr;  // null while disconnected
};

}  // namespace tandem::real
