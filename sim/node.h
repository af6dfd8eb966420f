// The pieces of one simulated node: its Env implementations (clock, transport, storage, log) and its state.
// Internal to sim/: code outside the simulator sees a node only through its Env and World's control API.
//
// SimStorage keeps `durable_` (survives crashes) and, on top, the unsynced writes: a log in issue order and an
// overlay by key that reads consult first. sync() marks a point in the log; after the modelled latency the
// world applies the log up to that point to `durable_` (even if the caller was cancelled meanwhile — the disk
// does not care). A crash drops the log, the overlay and every sync still in flight.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/env/env.h"
#include "sim/event_queue.h"
#include "sim/world.h"

namespace tandem::sim {

class SimClock final : public Clock {
 public:
  SimClock(World& world, NodeId node) : world_(world), node_(node) {}
  TimePoint now() const override { return world_.now() + skew_; }
  void wake_at(TimePoint when, Wakeup wakeup) override { world_.schedule_wakeup(node_, when - skew_, wakeup); }
  void wake_after_event(Wakeup wakeup) override { world_.schedule_after_event(node_, wakeup); }
  void set_skew(Duration skew) { skew_ = skew; }
  Duration skew() const { return skew_; }

 private:
  World& world_;
  NodeId node_;
  Duration skew_{};
};

class SimTransport final : public Transport {
 public:
  SimTransport(World& world, SimNode& node) : world_(world), node_(node) {}
  NodeId node() const override;
  void bind(Port port, Receiver* receiver) override;
  void unbind(Port port) override;
  Port allocate_port() override;
  void send(Message&& message) override;

 private:
  World& world_;
  SimNode& node_;
};

class SimStorage final : public Storage {
 public:
  SimStorage(World& world, SimClock& clock) : world_(world), clock_(clock) {}
  std::optional<Bytes> get(std::string_view key) const override;
  void put(std::string_view key, Bytes value) override;
  void erase(std::string_view key) override;
  std::vector<std::pair<std::string, Bytes>> scan(std::string_view prefix) const override;
  Task<Status> sync() override;

  // Crash: forget everything not yet durable, including syncs still in flight.
  void lose_volatile();
  void set_failing(bool failing) { failing_ = failing; }
  size_t durable_size() const { return durable_.size(); }

 private:
  struct WriteOp {
    uint64_t sequence;
    std::string key;
    std::optional<Bytes> value;  // nullopt = erase
  };
  struct Overlay {
    std::optional<Bytes> value;  // nullopt = erased
    uint64_t sequence = 0;       // of the newest write to this key
  };
  void apply_up_to(uint64_t sync_point);

  World& world_;
  SimClock& clock_;
  std::map<std::string, Bytes, std::less<>> durable_;
  std::map<std::string, Overlay, std::less<>> volatile_;  // what reads see on top of durable_
  std::vector<WriteOp> log_;                              // unsynced writes in issue order
  uint64_t write_sequence_ = 0;
  uint64_t crash_epoch_ = 0;  // a sync that straddles a crash must not apply its batch
  bool failing_ = false;
};

class SimLog final : public Log {
 public:
  SimLog(World& world, NodeId node, LogLevel threshold) : world_(world), node_(node), threshold_(threshold) {}
  bool enabled(LogLevel level) const override { return level >= threshold_; }
  void write(LogLevel level, std::string_view component, std::string_view message) override;

 private:
  World& world_;
  NodeId node_;
  LogLevel threshold_;
};

class SimNode {
 public:
  SimNode(World& world, NodeId id, LogLevel log_level, Random random);

  NodeId id;
  NodeState state = NodeState::kDown;
  uint32_t incarnation = 0;
  SimClock clock;
  SimTransport transport;
  SimStorage storage;
  Random random;
  SimLog log;
  Env env;
  Boot boot;
  std::unique_ptr<NodeProcess> process;
  std::vector<Receiver*> ports;          // indexed by Port; nullptr = unbound
  Port next_port = 1;                    // never reused, even across restarts: old messages cannot hit new actors
  std::vector<QueuedEvent> deferred;     // events that arrived while paused, in arrival order
  std::vector<int64_t> last_arrival_ns;  // FIFO per pair, by destination, while the world is small (World::send)
};

}  // namespace tandem::sim
