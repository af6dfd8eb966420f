// The actor runtime on the simulated world: how many actor calls, tasks and actor creations per wall second one
// core drives, and what an idle actor costs in memory. Issue 3's figures; Ray's published ones (real processes,
// bigger machines: 1:1 async actor calls 8,664/s, N:N async 27,376/s, 10,000 actors created at 551/s) are the
// names users know, and the target here is 100 times them.
//
// Set-up: one cluster, a head (control store + daemon, no resources) and `workers` worker nodes with 64 CPUs
// each, every node 250 us from the cluster switch (500 us between two nodes). Calls and tasks carry one int64
// and return it: the runtime's own cost, not the application's. Everything is measured on the steady state:
// actors exist and are ALIVE before timing starts; node failure detection runs as configured by default.
//
//   actor_calls/sync_1to1    one driver calls one actor and awaits each reply before the next call.
//   actor_calls/async_1to1   one driver submits `batch` calls to one actor at once, then awaits them all (Ray's
//                            "1:1 async actor calls": ray.get([a.f.remote() for _ in range(batch)])).
//   actor_calls/async_NtoN   N drivers, one per worker node, each submits batches to its own actor on another
//                            node (Ray's "n:n async actor calls").
//   tasks/async              one driver submits `batch` tasks (1 CPU each) at once, then awaits them all.
//   actors/create            creates `actors` zero-resource actors, waits until every one answered a call.
//
// Counters:
//   calls/s, tasks/s, actors/s   per wall-clock second (the headline figures)
//   cpu_us/op                    thread CPU time per call, task or creation
//   allocs/op                    global operator new calls per operation (bench/allocation_counter.cpp)
//   bytes/actor                  heap growth (as the allocator counts it) per idle actor created, everything included:
//                                the control store's record, the daemon's host and the instance
#include <benchmark/benchmark.h>
#include <time.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "core/metrics/registry.h"
#include "core/runtime/runtime_client.h"
#include "core/runtime/runtime_node.h"
#include "sim/world.h"

namespace tandem::bench {

uint64_t allocation_count();  // bench/allocation_counter.cpp
size_t heap_in_use();         // bench/allocation_counter.cpp

namespace {

using runtime::ActorHandle;
using runtime::RuntimeClient;

double thread_cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

class Echo final : public runtime::Actor {
 public:
  explicit Echo(runtime::ActorContext&) {}
  Task<Result<int64_t>> ping(int64_t x) { co_return x; }
};

Task<Result<int64_t>> echo_task(runtime::TaskContext&, int64_t x) { co_return x; }

// A RuntimeNode and a scope for the benchmark's driver coroutines (declared after: they die first).
class Host final : public sim::NodeProcess {
 public:
  Host(Env& env, const runtime::RuntimeCatalog& catalog, runtime::RuntimeNodeOptions options)
      : node(env, catalog, std::move(options)) {}
  runtime::RuntimeNode node;
  Scope drivers;
};

// Counts finished operations and remembers the first failure.
struct Tally {
  int64_t done = 0;
  std::string error;
  void record(Errc code, const std::string& message) {
    ++done;
    if (code != Errc::kOk && error.empty()) error = message;
  }
};

struct Cluster {
  explicit Cluster(size_t workers) {
    catalog.actor_classes.add<Echo>("Echo").method("ping", &Echo::ping);
    catalog.functions.add("echo", echo_task);
    const sim::RegionId region = world.network().add_region("region");
    sim::LinkSpec switch_link;
    switch_link.latency = sim::LatencyModel::constant(std::chrono::microseconds(1));
    cluster = world.network().add_cluster("cluster", region, switch_link);
    head = add_node("head", true, {});
    for (size_t i = 0; i < workers; ++i) {
      this->workers.push_back(add_node("w" + std::to_string(i), false, runtime::ResourceSet{{"CPU", 64}}));
    }
    run_until([&] { return alive_nodes() == workers + 1; });
  }

  NodeId add_node(const std::string& name, bool is_head, runtime::ResourceSet resources) {
    runtime::RuntimeNodeOptions options;
    options.head = is_head ? kNoNode : head;
    options.run_control_store = is_head;
    options.control_store.metrics = &metrics;
    options.daemon.resources = std::move(resources);
    options.daemon.metrics = &metrics;
    sim::LinkSpec uplink;
    uplink.latency = sim::LatencyModel::constant(std::chrono::microseconds(250));
    const runtime::RuntimeCatalog* catalog_pointer = &catalog;
    return world.add_node(name, cluster, uplink, [catalog_pointer, options](Env& env) {
      return std::make_unique<Host>(env, *catalog_pointer, options);
    });
  }

  Host& host(NodeId node) { return *static_cast<Host*>(world.process(node)); }
  RuntimeClient& client(NodeId node) { return host(node).node.client(); }

