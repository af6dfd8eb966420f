// Ping-pong over the simulated network: how many simulated messages tandem moves per wall second, and what an
// idle actor costs in memory. Issue 2, item 7; bench/compare.sh runs the same ping-pong on SimGrid beside it.
//
// Set-up (the same for every run): one region, two clusters of 50 nodes each. Every link is constant: a
// node's uplink to its cluster switch takes 250 us and a cluster's uplink to the region router 250 us, so a
// message from a node of cluster a to a node of cluster b crosses four links and takes exactly 1 ms. Pair i
// puts its pinger on node i % 50 of cluster a and its ponger on node i % 50 of cluster b; each keeps exactly
// one message in flight, so P pairs move P messages per simulated millisecond. The `uniform` latency runs
// draw each node uplink from uniform(0..500 us) instead (mean 1 ms per message, 0.5..1.5 ms): the cost of a
// random network model.
//
// Three kinds of actor, cheapest first:
//   receiver   a Receiver bound to a port that answers each message with a new one (raw Transport messages).
//   coroutine  a Receiver that feeds a one-message mailbox and a root Task that loops `co_await receive()`,
//              answering each message: the cost of resuming a coroutine per message.
//   rpc        two RpcEndpoints; the pinger's Task loops `co_await call(...)` with a 1 s deadline and the
//              ponger serves the method (a handler Task per request): the full request/response path.
// Messages carry an 8-byte payload (inside std::string's small buffer, as SimGrid's ping-pong sends a
// pointer).
//
// Counters (per benchmark run; compare.sh takes medians over repetitions):
//   msgs/s           simulated messages delivered per wall-clock second (the headline figure)
//   events/s         world events processed per wall-clock second
//   bytes/actor      heap bytes in use (as the allocator counts them, so its headers and rounding count) after
//                    creating the 2P idle actors, minus before, divided by 2P. Idle = bound and, where the
//                    actor has a coroutine, suspended in it; no message sent yet.
//   cpu_ns/msg       thread CPU time per delivered message (steadier than wall time on a shared machine)
//   allocs/msg       calls of the global operator new per delivered message during the timed loop
//   sim_ms/msg       simulated time x pairs / messages: reads 1.000 when every message took the 1 ms link
//                    (a check on the set-up, verified for the constant runs: a run that reads otherwise
//                    fails)
#include <benchmark/benchmark.h>
#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "core/async/rpc.h"
#include "core/async/scope.h"
#include "core/async/sleep.h"
#include "core/async/task.h"
#include "core/env/env.h"
#include "sim/world.h"

namespace tandem::bench {

uint64_t allocation_count();  // bench/allocation_counter.cpp
size_t heap_in_use();         // bench/allocation_counter.cpp

namespace {

constexpr uint32_t kPingKind = 100;
constexpr uint32_t kPongKind = 101;
constexpr uint32_t kEchoMethod = RpcEndpoint::kFirstMethod;
constexpr size_t kNodesPerCluster = 50;
constexpr Duration kNodeUplink = 250us;     // node <-> cluster switch
constexpr Duration kClusterUplink = 250us;  // cluster switch <-> region router
constexpr Duration kOneWay = 2 * kNodeUplink + 2 * kClusterUplink;
static_assert(kOneWay == 1ms, "a message between the two clusters must cross a 1 ms path");
constexpr Duration kRpcTimeout = 1s;
constexpr size_t kMailboxCapacity = 64;             // a ping-pong actor never holds more than one message
constexpr int64_t kMessagesPerIteration = 100'000;  // simulated work per timed iteration, roughly

const Bytes& payload() {
  static const Bytes bytes(8, 'p');  // 8 bytes: inside std::string's small buffer, no heap allocation
  return bytes;
}

// CPU time of this thread: unlike wall time, it does not grow when other processes share the cores.
double thread_cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

// --- The actors
// ---------------------------------------------------------------------------------------------

class Actor {
 public:
  virtual ~Actor() = default;
  virtual Address address() const = 0;
  // The pinger's first move: send the first ping to `peer`.
  virtual void start(Address peer) = 0;
};

// receiver: a bound port that answers each message. 24 bytes plus its port slot.
class EchoReceiver final : public Actor, public Receiver {
 public:
  explicit EchoReceiver(Transport& transport)
      : transport_(transport), self_{transport.node(), transport.allocate_port()} {
    transport_.bind(self_.port, this);
  }
  ~EchoReceiver() override { transport_.unbind(self_.port); }

