// `tandem run --world real` keeps an honest timeline: scenario time starts when the service is deployed (not
// before the blocking deploy, which would bunch every event and arrival due by then at its end), and nothing the
// driver does for a fault holds its event loop, which runs every request's deadline.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "scenarios/real/real_runner.h"
#include "tests/real/real_fixture.h"
#include "tests/real/support/scenario_run.h"

namespace tandem::scenarios {
namespace {

// An rpc service on two server processes in one cluster, one client node (the driver), `rate` requests a second.
std::string rpc_scenario(const std::string& duration, int rate, const std::string& events) {
  return R"({
  "name": "rpc-timeline",
  "seed": 7,
  "duration": ")" + duration + R"(",
  "topology": {"regions": ["r"],
               "clusters": [{"name": "a", "region": "r",
                             "nodes": [{"group": "server", "count": 2}, {"group": "client", "count": 1}]}]},
  "services": [{"kind": "rpc", "name": "quote", "servers": "server", "clients": "client",
                "service_time": {"kind": "constant", "value": "1ms"}, "deadline": "100ms",
                "retry": {"attempts": 3, "backoff": "5ms"}}],
  "workload": [{"service": "quote", "shape": "constant", "rate": )" + std::to_string(rate) + R"(}],
  "events": [)" + events + R"(],
  "expect": {"no_lost_requests": true}
})";
}

using testing::notes_of;

TEST_CASE("Real run: scenario time starts once the service is deployed (time scale 10: events and arrivals land on "
          "time, not bunched after the deploy)") {
  // At time scale 10 the rpc deploy (tens to hundreds of milliseconds of real time) is seconds of scenario time:
  // with the clock started before it, the crash at 300 ms and every arrival due by then all ran right after it.
  const Scenario scenario = testing::load_text(
      rpc_scenario("3s", 200, R"({"at": "300ms", "fault": "crash", "target": "a/server0", "for": "500ms"})"));
  Result<RunResult> result = testing::run_real(scenario, 10, "real-timeline-deploy");
  INFO((result.ok() ? std::string() : result.error().message));
  REQUIRE(result.ok());
  const reports::RunRecord& record = result.value().record;
  INFO(notes_of(record));
  const double deploy_seconds = record.figures.at("real.deploy_seconds");
  CHECK(deploy_seconds > 0);
  CHECK(notes_of(record).find("scenario time starts now") != std::string::npos);
  // The crash starts on time: 300 ms, give or take 40 ms of real lateness (400 ms of scenario time).
  REQUIRE(record.faults.size() == 1);
  CHECK(record.faults[0].start_ns >= 300'000'000);
  CHECK(record.faults[0].start_ns < 700'000'000);
  // The arrivals due in the first 300 ms (60) are issued in it; with the clock started before the deploy, none
  // was issued before scenario time deploy x 10 (over a second), then all at once. (Not checked per 100 ms: that
  // is 10 ms of real time, which one stall of a loaded machine can swallow.)
  const reports::RequestLog& requests = record.requests;
  const int64_t bucket_ns = to_ns(requests.bucket());
  uint64_t early = 0;
  for (size_t i = 0; i < requests.series().size(); ++i) {
    const int64_t bucket_end_ns = static_cast<int64_t>(i + 1) * bucket_ns;
    if (bucket_end_ns <= 300'000'000) early += requests.series()[i].issued;
  }
  INFO("deploy " << deploy_seconds << " s real; " << early << " issued by 300 ms");
  CHECK(early >= 20);
}

TEST_CASE("Real run: a crashed server's restart and the faults' Admin calls run off the driver's loop (no timer "
          "of the loop waits out a restart)") {
  // Four kill -9 and restarts, and a partition between the servers (transport filters set over the Admin
  // service), at time scale 1. A restart takes a fork, an exec and the member's start-up (100 ms and more on a
  // loaded machine); made on the loop, as it was, every timer of the loop (request deadlines, arrivals) waited
  // it out, so the loop's worst lateness was at least the slowest restart.
  const Scenario scenario = testing::load_text(rpc_scenario("5s", 100, R"(
    {"at": "800ms", "fault": "crash", "target": "a/server0", "for": "400ms"},
    {"at": "1600ms", "fault": "crash", "target": "a/server1", "for": "400ms"},
    {"at": "2400ms", "fault": "partition", "sides": [["a/server0"], ["a/server1"]], "for": "600ms"},
    {"at": "3200ms", "fault": "crash", "target": "a/server0", "for": "300ms"},
    {"at": "4000ms", "fault": "crash", "target": "a/server1", "for": "300ms"})"));
  Result<RunResult> result = testing::run_real(scenario, 1, "real-timeline-restart");
  INFO((result.ok() ? std::string() : result.error().message));
  REQUIRE(result.ok());
  const reports::RunRecord& record = result.value().record;
  const std::string notes = notes_of(record);
  INFO(notes);
  const double restart_ms = record.figures.at("real.restart_ready_max_ms");
  const double lag_ms = record.figures.at("real.driver_loop_max_lag_ms");
  const double step_ms = record.figures.at("real.fault_step_max_ms");
  INFO("slowest restart " << restart_ms << " ms, the loop's worst lateness " << lag_ms
                          << " ms, the slowest fault step " << step_ms << " ms (real time)");
  // Every restart happened and the partition was set and healed, with no Admin call failing.
  CHECK(record.node_spans.size() == 4);
  for (const reports::NodeSpan& span : record.node_spans) CHECK(span.end_ns.has_value());
  CHECK(notes.find("filter: cut 2 member pair(s)") != std::string::npos);
  CHECK(notes.find("filter: healed 2 member pair(s)") != std::string::npos);
  CHECK(notes.find("failed") == std::string::npos);
  // With the restart on the loop (measured here: restart 60.4 ms, lateness 58.4 ms, heal step 61.6 ms) both
  // came within a probe period (5 ms) of the restart; off it, well under half (10 ms against 123 ms).
  CHECK(restart_ms > 0);
  CHECK(lag_ms < restart_ms / 2);
  CHECK(step_ms < restart_ms / 2);
  for (const reports::CheckResult& check : result.value().checks) {
    INFO(check.name << ": " << check.summary);
    CHECK(check.status == reports::CheckStatus::kPass);
  }
}

}  // namespace
}  // namespace tandem::scenarios
