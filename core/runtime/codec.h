// Codec: the portable binary encoding of every value the runtime puts on the wire — actor and task arguments,
// results, and the runtime's own control messages. The real backend carries these same bytes unchanged.
//
// Contract:
// - Self-describing and compact. Every value starts with a one-byte tag, then its payload:
//     kUnsigned  varint                       integers >= 0 (any C++ integer type)
//     kNegative  varint of -(v + 1)           integers < 0
//     kFalse / kTrue                          bool
//     kDouble    8 bytes, IEEE-754 bits, little-endian
//     kBytes     varint length, then the bytes (std::string / Bytes)
//     kList      varint count, then the items (std::vector)
//     kMap       varint count, then key, value, key, value ... in strictly increasing key order (std::map)
//     kNone      an empty std::optional
//     kRecord    varint field count, then the fields in order (structs, std::pair, std::tuple, call arguments)
//   Integers are encoded by value, not by C++ type: an `int` argument decodes into a `uint64_t` parameter when
//   the value fits. A double parameter accepts an integer that converts exactly. No other conversions.
// - Decoding never crashes and never reads past the input: any malformed input (a bad tag, a truncated value,
//   an out-of-range integer, a count larger than the bytes left, trailing bytes, too deep nesting) makes
//   decode() return Error{kInvalidArgument} naming the byte offset and what was expected.
// - Structs opt in with TANDEM_CODEC_FIELDS(a, b, c) inside the struct. Records evolve by appending fields:
//   a decoder skips fields it does not know and leaves fields the sender did not send at their defaults.
//   std::tuple / std::pair (and call arguments) are strict: the field count must match.
// - Deterministic: the same value always encodes to the same bytes. Unordered containers have no codec on
//   purpose (their iteration order would leak into the bytes); use std::map or a sorted std::vector.
// - Enums encode as their underlying integer; an enum may declare `bool codec_valid(E)` (found by ADL) to
//   reject values it does not define.
#pragma once

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/common/result.h"
#include "core/env/time.h"
#include "core/env/transport.h"

namespace tandem::runtime {

// Limits on what one decode accepts. Encoding a value past them is a bug (TANDEM_CHECK).
inline constexpr uint64_t kMaxCodecStringBytes = uint64_t{64} << 20;  // one string or byte blob
inline constexpr uint64_t kMaxCodecElements = uint64_t{1} << 24;      // items of one list, map or record
inline constexpr int kMaxCodecDepth = 64;                              // nesting of lists, maps and records

enum class WireTag : uint8_t {
  kUnsigned = 1,
  kNegative = 2,
  kFalse = 3,
  kTrue = 4,
  kDouble = 5,
  kBytes = 6,
  kList = 7,
  kMap = 8,
  kNone = 9,
  kRecord = 10,
};

// "unsigned integer", "string", ... for error messages.
std::string_view wire_tag_name(uint8_t tag);

// The hot primitives (tags, varints) are inline and write through a cursor into a buffer grown ahead (no
// per-byte capacity checks); anything long or malformed takes an out-of-line path. A small encoding (one
// argument, one integer result, a serving request or reply: up to 64 bytes) stays in the encoder's own bytes
// until take(): no string resized and zero-filled for it. Not copyable or movable (the cursor may point into the
// encoder itself).
class Encoder {
 public:
  Encoder() = default;
  Encoder(const Encoder&) = delete;
  Encoder& operator=(const Encoder&) = delete;