  Address address() const override { return self_; }
  void start(Address peer) override { transport_.send(Message{self_, peer, kPingKind, 0, payload()}); }

  void on_message(Message&& message) override {
    const uint32_t kind = message.kind == kPingKind ? kPongKind : kPingKind;
    transport_.send(Message{self_, message.from, kind, message.correlation + 1, payload()});
  }
  void on_undeliverable(Message&&, Errc) override {}

 private:
  Transport& transport_;
  Address self_;
};

// coroutine: a mailbox (the bound Receiver) and a root Task that receives from it and answers.
class Mailbox final : public Receiver {
 public:
  explicit Mailbox(Transport& transport)
      : transport_(transport), self_{transport.node(), transport.allocate_port()} {
    transport_.bind(self_.port, this);
  }
  ~Mailbox() override { transport_.unbind(self_.port); }

  Address address() const { return self_; }
  Transport& transport() { return transport_; }

  void on_message(Message&& message) override {
    TANDEM_CHECK(queue_.size() - head_ < kMailboxCapacity, "a ping-pong mailbox overflowed");
    queue_.push_back(std::move(message));
    if (waiter_.valid()) {
      const Wakeup waiter = waiter_;
      waiter_ = {};
      waiter.fire();  // resumes the actor's task right here; it returns at its next co_await
    }
  }
  void on_undeliverable(Message&&, Errc) override {}

  struct ReceiveAwaiter {
    Mailbox& box;
    bool await_ready() const noexcept { return box.head_ < box.queue_.size(); }
    template <typename Promise>
    void await_suspend(std::coroutine_handle<Promise> handle) {
      box.waiter_ = make_wakeup(handle);
    }
    Message await_resume() {
      Message message = std::move(box.queue_[box.head_++]);
      if (box.head_ == box.queue_.size()) {
        box.queue_.clear();
        box.head_ = 0;
      }
      return message;
    }
  };
  ReceiveAwaiter receive() { return ReceiveAwaiter{*this}; }

 private:
  Transport& transport_;
  Address self_;
  std::vector<Message> queue_;  // from head_ on; empty until the first message arrives
  size_t head_ = 0;
  Wakeup waiter_;
};

class EchoCoroutine final : public Actor {
 public:
  explicit EchoCoroutine(Transport& transport) : mailbox_(transport) { scope_.spawn(loop(mailbox_)); }

  Address address() const override { return mailbox_.address(); }
  void start(Address peer) override {
    mailbox_.transport().send(Message{mailbox_.address(), peer, kPingKind, 0, payload()});
  }

 private:
  static Task<void> loop(Mailbox& mailbox) {
    while (true) {
      Message message = co_await mailbox.receive();
      const uint32_t kind = message.kind == kPingKind ? kPongKind : kPingKind;
      mailbox.transport().send(
          Message{mailbox.address(), message.from, kind, message.correlation + 1, payload()});
    }
  }

  Mailbox mailbox_;
  Scope scope_;  // last: the task dies before the mailbox it reads
};

// rpc: the ponger serves kEchoMethod; the pinger's task calls it in a loop once started.
class RpcPonger final : public Actor {
 public:
  RpcPonger(Transport& transport, Clock& clock) : endpoint_(transport, clock) {
    endpoint_.serve(kEchoMethod,
                    [](Address, Bytes request) -> Task<Result<Bytes>> { co_return std::move(request); });
  }
  Address address() const override { return endpoint_.address(); }
  void start(Address) override {}

 private:
  RpcEndpoint endpoint_;
};

class RpcPinger final : public Actor {
 public:
  RpcPinger(Transport& transport, Clock& clock) : endpoint_(transport, clock), go_(clock) {
    scope_.spawn(loop(*this));
  }
  Address address() const override { return endpoint_.address(); }
  void start(Address peer) override {
    peer_ = peer;
    go_.set();
  }

