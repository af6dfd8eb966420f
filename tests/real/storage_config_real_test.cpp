// open_storage: the spec parser refuses every malformed spec or node name with the exact message.
#include <catch2/catch.hpp>
#include <string>

#include "real_backend/storage/storage_config.h"

namespace tandem::real {
namespace {

std::string refusal(const std::string& spec, const std::string& node = "n1") {
  auto opened = open_storage(spec, node);
  REQUIRE(!opened.ok());
  CHECK(opened.error().code == Errc::kInvalidArgument);
  return opened.error().message;
}

const std::string kForms =
    "; accepted forms: sqlite:/path/to/dir, redis://[[user]:password@]host[:port][/prefix], "
    "mysql://user[:password]@host[:port]/database (or mariadb://...)";

TEST_CASE("open_storage: bad specs are refused with what is wrong and the accepted forms") {
  CHECK(refusal("postgres://x") == "bad storage spec 'postgres://x': unknown scheme" + kForms);
  CHECK(refusal("") == "bad storage spec '': unknown scheme" + kForms);
  CHECK(refusal("sqlite:") == "bad storage spec 'sqlite:': the directory after 'sqlite:' is empty" + kForms);
  CHECK(refusal("redis://") ==
        "bad storage spec 'redis://': expected host[:port] after 'redis://' with a port in 1..65535" +
            kForms);
  CHECK(refusal("redis://127.0.0.1:0") ==
        "bad storage spec 'redis://127.0.0.1:0': expected host[:port] after 'redis://' with a port in "
        "1..65535" +
            kForms);
  CHECK(refusal("redis://127.0.0.1:70000/p") ==
        "bad storage spec 'redis://127.0.0.1:70000/p': expected host[:port] after 'redis://' with a port in "
        "1..65535" +
            kForms);
  CHECK(
      refusal("redis://127.0.0.1:6379/") ==
      "bad storage spec 'redis://127.0.0.1:6379/': the key prefix after '/' is empty (leave out the '/' for "
      "'tandem')" +
          kForms);
  CHECK(refusal("mysql://127.0.0.1:3306/db") ==
        "bad storage spec 'mysql://127.0.0.1:3306/db': the user is missing (expected user[:password]@)" +
            kForms);
  CHECK(refusal("mysql://:pw@127.0.0.1/db") ==
        "bad storage spec 'mysql://:***@127.0.0.1/db': the user before '@' is empty" + kForms);
  CHECK(refusal("mariadb://root@127.0.0.1:3306") ==
        "bad storage spec 'mariadb://root@127.0.0.1:3306': the database is missing (expected /database after "
        "host:port)" +
            kForms);
  CHECK(refusal("mysql://root@127.0.0.1:3306/my-db") ==
        "bad storage spec 'mysql://root@127.0.0.1:3306/my-db': the database name may use only A-Z a-z 0-9 _" +
            kForms);
  CHECK(refusal("mysql://root@127.0.0.1:x/db") ==
        "bad storage spec 'mysql://root@127.0.0.1:x/db': expected host[:port] after '@' with a port in "
        "1..65535" +
            kForms);
}

TEST_CASE("open_storage: a refused spec never shows its password") {
  CHECK(refusal("mysql://root:s3cret@127.0.0.1:3306/my-db") ==
        "bad storage spec 'mysql://root:***@127.0.0.1:3306/my-db': the database name may use only A-Z a-z "
        "0-9 _" +
            kForms);
  CHECK(refusal("mysql://root:s3:c@r:et@127.0.0.1:x/db") ==
        "bad storage spec 'mysql://root:***@127.0.0.1:x/db': expected host[:port] after '@' with a port in "
        "1..65535" +
            kForms);
  CHECK(refusal("redis://:s3cret@/p") ==
        "bad storage spec 'redis://:***@/p': expected host[:port] after 'redis://' with a port in 1..65535" +
            kForms);
  CHECK(refusal("redis://user@127.0.0.1:6379") ==
        "bad storage spec 'redis://user@127.0.0.1:6379': expected [user]:password@ before the host (the "
        "password "
        "is missing)" +
            kForms);
}

TEST_CASE("open_storage: bad node names are refused before any store is touched") {
  const std::string rule = "': use 1 to 64 of the characters A-Z a-z 0-9 - _ . and do not start with '.'";
  CHECK(refusal("sqlite:/nonexistent", "") == "bad storage node name '" + rule);
  CHECK(refusal("sqlite:/nonexistent", "../etc") == "bad storage node name '../etc" + rule);
  CHECK(refusal("sqlite:/nonexistent", "a/b") == "bad storage node name 'a/b" + rule);
  CHECK(refusal("sqlite:/nonexistent", std::string(65, 'n')) ==
        "bad storage node name '" + std::string(65, 'n') + rule);
}

TEST_CASE("open_storage: an unreachable server fails with kStorageFailure naming it") {
  // Port 1 on loopback: nothing listens there, so the connection is refused at once.
  auto redis = open_storage("redis://127.0.0.1:1", "n1");
  REQUIRE(!redis.ok());
  CHECK(redis.error().code == Errc::kStorageFailure);
  CHECK_THAT(redis.error().message, Catch::StartsWith("Redis 127.0.0.1:1 hash 'tandem:n1': cannot connect"));
  auto mariadb = open_storage("mysql://root@127.0.0.1:1/tandem", "n1");
  REQUIRE(!mariadb.ok());
  CHECK(mariadb.error().code == Errc::kStorageFailure);
  CHECK_THAT(mariadb.error().message,
             Catch::StartsWith("MariaDB 127.0.0.1:1 database 'tandem' node 'n1': cannot connect"));
}

}  // namespace
}  // namespace tandem::real
