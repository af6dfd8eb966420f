// The fixed layout of actor-call messages: kCallBatch (client -> daemon) and kCallResults (daemon -> client).
// Internal to core/runtime (RuntimeClient and NodeDaemon); every other message keeps the codec (codec.h).
//
// Contract:
// - Why not the codec: these two messages carry every actor call, and a tagged, varint, field-by-field record
//   cost more than the call's own work. Here every number has a fixed width (little-endian) and sits at a
//   fixed offset, so writing and reading an entry is a few stores and loads. The method, arguments, error
//   message and result value stay opaque bytes (the arguments and value are codec-encoded by the typed
//   layer).
// - Layout (u8/u32/u64: unsigned, little-endian; bytes: exactly the length given before):
//     kCallBatch    u8 kCallBatchLayout, u32 entry count, u64 node instance, u64 caller client id,
//                   then `count` entries: u64 actor, u64 incarnation, u64 sequence, u32 attempt,
//                   u32 method length, u32 arguments length, method bytes, argument bytes
//     kCallResults  u8 kCallResultsLayout, u32 result count,
//                   then `count` results: u64 actor, u64 sequence, u32 attempt, u8 outcome (CallOutcome),
//                   u8 code (Errc), u32 message length, u32 value length, message bytes, value bytes
//   The count (at most kMaxCallBatchCalls) makes a message cut at an entry boundary detectable. A new layout
//   takes a new first byte; a reader refuses a first byte it does not know.
// - Reading never crashes and never reads past the input: a wrong first byte, a count over the limit, a
//   truncated entry, a length past the end, an outcome or error code this program does not define, fewer
//   entries than counted or bytes after the last one make the reader return false with
//   Error{kInvalidArgument} naming the offset and what was expected. Views it fills point into the input and
//   are valid as long as it is.
// - Deterministic: the same calls always give the same bytes.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include "core/common/result.h"
#include "core/runtime/protocol.h"

namespace tandem::runtime::protocol {

inline constexpr uint8_t kCallBatchLayout = 0xC1;
inline constexpr uint8_t kCallResultsLayout = 0xC2;
inline constexpr size_t kCallBatchHeaderBytes = 1 + 4 + 8 + 8;
inline constexpr size_t kCallResultsHeaderBytes = 1 + 4;
inline constexpr size_t kCallEntryFixedBytes = 8 + 8 + 8 + 4 + 4 + 4;
inline constexpr size_t kCallResultFixedBytes = 8 + 8 + 4 + 1 + 1 + 4 + 4;
inline constexpr size_t kMaxRetainedWriterBytes = size_t{256} << 10;  // a larger buffer is freed after its message

// Byte order for a big-endian host (on little-endian ones the layout is the native one and nothing swaps).
constexpr uint64_t wire_byteswap64(uint64_t value) {
  uint64_t swapped = 0;
  for (int i = 0; i < 8; ++i) swapped = (swapped << 8) | ((value >> (8 * i)) & 0xff);
  return swapped;
}
constexpr uint32_t wire_byteswap32(uint32_t value) { return static_cast<uint32_t>(wire_byteswap64(value) >> 32); }

// Writes one message: a header, then entries (or results), each through a cursor into a buffer grown ahead
// (one capacity check per entry). The count in the header is filled in by take().
class WireWriter {
 public:
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Entries or results written since the header.
  uint32_t count() const { return count_; }
  // The message written. The writer is empty afterwards and keeps its buffer for the next message (up to
  // kMaxRetainedWriterBytes): a writer reused batch after batch allocates once per message, where growing a
  // fresh buffer for each one reallocated, zero-filled and copied it about ten times.
  Bytes take() {
    if (size_ == 0) return Bytes();
    put32(out_.data() + 1, count_);
    Bytes message;
    if (out_.size() > kMaxRetainedWriterBytes) {  // not kept: hand the buffer itself over
      out_.resize(size_);
      message = std::move(out_);
      out_ = Bytes();
    } else {
      message.assign(out_.data(), size_);
    }
    size_ = 0;
    count_ = 0;
    return message;
  }

  void call_batch_header(NodeInstance instance, ClientId caller) {
    char* at = room(kCallBatchHeaderBytes);
    *at++ = static_cast<char>(kCallBatchLayout);
    at = put32(at, 0);  // the count, filled in by take()
    at = put64(at, instance);
    put64(at, caller);
    size_ += kCallBatchHeaderBytes;
  }
  void call_entry(ActorId actor, uint64_t incarnation, uint64_t sequence, uint32_t attempt,
                  std::string_view method, std::string_view args) {
    const size_t total = kCallEntryFixedBytes + method.size() + args.size();
    char* at = room(total);
    at = put64(at, actor);
    at = put64(at, incarnation);
    at = put64(at, sequence);
    at = put32(at, attempt);
    at = put32(at, length32(method.size()));
    at = put32(at, length32(args.size()));
    at = put_bytes(at, method);
    put_bytes(at, args);
    size_ += total;
    ++count_;
  }

