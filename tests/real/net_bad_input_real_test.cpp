// GrpcTransport under bad input from a raw gRPC client: unparsable and truncated batches, an unknown frame type,
// a frame claiming another node, a misaddressed frame, an oversized payload, missing metadata, an unknown method.
// Each is refused, counted and logged, and the same stream still delivers a good frame afterwards.
#include <catch2/catch.hpp>

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <string>

#include "tandem_net.pb.h"
#include "tests/real/net_test_support.h"

namespace tandem::real {
namespace {

using testing::Inbox;
using testing::kTestTimeout;
using testing::local_endpoint;
using testing::started_transport;

constexpr char kConnect[] = "/tandem.real.wire.Link/Connect";

grpc::ByteBuffer bytes_buffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

std::string serialized(const wire::Batch& batch) {
  std::string bytes;
  REQUIRE(batch.SerializeToString(&bytes));
  return bytes;
}

wire::Frame good_frame(uint64_t correlation, std::string payload = "good") {
  wire::Frame frame;
  frame.set_type(1);
  frame.set_from_node(1);
  frame.set_from_port(7);
  frame.set_to_node(2);
  frame.set_to_port(5);
  frame.set_kind(20);
  frame.set_correlation(correlation);
  frame.set_payload(std::move(payload));
  return frame;
}

std::string batch_of(const wire::Frame& frame) {
  wire::Batch batch;
  *batch.add_frames() = frame;
  return serialized(batch);
}

// A Link stream opened by hand, driven through a completion queue; every wait is bounded.
class RawLink {
 public:
  RawLink(uint16_t port, const std::vector<std::pair<std::string, std::string>>& metadata,
          const char* method = kConnect)
      : stub_(grpc::CreateChannel(local_endpoint(port), grpc::InsecureChannelCredentials())) {
    for (const auto& [key, value] : metadata) context_.AddMetadata(key, value);
    call_ = stub_.PrepareCall(&context_, method, &queue_);
    call_->StartCall(tag(1));
    started_ = wait(1);
  }
  ~RawLink() {
    context_.TryCancel();
    queue_.Shutdown();
    void* got = nullptr;
    bool ok = false;
    while (queue_.Next(&got, &ok)) {
    }
  }
  bool started() const { return started_; }
  bool write(const std::string& bytes) {
    grpc::ByteBuffer buffer = bytes_buffer(bytes);
    call_->Write(buffer, tag(2));
    return wait(2);
  }
  grpc::Status finish() {
    call_->WritesDone(tag(3));
    wait(3);
    grpc::Status status;
    call_->Finish(&status, tag(4));
    wait(4);
    return status;
  }

 private:
  static void* tag(intptr_t n) { return reinterpret_cast<void*>(n); }
  bool wait(intptr_t expected) {
    void* got = nullptr;
    bool ok = false;
    const auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(10);
    while (queue_.AsyncNext(&got, &ok, deadline) == grpc::CompletionQueue::GOT_EVENT) {
      if (got == tag(expected)) return ok;
    }
    return false;
  }

