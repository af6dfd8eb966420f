#include "sim/world.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <utility>

#include "core/async/sleep.h"
#include "sim/node.h"

namespace tandem::sim {
namespace {
// Trace hashing of payloads, 8 bytes per step (stable_hash goes byte by byte).
inline uint64_t payload_hash(std::string_view bytes, uint64_t seed) {
  uint64_t hash = seed ^ (bytes.size() * 0x9e3779b97f4a7c15ULL);
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, bytes.data() + i, 8);
    hash = (hash ^ word) * 0xff51afd7ed558ccdULL;
    hash ^= hash >> 32;
  }
  if (i < bytes.size()) {
    uint64_t word = 0;
    std::memcpy(&word, bytes.data() + i, bytes.size() - i);
    hash = (hash ^ word) * 0xff51afd7ed558ccdULL;
    hash ^= hash >> 32;
  }
  return hash;
}
}  // namespace

const char* to_string(NodeState state) {
  switch (state) {
    case NodeState::kUp: return "up";
    case NodeState::kPaused: return "paused";
    case NodeState::kDown: return "down";
  }
  return "unknown";
}

// --- SimNode and its Env pieces -------------------------------------------------------------------------

SimNode::SimNode(World& world, NodeId node_id, LogLevel log_level, Random node_random)
    : id(node_id),
      clock(world, node_id),
      transport(world, *this),
      storage(world, clock),
      random(node_random),
      log(world, node_id, log_level),
      env{node_id, clock, transport, storage, random, log} {}

NodeId SimTransport::node() const { return node_.id; }

void SimTransport::bind(Port port, Receiver* receiver) {
  TANDEM_CHECK(port != 0, "port 0 is not a valid port");
  TANDEM_CHECK(receiver != nullptr, "binding a null receiver");
  if (port >= node_.ports.size()) node_.ports.resize(port + 1, nullptr);
  TANDEM_CHECK(node_.ports[port] == nullptr, "binding a port that is already bound");
  node_.ports[port] = receiver;
  if (port >= node_.next_port) node_.next_port = port + 1;
}

void SimTransport::unbind(Port port) {
  if (node_.state == NodeState::kDown) return;  // a crash already closed every port
  TANDEM_CHECK(port < node_.ports.size(), "unbinding a port that was never bound");
  TANDEM_CHECK(node_.ports[port] != nullptr, "unbinding a port that is not bound");
  node_.ports[port] = nullptr;
}

Port SimTransport::allocate_port() { return node_.next_port++; }

void SimTransport::send(Message&& message) {
  TANDEM_CHECK(message.from.node == node_.id, "a node may only send from its own addresses");
  TANDEM_CHECK(node_.state != NodeState::kDown, "a down node cannot send");
  world_.send(node_.id, std::move(message));
}

std::optional<Bytes> SimStorage::get(std::string_view key) const {
  if (auto it = volatile_.find(key); it != volatile_.end()) return it->second.value;
  if (auto it = durable_.find(key); it != durable_.end()) return it->second;
  return std::nullopt;
}

void SimStorage::put(std::string_view key, Bytes value) {
  const uint64_t sequence = ++write_sequence_;
  log_.push_back(WriteOp{sequence, std::string(key), value});
  auto& entry = volatile_[std::string(key)];
  entry.value = std::move(value);
  entry.sequence = sequence;
}

void SimStorage::erase(std::string_view key) {
  const uint64_t sequence = ++write_sequence_;
  log_.push_back(WriteOp{sequence, std::string(key), std::nullopt});
  auto& entry = volatile_[std::string(key)];
  entry.value = std::nullopt;
  entry.sequence = sequence;
}