 private:
  static Task<void> loop(RpcPinger& self) {
    co_await self.go_.wait();
    while (true) {
      Result<Bytes> reply = co_await self.endpoint_.call(self.peer_, kEchoMethod, payload(), kRpcTimeout);
      TANDEM_CHECK(reply.ok(), "a ping-pong call failed in a fault-free world");
    }
  }

  RpcEndpoint endpoint_;
  Event go_;
  Address peer_;
  Scope scope_;  // last: the calling task dies before the endpoint it calls through
};

enum class ActorKind { kReceiver, kCoroutine, kRpc };
enum class LatencyKind { kConstant, kUniform };

const char* name_of(ActorKind kind) {
  switch (kind) {
    case ActorKind::kReceiver:
      return "receiver";
    case ActorKind::kCoroutine:
      return "coroutine";
    case ActorKind::kRpc:
      return "rpc";
  }
  return "?";
}
const char* name_of(LatencyKind kind) { return kind == LatencyKind::kConstant ? "constant" : "uniform"; }

// What each node runs: the actors placed on it.
class Host final : public sim::NodeProcess {
 public:
  explicit Host(Env& env) : env_(env) {}

  Actor& add(ActorKind kind, bool pinger) {
    switch (kind) {
      case ActorKind::kReceiver:
        actors_.push_back(std::make_unique<EchoReceiver>(env_.transport));
        break;
      case ActorKind::kCoroutine:
        actors_.push_back(std::make_unique<EchoCoroutine>(env_.transport));
        break;
      case ActorKind::kRpc:
        if (pinger) {
          actors_.push_back(std::make_unique<RpcPinger>(env_.transport, env_.clock));
        } else {
          actors_.push_back(std::make_unique<RpcPonger>(env_.transport, env_.clock));
        }
        break;
    }
    return *actors_.back();
  }
  void reserve(size_t count) { actors_.reserve(count); }

 private:
  Env& env_;
  std::vector<std::unique_ptr<Actor>> actors_;
};

sim::LinkSpec link_of(sim::LatencyModel latency) {
  sim::LinkSpec link;
  link.latency = latency;
  return link;
}

// The world of the header comment, with `pairs` idle actor pairs; `bytes_per_actor` gets their memory cost.
struct PingPongWorld {
  PingPongWorld(ActorKind kind, LatencyKind latency, int64_t pairs) {
    sim::Network& network = world.network();
    const sim::RegionId region = network.add_region("region");
    const sim::LinkSpec node_uplink = latency == LatencyKind::kConstant
                                          ? link_of(sim::LatencyModel::constant(kNodeUplink))
                                          : link_of(sim::LatencyModel::uniform(0us, 2 * kNodeUplink));
    const sim::LinkSpec cluster_uplink = link_of(sim::LatencyModel::constant(kClusterUplink));
    const sim::ClusterId clusters[2] = {network.add_cluster("a", region, cluster_uplink),
                                        network.add_cluster("b", region, cluster_uplink)};
    for (int c = 0; c < 2; ++c) {
      for (size_t i = 0; i < kNodesPerCluster; ++i) {
        std::string name(c == 0 ? "a" : "b");
        name.append(std::to_string(i));
        hosts[c].push_back(world.add_node(std::move(name), clusters[c], node_uplink,
                                          [](Env& env) { return std::make_unique<Host>(env); }));
      }
    }
    auto host = [this](int cluster, size_t index) -> Host& {
      return *static_cast<Host*>(world.process(hosts[cluster][index]));
    };

    pingers.reserve(static_cast<size_t>(pairs));  // the benchmark's own bookkeeping: not the actors' cost
    pongers.reserve(static_cast<size_t>(pairs));
    const size_t before = heap_in_use();
    const size_t per_host = (static_cast<size_t>(pairs) + kNodesPerCluster - 1) / kNodesPerCluster;
    for (int c = 0; c < 2; ++c) {
      for (size_t i = 0; i < kNodesPerCluster; ++i) host(c, i).reserve(per_host);  // each host's actor list
    }
    for (int64_t p = 0; p < pairs; ++p) {
      const size_t index = static_cast<size_t>(p) % kNodesPerCluster;
      pingers.push_back(&host(0, index).add(kind, true));
      pongers.push_back(&host(1, index).add(kind, false));
    }
    bytes_per_actor = static_cast<double>(heap_in_use() - before) / static_cast<double>(2 * pairs);
  }

