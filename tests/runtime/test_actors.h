// Actor classes and remote functions the runtime tests share, and the catalog that registers them.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/async/sleep.h"
#include "core/runtime/catalog.h"
#include "core/runtime/runtime_client.h"

namespace tandem::runtime::testing {

// A counter with a few ways to misbehave.
class Counter final : public Actor {
 public:
  Counter(ActorContext& context, int64_t start) : context_(context), value_(start) {}

  Task<Result<int64_t>> add(int64_t delta) {
    value_ += delta;
    co_return value_;
  }
  Task<Result<int64_t>> get() { co_return value_; }
  Task<Result<int64_t>> slow_add(int64_t delta, int64_t delay_ms) {
    co_await sleep(context_.clock(), std::chrono::milliseconds(delay_ms));
    value_ += delta;
    co_return value_;
  }
  Task<Result<int64_t>> fail() { co_return Error{Errc::kFailedPrecondition, "the counter refuses"}; }
  Task<Result<int64_t>> explode() {
    throw std::runtime_error("boom");
    co_return 0;
  }
  Task<Status> exit_now() {
    context_.exit("the counter was told to exit");
    co_return Status{};
  }
  Task<Result<uint32_t>> node() { co_return static_cast<uint32_t>(context_.node()); }
  // Inline methods (no Task): answered on arrival when the counter is idle, else in their turn.
  Result<int64_t> peek() { return value_; }
  Status require_at_least(int64_t floor) {
    if (value_ < floor) return Error{Errc::kFailedPrecondition, "below " + std::to_string(floor)};
    return Status{};
  }
  Result<int64_t> explode_inline() { throw std::runtime_error("inline boom"); }
  Task<Result<int32_t>> restarts() { co_return context_.restarts_used(); }

 private:
  ActorContext& context_;
  int64_t value_;
};

// Every call a Recorder runs, across all its lives and nodes, in the order they ran (tests only: the sim runs
// everything on one thread, so one list can watch the whole cluster).
struct CallRecord {
  ActorId actor;
  uint64_t incarnation;
  uint64_t caller;
  uint64_t sequence;
};
inline std::vector<CallRecord>*& record_sink() {
  static std::vector<CallRecord>* sink = nullptr;
  return sink;
}

// Records the (caller, sequence) of every call in the order it ran.
class Recorder final : public Actor {
 public:
  explicit Recorder(ActorContext& context) : context_(context) {}
  Task<Result<uint64_t>> record(uint64_t caller, uint64_t sequence, int64_t work_us) {
    if (work_us > 0) co_await sleep(context_.clock(), std::chrono::microseconds(work_us));
    if (record_sink() != nullptr) {
      record_sink()->push_back(CallRecord{context_.id(), context_.incarnation(), caller, sequence});
    }
    log_.emplace_back(caller, sequence);
    co_return log_.size();
  }
  Task<Result<std::vector<std::pair<uint64_t, uint64_t>>>> history() { co_return log_; }
  Task<Result<uint64_t>> incarnation() { co_return context_.incarnation(); }

 private:
  ActorContext& context_;
  std::vector<std::pair<uint64_t, uint64_t>> log_;
};

// Keeps its value in the control store's KV and restores it in start(): survives restarts.
class Checkpointed final : public Actor {
 public:
  Checkpointed(ActorContext& context, std::string key) : context_(context), key_(std::move(key)) {}
  Task<Status> start() override {
    Result<std::optional<Bytes>> saved = co_await context_.client().kv_get(key_);
    if (!saved.ok()) co_return saved.error();
    if (saved.value()) {
      Result<int64_t> value = decode<int64_t>(*saved.value());
      if (!value.ok()) co_return value.error();
      value_ = value.value();
    }
    co_return Status{};
  }
  Task<Result<int64_t>> add(int64_t delta) {
    value_ += delta;
    Status saved = co_await context_.client().kv_put(key_, encode(value_));
    if (!saved.ok()) co_return saved.error();
    co_return value_;
  }
  Task<Result<int64_t>> get() { co_return value_; }
  Task<Result<int32_t>> restarts() { co_return context_.restarts_used(); }

