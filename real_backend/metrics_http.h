// MetricsHttpServer: a minimal HTTP/1.0 endpoint serving `GET /metrics` (Prometheus text) for one process.
//
// Contract: one background thread accepts connections on the given address (loopback by default) and answers
// each request, one at a time; it never touches core state — the page is rendered by `render` on the event
// loop's thread (posted, awaited with a bound), so the registry stays single-threaded. `/metrics` → 200 with
// the text, `/healthz` → 200 "ok", anything else → 404; a request that does not arrive within 2 s or is larger
// than 8 KiB is dropped. When `auth_token` is set, requests must carry `Authorization: Bearer TOKEN` (else
// 401). stop() (and the destructor) closes the socket and joins the thread.
//
//   constructed ──start()──▶ SERVING ──stop()──▶ STOPPED
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include "core/common/result.h"
#include "real_backend/net/event_loop.h"

namespace tandem::real {

class MetricsHttpServer {
 public:
  MetricsHttpServer(EventLoop& loop, std::function<std::string()> render, std::string auth_token = {});
  ~MetricsHttpServer();
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  // Binds host:port (port 0: any free port) and starts serving; kUnavailable when the address is taken.
  Status start(const std::string& host, uint16_t port);
  uint16_t port() const { return port_; }
  void stop();

 private:
  void serve();
  void answer(int connection);
  std::string render_on_loop();

  EventLoop& loop_;
  std::function<std::string()> render_;
  std::string auth_token_;
  int listen_fd_ = -1;
  int wake_fds_[2] = {-1, -1};  // a pipe: stop() writes one byte to end serve()'s poll
  uint16_t port_ = 0;
  std::thread thread_;
};

// A blocking HTTP GET of http://host:port/path on loopback: (status code, body). For tests and the launcher.
Result<std::pair<int, std::string>> http_get(const std::string& host, uint16_t port, const std::string& path,
                                             const std::string& auth_token = {});

}  // namespace tandem::real
