// Trace: what happened in a sim run, as a running hash and (for the rare events) a list of records.
//
// Contract: every event the world processes is folded into hash() in processing order, so two runs have the
// same hash exactly when they processed the same events in the same order at the same times — the
// determinism check compares these. Records keep node lifecycle changes, faults and anything a caller notes
// (always), and each message send/delivery/drop only when `record_messages` is on (it is costly). Records are
// bounded by `max_records`; past that only the hash and the count of dropped records grow.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/env/random.h"
#include "core/env/time.h"
#include "core/env/transport.h"

namespace tandem::sim {

struct TraceRecord {
  int64_t time_ns;
  NodeId node;          // kNoNode for world-wide records
  std::string category;  // "node", "fault", "message", "note", ...
  std::string detail;
};

class Trace {
 public:
  explicit Trace(bool record_messages = false, size_t max_records = 1'000'000)
      : record_messages_(record_messages), max_records_(max_records) {}

  void mix(uint64_t value) { hash_ = hash_combine(hash_, value); }
  uint64_t hash() const { return hash_; }

  bool record_messages() const { return record_messages_; }

  void record(TimePoint time, NodeId node, std::string category, std::string detail) {
    mix(stable_hash(detail, stable_hash(category)));
    if (records_.size() >= max_records_) {
      ++dropped_records_;
      return;
    }
    records_.push_back(TraceRecord{to_ns(time), node, std::move(category), std::move(detail)});
  }

  const std::vector<TraceRecord>& records() const { return records_; }
  uint64_t dropped_records() const { return dropped_records_; }

 private:
  uint64_t hash_ = 0x7a6e646d74726163ULL;
  bool record_messages_;
  size_t max_records_;
  std::vector<TraceRecord> records_;
  uint64_t dropped_records_ = 0;
};

}  // namespace tandem::sim
