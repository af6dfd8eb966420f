// RedisStorage: a node's Storage in one Redis hash, so many nodes share one redis-server.
//
// Contract:
// - Every entry of the node is a field of the hash `hash_key` (open_storage uses "<prefix>:<node_name>");
//   open() loads the whole hash with HGETALL. With a password, every connection starts with AUTH.
// - Durability: the server must run with `appendonly yes` and `appendfsync always`, so Redis fsyncs its
//   append-only file before it replies to a write. open() (and every reconnect) checks both with CONFIG GET
//   and refuses a server without them (kFailedPrecondition at open, kStorageFailure at a later sync).
// - sync() sends the pending batch as one MULTI / HSET / HDEL / EXEC transaction; an EXEC reply means
//   the batch is applied atomically and on disk.
// - A broken connection (server killed, restarted, timed out) is dropped and a sync reconnects: each sync
//   makes at most kSyncAttempts attempts, reconnecting before each retry. When all fail the sync returns
//   kStorageFailure and the batch stays pending (see batched_storage.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/common/result.h"
#include "real_backend/storage/batched_storage.h"

struct redisContext;

namespace tandem::real {

class RedisStorage final : public BatchedStorage {
 public:
  static constexpr int kSyncAttempts = 2;         // the first may hit a connection the server already closed
  static constexpr int kConnectTimeoutMs = 2000;  // a server that does not accept by then counts as down
  static constexpr int kCommandTimeoutMs = 5000;  // a stopped server fails the sync instead of hanging it

  struct Options {
    std::string host = "127.0.0.1";
    uint16_t port = 6379;
    std::string hash_key;  // the node's hash
    std::string user;      // empty: AUTH with the password alone (requirepass); both empty: no AUTH
    std::string password;
    int connect_timeout_ms = kConnectTimeoutMs;
    int command_timeout_ms = kCommandTimeoutMs;
  };

  static Result<std::unique_ptr<RedisStorage>> open(Options options);
  ~RedisStorage() override;

 protected:
  Status write_batch(const Batch& batch) override;

 private:
  explicit RedisStorage(Options options) : options_(std::move(options)) {}
  Status connect();  // a fresh, authenticated connection whose server is configured for durable writes
  Status read_config(const char* name, std::string& value);
  Status load();
  Status try_write(const Batch& batch);
  void disconnect();
  Error failure(Errc code, std::string_view what) const;  // names the server and the hash

  Options options_;
  redisContext* context_ = nullptr;  // null while disconnected
};

}  // namespace tandem::real
