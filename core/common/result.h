// Typed errors and Result<T>: how every fallible operation in core/ reports failure.
//
// Contract: an Error has a machine-checkable code (Errc) and a human message that says what went wrong and,
// where it can, how to fix it. Result<T> holds either a T or an Error; reading the wrong side is an invariant
// violation (TANDEM_CHECK), never undefined behaviour. Status is Result<void>. Codes are stable: they cross the
// wire in RPC replies (see core/async/rpc.h), so append new ones at the end.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "core/common/check.h"

namespace tandem {

enum class Errc : uint8_t {
  kOk = 0,
  kTimeout,             // no answer before the deadline (lost message, partition, slow peer)
  kUnreachable,         // the destination node is down or unknown (connection refused)
  kPeerDied,            // the destination endpoint is gone (actor dead, process restarted)
  kCancelled,           // the caller gave up
  kNotFound,            // no such name, key, method or class
  kInvalidArgument,     // the input is malformed; the message says which field and why
  kAlreadyExists,       // a unique name is taken
  kResourceExhausted,   // a bounded queue or budget is full
  kUnavailable,         // the service cannot serve now; retry later may work
  kFailedPrecondition,  // the operation is not allowed in the current state
  kStorageFailure,      // a durable write or sync failed
  kInternal,            // a bug or an impossible state reported as data
};

std::string_view errc_name(Errc code);

struct Error {
  Errc code = Errc::kInternal;
  std::string message;

  std::string to_string() const;
  friend bool operator==(const Error&, const Error&) = default;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  // By reference, not by value: a value passed in is moved once, into place (a by-value parameter cost a second
  // move, which for a short string is a call to memcpy).
  Result(const T& value) : state_(std::in_place_index<0>, value) {}        // NOLINT: implicit by design
  Result(T&& value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  // A value-initialised T, to be filled in place (decoders: no move of a finished value into the Result).
  explicit Result(std::in_place_t) : state_(std::in_place_index<0>) {}
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {
    TANDEM_CHECK(std::get<1>(state_).code != Errc::kOk, "an Error must not carry kOk");
  }

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    TANDEM_CHECK(ok(), "value() on a failed Result");
    return std::get<0>(state_);
  }
  const T& value() const& {
    TANDEM_CHECK(ok(), "value() on a failed Result");
    return std::get<0>(state_);
  }
  T&& value() && {
    TANDEM_CHECK(ok(), "value() on a failed Result");
    return std::get<0>(std::move(state_));
  }
  const Error& error() const {
    TANDEM_CHECK(!ok(), "error() on a successful Result");
    return std::get<1>(state_);
  }
  Errc code() const { return ok() ? Errc::kOk : error().code; }

 private:
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), failed_(true) {  // NOLINT: implicit by design
    TANDEM_CHECK(error_.code != Errc::kOk, "an Error must not carry kOk");
  }

  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const Error& error() const {
    TANDEM_CHECK(failed_, "error() on a successful Status");
    return error_;
  }
  Errc code() const { return failed_ ? error_.code : Errc::kOk; }

 private:
  Error error_;
  bool failed_ = false;
};

using Status = Result<void>;

inline Error make_error(Errc code, std::string message) { return Error{code, std::move(message)}; }

}  // namespace tandem
