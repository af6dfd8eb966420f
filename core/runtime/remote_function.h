// Remote functions: stateless tasks registered by name, run on whichever node the scheduler picks.
//
// Contract:
// - A remote function takes a TaskContext& and its arguments and returns Task<Result<R>>. Underneath it is a
//   RemoteFunction taking and returning Bytes; the typed layer decodes the arguments with the codec and encodes
//   the value: `functions.add("train", train)` for `Task<Result<double>> train(TaskContext&, Candidate)`, then
//   `client.submit<double>("train", options, candidate)`.
// - A task may run more than once (retries after its node died), so it should be idempotent or tolerate that.
// - Undecodable arguments give kInvalidArgument; an escaping exception gives kInternal; an Error the function
//   returns reaches the submitter unchanged and is never retried.
// - Registered at start-up and then only read; passed by reference (RuntimeCatalog), never global.
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

#include "core/async/task.h"
#include "core/common/result.h"
#include "core/env/env.h"
#include "core/runtime/codec.h"
#include "core/runtime/types.h"

namespace tandem::runtime {

class RuntimeClient;

// What a running task sees. Owned by the daemon for the duration of one attempt.
struct TaskContext {
  Env& env;
  RuntimeClient& client;
  std::string function;
  LeaseId lease = 0;
  uint32_t attempt = 0;  // 0 for the first run, then 1, 2, ... after node losses
};

using RemoteFunction = std::function<Task<Result<Bytes>>(TaskContext& context, Bytes args)>;

namespace detail {

template <typename R, typename... Args>
Task<Result<Bytes>> invoke_function(std::shared_ptr<std::function<Task<Result<R>>(TaskContext&, Args...)>> fn,
                                    TaskContext& context, Bytes args) {
  Result<std::tuple<std::decay_t<Args>...>> decoded = decode_args<std::decay_t<Args>...>(args);
  if (!decoded.ok()) {
    co_return Error{Errc::kInvalidArgument, "task " + context.function + ": " + decoded.error().message};
  }
  std::tuple<std::decay_t<Args>...> values = std::move(decoded).value();
  std::optional<Result<R>> result;
  std::string thrown;
  try {
    result.emplace(co_await std::apply([&](auto&... a) { return (*fn)(context, std::move(a)...); }, values));
  } catch (const std::exception& e) {
    thrown = e.what();
  } catch (...) {
    thrown = "a non-standard exception";
  }
  if (!result) co_return Error{Errc::kInternal, "task " + context.function + " threw: " + thrown};
  if (!result->ok()) co_return result->error();
  if constexpr (std::is_void_v<R>) {
    co_return Bytes{};
  } else {
    co_return encode(result->value());
  }
}

template <typename F>
struct FunctionTraits;
template <typename R, typename... Args>
struct FunctionTraits<std::function<Task<Result<R>>(TaskContext&, Args...)>> {
  using Result = R;
};

}  // namespace detail

class FunctionRegistry {
 public:
  // Registers a function pointer or a non-generic lambda `Task<Result<R>>(TaskContext&, Args...)`.
  template <typename F>
  void add(std::string name, F function) {
    std::function wrapped{std::move(function)};
    add_typed(std::move(name), std::move(wrapped));
  }

  // Registers the raw form.
  void add_raw(std::string name, RemoteFunction function) {
    TANDEM_CHECK(validate_name(name, "a function name").ok(), "a function name must be 1..kMaxNameBytes bytes");
    const bool inserted = functions_.emplace(std::move(name), std::move(function)).second;
    TANDEM_CHECK(inserted, "a remote function was registered twice");
  }

  const RemoteFunction* find(std::string_view name) const {
    auto it = functions_.find(name);
    return it == functions_.end() ? nullptr : &it->second;
  }

 private:
  template <typename R, typename... Args>
  void add_typed(std::string name, std::function<Task<Result<R>>(TaskContext&, Args...)> function) {
    auto shared = std::make_shared<std::function<Task<Result<R>>(TaskContext&, Args...)>>(std::move(function));
    add_raw(std::move(name), [shared](TaskContext& context, Bytes args) {
      return detail::invoke_function<R, Args...>(shared, context, std::move(args));
    });
  }

  std::map<std::string, RemoteFunction, std::less<>> functions_;
};

}  // namespace tandem::runtime
