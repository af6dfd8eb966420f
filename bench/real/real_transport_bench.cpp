// tandem_real_bench: actor-style calls over the real transport beside raw gRPC unary calls, between the same two
// processes, in one run (issue 6's benchmark; figures in docs/real_backend_net.md).
//
// The program re-executes itself as the server process (`--server CLIENT_PORT`): that process runs a
// GrpcTransport with RpcEndpoints that echo (the callee actors) and a raw gRPC Echo service (callback API). This
// process then measures, one after another:
//   raw gRPC unary, 1 outstanding        one thread, sync stub, call after call
//   raw gRPC unary, T outstanding        T threads sharing one channel, sync stubs
//   raw gRPC unary async, W in flight    the callback API, W calls outstanding (the strongest unary baseline)
//   tandem 1:1 sync                      one caller endpoint, one call at a time (core's RpcEndpoint::call)
//   tandem 1:1 async                     one caller endpoint, W calls in flight
//   tandem N:N async                     N caller endpoints, each calling its own callee, W/N calls in flight each
//   runtime actor calls (the same three) RuntimeClient -> NodeDaemon -> an actor, the real actor-call path
// and prints calls/s, p50/p99 latency and tandem's ratio to the matching raw figure. Not a test: the numbers
// depend on the machine and on whatever else runs on it.
//
// Usage: tandem_real_bench [--seconds S] [--threads T] [--window W] [--pairs N] [--payload BYTES] [--quick]
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/async/rpc.h"
#include "core/async/scope.h"
#include "core/env/env.h"
#include "core/env/random.h"
#include "core/runtime/runtime_client.h"
#include "core/runtime/runtime_node.h"
#include "echo.grpc.pb.h"
#include "real_backend/net/event_loop.h"
#include "real_backend/net/grpc_transport.h"
#include "real_backend/storage/memory_storage.h"

extern char** environ;

namespace tandem::real::bench {
namespace {

constexpr uint32_t kEchoMethod = RpcEndpoint::kFirstMethod;
constexpr Port kFirstCalleePort = 100;
constexpr NodeId kClientNode = 1;
constexpr NodeId kServerNode = 2;

struct Options {
  double seconds = 3.0;    // measured time per mode
  double warmup_seconds = 0.3;
  int raw_threads = 16;    // raw gRPC: threads with one sync call each in flight
  int window = 128;        // tandem async: calls in flight in total
  int pairs = 8;           // tandem N:N: caller/callee pairs
  size_t payload_bytes = 16;
};

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "tandem_real_bench: %s\n", message.c_str());
  std::exit(2);
}

// ---------------------------------------------------------------------------------------------------------------
// The server process.

class EchoService final : public tandem::bench::Echo::CallbackService {
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context, const tandem::bench::EchoMessage* request,
                                 tandem::bench::EchoMessage* reply) override {
    reply->set_payload(request->payload());
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

// The runtime's callee: an actor whose one method returns its argument bytes.
class EchoActor final : public runtime::Actor {
 public:
  explicit EchoActor(runtime::ActorContext&) {}
  Task<Result<Bytes>> echo(Bytes args) { co_return args; }
};

const runtime::RuntimeCatalog& bench_catalog() {
  static const runtime::RuntimeCatalog catalog = [] {
    runtime::RuntimeCatalog c;
    c.actor_classes.add<EchoActor>("BenchEcho").raw_method("echo", &EchoActor::echo);
    return c;
  }();
  return catalog;
}

int run_server(uint16_t client_port, int pairs) {
  EventLoop loop;
  GrpcTransport transport(loop, kServerNode, {});
  if (Status started = transport.start(); !started.ok()) die("server: " + started.error().message);
  transport.set_peer(kClientNode, "127.0.0.1:" + std::to_string(client_port));
  // The actor runtime's head (control store + node daemon) on the same transport: it hosts the BenchEcho actors.
  MemoryStorage storage;
  Random random(20261123);
  NullLog log;
  Env env{kServerNode, loop.clock(), transport, storage, random, log};
  runtime::RuntimeNodeOptions node_options;
  node_options.run_control_store = true;
  runtime::RuntimeNode runtime_node(env, bench_catalog(), node_options);
  std::vector<std::unique_ptr<RpcEndpoint>> callees;
  for (int i = 0; i < pairs; ++i) {
    callees.push_back(std::make_unique<RpcEndpoint>(transport, loop.clock(), kFirstCalleePort + static_cast<Port>(i)));
    callees.back()->serve(kEchoMethod, [](Address, Bytes request) -> Task<Result<Bytes>> { co_return request; });
  }
  EchoService echo;
  grpc::ServerBuilder builder;
  int echo_port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &echo_port);
  builder.RegisterService(&echo);
  std::unique_ptr<grpc::Server> echo_server = builder.BuildAndStart();
  if (!echo_server || echo_port == 0) die("server: cannot start the raw echo server");
  std::printf("READY %u %d\n", transport.port(), echo_port);
  std::fflush(stdout);
  // The parent holds our stdin open; EOF means it is done (or died): stop.
  std::thread watchdog([&loop] {
    char byte;
    while (::read(STDIN_FILENO, &byte, 1) > 0) {
    }
    loop.stop();
  });
  loop.run();
  watchdog.join();
  echo_server->Shutdown(std::chrono::system_clock::now());
  callees.clear();
  transport.shutdown();
  return 0;
}

