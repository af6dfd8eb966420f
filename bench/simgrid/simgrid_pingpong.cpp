// The SimGrid side of the ping-pong comparison (see bench/compare.sh and bench/sim_pingpong_bench.cpp).
//
// N actor pairs ping-pong over a simulated network: pinger i on host h(i) of cluster a sends a small message
// to ponger i on host h(i) of cluster b, which answers; repeat. The platform mirrors the tandem benchmark:
// 100 hosts, 50 per cluster, and every communicating host pair joined by its own 1 ms link (a full zone with
// one route per host pair), so every message crosses exactly one 1 ms link. The network model is SimGrid's
// choice of the run: pass --cfg=network/model:CM02 (latency + size/bandwidth, with max-min bandwidth sharing)
// or
// --cfg=network/model:Constant (every message takes network/latency-factor seconds; this program sets that to
// 1 ms unless the command line already says otherwise).
//
// Usage:  tandem_simgrid_pingpong [--pairs=N] [--messages=M] [--hosts=H] [--payload-bytes=B] [--detached]
//                                 [--cfg=...]...
// Prints one line: "simgrid pairs=N model=... send=put|detached messages=M wall_s=... msgs_per_s=...
// cpu_s=... msgs_per_cpu_s=... sim_s=... setup_s=...". Wall and CPU time count Engine::run() only (platform
// and actor creation are reported apart as setup_s).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <simgrid/s4u.hpp>
#include <string>
#include <vector>

namespace sg4 = simgrid::s4u;

namespace {

struct Options {
  long pairs = 1000;
  long messages = 400'000;  // total over all pairs; each round trip is two messages
  long hosts = 100;         // split evenly over two clusters
  long payload_bytes = 8;   // the simulated size of each message
  bool detached = false;    // fire-and-forget sends instead of blocking put()
};

long parse_long(const char* text, const char* flag) {
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || value <= 0) {
    std::fprintf(stderr, "%s needs a positive integer, got '%s'\n", flag, text);
    std::exit(2);
  }
  return value;
}

// Takes our own flags out of argv (SimGrid's Engine parses the rest, e.g. --cfg=...).
Options parse_options(int& argc, char** argv) {
  Options options;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value_of = [&](const char* flag) -> const char* {
      const size_t length = std::strlen(flag);
      return arg.compare(0, length, flag) == 0 ? argv[i] + length : nullptr;
    };
    if (const char* v = value_of("--pairs=")) {
      options.pairs = parse_long(v, "--pairs");
    } else if (const char* v = value_of("--messages=")) {
      options.messages = parse_long(v, "--messages");
    } else if (const char* v = value_of("--hosts=")) {
      options.hosts = parse_long(v, "--hosts");
    } else if (const char* v = value_of("--payload-bytes=")) {
      options.payload_bytes = parse_long(v, "--payload-bytes");
    } else if (arg == "--detached") {
      options.detached = true;
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  if (options.hosts < 2 || options.hosts % 2 != 0) {
    std::fprintf(stderr, "--hosts must be even and at least 2\n");
    std::exit(2);
  }
  return options;
}

bool has_cfg(int argc, char** argv, const char* key) {
  const std::string prefix = std::string("--cfg=") + key + ":";
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]).compare(0, prefix.size(), prefix) == 0) return true;
  }
  return false;
}

std::string cfg_value(int argc, char** argv, const char* key, const char* fallback) {
  const std::string prefix = std::string("--cfg=") + key + ":";
  std::string value = fallback;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.compare(0, prefix.size(), prefix) == 0) value = arg.substr(prefix.size());
  }
  return value;
}

// numbered("a", i), written with append: GCC 12 warns falsely (-Wrestrict, PR105329) on operator+.
std::string numbered(const char* prefix, long index) {
  std::string name(prefix);
  name.append(std::to_string(index));
  return name;
}

// CPU time of the process (SimGrid runs every actor on this one thread): steadier than wall time when other
// processes share the cores.
double process_cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

double g_token = 42.0;  // what every message carries (SimGrid passes a pointer; the size is simulated)

// put() blocks the sender until the receiver has the message (a rendezvous); a detached send is
// fire-and-forget, like tandem's Transport::send. Both are offered; the blocking put is SimGrid's own
// ping-pong example.
void send(sg4::Mailbox* out, double* token, uint64_t size, bool detached) {
  if (detached) {
    out->put_init(token, size)->detach();
  } else {
    out->put(token, size);
  }
}

