// Task, Scope, sleep, Event, when_all/when_any/with_timeout on a simulated clock.
#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>
#include <vector>

#include "core/async/scope.h"
#include "core/async/sleep.h"
#include "core/async/when.h"
#include "tests/support/sim_fixture.h"

namespace tandem {
namespace {

using testing::SimFixture;

Task<int> add_later(Clock& clock, int a, int b, Duration delay) {
  co_await sleep(clock, delay);
  co_return a + b;
}

Task<int> fail_later(Clock& clock, Duration delay) {
  co_await sleep(clock, delay);
  throw std::runtime_error("boom");
}

struct DestructionFlag {
  bool* destroyed;
  ~DestructionFlag() { *destroyed = true; }
};

TEST_CASE("Task: a spawned task runs at once until its first suspension") {
  SimFixture t(1);
  int stage = 0;
  t.spawn(0, [&](Env& env) -> Task<void> {
    return [](Env& env, int& stage) -> Task<void> {
      stage = 1;
      co_await sleep(env.clock, 5ms);
      stage = 2;
    }(env, stage);
  });
  CHECK(stage == 1);
  t.world.run_for(4ms);
  CHECK(stage == 1);
  t.world.run_for(1ms);
  CHECK(stage == 2);
  CHECK(t.scope(0).size() == 0);
}

TEST_CASE("Task: a child's value and exception reach the awaiting parent") {
  SimFixture t(1);
  int sum = 0;
  std::string caught;
  t.spawn(0, [&](Env& env) -> Task<void> {
    return [](Env& env, int& sum, std::string& caught) -> Task<void> {
      sum = co_await add_later(env.clock, 2, 3, 1ms);
      try {
        co_await fail_later(env.clock, 1ms);
      } catch (const std::runtime_error& e) {
        caught = e.what();
      }
    }(env, sum, caught);
  });
  t.world.run_until_idle();
  CHECK(sum == 5);
  CHECK(caught == "boom");
}

TEST_CASE("Scope: cancelling a task destroys its frame and it never resumes") {
  SimFixture t(1);
  bool destroyed = false;
  bool resumed = false;
  TaskRef task = t.spawn(0, [&](Env& env) -> Task<void> {
    return [](Env& env, bool& destroyed, bool& resumed) -> Task<void> {
      DestructionFlag flag{&destroyed};
      co_await sleep(env.clock, 10ms);
      resumed = true;
    }(env, destroyed, resumed);
  });
  CHECK(task.alive());
  t.world.run_for(5ms);
  t.scope(0).cancel(task);
  CHECK_FALSE(task.alive());
  CHECK(destroyed);
  t.world.run_until_idle();
  CHECK_FALSE(resumed);
  CHECK(t.world.stats().stale_wakeups == 1);
}

TEST_CASE("sleep: wakeups due at the same instant fire in the order they were scheduled") {
  SimFixture t(1);
  std::vector<int> order;
  for (int i = 0; i < 5; ++i) {
    t.spawn(0, [&, i](Env& env) -> Task<void> {
      return [](Env& env, std::vector<int>& order, int i) -> Task<void> {
        co_await sleep(env.clock, 3ms);
        order.push_back(i);
      }(env, order, i);
    });
  }
  t.world.run_until_idle();
  CHECK(order == std::vector<int>{0, 1, 2, 3, 4});
  CHECK(t.world.now() == TimePoint(3ms));
}

TEST_CASE("Event: set() wakes every waiter after the setter yields, in waiting order") {
  SimFixture t(1);
  Event event(t.env(0).clock);
  std::vector<std::string> log;
  for (int i = 0; i < 3; ++i) {
    t.spawn(0, [&, i](Env&) -> Task<void> {
      return [](Event& event, std::vector<std::string>& log, int i) -> Task<void> {
        co_await event.wait();
        log.push_back("waiter" + std::to_string(i));
      }(event, log, i);
    });
  }
  t.spawn(0, [&](Env& env) -> Task<void> {
    return [](Env& env, Event& event, std::vector<std::string>& log) -> Task<void> {
      co_await sleep(env.clock, 1ms);
      event.set();
      log.push_back("setter");
    }(env, event, log);
  });
  t.world.run_until_idle();
  CHECK(log == std::vector<std::string>{"setter", "waiter0", "waiter1", "waiter2"});
}

TEST_CASE("when_all: returns every value in input order after the slowest child") {
  SimFixture t(1);
  std::vector<int> values;
  t.spawn(0, [&](Env& env) -> Task<void> {
    return [](Env& env, std::vector<int>& values) -> Task<void> {
      std::vector<Task<int>> tasks;
      tasks.push_back(add_later(env.clock, 1, 0, 30ms));
      tasks.push_back(add_later(env.clock, 2, 0, 10ms));
      tasks.push_back(add_later(env.clock, 3, 0, 20ms));
      values = co_await when_all(std::move(tasks));
    }(env, values);
  });
  t.world.run_until_idle();
  CHECK(values == std::vector<int>{1, 2, 3});
  CHECK(t.world.now() == TimePoint(30ms));
}

TEST_CASE("when_any: returns the first child to finish and cancels the others") {
  SimFixture t(1);
  size_t winner = 99;
  int value = 0;
  t.spawn(0, [&](Env& env) -> Task<void> {
    return [](Env& env, size_t& winner, int& value) -> Task<void> {
      std::vector<Task<int>> tasks;
      tasks.push_back(add_later(env.clock, 1, 0, 30ms));
      tasks.push_back(add_later(env.clock, 2, 0, 10ms));
      AnyResult<int> result = co_await when_any(std::move(tasks));
      winner = result.index;
      value = result.value;
    }(env, winner, value);
  });
  t.world.run_until_idle();
  CHECK(winner == 1);
  CHECK(value == 2);
  CHECK(t.world.stats().stale_wakeups == 1);  // the loser's timer found its task gone
}

TEST_CASE("with_timeout: gives nullopt when the deadline passes first, the value otherwise") {
  SimFixture t(1);
  std::optional<int> fast;
  std::optional<int> slow = 7;
  t.spawn(0, [&](Env& env) -> Task<void> {
    return [](Env& env, std::optional<int>& fast, std::optional<int>& slow) -> Task<void> {
      fast = co_await with_timeout(env.clock, 10ms, add_later(env.clock, 20, 1, 5ms));
      slow = co_await with_timeout(env.clock, 10ms, add_later(env.clock, 20, 2, 50ms));
    }(env, fast, slow);
  });
  t.world.run_until_idle();
  CHECK(fast == std::optional<int>(21));
  CHECK_FALSE(slow.has_value());
}

TEST_CASE("Scope: destroying a scope cancels children of when_all along with their parent") {
  SimFixture t(1);
  bool finished = false;
  auto scope = std::make_unique<Scope>();
  Env& env = t.env(0);
  scope->spawn([](Env& env, bool& finished) -> Task<void> {
    std::vector<Task<int>> tasks;
    tasks.push_back(add_later(env.clock, 1, 0, 30ms));
    tasks.push_back(add_later(env.clock, 2, 0, 10ms));
    co_await when_all(std::move(tasks));
    finished = true;
  }(env, finished));
  t.world.run_for(15ms);
  scope.reset();
  t.world.run_until_idle();
  CHECK_FALSE(finished);
}

}  // namespace
}  // namespace tandem
