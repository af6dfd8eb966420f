// Checks shared by the tests of the server-backed stores (Redis, MariaDB), generic over the server fixture
// (RedisServer, MariaDbServer: kill(), start(), restart(), spec()).
#pragma once

#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "core/env/storage.h"
#include "real_backend/storage/batched_storage.h"
#include "real_backend/storage/storage_config.h"
#include "tests/real/support/storage_contract.h"

namespace tandem::testing {

inline std::unique_ptr<Storage> open_or_fail(const std::string& spec, const std::string& node) {
  auto opened = real::open_storage(spec, node);
  INFO((opened.ok() ? std::string() : opened.error().to_string()));
  REQUIRE(opened.ok());
  return std::move(opened).value();
}

inline size_t pending_size(Storage& store) {
  auto* batched = dynamic_cast<real::BatchedStorage*>(&store);
  REQUIRE(batched != nullptr);
  return batched->pending_size();
}

// kill -9 of the server keeps every acknowledged write: `batches` syncs of 10 keys, a kill and restart, then
// both the old store (which must reconnect) and a reopened one see all of them. Then a sync while the server
// is down fails with kStorageFailure, keeps its batch, and succeeds once the server is back.
template <typename Server>
void check_server_restarts(Server& server, size_t batches) {
  const std::string spec = server.spec();
  const size_t acknowledged = batches * 10;
  std::unique_ptr<Storage> store = open_or_fail(spec, "survivor");
  write_acknowledged(*store, "key-", batches, 10);
  store->put("unsynced", "may be lost");

  server.restart();  // SIGKILL, then start on the same port and data
  {
    std::unique_ptr<Storage> reopened = open_or_fail(spec, "survivor");
    CHECK(count_acknowledged(*reopened, "key-", acknowledged) == acknowledged);
  }
  // The old store's connection died with the server: its next sync reconnects and carries the pending write.
  store->put("after-restart", "1");
  REQUIRE(run_sync(*store).ok());

  server.kill();
  store->put("while-down", "2");
  store->erase("key-0");
  const Status down = run_sync(*store);
  REQUIRE(!down.ok());
  CHECK(down.code() == Errc::kStorageFailure);
  INFO(down.error().message);
  CHECK(pending_size(*store) == 2);
  CHECK(store->get("while-down") == Bytes("2"));  // still visible to its owner

  server.start();
  REQUIRE(run_sync(*store).ok());
  CHECK(pending_size(*store) == 0);
  store.reset();
  std::unique_ptr<Storage> reopened = open_or_fail(spec, "survivor");
  CHECK(reopened->get("unsynced") == Bytes("may be lost"));  // it was in the batch the later syncs sent
  CHECK(reopened->get("after-restart") == Bytes("1"));
  CHECK(reopened->get("while-down") == Bytes("2"));
  CHECK(!reopened->get("key-0").has_value());
  CHECK(count_acknowledged(*reopened, "key-", acknowledged) == acknowledged - 1);
}

}  // namespace tandem::testing
