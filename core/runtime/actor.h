// Actor classes: the C++ classes a node daemon can host as actors, registered by name with their methods.
//
// Contract:
// - An actor class derives from Actor. Its constructor takes (ActorContext&, constructor arguments...) and must
//   not block; asynchronous set-up (e.g. reading a checkpoint from the control store's KV) goes in start(),
//   which runs before the actor is ALIVE. A restarted actor is constructed and started again from scratch.
// - A method is exposed by name. Underneath every method is an ActorMethod: it starts a call from the encoded
//   arguments (a MethodRun: the member's own coroutine, created suspended) and reads its outcome back as
//   bytes once it finished. The typed layer decodes arguments with the codec, calls the member function and
//   encodes its value: a member `Task<Result<int>> add(int a, int b)` is registered with
//   `registry.add<Counter>("Counter").method("add", &Counter::add)` and called with
//   `handle.call<int>("add", 2, 3)`. A `Task<Status>` member returns nothing (call<void>).
// - An inline method returns its outcome without suspending (`Status ping(uint64_t)`, `Result<int> get()`: no
//   Task). Callers see no difference; a daemon runs it on arrival when the actor has nothing queued and a free
//   slot (no coroutine frame, no runner), else in its turn like any call.
// - Undecodable arguments give kInvalidArgument naming the method and argument; an exception escaping a
//   method gives kInternal to the caller and the actor carries on (as in Ray). An Error a method returns goes
//   to the caller unchanged.
// - Methods run on the actor's node, on the node's event loop, at most max_concurrency at once (1 by default:
//   one after the other in arrival order). Background work an actor starts with ActorContext::spawn() is
//   owned by the actor: it dies with it.
// - Registries are built at start-up and then only read; they are passed by reference (RuntimeCatalog), never
//   global.
#pragma once

#include <coroutine>
#include <cstring>
#include <exception>
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/async/scope.h"
#include "core/async/task.h"
#include "core/common/result.h"
#include "core/env/env.h"
#include "core/runtime/codec.h"
#include "core/runtime/types.h"

namespace tandem::metrics {
class MetricsRegistry;
}

namespace tandem::runtime {

class RuntimeClient;
class ActorHandle;

class Actor {
 public:
  virtual ~Actor() = default;
  // Asynchronous set-up before the actor is ALIVE; an Error makes the creation fail (the actor becomes DEAD).
  virtual Task<Status> start() { co_return Status{}; }
};

// What an actor sees of the runtime. Owned by the node daemon; lives exactly as long as the actor instance.
class ActorContext {
 public:
  ActorContext(Env& env, RuntimeClient& client, metrics::MetricsRegistry& metrics, ActorInfo info, Scope& scope,
               std::function<void(std::string)> request_exit)
      : env_(env),
        client_(client),
        metrics_(metrics),
        info_(std::move(info)),
        scope_(scope),
        request_exit_(std::move(request_exit)) {}
  ActorContext(const ActorContext&) = delete;
  ActorContext& operator=(const ActorContext&) = delete;

  Env& env() const { return env_; }
  Clock& clock() const { return env_.clock; }
  Random& random() const { return env_.random; }
  // The node's client: call other actors, submit tasks, use the KV.
  RuntimeClient& client() const { return client_; }
  metrics::MetricsRegistry& metrics() const { return metrics_; }

  ActorId id() const { return info_.id; }
  const std::string& name() const { return info_.name; }
  const std::string& class_name() const { return info_.class_name; }
  uint64_t incarnation() const { return info_.incarnation; }
  int32_t restarts_used() const { return info_.restarts_used; }
  NodeId node() const { return env_.node; }
  // This actor as the owner of actors it creates (they die with it unless detached).
  OwnerRef as_owner() const { return OwnerRef{env_.node, info_.id}; }

  // Starts background work owned by this actor; it is cancelled when the actor dies.
  void spawn(Task<void> task) { scope_.spawn(std::move(task)); }

  // Ends this actor for good (DEAD, no restart) once the current event is over; calls in flight fail with
  // kPeerDied. The intended way out of an actor (Ray's exit_actor()).
  void exit(std::string cause = "the actor called exit()") { request_exit_(std::move(cause)); }