  void call_results_header() {
    char* at = room(kCallResultsHeaderBytes);
    *at++ = static_cast<char>(kCallResultsLayout);
    put32(at, 0);  // the count, filled in by take()
    size_ += kCallResultsHeaderBytes;
  }
  void call_result(ActorId actor, uint64_t sequence, uint32_t attempt, CallOutcome outcome, Errc code,
                   std::string_view message, std::string_view value) {
    const size_t total = kCallResultFixedBytes + message.size() + value.size();
    char* at = room(total);
    at = put64(at, actor);
    at = put64(at, sequence);
    at = put32(at, attempt);
    *at++ = static_cast<char>(outcome);
    *at++ = static_cast<char>(code);
    at = put32(at, length32(message.size()));
    at = put32(at, length32(value.size()));
    at = put_bytes(at, message);
    put_bytes(at, value);
    size_ += total;
    ++count_;
  }

 private:
  char* room(size_t bytes) {
    if (out_.size() - size_ < bytes) grow(bytes);
    return out_.data() + size_;
  }
  void grow(size_t bytes);
  static uint32_t length32(size_t length);
  static char* put64(char* at, uint64_t value) {
    if constexpr (std::endian::native != std::endian::little) value = wire_byteswap64(value);
    std::memcpy(at, &value, 8);
    return at + 8;
  }
  static char* put32(char* at, uint32_t value) {
    if constexpr (std::endian::native != std::endian::little) value = wire_byteswap32(value);
    std::memcpy(at, &value, 4);
    return at + 4;
  }
  static char* put_bytes(char* at, std::string_view bytes) {
    if (!bytes.empty()) std::memcpy(at, bytes.data(), bytes.size());
    return at + bytes.size();
  }
  Bytes out_;
  size_t size_ = 0;
  uint32_t count_ = 0;
};

// Reads one kCallBatch or kCallResults message, entry by entry.
class CallWireReader {
 public:
  explicit CallWireReader(std::string_view input) : input_(input) {}

  // The header of a kCallBatch message.
  bool call_batch_header(CallBatchHeader& header);
  // The header of a kCallResults message.
  bool call_results_header();
  // The next entry or result (call only while !at_end()). Reading the last one counted also checks that
  // nothing follows it.
  bool call_entry(CallEntryView& entry) {
    if (left_ > 0 && remaining() >= kCallEntryFixedBytes) {
      const char* at = input_.data() + position_;
      entry.actor = get64(at);
      entry.incarnation = get64(at + 8);
      entry.sequence = get64(at + 16);
      entry.attempt = get32(at + 24);
      const uint64_t method = get32(at + 28);
      const uint64_t args = get32(at + 32);
      if (method + args <= remaining() - kCallEntryFixedBytes) {
        position_ += kCallEntryFixedBytes;
        entry.method = input_.substr(position_, method);
        entry.args = input_.substr(position_ + method, args);
        position_ += method + args;
        return --left_ > 0 || no_trailing_bytes("call batch");
      }
    }
    return call_entry_slow();
  }
  bool call_result(CallResultView& result) {
    if (left_ > 0 && remaining() >= kCallResultFixedBytes) {
      const char* at = input_.data() + position_;
      const auto outcome = static_cast<uint8_t>(at[20]);
      const auto code = static_cast<uint8_t>(at[21]);
      const uint64_t message = get32(at + 22);
      const uint64_t value = get32(at + 26);
      if (codec_valid(static_cast<CallOutcome>(outcome)) && codec_valid(static_cast<Errc>(code)) &&
          message + value <= remaining() - kCallResultFixedBytes) {
        result.actor = get64(at);
        result.sequence = get64(at + 8);
        result.attempt = get32(at + 16);
        result.outcome = static_cast<CallOutcome>(outcome);
        result.code = static_cast<Errc>(code);
        position_ += kCallResultFixedBytes;
        result.message = input_.substr(position_, message);
        result.value = input_.substr(position_ + message, value);
        position_ += message + value;
        return --left_ > 0 || no_trailing_bytes("call results");
      }
    }
    return call_result_slow();
  }

  // Every counted entry was read (or the header was not).
  bool at_end() const { return left_ == 0; }
  // Why the last read failed: kInvalidArgument, "undecodable call batch at offset N: expected ...".
  const Error& error() const { return error_; }

 private:
  size_t remaining() const { return input_.size() - position_; }
  bool call_entry_slow();
  bool call_result_slow();
  bool fail(std::string_view message, std::string_view what);
  bool read_count(std::string_view message, size_t header_bytes);
  bool no_trailing_bytes(std::string_view message) {
    return position_ == input_.size() ||
           fail(message, "the end of the message after the last counted entry, found " +
                             std::to_string(remaining()) + " trailing bytes");
  }
  static uint64_t get64(const char* at) {
    uint64_t value = 0;
    std::memcpy(&value, at, 8);
    if constexpr (std::endian::native != std::endian::little) value = wire_byteswap64(value);
    return value;
  }
  static uint32_t get32(const char* at) {
    uint32_t value = 0;
    std::memcpy(&value, at, 4);
    if constexpr (std::endian::native != std::endian::little) value = wire_byteswap32(value);
    return value;
  }

  std::string_view input_;
  size_t position_ = 0;
  uint32_t left_ = 0;  // entries counted in the header and not read yet
  Error error_{Errc::kInvalidArgument, {}};  // {} not "": no strlen and copy per reader
};

}  // namespace tandem::runtime::protocol