std::vector<std::pair<std::string, Bytes>> SimStorage::scan(std::string_view prefix) const {
  std::vector<std::pair<std::string, Bytes>> out;
  auto durable_it = durable_.lower_bound(prefix);
  auto volatile_it = volatile_.lower_bound(prefix);
  auto has_prefix = [&](const std::string& key) { return key.compare(0, prefix.size(), prefix) == 0; };
  while (true) {
    const bool durable_live = durable_it != durable_.end() && has_prefix(durable_it->first);
    const bool volatile_live = volatile_it != volatile_.end() && has_prefix(volatile_it->first);
    if (!durable_live && !volatile_live) break;
    if (volatile_live && (!durable_live || volatile_it->first <= durable_it->first)) {
      if (durable_live && durable_it->first == volatile_it->first) ++durable_it;  // the newer write wins
      if (volatile_it->second.value) out.emplace_back(volatile_it->first, *volatile_it->second.value);
      ++volatile_it;
    } else {
      out.emplace_back(durable_it->first, durable_it->second);
      ++durable_it;
    }
  }
  return out;
}

Task<Status> SimStorage::sync() {
  const uint64_t sync_point = write_sequence_;
  const bool failing = failing_;
  const Duration latency = world_.options_.storage_sync_latency;
  // Durability is the disk's business, not the caller's: it lands even if the caller is cancelled meanwhile.
  const uint64_t epoch = crash_epoch_;
  world_.after(latency, [this, sync_point, failing, epoch] {
    if (epoch != crash_epoch_ || failing) return;  // lost in a crash, or the device failed the write
    apply_up_to(sync_point);
  });
  co_await sleep(clock_, latency);
  if (failing) co_return Error{Errc::kStorageFailure, "simulated storage fault: the sync did not complete"};
  co_return Status{};
}

void SimStorage::apply_up_to(uint64_t sync_point) {
  size_t applied = 0;
  for (; applied < log_.size() && log_[applied].sequence <= sync_point; ++applied) {
    WriteOp& op = log_[applied];
    if (op.value) {
      durable_[op.key] = *op.value;
    } else {
      durable_.erase(op.key);
    }
    auto it = volatile_.find(op.key);
    if (it != volatile_.end() && it->second.sequence <= sync_point) volatile_.erase(it);
  }
  log_.erase(log_.begin(), log_.begin() + static_cast<std::ptrdiff_t>(applied));
}

void SimStorage::lose_volatile() {
  volatile_.clear();
  log_.clear();
  ++crash_epoch_;
}

void SimLog::write(LogLevel level, std::string_view component, std::string_view message) {
  if (!enabled(level)) return;
  static constexpr const char* kLevelNames[] = {"debug", "info", "warn", "error"};
  std::fprintf(stderr, "[%14.6fs] %s %-8s %.*s: %.*s\n", to_seconds(world_.now().time_since_epoch()),
               kLevelNames[static_cast<int>(level)], world_.network().node_name(node_).c_str(),
               static_cast<int>(component.size()), component.data(), static_cast<int>(message.size()),
               message.data());
}

// --- World ----------------------------------------------------------------------------------------------

World::World(WorldOptions options)
    : options_(options), random_(Random(options.seed).fork("world")), network_(Random(options.seed).fork("network")),
      trace_(options.record_messages) {
  trace_.mix(options.seed);
}

World::~World() {
  // Coroutines first: they may touch the transport and clock of their node while being destroyed.
  for (auto& node : nodes_) node->process.reset();
}

NodeId World::add_node(std::string name, ClusterId cluster, LinkSpec uplink, Boot boot_function) {
  const NodeId id = network_.add_node(std::move(name), cluster, uplink);
  TANDEM_CHECK(id == nodes_.size(), "the network must number nodes densely from 0");
  nodes_.push_back(std::make_unique<SimNode>(*this, id, options_.log_level, random_.fork("node", id)));
  if (nodes_.size() == kDenseFifoNodes + 1) {
    for (auto& sender : nodes_) {
      for (size_t to = 0; to < sender->last_arrival_ns.size(); ++to) {
        if (sender->last_arrival_ns[to] != 0) {
          last_arrival_ns_[(static_cast<uint64_t>(sender->id) << 32) | to] = sender->last_arrival_ns[to];
        }
      }
      sender->last_arrival_ns = {};
    }
  }
  SimNode& node = *nodes_.back();
  node.state = NodeState::kUp;
  node.boot = std::move(boot_function);
  trace_.record(now_, id, "node", "added " + network_.node_name(id));
  boot(node);
  return id;
}