  // Creates an actor owned by this one (defined in runtime_client.h).
  template <typename... Args>
  Task<Result<ActorHandle>> create_actor(std::string class_name, ActorOptions options, const Args&... args);

 private:
  Env& env_;
  RuntimeClient& client_;
  metrics::MetricsRegistry& metrics_;
  ActorInfo info_;
  Scope& scope_;
  std::function<void(std::string)> request_exit_;
};

using ActorFactory = std::function<Result<std::unique_ptr<Actor>>(ActorContext& context, const Bytes& args)>;

// One call of a method, started but not yet run: the method's own coroutine frame (created suspended) and how to
// read its outcome as bytes once it has finished — or the Error that refused it before any frame was made
// (undecodable arguments). The runner awaits it directly, so a typed call costs the method's frame and nothing
// around it (a wrapping decode-and-call coroutine was a second frame per call). Owns the frame.
class MethodRun {
 public:
  // Builds a finished frame's outcome into the runner's slot (detail::finish_method).
  using Finish = void (*)(std::coroutine_handle<>, std::optional<Result<Bytes>>&);

  explicit MethodRun(Error refused) : refused_(std::move(refused)) {}
  template <typename T>
  MethodRun(Task<T> task, Finish finish) : finish_(finish) {
    auto handle = task.release();
    TANDEM_CHECK(handle, "an actor method returned an empty Task");
    promise_ = &handle.promise();
    frame_ = handle;
  }
  MethodRun(MethodRun&& other) noexcept
      : frame_(std::exchange(other.frame_, {})),
        promise_(other.promise_),
        finish_(other.finish_),
        refused_(std::move(other.refused_)) {}
  MethodRun& operator=(MethodRun&&) = delete;
  MethodRun(const MethodRun&) = delete;
  ~MethodRun() {
    if (frame_) frame_.destroy();
  }

  // Set when the call was refused before it started; the result is then this error.
  const std::optional<Error>& refused() const { return refused_; }

  // Runs the method inside the awaiting task (symmetric transfer, as awaiting a Task); resumes the awaiter when
  // it finishes.
  bool await_ready() const noexcept { return !frame_; }
  template <typename Promise>
  std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> parent) noexcept {
    promise_->continuation = parent;
    promise_->control = parent.promise().control;
    return frame_;
  }
  void await_resume() const noexcept {}

  // The outcome once finished (co_await first), built in `out`: the refusal, the method's error, or its encoded
  // value (no move of the bytes after encoding). An exception the method threw is rethrown here.
  void result_into(std::optional<Result<Bytes>>& out) {
    if (refused_) {
      out.emplace(*refused_);
      return;
    }
    finish_(frame_, out);
  }

 private:
  std::coroutine_handle<> frame_;
  tandem::detail::PromiseBase* promise_ = nullptr;
  Finish finish_ = nullptr;
  std::optional<Error> refused_;
};

// A registered method: its "Class.method" name (for errors) and how to start a call from encoded arguments.
struct ActorMethod {
  std::string qualified_name;
  MethodRun (*start)(const void* member, Actor& self, std::string_view args, const std::string& qualified_name) =
      nullptr;
  // Set for an inline method (one that returns its outcome without suspending, e.g. a health ping): runs it now
  // and gives its encoded outcome. A daemon takes this path when the call would start at once anyway, so the
  // call costs no coroutine frame and no runner; otherwise the call queues and `start` runs it in its turn.
  Result<Bytes> (*run_now)(const void* member, Actor& self, std::string_view args,
                           const std::string& qualified_name) = nullptr;
  // The member function pointer, type-erased (copied back by `start` as the type it was registered with).
  alignas(void*) unsigned char member[2 * sizeof(void*)] = {};

  MethodRun operator()(Actor& self, std::string_view args) const { return start(member, self, args, qualified_name); }
};

struct ActorClass {
  std::string name;
  ActorFactory factory;
  std::map<std::string, ActorMethod, std::less<>> methods;

  const ActorMethod* find_method(std::string_view method) const {
    auto it = methods.find(method);
    return it == methods.end() ? nullptr : &it->second;
  }
};

