// A member's own faults on the real world: clock_skew (the loop's clock as core code reads it, and its timers)
// and storage_failure (FailingStorage around a real SQLite store), set in-process and through the Admin gRPC
// service exactly as `tandem run --world real` sets them on member processes.
#include <catch2/catch.hpp>

#include <filesystem>

#include "core/async/scope.h"
#include "core/async/sleep.h"
#include "real_backend/net/admin_client.h"
#include "real_backend/net/event_loop.h"
#include "real_backend/storage/failing_storage.h"
#include "real_backend/storage/sqlite_storage.h"
#include "tests/real/net_test_support.h"
#include "tests/real/support/run_sync.h"
#include "tests/real/support/temp_dir.h"

namespace tandem::real {
namespace {

using namespace std::chrono_literals;

// Two clock reads a few instructions apart: equal to `want` up to the time between them.
bool near(Duration got, Duration want) { return got - want < 50ms && want - got < 50ms; }

TEST_CASE("clock_skew: the loop's clock reads real time + skew, timers set before and after keep firing") {
  EventLoop loop;
  Clock& clock = loop.clock();
  CHECK(near(clock.now() - loop.now(), 0s));

  // A sleep taken before the skew: the skew moves what the clock reads, not when the sleep ends.
  Scope scope;
  TimePoint before_woke{};
  TimePoint after_woke{};
  const TimePoint start = loop.now();
  scope.spawn([](Clock& c, EventLoop& l, TimePoint& woke) -> Task<void> {
    co_await sleep(c, 100ms);
    woke = l.now();
  }(clock, loop, before_woke));

  loop.set_clock_skew(5s);
  CHECK(loop.clock_skew() == 5s);
  CHECK(near(clock.now() - loop.now(), 5s));
  // A sleep taken under the skew lasts its own length too (its deadline is on the skewed clock).
  scope.spawn([](Clock& c, EventLoop& l, TimePoint& woke) -> Task<void> {
    co_await sleep(c, 100ms);
    woke = l.now();
  }(clock, loop, after_woke));
  REQUIRE(loop.run_until([&] { return before_woke != TimePoint{} && after_woke != TimePoint{}; }, 5s));
  CHECK(before_woke - start >= 100ms);
  CHECK(before_woke - start < 2s);  // not pushed back by 5 s
  CHECK(after_woke - start >= 100ms);
  CHECK(after_woke - start < 2s);   // not fired at once either

  // A negative skew, then the heal: the clock reads real time again.
  loop.set_clock_skew(-3s);
  CHECK(near(clock.now() - loop.now(), -3s));
  loop.set_clock_skew(0s);
  CHECK(near(clock.now() - loop.now(), 0s));
}

TEST_CASE("storage_failure: syncs fail while failing, nothing acknowledged is lost, the heal syncs the rest") {
  tandem::testing::TempDir dir("member-faults");
  const std::string path = dir.path() + "/head.db";
  auto fault = std::make_shared<StorageFaultSwitch>();
  {
    Result<std::unique_ptr<SqliteStorage>> opened = SqliteStorage::open(path);
    REQUIRE(opened.ok());
    FailingStorage store(std::move(opened).value(), fault);
    store.put("acked", "1");
    REQUIRE(tandem::testing::run_sync(store).ok());  // acknowledged before the fault

    fault->failing = true;
    store.put("during", "2");
    store.erase("acked-later");
    const Status failed = tandem::testing::run_sync(store);
    REQUIRE_FALSE(failed.ok());
    CHECK(failed.code() == Errc::kStorageFailure);
    CHECK_THAT(failed.error().message, Catch::Contains("storage_failure"));
    CHECK(fault->failed_syncs == 1);
    CHECK(store.get("during") == Bytes("2"));  // reads and volatile writes keep working
    CHECK(static_cast<BatchedStorage&>(store.store()).pending_size() == 2);  // kept for the next sync

    fault->failing = false;  // healed: the next sync makes the batch durable
    REQUIRE(tandem::testing::run_sync(store).ok());
    CHECK(static_cast<BatchedStorage&>(store.store()).pending_size() == 0);
  }
  // Reopened (a restart): the write acknowledged before the fault and the one synced after the heal are there.
  Result<std::unique_ptr<SqliteStorage>> reopened = SqliteStorage::open(path);
  REQUIRE(reopened.ok());
  CHECK(reopened.value()->get("acked") == Bytes("1"));
  CHECK(reopened.value()->get("during") == Bytes("2"));
}

TEST_CASE("Admin: SetClockSkew and SetStorageFailing reach the member's clock and store, token-checked") {
  TransportOptions options;
  options.auth_token = "secret";
  options.storage_fault = std::make_shared<StorageFaultSwitch>();
  EventLoop loop;
  std::unique_ptr<GrpcTransport> member = testing::started_transport(loop, 1, options);
  const std::string endpoint = testing::local_endpoint(member->port());

  AdminClient wrong(endpoint, "not-the-token");
  Result<MemberFaultState> refused = wrong.set_clock_skew(2s);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.code() == Errc::kFailedPrecondition);
  CHECK(loop.clock_skew() == 0s);

  AdminClient admin(endpoint, "secret");
  Result<MemberFaultState> skewed = admin.set_clock_skew(2s);
  REQUIRE(skewed.ok());
  CHECK(skewed.value().clock_skew == 2s);
  CHECK(near(skewed.value().clock_now - skewed.value().loop_now, 2s));  // the member's clock, as it reported it
  CHECK(near(loop.clock().now() - loop.now(), 2s));
  Result<MemberFaultState> failing = admin.set_storage_failing(true);
  REQUIRE(failing.ok());
  CHECK(failing.value().storage_failing);
  CHECK(options.storage_fault->failing);

  REQUIRE(admin.set_clock_skew(0s).ok());  // heal both
  REQUIRE(admin.set_storage_failing(false).ok());
  Result<MemberFaultState> now = admin.member_faults();
  REQUIRE(now.ok());
  CHECK(now.value().clock_skew == 0s);
  CHECK_FALSE(now.value().storage_failing);
  CHECK(near(loop.clock().now() - loop.now(), 0s));

  // A process with no store switch (a bare transport, like the driver's) refuses a storage fault, saying why.
  EventLoop bare_loop;
  std::unique_ptr<GrpcTransport> bare = testing::started_transport(bare_loop, 2, TransportOptions{});
  Result<MemberFaultState> no_store = AdminClient(testing::local_endpoint(bare->port())).set_storage_failing(true);
  REQUIRE_FALSE(no_store.ok());
  CHECK(no_store.code() == Errc::kFailedPrecondition);
  CHECK_THAT(no_store.error().message, Catch::Contains("no fault switch on a state store"));
}

}  // namespace
}  // namespace tandem::real
