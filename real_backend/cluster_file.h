// ClusterFile: what a real cluster is made of — one JSON file every process of the cluster reads.
//
//   {
//     "storage": "sqlite:/var/lib/tandem",          // default state store of every member (real_backend/storage)
//     "auth_token": "s3cret",                       // optional: required on every link and admin call
//     "tls": {"cert": "c.pem", "key": "k.pem", "ca": "ca.pem"},  // optional: gRPC SSL on every link
//     "heartbeat_period_ms": 500, "heartbeat_miss_limit": 5,
//     "members": [
//       {"id": 0, "name": "head", "role": "head", "endpoint": "127.0.0.1:7100", "metrics_port": 9100},
//       {"id": 1, "name": "n1", "role": "node", "endpoint": "127.0.0.1:7101",
//        "resources": {"CPU": 4, "GPU": 2}, "labels": {"cluster": "c1", "zone": "a"}},
//       {"id": 100, "name": "driver", "role": "driver", "endpoint": "127.0.0.1:7200"}
//     ]
//   }
//
// Contract: parse() validates everything before any process starts and names each problem by its JSON pointer
// with how to fix it (unknown keys, wrong types, duplicate ids, names or endpoints, exactly one head, a
// non-loopback endpoint without "allow_remote": true). Member ids are the NodeIds of the runtime; every member
// knows every other's endpoint from this file (there is no other discovery of peers), so a driver that talks to
// the cluster is listed too, and so is every process of another cluster it exchanges messages with, as a "peer"
// (a head or node of that cluster's own file: several clusters on one machine, e.g. a scenario's serving
// clusters and its discovery node, each with its own head and file, every file listing all of them). The file is immutable once the cluster runs: a restarted process reads it again and
// comes back on the same endpoint.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/common/result.h"
#include "core/env/transport.h"
#include "core/runtime/labels.h"
#include "core/runtime/resources.h"

namespace tandem::real {

// kPeer: a process of another cluster (its endpoint only; nothing of this cluster runs there).
enum class MemberRole : uint8_t { kHead, kNode, kDriver, kPeer };
const char* to_string(MemberRole role);

struct ClusterMember {
  NodeId id = kNoNode;
  std::string name;
  MemberRole role = MemberRole::kNode;
  std::string host;  // "127.0.0.1"
  uint16_t port = 0;
  uint16_t metrics_port = 0;  // 0: no /metrics endpoint
  runtime::ResourceSet resources;
  runtime::NodeLabels labels;
  std::string storage;  // empty: the cluster's

  std::string endpoint() const { return host + ":" + std::to_string(port); }
};

// PEM files every member presents (cert, key) and checks its peers against (ca).
struct ClusterTls {
  std::string cert_path;
  std::string key_path;
  std::string ca_path;
};

struct ClusterFile {
  std::string storage = "sqlite:.";
  std::string auth_token;
  std::optional<ClusterTls> tls;
  uint32_t heartbeat_period_ms = 1000;
  uint32_t heartbeat_miss_limit = 5;
  bool allow_remote = false;
  std::vector<ClusterMember> members;  // in file order

  // Every problem found, each "/members/2/endpoint: ... (fix: ...)"; ok when there are none.
  static Result<ClusterFile> parse(const nlohmann::json& json);
  static Result<ClusterFile> load(const std::string& path);
  nlohmann::json to_json() const;
  Status save(const std::string& path) const;

  const ClusterMember* find(NodeId id) const;
  const ClusterMember* find(std::string_view name) const;
  const ClusterMember& head() const;  // parse() guarantees exactly one
  std::string storage_of(const ClusterMember& member) const {
    return member.storage.empty() ? storage : member.storage;
  }
};

}  // namespace tandem::real