namespace detail {

// Reads a finished Task<T>'s outcome as bytes, into `out` (T = Result<R> or Status); Raw: a raw method's
// Result<Bytes>, whose value goes out as it is (a typed method returning a string has it encoded like any value).
template <typename T, bool Raw>
void finish_method(std::coroutine_handle<> frame, std::optional<Result<Bytes>>& out) {
  auto& promise = std::coroutine_handle<typename Task<T>::promise_type>::from_address(frame.address()).promise();
  if (promise.exception) std::rethrow_exception(promise.exception);
  TANDEM_CHECK(promise.value.has_value(), "an actor method finished without co_return");
  T& outcome = *promise.value;
  if (!outcome.ok()) {
    out.emplace(outcome.error());
  } else if constexpr (std::is_same_v<T, Status>) {
    out.emplace(Bytes{});
  } else if constexpr (Raw) {
    out.emplace(std::move(outcome).value());
  } else {
    out.emplace(encode(outcome.value()));
  }
}

// Methods taking a reference parameter need the decoded arguments to outlive the call: they keep them in a
// wrapping coroutine's frame (by-value parameters are copied into the method's own frame, so need none).
template <typename T, typename Outcome, typename... Args>
Task<Outcome> call_keeping_args(T& self, Task<Outcome> (T::*fn)(Args...), std::tuple<std::decay_t<Args>...> values) {
  co_return co_await std::apply([&](auto&... a) -> Task<Outcome> { return (self.*fn)(a...); }, values);
}

// Raw: the method takes the argument bytes as they came, with no codec in between.
template <typename T, bool Raw, typename Outcome, typename... Args>
MethodRun start_method(const void* member, Actor& actor, std::string_view args, const std::string& qualified_name) {
  using Member = Task<Outcome> (T::*)(Args...);
  Member fn;
  std::memcpy(&fn, member, sizeof(fn));
  T& self = static_cast<T&>(actor);
  if constexpr (Raw) {
    return MethodRun((self.*fn)(Bytes(args)), &finish_method<Outcome, Raw>);  // a raw method: the bytes as they came
  } else {
    Result<std::tuple<std::decay_t<Args>...>> decoded = decode_args<std::decay_t<Args>...>(args);
    if (!decoded.ok()) return MethodRun(Error{Errc::kInvalidArgument, qualified_name + ": " + decoded.error().message});
    if constexpr ((std::is_same_v<Args, std::decay_t<Args>> && ...)) {
      return MethodRun(std::apply([&](auto&... a) { return (self.*fn)(std::move(a)...); }, decoded.value()),
                       &finish_method<Outcome, Raw>);
    } else {
      return MethodRun(call_keeping_args<T, Outcome, Args...>(self, fn, std::move(decoded).value()),
                       &finish_method<Outcome, Raw>);
    }
  }
}

// An inline method (Status or Result<R> returned directly, not a Task): decodes, calls and encodes at once.
template <typename T, typename Outcome, typename... Args>
Result<Bytes> run_inline_method(const void* member, Actor& actor, std::string_view args,
                                const std::string& qualified_name) {
  using Member = Outcome (T::*)(Args...);
  Member fn;
  std::memcpy(&fn, member, sizeof(fn));
  T& self = static_cast<T&>(actor);
  Result<std::tuple<std::decay_t<Args>...>> decoded = decode_args<std::decay_t<Args>...>(args);
  if (!decoded.ok()) return Error{Errc::kInvalidArgument, qualified_name + ": " + decoded.error().message};
  Outcome outcome = std::apply([&](auto&... a) { return (self.*fn)(a...); }, decoded.value());
  if (!outcome.ok()) return outcome.error();
  if constexpr (std::is_same_v<Outcome, Status>) {
    return Bytes{};
  } else {
    return encode(outcome.value());
  }
}

inline Task<Result<Bytes>> finished(Result<Bytes> outcome) { co_return outcome; }

// An inline method run in its turn by a runner (the actor was busy when it came): run now, handed over as the
// finished outcome of a one-step frame.
template <typename T, typename Outcome, typename... Args>
MethodRun start_inline_method(const void* member, Actor& actor, std::string_view args,
                              const std::string& qualified_name) {
  return MethodRun(finished(run_inline_method<T, Outcome, Args...>(member, actor, args, qualified_name)),
                   &finish_method<Result<Bytes>, true>);
}

}  // namespace detail

// Adds methods to one registered class.
template <typename T>
class ActorClassBuilder {
 public:
  explicit ActorClassBuilder(ActorClass& actor_class) : class_(actor_class) {}

