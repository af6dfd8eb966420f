// The AutoML service of the seed on the simulated actor runtime: proxy, trainer and worker behaviour, bad
// input, and recovery from trainer, proxy and node failures.
#include <catch2/catch.hpp>

#include <algorithm>

#include "core/apps/automl/checkpoint.h"
#include "core/apps/automl/service.h"
#include "tests/runtime/runtime_fixture.h"

namespace tandem::apps::automl {
namespace {

using runtime::ActorHandle;
using runtime::ActorInfo;
using runtime::ResourceSet;
using runtime::RuntimeClient;
using runtime::testing::RuntimeFixture;
using runtime::testing::RuntimeFixtureOptions;

JobSpec make_spec(std::string dataset, size_t candidates, double median_ms = 200, double sigma = 0.5) {
  JobSpec spec;
  spec.dataset = std::move(dataset);
  spec.cost = CostModel{median_ms, sigma};
  for (size_t i = 0; i < candidates; ++i) {
    spec.candidates.push_back(Candidate{"c" + std::to_string(i),
                                        {{"learning_rate", 0.001 * static_cast<double>(i + 1)},
                                         {"depth", static_cast<double>(i % 8)}}});
  }
  return spec;
}

RuntimeFixtureOptions gpu_cluster(size_t workers = 3, uint64_t seed = 1) {
  RuntimeFixtureOptions options;
  options.workers = workers;
  options.seed = seed;
  options.worker_resources = ResourceSet{{"CPU", 4}, {"GPU", 2}, {"memory", 16e9}};
  options.extra_code = register_automl;
  return options;
}

// The service deployed with `config`, and a client on the head.
struct Service {
  explicit Service(RuntimeFixture& t, AutoMLConfig config = {}) : client(t.client(), config.proxy_name) {
    proxy = t.ok(t.await([&](RuntimeClient& c) { return deploy(c, config); }));
  }
  AutoMLClient client;
  ActorHandle proxy;
};

size_t worker_runs(RuntimeFixture& t) {
  return t.metrics.counter_sum("runtime_tasks_total", {{"function", std::string(kWorkerFunction)}});
}

// The job's newest trainer (actors are listed in id order).
std::optional<ActorInfo> trainer_of(RuntimeFixture& t, const std::string& job) {
  std::optional<ActorInfo> newest;
  for (const ActorInfo& info : t.control_store().actors()) {
    if (info.name == trainer_name(AutoMLConfig{}, job)) newest = info;
  }
  return newest;
}

TEST_CASE("AutoML: the client finds the proxy by name and a job ends with the true best candidate") {
  RuntimeFixture t(gpu_cluster());
  Service s(t);
  const JobSpec spec = make_spec("iris", 12);
  const std::string job = t.ok(t.await([&](RuntimeClient&) { return s.client.submit(spec); }));
  CHECK(job == "job-1");
  const JobStatus done =
      t.ok(t.await([&](RuntimeClient&) { return s.client.wait(job, std::chrono::minutes(5)); }));
  CHECK(done.state == JobState::kSucceeded);
  CHECK(done.candidates == 12);
  CHECK(done.finished == 12);
  REQUIRE(done.best);
  CHECK(*done.best == true_best(spec));
  CHECK(done.trainer_restores == 0);
  CHECK(worker_runs(t) == 12);  // no failure: every candidate trained exactly once
  // The trainer exits once its job is over; the proxy still answers.
  REQUIRE(trainer_of(t, job));
  CHECK(t.run_until([&] { return trainer_of(t, job)->state == runtime::ActorState::kDead; }));
  CHECK(t.ok(t.await([&](RuntimeClient&) { return s.client.status(job); })).best == done.best);
  CHECK(t.ok(t.await([&](RuntimeClient&) { return s.client.list_jobs(); })) == std::vector<std::string>{job});
}

TEST_CASE("AutoML: a query answers progress and the best so far while the job runs") {
  RuntimeFixture t(gpu_cluster());
  AutoMLConfig config;
  config.max_parallel_workers = 2;
  Service s(t, config);
  const JobSpec spec = make_spec("digits", 10, 1000, 0);
  const std::string job = t.ok(t.await([&](RuntimeClient&) { return s.client.submit(spec); }));
  t.run_for(std::chrono::milliseconds(2500));  // two rounds of two workers done, the third running
  const JobStatus midway = t.ok(t.await([&](RuntimeClient&) { return s.client.status(job); }));
  CHECK(midway.state == JobState::kRunning);
  CHECK(midway.finished == 4);
  REQUIRE(midway.best);
  JobSpec first_four = spec;
  first_four.candidates.resize(4);
  CHECK(*midway.best == true_best(first_four));
}

TEST_CASE("AutoML: a trainer keeps at most max_parallel_workers workers in flight, each with a GPU") {
  RuntimeFixture t(gpu_cluster(3));  // 6 GPUs
  AutoMLConfig config;
  config.max_parallel_workers = 4;
  Service s(t, config);
  const std::string job = t.ok(t.await([&](RuntimeClient&) { return s.client.submit(make_spec("wine", 16)); }));
  size_t peak = 0;
  REQUIRE(t.run_until([&] {
    size_t running = 0;
    for (size_t w = 0; w < t.worker_count(); ++w) {
      runtime::NodeDaemon& daemon = t.daemon(t.worker(w));
      CHECK(daemon.running_tasks() <= 2);  // one GPU each, two per node
      running += daemon.running_tasks();
    }
    peak = std::max(peak, running);
    return worker_runs(t) == 16;
  }));
  CHECK(peak == 4);
}

TEST_CASE("AutoML: bad input gives typed errors that name what is wrong") {
  RuntimeFixture t(gpu_cluster());
  Service s(t);
  SECTION("an empty candidate space") {
    Result<std::string> r = t.await([&](RuntimeClient&) { return s.client.submit(make_spec("x", 0)); });
    CHECK(r.code() == Errc::kInvalidArgument);
    CHECK_THAT(r.error().message, Catch::Contains("candidates is empty"));
  }
  SECTION("duplicate candidate names and non-finite parameters") {
    JobSpec spec = make_spec("x", 3);
    spec.candidates[2].name = "c0";
    Result<std::string> r = t.await([&](RuntimeClient&) { return s.client.submit(spec); });
    CHECK(r.code() == Errc::kInvalidArgument);
    CHECK_THAT(r.error().message, Catch::Contains("candidates[2].name \"c0\""));
    spec = make_spec("x", 3);
    spec.candidates[1].params["depth"] = std::numeric_limits<double>::infinity();
    r = t.await([&](RuntimeClient&) { return s.client.submit(spec); });
    CHECK_THAT(r.error().message, Catch::Contains("candidates[1].params.depth"));
  }
  SECTION("a bad cost model") {
    Result<std::string> r = t.await([&](RuntimeClient&) { return s.client.submit(make_spec("x", 2, -5)); });
    CHECK(r.code() == Errc::kInvalidArgument);
    CHECK_THAT(r.error().message, Catch::Contains("cost.median_ms"));
  }
  SECTION("an unknown job id") {
    Result<JobStatus> r = t.await([&](RuntimeClient&) { return s.client.status("job-42"); });
    CHECK(r.code() == Errc::kNotFound);
    CHECK_THAT(r.error().message, Catch::Contains("job-42") && Catch::Contains("list_jobs"));
  }
  SECTION("a proxy name nobody deployed") {
    AutoMLClient lost(t.client(), "no-such-proxy");
    Result<std::string> r = t.await([&](RuntimeClient&) { return lost.submit(make_spec("x", 1)); });
    CHECK(r.code() == Errc::kNotFound);
    CHECK_THAT(r.error().message, Catch::Contains("no-such-proxy") && Catch::Contains("deploy"));
  }
  SECTION("a bad config") {
    AutoMLConfig config;
    config.proxy_name = "other";
    config.max_parallel_workers = 0;
    Result<ActorHandle> r = t.await([&](RuntimeClient& c) { return deploy(c, config); });
    CHECK(r.code() == Errc::kInvalidArgument);
    CHECK_THAT(r.error().message, Catch::Contains("max_parallel_workers"));
  }
  CHECK(worker_runs(t) == 0);
}

TEST_CASE("AutoML: workers no node could ever host fail the job with the reason") {
  RuntimeFixtureOptions options = gpu_cluster();
  options.worker_resources = ResourceSet{{"CPU", 4}};  // no GPU anywhere
  RuntimeFixture t(options);
  Service s(t);
  const std::string job = t.ok(t.await([&](RuntimeClient&) { return s.client.submit(make_spec("x", 5)); }));
  const JobStatus done = t.ok(t.await([&](RuntimeClient&) { return s.client.wait(job, std::chrono::minutes(1)); }));
  CHECK(done.state == JobState::kFailed);
  CHECK_THAT(done.error, Catch::Contains("candidate 0") && Catch::Contains("GPU"));
  SECTION("a trainer no node could host fails the submission too") {
    AutoMLConfig config;
    config.proxy_name = "big";
    config.key_prefix = "big/";
    config.trainer_resources = ResourceSet{{"CPU", 64}};
    Service big(t, config);
    Result<std::string> r = t.await([&](RuntimeClient&) { return big.client.submit(make_spec("x", 1)); });
    CHECK(r.code() == Errc::kResourceExhausted);
    CHECK_THAT(r.error().message, Catch::Contains("job-1 failed") && Catch::Contains("CPU"));
    CHECK(t.ok(t.await([&](RuntimeClient&) { return big.client.status("job-1"); })).state == JobState::kFailed);
  }
}

TEST_CASE("AutoML: a killed trainer restarts, restores its checkpoint and never retrains finished candidates") {
  RuntimeFixture t(gpu_cluster());
  AutoMLConfig config;
  config.max_parallel_workers = 2;
  Service s(t, config);
  const JobSpec spec = make_spec("mnist", 20, 500, 0.2);
  const std::string job = t.ok(t.await([&](RuntimeClient&) { return s.client.submit(spec); }));
  REQUIRE(t.run_until([&] { return worker_runs(t) >= 8; }));
  t.run_for(std::chrono::milliseconds(50));  // the checkpoint write lands
  const std::optional<ActorInfo> trainer = trainer_of(t, job);
  REQUIRE(trainer);
  t.ok(t.await([&](RuntimeClient& c) { return c.kill_actor(trainer->id, /*no_restart=*/false); }));
  const JobStatus done = t.ok(t.await([&](RuntimeClient&) { return s.client.wait(job, std::chrono::minutes(5)); }));
  CHECK(done.state == JobState::kSucceeded);
  CHECK(done.trainer_restores == 1);
  REQUIRE(done.best);
  CHECK(*done.best == true_best(spec));
  // Without the checkpoint the 8 finished candidates would run again (>= 28 runs); with it only the ones in
  // flight at the kill can run twice.
  CHECK(worker_runs(t) <= 20 + 2 * config.max_parallel_workers);
  CHECK(t.metrics.counter_sum("automl_trainer_restores_total") == 1);
}

TEST_CASE("AutoML: a trainer killed for good is re-created by the proxy and resumes") {
  RuntimeFixture t(gpu_cluster());
  AutoMLConfig config;
  config.supervise_period = std::chrono::milliseconds(500);
  Service s(t, config);
  const JobSpec spec = make_spec("cifar", 16, 500);
  const std::string job = t.ok(t.await([&](RuntimeClient&) { return s.client.submit(spec); }));
  REQUIRE(t.run_until([&] { return worker_runs(t) >= 8; }));
  const ActorInfo first = *trainer_of(t, job);
  t.ok(t.await([&](RuntimeClient& c) { return c.kill_actor(first.id, /*no_restart=*/true); }));
  const JobStatus done = t.ok(t.await([&](RuntimeClient&) { return s.client.wait(job, std::chrono::minutes(5)); }));
  CHECK(done.state == JobState::kSucceeded);
  CHECK(*done.best == true_best(spec));
  CHECK(done.trainer_restores >= 1);
  CHECK(trainer_of(t, job)->id != first.id);
}

TEST_CASE("AutoML: a proxy restart keeps its jobs and never reuses a job id") {
  RuntimeFixture t(gpu_cluster());
  Service s(t);
  const JobSpec spec = make_spec("titanic", 6);
  const std::string first = t.ok(t.await([&](RuntimeClient&) { return s.client.submit(spec); }));
  t.ok(t.await([&](RuntimeClient& c) { return c.kill_actor(s.proxy.id(), /*no_restart=*/false); }));
  const JobStatus done = t.ok(t.await([&](RuntimeClient&) { return s.client.wait(first, std::chrono::minutes(5)); }));
  CHECK(done.state == JobState::kSucceeded);
  CHECK(*done.best == true_best(spec));
  const std::string second = t.ok(t.await([&](RuntimeClient&) { return s.client.submit(spec); }));
  CHECK(second == "job-2");
  CHECK(t.ok(t.await([&](RuntimeClient&) { return s.client.list_jobs(); })) ==
        std::vector<std::string>{"job-1", "job-2"});
  CHECK(t.actor(s.proxy.id())->restarts_used == 1);
}

}  // namespace
}  // namespace tandem::apps::automl

