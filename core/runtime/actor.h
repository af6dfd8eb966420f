// Actor classes: the C++ classes a node daemon can host as actors, registered by name with their methods.
//
// Contract:
// - An actor class derives from Actor. Its constructor takes (ActorContext&, constructor arguments...) and must
//   not block; asynchronous set-up (e.g. reading a checkpoint from the control store's KV) goes in start(),
//   which runs before the actor is ALIVE. A restarted actor is constructed and started again from scratch.
// - A method is exposed by name. Underneath every method takes Bytes and returns Task<Result<Bytes>> (the
//   raw form, ActorMethod); the typed layer decodes arguments with the codec, calls the member function and
//   encodes its value: a member `Task<Result<int>> add(int a, int b)` is registered with
//   `registry.add<Counter>("Counter").method("add", &Counter::add)` and called with
//   `handle.call<int>("add", 2, 3)`. A `Task<Status>` member returns nothing (call<void>).
// - Undecodable arguments give kInvalidArgument naming the method and argument; an exception escaping a
//   method gives kInternal to the caller and the actor carries on (as in Ray). An Error a method returns goes
//   to the caller unchanged.
// - Methods run on the actor's node, on the node's event loop, at most max_concurrency at once (1 by default:
//   one after the other in arrival order). Background work an actor starts with ActorContext::spawn() is
//   owned by the actor: it dies with it.
// - Registries are built at start-up and then only read; they are passed by reference (RuntimeCatalog), never
//   global.
#pragma once

#include <exception>
#include <functional>
#include <map>
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
using ActorMethod = std::function<Task<Result<Bytes>>(Actor& self, Bytes args)>;

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

template <typename T, typename R, typename... Args>
Task<Result<Bytes>> invoke_method(T& self, Task<Result<R>> (T::*fn)(Args...), Bytes args, std::string qualified) {
  Result<std::tuple<std::decay_t<Args>...>> decoded = decode_args<std::decay_t<Args>...>(args);
  if (!decoded.ok()) co_return Error{Errc::kInvalidArgument, qualified + ": " + decoded.error().message};
  std::tuple<std::decay_t<Args>...> values = std::move(decoded).value();
  std::optional<Result<R>> result;
  std::string thrown;
  try {
    result.emplace(co_await std::apply([&](auto&... a) { return (self.*fn)(std::move(a)...); }, values));
  } catch (const std::exception& e) {
    thrown = e.what();
  } catch (...) {
    thrown = "a non-standard exception";
  }
  if (!result) co_return Error{Errc::kInternal, qualified + " threw: " + thrown};
  if (!result->ok()) co_return result->error();
  co_return encode(result->value());
}

template <typename T, typename... Args>
Task<Result<Bytes>> invoke_void_method(T& self, Task<Status> (T::*fn)(Args...), Bytes args, std::string qualified) {
  Result<std::tuple<std::decay_t<Args>...>> decoded = decode_args<std::decay_t<Args>...>(args);
  if (!decoded.ok()) co_return Error{Errc::kInvalidArgument, qualified + ": " + decoded.error().message};
  std::tuple<std::decay_t<Args>...> values = std::move(decoded).value();
  std::optional<Status> result;
  std::string thrown;
  try {
    result.emplace(co_await std::apply([&](auto&... a) { return (self.*fn)(std::move(a)...); }, values));
  } catch (const std::exception& e) {
    thrown = e.what();
  } catch (...) {
    thrown = "a non-standard exception";
  }
  if (!result) co_return Error{Errc::kInternal, qualified + " threw: " + thrown};
  if (!result->ok()) co_return result->error();
  co_return Bytes{};
}

template <typename T>
Task<Result<Bytes>> invoke_raw_method(T& self, Task<Result<Bytes>> (T::*fn)(Bytes), Bytes args) {
  co_return co_await (self.*fn)(std::move(args));
}

}  // namespace detail

// Adds methods to one registered class.
template <typename T>
class ActorClassBuilder {
 public:
  explicit ActorClassBuilder(ActorClass& actor_class) : class_(actor_class) {}

  template <typename R, typename... Args>
  ActorClassBuilder& method(std::string name, Task<Result<R>> (T::*fn)(Args...)) {
    std::string qualified = class_.name + "." + name;
    add(std::move(name), [fn, qualified](Actor& self, Bytes args) {
      return detail::invoke_method<T, R, Args...>(static_cast<T&>(self), fn, std::move(args), qualified);
    });
    return *this;
  }

  template <typename... Args>
  ActorClassBuilder& method(std::string name, Task<Status> (T::*fn)(Args...)) {
    std::string qualified = class_.name + "." + name;
    add(std::move(name), [fn, qualified](Actor& self, Bytes args) {
      return detail::invoke_void_method<T, Args...>(static_cast<T&>(self), fn, std::move(args), qualified);
    });
    return *this;
  }

  // A method that takes and returns raw bytes, with no codec in between.
  ActorClassBuilder& raw_method(std::string name, Task<Result<Bytes>> (T::*fn)(Bytes)) {
    add(std::move(name), [fn](Actor& self, Bytes args) {
      return detail::invoke_raw_method<T>(static_cast<T&>(self), fn, std::move(args));
    });
    return *this;
  }

 private:
  void add(std::string name, ActorMethod method) {
    TANDEM_CHECK(validate_name(name, "a method name").ok(), "a method name must be 1..kMaxNameBytes bytes");
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