  grpc::GenericStub stub_;
  grpc::ClientContext context_;
  grpc::CompletionQueue queue_;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call_;
  bool started_ = false;
};

TEST_CASE("GrpcTransport bad input: every kind of bad frame is refused and counted, and the stream keeps serving") {
  EventLoop loop;
  TransportOptions options;
  options.max_message_bytes = 1024;
  auto b = started_transport(loop, 2, options);
  Inbox at_b;
  b->bind(5, &at_b);

  RawLink link(b->port(), {{"tandem-node", "1"}});
  REQUIRE(link.started());

  // Not a protobuf at all: a field with wire type 7, which does not exist.
  CHECK(link.write(std::string("\xff\xff\xff\xff\x0f", 5)));
  // A good batch cut short in the middle of its payload.
  const std::string whole = batch_of(good_frame(1, std::string(100, 'x')));
  CHECK(link.write(whole.substr(0, whole.size() / 2)));
  // An unknown frame type.
  wire::Frame unknown_type = good_frame(2);
  unknown_type.set_type(7);
  CHECK(link.write(batch_of(unknown_type)));
  // A frame claiming to come from node 5 on node 1's stream.
  wire::Frame impostor = good_frame(3);
  impostor.set_from_node(5);
  CHECK(link.write(batch_of(impostor)));
  // A frame addressed to node 3, arriving at node 2.
  wire::Frame misaddressed = good_frame(4);
  misaddressed.set_to_node(3);
  CHECK(link.write(batch_of(misaddressed)));
  // A payload over max_message_bytes (1024).
  CHECK(link.write(batch_of(good_frame(5, std::string(2000, 'y')))));
  // And then a good one, on the same stream.
  CHECK(link.write(batch_of(good_frame(6))));

  REQUIRE(loop.run_until([&] { return !at_b.messages.empty(); }, kTestTimeout));
  loop.run_for(20ms);
  REQUIRE(at_b.messages.size() == 1);
  CHECK(at_b.messages.front().correlation == 6);
  CHECK(at_b.messages.front().payload == "good");
  const TransportStats stats = b->stats();
  CHECK(stats.rejected_malformed == 4);  // unparsable, truncated, unknown type, misaddressed
  CHECK(stats.rejected_unknown_peer == 1);
  CHECK(stats.rejected_oversized == 1);
  CHECK(stats.delivered == 1);
  CHECK(link.finish().ok());  // the server ends the stream cleanly when we close it

  // The process keeps serving: a real transport still gets through.
  auto a = started_transport(loop, 1);
  a->set_peer(2, local_endpoint(b->port()));
  a->send(Message{{1, 7}, {2, 5}, 20, 7, "after the bad frames"});
  REQUIRE(loop.run_until([&] { return at_b.messages.size() == 2; }, kTestTimeout));
  CHECK(at_b.messages.back().correlation == 7);
}

TEST_CASE("GrpcTransport bad input: a stream without a node id, or for an unknown method, is refused") {
  EventLoop loop;
  auto b = started_transport(loop, 2);
  {
    RawLink anonymous(b->port(), {});
    anonymous.write(batch_of(good_frame(1)));
    const grpc::Status status = anonymous.finish();
    CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(status.error_message().find("tandem-node") != std::string::npos);
  }
  {
    RawLink garbage_id(b->port(), {{"tandem-node", "one"}});
    CHECK(garbage_id.finish().error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  }
  {
    RawLink wrong_method(b->port(), {{"tandem-node", "1"}}, "/tandem.real.wire.Link/Other");
    CHECK(wrong_method.finish().error_code() == grpc::StatusCode::UNIMPLEMENTED);
  }
  CHECK(b->stats().rejected_malformed == 2);
}

TEST_CASE("GrpcTransport bad input: an oversized send is refused with kInvalidArgument and the link keeps going") {
  testing::TransportPair t;
  Inbox at_a;
  Inbox at_b;
  t.a->bind(7, &at_a);
  t.b->bind(5, &at_b);
  TransportOptions small;
  small.max_message_bytes = 16;
  auto c = started_transport(t.loop, 3, small);
  c->set_peer(2, local_endpoint(t.b->port()));
  Inbox at_c;
  c->bind(7, &at_c);
  c->send(Message{{3, 7}, {2, 5}, 20, 1, std::string(17, 'z')});
  c->send(Message{{3, 7}, {2, 5}, 20, 2, std::string(16, 'z')});
  REQUIRE(t.loop.run_until([&] { return at_c.bounces.size() == 1 && at_b.messages.size() == 1; }, kTestTimeout));
  CHECK(at_c.bounces.front().second == Errc::kInvalidArgument);
  CHECK(at_c.bounces.front().first.correlation == 1);
  CHECK(at_b.messages.front().correlation == 2);
  CHECK(c->stats().rejected_oversized == 1);
}

}  // namespace
}  // namespace tandem::real