  size_t alive_nodes() {
    size_t alive = 0;
    for (const runtime::NodeInfo& info : host(head).node.control_store()->nodes()) alive += info.alive ? 1 : 0;
    return alive;
  }

  template <typename Done>
  void run_until(Done done) {
    while (!done()) {
      if (!world.step()) break;
    }
  }

  // Creates one Echo actor on `node` (by node affinity) and waits until it answered a call.
  ActorHandle echo_on(NodeId node, NodeId caller) {
    runtime::ActorOptions options;
    options.node_affinity = runtime::NodeAffinity{node, false};
    Tally tally;
    std::optional<ActorHandle> handle;
    host(caller).drivers.spawn(create_and_ping(client(caller), options, &handle, &tally));
    run_until([&] { return tally.done == 1; });
    TANDEM_CHECK(tally.error.empty() && handle, "could not create the benchmark's echo actor");
    return *handle;
  }

  static Task<void> create_and_ping(RuntimeClient& client, runtime::ActorOptions options,
                                    std::optional<ActorHandle>* out, Tally* tally) {
    Result<ActorHandle> made = co_await client.create_actor("Echo", options);
    if (!made.ok()) {
      tally->record(made.code(), made.error().to_string());
      co_return;
    }
    *out = made.value();
    Result<int64_t> pong = co_await made.value().call<int64_t>("ping", int64_t{1});
    tally->record(pong.code(), pong.ok() ? std::string() : pong.error().to_string());
  }

