#include "core/serving/epoch_lease.h"

#include <algorithm>

#include "core/serving/service_metadata.h"

namespace tandem::serving {

Task<Result<uint64_t>> EpochLease::claim(EpochClaim claim) {
  const std::string prefix = epoch_prefix(service_);
  for (int attempt = 0; attempt < kMaxClaimAttempts; ++attempt) {
    const TimePoint started = clock_.now();
    Result<std::vector<std::string>> keys = co_await client_.kv_keys(prefix);
    if (!keys.ok()) co_return keys.error();
    uint64_t highest = 0;
    for (const std::string& key : keys.value()) highest = std::max(highest, epoch_of_key(key, prefix));
    claim.epoch = highest + 1;
    Result<bool> won = co_await client_.kv_put_if_absent(epoch_key(service_, claim.epoch), runtime::encode(claim));
    if (!won.ok()) co_return won.error();
    if (!won.value()) continue;  // someone else took this number: read again
    epoch_ = claim.epoch;
    previous_epoch_ = highest;
    acting_from_ = highest == 0 ? started : started + lease_;
    acting_until_ = started + lease_;  // empty while a predecessor may act: confirm() opens it
    for (const std::string& key : keys.value()) {
      const uint64_t old = epoch_of_key(key, prefix);
      if (old > 0 && old + kEpochsKept < epoch_) co_await client_.kv_delete(key);
    }
    co_return epoch_;
  }
  co_return Error{Errc::kUnavailable, "could not claim an AppMaster epoch for " + service_ + " after " +
                                          std::to_string(kMaxClaimAttempts) + " attempts (contention)"};
}

Task<Status> EpochLease::confirm() {
  if (deposed_) co_return Error{Errc::kFailedPrecondition, "deposed"};
  const TimePoint started = clock_.now();
  const std::string prefix = epoch_prefix(service_);
  Result<std::vector<std::string>> keys = co_await client_.kv_keys(prefix);
  if (!keys.ok()) co_return keys.error();
  for (const std::string& key : keys.value()) {
    const uint64_t other = epoch_of_key(key, prefix);
    if (other > epoch_) {
      deposed_ = true;
      co_return Error{Errc::kFailedPrecondition, "AppMaster epoch " + std::to_string(epoch_) +
                                                     " was superseded by epoch " + std::to_string(other)};
    }
  }
  acting_until_ = std::max(acting_until_, started + lease_);
  co_return Status{};
}

}  // namespace tandem::serving