namespace tandem::apps::automl {
namespace {

TEST_CASE("AutoML: a submit with a submission key makes one job, however often it is sent") {
  RuntimeFixture t(gpu_cluster());
  Service s(t);
  JobSpec spec = make_spec("titanic", 3);
  spec.submission_key = "nightly-2026-11-24";
  const std::string first = t.ok(t.await([&](RuntimeClient&) { return s.client.submit(spec); }));
  const std::string again = t.ok(t.await([&](RuntimeClient&) { return s.client.submit(spec); }));
  CHECK(again == first);
  JobSpec other = make_spec("mnist", 2);
  other.submission_key = spec.submission_key;
  Result<std::string> reused = t.await([&](RuntimeClient&) { return s.client.submit(other); });
  CHECK(reused.code() == Errc::kFailedPrecondition);
  CHECK_THAT(reused.error().message, Catch::Contains("nightly-2026-11-24") && Catch::Contains(first));
  other.submission_key = "has space";
  CHECK(t.await([&](RuntimeClient&) { return s.client.submit(other); }).code() == Errc::kInvalidArgument);
  CHECK(t.ok(t.await([&](RuntimeClient&) { return s.client.list_jobs(); })) == std::vector<std::string>{first});
}

// The proxy is killed (and restarted) at a sweep of moments during a submit: before the job is stored, between
// storing and answering, after answering. Whenever the client's answer is lost it retries with the same key, and
// every moment ends with exactly one job, the one the client was told, finished on the true best.
TEST_CASE("AutoML: a submit whose proxy dies mid-call is retried and runs exactly one job") {
  size_t retried = 0;
  for (int delay_us : {200, 500, 1000, 1500, 2000, 3000, 4000, 6000, 8000, 12000}) {
    CAPTURE(delay_us);
    RuntimeFixture t(gpu_cluster());
    Service s(t);
    const JobSpec spec = make_spec("titanic", 4);
    auto submitted = t.start(s.client.submit(spec));
    t.run_for(std::chrono::microseconds(delay_us));
    auto killed = t.start(t.client().kill_actor(s.proxy.id(), /*no_restart=*/false));
    REQUIRE(t.run_until([&] { return submitted->has_value() && killed->has_value(); }, std::chrono::minutes(2)));
    const std::string job = t.ok(std::move(**submitted));
    const std::vector<std::string> jobs = t.ok(t.await([&](RuntimeClient&) { return s.client.list_jobs(); }));
    CHECK(jobs == std::vector<std::string>{job});
    const JobStatus done = t.ok(t.await([&](RuntimeClient&) { return s.client.wait(job, std::chrono::minutes(5)); }));
    CHECK(done.state == JobState::kSucceeded);
    CHECK(*done.best == true_best(spec));
    if (s.client.submit_retries() > 0) ++retried;
  }
  CHECK(retried > 0);  // some kill landed while the submit was in flight
}

}  // namespace
}  // namespace tandem::apps::automl
