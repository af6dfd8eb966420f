#include "core/runtime/call_wire.h"

#include <algorithm>
#include <limits>

namespace tandem::runtime::protocol {

void WireWriter::grow(size_t bytes) {
  // 256 bytes first (a few calls), then doubling: a batch of a thousand calls is copied about ten times in
  // all.
  out_.resize(std::max({size_ + bytes, 2 * out_.size(), size_t{256}}));
}

uint32_t WireWriter::length32(size_t length) {
  TANDEM_CHECK(length <= std::numeric_limits<uint32_t>::max(),
               "a call's method, arguments or value over 4 GiB");
  return static_cast<uint32_t>(length);
}

bool CallWireReader::fail(std::string_view message, std::string_view what) {
  error_.message = "undecodable " + std::string(message) + " at offset " + std::to_string(position_) +
                   ": expected " + std::string(what);
  return false;
}

bool CallWireReader::call_batch_header(CallBatchHeader& header) {
  if (input_.empty() || static_cast<uint8_t>(input_[0]) != kCallBatchLayout) {
    return fail("call batch", input_.empty() ? "the layout byte 0xC1 (the message is empty)"
                                             : "the layout byte 0xC1, found " +
                                                   std::to_string(static_cast<uint8_t>(input_[0])));
  }
  if (!read_count("call batch", kCallBatchHeaderBytes)) return false;
  header.instance = get64(input_.data() + 5);
  header.caller = get64(input_.data() + 13);
  return true;
}

bool CallWireReader::read_count(std::string_view message, size_t header_bytes) {
  if (input_.size() < header_bytes) {
    return fail(message,
                std::to_string(header_bytes) + " header bytes, found " + std::to_string(input_.size()));
  }
  const uint32_t count = get32(input_.data() + 1);
  if (count > kMaxCallBatchCalls) {
    return fail(message, "at most " + std::to_string(kMaxCallBatchCalls) +
                             " entries (kMaxCallBatchCalls), found " + std::to_string(count));
  }
  position_ = header_bytes;
  left_ = count;
  return count > 0 || no_trailing_bytes(message);
}

bool CallWireReader::call_results_header() {
  if (input_.empty() || static_cast<uint8_t>(input_[0]) != kCallResultsLayout) {
    return fail("call results", input_.empty() ? "the layout byte 0xC2 (the message is empty)"
                                               : "the layout byte 0xC2, found " +
                                                     std::to_string(static_cast<uint8_t>(input_[0])));
  }
  return read_count("call results", kCallResultsHeaderBytes);
}

bool CallWireReader::call_entry_slow() {
  if (left_ == 0) return fail("call batch", "no more entries (all those counted in the header were read)");
  if (remaining() < kCallEntryFixedBytes) {
    return fail("call batch", std::to_string(kCallEntryFixedBytes) + " bytes of a call entry (" +
                                  std::to_string(left_) + " more counted), found " +
                                  std::to_string(remaining()) + " (truncated)");
  }
  return fail("call batch", "a method and arguments within the message (their lengths run past its end)");
}

bool CallWireReader::call_result_slow() {
  if (left_ == 0) return fail("call results", "no more results (all those counted in the header were read)");
  if (remaining() < kCallResultFixedBytes) {
    return fail("call results", std::to_string(kCallResultFixedBytes) + " bytes of a call result (" +
                                    std::to_string(left_) + " more counted), found " +
                                    std::to_string(remaining()) + " (truncated)");
  }
  const char* at = input_.data() + position_;
  if (!codec_valid(static_cast<CallOutcome>(static_cast<uint8_t>(at[20])))) {
    return fail("call results",
                "a call outcome this program defines, found " + std::to_string(static_cast<uint8_t>(at[20])));
  }
  if (!codec_valid(static_cast<Errc>(static_cast<uint8_t>(at[21])))) {
    return fail("call results",
                "an error code this program defines, found " + std::to_string(static_cast<uint8_t>(at[21])));
  }
  return fail("call results", "a message and value within the message (their lengths run past its end)");
}

}  // namespace tandem::runtime::protocol