  void write_unsigned(uint64_t value) {
    char* at = room(11);
    *at++ = static_cast<char>(WireTag::kUnsigned);
    size_ = static_cast<size_t>(put_varint(at, value) - data_);
  }
  void write_signed(int64_t value) {
    if (value >= 0) {
      write_unsigned(static_cast<uint64_t>(value));
      return;
    }
    char* at = room(11);
    *at++ = static_cast<char>(WireTag::kNegative);
    size_ = static_cast<size_t>(put_varint(at, ~static_cast<uint64_t>(value)) - data_);  // -(v + 1)
  }
  void write_bool(bool value) { tag(value ? WireTag::kTrue : WireTag::kFalse); }
  void write_double(double value);
  void write_bytes(std::string_view bytes) {
    TANDEM_CHECK(bytes.size() <= kMaxCodecStringBytes, "encoding a string longer than kMaxCodecStringBytes");
    char* at = room(11 + bytes.size());
    *at++ = static_cast<char>(WireTag::kBytes);
    at = put_varint(at, bytes.size());
    if (!bytes.empty()) std::memcpy(at, bytes.data(), bytes.size());
    size_ = static_cast<size_t>(at - data_) + bytes.size();
  }
  void write_none() { tag(WireTag::kNone); }
  void begin_list(uint64_t count);
  void begin_map(uint64_t count);
  void begin_record(uint64_t field_count) {
    TANDEM_CHECK(field_count <= kMaxCodecElements, "encoding a record with too many fields");
    char* at = room(11);
    *at++ = static_cast<char>(WireTag::kRecord);
    size_ = static_cast<size_t>(put_varint(at, field_count) - data_);
  }

  size_t size() const { return size_; }
  std::string_view bytes() const { return std::string_view(data_, size_); }
  // The encoding; the encoder is empty afterwards.
  Bytes take() {
    const size_t size = std::exchange(size_, 0);
    if (data_ == inline_) return Bytes(inline_, size);
    heap_.resize(size);
    data_ = inline_;
    capacity_ = sizeof inline_;
    return std::exchange(heap_, Bytes());
  }

 private:
  void tag(WireTag tag) { *room(1) = static_cast<char>(tag); ++size_; }
  // At least `bytes` writable bytes at the cursor (capacity_ is the room; bytes past size_ are scratch).
  char* room(size_t bytes) {
    if (capacity_ - size_ < bytes) grow(bytes);
    return data_ + size_;
  }
  void grow(size_t bytes);
  static char* put_varint(char* at, uint64_t value) {
    while (value >= 0x80) {
      *at++ = static_cast<char>((value & 0x7f) | 0x80);
      value >>= 7;
    }
    *at++ = static_cast<char>(value);
    return at;
  }
  char inline_[64]{};
  char* data_ = inline_;  // inline_, or heap_'s bytes once the encoding outgrew inline_
  size_t capacity_ = sizeof inline_;
  Bytes heap_;
  size_t size_ = 0;
};

class Decoder {
 public:
  explicit Decoder(std::string_view input) : input_(input) {}

  // False once any read failed; the first failure is kept.
  bool ok() const { return ok_; }
  const Error& error() const { return error_; }
  bool at_end() const { return position_ == input_.size(); }
  size_t offset() const { return position_; }
  size_t remaining() const { return input_.size() - position_; }