 private:
  ActorContext& context_;
  std::string key_;
  int64_t value_ = 0;
};

// Creates a child actor it owns (for fate-sharing tests).
class Parent final : public Actor {
 public:
  explicit Parent(ActorContext& context) : context_(context) {}
  Task<Result<uint64_t>> spawn_child(bool detached) {
    ActorOptions options;
    options.detached = detached;
    Result<ActorHandle> child = co_await context_.create_actor("Counter", options, int64_t{0});
    if (!child.ok()) co_return child.error();
    co_return child.value().id();
  }

 private:
  ActorContext& context_;
};

// A start() that always fails.
class Broken final : public Actor {
 public:
  explicit Broken(ActorContext&) {}
  Task<Status> start() override { co_return Error{Errc::kFailedPrecondition, "broken on purpose"}; }
  Task<Result<int64_t>> get() { co_return 0; }
};

inline Task<Result<int64_t>> square(TaskContext&, int64_t x) { co_return x * x; }

inline Task<Result<int64_t>> slow_square(TaskContext& context, int64_t x, int64_t delay_ms) {
  co_await sleep(context.env.clock, std::chrono::milliseconds(delay_ms));
  co_return x * x;
}

inline Task<Result<uint32_t>> where(TaskContext& context) { co_return static_cast<uint32_t>(context.env.node); }

inline Task<Result<int64_t>> refuse(TaskContext& context) {
  co_return Error{Errc::kFailedPrecondition, "task " + context.function + " refuses"};
}

inline Task<Result<uint32_t>> attempt_number(TaskContext& context, int64_t delay_ms) {
  co_await sleep(context.env.clock, std::chrono::milliseconds(delay_ms));
  co_return context.attempt;
}

// Calls an actor from inside a task (tasks use the node's client).
inline Task<Result<int64_t>> add_through(TaskContext& context, ActorRef counter, int64_t delta) {
  co_return co_await context.client.handle(counter).call<int64_t>("add", delta);
}

inline void register_test_code(RuntimeCatalog& catalog) {
  catalog.actor_classes.add<Counter, int64_t>("Counter")
      .method("add", &Counter::add)
      .method("get", &Counter::get)
      .method("slow_add", &Counter::slow_add)
      .method("fail", &Counter::fail)
      .method("explode", &Counter::explode)
      .method("exit_now", &Counter::exit_now)
      .method("node", &Counter::node)
      .method("restarts", &Counter::restarts)
      .method("peek", &Counter::peek)
      .method("require_at_least", &Counter::require_at_least)
      .method("explode_inline", &Counter::explode_inline);
  catalog.actor_classes.add<Recorder>("Recorder")
      .method("record", &Recorder::record)
      .method("history", &Recorder::history)
      .method("incarnation", &Recorder::incarnation);
  catalog.actor_classes.add<Checkpointed, std::string>("Checkpointed")
      .method("add", &Checkpointed::add)
      .method("get", &Checkpointed::get)
      .method("restarts", &Checkpointed::restarts);
  catalog.actor_classes.add<Parent>("Parent").method("spawn_child", &Parent::spawn_child);
  catalog.actor_classes.add<Broken>("Broken").method("get", &Broken::get);
  catalog.functions.add("square", square);
  catalog.functions.add("slow_square", slow_square);
  catalog.functions.add("where", where);
  catalog.functions.add("refuse", refuse);
  catalog.functions.add("attempt_number", attempt_number);
  catalog.functions.add("add_through", add_through);
  catalog.runtime_envs["torch"] = RuntimeEnvSpec{std::chrono::seconds(3)};
  catalog.runtime_envs["sklearn"] = RuntimeEnvSpec{std::chrono::seconds(1)};
}

}  // namespace tandem::runtime::testing
