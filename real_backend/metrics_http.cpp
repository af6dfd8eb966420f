#include "real_backend/metrics_http.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <future>
#include <memory>

namespace tandem::real {
namespace {

constexpr size_t kMaxRequestBytes = 8 * 1024;
constexpr int kRequestTimeoutMs = 2000;

void send_all(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;
    sent += static_cast<size_t>(n);
  }
}

void respond(int fd, int code, const char* reason, const std::string& body, const char* type = "text/plain") {
  send_all(fd, "HTTP/1.0 " + std::to_string(code) + " " + reason + "\r\nContent-Type: " + type +
                   "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
}

Result<sockaddr_in> loopback_address(const std::string& host, uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  const std::string numeric = host == "localhost" ? "127.0.0.1" : host;
  if (::inet_pton(AF_INET, numeric.c_str(), &address.sin_addr) != 1) {
    return make_error(Errc::kInvalidArgument, "\"" + host + "\" is not an IPv4 address (fix: e.g. 127.0.0.1)");
  }
  return address;
}

}  // namespace

MetricsHttpServer::MetricsHttpServer(EventLoop& loop, std::function<std::string()> render, std::string auth_token)
    : loop_(loop), render_(std::move(render)), auth_token_(std::move(auth_token)) {}

MetricsHttpServer::~MetricsHttpServer() { stop(); }

Status MetricsHttpServer::start(const std::string& host, uint16_t port) {
  TANDEM_CHECK(listen_fd_ < 0, "MetricsHttpServer started twice");
  Result<sockaddr_in> address = loopback_address(host, port);
  if (!address.ok()) return address.error();
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return make_error(Errc::kUnavailable, std::string("socket: ") + std::strerror(errno));
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(listen_fd_, reinterpret_cast<const sockaddr*>(&address.value()), sizeof(sockaddr_in)) != 0 ||
      ::listen(listen_fd_, 16) != 0) {
    const std::string reason = std::strerror(errno);
    ::close(listen_fd_);
    listen_fd_ = -1;
    return make_error(Errc::kUnavailable, "cannot listen for /metrics on " + host + ":" + std::to_string(port) +
                                              ": " + reason + " (fix: choose another metrics_port)");
  }
  sockaddr_in bound{};
  socklen_t length = sizeof bound;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &length);
  port_ = ntohs(bound.sin_port);
  if (::pipe2(wake_fds_, O_CLOEXEC) != 0) {
    ::close(listen_fd_);
    listen_fd_ = -1;
    return make_error(Errc::kUnavailable, std::string("pipe: ") + std::strerror(errno));
  }
  thread_ = std::thread([this] { serve(); });
  return {};
}

void MetricsHttpServer::stop() {
  if (thread_.joinable()) {
    const char byte = 1;
    [[maybe_unused]] const ssize_t n = ::write(wake_fds_[1], &byte, 1);
    thread_.join();
  }
  for (int* fd : {&listen_fd_, &wake_fds_[0], &wake_fds_[1]}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
}

void MetricsHttpServer::serve() {
  while (true) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fds_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    const int connection = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (connection < 0) continue;
    answer(connection);
    ::close(connection);
  }
}

void MetricsHttpServer::answer(int connection) {
  std::string request;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kRequestTimeoutMs);
  while (request.find("\r\n\r\n") == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || request.size() > kMaxRequestBytes) return;
    pollfd fd{connection, POLLIN, 0};
    if (::poll(&fd, 1, static_cast<int>(left.count())) <= 0) return;
    char buffer[1024];
    const ssize_t n = ::recv(connection, buffer, sizeof buffer, 0);
    if (n <= 0) return;
    request.append(buffer, static_cast<size_t>(n));
  }
  const size_t line_end = request.find("\r\n");
  const std::string line = request.substr(0, line_end);
  if (line.rfind("GET ", 0) != 0) {
    respond(connection, 405, "Method Not Allowed", "only GET\n");
    return;
  }
  const size_t path_end = line.find(' ', 4);
  const std::string path = line.substr(4, path_end == std::string::npos ? std::string::npos : path_end - 4);
  if (!auth_token_.empty() && request.find("Authorization: Bearer " + auth_token_ + "\r\n") == std::string::npos) {
    respond(connection, 401, "Unauthorized", "missing or wrong Authorization: Bearer token\n");
    return;
  }
  if (path == "/metrics") {
    respond(connection, 200, "OK", render_on_loop(), "text/plain; version=0.0.4");
  } else if (path == "/healthz") {
    respond(connection, 200, "OK", "ok\n");
  } else {
    respond(connection, 404, "Not Found", "try /metrics or /healthz\n");
  }
}

std::string MetricsHttpServer::render_on_loop() {
  auto promise = std::make_shared<std::promise<std::string>>();
  std::future<std::string> page = promise->get_future();
  loop_.post([promise, this] { promise->set_value(render_()); });
  if (page.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    return "# the event loop did not answer within 5 s\n";
  }
  return page.get();
}

Result<std::pair<int, std::string>> http_get(const std::string& host, uint16_t port, const std::string& path,
                                             const std::string& auth_token) {
  Result<sockaddr_in> address = loopback_address(host, port);
  if (!address.ok()) return address.error();
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(Errc::kUnavailable, "socket failed");
  std::unique_ptr<int, void (*)(int*)> guard(new int(fd), [](int* p) {
    ::close(*p);
    delete p;
  });
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address.value()), sizeof(sockaddr_in)) != 0) {
    return make_error(Errc::kUnreachable, "cannot connect to " + host + ":" + std::to_string(port));
  }
  std::string request = "GET " + path + " HTTP/1.0\r\nHost: " + host + "\r\n";
  if (!auth_token.empty()) request += "Authorization: Bearer " + auth_token + "\r\n";
  send_all(fd, request + "\r\n");
  std::string response;
  char buffer[4096];
  while (true) {
    pollfd poll_fd{fd, POLLIN, 0};
    if (::poll(&poll_fd, 1, 10'000) <= 0) return make_error(Errc::kTimeout, "no answer within 10 s");
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n < 0) return make_error(Errc::kUnavailable, "recv failed");
    if (n == 0) break;
    response.append(buffer, static_cast<size_t>(n));
  }
  const size_t space = response.find(' ');
  const size_t body = response.find("\r\n\r\n");
  if (space == std::string::npos || body == std::string::npos) {
    return make_error(Errc::kInvalidArgument, "not an HTTP response");
  }
  return std::pair{std::atoi(response.c_str() + space + 1), response.substr(body + 4)};
}

}  // namespace tandem::real