  // Each read checks the tag and the payload and returns false (recording an error) on any mismatch.
  bool read_integer(int64_t min, uint64_t max, bool& negative, uint64_t& magnitude) {
    // Fast path: a non-negative integer within range whose varint ends before the input does (at most 9 bytes:
    // 63 bits, so no overflow check is needed).
    if (ok_ && remaining() >= 2 && static_cast<uint8_t>(input_[position_]) == static_cast<uint8_t>(WireTag::kUnsigned)) {
      size_t at = position_ + 1;
      const size_t end = std::min(input_.size(), at + 9);
      uint64_t value = 0;
      for (int shift = 0; at < end; shift += 7) {
        const auto byte = static_cast<uint8_t>(input_[at++]);
        value |= static_cast<uint64_t>(byte & 0x7f) << shift;
        if ((byte & 0x80) != 0) continue;
        if (value > max) break;
        position_ = at;
        negative = false;
        magnitude = value;
        return true;
      }
    }
    return read_integer_slow(min, max, negative, magnitude);
  }
  bool read_bool(bool& value);
  bool read_double(double& value);
  bool read_bytes(std::string& value);
  // The bytes in place: a view into the input, valid as long as the input is.
  bool read_bytes_view(std::string_view& value) {
    if (ok_ && position_ + 1 < input_.size() &&
        static_cast<uint8_t>(input_[position_]) == static_cast<uint8_t>(WireTag::kBytes)) {
      const auto length = static_cast<uint8_t>(input_[position_ + 1]);
      if (length < 0x80 && length <= input_.size() - position_ - 2) {  // a short string (one-byte length)
        value = input_.substr(position_ + 2, length);
        position_ += 2 + length;
        return true;
      }
    }
    return read_bytes_view_slow(value);
  }
  bool read_list(uint64_t& count);
  bool read_map(uint64_t& count);
  bool read_record(uint64_t& field_count) {
    // Fast path: a record of fewer than 128 fields (one-byte count) that the input can hold.
    if (ok_ && position_ + 1 < input_.size() &&
        static_cast<uint8_t>(input_[position_]) == static_cast<uint8_t>(WireTag::kRecord)) {
      const auto count = static_cast<uint8_t>(input_[position_ + 1]);
      if (count < 0x80 && count <= input_.size() - position_ - 2) {
        position_ += 2;
        field_count = count;
        return true;
      }
    }
    return read_record_slow(field_count);
  }
  // True (and consumed) when the next value is kNone; false otherwise, consuming nothing.
  bool read_none_if_present();
  // Skips one value of any kind (for record fields this decoder does not know).
  bool skip_value();

  // Nesting guard for containers: enter() fails past kMaxCodecDepth.
  bool enter();
  void leave() { --depth_; }

  // Records a failure at the current offset (only the first is kept) and returns false.
  bool fail(std::string_view what);
  // Prefixes the recorded error's message (for "argument 2: ...").
  void add_context(std::string_view context);

 private:
  bool read_integer_slow(int64_t min, uint64_t max, bool& negative, uint64_t& magnitude);
  bool read_bytes_view_slow(std::string_view& value);
  bool read_record_slow(uint64_t& field_count);
  bool peek_tag(uint8_t& tag);
  bool expect_tag(WireTag expected, std::string_view what) {
    if (ok_ && position_ < input_.size() && static_cast<uint8_t>(input_[position_]) == static_cast<uint8_t>(expected)) {
      ++position_;
      return true;
    }
    return expect_tag_slow(expected, what);
  }
  bool expect_tag_slow(WireTag expected, std::string_view what);
  bool varint(uint64_t& value) {
    if (position_ < input_.size() && (static_cast<uint8_t>(input_[position_]) & 0x80) == 0) {
      value = static_cast<uint8_t>(input_[position_++]);
      return true;
    }
    return varint_long(value);
  }
  bool varint_long(uint64_t& value);
  bool skip(int depth);

