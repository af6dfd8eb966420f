// run_sync: runs a Storage's sync() to completion from plain test code. Real stores complete sync() without
// suspending (real_backend/storage/batched_storage.h), so spawning it as a root task finishes it at once.
#pragma once

#include <optional>

#include "core/async/scope.h"
#include "core/async/task.h"
#include "core/common/check.h"
#include "core/env/storage.h"

namespace tandem::testing {

inline Status run_sync(Storage& storage) {
  std::optional<Status> status;
  Scope scope;
  scope.spawn([](Storage& store, std::optional<Status>& out) -> Task<void> { out = co_await store.sync(); }(
                                                                 storage, status));
  TANDEM_CHECK(status.has_value(), "a real store's sync() suspended; run it on an event loop instead");
  return *status;
}

}  // namespace tandem::testing