// ---------------------------------------------------------------------------------------------------------------
// The client process: figures.

struct Figures {
  std::string mode;
  double calls_per_second = 0;
  double p50_us = 0;
  double p99_us = 0;
  uint64_t errors = 0;
  double ratio = 0;  // to the matching raw gRPC figure; 0 for raw rows
};

Figures summarize(std::string mode, std::vector<int64_t>& latencies_ns, double elapsed_seconds, uint64_t errors) {
  Figures f;
  f.mode = std::move(mode);
  f.errors = errors;
  if (latencies_ns.empty() || elapsed_seconds <= 0) return f;
  std::sort(latencies_ns.begin(), latencies_ns.end());
  f.calls_per_second = static_cast<double>(latencies_ns.size()) / elapsed_seconds;
  f.p50_us = static_cast<double>(latencies_ns[latencies_ns.size() / 2]) / 1e3;
  f.p99_us = static_cast<double>(latencies_ns[std::min(latencies_ns.size() - 1, latencies_ns.size() * 99 / 100)]) / 1e3;
  return f;
}

Figures raw_unary(const std::string& endpoint, int threads, const Options& options, const std::string& mode) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  std::shared_ptr<grpc::Channel> channel = grpc::CreateCustomChannel(endpoint, grpc::InsecureChannelCredentials(), args);
  const std::string payload(options.payload_bytes, 'p');
  std::vector<std::vector<int64_t>> latencies(static_cast<size_t>(threads));
  std::atomic<uint64_t> errors{0};
  const auto start = std::chrono::steady_clock::now();
  const auto measure_from = start + std::chrono::duration<double>(options.warmup_seconds);
  const auto until = measure_from + std::chrono::duration<double>(options.seconds);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      auto stub = tandem::bench::Echo::NewStub(channel);
      tandem::bench::EchoMessage request;
      request.set_payload(payload);
      tandem::bench::EchoMessage reply;
      std::vector<int64_t>& mine = latencies[static_cast<size_t>(t)];
      while (true) {
        const auto before = std::chrono::steady_clock::now();
        if (before >= until) break;
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
        const grpc::Status status = stub->Echo(&context, request, &reply);
        const auto after = std::chrono::steady_clock::now();
        if (!status.ok()) {
          ++errors;
        } else if (before >= measure_from) {
          mine.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(after - before).count());
        }
      }
    });
  }
  for (std::thread& worker : workers) worker.join();
  std::vector<int64_t> all;
  for (auto& v : latencies) all.insert(all.end(), v.begin(), v.end());
  return summarize(mode, all, options.seconds, errors.load());
}

