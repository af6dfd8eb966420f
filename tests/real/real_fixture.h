// RealCluster: a real cluster for integration tests — `tandem head` and `tandem node` processes on 127.0.0.1
// started from a fresh temporary directory, and this test process as the cluster's driver member.
//
//   RealCluster c({.nodes = 3});
//   auto proxy = c.ok(c.driver.await(apps::automl::deploy(c.client(), {}), 30s));
//   c.processes.kill9(c.node(1));
//
// Everything is bounded in time; the destructor kills every process it started and removes the directory.
#pragma once

#include <catch2/catch.hpp>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "real_backend/local_cluster.h"
#include "real_backend/member_process.h"

namespace tandem::real::testing {

inline std::string make_temp_dir(const char* tag) {
  std::string pattern = std::string("/tmp/tandem-") + tag + "-XXXXXX";
  REQUIRE(::mkdtemp(pattern.data()) != nullptr);
  return pattern;
}

struct RealClusterOptions {
  size_t nodes = 3;
  std::string storage;  // empty: sqlite in the temp dir
  uint32_t heartbeat_period_ms = 200;
  std::function<void(ClusterFile&)> edit;  // adjusts members (resources, labels) before anything starts
};

class RealCluster {
 public:
  explicit RealCluster(RealClusterOptions options = {})
      : dir(make_temp_dir("real")), file(make_file(dir, options)), processes(file, TANDEM_CLI_PATH, dir),
        driver(file, 100) {
    std::filesystem::create_directories(dir + "/state");
    Status started = processes.start_all();
    INFO((started.ok() ? std::string() : started.error().message));
    REQUIRE(started.ok());
    ok(driver.start());
    ok(driver.wait_for_nodes(options.nodes + 1, std::chrono::seconds(30)));
  }
  ~RealCluster() {
    processes.stop_all();
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }

  runtime::RuntimeClient& client() { return driver.client(); }
  NodeId head() const { return 0; }
  NodeId node(size_t i) const { return static_cast<NodeId>(i); }  // 1..nodes

  template <typename T>
  T ok(Result<T> result) {
    INFO((result.ok() ? std::string("ok") : result.error().to_string()));
    REQUIRE(result.ok());
    return std::move(result).value();
  }
  void ok(Status status) {
    INFO((status.ok() ? std::string("ok") : status.error().to_string()));
    REQUIRE(status.ok());
  }

  std::string dir;
  ClusterFile file;
  LocalCluster processes;
  MemberProcess driver;

 private:
  static ClusterFile make_file(const std::string& dir, const RealClusterOptions& options) {
    LoopbackClusterOptions cluster;
    cluster.nodes = options.nodes;
    cluster.storage = options.storage;
    cluster.heartbeat_period_ms = options.heartbeat_period_ms;
    Result<ClusterFile> file = make_loopback_cluster(dir, cluster);
    REQUIRE(file.ok());
    if (options.edit) options.edit(file.value());
    return std::move(file).value();
  }
};

}  // namespace tandem::real::testing
