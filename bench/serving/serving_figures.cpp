// tandem_serving_figures: the serving control plane's headline figures on the sim world (issue 4), printed as a
// Markdown table with the goal beside each figure:
//   1. time to upgrade 2 clusters x 500 instances under load (keeper rolling release), and availability during it
//   2. requests failed during an AppMaster restart (actor kill under load)
//   3. availability through a one-cluster outage (the cluster's network cut for a minute)
//   4. the same service soaked for 30 simulated minutes at 2,000 req/s: availability and wall time
//   5. the strategy fan-out's p50 / p99 / max against its 250 ms deadline, healthy and through a node crash
// Usage: tandem_serving_figures [--replicas 500] [--rate 2000] [--soak-minutes 30] [--seed 1] [--quick]
//                               [--no-fanout | --only-fanout]
// (--quick: 50 per cluster, 200 req/s, 2-minute soak — a smoke run in a few seconds).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "bench/serving/serving_world.h"
#include "core/apps/fanout/deploy.h"
#include "core/apps/fanout/workers.h"

namespace tandem::bench {
namespace {

struct Args {
  bool fanout = true;
  bool serving = true;
  int32_t replicas = 500;
  double rate = 2000;
  int soak_minutes = 30;
  uint64_t seed = 1;
};

Args parse(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(flag + " needs a value");
      return argv[++i];
    };
    if (flag == "--replicas") {
      args.replicas = std::stoi(value());
    } else if (flag == "--rate") {
      args.rate = std::stod(value());
    } else if (flag == "--soak-minutes") {
      args.soak_minutes = std::stoi(value());
    } else if (flag == "--seed") {
      args.seed = std::stoull(value());
    } else if (flag == "--no-fanout") {
      args.fanout = false;
    } else if (flag == "--only-fanout") {
      args.serving = false;
    } else if (flag == "--quick") {
      args.replicas = 50;
      args.rate = 200;
      args.soak_minutes = 2;
    } else {
      throw std::runtime_error("unknown flag " + flag +
                               "; use --replicas N --rate R --soak-minutes M --seed S, --quick, --no-fanout or --only-fanout");
    }
  }
  if (args.replicas < 1 || args.rate <= 0 || args.soak_minutes < 0) {
    throw std::runtime_error("--replicas and --rate must be positive, --soak-minutes >= 0");
  }
  return args;
}

double seconds(Duration d) { return std::chrono::duration<double>(d).count(); }
double wall_seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}
std::string percent(std::pair<uint64_t, uint64_t> failed_of) {
  if (failed_of.second == 0) return "n/a (no requests)";
  const double availability = 1.0 - static_cast<double>(failed_of.first) / static_cast<double>(failed_of.second);
  char text[96];
  std::snprintf(text, sizeof(text), "%.4f%% (%llu of %llu failed)", 100 * availability,
                static_cast<unsigned long long>(failed_of.first), static_cast<unsigned long long>(failed_of.second));
  return text;
}

struct Row {
  std::string figure;
  std::string value;
  std::string goal;
};
std::vector<Row> rows;
void report(std::string figure, std::string value, std::string goal) {
  std::cerr << "  " << figure << ": " << value << "\n";
  rows.push_back(Row{std::move(figure), std::move(value), std::move(goal)});
}

serving::ServiceSpec big_spec(int32_t replicas) {
  serving::ServiceSpec spec;
  spec.name = "svc";
  spec.version = "v1";
  serving::VersionSpec v1;
  v1.name = "v1";
  v1.latency = serving::ServiceTime{serving::LatencyShape::kLognormal, 5ms, 0.3, 3.0};
  v1.startup = 2s;
  v1.reload = 500ms;
  v1.output_salt = "model";
  v1.concurrency = 8;
  serving::VersionSpec v2 = v1;
  v2.name = "v2";
  spec.versions = {v1, v2};
  spec.replicas = {{"c1", replicas}, {"c2", replicas}};
  spec.proxies_per_cluster = 4;
  spec.backend_resources = runtime::ResourceSet{{"CPU", 1}};
  spec.proxy_resources = runtime::ResourceSet{{"CPU", 1}};
  // 10% of a cluster per batch, all of it out of traffic at once: the rest carries the load.
  spec.upgrade.step = static_cast<uint32_t>(std::max(1, replicas / 10));
  spec.upgrade.max_unavailable = spec.upgrade.step;
  spec.upgrade.max_surge = 0;
  spec.upgrade.drain_timeout = 2s;
  spec.upgrade.validation_requests = 10;
  return spec;
}