  sim::World world;
  runtime::RuntimeCatalog catalog;
  metrics::MetricsRegistry metrics;
  sim::ClusterId cluster = 0;
  NodeId head = kNoNode;
  std::vector<NodeId> workers;
};

Task<void> call_sequentially(ActorHandle actor, int64_t calls, Tally* tally) {
  for (int64_t i = 0; i < calls; ++i) {
    Result<int64_t> reply = co_await actor.call<int64_t>("ping", i);
    tally->record(reply.code(), reply.ok() ? std::string() : reply.error().to_string());
  }
}

Task<void> call_once(ActorHandle actor, int64_t i, Tally* tally) {
  auto call = actor.start<int64_t>(runtime::CallOptions{}, "ping", i);
  Result<int64_t> reply = co_await call;
  tally->record(reply.code(), reply.ok() ? std::string() : reply.error().to_string());
}

Task<void> submit_once(RuntimeClient& client, int64_t i, Tally* tally) {
  const runtime::TaskOptions options;  // a local: GCC 12 miscompiles the temporary inside co_await
  Result<int64_t> reply = co_await client.submit<int64_t>("echo", options, i);
  tally->record(reply.code(), reply.ok() ? std::string() : reply.error().to_string());
}

// Runs `iteration()` once per benchmark iteration (it returns how many operations it completed) and sets the
// rate counters under `rate_name`.
template <typename Iteration>
void measure(benchmark::State& state, const char* rate_name, Iteration iteration) {
  int64_t operations = 0;
  const uint64_t start_allocations = allocation_count();
  const double start_cpu_s = thread_cpu_seconds();
  for (auto _ : state) operations += iteration();
  const double cpu_s = thread_cpu_seconds() - start_cpu_s;
  const double ops = static_cast<double>(operations);
  state.counters[rate_name] = benchmark::Counter(ops, benchmark::Counter::kIsRate);
  state.counters["cpu_us/op"] = ops > 0 ? cpu_s * 1e6 / ops : 0;
  state.counters["allocs/op"] = ops > 0 ? static_cast<double>(allocation_count() - start_allocations) / ops : 0;
}

void fail_on(benchmark::State& state, const Tally& tally) {
  if (!tally.error.empty()) state.SkipWithError(tally.error.c_str());
}

void BM_ActorCallsSync1to1(benchmark::State& state) {
  Cluster cluster(2);
  const ActorHandle actor = cluster.echo_on(cluster.workers[1], cluster.workers[0]);
  const int64_t calls = state.range(0);
  Tally tally;
  measure(state, "calls/s", [&] {
    const int64_t target = tally.done + calls;
    cluster.host(cluster.workers[0]).drivers.spawn(call_sequentially(actor, calls, &tally));
    cluster.run_until([&] { return tally.done >= target; });
    return calls;
  });
  fail_on(state, tally);
}

void BM_ActorCallsAsync1to1(benchmark::State& state) {
  Cluster cluster(2);
  const ActorHandle actor = cluster.echo_on(cluster.workers[1], cluster.workers[0]);
  const int64_t batch = state.range(0);
  Tally tally;
  Scope& drivers = cluster.host(cluster.workers[0]).drivers;
  measure(state, "calls/s", [&] {
    const int64_t target = tally.done + batch;
    for (int64_t i = 0; i < batch; ++i) drivers.spawn(call_once(actor, i, &tally));
    cluster.run_until([&] { return tally.done >= target; });
    return batch;
  });
  fail_on(state, tally);
}

void BM_ActorCallsAsyncNtoN(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const int64_t batch = state.range(1);
  Cluster cluster(n);
  std::vector<ActorHandle> actors;
  for (size_t i = 0; i < n; ++i) actors.push_back(cluster.echo_on(cluster.workers[(i + 1) % n], cluster.workers[i]));
  Tally tally;
  measure(state, "calls/s", [&] {
    const int64_t target = tally.done + batch * static_cast<int64_t>(n);
    for (size_t caller = 0; caller < n; ++caller) {
      Scope& drivers = cluster.host(cluster.workers[caller]).drivers;
      for (int64_t i = 0; i < batch; ++i) drivers.spawn(call_once(actors[caller], i, &tally));
    }
    cluster.run_until([&] { return tally.done >= target; });
    return batch * static_cast<int64_t>(n);
  });
  fail_on(state, tally);
}

void BM_TasksAsync(benchmark::State& state) {
  Cluster cluster(4);
  const int64_t batch = state.range(0);
  Tally tally;
  RuntimeClient& client = cluster.client(cluster.head);
  Scope& drivers = cluster.host(cluster.head).drivers;
  measure(state, "tasks/s", [&] {
    const int64_t target = tally.done + batch;
    for (int64_t i = 0; i < batch; ++i) drivers.spawn(submit_once(client, i, &tally));
    cluster.run_until([&] { return tally.done >= target; });
    return batch;
  });
  fail_on(state, tally);
}

Task<void> create_and_ping_any(RuntimeClient& client, Tally* tally) {
  const runtime::ActorOptions options;  // a local: GCC 12 miscompiles the temporary inside co_await
  Result<ActorHandle> made = co_await client.create_actor("Echo", options);
  if (!made.ok()) {
    tally->record(made.code(), made.error().to_string());
    co_return;
  }
  Result<int64_t> pong = co_await made.value().call<int64_t>("ping", int64_t{1});
  tally->record(pong.code(), pong.ok() ? std::string() : pong.error().to_string());
}

void BM_ActorCreation(benchmark::State& state) {
  const int64_t actors = state.range(0);
  double bytes_per_actor = 0;
  int64_t created = 0;
  const uint64_t start_allocations = allocation_count();
  double cpu_s = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto cluster = std::make_unique<Cluster>(10);
    Tally tally;
    Scope& drivers = cluster->host(cluster->head).drivers;
    const size_t before = heap_in_use();
    const double start_cpu_s = thread_cpu_seconds();
    state.ResumeTiming();
    for (int64_t i = 0; i < actors; ++i) drivers.spawn(create_and_ping_any(cluster->client(cluster->head), &tally));
    cluster->run_until([&] { return tally.done >= actors; });
    state.PauseTiming();
    cpu_s += thread_cpu_seconds() - start_cpu_s;
    bytes_per_actor = static_cast<double>(heap_in_use() - before) / static_cast<double>(actors);
    created += actors;
    fail_on(state, tally);
    cluster.reset();
    state.ResumeTiming();
  }
  const double ops = static_cast<double>(created);
  state.counters["actors/s"] = benchmark::Counter(ops, benchmark::Counter::kIsRate);
  state.counters["cpu_us/op"] = ops > 0 ? cpu_s * 1e6 / ops : 0;
  state.counters["allocs/op"] = ops > 0 ? static_cast<double>(allocation_count() - start_allocations) / ops : 0;
  state.counters["bytes/actor"] = bytes_per_actor;
}

// TANDEM_BENCH_ITERATIONS=n fixes the iteration count, for instruction counts that compare across builds: run
// callgrind with --collect-atstart=no --toggle-collect='*BM_ActorCallsAsyncNtoN*' at two counts (say 2 and 6);
// the difference divided by the calls in between is the cost per call without the set-up.
void fixed_iterations(benchmark::internal::Benchmark* benchmark) {
  if (const char* iterations = std::getenv("TANDEM_BENCH_ITERATIONS")) benchmark->Iterations(std::atoll(iterations));
}

BENCHMARK(BM_ActorCallsSync1to1)->Apply(fixed_iterations)->Name("actor_calls/sync_1to1")->Arg(10'000)->ArgName("calls")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ActorCallsAsync1to1)->Apply(fixed_iterations)->Name("actor_calls/async_1to1")->Arg(1'000)->ArgName("batch")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ActorCallsAsyncNtoN)->Apply(fixed_iterations)->Name("actor_calls/async_NtoN")->Args({16, 1'000})->ArgNames({"n", "batch"})->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TasksAsync)->Apply(fixed_iterations)->Name("tasks/async")->Arg(1'000)->ArgName("batch")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ActorCreation)->Apply(fixed_iterations)->Name("actors/create")->Arg(1'000)->Arg(10'000)->ArgName("actors")->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tandem::bench
