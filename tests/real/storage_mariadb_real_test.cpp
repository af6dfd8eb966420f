// MariaDbStorage against a throwaway mariadbd (tests/real/support/mariadb_server.h): the Storage contract,
// acknowledged writes surviving kill -9 of the server, syncs failing while it is down and succeeding after, a
// server without innodb_flush_log_at_trx_commit=1 refused, and the model property.
#include <rapidcheck.h>
#include <rapidcheck/catch.h>

#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "real_backend/storage/mariadb_storage.h"
#include "real_backend/storage/storage_config.h"
#include "tests/real/support/mariadb_server.h"
#include "tests/real/support/server_store_checks.h"
#include "tests/real/support/storage_model_property.h"

namespace tandem::real {
namespace {

using testing::MariaDbServer;
using testing::open_or_fail;

TEST_CASE("MariaDbStorage: storage contract on mariadbd (nodes and databases share one server)") {
  if (!MariaDbServer::available()) {
    WARN(MariaDbServer::kMissingWarning);
    return;
  }
  MariaDbServer server;
  testing::check_storage_contract([&] { return open_or_fail(server.spec(), "node-1"); });
  CHECK(open_or_fail(server.spec(), "node-2")->scan("").empty());
  CHECK(open_or_fail(server.spec("other_app"), "node-1")->scan("").empty());
  // mariadb:// is the same store as mysql://.
  const std::string mariadb_spec = "mariadb://" + server.spec().substr(std::string("mysql://").size());
  CHECK(open_or_fail(mariadb_spec, "node-1")->get("b") == Bytes("two"));

  // A batch larger than one statement (6 values of 1 MB, hex-encoded 12 MB) is split, and still one commit.
  {
    std::unique_ptr<Storage> store = open_or_fail(server.spec(), "node-3");
    for (unsigned i = 0; i < 6; ++i)
      store->put("big-" + std::to_string(i), testing::binary_bytes(1 << 20, i));
    for (unsigned i = 0; i < 3; ++i) store->erase("big-" + std::to_string(i));
    REQUIRE(testing::run_sync(*store).ok());
  }
  std::unique_ptr<Storage> reopened = open_or_fail(server.spec(), "node-3");
  CHECK(testing::keys_of(reopened->scan("big-")) == std::vector<std::string>{"big-3", "big-4", "big-5"});
  CHECK(reopened->get("big-5") == testing::binary_bytes(1 << 20, 5));
}

TEST_CASE(
    "MariaDbStorage: kill -9 of mariadbd keeps all 200 acknowledged writes, syncs fail while it is down") {
  if (!MariaDbServer::available()) {
    WARN(MariaDbServer::kMissingWarning);
    return;
  }
  MariaDbServer server;
  testing::check_server_restarts(server, 20);
}

TEST_CASE(
    "MariaDbStorage: a server that does not flush its log at every commit, or a MyISAM table, is refused at "
    "open") {
  if (!MariaDbServer::available()) {
    WARN(MariaDbServer::kMissingWarning);
    return;
  }
  MariaDbServer server;
  server.run_sql("SET GLOBAL innodb_flush_log_at_trx_commit=2");
  auto opened = open_storage(server.spec(), "n1");
  REQUIRE(!opened.ok());
  CHECK(opened.error().code == Errc::kFailedPrecondition);
  CHECK(opened.error().message ==
        "MariaDB 127.0.0.1:" + std::to_string(server.port()) +
            " database 'tandem' node 'n1': the server does not flush its log at every commit "
            "(innodb_flush_log_at_trx_commit=2); start it with --innodb-flush-log-at-trx-commit=1 or run SET "
            "GLOBAL "
            "innodb_flush_log_at_trx_commit=1");
  server.run_sql("SET GLOBAL innodb_flush_log_at_trx_commit=1");
  CHECK(open_storage(server.spec(), "n1").ok());

  // A table without durable transactions is refused too.
  server.run_sql(
      "DROP TABLE tandem.tandem_kv; CREATE TABLE tandem.tandem_kv (node VARBINARY(64) NOT NULL, k "
      "VARBINARY(900) "
      "NOT NULL, v LONGBLOB NOT NULL, PRIMARY KEY (node, k)) ENGINE=MyISAM");
  auto myisam = open_storage(server.spec(), "n1");
  REQUIRE(!myisam.ok());
  CHECK(myisam.error().code == Errc::kFailedPrecondition);
  CHECK_THAT(myisam.error().message,
             Catch::EndsWith("table tandem_kv uses engine 'MyISAM', which has no durable "
                             "transactions; run ALTER TABLE tandem_kv ENGINE=InnoDB"));
}

TEST_CASE(
    "MariaDbStorage: a sync against a paused (SIGSTOP) server times out with kStorageFailure, then "
    "recovers") {
  if (!MariaDbServer::available()) {
    WARN(MariaDbServer::kMissingWarning);
    return;
  }
  MariaDbServer server;
  // Short timeouts (libmariadb's least: 1 s) so the test is quick; the defaults behave the same, only slower.
  MariaDbStorage::Options options;
  options.port = server.port();
  options.user = "root";
  options.database = "tandem";
  options.node = "paused";
  options.connect_timeout_s = 1;
  options.command_timeout_s = 1;
  auto opened = MariaDbStorage::open(options);
  REQUIRE(opened.ok());
  MariaDbStorage& store = *opened.value();
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

TEST_CASE("MariaDbStorage: random put, erase, sync and reopen sequences match a model") {
  if (!MariaDbServer::available()) {
    WARN(MariaDbServer::kMissingWarning);
    return;
  }
  MariaDbServer server;
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
