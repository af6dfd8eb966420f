#include "real_backend/storage/redis_storage.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <vector>

namespace tandem::real {
namespace {

struct ReplyDeleter {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

timeval to_timeval(int milliseconds) { return timeval{milliseconds / 1000, (milliseconds % 1000) * 1000}; }

// Runs one command given as binary-safe arguments.
Reply command(redisContext* context, const std::vector<std::string_view>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (const std::string_view arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  return Reply(static_cast<redisReply*>(
      redisCommandArgv(context, static_cast<int>(args.size()), argv.data(), lengths.data())));
}

void append(redisContext* context, const std::vector<std::string_view>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (const std::string_view arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  redisAppendCommandArgv(context, static_cast<int>(args.size()), argv.data(), lengths.data());
}

// The value of a CONFIG GET reply ([name, value]), or "" when there is none.
std::string config_value(const redisReply* reply) {
  if (reply == nullptr || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) return "";
  const redisReply* value = reply->element[1];
  return value->type == REDIS_REPLY_STRING ? std::string(value->str, value->len) : "";
}

}  // namespace

Result<std::unique_ptr<RedisStorage>> RedisStorage::open(Options options) {
  std::unique_ptr<RedisStorage> storage(new RedisStorage(std::move(options)));
  if (Status connected = storage->connect(); !connected.ok()) return connected.error();
  if (Status loaded = storage->load(); !loaded.ok()) return loaded.error();
  return storage;
}

RedisStorage::~RedisStorage() { disconnect(); }

Error RedisStorage::failure(Errc code, std::string_view what) const {
  std::string message =
      "Redis " + options_.host + ":" + std::to_string(options_.port) + " hash '" + options_.hash_key + "': ";
  message += what;
  if (context_ != nullptr && context_->err != 0) message += std::string(": ") + context_->errstr;
  return make_error(code, std::move(message));
}

void RedisStorage::disconnect() {
  if (context_ != nullptr) redisFree(context_);
  context_ = nullptr;
}

Status RedisStorage::connect() {
  disconnect();
  context_ = redisConnectWithTimeout(options_.host.c_str(), options_.port, to_timeval(options_.connect_timeout_ms));
  if (context_ == nullptr || context_->err != 0) {
    Error error = failure(Errc::kStorageFailure, "cannot connect; is redis-server running there?");
    disconnect();
    return error;
  }
  redisSetTimeout(context_, to_timeval(options_.command_timeout_ms));
  if (!options_.password.empty()) {
    Reply auth = options_.user.empty() ? command(context_, {"AUTH", options_.password})
                                       : command(context_, {"AUTH", options_.user, options_.password});
    if (auth == nullptr || auth->type == REDIS_REPLY_ERROR) {
      Error error = failure(Errc::kStorageFailure, "authentication failed (" +
                                                       std::string(auth != nullptr ? auth->str : "no reply") +
                                                       "); check the user and password in the redis:// spec");
      disconnect();
      return error;
    }
  }
  std::string appendonly;
  std::string appendfsync;
  if (Status read = read_config("appendonly", appendonly); !read.ok()) return read;
  if (Status read = read_config("appendfsync", appendfsync); !read.ok()) return read;
  if (appendonly != "yes" || appendfsync != "always") {
    Error error = failure(Errc::kFailedPrecondition,
                          "the server does not fsync every write (appendonly='" + appendonly +
                              "', appendfsync='" + appendfsync +
                              "'); start redis-server with --appendonly yes --appendfsync always, or run "
                              "CONFIG SET appendonly yes and CONFIG SET appendfsync always");
    disconnect();
    return error;
  }
  return {};
}

Status RedisStorage::read_config(const char* name, std::string& value) {
  Reply reply = command(context_, {"CONFIG", "GET", name});
  if (reply != nullptr && reply->type == REDIS_REPLY_ERROR) {
    Error error = failure(Errc::kStorageFailure, std::string("cannot read the server's ") + name +
                                                     " setting (" + reply->str +
                                                     "); a server with a password needs it in the spec: "
                                                     "redis://[user]:password@host[:port][/prefix]");
    disconnect();
    return error;
  }
  if (reply == nullptr) {
    Error error =
        failure(Errc::kStorageFailure, "lost the connection while checking the server's configuration");
    disconnect();
    return error;
  }
  value = config_value(reply.get());
  return {};
}

Status RedisStorage::load() {
  Reply reply = command(context_, {"HGETALL", options_.hash_key});
  if (reply == nullptr) return failure(Errc::kStorageFailure, "HGETALL failed");
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements % 2 != 0) {
    return failure(Errc::kStorageFailure,
                   "the key is not a hash (" +
                       std::string(reply->type == REDIS_REPLY_ERROR ? reply->str : "") +
                       "); pick another prefix in the redis:// spec");
  }
  for (size_t i = 0; i < reply->elements; i += 2) {
    const redisReply* field = reply->element[i];
    const redisReply* value = reply->element[i + 1];
    entries().insert_or_assign(std::string(field->str, field->len), Bytes(value->str, value->len));
  }
  return {};
}

Status RedisStorage::try_write(const Batch& batch) {
  if (context_ == nullptr) {
    if (Status connected = connect(); !connected.ok()) return connected;
  }
  append(context_, {"MULTI"});
  for (const auto& [key, value] : batch) {
    if (value) {
      append(context_, {"HSET", options_.hash_key, key, *value});
    } else {
      append(context_, {"HDEL", options_.hash_key, key});
    }
  }
  append(context_, {"EXEC"});
  // Replies: +OK for MULTI, +QUEUED per command, then EXEC's array. Read them all to keep the stream in step.
  Reply exec;
  for (size_t i = 0; i < batch.size() + 2; ++i) {
    void* raw = nullptr;
    if (redisGetReply(context_, &raw) != REDIS_OK) {
      Error error = failure(Errc::kStorageFailure, "the connection broke during MULTI/EXEC");
      disconnect();
      return error;
    }
    exec.reset(static_cast<redisReply*>(raw));
  }
  if (exec->type != REDIS_REPLY_ARRAY || exec->elements != batch.size()) {
    Error error = failure(Errc::kStorageFailure,
                          "EXEC did not apply the batch (" +
                              std::string(exec->type == REDIS_REPLY_ERROR ? exec->str : "aborted") + ")");
    disconnect();  // start the next attempt from a clean connection
    return error;
  }
  for (size_t i = 0; i < exec->elements; ++i) {
    if (exec->element[i]->type == REDIS_REPLY_ERROR) {
      return failure(Errc::kStorageFailure,
                     "a write in the batch failed: " + std::string(exec->element[i]->str));
    }
  }
  return {};
}

Status RedisStorage::write_batch(const Batch& batch) {
  Status status;
  for (int attempt = 0; attempt < kSyncAttempts; ++attempt) {
    status = try_write(batch);
    if (status.ok()) return status;
  }
  return make_error(Errc::kStorageFailure, status.error().message);
}

}  // namespace tandem::real
