// `tandem run --world real` of the rpc kind: the servers are RpcServer actors on `tandem node` processes, the
// clients the driver's, and the faults real (kill -9 and restart) or applied by the clients (cuts from client
// nodes); and what of an rpc scenario the real world cannot run is refused, each piece by its pointer.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>

#include "core/metrics/histogram.h"
#include "scenarios/library.h"
#include "scenarios/real/real_runner.h"
#include "tests/real/real_fixture.h"
#include "tests/real/support/scenario_run.h"

namespace tandem::scenarios {
namespace {

TEST_CASE("Real run: an rpc service - a server killed with kill -9 and restarted, a one-way partition, a slower "
          "service time - loses no request") {
  const Scenario scenario = testing::load_file(builtin_library_dir() + "/../real/rpc-crash-partition.json");
  CHECK(real_world_problems(scenario).empty());
  Result<RunResult> result = testing::run_real(scenario, 1, "rpc-real");
  INFO((result.ok() ? std::string() : result.error().message));
  REQUIRE(result.ok());
  const reports::RunRecord& record = result.value().record;
  for (const reports::TraceEntry& note : record.notes) INFO(note.detail);
  // One runtime cluster: the run's control store and the four server processes.
  CHECK(record.figures.at("real.clusters") == 1);
  CHECK(record.figures.at("real.processes") == 5);
  CHECK(record.figures.at("rpc.quote.servers") == 4);
  CHECK(record.figures.at("rpc.quote.clients") == 4);
  // 100 requests a second from 1 s to 10 s (seed 1 draws 875 arrivals): every one answered or failed
  // explicitly, at least 99% answered.
  const reports::RequestTotals totals = record.requests.totals();
  CHECK(totals.issued >= 800);
  CHECK(totals.lost == 0);
  CHECK(totals.late == 0);
  CHECK(static_cast<double>(totals.ok) >= 0.99 * static_cast<double>(totals.issued));
  // The crash: a/server0's process killed at 3 s and started again at 5 s; its server actor restarted there.
  REQUIRE(record.faults.size() == 2);
  CHECK(record.faults[0].kind == "crash");
  CHECK(record.faults[0].start_ns >= 3'000'000'000);
  REQUIRE(record.faults[0].end_ns.has_value());
  CHECK(*record.faults[0].end_ns >= 5'000'000'000);
  REQUIRE(record.node_spans.size() == 1);
  CHECK(record.node_spans[0].state == "down");
  CHECK(record.figures.at("rpc.quote.server_restarts") >= 1);
  // The partition: b's clients' attempts on a's servers were cut (and retried on b's servers).
  CHECK(record.faults[1].kind == "partition_one_way");
  CHECK(record.figures.at("rpc.quote.attempts_cut_by_fault") >= 5);
  // The service time went from lognormal(3ms) to constant 6 ms at 9 s: requests started in the last 0.4 s took
  // at least 6 ms, more than those of the first 1.5 s. (By start time, from the chart's latency histograms:
  // the success latencies are sorted once the run settles, so their order says nothing of when.)
  const reports::RequestLog& requests = record.requests;
  auto started_between = [&](int64_t from_ns, int64_t to_ns) {
    metrics::Histogram merged;
    const int64_t bucket_ns = requests.chart_bucket().count();
    for (size_t i = 0; i < requests.chart_latency_ms().size(); ++i) {
      const int64_t start_ns = static_cast<int64_t>(i) * bucket_ns;
      if (start_ns >= from_ns && start_ns + bucket_ns <= to_ns) merged.merge(requests.chart_latency_ms()[i]);
    }
    return merged;
  };
  REQUIRE(requests.chart_bucket() <= std::chrono::milliseconds(100));
  const metrics::Histogram first = started_between(1'000'000'000, 2'500'000'000);
  const metrics::Histogram last = started_between(9'600'000'000, 10'000'000'000);
  REQUIRE(first.count() >= 100);
  REQUIRE(last.count() >= 20);
  CHECK(last.percentile(50) >= 6.0);
  CHECK(first.percentile(50) < last.percentile(50));
  CHECK(std::any_of(record.notes.begin(), record.notes.end(), [](const reports::TraceEntry& note) {
    return note.detail.find("operation: set quote service time to constant(6ms)") != std::string::npos;
  }));
  for (const reports::CheckResult& check : result.value().checks) {
    INFO(check.name << ": " << check.summary);
    CHECK(check.status == reports::CheckStatus::kPass);
  }
}

TEST_CASE("Real run: a network cluster_outage on an rpc service - the clients' attempts into the cut cluster are "
          "cut, retried locally, none lost") {
  LoadResult loaded = load_scenario_text(R"({"name": "rpc-outage", "seed": 3, "duration": "5s",
    "topology": {"regions": ["r"], "clusters": [
      {"name": "a", "region": "r", "nodes": [{"group": "server", "count": 1}, {"group": "client", "count": 1}]},
      {"name": "b", "region": "r", "nodes": [{"group": "server", "count": 1}, {"group": "client", "count": 1}]}]},
    "services": [{"kind": "rpc", "name": "quote", "servers": "server", "clients": "client", "deadline": "100ms",
                  "retry": {"attempts": 2, "prefer": "local"}, "routing": {"local_fraction": 0.5}}],
    "workload": [{"service": "quote", "shape": "constant", "rate": 50, "start": "1s", "end": "4s"}],
    "events": [{"at": "2s", "fault": "cluster_outage", "target": "b", "mode": "network", "for": "1s"}],
    "expect": {"no_lost_requests": true}})");
  INFO(loaded.problems.to_string());
  REQUIRE(loaded.ok());
  CHECK(real_world_problems(*loaded.scenario).empty());
  Result<RunResult> result = testing::run_real(*loaded.scenario, 1, "rpc-outage");
  INFO((result.ok() ? std::string() : result.error().message));
  REQUIRE(result.ok());
  const reports::RunRecord& record = result.value().record;
  // The outage cuts b from a, clients included; the control store, outside the topology, is never cut.
  CHECK(record.figures.at("real.processes") == 3);
  CHECK(record.figures.at("rpc.quote.attempts_cut_by_fault") >= 1);
  const reports::RequestTotals totals = record.requests.totals();
  CHECK(totals.issued >= 100);
  CHECK(totals.lost == 0);
  CHECK(result.value().passed);
}

TEST_CASE("Real run: the default scenario (rpc) is refused only for the faults the real world cannot apply, each "
          "named with a fix") {
  const Scenario scenario = testing::load_file(builtin_library_dir() + "/default.json");
  const std::vector<std::string> problems = real_world_problems(scenario);
  for (const std::string& problem : problems) INFO(problem);
  // The rpc service itself deploys; what remains are two of its five faults.
  CHECK(std::none_of(problems.begin(), problems.end(),
                     [](const std::string& p) { return p.find("/services/") != std::string::npos; }));
  for (const std::string& problem : problems) {
    CHECK_THAT(problem, Catch::Contains("fix:"));
    const bool outage = problem.rfind("events/0: fault \"cluster_outage\" with \"mode\": \"network\"", 0) == 0;
    const bool loss = problem.rfind("events/4: fault \"link_loss\" names east-b/client", 0) == 0;
    CHECK((outage || loss));
  }
  CHECK(std::any_of(problems.begin(), problems.end(),
                    [](const std::string& p) { return p.rfind("events/4: fault \"link_loss\"", 0) == 0; }));
  RealRunOptions options;
  options.work_dir = "/nonexistent";  // nothing may be written or started
  options.tandem_binary = "/nonexistent/tandem";
  Result<RunResult> refused = run_scenario_real(scenario, options);
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.error().message, Catch::Contains("default cannot run on the real world:"));
}

TEST_CASE("Real run: an rpc planted bug, a link fault on a client node, slow_node and a nemesis link fault are "
          "refused by pointer, while cuts and set_service_time are not") {
  const Scenario scenario = [] {
    LoadResult loaded = load_scenario_text(R"({"name": "rpc-refusals", "duration": "4s",
      "topology": {"regions": ["r"], "clusters": [{"name": "c", "region": "r",
        "nodes": [{"group": "server", "count": 2}, {"group": "client", "count": 1}]}]},
      "services": [{"kind": "rpc", "name": "quote", "servers": "server", "clients": "client",
                    "planted_bug": "retry_same_server"}],
      "workload": [{"service": "quote", "shape": "constant", "rate": 10}],
      "events": [
        {"at": "1s", "fault": "link_loss", "from": "c/client0", "to": "c/server0", "probability": 0.5, "for": "1s"},
        {"at": "1s", "fault": "link_delay", "from": "c/server0", "to": "c/server1", "delay": "5ms", "for": "1s"},
        {"at": "1s", "fault": "slow_node", "target": "c/server1", "delay": "5ms", "for": "1s"},
        {"at": "2s", "fault": "isolate", "target": "c/client0", "for": "1s"},
        {"at": "2s", "fault": "partition_one_way", "from": "c/server0", "to": "c/client0", "for": "1s"},
        {"at": "3s", "op": "set_service_time", "service": "quote", "service_time": {"kind": "constant", "value": "1ms"}}
      ],
      "nemesis": {"start": "1s", "end": "3s", "targets": ["c/*"],
                  "faults": [{"fault": "link_duplicate", "probability": 0.1, "every": "1s", "for": "500ms"}]}})");
    INFO(loaded.problems.to_string());
    REQUIRE(loaded.ok());
    return std::move(*loaded.scenario);
  }();
  const std::vector<std::string> problems = real_world_problems(scenario);
  for (const std::string& problem : problems) INFO(problem);
  REQUIRE(problems.size() == 4);
  CHECK_THAT(problems[0], Catch::StartsWith("/services/0/planted_bug: planted bugs exist for tandem explore"));
  CHECK_THAT(problems[1], Catch::StartsWith("events/0: fault \"link_loss\" names c/client0, which is not an rpc "
                                            "server; the clients all run in the driver, one transport"));
  CHECK_THAT(problems[2], Catch::StartsWith("events/2: fault \"slow_node\" is not applied to real processes for "
                                            "an rpc service"));
  CHECK_THAT(problems[3], Catch::StartsWith("/nemesis/faults/0: fault \"link_duplicate\" is not applied"));
  for (const std::string& problem : problems) CHECK_THAT(problem, Catch::Contains("fix:"));
}

}  // namespace
}  // namespace tandem::scenarios