  template <typename R, typename... Args>
  ActorClassBuilder& method(std::string name, Task<Result<R>> (T::*fn)(Args...)) {
    add(std::move(name), fn, &detail::start_method<T, false, Result<R>, Args...>);
    return *this;
  }

  template <typename... Args>
  ActorClassBuilder& method(std::string name, Task<Status> (T::*fn)(Args...)) {
    add(std::move(name), fn, &detail::start_method<T, false, Status, Args...>);
    return *this;
  }

  // Inline methods: they return their outcome without suspending (see ActorMethod::run_now).
  template <typename R, typename... Args>
  ActorClassBuilder& method(std::string name, Result<R> (T::*fn)(Args...)) {
    add(std::move(name), fn, &detail::start_inline_method<T, Result<R>, Args...>,
        &detail::run_inline_method<T, Result<R>, Args...>);
    return *this;
  }

  template <typename... Args>
  ActorClassBuilder& method(std::string name, Status (T::*fn)(Args...)) {
    add(std::move(name), fn, &detail::start_inline_method<T, Status, Args...>,
        &detail::run_inline_method<T, Status, Args...>);
    return *this;
  }

  // A method that takes and returns raw bytes, with no codec in between.
  ActorClassBuilder& raw_method(std::string name, Task<Result<Bytes>> (T::*fn)(Bytes)) {
    add(std::move(name), fn, &detail::start_method<T, true, Result<Bytes>, Bytes>);
    return *this;
  }

 private:
  template <typename Member>
  void add(std::string name, Member fn, decltype(ActorMethod::start) start,
           decltype(ActorMethod::run_now) run_now = nullptr) {
    TANDEM_CHECK(validate_name(name, "a method name").ok(), "a method name must be 1..kMaxNameBytes bytes");
    static_assert(sizeof(Member) <= sizeof(ActorMethod::member) && std::is_trivially_copyable_v<Member>);
    ActorMethod method;
    method.qualified_name = class_.name + "." + name;
    method.start = start;
    method.run_now = run_now;
    std::memcpy(&method.member, &fn, sizeof(fn));
    const bool inserted = class_.methods.emplace(std::move(name), std::move(method)).second;
    TANDEM_CHECK(inserted, "an actor method was registered twice");
  }
  ActorClass& class_;
};

class ActorClassRegistry {
 public:
  // Registers class T under `name`; T is constructed as T(ActorContext&, CtorArgs...).
  template <typename T, typename... CtorArgs>
  ActorClassBuilder<T> add(std::string name) {
    static_assert(std::is_base_of_v<Actor, T>, "an actor class derives from tandem::runtime::Actor");
    static_assert(std::is_constructible_v<T, ActorContext&, CtorArgs...>,
                  "the actor class needs a constructor T(ActorContext&, CtorArgs...)");
    TANDEM_CHECK(validate_name(name, "an actor class name").ok(), "an actor class name must be 1..256 bytes");
    auto [it, inserted] = classes_.emplace(name, ActorClass{});
    TANDEM_CHECK(inserted, "an actor class was registered twice");
    ActorClass& actor_class = it->second;
    actor_class.name = name;
    actor_class.factory = [name](ActorContext& context, const Bytes& args) -> Result<std::unique_ptr<Actor>> {
      Result<std::tuple<CtorArgs...>> decoded = decode_args<CtorArgs...>(args);
      if (!decoded.ok()) {
        return Error{Errc::kInvalidArgument, "constructor of " + name + ": " + decoded.error().message};
      }
      try {
        return std::apply(
            [&](auto&... a) -> std::unique_ptr<Actor> { return std::make_unique<T>(context, std::move(a)...); },
            decoded.value());
      } catch (const std::exception& e) {
        return Error{Errc::kInternal, "constructor of " + name + " threw: " + e.what()};
      }
    };
    return ActorClassBuilder<T>(actor_class);
  }

  const ActorClass* find(std::string_view name) const {
    auto it = classes_.find(name);
    return it == classes_.end() ? nullptr : &it->second;
  }

  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& [name, actor_class] : classes_) out.push_back(name);
    return out;
  }

 private:
  std::map<std::string, ActorClass, std::less<>> classes_;
};

}  // namespace tandem::runtime