// The strongest raw unary baseline: the callback API with `in_flight` calls outstanding from one thread's view.
Figures raw_unary_callback(const std::string& endpoint, int in_flight, const Options& options, const std::string& mode) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  std::shared_ptr<grpc::Channel> channel = grpc::CreateCustomChannel(endpoint, grpc::InsecureChannelCredentials(), args);
  auto stub = tandem::bench::Echo::NewStub(channel);
  const auto start = std::chrono::steady_clock::now();
  const auto measure_from = start + std::chrono::duration<double>(options.warmup_seconds);
  const auto until = measure_from + std::chrono::duration<double>(options.seconds);
  // One slot per call in flight; a slot's completions run one at a time, so its own vector needs no lock.
  struct Slot {
    std::unique_ptr<grpc::ClientContext> context;
    tandem::bench::EchoMessage request;
    tandem::bench::EchoMessage reply;
    std::chrono::steady_clock::time_point sent;
    std::vector<int64_t> latencies_ns;
    uint64_t errors = 0;
  };
  std::vector<Slot> slots(static_cast<size_t>(in_flight));
  std::mutex mutex;
  std::condition_variable finished;
  int running = in_flight;
  std::function<void(Slot&)> issue = [&](Slot& slot) {
    slot.context = std::make_unique<grpc::ClientContext>();
    slot.context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    slot.sent = std::chrono::steady_clock::now();
    stub->async()->Echo(slot.context.get(), &slot.request, &slot.reply, [&, slot_ptr = &slot](grpc::Status status) {
      Slot& done = *slot_ptr;
      const auto now = std::chrono::steady_clock::now();
      if (!status.ok()) {
        ++done.errors;
      } else if (done.sent >= measure_from) {
        done.latencies_ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(now - done.sent).count());
      }
      if (now < until) {
        issue(done);
        return;
      }
      std::lock_guard<std::mutex> lock(mutex);
      if (--running == 0) finished.notify_all();
    });
  };
  for (Slot& slot : slots) {
    slot.request.set_payload(std::string(options.payload_bytes, 'p'));
    issue(slot);
  }
  {
    std::unique_lock<std::mutex> lock(mutex);
    if (!finished.wait_for(lock, std::chrono::duration<double>(options.warmup_seconds + options.seconds + 10),
                           [&] { return running == 0; })) {
      die(mode + ": calls still running 10 s after the end");
    }
  }
  std::vector<int64_t> all;
  uint64_t errors = 0;
  for (Slot& slot : slots) {
    all.insert(all.end(), slot.latencies_ns.begin(), slot.latencies_ns.end());
    errors += slot.errors;
  }
  return summarize(mode, all, options.seconds, errors);
}

struct CallStats {
  std::vector<int64_t> latencies_ns;
  uint64_t errors = 0;
  int running = 0;
};

using CallFn = std::function<Task<Result<Bytes>>()>;

Task<void> caller(CallFn call, size_t payload_bytes, Clock& clock, TimePoint measure_from, TimePoint until,
                  CallStats* stats) {
  while (clock.now() < until) {
    const TimePoint before = clock.now();
    Result<Bytes> reply = co_await call();
    if (!reply.ok() || reply.value().size() != payload_bytes) {
      ++stats->errors;
    } else if (before >= measure_from) {
      stats->latencies_ns.push_back(to_ns(clock.now() - before));
    }
  }
  --stats->running;
}

// Runs `pairs` x `window_per_pair` callers, caller k of pair i calling through calls[i], for warm-up + seconds.
Figures run_callers(EventLoop& loop, const std::vector<CallFn>& calls, int window_per_pair, const Options& options,
                    const std::string& mode) {
  CallStats stats;
  Scope scope;
  Clock& clock = loop.clock();
  const TimePoint measure_from = clock.now() + std::chrono::duration_cast<Duration>(
                                                   std::chrono::duration<double>(options.warmup_seconds));
  const TimePoint until =
      measure_from + std::chrono::duration_cast<Duration>(std::chrono::duration<double>(options.seconds));
  for (const CallFn& call : calls) {
    for (int w = 0; w < window_per_pair; ++w) {
      ++stats.running;
      scope.spawn(caller(call, options.payload_bytes, clock, measure_from, until, &stats));
    }
  }
  const bool finished = loop.run_until([&] { return stats.running == 0; },
                                       std::chrono::duration_cast<Duration>(std::chrono::duration<double>(
                                           options.warmup_seconds + options.seconds + 10)));
  if (!finished) die(mode + ": calls still running 10 s after the end (is the server process alive?)");
  return summarize(mode, stats.latencies_ns, options.seconds, stats.errors);
}