  std::string_view input_;
  size_t position_ = 0;
  int depth_ = 0;
  bool ok_ = true;
  Error error_{Errc::kInvalidArgument, {}};  // {} not "": no strlen and copy per reader
};

// --- The value codecs -----------------------------------------------------------------------------------------

template <typename T>
struct Codec;  // specialised below for each supported kind; structs use TANDEM_CODEC_FIELDS

template <typename T>
concept HasCodecFields = requires(T& value) { value.codec_fields([](auto&...) {}); };

// A record may declare `std::string codec_check() const`: run after decoding, a non-empty answer says what is
// wrong and makes the decode fail (amounts out of range, too many items, ...).
template <typename T>
concept HasCodecCheck = requires(const T& value) {
  { value.codec_check() } -> std::convertible_to<std::string>;
};

template <typename E>
concept HasCodecValid = requires(E value) {
  { codec_valid(value) } -> std::convertible_to<bool>;
};

template <typename T>
void encode_value(Encoder& encoder, const T& value) {
  Codec<T>::encode(encoder, value);
}

template <typename T>
bool decode_value(Decoder& decoder, T& value) {
  return Codec<T>::decode(decoder, value);
}

template <typename T>
  requires std::is_integral_v<T> && (!std::is_same_v<T, bool>)
struct Codec<T> {
  static void encode(Encoder& encoder, T value) {
    if constexpr (std::is_signed_v<T>) {
      encoder.write_signed(static_cast<int64_t>(value));
    } else {
      encoder.write_unsigned(static_cast<uint64_t>(value));
    }
  }
  static bool decode(Decoder& decoder, T& value) {
    bool negative = false;
    uint64_t magnitude = 0;
    const int64_t min = static_cast<int64_t>(std::numeric_limits<T>::min());
    const uint64_t max = static_cast<uint64_t>(std::numeric_limits<T>::max());
    if (!decoder.read_integer(min, max, negative, magnitude)) return false;
    if (negative) {
      // magnitude = -(v + 1), already checked against min
      value = static_cast<T>(-static_cast<int64_t>(magnitude) - 1);
    } else {
      value = static_cast<T>(magnitude);
    }
    return true;
  }
};

template <>
struct Codec<bool> {
  static void encode(Encoder& encoder, bool value) { encoder.write_bool(value); }
  static bool decode(Decoder& decoder, bool& value) { return decoder.read_bool(value); }
};

template <>
struct Codec<double> {
  static void encode(Encoder& encoder, double value) { encoder.write_double(value); }
  static bool decode(Decoder& decoder, double& value) { return decoder.read_double(value); }
};

template <>
struct Codec<float> {
  static void encode(Encoder& encoder, float value) { encoder.write_double(value); }
  static bool decode(Decoder& decoder, float& value) {
    double wide = 0;
    if (!decoder.read_double(wide)) return false;
    if (wide > std::numeric_limits<float>::max() || wide < -std::numeric_limits<float>::max()) {
      if (wide == wide && wide != std::numeric_limits<double>::infinity() &&
          wide != -std::numeric_limits<double>::infinity()) {
        return decoder.fail("a double within the range of float");
      }
    }
    value = static_cast<float>(wide);
    return true;
  }
};

template <>
struct Codec<std::string> {
  static void encode(Encoder& encoder, const std::string& value) { encoder.write_bytes(value); }
  static bool decode(Decoder& decoder, std::string& value) { return decoder.read_bytes(value); }
};

// A view decodes in place, pointing into the input (for messages read once while their bytes are at hand).
template <>
struct Codec<std::string_view> {
  static void encode(Encoder& encoder, std::string_view value) { encoder.write_bytes(value); }
  static bool decode(Decoder& decoder, std::string_view& value) { return decoder.read_bytes_view(value); }
};

template <typename E>
  requires std::is_enum_v<E>
struct Codec<E> {
  using Underlying = std::underlying_type_t<E>;
  static void encode(Encoder& encoder, E value) { encode_value(encoder, static_cast<Underlying>(value)); }
  static bool decode(Decoder& decoder, E& value) {
    Underlying raw{};
    if (!decode_value(decoder, raw)) return false;
    value = static_cast<E>(raw);
    if constexpr (HasCodecValid<E>) {
      if (!codec_valid(value)) return decoder.fail("an enum value this program does not define");
    }
    return true;
  }
};

template <typename Rep, typename Period>
struct Codec<std::chrono::duration<Rep, Period>> {
  using D = std::chrono::duration<Rep, Period>;
  static void encode(Encoder& encoder, D value) { encode_value(encoder, value.count()); }
  static bool decode(Decoder& decoder, D& value) {
    Rep count{};
    if (!decode_value(decoder, count)) return false;
    value = D(count);
    return true;
  }
};

template <>
struct Codec<TimePoint> {
  static void encode(Encoder& encoder, TimePoint value) { encoder.write_signed(to_ns(value)); }
  static bool decode(Decoder& decoder, TimePoint& value) {
    int64_t ns = 0;
    if (!decode_value(decoder, ns)) return false;
    value = time_from_ns(ns);
    return true;
  }
};

template <typename T>
struct Codec<std::optional<T>> {
  static void encode(Encoder& encoder, const std::optional<T>& value) {
    if (value) {
      encode_value(encoder, *value);
    } else {
      encoder.write_none();
    }
  }
  static bool decode(Decoder& decoder, std::optional<T>& value) {
    if (decoder.read_none_if_present()) {
      value.reset();
      return true;
    }
    T inner{};
    if (!decode_value(decoder, inner)) return false;
    value = std::move(inner);
    return true;
  }
};

template <typename T, typename A>
struct Codec<std::vector<T, A>> {
  static void encode(Encoder& encoder, const std::vector<T, A>& value) {
    encoder.begin_list(value.size());
    for (const auto& item : value) encode_value(encoder, static_cast<const T&>(item));
  }
  static bool decode(Decoder& decoder, std::vector<T, A>& value) {
    uint64_t count = 0;
    if (!decoder.read_list(count)) return false;
    if (!decoder.enter()) return false;
    value.clear();
    value.reserve(static_cast<size_t>(count));
    for (uint64_t i = 0; i < count; ++i) {
      T item{};
      if (!decode_value(decoder, item)) return false;
      value.push_back(std::move(item));
    }
    decoder.leave();
    return true;
  }
};

template <typename K, typename V, typename C, typename A>
struct Codec<std::map<K, V, C, A>> {
  static void encode(Encoder& encoder, const std::map<K, V, C, A>& value) {
    encoder.begin_map(value.size());
    for (const auto& [key, item] : value) {
      encode_value(encoder, key);
      encode_value(encoder, item);
    }
  }
  static bool decode(Decoder& decoder, std::map<K, V, C, A>& value) {
    uint64_t count = 0;
    if (!decoder.read_map(count)) return false;
    if (!decoder.enter()) return false;
    value.clear();
    for (uint64_t i = 0; i < count; ++i) {
      K key{};
      V item{};
      if (!decode_value(decoder, key)) return false;
      if (!value.empty() && !value.key_comp()(std::prev(value.end())->first, key)) {
        return decoder.fail("map keys in strictly increasing order");
      }
      if (!decode_value(decoder, item)) return false;
      value.emplace_hint(value.end(), std::move(key), std::move(item));
    }
    decoder.leave();
    return true;
  }
};

namespace detail {

// Decodes the first min(sent, known) fields, skips extras; strict mode also demands sent == known.
template <typename... Fields>
bool decode_record_fields(Decoder& decoder, bool strict, Fields&... fields) {
  uint64_t sent = 0;
  if (!decoder.read_record(sent)) return false;
  constexpr uint64_t kKnown = sizeof...(Fields);
  if (strict && sent != kKnown) {
    return decoder.fail("a record of " + std::to_string(kKnown) + " fields (got " + std::to_string(sent) + ")");
  }
  if (!decoder.enter()) return false;
  uint64_t index = 0;
  const bool fields_ok = ((index++ < sent ? decode_value(decoder, fields) : true) && ...);
  if (!fields_ok) return false;
  for (uint64_t extra = kKnown; extra < sent; ++extra) {
    if (!decoder.skip_value()) return false;
  }
  decoder.leave();
  return true;
}

}  // namespace detail

template <typename A, typename B>
struct Codec<std::pair<A, B>> {
  static void encode(Encoder& encoder, const std::pair<A, B>& value) {
    encoder.begin_record(2);
    encode_value(encoder, value.first);
    encode_value(encoder, value.second);
  }
  static bool decode(Decoder& decoder, std::pair<A, B>& value) {
    return detail::decode_record_fields(decoder, true, value.first, value.second);
  }
};

template <typename... Ts>
struct Codec<std::tuple<Ts...>> {
  static void encode(Encoder& encoder, const std::tuple<Ts...>& value) {
    encoder.begin_record(sizeof...(Ts));
    std::apply([&](const auto&... items) { (encode_value(encoder, items), ...); }, value);
  }
  static bool decode(Decoder& decoder, std::tuple<Ts...>& value) {
    return std::apply([&](auto&... items) { return detail::decode_record_fields(decoder, true, items...); },
                      value);
  }
};

template <typename T>
  requires HasCodecFields<T>
struct Codec<T> {
  static void encode(Encoder& encoder, const T& value) {
    value.codec_fields([&](const auto&... fields) {
      encoder.begin_record(sizeof...(fields));
      (encode_value(encoder, fields), ...);
    });
  }
  static bool decode(Decoder& decoder, T& value) {
    bool ok = false;
    value.codec_fields([&](auto&... fields) { ok = detail::decode_record_fields(decoder, false, fields...); });
    if (!ok) return false;
    if constexpr (HasCodecCheck<T>) {
      const std::string problem = value.codec_check();
      if (!problem.empty()) return decoder.fail(problem);
    }
    return true;
  }
};

// Declares the fields of a struct for the codec, in wire order. Append new fields at the end.
#define TANDEM_CODEC_FIELDS(...)                       \
  template <typename Visitor>                          \
  void codec_fields(Visitor&& visitor) {               \
    visitor(__VA_ARGS__);                              \
  }                                                    \
  template <typename Visitor>                          \
  void codec_fields(Visitor&& visitor) const {         \
    visitor(__VA_ARGS__);                              \
  }

// --- Whole messages ----------------------------------------------------------------------------------------

template <typename T>
Bytes encode(const T& value) {
  Encoder encoder;
  encode_value(encoder, value);
  return encoder.take();
}

// Decodes exactly one value that spans all of `bytes`.
// (Decoded in place and returned by one name, so the value is never moved: a decoded message's strings were
// moved twice each on the way out, measurable per request.)
template <typename T>
Result<T> decode(std::string_view bytes) {
  Result<T> result(std::in_place);
  Decoder decoder(bytes);
  const bool decoded = decode_value(decoder, result.value());
  if (decoded && !decoder.at_end()) decoder.fail("the end of the input (trailing bytes)");
  if (!decoded || !decoder.ok()) result = decoder.error();
  return result;
}

// Call arguments: a record of the arguments in order.
template <typename... Args>
Bytes encode_args(const Args&... args) {
  Encoder encoder;
  encoder.begin_record(sizeof...(Args));
  (encode_value(encoder, args), ...);
  return encoder.take();
}

namespace detail {
template <typename Tuple, size_t... I>
bool decode_args_into(Decoder& decoder, Tuple& out, std::index_sequence<I...>) {
  bool ok = true;
  ((ok = ok && [&] {
     if (decode_value(decoder, std::get<I>(out))) return true;
     decoder.add_context("argument " + std::to_string(I + 1) + " of " + std::to_string(sizeof...(I)) + ": ");
     return false;
   }()),
   ...);
  return ok;
}
}  // namespace detail

// Decodes call arguments into a tuple of the parameter types; the argument count must match exactly.
// (In place and returned by one name, like decode().)
template <typename... Args>
Result<std::tuple<Args...>> decode_args(std::string_view bytes) {
  Result<std::tuple<Args...>> result(std::in_place);
  Decoder decoder(bytes);
  uint64_t count = 0;
  if (!decoder.read_record(count)) {
    result = decoder.error();
  } else if (count != sizeof...(Args)) {
    result = Error{Errc::kInvalidArgument, "expected " + std::to_string(sizeof...(Args)) + " argument" +
                                               (sizeof...(Args) == 1 ? "" : "s") + ", got " + std::to_string(count)};
  } else if (!detail::decode_args_into(decoder, result.value(), std::index_sequence_for<Args...>{})) {
    result = decoder.error();
  } else if (!decoder.at_end()) {
    decoder.fail("the end of the arguments (trailing bytes)");
    result = decoder.error();
  }
  return result;
}

}  // namespace tandem::runtime
