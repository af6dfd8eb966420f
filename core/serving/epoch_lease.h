// EpochLease: fencing so that at most one AppMaster acts for a service in a cluster at a time.
//
// Contract:
// - claim() takes the next epoch N = (highest claimed) + 1 with the control-store KV's put_if_absent on
//   epoch_key(service, N): exactly one claimant wins each number. A claimant that loses the race reads again
//   and tries N + 1 (at most kMaxClaimAttempts times).
// - Acting window: the holder of epoch N acts only while acting_from <= now < acting_until.
//     acting_from  = claim time + lease when an earlier epoch existed (its holder may act until then), else
//                    the claim time;
//     acting_until = (start of the last read — claim or confirm() — that found no higher epoch) + lease.
//   With a predecessor the window is empty right after the claim; the first confirm() after acting_from
//   opens it.
//   A holder of N stops acting the moment a confirm sees epoch N + 1, or when it has not confirmed for a
//   lease. Because N + 1 waits a full lease after its claim, and N's confirm that started before that claim
//   ends its window before N + 1's begins, two windows never overlap (given clocks that advance at the same
//   rate, as every lease-based system assumes).
// - Everything an AppMaster does to other components carries its epoch, and they refuse lower epochs
//   (core/serving/messages.h), and it persists under its own epoch (core/serving/service_metadata.h): fencing
//   holds even for a deposed AppMaster that has not noticed yet.
// - Old claims are garbage collected: after a successful claim, claims below N - kEpochsKept are deleted.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/env/clock.h"
#include "core/runtime/codec.h"
#include "core/runtime/runtime_client.h"

namespace tandem::serving {

inline constexpr int kMaxClaimAttempts = 16;
inline constexpr uint64_t kEpochsKept = 4;

struct EpochClaim {
  uint64_t epoch = 0;
  uint64_t job_id = 0;
  runtime::ActorId actor = 0;
  uint64_t incarnation = 0;
  TANDEM_CODEC_FIELDS(epoch, job_id, actor, incarnation)
};

class EpochLease {
 public:
  EpochLease(runtime::RuntimeClient& client, Clock& clock, std::string service, Duration lease)
      : client_(client), clock_(clock), service_(std::move(service)), lease_(lease) {}

  // Claims the next epoch for `claim` (its epoch field is filled in).
  Task<Result<uint64_t>> claim(EpochClaim claim);
  // Looks for a higher epoch: ok extends the window; kFailedPrecondition when deposed; other errors leave the
  // window as it was (it may lapse).
  Task<Status> confirm();

  bool acting(TimePoint now) const { return epoch_ > 0 && !deposed_ && now >= acting_from_ && now < acting_until_; }
  bool deposed() const { return deposed_; }
  uint64_t epoch() const { return epoch_; }
  uint64_t previous_epoch() const { return previous_epoch_; }
  TimePoint acting_from() const { return acting_from_; }
  TimePoint acting_until() const { return acting_until_; }
  Duration lease() const { return lease_; }

 private:
  runtime::RuntimeClient& client_;
  Clock& clock_;
  std::string service_;
  Duration lease_;
  uint64_t epoch_ = 0;
  uint64_t previous_epoch_ = 0;
  bool deposed_ = false;
  TimePoint acting_from_{};
  TimePoint acting_until_{};
};

}  // namespace tandem::serving
