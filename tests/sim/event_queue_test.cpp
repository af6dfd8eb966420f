// The simulator's agenda: (time, sequence) order across both lanes, and stale-event removal.
#include <catch2/catch.hpp>
#include <rapidcheck.h>
#include <rapidcheck/catch.h>

#include <algorithm>
#include <vector>

#include "core/env/random.h"
#include "sim/event_queue.h"

namespace tandem::sim {
namespace {

TEST_CASE("EventQueue: events come out by time, and by push order at equal times") {
  EventQueue queue;
  queue.push(30, 0, 1);
  queue.push(10, 0, 2);
  queue.push(30, 0, 3);
  queue.push(20, 0, 4);
  queue.push(10, 0, 5);
  std::vector<uint32_t> slots;
  while (!queue.empty()) slots.push_back(queue.pop().slot);
  CHECK(slots == std::vector<uint32_t>{2, 5, 4, 1, 3});
}

TEST_CASE("EventQueue: remove_if drops exactly the selected events and keeps the order of the rest") {
  EventQueue queue;
  for (uint32_t i = 0; i < 100; ++i) queue.push(static_cast<int64_t>((i * 37) % 50), 0, i);
  const size_t removed = queue.remove_if([](const QueuedEvent& event) { return event.slot % 3 == 0; });
  CHECK(removed == 34);
  CHECK(queue.size() == 66);
  QueuedEvent previous = queue.pop();
  CHECK(previous.slot % 3 != 0);
  while (!queue.empty()) {
    const QueuedEvent next = queue.pop();
    CHECK(next.slot % 3 != 0);
    CHECK(earlier(previous, next));
    previous = next;
  }
}

TEST_CASE("EventQueue: remove_if keeps every other event exactly once when it rebuilds the heap") {
  // Regression: the heap rebuild sifted an alias of the slot it overwrote, duplicating one event and losing
  // another (a world then ran one timer action twice).
  Random random(7);
  EventQueue queue;
  for (uint32_t i = 0; i < 500; ++i) queue.push(static_cast<int64_t>(random.below(1000)), 0, i);
  queue.remove_if([](const QueuedEvent& event) { return event.slot % 5 == 0; });
  std::vector<uint32_t> slots;
  while (!queue.empty()) slots.push_back(queue.pop().slot);
  std::sort(slots.begin(), slots.end());
  std::vector<uint32_t> expected;
  for (uint32_t i = 0; i < 500; ++i) {
    if (i % 5 != 0) expected.push_back(i);
  }
  CHECK(slots == expected);
}

TEST_CASE("Property: any interleaving of pushes and pops yields events in (time, sequence) order") {
  rc::prop("queue order", [](uint64_t seed) {
    Random random(seed);
    EventQueue queue;
    std::vector<QueuedEvent> reference;  // a sorted model
    uint64_t sequence = 0;
    int64_t now = 0;
    const int operations = *rc::gen::inRange(1, 2000);
    for (int i = 0; i < operations; ++i) {
      if (random.chance(0.6) || queue.empty()) {
        // Mostly monotone times (the FIFO lane), sometimes earlier ones (the heap).
        const int64_t time = now + (random.chance(0.7) ? 1000 : static_cast<int64_t>(random.below(1000)));
        queue.push(time, 0, static_cast<uint32_t>(sequence));
        reference.push_back(QueuedEvent{time, sequence, 0, static_cast<uint32_t>(sequence)});
        ++sequence;
      } else {
        auto smallest = std::min_element(reference.begin(), reference.end(), earlier);
        const QueuedEvent popped = queue.pop();
        RC_ASSERT(popped.slot == smallest->slot);
        RC_ASSERT(popped.time_ns >= now);
        now = popped.time_ns;
        reference.erase(smallest);
      }
      RC_ASSERT(queue.size() == reference.size());
    }
  });
}

}  // namespace
}  // namespace tandem::sim
