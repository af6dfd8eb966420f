// RpcEndpoint: request/response calls over a Transport, with deadlines and typed errors.
//
// Contract:
// - An endpoint binds one port on its node. It serves the methods registered with serve() and makes calls with
//   call(). Method ids are application-chosen numbers >= kFirstMethod.
// - call() ends in exactly one of: the handler's value; the handler's Error (its code crosses the wire
//   unchanged); kTimeout when no reply came before the deadline (lost, partitioned or slow); kUnreachable when
//   the destination node is down; kPeerDied when the node is up but the destination endpoint is gone;
//   kNotFound when the destination does not serve the method. Late replies are dropped.
// - Each request runs its handler as a root task of the endpoint's server scope; destroying the endpoint
//   cancels them. Calls in flight must end (or their callers be cancelled) before the endpoint is destroyed:
//   declare the endpoint before the Scope whose tasks call through it.
// - Wire format (the same bytes in every world): a request is Message{kind = method, correlation = call id,
//   payload = request bytes}; a reply is Message{kind = kReplyKind, correlation = call id, payload = one status
//   byte (Errc) followed by the value bytes or the error message}.
// - Posts: one-way messages on the same port, for protocols that batch (no reply, no deadline, no bookkeeping
//   here). post() sends Message{kind, correlation, payload} with a fresh correlation (drawn from the call ids,
//   so a kNotFound reply from an endpoint that does not serve the kind matches no call) and returns it. The
//   receiver's post handler for that kind runs inline when it arrives. When the transport reports a post
//   undeliverable, the sender's bounce handler for its kind hears of it (nothing when none is registered).
#pragma once

#include <cstdint>
#include <functional>
#include <unordered_map>

#include "core/async/scope.h"
#include "core/async/task.h"
#include "core/common/result.h"
#include "core/env/clock.h"
#include "core/env/transport.h"

namespace tandem {

class RpcEndpoint final : public Receiver {
 public:
  static constexpr uint32_t kReplyKind = 1;
  static constexpr uint32_t kFirstMethod = 16;

  // A handler gets the caller's address and the request bytes.
  using Handler = std::function<Task<Result<Bytes>>(Address from, Bytes request)>;

  // Binds `port` (or a fresh one when port == 0) on the transport's node.
  RpcEndpoint(Transport& transport, Clock& clock, Port port = 0);
  ~RpcEndpoint() override;
  RpcEndpoint(const RpcEndpoint&) = delete;
  RpcEndpoint& operator=(const RpcEndpoint&) = delete;

  Address address() const { return address_; }

  // Registers the handler for `method`; registering a method twice is a bug.
  void serve(uint32_t method, Handler handler);

  // Calls `method` at `to` and waits at most `timeout` for the reply.
  Task<Result<Bytes>> call(Address to, uint32_t method, Bytes request, Duration timeout);

  // The same call as an awaitable, with no coroutine frame of its own: constructing it sends the request;
  // co_await gives the outcome (call()'s contract). Neither copyable nor movable (the endpoint writes the reply
  // into it): keep it in a named local and await it once — `RpcEndpoint::Call c(endpoint, ...); co_await c;`
  // (GCC 12 may destroy a temporary awaitable in a co_await expression twice).
  class Call {
   public:
    Call(RpcEndpoint& endpoint, Address to, uint32_t method, Bytes request, Duration timeout);
    ~Call();
    Call(const Call&) = delete;
    Call& operator=(const Call&) = delete;

    bool await_ready() const noexcept { return false; }
    template <typename Promise>
    void await_suspend(std::coroutine_handle<Promise> handle) {
      wait(make_wakeup(handle));
    }
    Result<Bytes> await_resume();

   private:
    void wait(Wakeup waiter);

    RpcEndpoint& endpoint_;
    uint64_t call_id_;
    TimePoint deadline_;
    Result<Bytes> slot_ = Error{Errc::kTimeout, {}};
    bool registered_ = false;
  };

  // One-way messages (see the contract above). Kinds share the method id space and must be >= kFirstMethod.
  using PostHandler = std::function<void(Address from, uint64_t correlation, Bytes payload)>;
  using BounceHandler = std::function<void(Address to, uint64_t correlation, Errc reason)>;
  void serve_posts(uint32_t kind, PostHandler handler);
  void on_bounce(uint32_t kind, BounceHandler handler);
  uint64_t post(Address to, uint32_t kind, Bytes payload);

  // Calls still waiting for a reply.
  size_t pending_calls() const { return pending_.size(); }

  void on_message(Message&& message) override;
  void on_undeliverable(Message&& message, Errc reason) override;

 private:
  struct Pending {
    Wakeup waiter;
    Result<Bytes>* slot;
  };
  Task<void> serve_one(Address from, uint64_t correlation, Handler* handler, Bytes request);
  void reply(Address to, uint64_t correlation, Result<Bytes>&& result);
  void complete(uint64_t correlation, Result<Bytes> result);

  Transport& transport_;
  Clock& clock_;
  Address address_;
  uint64_t next_call_id_ = 1;
  std::unordered_map<uint32_t, Handler> handlers_;   // looked up, never iterated
  std::unordered_map<uint32_t, PostHandler> post_handlers_;      // looked up, never iterated
  std::unordered_map<uint32_t, BounceHandler> bounce_handlers_;  // looked up, never iterated
  std::unordered_map<uint64_t, Pending> pending_;    // looked up, never iterated
  Scope server_tasks_;                               // last: handlers die before the state they use
};

}  // namespace tandem