void serving_figures(const Args& args) {
  ServingWorldOptions options;
  options.seed = args.seed;
  options.workers_per_cluster = static_cast<size_t>(std::max(2, args.replicas / 56 + 2));
  const auto setup_wall = std::chrono::steady_clock::now();
  ServingWorld w(options);
  w.make_keeper();
  const serving::ServiceSpec spec = big_spec(args.replicas);
  std::cerr << "deploying " << args.replicas << " instances in each of 2 clusters...\n";
  const TimePoint deploy_start = w.world.now();
  Status deployed = w.on_keeper<Status>([&](serving::ServingKeeper& k) { return k.deploy(spec, 10min); }, 15min,
                                        "deploy");
  if (!deployed.ok()) throw std::runtime_error("deploy failed: " + deployed.error().to_string());
  report("deploy " + std::to_string(2 * args.replicas) + " instances (2 clusters)",
         std::to_string(seconds(w.world.now() - deploy_start)).substr(0, 5) + " s simulated", "-");
  w.start_load("c1", args.rate / 2);
  w.start_load("c2", args.rate / 2);
  w.world.run_for(20s);
  std::cerr << "setup took " << wall_seconds(setup_wall) << " s wall\n";

  // 1. Rolling upgrade of every instance, cluster by cluster, under load.
  const TimePoint upgrade_start = w.world.now();
  const auto upgrade_wall = std::chrono::steady_clock::now();
  Status upgraded =
      w.on_keeper<Status>([&](serving::ServingKeeper& k) { return k.upgrade("svc", "v2"); }, 60min, "upgrade");
  if (!upgraded.ok()) throw std::runtime_error("upgrade failed: " + upgraded.error().to_string());
  const TimePoint upgrade_end = w.world.now();
  report("upgrade " + std::to_string(2 * args.replicas) + " instances under " + std::to_string(int(args.rate)) +
             " req/s",
         std::to_string(seconds(upgrade_end - upgrade_start)).substr(0, 5) + " s simulated (" +
             std::to_string(wall_seconds(upgrade_wall)).substr(0, 4) + " s wall)",
         "< 300 s (seed: 1,000 in < 600 s)");
  report("availability during the upgrade", percent(w.failed_of(upgrade_start, upgrade_end)), ">= 99.99%");
  w.world.run_for(10s);

  // 2. AppMaster actor restart under load.
  const TimePoint kill_at = w.world.now();
  Status killed = w.on_keeper<Status>([&](serving::ServingKeeper& k) { return k.kill_appmaster("svc", "c1"); }, 1min,
                                      "kill AppMaster");
  if (!killed.ok()) throw std::runtime_error("kill failed: " + killed.error().to_string());
  // Until the restarted AppMaster has recovered and acts (the keeper's status call retries meanwhile).
  for (;;) {
    Result<serving::AppMasterStatus> back = w.on_keeper<Result<serving::AppMasterStatus>>(
        [&](serving::ServingKeeper& k) { return k.status("svc", "c1"); }, 1min, "status");
    if (back.ok() && back.value().recovered && back.value().acting && back.value().epoch > 1) {
      report("AppMaster acting again after an actor kill",
             std::to_string(seconds(w.world.now() - kill_at)).substr(0, 4) + " s simulated", "-");
      break;
    }
    if (w.world.now() > kill_at + 60s) throw std::runtime_error("the AppMaster did not recover within 60 s");
    w.world.run_for(100ms);
  }
  if (w.world.now() < kill_at + 20s) w.world.run_until(kill_at + 20s);
  Result<serving::AppMasterStatus> after = w.on_keeper<Result<serving::AppMasterStatus>>(
      [&](serving::ServingKeeper& k) { return k.status("svc", "c1"); }, 1min, "status");
  if (!after.ok() || after.value().recovery != serving::RecoveryMode::kActorRestart) {
    throw std::runtime_error("the AppMaster did not come back by an actor restart");
  }
  report("requests failed during an AppMaster restart (20 s window)",
         std::to_string(w.failed_of(kill_at, kill_at + 20s).first) + " of " +
             std::to_string(w.failed_of(kill_at, kill_at + 20s).second),
         "0");
  w.world.run_for(10s);

  // 3. One cluster's network cut for a minute.
  const TimePoint cut_at = w.world.now();
  w.world.network().cut_cluster(w.net("c1"));
  w.world.run_for(60s);
  w.world.network().heal_all();
  w.world.run_for(30s);
  report("availability through a 60 s outage of one cluster (+30 s after)", percent(w.failed_of(cut_at, w.world.now())),
         ">= 99.9%");

  // 4. Soak: steady state at the full rate.
  if (args.soak_minutes > 0) {
    const TimePoint soak_start = w.world.now();
    const auto soak_wall = std::chrono::steady_clock::now();
    w.world.run_for(std::chrono::minutes(args.soak_minutes));
    const double wall = wall_seconds(soak_wall);
    report(std::to_string(args.soak_minutes) + " simulated minutes at " + std::to_string(int(args.rate)) +
               " req/s, " + std::to_string(2 * args.replicas) + " instances: wall time",
           std::to_string(wall).substr(0, 5) + " s wall", "< 10 s (scenario issue)");
    report("availability during the soak", percent(w.failed_of(soak_start, w.world.now())), ">= 99.99%");
    std::cerr << "  events " << w.world.stats().events << ", messages " << w.world.stats().messages_sent << "\n";
  }
  w.stop_loads();
}

