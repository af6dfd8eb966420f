// The cluster file every real process reads: refused with the JSON pointer of each problem and how to fix it;
// and the Prometheus text of a metrics registry.
#include <catch2/catch.hpp>

#include "core/metrics/registry.h"
#include "real_backend/cluster_file.h"
#include "real_backend/prometheus.h"

namespace tandem::real {
namespace {

using Json = nlohmann::json;

Json good() {
  return Json::parse(R"({
    "storage": "sqlite:/tmp/x",
    "members": [
      {"id": 0, "name": "head", "role": "head", "endpoint": "127.0.0.1:7100"},
      {"id": 1, "name": "n1", "role": "node", "endpoint": "127.0.0.1:7101",
       "resources": {"CPU": 4, "GPU": 1}, "labels": {"zone": "a"}},
      {"id": 100, "name": "driver", "role": "driver", "endpoint": "127.0.0.1:7200"},
      {"id": 7, "name": "other-head", "role": "peer", "endpoint": "127.0.0.1:7300"}
    ]})");
}

std::string problems_of(const Json& json) {
  Result<ClusterFile> parsed = ClusterFile::parse(json);
  REQUIRE_FALSE(parsed.ok());
  CHECK(parsed.code() == Errc::kInvalidArgument);
  return parsed.error().message;
}

TEST_CASE("Cluster file: a good file parses and round-trips") {
  Result<ClusterFile> parsed = ClusterFile::parse(good());
  REQUIRE(parsed.ok());
  const ClusterFile& file = parsed.value();
  CHECK(file.head().name == "head");
  REQUIRE(file.find(1) != nullptr);
  CHECK(file.find(1)->resources.get("GPU") == 1);
  CHECK(file.find(1)->labels.at("zone") == "a");
  CHECK(file.find("driver")->role == MemberRole::kDriver);
  CHECK(file.find("other-head")->role == MemberRole::kPeer);  // another cluster's head: not a second head here
  CHECK(file.storage_of(*file.find(1)) == "sqlite:/tmp/x");
  Result<ClusterFile> again = ClusterFile::parse(file.to_json());
  REQUIRE(again.ok());
  CHECK(again.value().to_json() == file.to_json());
}

TEST_CASE("Cluster file: bad input names each problem by its pointer") {
  Json json = good();
  SECTION("unknown keys, wrong types and bad endpoints") {
    json["colour"] = "blue";
    json["members"][1]["endpoint"] = "127.0.0.1";
    json["members"][1]["resources"]["CPU"] = "four";
    json["members"][2]["role"] = "boss";
    const std::string message = problems_of(json);
    CHECK_THAT(message, Catch::Contains("4 problems"));
    CHECK_THAT(message, Catch::Contains("/colour: unknown key"));
    CHECK_THAT(message, Catch::Contains("/members/1/endpoint: \"127.0.0.1\" is not HOST:PORT"));
    CHECK_THAT(message, Catch::Contains("/members/1/resources/CPU: must be a number"));
    CHECK_THAT(message, Catch::Contains("/members/2/role: \"boss\" is not a role (fix: one of head, node, driver, peer)"));
  }
  SECTION("duplicates and the number of heads") {
    json["members"][1]["id"] = 0;
    json["members"][2]["endpoint"] = "127.0.0.1:7101";
    json["members"][1]["role"] = "head";
    const std::string message = problems_of(json);
    CHECK_THAT(message, Catch::Contains("/members/1/id: 0 is used twice"));
    CHECK_THAT(message, Catch::Contains("/members/2/endpoint: 127.0.0.1:7101 is used twice"));
    CHECK_THAT(message, Catch::Contains("/members: has 2 heads"));
  }
  SECTION("a non-loopback endpoint needs allow_remote, which needs a token") {
    json["members"][1]["endpoint"] = "10.0.0.5:7101";
    CHECK_THAT(problems_of(json), Catch::Contains("/members/1/endpoint: \"10.0.0.5\" is not a loopback address"));
    json["allow_remote"] = true;
    CHECK_THAT(problems_of(json), Catch::Contains("/allow_remote: listening beyond loopback needs an \"auth_token\""));
    json["auth_token"] = "s3cret";
    CHECK(ClusterFile::parse(json).ok());
  }
  SECTION("huge and negative numbers") {
    json["members"][1]["id"] = -1;
    json["heartbeat_period_ms"] = 1e12;
    const std::string message = problems_of(json);
    CHECK_THAT(message, Catch::Contains("/members/1/id: must be a whole number"));
    CHECK_THAT(message, Catch::Contains("/heartbeat_period_ms: must be a whole number"));
  }
  SECTION("no members") {
    json["members"] = Json::array();
    CHECK_THAT(problems_of(json), Catch::Contains("/members: must be a non-empty array"));
  }
}

TEST_CASE("Prometheus text: counters, gauges and histograms as summaries, labels escaped") {
  metrics::MetricsRegistry registry;
  registry.counter("calls_total", {{"method", "a\"b"}}).increment(3);
  registry.gauge("queue_length").set(2.5);
  auto& latency = registry.histogram("latency_ms");
  for (int i = 1; i <= 100; ++i) latency.record(i);
  const std::string text = prometheus_text(registry, metrics::Labels{{"member", "n1"}});
  CHECK_THAT(text, Catch::Contains("# TYPE calls_total counter\ncalls_total{member=\"n1\",method=\"a\\\"b\"} 3\n"));
  CHECK_THAT(text, Catch::Contains("# TYPE queue_length gauge\nqueue_length{member=\"n1\"} 2.5\n"));
  CHECK_THAT(text, Catch::Contains("# TYPE latency_ms summary\n"));
  CHECK_THAT(text, Catch::Contains("latency_ms_count{member=\"n1\"} 100\n"));
  CHECK_THAT(text, Catch::Contains("latency_ms_sum{member=\"n1\"} 5050\n"));
  CHECK_THAT(text, Catch::Contains("latency_ms{member=\"n1\",quantile=\"0.99\"} "));
}

}  // namespace
}  // namespace tandem::real
