#include "cli/real_commands.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "cli/command_support.h"
#include "core/apps/automl/service.h"
#include "real_backend/local_cluster.h"
#include "real_backend/member_process.h"

namespace tandem::cli {
namespace {

constexpr const char* kDaemonUsage = R"(Usage: tandem %s --cluster FILE (--id N | --name NAME) [--log-level LEVEL]

Runs one %s of a real cluster until SIGTERM or Ctrl-C. FILE is the cluster file (docs/real_backend.md) that
every member reads: it lists each member's id, role, endpoint, resources and labels, and the state store.
The member listens on its endpoint (loopback unless the file allows otherwise), keeps its state in the
store the file names (sqlite:DIR, redis://HOST:PORT, mysql://USER@HOST:PORT/DB), serves /metrics on its
metrics_port, and prints one "ready" line once serving.

Options:
  --cluster FILE     the cluster file (required)
  --id N             this member's id in the file
  --name NAME        or its name
  --log-level LEVEL  debug, info, warning (default) or error
  -h, --help         show this help
)";

constexpr const char* kClusterUsage = R"(Usage: tandem cluster up [--nodes N] [--dir DIR] [--storage SPEC] [--automl-demo]

Starts a real cluster on this machine: one `tandem head` and N `tandem node` processes on 127.0.0.1 (free
ports), writes DIR/cluster.json and each member's log DIR/<name>.log, waits until every node has registered,
and prints the members. Then it keeps the cluster up until Ctrl-C (which stops every process), unless
--automl-demo is given: then it deploys the AutoML service, runs one job of 16 candidates through it, prints
the result and stops the cluster.

Options:
  --nodes N        number of nodes besides the head (default 3, at most 64)
  --dir DIR        working directory (default: a new directory under /tmp)
  --storage SPEC   state store of every member (default: sqlite:DIR/state)
  --automl-demo    run one AutoML job end to end, then stop
  -h, --help       show this help
)";

std::optional<LogLevel> parse_level(std::string_view text) {
  if (text == "debug") return LogLevel::kDebug;
  if (text == "info") return LogLevel::kInfo;
  if (text == "warning") return LogLevel::kWarning;
  if (text == "error") return LogLevel::kError;
  return std::nullopt;
}

int daemon_command(const char* role, real::MemberRole expected, int argc, char** argv) {
  char usage[2048];
  std::snprintf(usage, sizeof usage, kDaemonUsage, role, role);
  std::string cluster_path;
  std::optional<uint64_t> id;
  std::string name;
  LogLevel level = LogLevel::kWarning;
  for (int i = 0; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (is_help(arg)) {
      std::fputs(usage, stdout);
      return 0;
    } else if (arg == "--cluster" && has_value) {
      cluster_path = argv[++i];
    } else if (arg == "--id" && has_value) {
      id = parse_u64(argv[++i]);
      if (!id) return usage_error(role, std::string("--id needs a number, got ") + argv[i], usage);
    } else if (arg == "--name" && has_value) {
      name = argv[++i];
    } else if (arg == "--log-level" && has_value) {
      auto parsed = parse_level(argv[++i]);
      if (!parsed) return usage_error(role, std::string("unknown log level ") + argv[i], usage);
      level = *parsed;
    } else {
      return usage_error(role, "unexpected argument " + std::string(arg), usage);
    }
  }
  if (cluster_path.empty()) return usage_error(role, "--cluster FILE is required", usage);
  if (!id && name.empty()) return usage_error(role, "say which member this is with --id N or --name NAME", usage);
  Result<real::ClusterFile> cluster = real::ClusterFile::load(cluster_path);
  if (!cluster.ok()) {
    std::fprintf(stderr, "tandem %s: %s\n", role, cluster.error().message.c_str());
    return 2;
  }
  const real::ClusterMember* member =
      id ? cluster.value().find(static_cast<NodeId>(*id)) : cluster.value().find(std::string_view(name));
  if (member == nullptr) {
    std::fprintf(stderr, "tandem %s: %s lists no member %s (fix: use an id or name from its \"members\")\n", role,
                 cluster_path.c_str(), id ? ("with id " + std::to_string(*id)).c_str() : ("named " + name).c_str());
    return 2;
  }
  if (member->role != expected) {
    std::fprintf(stderr, "tandem %s: member %s has role %s in %s (fix: run `tandem %s` for it)\n", role,
                 member->name.c_str(), real::to_string(member->role), cluster_path.c_str(),
                 real::to_string(member->role));
    return 2;
  }
  real::MemberOptions options;
  options.log_level = level;
  return real::run_daemon(cluster.value(), member->id, options);
}

std::string self_binary() {
  std::error_code error;
  const auto path = std::filesystem::read_symlink("/proc/self/exe", error);
  return error ? std::string("tandem") : path.string();
}

volatile sig_atomic_t interrupted = 0;
void on_interrupt(int) { interrupted = 1; }

int run_automl_demo(real::MemberProcess& driver) {
  using namespace apps::automl;
  const auto deployed = driver.await(deploy(driver.client(), AutoMLConfig{}), std::chrono::seconds(30));
  if (!deployed.ok()) {
    std::fprintf(stderr, "tandem cluster: deploying AutoML failed: %s\n", deployed.error().to_string().c_str());
    return 1;
  }
  AutoMLClient client(driver.client());
  JobSpec spec;
  spec.dataset = "iris";
  spec.cost = CostModel{200, 0.5};
  for (int i = 0; i < 16; ++i) {
    spec.candidates.push_back(Candidate{"c" + std::to_string(i), {{"learning_rate", 0.001 * (i + 1)}, {"depth", i % 8}}});
  }
  const auto job = driver.await(client.submit(spec), std::chrono::seconds(30));
  if (!job.ok()) {
    std::fprintf(stderr, "tandem cluster: submitting a job failed: %s\n", job.error().to_string().c_str());
    return 1;
  }
  std::printf("submitted %s: 16 candidates on dataset iris\n", job.value().c_str());
  const auto done = driver.await(client.wait(job.value(), std::chrono::seconds(60)), std::chrono::seconds(70));
  if (!done.ok()) {
    std::fprintf(stderr, "tandem cluster: the job did not finish: %s\n", done.error().to_string().c_str());
    return 1;
  }
  const bool right = done.value().best && *done.value().best == true_best(spec);
  std::printf("%s %s: %llu/%llu candidates, best %s (score %.4f) — %s\n", job.value().c_str(),
              std::string(job_state_name(done.value().state)).c_str(),
              static_cast<unsigned long long>(done.value().finished),
              static_cast<unsigned long long>(done.value().candidates),
              done.value().best ? done.value().best->name.c_str() : "-",
              done.value().best ? done.value().best->score : 0.0,
              right ? "the true best" : "NOT the true best");
  return right ? 0 : 1;
}

}  // namespace

