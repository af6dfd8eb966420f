// tandem_real_storage_bench: syncs per second of a 10-key batch (100-byte values) on each real store, on this
// machine's disk. SQLite writes a file in a temp dir; Redis and MariaDB are throwaway servers started the way
// the tests start them (tests/real/support/), so the figure includes loopback round trips and each server's
// fsync per commit. Timed in wall-clock time (the work is waiting on fsync, not CPU). A store whose server is
// not installed is skipped with a message.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "real_backend/storage/batched_storage.h"
#include "real_backend/storage/storage_config.h"
#include "tests/real/support/mariadb_server.h"
#include "tests/real/support/redis_server.h"
#include "tests/real/support/temp_dir.h"

namespace {

using tandem::Storage;
using tandem::real::BatchedStorage;

constexpr int kBatchKeys = 10;
constexpr size_t kValueBytes = 100;

void run_syncs(benchmark::State& state, const std::string& spec) {
  auto opened = tandem::real::open_storage(spec, "bench");
  if (!opened.ok()) {
    state.SkipWithError(opened.error().to_string().c_str());
    return;
  }
  auto* store = dynamic_cast<BatchedStorage*>(opened.value().get());
  const std::string value(kValueBytes, 'v');
  int64_t round = 0;
  for (auto _ : state) {
    for (int i = 0; i < kBatchKeys; ++i)
      store->put("key-" + std::to_string(i), value + std::to_string(round));
    const tandem::Status status = store->sync_now();
    if (!status.ok()) {
      state.SkipWithError(status.error().to_string().c_str());
      return;
    }
    ++round;
  }
  state.counters["syncs_per_s"] = benchmark::Counter(static_cast<double>(round), benchmark::Counter::kIsRate);
}

void BM_SqliteSync10Keys(benchmark::State& state) {
  static tandem::testing::TempDir dir("bench-sqlite");
  run_syncs(state, "sqlite:" + dir.path());
}

void BM_RedisSync10Keys(benchmark::State& state) {
  if (!tandem::testing::RedisServer::available()) {
    state.SkipWithError(tandem::testing::RedisServer::kMissingWarning);
    return;
  }
  static tandem::testing::RedisServer server;
  run_syncs(state, server.spec());
}

void BM_MariaDbSync10Keys(benchmark::State& state) {
  if (!tandem::testing::MariaDbServer::available()) {
    state.SkipWithError(tandem::testing::MariaDbServer::kMissingWarning);
    return;
  }
  static tandem::testing::MariaDbServer server;
  run_syncs(state, server.spec());
}

BENCHMARK(BM_SqliteSync10Keys)->Unit(benchmark::kMicrosecond)->MinTime(2.0)->UseRealTime();
BENCHMARK(BM_RedisSync10Keys)->Unit(benchmark::kMicrosecond)->MinTime(2.0)->UseRealTime();
BENCHMARK(BM_MariaDbSync10Keys)->Unit(benchmark::kMicrosecond)->MinTime(2.0)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