Figures tandem_calls(EventLoop& loop, GrpcTransport& transport, int pairs, int window_per_pair,
                     const Options& options, const std::string& mode) {
  const Bytes payload(options.payload_bytes, 'p');
  std::vector<std::unique_ptr<RpcEndpoint>> callers;
  std::vector<CallFn> calls;
  for (int i = 0; i < pairs; ++i) {
    callers.push_back(std::make_unique<RpcEndpoint>(transport, loop.clock()));
    RpcEndpoint* endpoint = callers.back().get();
    const Address callee{kServerNode, kFirstCalleePort + static_cast<Port>(i)};
    calls.push_back([endpoint, callee, &payload] { return endpoint->call(callee, kEchoMethod, payload, 5s); });
  }
  return run_callers(loop, calls, window_per_pair, options, mode);
}

// Awaits `task` on the loop for at most `timeout`.
template <typename T>
Result<T> await_on(EventLoop& loop, Task<Result<T>> task, Duration timeout, const std::string& what) {
  std::optional<Result<T>> out;
  Scope scope;
  scope.spawn([](Task<Result<T>> inner, std::optional<Result<T>>* slot) -> Task<void> {
    *slot = co_await std::move(inner);
  }(std::move(task), &out));
  if (!loop.run_until([&] { return out.has_value(); }, timeout)) die(what + ": no answer in time");
  return std::move(*out);
}

// The actor runtime's calls: RuntimeClient (a driver in this process) -> NodeDaemon (server) -> BenchEcho actors.
struct RuntimeFigures {
  Figures sync, async, many;
};