void pinger(sg4::Mailbox* out, sg4::Mailbox* in, long rounds, uint64_t size, bool detached) {
  for (long i = 0; i < rounds; ++i) {
    send(out, &g_token, size, detached);
    in->get<double>();
  }
}

void ponger(sg4::Mailbox* in, sg4::Mailbox* out, long rounds, uint64_t size, bool detached) {
  for (long i = 0; i < rounds; ++i) {
    double* token = in->get<double>();
    send(out, token, size, detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse_options(argc, argv);
  const std::string model = cfg_value(argc, argv, "network/model", "LV08 (default)");
  const bool constant_model = model == "Constant";

  // Read before the Engine consumes the --cfg arguments: our defaults must not override the command line.
  const bool user_stack_size = has_cfg(argc, argv, "contexts/stack-size");
  const bool user_guard_size = has_cfg(argc, argv, "contexts/guard-size");
  const bool user_latency_factor = has_cfg(argc, argv, "network/latency-factor");

  const auto setup_start = std::chrono::steady_clock::now();
  sg4::Engine engine(&argc, argv);
  // Thousands of actors: small stacks (64 KiB) and no guard pages keep the mapping count under
  // vm.max_map_count.
  if (!user_stack_size) sg4::Engine::set_config("contexts/stack-size:64");
  if (!user_guard_size) sg4::Engine::set_config("contexts/guard-size:0");
  // The Constant model's only parameter: each communication takes latency-factor seconds. Make it the 1 ms
  // link.
  if (constant_model && !user_latency_factor) sg4::Engine::set_config("network/latency-factor:0.001");

  // Two clusters of hosts; cluster a's host i talks only to cluster b's host i, over its own 1 ms link. The
  // Constant model refuses links altogether (routing "None"): there the hosts sit in an empty zone.
  sg4::NetZone* zone = constant_model ? sg4::create_empty_zone("world") : sg4::create_full_zone("world");
  const long per_cluster = options.hosts / 2;
  std::vector<sg4::Host*> cluster_a;
  std::vector<sg4::Host*> cluster_b;
  for (long i = 0; i < per_cluster; ++i) {
    cluster_a.push_back(zone->create_host(numbered("a", i), "1Gf"));
    cluster_b.push_back(zone->create_host(numbered("b", i), "1Gf"));
  }
  for (long i = 0; i < per_cluster && !constant_model; ++i) {
    sg4::Link* link = zone->create_link(numbered("link", i), "10Gbps")->set_latency("1ms")->seal();
    zone->add_route(cluster_a[i]->get_netpoint(), cluster_b[i]->get_netpoint(), nullptr, nullptr,
                    {sg4::LinkInRoute(link)}, true);
  }
  zone->seal();

  const long rounds = std::max(1L, options.messages / (2 * options.pairs));
  const auto size = static_cast<uint64_t>(options.payload_bytes);
  for (long p = 0; p < options.pairs; ++p) {
    const long host = p % per_cluster;
    sg4::Mailbox* to_pong = sg4::Mailbox::by_name(numbered("pong", p));
    sg4::Mailbox* to_ping = sg4::Mailbox::by_name(numbered("ping", p));
    sg4::Actor::create(numbered("pinger", p), cluster_a[host], pinger, to_pong, to_ping, rounds, size,
                       options.detached);
    sg4::Actor::create(numbered("ponger", p), cluster_b[host], ponger, to_pong, to_ping, rounds, size,
                       options.detached);
  }
  const auto run_start = std::chrono::steady_clock::now();
  const double cpu_start_s = process_cpu_seconds();
  engine.run();
  const double cpu_s = process_cpu_seconds() - cpu_start_s;
  const auto run_end = std::chrono::steady_clock::now();

  const double wall_s = std::chrono::duration<double>(run_end - run_start).count();
  const double setup_s = std::chrono::duration<double>(run_start - setup_start).count();
  const long messages = 2 * rounds * options.pairs;
  std::printf(
      "simgrid pairs=%ld model=%s send=%s messages=%ld wall_s=%.6f msgs_per_s=%.0f cpu_s=%.6f "
      "msgs_per_cpu_s=%.0f "
      "sim_s=%.6f setup_s=%.3f\n",
      options.pairs, model.c_str(), options.detached ? "detached" : "put", messages, wall_s,
      static_cast<double>(messages) / wall_s, cpu_s, static_cast<double>(messages) / cpu_s,
      sg4::Engine::get_clock(), setup_s);
  return 0;
}