Task<Result<apps::FanoutDeployment>> deploy(runtime::RuntimeClient& client, apps::FanoutSpec spec) {
  co_return co_await apps::deploy_fanout(client, spec);
}

struct FanoutLog {
  std::vector<apps::FanoutOutcome> outcomes;
};
Task<void> fanout_one(apps::FanoutClient& client, int64_t time, FanoutLog* log) {
  log->outcomes.push_back(co_await client.request(time));
}
Task<void> fanout_loop(apps::FanoutClient& client, Scope& scope, Clock& clock, Duration interval, Duration duration,
                       FanoutLog* log) {
  const TimePoint end = clock.now() + duration;
  int64_t n = 0;
  while (clock.now() < end) {
    scope.spawn(fanout_one(client, n++, log));
    co_await sleep(clock, interval);
  }
}

std::string fanout_summary(const std::vector<apps::FanoutOutcome>& outcomes, Duration deadline) {
  std::vector<Duration> latencies;
  uint64_t complete = 0;
  uint64_t late = 0;
  for (const apps::FanoutOutcome& outcome : outcomes) {
    latencies.push_back(outcome.latency());
    complete += outcome.complete() ? 1 : 0;
    late += outcome.latency() > deadline ? 1 : 0;
  }
  if (latencies.empty()) return "n/a";
  std::sort(latencies.begin(), latencies.end());
  auto at = [&](double q) {
    return seconds(latencies[std::min(latencies.size() - 1, static_cast<size_t>(q * static_cast<double>(latencies.size())))]) * 1000;
  };
  char text[200];
  std::snprintf(text, sizeof(text), "p50 %.1f ms, p99 %.1f ms, max %.1f ms; %.2f%% complete, %llu late of %zu", at(0.5),
                at(0.99), seconds(latencies.back()) * 1000, 100.0 * static_cast<double>(complete) / static_cast<double>(latencies.size()),
                static_cast<unsigned long long>(late), latencies.size());
  return text;
}

void fanout_figures(const Args& args) {
  ServingWorldOptions options;
  options.seed = args.seed;
  options.clusters = {"f1"};
  options.workers_per_cluster = 8;
  options.worker_resources = runtime::ResourceSet{{"CPU", 64}};
  options.extra_code = apps::register_fanout_classes;
  ServingWorld w(options);
  apps::FanoutSpec spec;
  spec.banks = 32;
  spec.indicators = 8;
  spec.triggers = 4;
  spec.l1_workers = 16;
  spec.l2_workers = 128;
  spec.l2_concurrency = 8;  // 1,024 cores for 100 req/s x 256 values x ~11 ms: under 30% busy
  auto deployment = w.on_head<Result<apps::FanoutDeployment>>(
      "f1", [&](runtime::RuntimeClient& c) { return deploy(c, spec); }, 5min, "fan-out deploy");
  if (!deployment.ok()) throw std::runtime_error("fan-out deploy failed: " + deployment.error().to_string());
  RuntimeHost& head = w.runtime_host(w.head("f1"));
  apps::FanoutClient client(head.node.client(), deployment.value().triggers, spec.deadline);
  const double rate = 100;
  FanoutLog healthy;
  head.drivers.spawn(fanout_loop(client, head.drivers, w.world.env(w.head("f1")).clock,
                                 Duration(static_cast<int64_t>(1e9 / rate)), 15s, &healthy));
  w.world.run_for(16s);
  const std::string label = std::to_string(spec.banks) + " banks x " + std::to_string(spec.indicators) +
                            " indicators, 100 req/s";
  report("fan-out (" + label + "), healthy", fanout_summary(healthy.outcomes, spec.deadline), "p99 < 250 ms");
  FanoutLog crashed;
  head.drivers.spawn(fanout_loop(client, head.drivers, w.world.env(w.head("f1")).clock,
                                 Duration(static_cast<int64_t>(1e9 / rate)), 20s, &crashed));
  w.world.run_for(5s);
  w.world.crash(w.workers("f1").at(0));
  w.world.run_for(16s);
  report("fan-out, one of 8 worker nodes crashes 5 s into 20 s", fanout_summary(crashed.outcomes, spec.deadline),
         "never late; partial answers explicit");
}

}  // namespace
}  // namespace tandem::bench

int main(int argc, char** argv) {
  using namespace tandem::bench;
  try {
    const Args args = parse(argc, argv);
    const auto start = std::chrono::steady_clock::now();
    if (args.serving) serving_figures(args);
    if (args.fanout) fanout_figures(args);
    std::cout << "| figure | value | goal |\n|---|---|---|\n";
    for (const Row& row : rows) std::cout << "| " << row.figure << " | " << row.value << " | " << row.goal << " |\n";
    std::cout << "\n(seed " << args.seed << ", " << wall_seconds(start) << " s wall in all)\n";
  } catch (const std::exception& e) {
    std::cerr << "tandem_serving_figures: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
