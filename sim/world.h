// World: the deterministic simulated world — one event loop, virtual time, simulated nodes, network and disks.
//
// Contract:
// - Single-threaded and deterministic: a World built the same way with the same seed processes the same
//   events in the same order and ends with the same trace hash. Virtual time jumps from event to event; code
//   running inside an event sees time stand still.
// - Each node runs a NodeProcess made by its Boot function from the node's Env (core/env/env.h). crash()
//   destroys the process — every coroutine it owns dies, its ports close, its unsynced storage writes are
//   lost — and restart() boots a fresh process with a fresh Env view (same durable storage, a new random
//   stream). pause() freezes a node: its timers and deliveries wait until resume().
// - Faults and experiment steps are scheduled with at()/after(); they run between events, never inside a
//   node's coroutine, so they may crash or restart any node.
// - Messages: see core/env/transport.h. Arrival time = the network's verdict (sim/network.h); between a pair
//   of nodes arrivals are kept in send order (FIFO, like one TCP connection) unless a reorder fault is on.
//   A message reaching a down node bounces kUnreachable to its sender, one reaching an unbound port bounces
//   kPeerDied; lost messages vanish.
//
// Node lifecycle:
//
//   add_node ──boot──> UP ──pause──> PAUSED ──resume──> UP
//                       │ ▲            │
//                 crash │ └─restart─┐  │ crash
//                       ▼           │  ▼
//                      DOWN ────────┘ DOWN      (process destroyed, unsynced writes lost, incarnation + 1)
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/async/scope.h"
#include "core/env/env.h"
#include "sim/event_queue.h"
#include "sim/network.h"
#include "sim/trace.h"

namespace tandem::sim {

class World;
class SimNode;

// What runs on a node: anything the Boot function builds. Destroyed on crash.
class NodeProcess {
 public:
  virtual ~NodeProcess() = default;
};

// A NodeProcess that is just a Scope of coroutines: the simplest thing to boot in tests and examples.
class ScopeProcess final : public NodeProcess {
 public:
  Scope scope;
};

using Boot = std::function<std::unique_ptr<NodeProcess>(Env& env)>;

enum class NodeState : uint8_t { kUp, kPaused, kDown };
const char* to_string(NodeState state);

struct WorldOptions {
  uint64_t seed = 1;
  LogLevel log_level = LogLevel::kWarning;  // lines below this level are not printed
  bool record_messages = false;             // keep a trace record per message (slow; for debugging)
  Duration storage_sync_latency = 1ms;      // modelled fsync time
  uint64_t max_events = UINT64_MAX;          // a safety valve for run loops
};

struct WorldStats {
  uint64_t events = 0;
  uint64_t messages_sent = 0;
  uint64_t messages_delivered = 0;
  uint64_t messages_dropped = 0;       // lost by the network (partition, loss, drop fault)
  uint64_t messages_duplicated = 0;
  uint64_t messages_bounced = 0;       // undeliverable: node down or port unbound
  uint64_t wakeups = 0;
  uint64_t stale_wakeups = 0;          // timers of tasks that already resumed or died
  uint64_t crashes = 0;
  uint64_t restarts = 0;
};

class World {
 public:
  explicit World(WorldOptions options = {});
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  // --- Building -----------------------------------------------------------------------------------------
  Network& network() { return network_; }
  // Adds a node to `cluster` (see Network) and boots it at once when `boot` is given.
  NodeId add_node(std::string name, ClusterId cluster, LinkSpec uplink, Boot boot = {});
  // Sets what the node runs on its next start; starts it now if it is up and runs nothing yet.
  void set_boot(NodeId node, Boot boot);

  // --- Running ------------------------------------------------------------------------------------------
  TimePoint now() const { return now_; }
  // Processes one event; false when the queue is empty or max_events was reached.
  bool step();
  // Processes every event due at or before `until`, then sets the clock to `until`.
  void run_until(TimePoint until);
  void run_for(Duration duration) { run_until(now_ + duration); }
  // Processes events until none are left (or max_events); returns the number processed.
  uint64_t run_until_idle();

  // Runs `action` between events at `when` (world time); it may apply faults or start work.
  void at(TimePoint when, std::function<void()> action);
  void after(Duration delay, std::function<void()> action) { at(now_ + delay, std::move(action)); }

  // --- Control API (faults) -----------------------------------------------------------------------------
  void crash(NodeId node);
  void restart(NodeId node);
  void pause(NodeId node);
  void resume(NodeId node);
  void set_clock_skew(NodeId node, Duration skew);      // the node's clock reads world time + skew
  void set_storage_failing(NodeId node, bool failing);  // its syncs fail with kStorageFailure while on
  // Network faults live on network(): partition, partition_one_way, cut_cluster, set_link_fault, clog, heal.
  // These wrappers also record the fault in the trace.
  void note(NodeId node, std::string category, std::string detail);

