#include "real_backend/storage/storage_config.h"

#include <charconv>
#include <filesystem>
#include <string>
#include <system_error>

#include "real_backend/storage/mariadb_storage.h"
#include "real_backend/storage/redis_storage.h"
#include "real_backend/storage/sqlite_storage.h"

namespace tandem::real {
namespace {

// The spec with its password (between "user:" and the last '@') replaced by ***, for error messages and logs.
std::string redacted(std::string_view spec) {
  const size_t scheme_end = spec.find("://");
  const size_t at = spec.rfind('@');
  if (scheme_end == std::string_view::npos || at == std::string_view::npos || at < scheme_end) {
    return std::string(spec);
  }
  const size_t colon = spec.find(':', scheme_end + 3);
  if (colon == std::string_view::npos || colon > at) return std::string(spec);
  return std::string(spec.substr(0, colon + 1)) + "***" + std::string(spec.substr(at));
}

Error bad_spec(std::string_view spec, std::string_view why) {
  return make_error(Errc::kInvalidArgument, "bad storage spec '" + redacted(spec) + "': " + std::string(why) +
                                                "; accepted forms: " + std::string(kStorageSpecForms));
}

// Node names become file names, hash keys and column values: keep them to a safe alphabet.
Status check_node_name(std::string_view node_name) {
  bool safe = !node_name.empty() && node_name.size() <= 64 && node_name.front() != '.';
  for (const char c : node_name) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                         c == '-' || c == '_' || c == '.';
    safe = safe && allowed;
  }
  if (safe) return {};
  return make_error(Errc::kInvalidArgument,
                    "bad storage node name '" + std::string(node_name) +
                        "': use 1 to 64 of the characters A-Z a-z 0-9 - _ . and do not start with '.'");
}

// Splits "host[:port]" with `default_port`; returns false when the port is not a number in 1..65535.
bool parse_host_port(std::string_view text, uint16_t default_port, std::string& host, uint16_t& port) {
  const size_t colon = text.rfind(':');
  host = std::string(text.substr(0, colon));
  port = default_port;
  if (host.empty()) return false;
  if (colon == std::string_view::npos) return true;
  const std::string_view digits = text.substr(colon + 1);
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || end != digits.data() + digits.size() || value == 0 || value > 65535) return false;
  port = static_cast<uint16_t>(value);
  return true;
}

Result<std::unique_ptr<Storage>> open_sqlite(std::string_view spec, std::string_view dir,
                                             std::string_view node_name) {
  if (dir.empty()) return bad_spec(spec, "the directory after 'sqlite:' is empty");
  std::error_code error;
  std::filesystem::create_directories(std::filesystem::path(dir), error);
  if (error) {
    return make_error(Errc::kStorageFailure, "cannot create the SQLite directory '" + std::string(dir) +
                                                 "' of storage spec '" + std::string(spec) +
                                                 "': " + error.message());
  }
  auto opened = SqliteStorage::open((std::filesystem::path(dir) / (std::string(node_name) + ".db")).string());
  if (!opened.ok()) return opened.error();
  return std::unique_ptr<Storage>(std::move(opened).value());
}

Result<std::unique_ptr<Storage>> open_redis(std::string_view spec, std::string_view rest,
                                            std::string_view node_name) {
  RedisStorage::Options options;
  // [[user]:password@] — the last '@', so a password may hold '@' (a prefix then may not).
  if (const size_t at = rest.rfind('@'); at != std::string_view::npos) {
    const std::string_view credentials = rest.substr(0, at);
    const size_t colon = credentials.find(':');
    if (colon == std::string_view::npos || colon + 1 == credentials.size()) {
      return bad_spec(spec, "expected [user]:password@ before the host (the password is missing)");
    }
    options.user = std::string(credentials.substr(0, colon));
    options.password = std::string(credentials.substr(colon + 1));
    rest = rest.substr(at + 1);
  }
  const size_t slash = rest.find('/');
  const std::string prefix = slash == std::string_view::npos ? "tandem" : std::string(rest.substr(slash + 1));
  if (prefix.empty()) {
    return bad_spec(spec, "the key prefix after '/' is empty (leave out the '/' for 'tandem')");
  }
  if (!parse_host_port(rest.substr(0, slash), 6379, options.host, options.port)) {
    return bad_spec(spec, "expected host[:port] after 'redis://' with a port in 1..65535");
  }
  options.hash_key = prefix + ":" + std::string(node_name);
  auto opened = RedisStorage::open(std::move(options));
  if (!opened.ok()) return opened.error();
  return std::unique_ptr<Storage>(std::move(opened).value());
}

Result<std::unique_ptr<Storage>> open_mariadb(std::string_view spec, std::string_view rest,
                                              std::string_view node_name) {
  const size_t at = rest.rfind('@');
  if (at == std::string_view::npos) return bad_spec(spec, "the user is missing (expected user[:password]@)");
  const std::string_view credentials = rest.substr(0, at);
  const std::string_view location = rest.substr(at + 1);
  const size_t colon = credentials.find(':');
  MariaDbStorage::Options options;
  options.user = std::string(credentials.substr(0, colon));
  if (colon != std::string_view::npos) options.password = std::string(credentials.substr(colon + 1));
  if (options.user.empty()) return bad_spec(spec, "the user before '@' is empty");
  const size_t slash = location.find('/');
  if (slash == std::string_view::npos || slash + 1 == location.size()) {
    return bad_spec(spec, "the database is missing (expected /database after host:port)");
  }
  options.database = std::string(location.substr(slash + 1));
  for (const char c : options.database) {
    const bool allowed =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!allowed) return bad_spec(spec, "the database name may use only A-Z a-z 0-9 _");
  }
  if (!parse_host_port(location.substr(0, slash), 3306, options.host, options.port)) {
    return bad_spec(spec, "expected host[:port] after '@' with a port in 1..65535");
  }
  options.node = std::string(node_name);
  auto opened = MariaDbStorage::open(options);
  if (!opened.ok()) return opened.error();
  return std::unique_ptr<Storage>(std::move(opened).value());
}

}  // namespace

Result<std::unique_ptr<Storage>> open_storage(std::string_view spec, std::string_view node_name) {
  if (Status name_ok = check_node_name(node_name); !name_ok.ok()) return name_ok.error();
  auto strip = [&](std::string_view scheme, std::string_view& rest) {
    if (!spec.starts_with(scheme)) return false;
    rest = spec.substr(scheme.size());
    return true;
  };
  std::string_view rest;
  if (strip("sqlite:", rest)) return open_sqlite(spec, rest, node_name);
  if (strip("redis://", rest)) return open_redis(spec, rest, node_name);
  if (strip("mysql://", rest) || strip("mariadb://", rest)) return open_mariadb(spec, rest, node_name);
  return bad_spec(spec, "unknown scheme");
}

}  // namespace tandem::real
