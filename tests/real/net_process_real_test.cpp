// GrpcTransport against a peer in another process: SIGSTOP/SIGCONT, kill -9 of the peer, then a restart on the
// same port.
// The peer is this test binary re-executed with the hidden test case "[net_child]" (configured by environment).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <thread>

#include "tests/real/net_test_support.h"

extern char** environ;

namespace tandem::real {
namespace {

using testing::Inbox;
using testing::kTestTimeout;
using testing::local_endpoint;
using testing::started_transport;

constexpr uint32_t kEchoKind = 21;

// Sends every message back to where it came from, with kind kEchoKind.
struct EchoBack final : Receiver {
  Transport& transport;
  explicit EchoBack(Transport& t) : transport(t) {}
  void on_message(Message&& message) override {
    transport.send(Message{message.to, message.from, kEchoKind, message.correlation, std::move(message.payload)});
  }
  void on_undeliverable(Message&&, Errc) override {}
};

TEST_CASE("net child process: node 2 echoing on port 5 until killed or its stdin closes", "[.][net_child]") {
  const char* listen_port = std::getenv("TANDEM_NET_CHILD_PORT");
  const char* parent_port = std::getenv("TANDEM_NET_PARENT_PORT");
  REQUIRE(listen_port != nullptr);  // set by the parent test below; this case is not meant to run alone
  REQUIRE(parent_port != nullptr);
  EventLoop loop;
  TransportOptions options;
  options.listen_port = static_cast<uint16_t>(std::atoi(listen_port));
  GrpcTransport transport(loop, 2, options);
  REQUIRE(transport.start().ok());
  transport.set_peer(1, local_endpoint(static_cast<uint16_t>(std::atoi(parent_port))));
  EchoBack echo(transport);
  transport.bind(5, &echo);
  std::printf("READY %u\n", transport.port());
  std::fflush(stdout);
  std::thread watchdog([&loop] {
    char byte;
    while (::read(STDIN_FILENO, &byte, 1) > 0) {
    }
    loop.stop();  // the parent is gone: so are we
  });
  loop.run();
  watchdog.join();
  transport.unbind(5);
}

// The child process, killed with SIGKILL when the test ends however it ends.
class ChildNode {
 public:
  ChildNode(uint16_t listen_port, uint16_t parent_port) {
    int to_child[2];
    int from_child[2];
    REQUIRE(::pipe2(to_child, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(from_child, O_CLOEXEC) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, to_child[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, from_child[1], STDOUT_FILENO);
    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
    env_strings.push_back("TANDEM_NET_CHILD_PORT=" + std::to_string(listen_port));
    env_strings.push_back("TANDEM_NET_PARENT_PORT=" + std::to_string(parent_port));
    std::vector<char*> env;
    for (std::string& s : env_strings) env.push_back(s.data());
    env.push_back(nullptr);
    const char* argv[] = {"tandem_real_tests", "[net_child]", nullptr};
    const int spawned = posix_spawn(&pid_, "/proc/self/exe", &actions, nullptr, const_cast<char**>(argv), env.data());
    posix_spawn_file_actions_destroy(&actions);
    ::close(to_child[0]);
    ::close(from_child[1]);
    stdin_fd_ = to_child[1];
    stdout_fd_ = from_child[0];
    REQUIRE(spawned == 0);
    port_ = read_ready();
  }
  ~ChildNode() {
    kill9();
    ::close(stdin_fd_);
    ::close(stdout_fd_);
  }
  uint16_t port() const { return port_; }
  void signal(int number) { REQUIRE(::kill(pid_, number) == 0); }
  void kill9() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  // Reads stdout lines (Catch prints its own too) until "READY <port>", for at most 10 s.
  uint16_t read_ready() {
    std::string line;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < give_up) {
      pollfd ready{stdout_fd_, POLLIN, 0};
      if (::poll(&ready, 1, 100) <= 0) continue;
      char byte;
      if (::read(stdout_fd_, &byte, 1) != 1) break;
      if (byte != '\n') {
        line.push_back(byte);
        continue;
      }
      unsigned port = 0;
      if (std::sscanf(line.c_str(), "READY %u", &port) == 1) return static_cast<uint16_t>(port);
      line.clear();
    }
    FAIL("the child node did not report READY within 10 s");
    return 0;
  }

  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  uint16_t port_ = 0;
};

TEST_CASE("GrpcTransport process: a paused peer delays delivery, a peer killed with kill -9 bounces kUnreachable, a restart on its port is reachable again") {
  EventLoop loop;
  auto a = started_transport(loop, 1);
  Inbox at_a;
  a->bind(7, &at_a);
  auto child = std::make_unique<ChildNode>(0, a->port());
  const uint16_t child_port = child->port();
  a->set_peer(2, local_endpoint(child_port));

  a->send(Message{{1, 7}, {2, 5}, 20, 1, "ping"});
  REQUIRE(loop.run_until([&] { return at_a.messages.size() == 1; }, kTestTimeout));
  CHECK(at_a.messages.front().kind == kEchoKind);
  CHECK(at_a.messages.front().payload == "ping");

  // SIGSTOP: the open stream just stalls — no notice, no loss — and SIGCONT lets the message through (the sim's
  // pause defers deliveries the same way).
  child->signal(SIGSTOP);
  a->send(Message{{1, 7}, {2, 5}, 20, 100, "during the pause"});
  loop.run_for(300ms);
  CHECK(at_a.messages.size() == 1);
  CHECK(at_a.bounces.empty());
  child->signal(SIGCONT);
  REQUIRE(loop.run_until([&] { return at_a.messages.size() == 2; }, kTestTimeout));
  CHECK(at_a.messages.back().payload == "during the pause");
  at_a.messages.pop_back();

  child->kill9();
  loop.run_for(100ms);  // let the transport see the connection drop
  a->send(Message{{1, 7}, {2, 5}, 20, 2, "to the dead"});
  REQUIRE(loop.run_until([&] { return !at_a.bounces.empty(); }, kTestTimeout));
  CHECK(at_a.bounces.front().second == Errc::kUnreachable);
  CHECK(at_a.bounces.front().first.correlation == 2);

  child = std::make_unique<ChildNode>(child_port, a->port());  // same port, new process
  const TimePoint give_up = loop.now() + kTestTimeout;
  uint64_t next = 3;
  while (at_a.messages.size() < 2 && loop.now() < give_up) {
    const size_t bounces_before = at_a.bounces.size();
    a->send(Message{{1, 7}, {2, 5}, 20, next++, "again"});
    loop.run_until([&] { return at_a.messages.size() >= 2 || at_a.bounces.size() > bounces_before; }, 3s);
    if (at_a.messages.size() < 2) loop.run_for(50ms);
  }
  REQUIRE(at_a.messages.size() >= 2);
  CHECK(at_a.messages.back().payload == "again");
  CHECK(a->stats().reconnects >= 1);
}

}  // namespace
}  // namespace tandem::real
