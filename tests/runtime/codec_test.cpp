// The runtime codec: round trips, cross-type integers, record evolution, and bad bytes that never crash.
#include <catch2/catch.hpp>
#include <rapidcheck.h>
#include <rapidcheck/catch.h>

#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "core/runtime/codec.h"
#include "core/runtime/protocol.h"

namespace tandem::runtime {
namespace {

struct PointV1 {
  int32_t x = 0;
  std::string label;
  TANDEM_CODEC_FIELDS(x, label)
};

struct PointV2 {
  int32_t x = 0;
  std::string label;
  std::vector<double> extra = {1.5};
  TANDEM_CODEC_FIELDS(x, label, extra)
};

template <typename T>
T round_trip(const T& value) {
  Result<T> decoded = decode<T>(encode(value));
  INFO((decoded.ok() ? std::string("ok") : decoded.error().to_string()));
  REQUIRE(decoded.ok());
  return decoded.value();
}

TEST_CASE("Codec: integers, bools, doubles and strings round-trip, including extremes") {
  CHECK(round_trip<int64_t>(0) == 0);
  CHECK(round_trip<int64_t>(-1) == -1);
  CHECK(round_trip(std::numeric_limits<int64_t>::min()) == std::numeric_limits<int64_t>::min());
  CHECK(round_trip(std::numeric_limits<int64_t>::max()) == std::numeric_limits<int64_t>::max());
  CHECK(round_trip(std::numeric_limits<uint64_t>::max()) == std::numeric_limits<uint64_t>::max());
  CHECK(round_trip<int8_t>(-128) == -128);
  CHECK(round_trip(true));
  CHECK_FALSE(round_trip(false));
  CHECK(round_trip(-0.0) == 0.0);
  CHECK(std::signbit(round_trip(-0.0)));
  CHECK(std::isnan(round_trip(std::numeric_limits<double>::quiet_NaN())));
  CHECK(round_trip(std::numeric_limits<double>::infinity()) == std::numeric_limits<double>::infinity());
  CHECK(round_trip(std::string("a\0b", 3)) == std::string("a\0b", 3));
  CHECK(round_trip(std::string()).empty());
  CHECK(round_trip(std::chrono::milliseconds(-5)) == std::chrono::milliseconds(-5));
}

TEST_CASE("Codec: containers, optionals, tuples and records round-trip") {
  const std::vector<std::optional<std::string>> items = {std::string("x"), std::nullopt, std::string("")};
  CHECK(round_trip(items) == items);
  const std::map<std::string, std::vector<int>> map = {{"a", {1, 2}}, {"b", {}}};
  CHECK(round_trip(map) == map);
  const std::tuple<int, std::string, bool> tuple{-3, "t", true};
  CHECK(round_trip(tuple) == tuple);
  const std::pair<uint32_t, double> pair{7, 0.25};
  CHECK(round_trip(pair) == pair);
  PointV1 point{-9, "p"};
  PointV1 back = round_trip(point);
  CHECK(back.x == -9);
  CHECK(back.label == "p");
}

TEST_CASE("Codec: integers decode into any integer type that holds the value, and doubles accept exact integers") {
  CHECK(decode<uint8_t>(encode(int64_t{200})).value() == 200);
  CHECK(decode<int64_t>(encode(uint8_t{7})).value() == 7);
  CHECK(decode<double>(encode(int32_t{-3})).value() == -3.0);
  Result<uint8_t> too_big = decode<uint8_t>(encode(int64_t{300}));
  CHECK(too_big.code() == Errc::kInvalidArgument);
  CHECK_THAT(too_big.error().message, Catch::Contains("at most 255"));
  CHECK(decode<uint32_t>(encode(int64_t{-1})).code() == Errc::kInvalidArgument);
  CHECK(decode<int8_t>(encode(int64_t{-129})).code() == Errc::kInvalidArgument);
  CHECK(decode<int64_t>(encode(1.5)).code() == Errc::kInvalidArgument);
  CHECK(decode<double>(encode(uint64_t{1} << 60)).code() == Errc::kInvalidArgument);  // not exact
}

TEST_CASE("Codec: records evolve by appending — old readers skip new fields, new readers default missing ones") {
  PointV2 v2{4, "new", {2.0, 3.0}};
  Result<PointV1> old_reader = decode<PointV1>(encode(v2));
  REQUIRE(old_reader.ok());
  CHECK(old_reader.value().x == 4);
  CHECK(old_reader.value().label == "new");
  Result<PointV2> new_reader = decode<PointV2>(encode(PointV1{5, "old"}));
  REQUIRE(new_reader.ok());
  CHECK(new_reader.value().x == 5);
  CHECK(new_reader.value().extra == std::vector<double>{1.5});
}

TEST_CASE("Codec: call arguments check their count and name the argument that does not decode") {
  const Bytes args = encode_args(int64_t{1}, std::string("two"));
  auto ok = decode_args<int32_t, std::string>(args);
  REQUIRE(ok.ok());
  CHECK(std::get<0>(ok.value()) == 1);
  auto wrong_count = decode_args<int32_t>(args);
  CHECK(wrong_count.code() == Errc::kInvalidArgument);
  CHECK_THAT(wrong_count.error().message, Catch::Contains("expected 1 argument, got 2"));
  auto wrong_type = decode_args<int32_t, int32_t>(args);
  CHECK(wrong_type.code() == Errc::kInvalidArgument);
  CHECK_THAT(wrong_type.error().message, Catch::Contains("argument 2 of 2"));
  CHECK_THAT(wrong_type.error().message, Catch::Contains("found a string"));
}

TEST_CASE("Codec: malformed input is refused with kInvalidArgument: truncation, lies, trailing bytes, depth") {
  const Bytes good = encode(std::vector<std::string>{"abc", "def"});
  for (size_t cut = 0; cut < good.size(); ++cut) {
    CHECK(decode<std::vector<std::string>>(good.substr(0, cut)).code() == Errc::kInvalidArgument);
  }
  CHECK(decode<int64_t>(encode(int64_t{3}) + "x").code() == Errc::kInvalidArgument);
  // A list that claims a billion items in four bytes.
  Bytes lie;
  lie.push_back(static_cast<char>(WireTag::kList));
  lie += "\x80\x94\xeb\xdc\x03";
  CHECK(decode<std::vector<int>>(lie).code() == Errc::kInvalidArgument);
  // An 11-byte varint.
  Bytes long_varint(1, static_cast<char>(WireTag::kUnsigned));
  long_varint += std::string(10, '\xff') + "\x01";
  CHECK(decode<uint64_t>(long_varint).code() == Errc::kInvalidArgument);
  // Unknown tag, and map keys out of order.
  CHECK(decode<int>(Bytes(1, '\x7f')).code() == Errc::kInvalidArgument);
  Encoder unordered;
  unordered.begin_map(2);
  unordered.write_bytes("b");
  unordered.write_signed(1);
  unordered.write_bytes("a");
  unordered.write_signed(2);
  CHECK(decode<std::map<std::string, int>>(unordered.bytes()).code() == Errc::kInvalidArgument);
  // Deep nesting inside an unknown record field is skipped only up to kMaxCodecDepth.
  Bytes deep;
  deep.push_back(static_cast<char>(WireTag::kRecord));
  deep.push_back(3);  // x, label, then an unknown third field nested 100 deep
  deep += encode(int32_t{1}) + encode(std::string("l"));
  for (int i = 0; i < 100; ++i) deep += std::string{static_cast<char>(WireTag::kList), 1};
  deep += encode(int32_t{0});
  CHECK(decode<PointV1>(deep).code() == Errc::kInvalidArgument);
  // An enum value the program does not define.
  CHECK(decode<ActorState>(encode(uint8_t{9})).code() == Errc::kInvalidArgument);
}

TEST_CASE("Codec: protocol records round-trip with their nested options") {
  protocol::CreateActorRequest request;
  request.client = 77;
  request.class_name = "Trainer";
  request.options.name = "trainer-1";
  request.options.resources = ResourceSet{{"CPU", 1.5}, {"GPU", 1}};
  request.options.labels = LabelSelector{{"zone", "a"}};
  request.options.labels.not_in("host", {"bad"});
  request.options.node_affinity = NodeAffinity{3, true};
  request.options.max_restarts = kUnlimited;
  request.args = encode_args(std::string("job"), 3);
  protocol::CreateActorRequest back = round_trip(request);
  CHECK(back.options.resources == request.options.resources);
  CHECK(back.options.labels == request.options.labels);
  CHECK(back.options.node_affinity == request.options.node_affinity);
  CHECK(back.options.max_restarts == kUnlimited);
  CHECK(back.args == request.args);
  // A resource amount the codec check refuses.
  Encoder bad;
  bad.begin_record(1);
  bad.begin_map(1);
  bad.write_bytes("CPU");
  bad.write_signed(-5);
  CHECK(decode<ResourceSet>(bad.bytes()).code() == Errc::kInvalidArgument);
}

TEST_CASE("Property: codec round-trips arbitrary nested values") {
  rc::prop("round trip", [](const std::vector<std::pair<int64_t, std::string>>& items,
                            const std::map<std::string, std::vector<uint32_t>>& map, bool has_flag, bool flag_value,
                            double number) {
    const std::optional<bool> flag = has_flag ? std::optional<bool>(flag_value) : std::nullopt;
    using Value = std::tuple<std::vector<std::pair<int64_t, std::string>>, std::map<std::string, std::vector<uint32_t>>,
                             std::optional<bool>, double>;
    const Value value{items, map, flag, number};
    Result<Value> back = decode<Value>(encode(value));
    RC_ASSERT(back.ok());
    RC_ASSERT(std::get<0>(back.value()) == items);
    RC_ASSERT(std::get<1>(back.value()) == map);
    RC_ASSERT(std::get<2>(back.value()) == flag);
    RC_ASSERT(std::bit_cast<uint64_t>(std::get<3>(back.value())) == std::bit_cast<uint64_t>(number));
  });
}

TEST_CASE("Property: decoding arbitrary bytes never crashes and fails only with kInvalidArgument") {
  rc::prop("garbage in, typed error out", [](const std::string& bytes) {
    auto check = [](Errc code) { RC_ASSERT((code == Errc::kOk || code == Errc::kInvalidArgument)); };
    check(decode<protocol::CreateActorRequest>(bytes).code());
    check(decode<protocol::HeartbeatRequest>(bytes).code());
    check(decode<std::vector<std::map<std::string, std::optional<double>>>>(bytes).code());
    check(decode_args<int64_t, std::string, std::vector<bool>>(bytes).code());
  });
}

TEST_CASE("Property: flipping bytes of a valid message never crashes the decoder") {
  rc::prop("mutated messages", [](uint32_t position, uint8_t value) {
    protocol::CallEntry request{2, 3, 5, 1, "method", encode_args(std::string("payload"), 1.5)};
    Bytes bytes = encode(request);
    bytes[position % bytes.size()] = static_cast<char>(value);
    const Errc code = decode<protocol::CallEntry>(bytes).code();
    RC_ASSERT((code == Errc::kOk || code == Errc::kInvalidArgument));
    protocol::CallResult result{2, 5, 1, protocol::CallOutcome::kLost, Errc::kPeerDied, "died", "value"};
    Bytes result_bytes = encode(result);
    result_bytes[position % result_bytes.size()] = static_cast<char>(value);
    const Errc result_code = decode<protocol::CallResult>(result_bytes).code();
    RC_ASSERT((result_code == Errc::kOk || result_code == Errc::kInvalidArgument));
  });
}

}  // namespace
}  // namespace tandem::runtime