int64_t& World::last_arrival_ns(NodeId from_node, NodeId to_node) {
  if (nodes_.size() <= kDenseFifoNodes) {
    std::vector<int64_t>& row = nodes_[from_node]->last_arrival_ns;
    if (to_node >= row.size()) row.resize(nodes_.size(), 0);
    return row[to_node];
  }
  return last_arrival_ns_[(static_cast<uint64_t>(from_node) << 32) | to_node];
}

void World::set_boot(NodeId node_id, Boot boot_function) {
  SimNode& node = *nodes_.at(node_id);
  node.boot = std::move(boot_function);
  if (node.state != NodeState::kDown && !node.process) boot(node);
}

void World::boot(SimNode& node) {
  if (!node.boot) return;
  const NodeId previous = current_node_;
  current_node_ = node.id;
  node.process = node.boot(node.env);
  current_node_ = previous;
}

bool World::step() {
  settle_wheel();
  return step_settled();
}

bool World::step_settled() {
  if (queue_.empty() || stats_.events >= options_.max_events) return false;
  const QueuedEvent event = queue_.pop();
  TANDEM_CHECK(event.time_ns >= to_ns(now_), "the event queue went back in time");
  now_ = time_from_ns(event.time_ns);
  ++stats_.events;
  if (paused_nodes_ != 0) {
    const NodeId node = event_node(event);
    if (node != kNoNode && nodes_[node]->state == NodeState::kPaused) {
      nodes_[node]->deferred.push_back(event);
      return true;
    }
  }
  in_event_ = true;
  dispatch(event);
  if (!after_event_.empty()) run_after_event();
  in_event_ = false;
  return true;
}

void World::schedule_after_event(NodeId node, Wakeup wakeup) {
  if (!in_event_) {  // asked from outside the run loop (a test, a boot): the next event at this time will do
    schedule_wakeup(node, now_, wakeup);
    return;
  }
  after_event_.push_back(PendingWakeup{node, wakeup});
}

void World::run_after_event() {
  // By index: a resumed task may ask for more, which joins this same pass.
  for (size_t i = 0; i < after_event_.size(); ++i) {
    const PendingWakeup pending = after_event_[i];
    if (pending.wakeup.valid() && nodes_[pending.node]->state != NodeState::kUp) {
      schedule_wakeup(pending.node, now_, pending.wakeup);  // an action paused it meanwhile: wait for resume()
      continue;
    }
    fire(pending, pending.node ^ 0xaf7e4000000000ULL);
  }
  after_event_.clear();
}

void World::fire(const PendingWakeup& pending, uint64_t trace_tag) {
  ++stats_.wakeups;
  if (!pending.wakeup.valid()) {
    ++stats_.stale_wakeups;
    return;
  }
  trace_.mix(hash_combine(static_cast<uint64_t>(to_ns(now_)), trace_tag));
  current_node_ = pending.node;
  pending.wakeup.fire();
  current_node_ = kNoNode;
}

void World::run_until(TimePoint until) {
  int64_t next_ns = 0;
  while (peek_next_time(next_ns) && next_ns <= to_ns(until) && step_settled()) {
  }
  if (until > now_) now_ = until;
}

bool World::peek_next_time(int64_t& time_ns) {
  settle_wheel();
  if (queue_.empty()) return false;
  time_ns = queue_.top().time_ns;
  return true;
}

void World::settle_wheel() {
  size_t empty_in_a_row = 0;
  while (wheel_size_ > 0) {
    const int64_t bucket_start_ns = wheel_cursor_ << kWheelBucketShift;
    if (!queue_.empty() && queue_.top().time_ns < bucket_start_ns) return;
    if (wheel_[static_cast<size_t>(wheel_cursor_) & (kWheelBuckets - 1)].empty()) {
      ++wheel_cursor_;
      // A whole empty turn: every entry is turns ahead; jump to the earliest instead of walking there.
      if (++empty_in_a_row == kWheelBuckets) {
        int64_t earliest = INT64_MAX;
        for (const auto& bucket : wheel_) {
          for (const WheelEntry& entry : bucket) earliest = std::min(earliest, entry.time_ns >> kWheelBucketShift);
        }
        wheel_cursor_ = earliest;  // every entry is at or after the cursor, so nothing due is skipped
        empty_in_a_row = 0;
      }
      continue;
    }
    empty_in_a_row = 0;
    drain_wheel_bucket();
  }
}

