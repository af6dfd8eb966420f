// Nemesis: plans are a pure function of the seed; they respect max_concurrent, quiet periods and the window.
#include "fault_injection/nemesis.h"

#include <rapidcheck.h>
#include <rapidcheck/catch.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <set>

#include "tests/support/sim_fixture.h"

namespace tandem::fault_injection {
namespace {

NemesisSpec storm_spec(const std::vector<NodeId>& nodes) {
  NemesisSpec spec;
  spec.start = 2s;
  spec.end = 60s;
  spec.nodes = nodes;
  spec.max_concurrent = 2;
  spec.quiet_every = 10s;
  spec.quiet_for = 3s;
  for (FaultKind kind : {FaultKind::kCrash, FaultKind::kPause, FaultKind::kPartition, FaultKind::kLinkLoss}) {
    NemesisFaultSpec fault;
    fault.parameters.kind = kind;
    fault.parameters.probability = 0.5;
    fault.mean_interval = 1s;
    fault.min_duration = 500ms;
    fault.max_duration = 4s;
    spec.faults.push_back(fault);
  }
  return spec;
}

TEST_CASE("Nemesis: the same seed gives the same plan, another seed another") {
  testing::SimFixture t(6);
  const NemesisSpec spec = storm_spec(t.nodes);
  const NemesisPlan a = plan_nemesis(spec, t.world.network(), Random(5));
  const NemesisPlan b = plan_nemesis(spec, t.world.network(), Random(5));
  const NemesisPlan c = plan_nemesis(spec, t.world.network(), Random(6));
  REQUIRE(a.faults.size() > 5);
  REQUIRE(a.faults.size() == b.faults.size());
  for (size_t i = 0; i < a.faults.size(); ++i) {
    CHECK(a.faults[i].at == b.faults[i].at);
    CHECK(a.faults[i].fault.label == b.faults[i].fault.label);
  }
  bool differs = c.faults.size() != a.faults.size();
  for (size_t i = 0; !differs && i < a.faults.size(); ++i) differs = a.faults[i].at != c.faults[i].at;
  CHECK(differs);
}

TEST_CASE("Nemesis: plans respect the window, quiet periods and max_concurrent (property)") {
  rc::prop("bounded plans", [](uint64_t seed, bool swarm) {
    testing::SimFixture t(5);
    NemesisSpec spec = storm_spec(t.nodes);
    spec.swarm = swarm;
    spec.max_concurrent = *rc::gen::inRange<uint32_t>(1, 4);
    const NemesisPlan plan = plan_nemesis(spec, t.world.network(), Random(seed));
    RC_ASSERT(!plan.enabled.empty());
    for (size_t i = 0; i < plan.faults.size(); ++i) {
      const PlannedFault& fault = plan.faults[i];
      RC_ASSERT(fault.at >= spec.start);
      RC_ASSERT(fault.at + fault.duration <= spec.end);
      RC_ASSERT(std::find(plan.enabled.begin(), plan.enabled.end(), fault.fault.kind) != plan.enabled.end());
      // Quiet: the last 3s of every 10s period (from start) hold no fault.
      const Duration offset = fault.at - spec.start;
      const Duration quiet_start = spec.start + (offset / spec.quiet_every) * spec.quiet_every + 7s;
      RC_ASSERT(fault.at + fault.duration <= quiet_start);
      size_t overlapping = 0;
      for (const PlannedFault& other : plan.faults) {
        if (other.at <= fault.at && other.at + other.duration > fault.at) ++overlapping;
      }
      RC_ASSERT(overlapping <= spec.max_concurrent);
    }
  });
}

TEST_CASE("Nemesis: swarm mode enables a different mix of fault kinds across seeds") {
  testing::SimFixture t(6);
  NemesisSpec spec = storm_spec(t.nodes);
  spec.swarm = true;
  std::set<std::vector<FaultKind>> mixes;
  for (uint64_t seed = 1; seed <= 20; ++seed)
    mixes.insert(plan_nemesis(spec, t.world.network(), Random(seed)).enabled);
  CHECK(mixes.size() > 3);
}

}  // namespace
}  // namespace tandem::fault_injection
