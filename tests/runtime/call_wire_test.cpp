// The fixed layout of actor-call batches and results (core/runtime/call_wire.h): round trips, and bad bytes
// (wrong layout byte, a count over the limit, truncation at every length, entry boundaries included, lengths
// past the end, trailing bytes, undefined outcome or error code, arbitrary and mutated bytes) that always
// give kInvalidArgument and never crash.
#include "core/runtime/call_wire.h"

#include <rapidcheck.h>
#include <rapidcheck/catch.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace tandem::runtime::protocol {
namespace {

Bytes two_call_batch() {
  WireWriter writer;
  writer.call_batch_header(7, 0xABCDEF0123456789ULL);
  writer.call_entry(2, 3, 5, 1, "method", encode_args(std::string("payload"), 1.5));
  writer.call_entry(~uint64_t{0}, 0, 6, 4'000'000'000U, "", "");
  return writer.take();
}

Bytes two_results() {
  WireWriter writer;
  writer.call_results_header();
  writer.call_result(2, 5, 1, CallOutcome::kRan, Errc::kOk, {}, encode(int64_t{-42}));
  writer.call_result(9, 6, 2, CallOutcome::kLost, Errc::kPeerDied, "died", {});
  return writer.take();
}

// Reads a whole batch; false with the reader's error on the first failure.
bool read_batch(std::string_view bytes, std::vector<CallEntryView>& entries, Error& error) {
  CallWireReader reader(bytes);
  CallBatchHeader header;
  bool ok = reader.call_batch_header(header);
  while (ok && !reader.at_end()) ok = reader.call_entry(entries.emplace_back());
  if (!ok) error = reader.error();
  return ok;
}

bool read_results(std::string_view bytes, std::vector<CallResultView>& results, Error& error) {
  CallWireReader reader(bytes);
  bool ok = reader.call_results_header();
  while (ok && !reader.at_end()) ok = reader.call_result(results.emplace_back());
  if (!ok) error = reader.error();
  return ok;
}

TEST_CASE("Call wire: A call batch reads back field for field, views pointing into the message") {
  const Bytes bytes = two_call_batch();
  const size_t args_bytes = encode_args(std::string("payload"), 1.5).size();
  REQUIRE(bytes.size() == kCallBatchHeaderBytes + 2 * kCallEntryFixedBytes + 6 + args_bytes);
  CallWireReader reader(bytes);
  CallBatchHeader header;
  REQUIRE(reader.call_batch_header(header));
  CHECK(header.instance == 7);
  CHECK(header.caller == 0xABCDEF0123456789ULL);
  CallEntryView first;
  REQUIRE(reader.call_entry(first));
  CHECK(first.actor == 2);
  CHECK(first.incarnation == 3);
  CHECK(first.sequence == 5);
  CHECK(first.attempt == 1);
  CHECK(first.method == "method");
  CHECK(first.method.data() >= bytes.data());
  CHECK(first.method.data() < bytes.data() + bytes.size());
  Result<std::tuple<std::string, double>> args = decode_args<std::string, double>(first.args);
  REQUIRE(args.ok());
  CHECK(std::get<0>(args.value()) == "payload");
  CallEntryView second;
  REQUIRE(reader.call_entry(second));
  CHECK(second.actor == ~uint64_t{0});
  CHECK(second.attempt == 4'000'000'000U);
  CHECK(second.method.empty());
  CHECK(second.args.empty());
  CHECK(reader.at_end());
}

TEST_CASE("Call wire: Call results read back field for field, and a header alone is an empty message") {
  std::vector<CallResultView> results;
  Error error;
  const Bytes bytes = two_results();
  REQUIRE(read_results(bytes, results, error));
  REQUIRE(results.size() == 2);
  CHECK(results[0].actor == 2);
  CHECK(results[0].sequence == 5);
  CHECK(results[0].outcome == CallOutcome::kRan);
  CHECK(results[0].code == Errc::kOk);
  CHECK(decode<int64_t>(results[0].value).value() == -42);
  CHECK(results[1].outcome == CallOutcome::kLost);
  CHECK(results[1].code == Errc::kPeerDied);
  CHECK(results[1].message == "died");
  results.clear();
  WireWriter empty;
  empty.call_results_header();
  CHECK(read_results(empty.take(), results, error));
  CHECK(results.empty());
}

TEST_CASE("Call wire: The same calls always give the same bytes") {
  CHECK(two_call_batch() == two_call_batch());
}

TEST_CASE("Call wire: A wrong or missing layout byte is refused, naming the byte expected") {
  std::vector<CallEntryView> entries;
  std::vector<CallResultView> results;
  Error error;
  CHECK_FALSE(read_batch("", entries, error));
  CHECK(error.code == Errc::kInvalidArgument);
  CHECK_THAT(error.message, Catch::Contains("layout byte 0xC1"));
  Bytes batch = two_call_batch();
  CHECK_FALSE(read_results(batch, results, error));  // a batch is not results
  CHECK_THAT(error.message, Catch::Contains("layout byte 0xC2, found 193"));
  batch[0] = static_cast<char>(kCallResultsLayout);
  CHECK_FALSE(read_batch(batch, entries, error));
  CHECK_THAT(error.message, Catch::Contains("offset 0"));
}

TEST_CASE("Call wire: A batch or results message cut at any length is refused, never read past") {
  const Bytes batch = two_call_batch();
  for (size_t length = 0; length < batch.size(); ++length) {
    std::vector<CallEntryView> entries;
    Error error;
    INFO("length " << length);
    CHECK_FALSE(read_batch(std::string_view(batch).substr(0, length), entries, error));
    CHECK(error.code == Errc::kInvalidArgument);
    CHECK_THAT(error.message, Catch::StartsWith("undecodable call batch at offset"));
  }
  const Bytes results = two_results();
  for (size_t length = 0; length < results.size(); ++length) {
    std::vector<CallResultView> views;
    Error error;
    INFO("length " << length);
    CHECK_FALSE(read_results(std::string_view(results).substr(0, length), views, error));
    CHECK(error.code == Errc::kInvalidArgument);
  }
}

TEST_CASE("Call wire: A count over kMaxCallBatchCalls, or more or fewer entries than counted, is refused") {
  std::vector<CallEntryView> entries;
  std::vector<CallResultView> results;
  Error error;
  Bytes batch = two_call_batch();
  REQUIRE(batch[1] == 2);  // the count, little-endian
  batch[1] = 1;            // one entry counted, two present: the second is trailing
  CHECK_FALSE(read_batch(batch, entries, error));
  CHECK_THAT(error.message, Catch::Contains("trailing bytes"));
  batch[1] = 3;  // three counted, two present: truncated at an entry boundary
  entries.clear();
  CHECK_FALSE(read_batch(batch, entries, error));
  CHECK_THAT(error.message, Catch::Contains("1 more counted"));
  batch[1] = 0;
  batch[2] = 0x20;  // 8,192 counted
  CHECK_FALSE(read_batch(batch, entries, error));
  CHECK_THAT(error.message, Catch::Contains("at most 4096 entries"));
  WireWriter writer;
  writer.call_results_header();
  CHECK_FALSE(read_results(writer.take() + "x", results, error));  // none counted, one byte follows
  CHECK_THAT(error.message, Catch::Contains("1 trailing bytes"));
}

TEST_CASE("Call wire: Trailing bytes after the last whole entry are refused") {
  std::vector<CallEntryView> entries;
  Error error;
  Bytes batch = two_call_batch() + "xyz";
  CHECK_FALSE(read_batch(batch, entries, error));
  CHECK_THAT(error.message, Catch::Contains("trailing bytes"));
  std::vector<CallResultView> results;
  CHECK_FALSE(read_results(two_results() + std::string(1, '\0'), results, error));
  CHECK_THAT(error.message, Catch::Contains("trailing bytes"));
}

TEST_CASE("Call wire: A length past the end, an undefined outcome or an undefined error code is refused") {
  std::vector<CallEntryView> entries;
  std::vector<CallResultView> results;
  Error error;
  Bytes batch = two_call_batch();
  batch[kCallBatchHeaderBytes + 28] = '\x7f';  // the first entry's method length
  CHECK_FALSE(read_batch(batch, entries, error));
  CHECK_THAT(error.message, Catch::Contains("run past its end"));
  Bytes huge = two_call_batch();
  for (size_t i = 32; i < 36; ++i) huge[kCallBatchHeaderBytes + i] = '\xff';  // arguments length 2^32 - 1
  CHECK_FALSE(read_batch(huge, entries, error));
  Bytes outcome = two_results();
  outcome[kCallResultsHeaderBytes + 20] = 3;
  CHECK_FALSE(read_results(outcome, results, error));
  CHECK_THAT(error.message, Catch::Contains("call outcome"));
  Bytes code = two_results();
  code[kCallResultsHeaderBytes + 21] = static_cast<char>(static_cast<uint8_t>(Errc::kInternal) + 1);
  CHECK_FALSE(read_results(code, results, error));
  CHECK_THAT(error.message, Catch::Contains("error code"));
}

TEST_CASE(
    "Call wire: Property: arbitrary or mutated call messages never crash the reader and fail only with "
    "kInvalidArgument") {
  rc::prop("garbage", [](const std::string& bytes) {
    std::vector<CallEntryView> entries;
    std::vector<CallResultView> results;
    Error error;
    if (!read_batch(bytes, entries, error)) RC_ASSERT(error.code == Errc::kInvalidArgument);
    if (!read_results(bytes, results, error)) RC_ASSERT(error.code == Errc::kInvalidArgument);
  });
  rc::prop("mutations", [](uint32_t position, uint8_t value) {
    std::vector<CallEntryView> entries;
    std::vector<CallResultView> results;
    Error error;
    Bytes batch = two_call_batch();
    batch[position % batch.size()] = static_cast<char>(value);
    if (read_batch(batch, entries, error)) {
      for (const CallEntryView& entry : entries) {
        RC_ASSERT(entry.method.data() >= batch.data());
        RC_ASSERT(entry.args.data() + entry.args.size() <= batch.data() + batch.size());
      }
    } else {
      RC_ASSERT(error.code == Errc::kInvalidArgument);
    }
    Bytes bytes = two_results();
    bytes[position % bytes.size()] = static_cast<char>(value);
    if (read_results(bytes, results, error)) {
      for (const CallResultView& result : results) RC_ASSERT(result.outcome <= CallOutcome::kLost);
    } else {
      RC_ASSERT(error.code == Errc::kInvalidArgument);
    }
  });
}

}  // namespace
}  // namespace tandem::runtime::protocol
