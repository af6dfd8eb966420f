// free_loopback_port(): a TCP port on 127.0.0.1 that a server about to start can bind.
//
// Contract:
// - The port lies in 10000..65535 and outside the kernel's ephemeral range (/proc/sys/net/ipv4/ip_local_port_range),
//   and binding it without SO_REUSEADDR worked just now (so no listener and no TIME_WAIT connection holds it).
// - Consecutive picks of one process differ even before anything binds them (one walk per process, from a random
//   place), so a launcher can pick all its ports first and start its servers after.
// - Why outside the ephemeral range: a port the kernel picks for a bind to port 0 can be taken, between the pick
//   and the server's own bind, as the source port of any outgoing connection. Cluster members dial each other
//   every few milliseconds while they start, so a start failed now and then with "address already in use".
// - An error (kUnavailable) only when the range holds no bindable port within 4,096 tries.
// Header-only, so the state-store test fixtures and benchmarks use it without linking the real backend.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <fstream>
#include <random>
#include <string>
#include <utility>

#include "core/common/result.h"

namespace tandem::real {
namespace loopback_port_detail {

// The kernel's ephemeral port range, [first, last]; Linux's default when it cannot be read.
inline std::pair<uint32_t, uint32_t> ephemeral_port_range() {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  uint32_t first = 0;
  uint32_t last = 0;
  if (in >> first >> last && first <= last && last <= 65535) return {first, last};
  return {32768, 60999};
}

inline bool bindable_on_loopback(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  // No SO_REUSEADDR: a port with a connection still in TIME_WAIT counts as taken.
  const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return bound;
}

}  // namespace loopback_port_detail

inline Result<uint16_t> free_loopback_port() {
  using loopback_port_detail::bindable_on_loopback;
  constexpr uint32_t kLowest = 10000;
  const auto [ephemeral_first, ephemeral_last] = loopback_port_detail::ephemeral_port_range();
  const uint32_t below = ephemeral_first > kLowest ? ephemeral_first - kLowest : 0;  // kLowest..first-1
  const uint32_t above_first = std::max(ephemeral_last, kLowest - 1) + 1;
  const uint32_t above = 65536 - above_first;  // above_first..65535
  const uint32_t span = below + above;
  if (span == 0) return make_error(Errc::kUnavailable, "no loopback port outside the ephemeral range");
  // One walk per process (an inline function's static is one object program-wide).
  static std::atomic<uint32_t> next{std::random_device{}()};
  for (uint32_t tried = 0; tried < span && tried < 4096; ++tried) {
    const uint32_t index = next.fetch_add(1) % span;
    const uint32_t port = index < below ? kLowest + index : above_first + (index - below);
    if (bindable_on_loopback(static_cast<uint16_t>(port))) return static_cast<uint16_t>(port);
  }
  return make_error(Errc::kUnavailable, "no free loopback port outside the ephemeral range " +
                                            std::to_string(ephemeral_first) + "-" + std::to_string(ephemeral_last));
}

}  // namespace tandem::real