int head_command(int argc, char** argv) { return daemon_command("head", real::MemberRole::kHead, argc, argv); }
int node_command(int argc, char** argv) { return daemon_command("node", real::MemberRole::kNode, argc, argv); }

int cluster_command(int argc, char** argv) {
  if (argc < 1 || is_help(argv[0])) {
    std::fputs(kClusterUsage, argc < 1 ? stderr : stdout);
    return argc < 1 ? 2 : 0;
  }
  if (std::string_view(argv[0]) != "up") {
    return usage_error("cluster", "unknown subcommand " + std::string(argv[0]) + " (fix: tandem cluster up)",
                       kClusterUsage);
  }
  real::LoopbackClusterOptions options;
  std::string dir;
  bool automl_demo = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (is_help(arg)) {
      std::fputs(kClusterUsage, stdout);
      return 0;
    } else if (arg == "--nodes" && has_value) {
      const auto nodes = parse_u64(argv[++i]);
      if (!nodes || *nodes == 0 || *nodes > 64) {
        return usage_error("cluster", std::string("--nodes needs 1 to 64, got ") + argv[i], kClusterUsage);
      }
      options.nodes = *nodes;
    } else if (arg == "--dir" && has_value) {
      dir = argv[++i];
    } else if (arg == "--storage" && has_value) {
      options.storage = argv[++i];
    } else if (arg == "--automl-demo") {
      automl_demo = true;
    } else {
      return usage_error("cluster", "unexpected argument " + std::string(arg), kClusterUsage);
    }
  }
  if (dir.empty()) {
    char pattern[] = "/tmp/tandem-cluster-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) {
      std::fprintf(stderr, "tandem cluster: cannot create a directory under /tmp\n");
      return 1;
    }
    dir = pattern;
  }
  std::error_code error;
  std::filesystem::create_directories(dir + "/state", error);
  if (error) {
    std::fprintf(stderr, "tandem cluster: cannot create %s/state: %s\n", dir.c_str(), error.message().c_str());
    return 1;
  }
  Result<real::ClusterFile> file = real::make_loopback_cluster(dir, options);
  if (!file.ok()) {
    std::fprintf(stderr, "tandem cluster: %s\n", file.error().message.c_str());
    return 1;
  }
  real::LocalCluster cluster(file.value(), self_binary(), dir);
  std::printf("starting 1 head and %zu nodes in %s ...\n", options.nodes, dir.c_str());
  if (Status started = cluster.start_all(); !started.ok()) {
    std::fprintf(stderr, "tandem cluster: %s\n", started.error().message.c_str());
    return 1;
  }
  real::MemberProcess driver(file.value(), 100);
  if (Status started = driver.start(); !started.ok()) {
    std::fprintf(stderr, "tandem cluster: %s\n", started.error().message.c_str());
    return 1;
  }
  if (Status formed = driver.wait_for_nodes(options.nodes, std::chrono::seconds(30)); !formed.ok()) {
    std::fprintf(stderr, "tandem cluster: %s\n", formed.error().message.c_str());
    return 1;
  }
  std::printf("%-8s %-6s %-22s %-8s %s\n", "member", "role", "endpoint", "metrics", "log");
  for (const real::ClusterMember& member : file.value().members) {
    if (member.role == real::MemberRole::kDriver) continue;
    std::printf("%-8s %-6s %-22s %-8s %s\n", member.name.c_str(), real::to_string(member.role),
                member.endpoint().c_str(),
                member.metrics_port ? std::to_string(member.metrics_port).c_str() : "-",
                cluster.log_path(member.id).c_str());
  }
  std::printf("cluster file: %s\n", cluster.cluster_path().c_str());
  std::fflush(stdout);
  if (automl_demo) return run_automl_demo(driver);
  std::printf("up; Ctrl-C stops every process\n");
  std::fflush(stdout);
  ::signal(SIGINT, on_interrupt);
  ::signal(SIGTERM, on_interrupt);
  while (!interrupted) ::pause();
  std::printf("\nstopping\n");
  return 0;
}

}  // namespace tandem::cli
