// SqliteStorage and open_storage("sqlite:..."): the Storage contract, durability across a SIGKILL of the
// owning process, and a RapidCheck property over random put/erase/sync/reopen sequences against a model.
#include <rapidcheck.h>
#include <rapidcheck/catch.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <string>

#include "real_backend/storage/batched_storage.h"
#include "real_backend/storage/storage_config.h"
#include "tests/real/support/storage_contract.h"
#include "tests/real/support/storage_model_property.h"
#include "tests/real/support/temp_dir.h"

namespace tandem::real {
namespace {

using testing::run_sync;
using testing::TempDir;

std::unique_ptr<Storage> open_or_fail(const std::string& spec, const std::string& node) {
  auto opened = open_storage(spec, node);
  INFO((opened.ok() ? std::string() : opened.error().to_string()));
  REQUIRE(opened.ok());
  return std::move(opened).value();
}

TEST_CASE("SqliteStorage: storage contract (scan order, binary keys, 1 MB values, sync then reopen)") {
  TempDir dir("sqlite");
  const std::string spec = "sqlite:" + dir.path() + "/stores";  // the directory is created on first open
  testing::check_storage_contract([&] { return open_or_fail(spec, "node-1"); });
  CHECK(std::filesystem::exists(dir.path() + "/stores/node-1.db"));

  // Another node in the same directory has a store of its own.
  std::unique_ptr<Storage> other = open_or_fail(spec, "node-2");
  CHECK(other->scan("").empty());
}

TEST_CASE("SqliteStorage: a process killed by SIGKILL keeps every synced write (50 keys in 5 syncs)") {
  TempDir dir("sqlite-kill");
  const std::string spec = "sqlite:" + dir.path();
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The child must not return into Catch: it writes, syncs, and is killed with a write still pending.
    auto opened = open_storage(spec, "victim");
    if (!opened.ok()) _exit(2);
    Storage& store = *opened.value();
    for (int batch = 0; batch < 5; ++batch) {
      for (int i = 0; i < 10; ++i) {
        const int n = batch * 10 + i;
        store.put("key-" + std::to_string(n), testing::binary_bytes(100 + n, n));
      }
      if (!run_sync(store).ok()) _exit(3);
    }
    store.put("pending", "never synced");
    raise(SIGKILL);
    _exit(4);
  }
  int wait_status = 0;
  REQUIRE(waitpid(child, &wait_status, 0) == child);
  REQUIRE(WIFSIGNALED(wait_status));
  CHECK(WTERMSIG(wait_status) == SIGKILL);
  std::unique_ptr<Storage> store = open_or_fail(spec, "victim");
  CHECK(testing::count_acknowledged(*store, "key-", 50) == 50);
  CHECK(!store->get("pending").has_value());
}

TEST_CASE(
    "SqliteStorage: a sync that cannot get the write lock fails with kStorageFailure and keeps its batch") {
  TempDir dir("sqlite-locked");
  const std::string spec = "sqlite:" + dir.path();
  std::unique_ptr<Storage> store = open_or_fail(spec, "n");
  store->put("a", "1");
  REQUIRE(run_sync(*store).ok());

  // Another connection takes the write lock and keeps it.
  sqlite3* other = nullptr;
  REQUIRE(sqlite3_open((dir.path() + "/n.db").c_str(), &other) == SQLITE_OK);
  REQUIRE(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);
  store->put("b", "2");
  store->erase("a");
  const Status locked = run_sync(*store);
  REQUIRE(!locked.ok());
  CHECK(locked.code() == Errc::kStorageFailure);
  CHECK_THAT(locked.error().message,
             Catch::StartsWith("SQLite database '" + dir.path() +
                               "/n.db': cannot begin a transaction: database is locked"));
  CHECK(dynamic_cast<BatchedStorage&>(*store).pending_size() == 2);

  // The lock goes; the next sync carries the kept batch.
  REQUIRE(sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(other);
  REQUIRE(run_sync(*store).ok());
  store.reset();
  std::unique_ptr<Storage> reopened = open_or_fail(spec, "n");
  CHECK(!reopened->get("a").has_value());
  CHECK(reopened->get("b") == Bytes("2"));
}

TEST_CASE("SqliteStorage: random put, erase, sync and reopen sequences match a model") {
  // On tmpfs when there is one: the property checks logic, and fsyncs there cost nothing.
  TempDir dir("sqlite-model", std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "");
  const std::string spec = "sqlite:" + dir.path();
  rc::prop("the store reads as the model; a reopen reads as the durable model", [&] {
    testing::check_store_model([&](const std::string& node) {
      auto opened = open_storage(spec, node);
      RC_ASSERT(opened.ok());
      return std::move(opened).value();
    });
  });
}

}  // namespace
}  // namespace tandem::real
