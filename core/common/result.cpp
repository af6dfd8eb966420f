#include "core/common/result.h"

namespace tandem {

std::string_view errc_name(Errc code) {
  switch (code) {
    case Errc::kOk: return "ok";
    case Errc::kTimeout: return "timeout";
    case Errc::kUnreachable: return "unreachable";
    case Errc::kPeerDied: return "peer_died";
    case Errc::kCancelled: return "cancelled";
    case Errc::kNotFound: return "not_found";
    case Errc::kInvalidArgument: return "invalid_argument";
    case Errc::kAlreadyExists: return "already_exists";
    case Errc::kResourceExhausted: return "resource_exhausted";
    case Errc::kUnavailable: return "unavailable";
    case Errc::kFailedPrecondition: return "failed_precondition";
    case Errc::kStorageFailure: return "storage_failure";
    case Errc::kInternal: return "internal";
  }
  return "unknown";
}

std::string Error::to_string() const {
  std::string out(errc_name(code));
  if (!message.empty()) {
    out += ": ";
    out += message;
  }
  return out;
}

}  // namespace tandem
