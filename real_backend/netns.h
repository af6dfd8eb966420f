// NetnsNetwork: kernel-made partitions for real members (issue 6, item 5: "separate network namespaces joined by
// veth pairs"). A hub namespace holds a Linux bridge with the first address of a private /24; every member gets a
// namespace of its own joined to the bridge by a veth pair (eth0 inside, with the next free address), so members
// reach each other only through the kernel's routing, where a cut is a blackhole route.
//
//   hub namespace:     br0 10.213.0.1/24 ── v0 ── v1 ── ...
//   member namespaces: eth0 10.213.0.2/24 (member 0), eth0 10.213.0.3/24 (member 1), ...
//
// Contract:
// - create() needs root and a working `ip netns` (adding a namespace and entering it: a chroot whose "/" is not
//   a mount point can add but not enter); without them it fails with kUnavailable and the reason (the caller may
//   then skip), any later failure is kInternal. Every error names the `ip` command and its stderr.
// - cut(from, to) adds `blackhole <to's address>/32` in from's namespace: from's packets to `to` die in from's
//   kernel (a new connect fails, an open TCP connection retransmits into nothing). It is one-way at the IP level,
//   but TCP needs both directions, so every TCP connection between the two stalls (unlike the transport filter,
//   which drops one direction's messages only). heal(from, to) removes it; heal_all() removes every cut.
// - There is no netem here (the machine's kernel has no netem qdisc): delays, loss, duplication and reorder stay
//   in the transport's link faults (real_backend/net/).
// - Namespaces are named "<tag><pid>-hub" / "<tag><pid>-<member>"; the destructor deletes every one it created
//   (which deletes the veths and routes inside). remove_stale(tag) deletes namespaces left by a process of `tag`
//   that no longer runs (killed before its destructor ran), after SIGKILLing the processes still inside them.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/common/result.h"

namespace tandem::real {

struct CommandOutput {
  int exit_code = -1;  // -1: could not run it, or killed by a signal
  std::string output;  // stdout and stderr together
};

// Runs argv (no shell) to completion and returns its exit code and output.
CommandOutput run_command(const std::vector<std::string>& argv);

class NetnsNetwork {
 public:
  // `members`: names (letters, digits, '-', at most 16 members); addresses are given in that order after the
  // hub's. `subnet`: the first three octets of the private /24.
  static Result<std::unique_ptr<NetnsNetwork>> create(const std::string& tag, const std::vector<std::string>& members,
                                                      const std::string& subnet = "10.213.0");
  ~NetnsNetwork();
  NetnsNetwork(const NetnsNetwork&) = delete;
  NetnsNetwork& operator=(const NetnsNetwork&) = delete;

  static void remove_stale(const std::string& tag);

  const std::string& hub_namespace() const { return hub_; }
  std::string hub_address() const { return subnet_ + ".1"; }
  std::string namespace_of(const std::string& member) const;  // TANDEM_CHECKs the member exists
  std::string address_of(const std::string& member) const;

  // {"ip", "netns", "exec", <namespace>, argv...}: argv run inside the namespace (`namespace_name` as returned
  // by namespace_of() or hub_namespace()).
  static std::vector<std::string> exec_argv(const std::string& namespace_name, const std::vector<std::string>& argv);

  Status cut(const std::string& from, const std::string& to);   // one-way blackhole from → to
  Status heal(const std::string& from, const std::string& to);  // no-op when not cut
  Status partition(const std::string& a, const std::string& b);  // cut both ways
  Status isolate(const std::string& member);                      // cut both ways with every member and the hub
  Status heal_all();
  bool is_cut(const std::string& from, const std::string& to) const;

 private:
  NetnsNetwork() = default;
  Status ip(const std::vector<std::string>& args);  // runs `ip args...`; an error names the command and output
  Status cut_address(const std::string& from, const std::string& address);
  Status heal_address(const std::string& from, const std::string& address);

  std::string subnet_;
  std::string hub_;
  std::map<std::string, std::pair<std::string, std::string>> members_;  // name → (namespace, address)
  std::vector<std::string> created_;                                     // namespaces to delete, in creation order
  std::map<std::string, std::vector<std::string>> cuts_;                 // from member → blackholed addresses
};

}  // namespace tandem::real
