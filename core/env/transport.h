// Transport: addressed, unreliable, per-pair-ordered message delivery between endpoints on nodes.
//
// Contract:
// - An Address is (node, port). A Receiver bound to a port on this node gets every message delivered to it,
//   one at a time, on the node's event loop. bind() of a taken port and unbind() of a free one are bugs.
// - send() never blocks and never fails synchronously. A message may be lost (partition, loss, crash); it is
//   never corrupted. Between one pair of endpoints, messages that arrive do so in send order unless a fault
//   explicitly reorders them (sim only).
// - When the transport learns a message cannot be delivered it tells the sender's Receiver through
//   on_undeliverable(): kUnreachable when the destination node is down or unknown (connection refused),
//   kPeerDied when the node is up but nothing is bound to the port (the actor is gone). A message dropped by a
//   partition or loss produces no notice; only a deadline finds that out.
// - The payload bytes are the same in every world: the real transport carries them unchanged.
#pragma once

#include <compare>
#include <cstdint>
#include <string>

#include "core/common/result.h"

namespace tandem {

using NodeId = uint32_t;
using Port = uint32_t;
using Bytes = std::string;  // an opaque byte string; std::string for its small-buffer optimisation

inline constexpr NodeId kNoNode = UINT32_MAX;

struct Address {
  NodeId node = kNoNode;
  Port port = 0;
  friend auto operator<=>(const Address&, const Address&) = default;
};

std::string to_string(const Address& address);

struct Message {
  Address from;
  Address to;
  uint32_t kind = 0;         // application-defined message type (see core/async/rpc.h for the RPC kinds)
  uint64_t correlation = 0;  // ties a reply to its request
  Bytes payload;
};

class Receiver {
 public:
  virtual ~Receiver() = default;

  // A message addressed to the bound port arrived.
  virtual void on_message(Message&& message) = 0;

  // A message this endpoint sent could not be delivered, for the reason given (kUnreachable or kPeerDied).
  virtual void on_undeliverable(Message&& message, Errc reason) = 0;
};

class Transport {
 public:
  virtual ~Transport() = default;

  // The node this transport belongs to.
  virtual NodeId node() const = 0;

  // Route messages for `port` on this node to `receiver` until unbind(port). The receiver must outlive the binding.
  virtual void bind(Port port, Receiver* receiver) = 0;

  // Stop routing `port`; messages arriving later bounce with kPeerDied.
  virtual void unbind(Port port) = 0;

  // A port no one on this node has bound since the node (re)started.
  virtual Port allocate_port() = 0;

  // Queue a message for delivery. `message.from` must be an address on this node.
  virtual void send(Message&& message) = 0;
};

}  // namespace tandem
