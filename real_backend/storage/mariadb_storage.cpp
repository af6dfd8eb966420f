#include "real_backend/storage/mariadb_storage.h"

#include <mysql.h>

namespace tandem::real {
namespace {

// A binary-safe SQL literal: X'hex'. Independent of the connection's character set.
std::string hex_literal(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string literal = "X'";
  literal.reserve(bytes.size() * 2 + 3);
  for (const char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    literal += kDigits[byte >> 4];
    literal += kDigits[byte & 0xf];
  }
  literal += '\'';
  return literal;
}

struct ResultDeleter {
  void operator()(MYSQL_RES* result) const { mysql_free_result(result); }
};
using ResultSet = std::unique_ptr<MYSQL_RES, ResultDeleter>;

}  // namespace

Result<std::unique_ptr<MariaDbStorage>> MariaDbStorage::open(Options options) {
  std::unique_ptr<MariaDbStorage> storage(new MariaDbStorage(std::move(options)));
  if (Status connected = storage->connect(); !connected.ok()) return connected.error();
  if (Status loaded = storage->load(); !loaded.ok()) return loaded.error();
  return storage;
}

MariaDbStorage::~MariaDbStorage() { disconnect(); }

Error MariaDbStorage::failure(Errc code, std::string_view what) const {
  std::string message = "MariaDB " + options_.host + ":" + std::to_string(options_.port) + " database '" +
                        options_.database + "' node '" + options_.node + "': " + std::string(what);
  if (connection_ != nullptr && mysql_errno(connection_) != 0) {
    message += std::string(": ") + mysql_error(connection_);
  }
  return make_error(code, std::move(message));
}

void MariaDbStorage::disconnect() {
  if (connection_ != nullptr) mysql_close(connection_);
  connection_ = nullptr;
}

Status MariaDbStorage::query(const std::string& sql, std::string_view what) {
  if (mysql_real_query(connection_, sql.data(), sql.size()) != 0) return failure(Errc::kStorageFailure, what);
  return {};
}

Status MariaDbStorage::connect() {
  disconnect();
  connection_ = mysql_init(nullptr);
  if (connection_ == nullptr) return failure(Errc::kStorageFailure, "out of memory in mysql_init");
  const unsigned connect_timeout_s = options_.connect_timeout_s;
  const unsigned command_timeout_s = options_.command_timeout_s;
  const my_bool no_reconnect = 0;  // reconnecting ourselves keeps a half-done transaction from being resumed
  mysql_options(connection_, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout_s);
  mysql_options(connection_, MYSQL_OPT_READ_TIMEOUT, &command_timeout_s);
  mysql_options(connection_, MYSQL_OPT_WRITE_TIMEOUT, &command_timeout_s);
  mysql_options(connection_, MYSQL_OPT_RECONNECT, &no_reconnect);
  if (mysql_real_connect(connection_, options_.host.c_str(), options_.user.c_str(), options_.password.c_str(),
                         nullptr, options_.port, nullptr, 0) == nullptr) {
    Error error =
        failure(Errc::kStorageFailure, "cannot connect; is the server running and the user allowed?");
    disconnect();
    return error;
  }
  Status status =
      query("SELECT @@innodb_flush_log_at_trx_commit", "cannot read innodb_flush_log_at_trx_commit");
  if (status.ok()) {
    ResultSet result(mysql_store_result(connection_));
    MYSQL_ROW row = result ? mysql_fetch_row(result.get()) : nullptr;
    const std::string value = row != nullptr && row[0] != nullptr ? row[0] : "";
    if (value != "1") {
      status = failure(
          Errc::kFailedPrecondition,
          "the server does not flush its log at every commit (innodb_flush_log_at_trx_commit=" + value +
              "); start it with --innodb-flush-log-at-trx-commit=1 or run SET GLOBAL "
              "innodb_flush_log_at_trx_commit=1");
    }
  }
  // Create the database and table only when missing: a user without CREATE rights can use existing ones.
  if (status.ok() && mysql_select_db(connection_, options_.database.c_str()) != 0) {
    status = query("CREATE DATABASE IF NOT EXISTS `" + options_.database + "`", "cannot create the database");
    if (status.ok() && mysql_select_db(connection_, options_.database.c_str()) != 0) {
      status = failure(Errc::kStorageFailure, "cannot use the database");
    }
  }
  std::string engine;
  if (status.ok()) status = table_engine(engine);
  if (status.ok() && engine.empty()) {
    status = query(
        "CREATE TABLE IF NOT EXISTS tandem_kv (node VARBINARY(64) NOT NULL, k VARBINARY(3000) NOT NULL, "
        "v LONGBLOB NOT NULL, PRIMARY KEY (node, k)) ENGINE=InnoDB",
        "cannot create table tandem_kv");
    if (status.ok()) status = table_engine(engine);
  }
  // A table someone made with another engine (MyISAM) would make a batch neither atomic nor durable.
  if (status.ok() && engine != "InnoDB") {
    status = failure(Errc::kFailedPrecondition, "table tandem_kv uses engine '" + engine +
                                                    "', which has no durable transactions; run ALTER TABLE "
                                                    "tandem_kv ENGINE=InnoDB");
  }
  if (!status.ok()) disconnect();
  return status;
}

Status MariaDbStorage::table_engine(std::string& engine) {
  Status status = query(
      "SELECT ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = "
      "'tandem_kv'",
      "cannot read the engine of table tandem_kv");
  if (!status.ok()) return status;
  ResultSet result(mysql_store_result(connection_));
  MYSQL_ROW row = result ? mysql_fetch_row(result.get()) : nullptr;
  engine = row != nullptr && row[0] != nullptr ? row[0] : "";
  return {};
}

Status MariaDbStorage::load() {
  if (Status status = query("SELECT k, v FROM tandem_kv WHERE node = " + hex_literal(options_.node),
                            "cannot read table tandem_kv");
      !status.ok()) {
    return status;
  }
  ResultSet result(mysql_use_result(connection_));
  if (result == nullptr) return failure(Errc::kStorageFailure, "cannot read table tandem_kv");
  while (MYSQL_ROW row = mysql_fetch_row(result.get())) {
    const unsigned long* lengths = mysql_fetch_lengths(result.get());
    entries().insert_or_assign(std::string(row[0], lengths[0]), Bytes(row[1], lengths[1]));
  }
  if (mysql_errno(connection_) != 0)
    return failure(Errc::kStorageFailure, "reading table tandem_kv broke off");
  return {};
}

Status MariaDbStorage::try_write(const Batch& batch) {
  if (connection_ == nullptr) {
    if (Status connected = connect(); !connected.ok()) return connected;
  }
  const std::string node = hex_literal(options_.node);
  // Multi-row statements, each at most kMaxStatementBytes (a single larger row goes alone): a few round trips
  // per batch instead of one per key.
  std::string upserts;
  std::string deletes;
  Status status = query("START TRANSACTION", "cannot start a transaction");
  auto flush = [&](std::string& statement, std::string_view closing, std::string_view what) {
    if (status.ok() && !statement.empty()) status = query(statement.append(closing), what);
    statement.clear();
  };
  for (auto it = batch.begin(); status.ok() && it != batch.end(); ++it) {
    const auto& [key, value] = *it;
    if (key.size() > kMaxKeyBytes) {
      status = failure(Errc::kStorageFailure,
                       "a key of " + std::to_string(key.size()) + " bytes is longer than the " +
                           std::to_string(kMaxKeyBytes) + " bytes MariaDB can index; use shorter keys");
      break;
    }
    std::string& statement = value ? upserts : deletes;
    const std::string item =
        value ? "(" + node + ", " + hex_literal(key) + ", " + hex_literal(*value) + ")" : hex_literal(key);
    if (!statement.empty() && statement.size() + item.size() > kMaxStatementBytes) {
      if (value) flush(upserts, "", "cannot write keys");
      if (!value) flush(deletes, ")", "cannot delete keys");
    }
    if (statement.empty()) {
      statement = value ? "REPLACE INTO tandem_kv (node, k, v) VALUES "
                        : "DELETE FROM tandem_kv WHERE node = " + node + " AND k IN (";
    } else {
      statement += ", ";
    }
    statement += item;
  }
  flush(upserts, "", "cannot write keys");
  flush(deletes, ")", "cannot delete keys");
  if (status.ok()) status = query("COMMIT", "cannot commit the batch");
  // Whatever failed, start over on a fresh connection; the server rolls back the open transaction.
  if (!status.ok()) disconnect();
  return status;
}

Status MariaDbStorage::write_batch(const Batch& batch) {
  Status status;
  for (int attempt = 0; attempt < kSyncAttempts; ++attempt) {
    status = try_write(batch);
    if (status.ok()) return status;
  }
  return make_error(Errc::kStorageFailure, status.error().message);
}

}  // namespace tandem::real
