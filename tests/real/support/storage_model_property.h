// A RapidCheck property for any real store: a random sequence of put / erase / sync / reopen behaves like a
// model that keeps what is visible and what is durable. After every step the store reads exactly the visible
// model; a reopen (store destroyed, opened again) reads exactly the durable model — real stores drop writes
// not yet synced when they close (real_backend/storage/batched_storage.h).
#pragma once

#include <rapidcheck.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/env/storage.h"
#include "tests/real/support/run_sync.h"

namespace tandem::testing {

struct StoreOp {
  enum Kind { kPut, kErase, kSync, kReopen } kind = kPut;
  std::string key;
  Bytes value;
};

inline std::ostream& operator<<(std::ostream& out, const StoreOp& op) {
  static constexpr const char* kNames[] = {"put", "erase", "sync", "reopen"};
  out << kNames[op.kind];
  if (op.kind == StoreOp::kPut || op.kind == StoreOp::kErase) out << " key(" << op.key.size() << " bytes)";
  return out;
}

inline rc::Gen<StoreOp> store_op_gen() {
  using namespace std::string_literals;
  // Few keys, so puts, erases and overwrites hit the same keys; binary ones to test ordering.
  const std::vector<std::string> keys = {""s, "a"s, "ab"s, "b"s, "b\0"s, "b\0c"s, "\x7f"s, "\x80"s, "\xff"s};
  return rc::gen::oneOf(
      rc::gen::build<StoreOp>(
          rc::gen::set(&StoreOp::kind, rc::gen::just(StoreOp::kPut)),
          rc::gen::set(&StoreOp::key, rc::gen::elementOf(keys)),
          rc::gen::set(&StoreOp::value, rc::gen::container<std::string>(rc::gen::arbitrary<char>()))),
      rc::gen::build<StoreOp>(rc::gen::set(&StoreOp::kind, rc::gen::just(StoreOp::kErase)),
                              rc::gen::set(&StoreOp::key, rc::gen::elementOf(keys))),
      rc::gen::build<StoreOp>(rc::gen::set(&StoreOp::kind, rc::gen::just(StoreOp::kSync))),
      rc::gen::build<StoreOp>(rc::gen::set(&StoreOp::kind, rc::gen::just(StoreOp::kReopen))));
}

// `open(node)` opens the store of `node`; each property run uses a fresh node name so runs do not interfere.
inline void check_store_model(const std::function<std::unique_ptr<Storage>(const std::string&)>& open) {
  static int run = 0;
  const std::string node = "prop-" + std::to_string(run++);
  const auto ops = *rc::gen::resize(30, rc::gen::container<std::vector<StoreOp>>(store_op_gen()));
  std::map<std::string, Bytes> visible;
  std::map<std::string, Bytes> durable;
  auto as_vector = [](const std::map<std::string, Bytes>& model) {
    return std::vector<std::pair<std::string, Bytes>>(model.begin(), model.end());
  };
  std::unique_ptr<Storage> store = open(node);
  RC_ASSERT(store != nullptr);
  RC_ASSERT(store->scan("").empty());
  for (const StoreOp& op : ops) {
    switch (op.kind) {
      case StoreOp::kPut:
        store->put(op.key, op.value);
        visible[op.key] = op.value;
        break;
      case StoreOp::kErase:
        store->erase(op.key);
        visible.erase(op.key);
        break;
      case StoreOp::kSync:
        RC_ASSERT(run_sync(*store).ok());
        durable = visible;
        break;
      case StoreOp::kReopen:
        store.reset();
        store = open(node);
        RC_ASSERT(store != nullptr);
        visible = durable;
        break;
    }
    RC_ASSERT(store->scan("") == as_vector(visible));
    if (op.kind == StoreOp::kPut || op.kind == StoreOp::kErase) {
      const auto got = store->get(op.key);
      RC_ASSERT(got.has_value() == (visible.count(op.key) == 1));
      std::map<std::string, Bytes> with_prefix;
      for (const auto& [key, value] : visible) {
        if (key.starts_with(op.key)) with_prefix.emplace(key, value);
      }
      RC_ASSERT(store->scan(op.key) == as_vector(with_prefix));
    }
  }
}

}  // namespace tandem::testing
