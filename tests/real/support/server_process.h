// ServerProcess: one state-store server (redis-server, mariadbd) run by a test as a child process, plus
// the helpers the fixtures share: finding a binary, starting on a free loopback port (real_backend/loopback_port.h),
// waiting (bounded) until a port answers.
//
// Lifecycle:  stopped ──start()──> running ──kill_hard() (SIGKILL + reap)──> stopped ──start()──> ...
// The child gets PR_SET_PDEATHSIG=SIGKILL, so a test process that dies never leaves a server behind, and its
// stdout/stderr go to a log file whose tail the fixtures quote when a server does not come up.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "real_backend/loopback_port.h"

namespace tandem::testing {

// The absolute path of `name` in $PATH or the usual Debian directories, or "" when it is not installed.
inline std::string find_binary(const std::string& name) {
  std::vector<std::string> dirs = {"/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"};
  if (const char* path = std::getenv("PATH")) {
    std::stringstream stream(path);
    for (std::string dir; std::getline(stream, dir, ':');) dirs.push_back(dir);
  }
  for (const std::string& dir : dirs) {
    const std::string candidate = dir + "/" + name;
    if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

// Connects to 127.0.0.1:port, sends `request` (may be empty) and returns what the server sends first ("" when
// the connection is refused or nothing arrives within a second).
inline std::string probe_loopback(uint16_t port, const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  timeval timeout{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  std::string reply;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      (request.empty() ||
       ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size()))) {
    char buffer[256];
    const ssize_t received = ::recv(fd, buffer, sizeof(buffer), 0);
    if (received > 0) reply.assign(buffer, static_cast<size_t>(received));
  }
  ::close(fd);
  return reply;
}

// The last `max_lines` lines of a log file, for error messages.
inline std::string log_tail(const std::string& path, size_t max_lines = 15) {
  std::ifstream file(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(file, line);) lines.push_back(line);
  std::string tail;
  for (size_t i = lines.size() > max_lines ? lines.size() - max_lines : 0; i < lines.size(); ++i) {
    tail += "  " + lines[i] + "\n";
  }
  return tail;
}

// Runs `start(port)` on a fresh free port, up to kPortAttempts times: another process may bind the port
// between real::free_loopback_port() and the server's own bind. Returns the port that worked, or rethrows.
inline constexpr int kPortAttempts = 3;
template <typename Start>
uint16_t start_on_free_port(Start start) {
  for (int attempt = 1;; ++attempt) {
    const Result<uint16_t> picked = real::free_loopback_port();
    if (!picked.ok()) throw std::runtime_error("cannot find a free loopback port: " + picked.error().message);
    const uint16_t port = picked.value();
    try {
      start(port);
      return port;
    } catch (const std::runtime_error&) {
      if (attempt == kPortAttempts) throw;
    }
  }
}

class ServerProcess {
 public:
  ServerProcess() = default;
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  ~ServerProcess() { kill_hard(); }

  // Starts `argv` (argv[0] an absolute path) with stdout and stderr appended to `log_path`.
  void start(const std::vector<std::string>& argv, const std::string& log_path) {
    if (running()) throw std::runtime_error("ServerProcess::start: " + argv.at(0) + " is already running");
    std::vector<char*> raw;
    for (const std::string& arg : argv) raw.push_back(const_cast<char*>(arg.c_str()));
    raw.push_back(nullptr);
    const pid_t parent = ::getpid();
    const pid_t child = ::fork();
    if (child < 0) throw std::runtime_error("fork failed starting " + argv.at(0));
    if (child == 0) {
      // Only async-signal-safe calls between fork and exec.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(126);
      const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (log >= 0) {
        ::dup2(log, STDOUT_FILENO);
        ::dup2(log, STDERR_FILENO);
      }
      ::execv(raw[0], raw.data());
      ::_exit(127);
    }
    pid_ = child;
  }

  // SIGKILL — the "state-store crash" fault — and reap it. A no-op when not running.
  void kill_hard() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  // Whether the child is still alive (reaps it if it exited on its own).
  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    return true;
  }

  pid_t pid() const { return pid_; }
  // Stops tracking a child the caller has reaped itself.
  void forget() { pid_ = -1; }

 private:
  pid_t pid_ = -1;
};

// Polls `ready()` every 20 ms until it holds, `process` exits, or `timeout_ms` passes; throws with the log
// tail otherwise. The bound keeps a broken server from hanging the test suite.
template <typename Ready>
void wait_until_ready(ServerProcess& process, const std::string& what, const std::string& log_path,
                      int timeout_ms, Ready ready) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!ready()) {
    if (!process.running()) {
      throw std::runtime_error(what + " exited during start-up; its log " + log_path + " ends with:\n" +
                               log_tail(log_path));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      process.kill_hard();  // a server that did not come up in time is of no use; don't leave it running
      throw std::runtime_error(what + " did not answer within " + std::to_string(timeout_ms) +
                               " ms; its log " + log_path + " ends with:\n" + log_tail(log_path));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace tandem::testing