void World::drain_wheel_bucket() {
  std::vector<WheelEntry>& bucket = wheel_[static_cast<size_t>(wheel_cursor_) & (kWheelBuckets - 1)];
  size_t kept = 0;
  for (const WheelEntry& entry : bucket) {
    if ((entry.time_ns >> kWheelBucketShift) != wheel_cursor_) {
      bucket[kept++] = entry;  // a later turn of the wheel
      continue;
    }
    --wheel_size_;
    if (wakeups_[entry.slot].wakeup.valid()) {
      queue_.push_sequenced(entry.time_ns, entry.sequence, kWakeup, entry.slot);
    } else {
      ++stats_.wakeups;
      ++stats_.stale_wakeups;
      free_wakeups_.push_back(entry.slot);
    }
  }
  bucket.resize(kept);
  ++wheel_cursor_;
}

uint64_t World::run_until_idle() {
  const uint64_t before = stats_.events;
  while (step()) {
  }
  return stats_.events - before;
}

void World::at(TimePoint when, std::function<void()> action) {
  uint32_t slot;
  if (!free_actions_.empty()) {
    slot = free_actions_.back();
    free_actions_.pop_back();
    actions_[slot] = std::move(action);
  } else {
    slot = static_cast<uint32_t>(actions_.size());
    actions_.push_back(std::move(action));
  }
  queue_.push(std::max(to_ns(when), to_ns(now_)), kAction, slot);
}

NodeId World::event_node(const QueuedEvent& event) const {
  switch (event.kind) {
    case kWakeup: return wakeups_[event.slot].node;
    case kDeliver: return messages_[event.slot].message.to.node;
    case kBounce: return messages_[event.slot].message.from.node;
    default: return kNoNode;
  }
}

void World::dispatch(const QueuedEvent& event) {
  switch (event.kind) {
    case kWakeup: {
      const PendingWakeup pending = wakeups_[event.slot];
      free_wakeups_.push_back(event.slot);
      fire(pending, pending.node);
      return;
    }
    case kDeliver:
      deliver(event.slot);
      return;
    case kBounce:
      bounce(event.slot);
      return;
    case kAction: {
      std::function<void()> action = std::move(actions_[event.slot]);
      actions_[event.slot] = nullptr;
      free_actions_.push_back(event.slot);
      trace_.mix(hash_combine(static_cast<uint64_t>(event.time_ns), 0xac710aULL));
      action();
      return;
    }
    default:
      TANDEM_CHECK(false, "unknown event kind");
  }
}

void World::schedule_wakeup(NodeId node, TimePoint when, Wakeup wakeup) {
  uint32_t slot;
  if (!free_wakeups_.empty()) {
    slot = free_wakeups_.back();
    free_wakeups_.pop_back();
    wakeups_[slot] = PendingWakeup{node, wakeup};
  } else {
    slot = static_cast<uint32_t>(wakeups_.size());
    wakeups_.push_back(PendingWakeup{node, wakeup});
    // Timers of finished calls stay queued until due; shed them when they dominate the queue.
    if (wakeups_.size() >= 4096 && wakeups_.size() > 2 * live_wakeups_at_last_shed_) shed_stale_wakeups();
  }
  const int64_t time_ns = std::max(to_ns(when), to_ns(now_));
  // (A bucket behind the cursor was drained already: run_until() looked past `until` to the next event.)
  const int64_t bucket = time_ns >> kWheelBucketShift;
  if (time_ns - to_ns(now_) >= kWheelHorizonNs && bucket >= wheel_cursor_) {
    wheel_[static_cast<size_t>(bucket) & (kWheelBuckets - 1)].push_back(WheelEntry{time_ns, queue_.take_sequence(), slot});
    ++wheel_size_;
    return;
  }
  queue_.push(time_ns, kWakeup, slot);
}

