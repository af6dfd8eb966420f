// open_storage: picks and opens a node's real Storage from a one-line spec (cluster file "storage",
// tandem cluster up --storage).
//
// Accepted specs (`node_name` keeps nodes that share one store apart):
//   sqlite:/path/to/dir                           file <dir>/<node_name>.db (the directory is created)
//   redis://[[user]:password@]host[:port][/prefix]
//                                                 hash "<prefix>:<node_name>"; port 6379, prefix "tandem"
//   mysql://user[:password]@host[:port]/database  table tandem_kv, rows of node <node_name>; port 3306
//   mariadb://...                                 the same as mysql://
// Contract: a malformed spec or node name fails with kInvalidArgument and a message that quotes the spec
// (its password replaced by ***), says what is wrong and lists the accepted forms; a store that cannot be
// reached fails with kStorageFailure; a server not configured for durable writes fails with
// kFailedPrecondition saying which setting to change. Passwords never appear in messages.
// Every store returned is a BatchedStorage (real_backend/storage/batched_storage.h): reads from memory,
// sync() blocks the calling thread for its I/O.
#pragma once

#include <memory>
#include <string_view>

#include "core/common/result.h"
#include "core/env/storage.h"

namespace tandem::real {

inline constexpr std::string_view kStorageSpecForms =
    "sqlite:/path/to/dir, redis://[[user]:password@]host[:port][/prefix], "
    "mysql://user[:password]@host[:port]/database "
    "(or mariadb://...)";

Result<std::unique_ptr<Storage>> open_storage(std::string_view spec, std::string_view node_name);

}  // namespace tandem::real
