#include "core/async/rpc.h"

#include <string>
#include <utility>

namespace tandem {

RpcEndpoint::RpcEndpoint(Transport& transport, Clock& clock, Port port)
    : transport_(transport), clock_(clock), address_{transport.node(), port == 0 ? transport.allocate_port() : port} {
  transport_.bind(address_.port, this);
}

RpcEndpoint::~RpcEndpoint() {
  server_tasks_.cancel_all();
  TANDEM_CHECK(pending_.empty(), "an RpcEndpoint was destroyed while calls through it were still waiting");
  transport_.unbind(address_.port);
}

void RpcEndpoint::serve(uint32_t method, Handler handler) {
  TANDEM_CHECK(method >= kFirstMethod, "RPC method ids below kFirstMethod are reserved");
  const bool inserted = handlers_.emplace(method, std::move(handler)).second;
  TANDEM_CHECK(inserted, "an RPC method was registered twice on one endpoint");
}

void RpcEndpoint::serve_posts(uint32_t kind, PostHandler handler) {
  TANDEM_CHECK(kind >= kFirstMethod, "post kinds below kFirstMethod are reserved");
  TANDEM_CHECK(handlers_.count(kind) == 0, "a post kind is also an RPC method on this endpoint");
  const bool inserted = post_handlers_.emplace(kind, std::move(handler)).second;
  TANDEM_CHECK(inserted, "a post kind was registered twice on one endpoint");
}

void RpcEndpoint::on_bounce(uint32_t kind, BounceHandler handler) {
  TANDEM_CHECK(kind >= kFirstMethod, "post kinds below kFirstMethod are reserved");
  const bool inserted = bounce_handlers_.emplace(kind, std::move(handler)).second;
  TANDEM_CHECK(inserted, "a bounce handler was registered twice on one endpoint");
}

uint64_t RpcEndpoint::post(Address to, uint32_t kind, Bytes payload) {
  TANDEM_CHECK(kind >= kFirstMethod, "post kinds below kFirstMethod are reserved");
  // Drawn from the call ids: a kNotFound reply from an endpoint that does not serve the kind matches no call.
  const uint64_t correlation = next_call_id_++;
  transport_.send(Message{address_, to, kind, correlation, std::move(payload)});
  return correlation;
}

RpcEndpoint::Call::Call(RpcEndpoint& endpoint, Address to, uint32_t method, Bytes request, Duration timeout)
    : endpoint_(endpoint), call_id_(endpoint.next_call_id_++), deadline_(endpoint.clock_.now() + timeout) {
  TANDEM_CHECK(method >= kFirstMethod, "RPC method ids below kFirstMethod are reserved");
  endpoint_.transport_.send(Message{endpoint_.address_, to, method, call_id_, std::move(request)});
}

RpcEndpoint::Call::~Call() {
  if (registered_) endpoint_.pending_.erase(call_id_);  // the caller was cancelled mid-call
}

void RpcEndpoint::Call::wait(Wakeup waiter) {
  endpoint_.pending_.emplace(call_id_, Pending{waiter, &slot_});
  registered_ = true;
  endpoint_.clock_.wake_at(deadline_, waiter);
}

Result<Bytes> RpcEndpoint::Call::await_resume() {
  // Resumed by complete() (the slot holds the outcome) or by the deadline (still registered).
  if (registered_ && endpoint_.pending_.erase(call_id_) > 0) {
    registered_ = false;
    return Error{Errc::kTimeout, "no reply from the callee within the deadline"};
  }
  registered_ = false;
  return std::move(slot_);
}

Task<Result<Bytes>> RpcEndpoint::call(Address to, uint32_t method, Bytes request, Duration timeout) {
  // A named awaitable: its address must stay fixed while suspended (complete() writes into it).
  Call call(*this, to, method, std::move(request), timeout);
  co_return co_await call;
}

void RpcEndpoint::complete(uint64_t correlation, Result<Bytes> result) {
  auto it = pending_.find(correlation);
  if (it == pending_.end()) return;  // late reply after a timeout, or the caller was cancelled
  const Pending pending = it->second;
  pending_.erase(it);
  if (!pending.waiter.valid()) return;
  *pending.slot = std::move(result);
  pending.waiter.fire();
}

void RpcEndpoint::on_message(Message&& message) {
  if (message.kind == kReplyKind) {
    if (message.payload.empty()) {
      complete(message.correlation, Error{Errc::kInternal, "malformed RPC reply: no status byte"});
      return;
    }
    const auto code = static_cast<Errc>(static_cast<uint8_t>(message.payload[0]));
    if (code == Errc::kOk) {
      message.payload.erase(0, 1);
      complete(message.correlation, std::move(message.payload));
    } else if (static_cast<uint8_t>(code) > static_cast<uint8_t>(Errc::kInternal)) {
      complete(message.correlation, Error{Errc::kInternal, "malformed RPC reply: unknown status byte"});
    } else {
      complete(message.correlation, Error{code, message.payload.substr(1)});
    }
    return;
  }
  if (!post_handlers_.empty()) {
    if (auto post = post_handlers_.find(message.kind); post != post_handlers_.end()) {
      post->second(message.from, message.correlation, std::move(message.payload));
      return;
    }
  }
  auto it = handlers_.find(message.kind);
  if (it == handlers_.end()) {
    reply(message.from, message.correlation,
          Error{Errc::kNotFound, "no RPC method " + std::to_string(message.kind) + " at " + to_string(address_)});
    return;
  }
  server_tasks_.spawn(serve_one(message.from, message.correlation, &it->second, std::move(message.payload)));
}

void RpcEndpoint::on_undeliverable(Message&& message, Errc reason) {
  if (message.kind == kReplyKind) return;  // the caller is gone; nobody waits for this reply
  if (auto bounce = bounce_handlers_.find(message.kind); bounce != bounce_handlers_.end()) {
    bounce->second(message.to, message.correlation, reason);
    return;
  }
  if (post_handlers_.count(message.kind) > 0) return;  // a post this endpoint also serves: nobody waits for it
  complete(message.correlation,
           Error{reason, reason == Errc::kUnreachable ? "node " + std::to_string(message.to.node) + " is down"
                                                      : "no endpoint at " + to_string(message.to)});
}

Task<void> RpcEndpoint::serve_one(Address from, uint64_t correlation, Handler* handler, Bytes request) {
  Result<Bytes> result = co_await (*handler)(from, std::move(request));
  reply(from, correlation, std::move(result));
}

void RpcEndpoint::reply(Address to, uint64_t correlation, Result<Bytes>&& result) {
  Bytes payload;
  if (result.ok()) {
    // The status byte goes in front of the value's own bytes (usually within their capacity: no new buffer).
    payload = std::move(result).value();
    payload.insert(payload.begin(), static_cast<char>(Errc::kOk));
  } else {
    payload.reserve(1 + result.error().message.size());
    payload.push_back(static_cast<char>(result.error().code));
    payload += result.error().message;
  }
  transport_.send(Message{address_, to, kReplyKind, correlation, std::move(payload)});
}

}  // namespace tandem
