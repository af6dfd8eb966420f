#include "real_backend/cluster_file.h"

#include <fstream>
#include <set>
#include <sstream>

namespace tandem::real {
namespace {

using Json = nlohmann::json;

// Collects problems, each with the JSON pointer of the value at fault.
struct Problems {
  std::vector<std::string> lines;
  void add(const std::string& pointer, const std::string& what) { lines.push_back(pointer + ": " + what); }
  bool empty() const { return lines.empty(); }
  Error error() const {
    std::string message = "the cluster file has " + std::to_string(lines.size()) + " problem" +
                          (lines.size() == 1 ? "" : "s") + ":";
    for (const std::string& line : lines) message += "\n  " + line;
    return make_error(Errc::kInvalidArgument, message);
  }
};

void check_keys(const Json& object, const std::string& pointer, const std::set<std::string>& allowed,
                Problems& problems) {
  for (const auto& [key, value] : object.items()) {
    if (allowed.count(key) == 0) {
      std::string known;
      for (const std::string& name : allowed) known += (known.empty() ? "" : ", ") + name;
      problems.add(pointer + "/" + key, "unknown key (fix: remove it; known keys: " + known + ")");
    }
  }
}

std::optional<std::string> get_string(const Json& object, const std::string& key, const std::string& pointer,
                                      Problems& problems, bool required) {
  if (!object.contains(key)) {
    if (required) problems.add(pointer + "/" + key, "missing (fix: add a string)");
    return std::nullopt;
  }
  if (!object[key].is_string()) {
    problems.add(pointer + "/" + key, "must be a string, got " + std::string(object[key].type_name()));
    return std::nullopt;
  }
  return object[key].get<std::string>();
}

std::optional<uint64_t> get_uint(const Json& object, const std::string& key, const std::string& pointer,
                                 uint64_t max, Problems& problems, bool required) {
  if (!object.contains(key)) {
    if (required) problems.add(pointer + "/" + key, "missing (fix: add a whole number)");
    return std::nullopt;
  }
  const Json& value = object[key];
  if (!value.is_number_unsigned() && !(value.is_number_integer() && value.get<int64_t>() >= 0)) {
    problems.add(pointer + "/" + key, "must be a whole number from 0 to " + std::to_string(max) + ", got " +
                                          value.dump());
    return std::nullopt;
  }
  const uint64_t number = value.get<uint64_t>();
  if (number > max) {
    problems.add(pointer + "/" + key, std::to_string(number) + " is too large (fix: at most " +
                                          std::to_string(max) + ")");
    return std::nullopt;
  }
  return number;
}

bool is_loopback(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

void parse_member(const Json& json, const std::string& pointer, bool allow_remote, ClusterMember& member,
                  Problems& problems) {
  if (!json.is_object()) {
    problems.add(pointer, "must be an object with id, name, role and endpoint");
    return;
  }
  check_keys(json, pointer,
             {"id", "name", "role", "endpoint", "metrics_port", "resources", "labels", "storage"}, problems);
  if (auto id = get_uint(json, "id", pointer, 1'000'000, problems, true)) member.id = static_cast<NodeId>(*id);
  if (auto name = get_string(json, "name", pointer, problems, true)) {
    if (name->empty()) problems.add(pointer + "/name", "must not be empty");
    member.name = *name;
  }
  if (auto role = get_string(json, "role", pointer, problems, true)) {
    if (*role == "head") {
      member.role = MemberRole::kHead;
    } else if (*role == "node") {
      member.role = MemberRole::kNode;
    } else if (*role == "driver") {
      member.role = MemberRole::kDriver;
    } else if (*role == "peer") {
      member.role = MemberRole::kPeer;
    } else {
      problems.add(pointer + "/role", "\"" + *role + "\" is not a role (fix: one of head, node, driver, peer)");
    }
  }
  if (auto endpoint = get_string(json, "endpoint", pointer, problems, true)) {
    const size_t colon = endpoint->rfind(':');
    uint64_t port = 0;
    bool port_ok = colon != std::string::npos && colon + 1 < endpoint->size() && endpoint->size() - colon <= 6;
    if (port_ok) {
      for (size_t i = colon + 1; i < endpoint->size(); ++i) {
        const char c = (*endpoint)[i];
        if (c < '0' || c > '9') port_ok = false;
        port = port * 10 + static_cast<uint64_t>(c - '0');
      }
    }
    if (!port_ok || port == 0 || port > 65535 || colon == 0) {
      problems.add(pointer + "/endpoint", "\"" + *endpoint + "\" is not HOST:PORT (fix: e.g. \"127.0.0.1:7101\")");
    } else {
      member.host = endpoint->substr(0, colon);
      member.port = static_cast<uint16_t>(port);
      if (!allow_remote && !is_loopback(member.host)) {
        problems.add(pointer + "/endpoint", "\"" + member.host +
                                                "\" is not a loopback address (fix: use 127.0.0.1, or set "
                                                "\"allow_remote\": true and an \"auth_token\" to listen beyond it)");
      }
    }
  }
  if (auto metrics_port = get_uint(json, "metrics_port", pointer, 65535, problems, false)) {
    member.metrics_port = static_cast<uint16_t>(*metrics_port);
  }
  if (json.contains("resources")) {
    const Json& resources = json["resources"];
    std::map<std::string, double> amounts;
    if (!resources.is_object()) {
      problems.add(pointer + "/resources", "must be an object of amounts, e.g. {\"CPU\": 4, \"GPU\": 1}");
    } else {
      for (const auto& [name, amount] : resources.items()) {
        if (!amount.is_number()) {
          problems.add(pointer + "/resources/" + name, "must be a number, got " + amount.dump());
        } else {
          amounts[name] = amount.get<double>();
        }
      }
      Result<runtime::ResourceSet> made = runtime::ResourceSet::make(amounts);
      if (made.ok()) {
        member.resources = std::move(made).value();
      } else {
        problems.add(pointer + "/resources", made.error().message);
      }
    }
  }
  if (json.contains("labels")) {
    const Json& labels = json["labels"];
    if (!labels.is_object()) {
      problems.add(pointer + "/labels", "must be an object of strings, e.g. {\"cluster\": \"c1\"}");
    } else {
      for (const auto& [key, value] : labels.items()) {
        if (!value.is_string()) {
          problems.add(pointer + "/labels/" + key, "must be a string, got " + value.dump());
        } else {
          member.labels[key] = value.get<std::string>();
        }
      }
    }
  }
  if (auto storage = get_string(json, "storage", pointer, problems, false)) member.storage = *storage;
}

}  // namespace

const char* to_string(MemberRole role) {
  switch (role) {
    case MemberRole::kHead: return "head";
    case MemberRole::kNode: return "node";
    case MemberRole::kDriver: return "driver";
    case MemberRole::kPeer: return "peer";
  }
  return "?";
}

Result<ClusterFile> ClusterFile::parse(const Json& json) {
  Problems problems;
  ClusterFile file;
  if (!json.is_object()) {
    problems.add("", "the cluster file must be a JSON object with \"members\"");
    return problems.error();
  }
  check_keys(json, "",
             {"storage", "auth_token", "tls", "heartbeat_period_ms", "heartbeat_miss_limit", "allow_remote", "members"},
             problems);
  if (auto storage = get_string(json, "storage", "", problems, false)) file.storage = *storage;
  if (auto token = get_string(json, "auth_token", "", problems, false)) file.auth_token = *token;
  if (json.contains("tls")) {
    const Json& tls = json["tls"];
    if (!tls.is_object()) {
      problems.add("/tls", "must be an object {\"cert\": PATH, \"key\": PATH, \"ca\": PATH} of PEM files");
    } else {
      check_keys(tls, "/tls", {"cert", "key", "ca"}, problems);
      ClusterTls files;
      if (auto cert = get_string(tls, "cert", "/tls", problems, true)) files.cert_path = *cert;
      if (auto key = get_string(tls, "key", "/tls", problems, true)) files.key_path = *key;
      if (auto ca = get_string(tls, "ca", "/tls", problems, true)) files.ca_path = *ca;
      file.tls = files;
    }
  }
  if (auto period = get_uint(json, "heartbeat_period_ms", "", 600'000, problems, false)) {
    if (*period == 0) problems.add("/heartbeat_period_ms", "must be positive (fix: e.g. 500)");
    file.heartbeat_period_ms = static_cast<uint32_t>(*period);
  }
  if (auto limit = get_uint(json, "heartbeat_miss_limit", "", 1000, problems, false)) {
    if (*limit == 0) problems.add("/heartbeat_miss_limit", "must be positive (fix: e.g. 5)");
    file.heartbeat_miss_limit = static_cast<uint32_t>(*limit);
  }
  if (json.contains("allow_remote")) {
    if (!json["allow_remote"].is_boolean()) {
      problems.add("/allow_remote", "must be true or false");
    } else {
      file.allow_remote = json["allow_remote"].get<bool>();
      if (file.allow_remote && file.auth_token.empty()) {
        problems.add("/allow_remote", "listening beyond loopback needs an \"auth_token\" (fix: add one)");
      }
    }
  }
  if (!json.contains("members") || !json["members"].is_array() || json["members"].empty()) {
    problems.add("/members", "must be a non-empty array of members (one head, some nodes)");
    return problems.error();
  }
  std::set<NodeId> ids;
  std::set<std::string> names;
  std::set<std::string> endpoints;
  size_t heads = 0;
  for (size_t i = 0; i < json["members"].size(); ++i) {
    const std::string pointer = "/members/" + std::to_string(i);
    ClusterMember member;
    parse_member(json["members"][i], pointer, file.allow_remote, member, problems);
    if (member.id != kNoNode && !ids.insert(member.id).second) {
      problems.add(pointer + "/id", std::to_string(member.id) + " is used twice (fix: ids must be unique)");
    }
    if (!member.name.empty() && !names.insert(member.name).second) {
      problems.add(pointer + "/name", "\"" + member.name + "\" is used twice (fix: names must be unique)");
    }
    if (member.port != 0 && !endpoints.insert(member.endpoint()).second) {
      problems.add(pointer + "/endpoint", member.endpoint() + " is used twice (fix: one endpoint per member)");
    }
    if (member.role == MemberRole::kHead) ++heads;
    file.members.push_back(std::move(member));
  }
  if (heads != 1) {
    problems.add("/members", "has " + std::to_string(heads) + " heads (fix: exactly one member with \"role\": \"head\")");
  }
  if (!problems.empty()) return problems.error();
  return file;
}

Result<ClusterFile> ClusterFile::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error(Errc::kNotFound, "cannot open the cluster file " + path);
  Json json;
  try {
    in >> json;
  } catch (const Json::parse_error& error) {
    return make_error(Errc::kInvalidArgument, path + " is not valid JSON: " + error.what());
  }
  Result<ClusterFile> file = parse(json);
  if (!file.ok()) return make_error(file.code(), path + ": " + file.error().message);
  return file;
}

Json ClusterFile::to_json() const {
  Json json;
  json["storage"] = storage;
  if (!auth_token.empty()) json["auth_token"] = auth_token;
  if (tls) json["tls"] = {{"cert", tls->cert_path}, {"key", tls->key_path}, {"ca", tls->ca_path}};
  json["heartbeat_period_ms"] = heartbeat_period_ms;
  json["heartbeat_miss_limit"] = heartbeat_miss_limit;
  if (allow_remote) json["allow_remote"] = true;
  json["members"] = Json::array();
  for (const ClusterMember& member : members) {
    Json entry;
    entry["id"] = member.id;
    entry["name"] = member.name;
    entry["role"] = to_string(member.role);
    entry["endpoint"] = member.endpoint();
    if (member.metrics_port != 0) entry["metrics_port"] = member.metrics_port;
    if (!member.resources.empty()) {
      Json resources = Json::object();
      for (const auto& [name, units] : member.resources.all_units()) resources[name] = member.resources.get(name);
      entry["resources"] = resources;
    }
    if (!member.labels.empty()) entry["labels"] = member.labels;
    if (!member.storage.empty()) entry["storage"] = member.storage;
    json["members"].push_back(entry);
  }
  return json;
}

Status ClusterFile::save(const std::string& path) const {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    if (!out) return make_error(Errc::kStorageFailure, "cannot write " + temporary);
    out << to_json().dump(2) << "\n";
    if (!out.flush()) return make_error(Errc::kStorageFailure, "cannot write " + temporary);
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    return make_error(Errc::kStorageFailure, "cannot rename " + temporary + " to " + path);
  }
  return {};
}

const ClusterMember* ClusterFile::find(NodeId id) const {
  for (const ClusterMember& member : members) {
    if (member.id == id) return &member;
  }
  return nullptr;
}

const ClusterMember* ClusterFile::find(std::string_view name) const {
  for (const ClusterMember& member : members) {
    if (member.name == name) return &member;
  }
  return nullptr;
}

const ClusterMember& ClusterFile::head() const {
  for (const ClusterMember& member : members) {
    if (member.role == MemberRole::kHead) return member;
  }
  TANDEM_CHECK(false, "a parsed cluster file has a head");
  return members.front();
}

}  // namespace tandem::real
