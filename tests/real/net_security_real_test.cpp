// GrpcTransport security: the shared token on Link streams, and TLS with a certificate made for the test.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "real_backend/net/admin_client.h"
#include "tests/real/net_test_support.h"

namespace tandem::real {
namespace {

using testing::Inbox;
using testing::kTestTimeout;
using testing::local_endpoint;
using testing::started_transport;

TEST_CASE("GrpcTransport security: with a token set, peers holding it talk and a wrong token is refused") {
  EventLoop loop;
  TransportOptions good;
  good.auth_token = "s3cret";
  auto a = started_transport(loop, 1, good);
  auto b = started_transport(loop, 2, good);
  a->set_peer(2, local_endpoint(b->port()));
  Inbox at_a;
  Inbox at_b;
  a->bind(7, &at_a);
  b->bind(5, &at_b);
  a->send(Message{{1, 7}, {2, 5}, 20, 1, "with token"});
  REQUIRE(loop.run_until([&] { return at_b.messages.size() == 1; }, kTestTimeout));

  for (const std::string token : {"wrong", ""}) {
    TransportOptions bad;
    bad.auth_token = token;
    auto c = started_transport(loop, 3, bad);
    c->set_peer(2, local_endpoint(b->port()));
    Inbox at_c;
    c->bind(7, &at_c);
    const uint64_t refused_before = b->stats().rejected_unauthenticated;
    c->send(Message{{3, 7}, {2, 5}, 20, 2, "token '" + token + "'"});
    REQUIRE(loop.run_until([&] { return !at_c.bounces.empty(); }, kTestTimeout));
    CHECK(at_c.bounces.front().second == Errc::kUnreachable);  // refused before anything was written
    CHECK(b->stats().rejected_unauthenticated == refused_before + 1);
  }
  CHECK(at_b.messages.size() == 1);
}

// A self-signed certificate for 127.0.0.1 that is also its own CA; empty when openssl is missing.
std::string make_certificate(const std::string& dir) {
  if (std::system("command -v openssl > /dev/null 2>&1") != 0) return {};
  const std::string command = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
                              "-addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout '" + dir + "/key.pem' -out '" +
                              dir + "/cert.pem' > '" + dir + "/openssl.log' 2>&1";
  return std::system(command.c_str()) == 0 ? dir : std::string();
}

TEST_CASE("GrpcTransport security: TLS with a test certificate carries messages and refuses a plaintext peer") {
  std::string pattern = (std::filesystem::temp_directory_path() / "tandem-tls-XXXXXX").string();
  REQUIRE(::mkdtemp(pattern.data()) != nullptr);
  const std::string dir = pattern;
  struct Cleanup {
    std::string dir;
    ~Cleanup() { std::filesystem::remove_all(dir); }
  } cleanup{dir};
  if (make_certificate(dir).empty()) {
    WARN("openssl is not installed (apt-get install openssl): the TLS test is skipped");
    return;
  }
  EventLoop loop;
  TransportOptions tls;
  tls.tls = TlsFiles{dir + "/cert.pem", dir + "/key.pem", dir + "/cert.pem"};
  auto a = started_transport(loop, 1, tls);
  auto b = started_transport(loop, 2, tls);
  a->set_peer(2, local_endpoint(b->port()));
  Inbox at_a;
  Inbox at_b;
  a->bind(7, &at_a);
  b->bind(5, &at_b);
  a->send(Message{{1, 7}, {2, 5}, 20, 1, "over TLS"});
  REQUIRE(loop.run_until([&] { return at_b.messages.size() == 1; }, kTestTimeout));
  CHECK(at_b.messages.front().payload == "over TLS");

  auto plain = started_transport(loop, 3);
  plain->set_peer(2, local_endpoint(b->port()));
  Inbox at_plain;
  plain->bind(7, &at_plain);
  plain->send(Message{{3, 7}, {2, 5}, 20, 2, "plaintext"});
  REQUIRE(loop.run_until([&] { return !at_plain.bounces.empty(); }, kTestTimeout));
  CHECK(at_plain.bounces.front().second == Errc::kUnreachable);
  CHECK(at_b.messages.size() == 1);

  // The Admin service over TLS: a client with the cluster's files gets in, a plaintext one does not.
  AdminClient admin(local_endpoint(b->port()), "", tls.tls);
  Result<TransportStats> stats = admin.stats();
  REQUIRE(stats.ok());
  CHECK(stats.value().delivered == 1);
  AdminClient plain_admin(local_endpoint(b->port()));
  CHECK_FALSE(plain_admin.stats(2s).ok());

  TransportOptions missing;
  missing.tls = TlsFiles{dir + "/nope.pem", dir + "/key.pem", dir + "/cert.pem"};
  GrpcTransport broken(loop, 4, missing);
  const Status started = broken.start();
  REQUIRE_FALSE(started.ok());
  CHECK(started.code() == Errc::kInvalidArgument);
  CHECK(started.error().message.find("nope.pem") != std::string::npos);
}

}  // namespace
}  // namespace tandem::real