RuntimeFigures runtime_calls(EventLoop& loop, GrpcTransport& transport, const Options& options) {
  MemoryStorage storage;
  Random random(20261124);
  NullLog log;
  Env env{kClientNode, loop.clock(), transport, storage, random, log};
  runtime::ClientOptions client_options;
  client_options.control_store = Address{kServerNode, runtime::kControlStorePort};
  client_options.catalog = &bench_catalog();
  runtime::RuntimeClient client(env, client_options);
  // The server's daemon registers with its control store shortly after start.
  const TimePoint give_up = loop.now() + 10s;
  while (true) {
    Result<std::vector<runtime::NodeInfo>> nodes = await_on(loop, client.nodes(), 5s, "listing the runtime's nodes");
    if (nodes.ok() && !nodes.value().empty()) break;
    if (loop.now() > give_up) die("the server's node daemon did not register within 10 s");
    loop.run_for(50ms);
  }
  std::vector<runtime::ActorHandle> actors;
  for (int i = 0; i < std::max(1, options.pairs); ++i) {
    Result<runtime::ActorHandle> created =
        await_on(loop, client.create_actor("BenchEcho", runtime::ActorOptions{}), 10s, "creating an actor");
    if (!created.ok()) die("creating a BenchEcho actor failed: " + created.error().to_string());
    actors.push_back(created.value());
  }
  const Bytes payload(options.payload_bytes, 'p');
  auto call_to = [&payload](const runtime::ActorHandle& actor) -> CallFn {
    return [&actor, &payload] { return actor.call_raw("echo", payload, runtime::CallOptions{5s}); };
  };
  RuntimeFigures out;
  out.sync = run_callers(loop, {call_to(actors[0])}, 1, options, "runtime actor calls 1:1 sync");
  out.async = run_callers(loop, {call_to(actors[0])}, options.window, options,
                          "runtime actor calls 1:1 async (" + std::to_string(options.window) + " in flight)");
  std::vector<CallFn> all;
  for (const runtime::ActorHandle& actor : actors) all.push_back(call_to(actor));
  const int per_pair = std::max(1, options.window / options.pairs);
  out.many = run_callers(loop, all, per_pair, options,
                         "runtime actor calls N:N async (" + std::to_string(options.pairs) + " actors, " +
                             std::to_string(per_pair * options.pairs) + " in flight)");
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Process plumbing.

struct Child {
  pid_t pid = -1;
  int stdin_fd = -1;
  int stdout_fd = -1;
};

Child spawn_server(uint16_t client_port, int pairs) {
  int to_child[2];
  int from_child[2];
  if (::pipe2(to_child, O_CLOEXEC) != 0 || ::pipe2(from_child, O_CLOEXEC) != 0) die("pipe() failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, to_child[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, from_child[1], STDOUT_FILENO);
  const std::string port_text = std::to_string(client_port);
  const std::string pairs_text = std::to_string(pairs);
  const char* argv[] = {"tandem_real_bench", "--server", port_text.c_str(), "--pairs", pairs_text.c_str(), nullptr};
  Child child;
  const int spawned = posix_spawn(&child.pid, "/proc/self/exe", &actions, nullptr, const_cast<char**>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) die(std::string("cannot start the server process: ") + std::strerror(spawned));
  ::close(to_child[0]);
  ::close(from_child[1]);
  child.stdin_fd = to_child[1];
  child.stdout_fd = from_child[0];
  return child;
}

std::string read_line(int fd, int timeout_ms) {
  std::string line;
  char byte;
  while (true) {
    pollfd ready{fd, POLLIN, 0};
    if (::poll(&ready, 1, timeout_ms) <= 0) die("the server process did not report READY within 10 s");
    if (::read(fd, &byte, 1) != 1) die("the server process exited before it was ready (see its stderr above)");
    if (byte == '\n') return line;
    line.push_back(byte);
  }
}

void stop_server(Child& child) {
  ::close(child.stdin_fd);  // the server's watchdog sees EOF and stops
  for (int i = 0; i < 100; ++i) {
    int status = 0;
    if (::waitpid(child.pid, &status, WNOHANG) == child.pid) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(child.pid, SIGKILL);
  ::waitpid(child.pid, nullptr, 0);
}

void print_table(const std::vector<Figures>& rows) {
  std::printf("\n%-56s %12s %10s %10s %8s %8s\n", "mode", "calls/s", "p50 us", "p99 us", "errors", "vs raw");
  for (const Figures& f : rows) {
    char ratio[32] = "";
    if (f.ratio > 0) std::snprintf(ratio, sizeof ratio, "%.0f%%", f.ratio * 100);
    std::printf("%-56s %12.0f %10.1f %10.1f %8llu %8s\n", f.mode.c_str(), f.calls_per_second, f.p50_us, f.p99_us,
                static_cast<unsigned long long>(f.errors), ratio);
  }
  std::printf("\nRay's published actor-call figures for comparison: 1:1 async 8,664/s, N:N async 27,376/s.\n");
}

int run_client(const Options& options) {
  EventLoop loop;
  GrpcTransport transport(loop, kClientNode, {});
  if (Status started = transport.start(); !started.ok()) die(started.error().message);
  Child child = spawn_server(transport.port(), std::max(options.pairs, 1));
  const std::string ready = read_line(child.stdout_fd, 10000);
  unsigned transport_port = 0;
  int echo_port = 0;
  if (std::sscanf(ready.c_str(), "READY %u %d", &transport_port, &echo_port) != 2) die("bad READY line: " + ready);
  transport.set_peer(kServerNode, "127.0.0.1:" + std::to_string(transport_port));
  const std::string echo_endpoint = "127.0.0.1:" + std::to_string(echo_port);

  std::printf("tandem_real_bench: 2 processes on 127.0.0.1, %u CPUs, %.1f s per mode after %.1f s warm-up, "
              "%zu-byte payloads\n",
              std::thread::hardware_concurrency(), options.seconds, options.warmup_seconds, options.payload_bytes);
  std::vector<Figures> rows;
  auto report = [&rows](Figures f) {
    std::printf("  %-56s %10.0f calls/s\n", f.mode.c_str(), f.calls_per_second);
    std::fflush(stdout);
    rows.push_back(std::move(f));
  };
  const std::string raw_many = "raw gRPC unary, " + std::to_string(options.raw_threads) + " outstanding";
  report(raw_unary(echo_endpoint, 1, options, "raw gRPC unary, 1 outstanding"));
  report(raw_unary(echo_endpoint, options.raw_threads, options, raw_many));
  report(raw_unary_callback(echo_endpoint, options.window, options,
                            "raw gRPC unary async, " + std::to_string(options.window) + " in flight"));
  const double raw_one = rows[0].calls_per_second;
  const double raw_concurrent = rows[1].calls_per_second;
  const double raw_async = rows[2].calls_per_second;

  Figures sync = tandem_calls(loop, transport, 1, 1, options, "tandem 1:1 sync");
  sync.ratio = raw_one > 0 ? sync.calls_per_second / raw_one : 0;
  report(sync);
  Figures async = tandem_calls(loop, transport, 1, options.window, options,
                               "tandem 1:1 async (" + std::to_string(options.window) + " in flight)");
  async.ratio = raw_concurrent > 0 ? async.calls_per_second / raw_concurrent : 0;
  report(async);
  const int per_pair = std::max(1, options.window / options.pairs);
  Figures many = tandem_calls(loop, transport, options.pairs, per_pair, options,
                              "tandem N:N async (" + std::to_string(options.pairs) + "x" + std::to_string(options.pairs) +
                                  ", " + std::to_string(per_pair * options.pairs) + " in flight)");
  many.ratio = raw_concurrent > 0 ? many.calls_per_second / raw_concurrent : 0;
  report(many);

  RuntimeFigures actor_calls = runtime_calls(loop, transport, options);
  actor_calls.sync.ratio = raw_one > 0 ? actor_calls.sync.calls_per_second / raw_one : 0;
  report(actor_calls.sync);
  actor_calls.async.ratio = raw_concurrent > 0 ? actor_calls.async.calls_per_second / raw_concurrent : 0;
  report(actor_calls.async);
  actor_calls.many.ratio = raw_concurrent > 0 ? actor_calls.many.calls_per_second / raw_concurrent : 0;
  report(actor_calls.many);

  print_table(rows);
  std::printf("'vs raw': tandem 1:1 sync against raw 1 outstanding; the async modes against raw %d outstanding "
              "(sync threads, the brief's baseline).\n",
              options.raw_threads);
  std::printf("Against the strongest raw unary figure (callback API, %d in flight, %.0f calls/s): 1:1 async %.0f%%, "
              "N:N async %.0f%%.\n",
              options.window, raw_async, raw_async > 0 ? 100 * async.calls_per_second / raw_async : 0.0,
              raw_async > 0 ? 100 * many.calls_per_second / raw_async : 0.0);
  stop_server(child);
  transport.shutdown();
  return 0;
}

Options parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto number = [&](const char* name) {
      if (i + 1 >= argc) die(std::string(name) + " needs a value");
      char* end = nullptr;
      const double value = std::strtod(argv[++i], &end);
      if (end == argv[i] || *end != '\0' || value <= 0) die(std::string(name) + " needs a positive number");
      return value;
    };
    if (arg == "--seconds") {
      options.seconds = number("--seconds");
    } else if (arg == "--threads") {
      options.raw_threads = static_cast<int>(number("--threads"));
    } else if (arg == "--window") {
      options.window = static_cast<int>(number("--window"));
    } else if (arg == "--pairs") {
      options.pairs = static_cast<int>(number("--pairs"));
    } else if (arg == "--payload") {
      options.payload_bytes = static_cast<size_t>(number("--payload"));
    } else if (arg == "--quick") {
      options.seconds = 0.5;
      options.warmup_seconds = 0.1;
    } else {
      die("unknown argument '" + arg +
          "' (usage: tandem_real_bench [--seconds S] [--threads T] [--window W] [--pairs N] [--payload BYTES] "
          "[--quick])");
    }
  }
  return options;
}

}  // namespace
}  // namespace tandem::real::bench

int main(int argc, char** argv) {
  using namespace tandem::real::bench;
  ::signal(SIGPIPE, SIG_IGN);
  if (argc >= 3 && std::string(argv[1]) == "--server") {
    const int pairs = argc >= 5 && std::string(argv[3]) == "--pairs" ? std::atoi(argv[4]) : 8;
    return run_server(static_cast<uint16_t>(std::atoi(argv[2])), pairs);
  }
  return run_client(parse(argc, argv));
}