  // --- Introspection ------------------------------------------------------------------------------------
  size_t node_count() const { return nodes_.size(); }
  NodeState state(NodeId node) const;
  uint32_t incarnation(NodeId node) const;
  Env& env(NodeId node);                       // the node's current Env (valid while the node is not down)
  NodeProcess* process(NodeId node);           // nullptr when down or nothing booted
  const WorldStats& stats() const { return stats_; }
  const Trace& trace() const { return trace_; }
  uint64_t trace_hash() const { return trace_.hash(); }
  Random& random() { return random_; }          // the world's own stream (workloads, nemesis)
  size_t pending_events() const { return queue_.size() + wheel_size_; }

 private:
  friend class SimNode;
  friend class SimClock;
  friend class SimTransport;
  friend class SimStorage;

  enum EventKind : uint32_t { kWakeup = 0, kDeliver, kBounce, kAction };
  struct PendingWakeup {
    NodeId node;
    Wakeup wakeup;
  };
  struct InFlight {
    Message message;
    Errc bounce_reason = Errc::kOk;
  };

  // Far timers. A wakeup due kWheelHorizonNs or more ahead waits in a bucket of a timer wheel instead of the
  // event heap: most are deadlines of calls that end long before, and those leave the wheel as stale entries
  // without ever costing a heap push and pop. Before any event at or after a bucket's start is processed the
  // bucket's live wakeups enter the queue with the sequence numbers reserved when they were scheduled, so
  // events come out in exactly the order they would have without the wheel.
  struct WheelEntry {
    int64_t time_ns;
    uint64_t sequence;
    uint32_t slot;  // in wakeups_
  };
  static constexpr int kWheelBucketShift = 20;                 // buckets of 2^20 ns (about 1 ms)
  static constexpr size_t kWheelBuckets = 4096;                // one turn: about 4.4 s
  static constexpr int64_t kWheelHorizonNs = int64_t{16} << kWheelBucketShift;
  void settle_wheel();       // drains every bucket that starts at or before the queue's head
  void drain_wheel_bucket();  // moves the cursor's bucket into the queue and advances the cursor
  bool peek_next_time(int64_t& time_ns);  // settles the wheel, then the queue's head time
  bool step_settled();                    // step() once the wheel is settled (run_until settles when it peeks)

  void schedule_wakeup(NodeId node, TimePoint when, Wakeup wakeup);
  void schedule_after_event(NodeId node, Wakeup wakeup);  // see Clock::wake_after_event
  void run_after_event();                                  // resumes what the event just dispatched asked for
  void fire(const PendingWakeup& pending, uint64_t trace_tag);  // counts, traces and resumes one wakeup if valid
  void send(NodeId from_node, Message&& message);
  void dispatch(const QueuedEvent& event);
  void deliver(uint32_t slot);
  void bounce(uint32_t slot);
  void boot(SimNode& node);
  uint32_t take_message_slot(Message&& message, Errc bounce_reason);
  void release_message_slot(uint32_t slot);
  NodeId event_node(const QueuedEvent& event) const;
  void shed_stale_wakeups();

  WorldOptions options_;
  Random random_;
  Network network_;
  Trace trace_;
  EventQueue queue_;
  TimePoint now_{};
  WorldStats stats_;
  std::vector<std::unique_ptr<SimNode>> nodes_;  // indexed by NodeId

  std::vector<std::vector<WheelEntry>> wheel_ = std::vector<std::vector<WheelEntry>>(kWheelBuckets);
  int64_t wheel_cursor_ = 0;  // absolute bucket number (time_ns >> kWheelBucketShift) not drained yet
  size_t wheel_size_ = 0;
  std::vector<PendingWakeup> wakeups_;
  std::vector<uint32_t> free_wakeups_;
  std::vector<InFlight> messages_;
  std::vector<uint32_t> free_messages_;
  std::vector<std::function<void()>> actions_;
  std::vector<uint32_t> free_actions_;
  // FIFO per node pair: the latest arrival time scheduled from one node to another. Up to kDenseFifoNodes nodes a
  // dense row per sender (SimNode::last_arrival_ns: no hashing on every send), beyond that a hash map (rows of
  // every pair would not scale); add_node moves the rows into the map when the world outgrows them.
  static constexpr size_t kDenseFifoNodes = 1024;
  int64_t& last_arrival_ns(NodeId from_node, NodeId to_node);
  std::unordered_map<uint64_t, int64_t> last_arrival_ns_;  // looked up, never iterated
  size_t live_wakeups_at_last_shed_ = 0;
  size_t paused_nodes_ = 0;        // step() looks up an event's node only while some node is paused
  NodeId current_node_ = kNoNode;  // whose code runs now; guards against a node crashing itself
  bool in_event_ = false;          // dispatch() or run_after_event() runs
  // Wakeups to run when the current event's code returns (Clock::wake_after_event), in request order; no event
  // of their own, so a batch flush costs no heap push and pop.
  std::vector<PendingWakeup> after_event_;
};

}  // namespace tandem::sim
