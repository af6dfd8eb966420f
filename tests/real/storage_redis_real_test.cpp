// RedisStorage against a throwaway redis-server (tests/real/support/redis_server.h): the Storage contract,
// acknowledged writes surviving kill -9 of the server, syncs failing while it is down and succeeding after, a
// server without fsync-always refused, and the model property.
#include <rapidcheck.h>
#include <rapidcheck/catch.h>

#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "real_backend/storage/redis_storage.h"
#include "real_backend/storage/storage_config.h"
#include "tests/real/support/redis_server.h"
#include "tests/real/support/server_store_checks.h"
#include "tests/real/support/storage_model_property.h"

namespace tandem::real {
namespace {

using testing::open_or_fail;
using testing::RedisServer;

TEST_CASE("RedisStorage: storage contract on redis-server (nodes and prefixes share one server)") {
  if (!RedisServer::available()) {
    WARN(RedisServer::kMissingWarning);
    return;
  }
  RedisServer server;
  testing::check_storage_contract([&] { return open_or_fail(server.spec(), "node-1"); });
  CHECK(open_or_fail(server.spec(), "node-2")->scan("").empty());
  CHECK(open_or_fail(server.spec("other-app"), "node-1")->scan("").empty());
}

TEST_CASE(
    "RedisStorage: kill -9 of redis-server keeps all 200 acknowledged writes, syncs fail while it is down") {
  if (!RedisServer::available()) {
    WARN(RedisServer::kMissingWarning);
    return;
  }
  RedisServer server;
  testing::check_server_restarts(server, 20);
}

TEST_CASE("RedisStorage: a server that does not fsync every write is refused at open") {
  if (!RedisServer::available()) {
    WARN(RedisServer::kMissingWarning);
    return;
  }
  RedisServer server;
  REQUIRE(testing::probe_loopback(server.port(), "CONFIG SET appendfsync everysec\r\n").starts_with("+OK"));
  auto opened = open_storage(server.spec(), "n1");
  REQUIRE(!opened.ok());
  CHECK(opened.error().code == Errc::kFailedPrecondition);
  CHECK(opened.error().message == "Redis 127.0.0.1:" + std::to_string(server.port()) +
                                      " hash 'tandem:n1': the server does not fsync every write "
                                      "(appendonly='yes', appendfsync='everysec'); "
                                      "start redis-server with --appendonly yes --appendfsync always, or run "
                                      "CONFIG SET appendonly yes and "
                                      "CONFIG SET appendfsync always");
  REQUIRE(testing::probe_loopback(server.port(), "CONFIG SET appendfsync always\r\n").starts_with("+OK"));
  CHECK(open_storage(server.spec(), "n1").ok());
}

TEST_CASE("RedisStorage: a server with a password is opened with it and refused without it") {
  if (!RedisServer::available()) {
    WARN(RedisServer::kMissingWarning);
    return;
  }
  RedisServer server;
  REQUIRE(testing::probe_loopback(server.port(), "CONFIG SET requirepass s3cret\r\n").starts_with("+OK"));
  const std::string address = "127.0.0.1:" + std::to_string(server.port());
  const std::string where = "Redis " + address + " hash 'tandem:n1': ";

  auto without = open_storage("redis://" + address, "n1");
  REQUIRE(!without.ok());
  CHECK(without.error().code == Errc::kStorageFailure);
  CHECK(without.error().message == where +
                                       "cannot read the server's appendonly setting (NOAUTH Authentication "
                                       "required.); a server with a password needs it in the spec: "
                                       "redis://[user]:password@host[:port][/prefix]");
  auto wrong = open_storage("redis://:wrong@" + address, "n1");
  REQUIRE(!wrong.ok());
  CHECK_THAT(wrong.error().message, Catch::StartsWith(where + "authentication failed ("));
  CHECK(wrong.error().message.find("wrong") == std::string::npos);

  std::unique_ptr<Storage> store = open_or_fail("redis://:s3cret@" + address, "n1");
  store->put("k", "v");
  REQUIRE(testing::run_sync(*store).ok());
  // Redis 6 ACL form: user "default" with the same password.
  CHECK(open_or_fail("redis://default:s3cret@" + address, "n1")->get("k") == Bytes("v"));
}

TEST_CASE(
    "RedisStorage: a sync against a paused (SIGSTOP) server times out with kStorageFailure, then recovers") {
  if (!RedisServer::available()) {
    WARN(RedisServer::kMissingWarning);
    return;
  }
  RedisServer server;
  // Short timeouts so the test is quick; the defaults (kCommandTimeoutMs) behave the same, only slower.
  RedisStorage::Options options;
  options.port = server.port();
  options.hash_key = "tandem:paused";
  options.connect_timeout_ms = 300;
  options.command_timeout_ms = 300;
  auto opened = RedisStorage::open(options);
  REQUIRE(opened.ok());
  RedisStorage& store = *opened.value();
  store.put("before", "1");
  REQUIRE(testing::run_sync(store).ok());

  server.pause();
  store.put("during", "2");
  const Status paused = testing::run_sync(store);
  server.resume();
  REQUIRE(!paused.ok());
  CHECK(paused.code() == Errc::kStorageFailure);
  INFO(paused.error().message);
  CHECK(store.pending_size() == 1);
  REQUIRE(testing::run_sync(store).ok());
  CHECK(store.pending_size() == 0);
  CHECK(open_or_fail(server.spec(), "paused")->get("during") == Bytes("2"));
}

TEST_CASE("RedisStorage: random put, erase, sync and reopen sequences match a model") {
  if (!RedisServer::available()) {
    WARN(RedisServer::kMissingWarning);
    return;
  }
  RedisServer server;
  rc::prop("the store reads as the model; a reopen reads as the durable model", [&] {
    testing::check_store_model([&](const std::string& node) {
      auto opened = open_storage(server.spec(), node);
      RC_ASSERT(opened.ok());
      return std::move(opened).value();
    });
  });
}

}  // namespace
}  // namespace tandem::real