void World::shed_stale_wakeups() {
  queue_.remove_if([this](const QueuedEvent& event) {
    if (event.kind != kWakeup || wakeups_[event.slot].wakeup.valid()) return false;
    free_wakeups_.push_back(event.slot);
    return true;
  });
  live_wakeups_at_last_shed_ = wakeups_.size() - free_wakeups_.size();
}

uint32_t World::take_message_slot(Message&& message, Errc bounce_reason) {
  uint32_t slot;
  if (!free_messages_.empty()) {
    slot = free_messages_.back();
    free_messages_.pop_back();
    messages_[slot].message = std::move(message);
    messages_[slot].bounce_reason = bounce_reason;
  } else {
    slot = static_cast<uint32_t>(messages_.size());
    messages_.push_back(InFlight{std::move(message), bounce_reason});
  }
  return slot;
}

void World::release_message_slot(uint32_t slot) { free_messages_.push_back(slot); }

void World::send(NodeId from_node, Message&& message) {
  ++stats_.messages_sent;
  const NodeId to_node = message.to.node;
  // One mix per send: the fields are folded with a multiply each (cheap, order-sensitive), then mixed once.
  trace_.mix((payload_hash(message.payload, (static_cast<uint64_t>(from_node) << 32) | to_node) ^ message.kind) *
                 0x9e3779b97f4a7c15ULL +
             message.correlation);
  if (to_node >= nodes_.size()) {  // no such node: refused at once
    queue_.push(to_ns(now_), kBounce, take_message_slot(std::move(message), Errc::kUnreachable));
    return;
  }
  const Network::Verdict verdict = network_.route(from_node, to_node, message.payload.size(), now_);
  if (trace_.record_messages()) {
    trace_.record(now_, from_node, "message",
                  (verdict.deliver ? "send " : "lost ") + to_string(message.from) + " -> " + to_string(message.to) +
                      " kind " + std::to_string(message.kind));
  }
  if (!verdict.deliver) {
    ++stats_.messages_dropped;
    return;
  }
  int64_t arrival_ns = to_ns(now_) + to_ns(verdict.delay);
  if (!verdict.may_reorder) {
    int64_t& last = last_arrival_ns(from_node, to_node);
    if (arrival_ns < last) arrival_ns = last;
    last = arrival_ns;
  }
  if (verdict.duplicate) {
    ++stats_.messages_duplicated;
    Message copy = message;
    queue_.push(to_ns(now_) + to_ns(verdict.duplicate_delay), kDeliver, take_message_slot(std::move(copy), Errc::kOk));
  }
  queue_.push(arrival_ns, kDeliver, take_message_slot(std::move(message), Errc::kOk));
}

void World::deliver(uint32_t slot) {
  Message message = std::move(messages_[slot].message);
  release_message_slot(slot);
  SimNode& node = *nodes_[message.to.node];
  Errc failure = Errc::kOk;
  Receiver* receiver = nullptr;
  if (node.state == NodeState::kDown) {
    failure = Errc::kUnreachable;
  } else if (message.to.port >= node.ports.size() || node.ports[message.to.port] == nullptr) {
    failure = Errc::kPeerDied;
  } else {
    receiver = node.ports[message.to.port];
  }
  if (receiver != nullptr) {
    ++stats_.messages_delivered;
    trace_.mix(static_cast<uint64_t>(to_ns(now_)) * 0x9e3779b97f4a7c15ULL +
               ((static_cast<uint64_t>(message.to.node) << 32) | message.to.port));
    current_node_ = node.id;
    receiver->on_message(std::move(message));
    current_node_ = kNoNode;
    return;
  }
  // Tell the sender, after the trip back (if there is a way back).
  ++stats_.messages_bounced;
  trace_.mix(hash_combine(to_ns(now_), static_cast<uint64_t>(failure)));
  const NodeId sender = message.from.node;
  if (sender >= nodes_.size()) return;
  const Network::Verdict back = network_.route(message.to.node, sender, 0, now_);
  if (!back.deliver) return;
  queue_.push(to_ns(now_) + to_ns(back.delay), kBounce, take_message_slot(std::move(message), failure));
}

