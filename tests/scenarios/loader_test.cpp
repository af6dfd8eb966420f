// The scenario loader refuses bad files before anything runs, naming each problem's JSON pointer and the fix.
#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <string>

#include "scenarios/scenario.h"
#include "tests/scenarios/scenario_test_support.h"

namespace tandem::scenarios {
namespace {

using testing::problems_of;
using testing::problems_of_text;
using testing::tiny_scenario;
using Problems = std::vector<std::string>;

TEST_CASE("Loader: the tiny scenario loads and resolves targets to the world's node ids") {
  LoadResult loaded = load_scenario_json(tiny_scenario());
  REQUIRE(loaded.problems.to_string() == "");
  const Scenario& scenario = *loaded.scenario;
  CHECK(scenario.name == "tiny");
  CHECK(scenario.seed == 7);
  CHECK(scenario.duration == std::chrono::seconds(4));
  CHECK(scenario.index.node_names() == std::vector<std::string>{"east-a/server0", "east-a/server1",
                                                                "east-a/client0", "east-a/client1",
                                                                "west-a/server0", "west-a/client0"});
  REQUIRE(scenario.events.size() == 1);
  CHECK(scenario.events[0].fault.nodes == std::vector<NodeId>{0});
  CHECK(scenario.events[0].fault.label == "crash east-a/server0");
  CHECK(scenario.services[0]->clients() == std::vector<NodeId>{2, 3, 5});
  CHECK(scenario.drain() == std::chrono::milliseconds(1200));  // 2 attempts x 100ms + 1s
  CHECK(scenario.expect.no_lost_requests);
}

TEST_CASE("Loader: a wrong type names the pointer, what was expected and what was found") {
  Json doc = tiny_scenario();
  doc["seed"] = "one";
  CHECK(problems_of(doc) == Problems{"/seed: expected a non-negative whole number, got the string \"one\""});
  doc = tiny_scenario();
  doc["duration"] = 30;
  CHECK(problems_of(doc) == Problems{"/duration: expected a duration string such as \"5s\" or \"250ms\", got "
                                     "the number 30; write it with a "
                                     "unit, e.g. \"30s\""});
  doc = tiny_scenario();
  doc["services"] = {{"kind", "rpc"}};
  CHECK(problems_of(doc) == Problems{"/services: expected an array of services, got an object"});
  doc = tiny_scenario();
  doc["topology"]["clusters"][0]["nodes"][0]["count"] = 2.5;
  CHECK(problems_of(doc) ==
        Problems{"/topology/clusters/0/nodes/0/count: expected a whole number, got the number 2.5"});
}

TEST_CASE("Loader: an unknown key is refused, with a did-you-mean when one is close") {
  Json doc = tiny_scenario();
  doc["descripton"] = "typo";
  CHECK(problems_of(doc) == Problems{"/descripton: unknown key \"descripton\" at the top level of a "
                                     "scenario; did you mean \"description\"?"});
  doc = tiny_scenario();
  doc["services"][0]["dedline"] = "1s";
  CHECK(problems_of(doc) == Problems{"/services/0/dedline: unknown key \"dedline\" for service kind \"rpc\"; "
                                     "did you mean \"deadline\"?"});
  doc = tiny_scenario();
  doc["events"][0]["colour"] = "red";
  CHECK(problems_of(doc) ==
        Problems{"/events/0/colour: unknown key \"colour\" for fault \"crash\"; the keys allowed here "
                 "are at, fault, for, target"});
}

TEST_CASE("Loader: a missing required field says what to give") {
  Json doc = tiny_scenario();
  doc.erase("name");
  CHECK(problems_of(doc) ==
        Problems{"/name: missing; give the scenario a short name, e.g. \"cluster-outage\""});
  doc = tiny_scenario();
  doc["events"][0].erase("target");
  CHECK(problems_of(doc) == Problems{"/events/0/target: missing; name a node (\"east-a/server0\"), a "
                                     "cluster, a region, a glob or \"*\""});
  doc = tiny_scenario();
  doc["workload"][0].erase("rate");
  CHECK(problems_of(doc) == Problems{"/workload/0/rate: missing; give the requests per second, e.g. 200"});
}

TEST_CASE("Loader: a service name that breaks the naming rule or is taken twice is refused") {
  Json doc = tiny_scenario();
  doc["services"][0]["name"] = "Echo!";
  Problems problems = problems_of(doc);
  REQUIRE_FALSE(problems.empty());
  CHECK(problems[0] == std::string("/services/0/name: \"Echo!\" is not a valid name; ") + kNameRule);
  // The service's other keys are not reported as unknown (only references to the service may follow).
  for (const std::string& problem : problems) CHECK(problem.find("unknown key") == std::string::npos);
  // The workload's reference to the refused service does not list the refused entry as an empty name.
  CHECK(problems == Problems{problems[0], "/workload/0/service: no service named \"echo\"; services: (none)"});
  doc = tiny_scenario();
  doc["services"].push_back(doc["services"][0]);
  CHECK(problems_of(doc) ==
        Problems{"/services/1/name: service \"echo\" is defined twice; service names must be unique"});
}

TEST_CASE("Loader: negative durations are refused") {
  Json doc = tiny_scenario();
  doc["events"][0]["for"] = "-5s";
  CHECK(problems_of(doc) ==
        Problems{"/events/0/for: \"-5s\" is negative; durations here must be zero or more"});
  doc = tiny_scenario();
  doc["services"][0]["deadline"] = "-1ms";
  CHECK(problems_of(doc) ==
        Problems{"/services/0/deadline: \"-1ms\" is negative; durations here must be zero or more"});
}

TEST_CASE("Loader: an unknown target lists what exists") {
  Json doc = tiny_scenario();
  doc["events"][0]["target"] = "east-c/server9";
  CHECK(problems_of(doc) ==
        Problems{
            "/events/0/target: no node or cluster named \"east-c/server9\"; known clusters: east-a, west-a"});
  doc["events"][0]["target"] = "east-a/server9";
  CHECK(problems_of(doc) ==
        Problems{"/events/0/target: cluster \"east-a\" has no node \"server9\"; its nodes are "
                 "server0..server1, client0..client1"});
  doc["events"][0]["target"] = "north";
  CHECK(problems_of(doc) ==
        Problems{"/events/0/target: no node, cluster or region named \"north\"; known clusters: "
                 "east-a, west-a; known regions: east, west"});
  doc = tiny_scenario();
  doc["services"][0]["servers"] = "sever";
  CHECK(problems_of(doc) == Problems{"/services/0/servers: no node group named \"sever\" in any cluster; did "
                                     "you mean \"server\"? Groups: "
                                     "client, server"});
}

TEST_CASE("Loader: absurdly large numbers are refused") {
  Json doc = tiny_scenario();
  doc["workload"][0]["rate"] = 1e12;
  CHECK(problems_of(doc) ==
        Problems{"/workload/0/rate: 1000000000000 is too large; give a value from 0 to 1000000 "
                 "requests per second"});
  doc = tiny_scenario();
  doc["duration"] = "100000h";
  CHECK(problems_of(doc) ==
        Problems{"/duration: \"100000h\" is too long; a duration may be at most 8760h (a year)"});
  doc = tiny_scenario();
  doc["duration"] = "1000h";
  CHECK(problems_of(doc) == Problems{"/duration: 1000h is too long; a run may simulate at most 168h"});
  doc = tiny_scenario();
  doc["topology"]["clusters"][0]["nodes"][0]["count"] = 1000000000;
  CHECK(problems_of(doc) ==
        Problems{"/topology/clusters/0/nodes/0/count: 1000000000 is too large; give a value from 1 "
                 "to 100000 nodes"});
  doc = tiny_scenario();
  doc["seed"] = -3;
  CHECK(problems_of(doc) == Problems{"/seed: expected a non-negative whole number, got the number -3"});
  doc = tiny_scenario();
  doc["duration"] = "100h";
  doc["workload"][0]["rate"] = 1000000;
  CHECK(problems_of(doc) ==
        Problems{"/workload: the workload would issue about 360000000000 requests; a run may issue "
                 "at most 50000000; lower the rates or shorten the duration"});
}

TEST_CASE("Loader: every problem in a file is reported at once") {
  Json doc = tiny_scenario();
  doc["seed"] = "x";
  doc["events"][0]["for"] = "soon";
  doc["workload"][0]["shape"] = "constnat";
  doc["expect"]["latency"] = {{"p99", "1s"}, {"q50", "1s"}};
  CHECK(problems_of(doc) == Problems{"/seed: expected a non-negative whole number, got the string \"x\"",
                                     "/workload/0/shape: unknown shape \"constnat\"; did you mean "
                                     "\"constant\"? Shapes: constant, step, ramp, "
                                     "diurnal, burst, replay",
                                     "/events/0/for: \"soon\" is not a duration; write a number with a unit, "
                                     "such as \"250ms\", \"10s\", "
                                     "\"5m\" or \"1h30m\"",
                                     "/expect/latency/q50: unknown latency key \"q50\"; did you mean "
                                     "\"p50\"? Use p<percentile> (p50, p99, "
                                     "p99.9) or max"});
}

TEST_CASE("Loader: invalid JSON and duplicate keys are refused with where they are") {
  const Problems bad = problems_of_text("{\"name\": }");
  REQUIRE(bad.size() == 1);
  CHECK(bad[0].rfind("(document): not valid JSON: parse error at line 1, column 10: ", 0) == 0);
  std::string text = tiny_scenario().dump();
  text.insert(1, "\"seed\": 1, ");
  CHECK(
      problems_of_text(text) ==
      Problems{"/seed: this key appears twice in the same object; JSON keeps only the last, so remove one"});
}

TEST_CASE("Loader: times that contradict the run are refused") {
  Json doc = tiny_scenario();
  doc["events"][0]["at"] = "10s";
  CHECK(problems_of(doc) ==
        Problems{"/events/0/at: 10s is at or after the end of the run (duration 4s); move it earlier "
                 "or lengthen the run"});
  doc = tiny_scenario();
  doc["liveness"] = {{"heal_at", "500ms"}, {"within", "1s"}};
  CHECK(problems_of(doc) ==
        Problems{"/events/0/at: a fault at 1s comes after liveness.heal_at (500ms), when everything "
                 "must stay healed; move it before the heal"});
  doc = tiny_scenario();
  doc["liveness"] = {{"heal_at", "3s"}, {"within", "1s"}};
  CHECK(problems_of(doc) ==
        Problems{"/liveness/heal_at: healing at 3s and converging within 1s (plus one 1s window to "
                 "observe it) needs the run to last until 5s, but the duration is 4s; heal earlier "
                 "or lengthen the run"});
}

TEST_CASE("Loader: faults with impossible targets are refused") {
  Json doc = tiny_scenario();
  doc["events"][0] = {
      {"at", "1s"}, {"fault", "partition"}, {"sides", {{"east-a"}, {"east-a/server0", "west-a"}}}};
  CHECK(problems_of(doc) ==
        Problems{"/events/0/sides: node east-a/server0 is on both sides; a node can only be on one "
                 "side of a partition"});
  doc["events"][0] = {{"at", "1s"}, {"fault", "kill_actor"}, {"target", "appmaster"}};
  CHECK(problems_of(doc) ==
        Problems{"/events/0/fault: fault \"kill_actor\" needs the actor runtime, which no service kind "
                 "in this scenario runs yet; use crash or pause on the actor's node"});
  doc["events"][0] = {{"at", "1s"}, {"fault", "clog"}, {"from", "east-a"}, {"to", "west-a"}};
  CHECK(problems_of(doc) ==
        Problems{"/events/0/for: missing; a clog holds messages until it ends; give how long, e.g. \"2s\""});
  doc["events"][0] = {{"at", "1s"}, {"fault", "crush"}, {"target", "east-a"}};
  const Problems crush = problems_of(doc);
  REQUIRE(crush.size() == 1);
  CHECK(crush[0].rfind(
            "/events/0/fault: unknown fault \"crush\"; did you mean \"crash\"? Faults: crash, pause,", 0) ==
        0);
  doc["events"][0] = {{"at", "1s"}, {"fault", "wan_cut"}, {"between", {"east", "east"}}};
  CHECK(problems_of(doc) ==
        Problems{"/events/0/between: there is no WAN link between \"east\" and \"east\" to cut"});
}

TEST_CASE("Loader: an unknown service kind, and serving checks without a serving service, say why") {
  Json doc = tiny_scenario();
  doc["services"][0]["kind"] = "serfing";
  CHECK(problems_of(doc).at(0).rfind("/services/0/kind: unknown service kind \"serfing\"; did you mean \"serving\"?",
                                     0) == 0);
  doc = tiny_scenario();
  doc["expect"]["serving"] = {{"single_acting_appmaster", true}};
  CHECK(problems_of(doc) ==
        Problems{"/expect/serving/single_acting_appmaster: needs a service of kind \"serving\", and "
                 "this scenario has none; add one or remove it"});
}

TEST_CASE("Loader: a replay log is read, and its errors name the line") {
  const std::string path = "/tmp/tandem_loader_test_replay.log";
  {
    std::ofstream log(path);
    log << "# seconds,cluster\n0.5\n1.0,west-a\n1.5,nowhere\n";
  }
  Json doc = tiny_scenario();
  doc["workload"][0] = {{"service", "echo"}, {"shape", "replay"}, {"file", path}};
  CHECK(problems_of(doc) ==
        Problems{"/workload/0/file: replay log \"" + path +
                 "\" line 4: no cluster named \"nowhere\"; known clusters: east-a, west-a"});
  {
    std::ofstream log(path);
    log << "0.5\n1.0,west-a\n2.0\n";
  }
  LoadResult loaded = load_scenario_json(doc);
  REQUIRE(loaded.ok());
  CHECK(loaded.scenario->workload[0].replay.size() == 3);
  CHECK(loaded.scenario->workload[0].replay[1].cluster == std::optional<sim::ClusterId>(1));
  std::remove(path.c_str());
}

}  // namespace
}  // namespace tandem::scenarios
