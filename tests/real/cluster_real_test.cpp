// The real backend end to end: `tandem head` and three `tandem node` processes on loopback, this test as the
// driver, the AutoML service of the seed deployed on them, and real faults (kill -9, restart) applied.
#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <set>

#include "core/apps/automl/checkpoint.h"
#include "core/apps/automl/service.h"
#include "real_backend/metrics_http.h"
#include "real_backend/net/admin_client.h"
#include "tests/real/real_fixture.h"

namespace tandem::real::testing {
namespace {

using namespace std::chrono_literals;
using apps::automl::AutoMLClient;
using apps::automl::AutoMLConfig;
using apps::automl::JobSpec;
using apps::automl::JobState;
using apps::automl::JobStatus;

JobSpec make_spec(std::string dataset, size_t candidates, double median_ms) {
  JobSpec spec;
  spec.dataset = std::move(dataset);
  spec.cost = apps::automl::CostModel{median_ms, 0.3};
  for (size_t i = 0; i < candidates; ++i) {
    spec.candidates.push_back({"c" + std::to_string(i),
                               {{"learning_rate", 0.001 * static_cast<double>(i + 1)},
                                {"depth", static_cast<double>(i % 8)}}});
  }
  return spec;
}

// The node the job's newest trainer runs on, once it is ALIVE.
NodeId trainer_node(RealCluster& c, const std::string& job) {
  NodeId node = kNoNode;
  std::string seen;
  const bool found = c.driver.run_until(
      [&] {
        auto actors = c.driver.await(c.client().list_actors(false, true), 5s);
        if (!actors.ok()) {
          seen = actors.error().to_string();
          return false;
        }
        seen.clear();
        for (const runtime::ActorInfo& info : actors.value()) {
          seen += info.class_name + ":" + info.name + " " + std::string(runtime::actor_state_name(info.state)) + " " + info.death_cause + "; ";
          if (info.name == apps::automl::trainer_name(AutoMLConfig{}, job) &&
              info.state == runtime::ActorState::kAlive) {
            node = info.node;
          }
        }
        return node != kNoNode;
      },
      30s);
  INFO("actors: " << seen);
  REQUIRE(found);
  return node;
}

TEST_CASE("Loopback ports for members: outside the ephemeral range, bindable, and never the same twice in a row") {
  std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
  uint32_t first = 32768;
  uint32_t last = 60999;
  range >> first >> last;
  std::set<uint16_t> picked;
  for (int i = 0; i < 200; ++i) {
    const Result<uint16_t> pick = free_loopback_port();
    REQUIRE(pick.ok());
    const uint16_t port = pick.value();
    INFO("port " << port << ", ephemeral range " << first << "-" << last);
    CHECK((port < first || port > last));
    CHECK(port >= 10000);
    picked.insert(port);
  }
  CHECK(picked.size() == 200);
}

TEST_CASE("Real cluster: the AutoML service runs end to end on a head and three node processes") {
  RealCluster c;
  c.ok(c.driver.await(apps::automl::deploy(c.client(), AutoMLConfig{}), 30s));
  AutoMLClient automl(c.client());
  const JobSpec spec = make_spec("iris", 12, 50);
  const std::string job = c.ok(c.driver.await(automl.submit(spec), 30s));
  CHECK(job == "job-1");
  const JobStatus done = c.ok(c.driver.await(automl.wait(job, 60s, 100ms), 70s));
  CHECK(done.state == JobState::kSucceeded);
  CHECK(done.finished == 12);
  REQUIRE(done.best);
  CHECK(*done.best == apps::automl::true_best(spec));

  // Every head and node serves its metrics registry as Prometheus text; the workers ran on the nodes.
  uint64_t worker_tasks = 0;
  for (const ClusterMember& member : c.file.members) {
    if (member.role == MemberRole::kDriver) continue;
    auto page = c.ok(http_get("127.0.0.1", member.metrics_port, "/metrics"));
    CHECK(page.first == 200);
    CHECK_THAT(page.second, Catch::Contains("# TYPE "));
    const std::string marker = "runtime_tasks_total{";
    for (size_t at = page.second.find(marker); at != std::string::npos; at = page.second.find(marker, at + 1)) {
      const size_t line_end = page.second.find('\n', at);
      const std::string line = page.second.substr(at, line_end - at);
      if (line.find("automl_worker") != std::string::npos) {
        worker_tasks += std::stoull(line.substr(line.rfind(' ') + 1));
      }
    }
  }
  CHECK(worker_tasks >= 12);
  CHECK(c.ok(http_get("127.0.0.1", c.file.members[1].metrics_port, "/nothing")).first == 404);
}

TEST_CASE("Real cluster: a node killed with kill -9 mid-job - the trainer restarts elsewhere and the job ends right") {
  RealCluster c;
  c.ok(c.driver.await(apps::automl::deploy(c.client(), AutoMLConfig{}), 30s));
  AutoMLClient automl(c.client());
  const JobSpec spec = make_spec("digits", 36, 500);
  const std::string job = c.ok(c.driver.await(automl.submit(spec), 30s));
  const NodeId victim = trainer_node(c, job);
  REQUIRE(victim != c.head());  // the head has no resources
  // Let some candidates finish first, so the restarted trainer resumes from a checkpoint.
  REQUIRE(c.driver.run_until(
      [&] {
        auto status = c.driver.await(automl.status(job), 5s);
        return status.ok() && status.value().finished >= 4;
      },
      30s));
  const JobStatus at_kill = c.ok(c.driver.await(automl.status(job), 5s));
  c.processes.kill9(victim);
  const JobStatus done = c.ok(c.driver.await(automl.wait(job, 90s, 200ms), 100s));
  INFO("killed node " << victim << " with " << at_kill.finished << " of 36 candidates finished");
  CHECK(done.state == JobState::kSucceeded);
  CHECK(done.finished == 36);
  REQUIRE(done.best);
  CHECK(*done.best == apps::automl::true_best(spec));
  CHECK(done.trainer_restores >= 1);  // the trainer died with its node and resumed from its checkpoint

  // The node comes back on the same endpoint and registers again.
  c.ok(c.processes.restart(victim));
  c.ok(c.driver.wait_for_nodes(4, 30s));
}

TEST_CASE("Real cluster: the head killed with kill -9 and restarted recovers its tables from its SQLite file") {
  RealCluster c;
  c.ok(c.driver.await(apps::automl::deploy(c.client(), AutoMLConfig{}), 30s));
  AutoMLClient automl(c.client());
  const JobSpec spec = make_spec("wine", 6, 50);
  const std::string job = c.ok(c.driver.await(automl.submit(spec), 30s));
  const JobStatus before = c.ok(c.driver.await(automl.wait(job, 60s, 100ms), 70s));
  REQUIRE(before.state == JobState::kSucceeded);

  c.processes.kill9(c.head());
  c.ok(c.processes.start(c.head()));
  c.ok(c.driver.wait_for_nodes(4, 30s));
  // The named proxy, the job's spec and its final checkpoint were all acknowledged before the kill.
  AutoMLClient again(c.client());
  const JobStatus after = c.ok(c.driver.await(again.status(job), 30s));
  CHECK(after.state == JobState::kSucceeded);
  CHECK(after.best == before.best);
  const auto jobs = c.ok(c.driver.await(again.list_jobs(), 30s));
  CHECK(jobs == std::vector<std::string>{job});
}

TEST_CASE("Real cluster: tandem cluster up --automl-demo starts processes, runs a job to its true best and stops") {
  const std::string dir = make_temp_dir("cli");
  const std::string command = std::string(TANDEM_CLI_PATH) + " cluster up --nodes 2 --automl-demo --dir '" + dir +
                              "' > '" + dir + "/out.txt' 2>&1";
  const int status = std::system(command.c_str());
  std::ifstream in(dir + "/out.txt");
  const std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  INFO(out);
  CHECK(status == 0);
  CHECK_THAT(out, Catch::Contains("job-1 SUCCEEDED: 16/16 candidates"));
  CHECK_THAT(out, Catch::Contains("the true best"));
  // Every member process it started is gone: none of their ports answers any more.
  Result<ClusterFile> file = ClusterFile::load(dir + "/cluster.json");
  REQUIRE(file.ok());
  for (const ClusterMember& member : file.value().members) {
    if (member.metrics_port != 0) CHECK_FALSE(http_get("127.0.0.1", member.metrics_port, "/healthz").ok());
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

TEST_CASE("Real cluster: with TLS and a token from the cluster file every link is secured and the job still runs") {
  const std::string certs = make_temp_dir("certs");
  const std::string command = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
                              "-addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout '" + certs +
                              "/key.pem' -out '" + certs + "/cert.pem' > '" + certs + "/openssl.log' 2>&1";
  if (std::system("command -v openssl > /dev/null 2>&1") != 0 || std::system(command.c_str()) != 0) {
    WARN("openssl is missing or failed (apt-get install openssl): the TLS cluster test is skipped");
    return;
  }
  RealClusterOptions options;
  options.nodes = 2;
  options.edit = [&](ClusterFile& file) {
    file.auth_token = "s3cret";
    file.tls = ClusterTls{certs + "/cert.pem", certs + "/key.pem", certs + "/cert.pem"};
  };
  RealCluster c(options);
  c.ok(c.driver.await(apps::automl::deploy(c.client(), AutoMLConfig{}), 30s));
  AutoMLClient automl(c.client());
  const JobSpec spec = make_spec("tls", 6, 50);
  const std::string job = c.ok(c.driver.await(automl.submit(spec), 30s));
  const JobStatus done = c.ok(c.driver.await(automl.wait(job, 60s, 100ms), 70s));
  CHECK(done.state == JobState::kSucceeded);
  REQUIRE(done.best);
  CHECK(*done.best == apps::automl::true_best(spec));

  // The members refuse control calls without the token, and /metrics wants it too.
  const ClusterMember& node = c.file.members[1];
  const TlsFiles tls{certs + "/cert.pem", certs + "/key.pem", certs + "/cert.pem"};
  AdminClient wrong(node.endpoint(), "guess", tls);
  CHECK(wrong.clear_filters(2s).code() == Errc::kFailedPrecondition);
  AdminClient right(node.endpoint(), "s3cret", tls);
  CHECK(right.clear_filters(2s).ok());
  CHECK(c.ok(http_get("127.0.0.1", node.metrics_port, "/metrics")).first == 401);
  CHECK(c.ok(http_get("127.0.0.1", node.metrics_port, "/metrics", "s3cret")).first == 200);
  std::error_code ignored;
  std::filesystem::remove_all(certs, ignored);
}

}  // namespace
}  // namespace tandem::real::testing