void World::bounce(uint32_t slot) {
  Message message = std::move(messages_[slot].message);
  const Errc reason = messages_[slot].bounce_reason;
  release_message_slot(slot);
  SimNode& node = *nodes_[message.from.node];
  if (node.state == NodeState::kDown) return;
  if (message.from.port >= node.ports.size() || node.ports[message.from.port] == nullptr) return;
  trace_.mix(hash_combine(to_ns(now_), 0xb0bceULL + static_cast<uint64_t>(reason)));
  current_node_ = node.id;
  node.ports[message.from.port]->on_undeliverable(std::move(message), reason);
  current_node_ = kNoNode;
}

// --- Control API --------------------------------------------------------------------------------------------

void World::crash(NodeId node_id) {
  SimNode& node = *nodes_.at(node_id);
  TANDEM_CHECK(current_node_ != node_id, "a node cannot crash itself from its own code; schedule it with at()");
  if (node.state == NodeState::kDown) return;
  trace_.record(now_, node_id, "fault", "crash " + network_.node_name(node_id));
  if (node.state == NodeState::kPaused) --paused_nodes_;
  node.state = NodeState::kDown;  // first: unbinds during the teardown below are no-ops
  std::unique_ptr<NodeProcess> process = std::move(node.process);
  process.reset();  // every coroutine of the node is destroyed here
  std::fill(node.ports.begin(), node.ports.end(), nullptr);
  node.storage.lose_volatile();
  for (const QueuedEvent& event : node.deferred) queue_.push(to_ns(now_), event.kind, event.slot);
  node.deferred.clear();
  ++node.incarnation;
  ++stats_.crashes;
}

void World::restart(NodeId node_id) {
  SimNode& node = *nodes_.at(node_id);
  if (node.state != NodeState::kDown) return;
  trace_.record(now_, node_id, "fault", "restart " + network_.node_name(node_id));
  node.state = NodeState::kUp;
  node.random = random_.fork("node", node_id).fork("incarnation", node.incarnation);
  ++stats_.restarts;
  boot(node);
}

void World::pause(NodeId node_id) {
  SimNode& node = *nodes_.at(node_id);
  if (node.state != NodeState::kUp) return;
  trace_.record(now_, node_id, "fault", "pause " + network_.node_name(node_id));
  node.state = NodeState::kPaused;
  ++paused_nodes_;
}

void World::resume(NodeId node_id) {
  SimNode& node = *nodes_.at(node_id);
  if (node.state != NodeState::kPaused) return;
  trace_.record(now_, node_id, "fault", "resume " + network_.node_name(node_id));
  node.state = NodeState::kUp;
  --paused_nodes_;
  for (const QueuedEvent& event : node.deferred) queue_.push(to_ns(now_), event.kind, event.slot);
  node.deferred.clear();
}

void World::set_clock_skew(NodeId node_id, Duration skew) {
  trace_.record(now_, node_id, "fault", "clock skew " + format_duration(skew));
  nodes_.at(node_id)->clock.set_skew(skew);
}

void World::set_storage_failing(NodeId node_id, bool failing) {
  trace_.record(now_, node_id, "fault", failing ? "storage failing" : "storage healthy");
  nodes_.at(node_id)->storage.set_failing(failing);
}

void World::note(NodeId node, std::string category, std::string detail) {
  trace_.record(now_, node, std::move(category), std::move(detail));
}

NodeState World::state(NodeId node) const { return nodes_.at(node)->state; }
uint32_t World::incarnation(NodeId node) const { return nodes_.at(node)->incarnation; }
Env& World::env(NodeId node) { return nodes_.at(node)->env; }
NodeProcess* World::process(NodeId node) { return nodes_.at(node)->process.get(); }

}  // namespace tandem::sim
