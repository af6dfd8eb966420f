// EventQueue: the simulator's agenda, ordered by (time, sequence).
//
// Contract: pop() returns events in non-decreasing time; events with equal time come out in push order (the
// sequence number breaks ties), so a run depends only on what was pushed, never on container internals.
// An event is just (time, kind, slot): the world keeps payloads in its own slabs and interprets kind/slot.
//
// Two lanes keep the common case cheap: an event whose (time, sequence) is not earlier than the newest one in
// the FIFO lane is appended there in O(1) (constant link latencies and timers make most events like that);
// anything else goes to a binary min-heap. pop() takes the smaller head of the two lanes.
#pragma once

#include <cstdint>
#include <vector>

#include "core/common/check.h"

namespace tandem::sim {

struct QueuedEvent {
  int64_t time_ns;
  uint64_t sequence;
  uint32_t kind;
  uint32_t slot;
};

inline bool earlier(const QueuedEvent& a, const QueuedEvent& b) {
  return a.time_ns != b.time_ns ? a.time_ns < b.time_ns : a.sequence < b.sequence;
}

class EventQueue {
 public:
  void push(int64_t time_ns, uint32_t kind, uint32_t slot) { push_sequenced(time_ns, next_sequence_++, kind, slot); }

  // Reserves the sequence number of an event that is pushed later with push_sequenced(): it then sorts exactly
  // where push() would have put it at reservation time (the world's timer wheel holds far timers that way).
  uint64_t take_sequence() { return next_sequence_++; }
  void push_sequenced(int64_t time_ns, uint64_t sequence, uint32_t kind, uint32_t slot) {
    const QueuedEvent event{time_ns, sequence, kind, slot};
    if (fifo_head_ == fifo_.size() || !earlier(event, fifo_.back())) {
      if (fifo_head_ == fifo_.size()) {
        fifo_.clear();
        fifo_head_ = 0;
      }
      fifo_.push_back(event);
    } else {
      heap_push(event);
    }
  }

  bool empty() const { return fifo_head_ == fifo_.size() && heap_.empty(); }
  size_t size() const { return (fifo_.size() - fifo_head_) + heap_.size(); }

  const QueuedEvent& top() const {
    TANDEM_CHECK(!empty(), "top() of an empty event queue");
    if (fifo_head_ == fifo_.size()) return heap_.front();
    if (heap_.empty()) return fifo_[fifo_head_];
    return earlier(heap_.front(), fifo_[fifo_head_]) ? heap_.front() : fifo_[fifo_head_];
  }

  QueuedEvent pop() {
    TANDEM_CHECK(!empty(), "pop() of an empty event queue");
    const bool from_fifo =
        fifo_head_ != fifo_.size() && (heap_.empty() || !earlier(heap_.front(), fifo_[fifo_head_]));
    if (from_fifo) {
      QueuedEvent event = fifo_[fifo_head_++];
      if (fifo_head_ > 4096 && fifo_head_ * 2 > fifo_.size()) compact_fifo();
      return event;
    }
    return heap_pop();
  }

  // Rebuilds both lanes without the events `drop` selects; for shedding stale timers. Order is preserved.
  template <typename Predicate>
  size_t remove_if(Predicate drop) {
    std::vector<QueuedEvent> kept;
    size_t removed = 0;
    auto keep_into = [&](std::vector<QueuedEvent>& lane) {
      kept.clear();
      for (const QueuedEvent& event : lane) {
        if (drop(event)) {
          ++removed;
        } else {
          kept.push_back(event);
        }
      }
      lane.swap(kept);
    };
    compact_fifo();
    keep_into(fifo_);
    keep_into(heap_);
    rebuild_heap();
    return removed;
  }

 private:
  void compact_fifo() {
    fifo_.erase(fifo_.begin(), fifo_.begin() + static_cast<std::ptrdiff_t>(fifo_head_));
    fifo_head_ = 0;
  }

  // A 4-ary min-heap: shallower than binary, and its four children share a cache line or two.
  static constexpr size_t kArity = 4;

  void heap_push(const QueuedEvent& event) {
    size_t index = heap_.size();
    heap_.push_back(event);
    while (index > 0) {
      const size_t parent = (index - 1) / kArity;
      if (!earlier(event, heap_[parent])) break;
      heap_[index] = heap_[parent];
      index = parent;
    }
    heap_[index] = event;
  }

  QueuedEvent heap_pop() {
    QueuedEvent top = heap_.front();
    const QueuedEvent last = heap_.back();
    heap_.pop_back();
    if (!heap_.empty()) sift_down(0, last);
    return top;
  }

  // `event` by value: rebuild_heap() passes heap_[i], which the loop overwrites (an alias would duplicate one
  // event and lose another).
  void sift_down(size_t index, const QueuedEvent event) {
    const size_t count = heap_.size();
    while (true) {
      const size_t first_child = index * kArity + 1;
      if (first_child >= count) break;
      size_t best = first_child;
      const size_t end = first_child + kArity < count ? first_child + kArity : count;
      for (size_t child = first_child + 1; child < end; ++child) {
        if (earlier(heap_[child], heap_[best])) best = child;
      }
      if (!earlier(heap_[best], event)) break;
      heap_[index] = heap_[best];
      index = best;
    }
    heap_[index] = event;
  }

  void rebuild_heap() {
    if (heap_.size() < 2) return;
    for (size_t i = (heap_.size() - 2) / kArity + 1; i-- > 0;) sift_down(i, heap_[i]);
  }

  std::vector<QueuedEvent> fifo_;  // sorted by (time, sequence) from fifo_head_ on
  size_t fifo_head_ = 0;
  std::vector<QueuedEvent> heap_;
  uint64_t next_sequence_ = 0;
};

}  // namespace tandem::sim