  void start() {
    for (size_t p = 0; p < pingers.size(); ++p) pingers[p]->start(pongers[p]->address());
  }

  sim::World world;
  std::vector<NodeId> hosts[2];
  std::vector<Actor*> pingers;
  std::vector<Actor*> pongers;
  double bytes_per_actor = 0;
};

void BM_PingPong(benchmark::State& state, ActorKind kind, LatencyKind latency) {
  const int64_t pairs = state.range(0);
  PingPongWorld ping_pong(kind, latency, pairs);
  sim::World& world = ping_pong.world;
  ping_pong.start();
  world.run_for(10ms);  // warm-up: every slab, port table and queue at its steady size

  // Each pair moves one message per simulated millisecond; simulate enough to move ~kMessagesPerIteration.
  const Duration step = std::max<Duration>(1ms, (kMessagesPerIteration / pairs) * 1ms);
  const sim::WorldStats start_stats = world.stats();
  const TimePoint start_time = world.now();
  const uint64_t start_allocations = allocation_count();
  const double start_cpu_s = thread_cpu_seconds();
  for (auto _ : state) world.run_for(step);
  const double cpu_s = thread_cpu_seconds() - start_cpu_s;
  const uint64_t allocations = allocation_count() - start_allocations;
  const double messages =
      static_cast<double>(world.stats().messages_delivered - start_stats.messages_delivered);
  const double events = static_cast<double>(world.stats().events - start_stats.events);
  const double simulated_ms = to_ms(world.now() - start_time);

  state.counters["msgs/s"] = benchmark::Counter(messages, benchmark::Counter::kIsRate);
  state.counters["events/s"] = benchmark::Counter(events, benchmark::Counter::kIsRate);
  state.counters["cpu_ns/msg"] = messages > 0 ? cpu_s * 1e9 / messages : 0;
  state.counters["bytes/actor"] = ping_pong.bytes_per_actor;
  state.counters["allocs/msg"] = messages > 0 ? static_cast<double>(allocations) / messages : 0;
  const double ms_per_message = messages > 0 ? simulated_ms * static_cast<double>(pairs) / messages : 0;
  state.counters["sim_ms/msg"] = ms_per_message;
  if (latency == LatencyKind::kConstant && (ms_per_message < 0.99 || ms_per_message > 1.01)) {
    state.SkipWithError(
        "messages did not take the 1 ms path: the topology is not what this benchmark assumes");
  }
  if (world.stats().messages_dropped != 0 || world.stats().messages_bounced != 0) {
    state.SkipWithError("messages were lost or bounced in a fault-free world");
  }
}

void register_all() {
  const std::vector<int64_t> pair_counts = {100, 1'000, 10'000, 100'000};
  auto add = [](ActorKind kind, LatencyKind latency, const std::vector<int64_t>& counts) {
    std::string name = "pingpong/";
    name.append(name_of(kind)).append("/").append(name_of(latency));
    benchmark::internal::Benchmark* b =
        benchmark::RegisterBenchmark(name.c_str(), BM_PingPong, kind, latency);
    for (const int64_t pairs : counts) b->Arg(pairs);
    b->ArgName("pairs")->UseRealTime()->Unit(benchmark::kMillisecond);
  };
  add(ActorKind::kReceiver, LatencyKind::kConstant, pair_counts);
  add(ActorKind::kReceiver, LatencyKind::kUniform, pair_counts);
  add(ActorKind::kCoroutine, LatencyKind::kConstant, pair_counts);
  add(ActorKind::kRpc, LatencyKind::kConstant, pair_counts);
}

}  // namespace
}  // namespace tandem::bench

int main(int argc, char** argv) {
  tandem::bench::register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
