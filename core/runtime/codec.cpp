#include "core/runtime/codec.h"

#include <cstring>

namespace tandem::runtime {

std::string_view wire_tag_name(uint8_t tag) {
  switch (static_cast<WireTag>(tag)) {
    case WireTag::kUnsigned: return "a non-negative integer";
    case WireTag::kNegative: return "a negative integer";
    case WireTag::kFalse:
    case WireTag::kTrue: return "a bool";
    case WireTag::kDouble: return "a double";
    case WireTag::kBytes: return "a string";
    case WireTag::kList: return "a list";
    case WireTag::kMap: return "a map";
    case WireTag::kNone: return "an empty optional";
    case WireTag::kRecord: return "a record";
  }
  return "an unknown tag";
}

// --- Encoder ---------------------------------------------------------------------------------------------

void Encoder::grow(size_t bytes) {
  // Out of the inline bytes straight to 128 (records such as an actor's info take a few hundred bytes: fewer
  // copies on the way), then doubling.
  const size_t capacity = std::max({size_ + bytes, 2 * capacity_, size_t{128}});
  const bool was_inline = data_ == inline_;
  heap_.resize(capacity);  // keeps what heap_ held already
  if (was_inline) std::memcpy(heap_.data(), inline_, size_);
  data_ = heap_.data();
  capacity_ = heap_.size();
}

void Encoder::write_double(double value) {
  char* at = room(9);
  *at++ = static_cast<char>(WireTag::kDouble);
  const uint64_t bits = std::bit_cast<uint64_t>(value);
  for (int i = 0; i < 8; ++i) *at++ = static_cast<char>((bits >> (8 * i)) & 0xff);
  size_ += 9;
}

void Encoder::begin_list(uint64_t count) {
  TANDEM_CHECK(count <= kMaxCodecElements, "encoding a list longer than kMaxCodecElements");
  char* at = room(11);
  *at++ = static_cast<char>(WireTag::kList);
  size_ = static_cast<size_t>(put_varint(at, count) - data_);
}

void Encoder::begin_map(uint64_t count) {
  TANDEM_CHECK(count <= kMaxCodecElements, "encoding a map larger than kMaxCodecElements");
  char* at = room(11);
  *at++ = static_cast<char>(WireTag::kMap);
  size_ = static_cast<size_t>(put_varint(at, count) - data_);
}


// --- Decoder ---------------------------------------------------------------------------------------------

bool Decoder::fail(std::string_view what) {
  if (ok_) {
    ok_ = false;
    error_.message = "undecodable bytes at offset " + std::to_string(position_) + ": expected " + std::string(what);
  }
  return false;
}

void Decoder::add_context(std::string_view context) {
  if (!ok_) error_.message.insert(0, context);
}

bool Decoder::peek_tag(uint8_t& tag) {
  if (!ok_) return false;
  if (position_ >= input_.size()) return fail("a value (the input ended)");
  tag = static_cast<uint8_t>(input_[position_]);
  return true;
}

bool Decoder::expect_tag_slow(WireTag expected, std::string_view what) {
  uint8_t tag = 0;
  if (!peek_tag(tag)) return false;
  if (tag != static_cast<uint8_t>(expected)) {
    return fail(std::string(what) + ", found " + std::string(wire_tag_name(tag)));
  }
  ++position_;
  return true;
}

bool Decoder::varint_long(uint64_t& value) {
  value = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (position_ >= input_.size()) return fail("more varint bytes (the input ended)");
    const auto byte = static_cast<uint8_t>(input_[position_++]);
    if (shift == 63 && byte > 1) return fail("a varint that fits in 64 bits");
    value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return fail("a varint of at most 10 bytes");
}

bool Decoder::read_integer_slow(int64_t min, uint64_t max, bool& negative, uint64_t& magnitude) {
  uint8_t tag = 0;
  if (!peek_tag(tag)) return false;
  if (tag == static_cast<uint8_t>(WireTag::kUnsigned)) {
    ++position_;
    if (!varint(magnitude)) return false;
    negative = false;
    if (magnitude > max) return fail("an integer at most " + std::to_string(max) + ", found " + std::to_string(magnitude));
    return true;
  }
  if (tag == static_cast<uint8_t>(WireTag::kNegative)) {
    ++position_;
    if (!varint(magnitude)) return false;
    negative = true;
    if (min >= 0) return fail("a non-negative integer, found a negative one");
    // magnitude encodes v = -(magnitude + 1); v >= min  <=>  magnitude <= -(min + 1)
    const auto limit = static_cast<uint64_t>(-(min + 1));
    if (magnitude > limit) return fail("an integer at least " + std::to_string(min));
    return true;
  }
  return fail("an integer, found " + std::string(wire_tag_name(tag)));
}

bool Decoder::read_bool(bool& value) {
  uint8_t tag = 0;
  if (!peek_tag(tag)) return false;
  if (tag == static_cast<uint8_t>(WireTag::kTrue) || tag == static_cast<uint8_t>(WireTag::kFalse)) {
    ++position_;
    value = tag == static_cast<uint8_t>(WireTag::kTrue);
    return true;
  }
  return fail("a bool, found " + std::string(wire_tag_name(tag)));
}

bool Decoder::read_double(double& value) {
  uint8_t tag = 0;
  if (!peek_tag(tag)) return false;
  if (tag == static_cast<uint8_t>(WireTag::kUnsigned) || tag == static_cast<uint8_t>(WireTag::kNegative)) {
    // An integer where a double is wanted: accepted when it converts exactly.
    bool negative = false;
    uint64_t magnitude = 0;
    if (!read_integer(INT64_MIN, UINT64_MAX, negative, magnitude)) return false;
    constexpr uint64_t kExact = uint64_t{1} << 53;
    if (magnitude > kExact) return fail("a double, found an integer too large to convert exactly");
    value = negative ? -static_cast<double>(magnitude) - 1.0 : static_cast<double>(magnitude);
    return true;
  }
  if (!expect_tag(WireTag::kDouble, "a double")) return false;
  if (remaining() < 8) return fail("8 bytes of a double (the input ended)");
  uint64_t bits = 0;
  for (int i = 0; i < 8; ++i) bits |= static_cast<uint64_t>(static_cast<uint8_t>(input_[position_ + i])) << (8 * i);
  position_ += 8;
  value = std::bit_cast<double>(bits);
  return true;
}

bool Decoder::read_bytes(std::string& value) {
  std::string_view view;
  if (!read_bytes_view(view)) return false;
  value.assign(view);
  return true;
}

bool Decoder::read_bytes_view_slow(std::string_view& value) {
  if (!expect_tag(WireTag::kBytes, "a string")) return false;
  uint64_t length = 0;
  if (!varint(length)) return false;
  if (length > kMaxCodecStringBytes) return fail("a string of at most kMaxCodecStringBytes");
  if (length > remaining()) return fail("a string of " + std::to_string(length) + " bytes (the input ended)");
  value = input_.substr(position_, static_cast<size_t>(length));
  position_ += static_cast<size_t>(length);
  return true;
}

namespace {
// Each element takes at least one byte, so a count beyond the bytes left is a lie.
bool plausible_count(Decoder& decoder, uint64_t count, uint64_t bytes_per_item, std::string_view what) {
  if (count > kMaxCodecElements) return decoder.fail(std::string(what) + " of at most kMaxCodecElements items");
  if (count > decoder.remaining() / bytes_per_item) {
    return decoder.fail(std::string(what) + " of " + std::to_string(count) + " items (the input is too short)");
  }
  return true;
}
}  // namespace

bool Decoder::read_list(uint64_t& count) {
  if (!expect_tag(WireTag::kList, "a list")) return false;
  if (!varint(count)) return false;
  return plausible_count(*this, count, 1, "a list");
}

bool Decoder::read_map(uint64_t& count) {
  if (!expect_tag(WireTag::kMap, "a map")) return false;
  if (!varint(count)) return false;
  return plausible_count(*this, count, 2, "a map");
}

bool Decoder::read_record_slow(uint64_t& field_count) {
  if (!expect_tag(WireTag::kRecord, "a record")) return false;
  if (!varint(field_count)) return false;
  return plausible_count(*this, field_count, 1, "a record");
}

bool Decoder::read_none_if_present() {
  if (!ok_ || position_ >= input_.size()) return false;
  if (static_cast<uint8_t>(input_[position_]) != static_cast<uint8_t>(WireTag::kNone)) return false;
  ++position_;
  return true;
}

bool Decoder::enter() {
  if (++depth_ > kMaxCodecDepth) return fail("nesting at most kMaxCodecDepth deep");
  return true;
}

bool Decoder::skip_value() { return skip(depth_); }

bool Decoder::skip(int depth) {
  if (depth > kMaxCodecDepth) return fail("nesting at most kMaxCodecDepth deep");
  uint8_t tag = 0;
  if (!peek_tag(tag)) return false;
  uint64_t count = 0;
  switch (static_cast<WireTag>(tag)) {
    case WireTag::kUnsigned:
    case WireTag::kNegative: {
      ++position_;
      return varint(count);
    }
    case WireTag::kFalse:
    case WireTag::kTrue:
    case WireTag::kNone:
      ++position_;
      return true;
    case WireTag::kDouble: {
      double ignored = 0;
      return read_double(ignored);
    }
    case WireTag::kBytes: {
      ++position_;
      if (!varint(count)) return false;
      if (count > remaining()) return fail("a string of " + std::to_string(count) + " bytes (the input ended)");
      position_ += static_cast<size_t>(count);
      return true;
    }
    case WireTag::kList:
    case WireTag::kRecord: {
      if (!(tag == static_cast<uint8_t>(WireTag::kList) ? read_list(count) : read_record(count))) return false;
      for (uint64_t i = 0; i < count; ++i) {
        if (!skip(depth + 1)) return false;
      }
      return true;
    }
    case WireTag::kMap: {
      if (!read_map(count)) return false;
      for (uint64_t i = 0; i < 2 * count; ++i) {
        if (!skip(depth + 1)) return false;
      }
      return true;
    }
  }
  return fail("a known tag, found byte " + std::to_string(tag));
}

}  // namespace tandem::runtime
