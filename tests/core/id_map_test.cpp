// IdMap: lookups, removal with backward shift, growth, and objects that never move.
#include "core/common/id_map.h"

#include <catch2/catch.hpp>
#include <rapidcheck.h>
#include <rapidcheck/catch.h>

#include <map>
#include <vector>

namespace tandem {
namespace {

TEST_CASE("IdMap: finds what was inserted, forgets what was extracted, and keeps each object where it is") {
  IdMap<int> map;
  CHECK(map.empty());
  CHECK(map.find(7) == nullptr);
  CHECK(map.find(0) == nullptr);  // 0 marks an empty slot and is never stored
  int& seven = map.insert(7, std::make_unique<int>(70));
  // Enough ids to grow the table several times over: the object of id 7 stays put.
  for (uint64_t id = 100; id < 1'100; ++id) map.insert(id, std::make_unique<int>(static_cast<int>(id)));
  CHECK(map.size() == 1'001);
  CHECK(map.find(7) == &seven);
  CHECK(map.at(555) == 555);
  CHECK(map.contains(1'099));
  CHECK_FALSE(map.contains(1'100));

  std::unique_ptr<int> taken = map.extract(7);
  REQUIRE(taken != nullptr);
  CHECK(taken.get() == &seven);
  CHECK(map.extract(7) == nullptr);
  CHECK_FALSE(map.erase(7));
  CHECK(map.erase(100));
  CHECK(map.size() == 999);

  uint64_t visited = 0;
  uint64_t id_sum = 0;
  map.for_each([&](uint64_t id, const int& value) {
    ++visited;
    id_sum += id;
    CHECK(value == static_cast<int>(id));
  });
  CHECK(visited == 999);
  CHECK(id_sum == (101 + 1'099) * 999 / 2);
}

TEST_CASE("Property: IdMap agrees with std::map under any sequence of inserts and removals") {
  rc::prop("same contents", [](const std::vector<std::pair<bool, uint8_t>>& operations) {
    IdMap<uint64_t> map;
    std::map<uint64_t, uint64_t> model;
    std::map<uint64_t, const uint64_t*> addresses;
    for (const auto& [insert, small_id] : operations) {
      // Few distinct ids, spread over the table, so probe runs collide, wrap and get shifted back.
      const uint64_t id = 1 + (small_id % 48) * 0x9E3779B97F4A7C15ULL;
      if (insert && model.count(id) == 0) {
        addresses[id] = &map.insert(id, std::make_unique<uint64_t>(id * 3));
        model[id] = id * 3;
      } else if (!insert) {
        std::unique_ptr<uint64_t> taken = map.extract(id);
        RC_ASSERT((taken != nullptr) == (model.count(id) > 0));
        model.erase(id);
        addresses.erase(id);
      }
      RC_ASSERT(map.size() == model.size());
    }
    for (uint64_t small_id = 0; small_id < 48; ++small_id) {
      const uint64_t id = 1 + small_id * 0x9E3779B97F4A7C15ULL;
      const uint64_t* found = map.find(id);
      RC_ASSERT((found != nullptr) == (model.count(id) > 0));
      if (found != nullptr) {
        RC_ASSERT(*found == model.at(id));
        RC_ASSERT(found == addresses.at(id));  // never moved by growth or by another id's removal
      }
    }
    size_t visited = 0;
    map.for_each([&](uint64_t id, const uint64_t& value) {
      ++visited;
      RC_ASSERT(model.count(id) == 1);
      RC_ASSERT(value == model.at(id));
    });
    RC_ASSERT(visited == model.size());
  });
}

}  // namespace
}  // namespace tandem
