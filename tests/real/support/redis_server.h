// RedisServer: a throwaway redis-server for one test, on 127.0.0.1 at a free port, in a fresh temp dir, with
// the durability RedisStorage requires (appendonly yes, appendfsync always) and no RDB snapshots.
//
// Lifecycle: the constructor starts it and waits (bounded) until it answers PING; pause()/resume() are
// SIGSTOP/SIGCONT; kill() is kill -9; start()
// brings it back on the same port and directory, where it replays its append-only file; restart() is both —
// the "state-store restart" fault. The destructor kills it and removes the directory.
// When redis-server is not installed, available() is false and tests skip with kMissingWarning.
#pragma once

#include <cstdint>
#include <string>

#include "tests/real/support/server_process.h"
#include "tests/real/support/temp_dir.h"

namespace tandem::testing {

class RedisServer {
 public:
  static constexpr int kStartTimeoutMs = 10000;
  static constexpr const char* kMissingWarning =
      "redis-server is not installed: skipped. Install the Debian package redis-server (cli/dev setup does).";

  static bool available() { return !find_binary("redis-server").empty(); }

  RedisServer() : dir_("redis") {
    start_on_free_port([&](uint16_t port) {
      port_ = port;
      start();
    });
  }

  uint16_t port() const { return port_; }
  // The open_storage spec of this server, e.g. "redis://127.0.0.1:41234/test".
  std::string spec(const std::string& prefix = "tandem") const {
    return "redis://127.0.0.1:" + std::to_string(port_) + "/" + prefix;
  }
  std::string log_path() const { return dir_.path() + "/redis.log"; }

  void start() {
    process_.start({find_binary("redis-server"), "--port", std::to_string(port_), "--bind", "127.0.0.1",
                    "--dir", dir_.path(), "--appendonly", "yes", "--appendfsync", "always", "--save", "",
                    "--daemonize", "no", "--protected-mode", "no", "--logfile", ""},
                   log_path());
    wait_until_ready(process_, "redis-server on port " + std::to_string(port_), log_path(), kStartTimeoutMs,
                     [&] { return probe_loopback(port_, "PING\r\n").starts_with("+PONG"); });
  }
  void kill() { process_.kill_hard(); }
  // SIGSTOP / SIGCONT: a server that hangs (the kernel still accepts connections) rather than dies.
  void pause() { ::kill(process_.pid(), SIGSTOP); }
  void resume() { ::kill(process_.pid(), SIGCONT); }
  void restart() {
    kill();
    start();
  }

 private:
  TempDir dir_;  // declared first: destroyed after the process is killed
  uint16_t port_ = 0;
  ServerProcess process_;
};

}  // namespace tandem::testing
