// Properties of the real transport's frame codec and of the event loop's timer order (RapidCheck).
#include <catch2/catch.hpp>
#include <rapidcheck.h>
#include <rapidcheck/catch.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "real_backend/net/event_loop.h"
#include "real_backend/net/link_core.h"

namespace tandem::real {
namespace {

grpc::ByteBuffer bytes_buffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

TEST_CASE("Link codec: any batch of messages decodes to the same messages, in order") {
  rc::prop("encode then decode is the identity on messages between two nodes", [] {
    const auto count = *rc::gen::inRange<size_t>(0, 40);
    std::vector<Message> messages;
    for (size_t i = 0; i < count; ++i) {
      Message m;
      m.from = Address{1, *rc::gen::arbitrary<uint32_t>()};
      m.to = Address{2, *rc::gen::arbitrary<uint32_t>()};
      m.kind = *rc::gen::arbitrary<uint32_t>();
      m.correlation = *rc::gen::arbitrary<uint64_t>();
      m.payload = *rc::gen::container<std::string>(rc::gen::arbitrary<char>());
      messages.push_back(std::move(m));
    }
    std::vector<Message> sent = messages;
    grpc::ByteBuffer buffer;
    detail::encode_batch(messages, detail::kFrameMessage, &buffer);
    detail::DecodedBatch decoded = detail::decode_batch(buffer, detail::kFrameMessage, 1, 2, 1 << 20);
    RC_ASSERT(decoded.first_problem.empty());
    RC_ASSERT(decoded.messages.size() == sent.size());
    for (size_t i = 0; i < sent.size(); ++i) {
      RC_ASSERT(decoded.messages[i].from == sent[i].from);
      RC_ASSERT(decoded.messages[i].to == sent[i].to);
      RC_ASSERT(decoded.messages[i].kind == sent[i].kind);
      RC_ASSERT(decoded.messages[i].correlation == sent[i].correlation);
      RC_ASSERT(decoded.messages[i].payload == sent[i].payload);
    }
  });
}

TEST_CASE("Link codec: arbitrary bytes are either refused with a reason or decode to well-formed frames") {
  rc::prop("decoding never crashes and accounts for every refusal", [] {
    const auto bytes = *rc::gen::container<std::string>(rc::gen::arbitrary<char>());
    grpc::ByteBuffer buffer = bytes_buffer(bytes);
    detail::DecodedBatch decoded = detail::decode_batch(buffer, detail::kFrameMessage, 1, 2, 64);
    const uint64_t refused = decoded.malformed + decoded.unknown_peer + decoded.oversized;
    RC_ASSERT((refused == 0) == decoded.first_problem.empty());
    for (const Message& m : decoded.messages) {
      RC_ASSERT(m.from.node == 1u);
      RC_ASSERT(m.to.node == 2u);
      RC_ASSERT(m.payload.size() <= 64u);
    }
  });
}

TEST_CASE("EventLoop: timers fire in (time, scheduling order) for any schedule") {
  rc::prop("a random schedule of run_at timers fires sorted by due time, ties in scheduling order", [] {
    const auto offsets_us = *rc::gen::container<std::vector<int>>(rc::gen::inRange(0, 2000));
    EventLoop loop;
    const TimePoint start = loop.now();
    std::vector<size_t> fired;
    for (size_t i = 0; i < offsets_us.size(); ++i) {
      loop.run_at(start + std::chrono::microseconds(offsets_us[i]), [&fired, i] { fired.push_back(i); });
    }
    RC_ASSERT(loop.run_until([&] { return fired.size() == offsets_us.size(); }, 5s));
    std::vector<size_t> expected(offsets_us.size());
    for (size_t i = 0; i < expected.size(); ++i) expected[i] = i;
    std::stable_sort(expected.begin(), expected.end(),
                     [&](size_t a, size_t b) { return offsets_us[a] < offsets_us[b]; });
    RC_ASSERT(fired == expected);
  });
}

}  // namespace
}  // namespace tandem::real
