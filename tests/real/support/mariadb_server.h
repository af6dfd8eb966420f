// MariaDbServer: a throwaway MariaDB for one test, on 127.0.0.1 at a free port, in a fresh temp dir.
//
// mariadbd runs with --skip-grant-tables (any user, no password: it listens on loopback only and lives for
// one test), --user=root when the test runs as root (mariadbd refuses root otherwise), a small buffer pool
// and redo log, and the default innodb_flush_log_at_trx_commit=1. The data directory starts empty: InnoDB
// creates its own tablespace and redo log, and with --skip-grant-tables the system tables mariadb-install-db
// would make are never read (the server logs warnings about them), so a start takes ~0.2 s instead of ~1.5 s.
// Lifecycle: the constructor starts the server and waits (bounded) until it sends its handshake;
// kill() is kill -9; start() brings it back on the same port and data directory, where InnoDB recovers from
// its redo log; restart() is both — the "state-store restart" fault. The destructor kills it and removes the
// directory. When mariadbd is not installed, available() is false and tests skip with kMissingWarning.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/real/support/server_process.h"
#include "tests/real/support/temp_dir.h"

namespace tandem::testing {

class MariaDbServer {
 public:
  static constexpr int kStartTimeoutMs = 30000;
  static constexpr const char* kMissingWarning =
      "mariadbd or mariadb (the client) is not installed: skipped. Install the Debian package mariadb-server "
      "(cli/dev setup does).";

  static bool available() { return !find_binary("mariadbd").empty() && !find_binary("mariadb").empty(); }

  MariaDbServer() : dir_("mariadb") {
    std::filesystem::create_directories(data_dir());
    start_on_free_port([&](uint16_t port) {
      port_ = port;
      start();
    });
  }

  uint16_t port() const { return port_; }
  // The open_storage spec of this server, e.g. "mysql://root@127.0.0.1:41234/tandem".
  std::string spec(const std::string& database = "tandem") const {
    return "mysql://root@127.0.0.1:" + std::to_string(port_) + "/" + database;
  }
  std::string log_path() const { return dir_.path() + "/mariadb.log"; }

  void start() {
    std::vector<std::string> argv = {find_binary("mariadbd"),
                                     "--no-defaults",
                                     "--datadir=" + data_dir(),
                                     "--socket=" + dir_.path() + "/mariadb.sock",
                                     "--port=" + std::to_string(port_),
                                     "--bind-address=127.0.0.1",
                                     "--pid-file=" + dir_.path() + "/mariadb.pid",
                                     "--log-error=" + log_path(),
                                     "--skip-grant-tables",
                                     "--innodb-buffer-pool-size=16M",
                                     "--innodb-log-file-size=8M",
                                     "--performance-schema=OFF"};
    if (::geteuid() == 0) argv.push_back("--user=root");
    process_.start(argv, log_path());
    // The server sends a handshake as soon as it accepts clients, which is after InnoDB recovery.
    wait_until_ready(process_, "mariadbd on port " + std::to_string(port_), log_path(), kStartTimeoutMs,
                     [&] { return !probe_loopback(port_, "").empty(); });
  }
  void kill() { process_.kill_hard(); }
  // SIGSTOP / SIGCONT: a server that hangs (the kernel still accepts connections) rather than dies.
  void pause() { ::kill(process_.pid(), SIGSTOP); }
  void resume() { ::kill(process_.pid(), SIGCONT); }

  // Runs one SQL statement with the mariadb command-line client (installed with mariadb-server); throws when
  // it fails.
  void run_sql(const std::string& sql) {
    const std::string client_log = dir_.path() + "/client.log";
    ServerProcess client;
    client.start({find_binary("mariadb"), "--no-defaults", "--protocol=TCP", "-h127.0.0.1",
                  "-P" + std::to_string(port_), "-uroot", "-e", sql},
                 client_log);
    const pid_t pid = client.pid();
    int status = 0;
    ::waitpid(pid, &status, 0);  // the client exits on its own: it either runs the statement or fails
    client.forget();
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      throw std::runtime_error("mariadb -e '" + sql + "' failed; " + client_log + " ends with:\n" +
                               log_tail(client_log));
    }
  }
  void restart() {
    kill();
    start();
  }

 private:
  std::string data_dir() const { return dir_.path() + "/data"; }

  TempDir dir_;  // declared first: destroyed after the process is killed
  uint16_t port_ = 0;
  ServerProcess process_;
};

}  // namespace tandem::testing
