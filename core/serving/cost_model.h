// CostModel: what one request costs a backend running a given version — the simulated stand-in for a model
// or user function (latency, errors, answers).
//
// Contract: every draw comes from the Random the caller passes (a backend forks its own stream), so a sim run
// stays a function of its seed. answer() is deterministic in (version salt, request payload) except for the
// version's output_noise fraction, which returns a one-off answer: versions that share a salt answer alike,
// which is what validation (core/serving/validation.h) compares, and the noise is what two old instances
// disagree on (Diffy's old-vs-old baseline).
#pragma once

#include <string>

#include "core/env/random.h"
#include "core/env/time.h"
#include "core/serving/service_spec.h"

namespace tandem::serving {

// One latency sample for `time` (at least 1us; capped at 100x the median so one draw cannot stall a run).
Duration sample_service_time(const ServiceTime& time, Random& random);

// Whether this request fails (probability error_rate).
bool sample_error(const VersionSpec& version, Random& random);

// The hash of the version's output salt, which answer() takes: computed once per version by its caller (a
// backend answers many requests per version).
uint64_t salt_hash(const VersionSpec& version);
// The answer `version` (whose salt_hash() is version_salt_hash) gives to `payload`: "a:" and 13 hex digits of a
// hash of both ("n:" and random digits for noise), 15 characters so that no copy of it allocates.
std::string answer(const VersionSpec& version, uint64_t version_salt_hash, const std::string& payload,
                   Random& random);

}  // namespace tandem::serving
