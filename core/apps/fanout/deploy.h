// Deploying and calling the fan-out app: deploy_fanout() plays the seed's AppMaster for it (create every
// worker, wait until each is ALIVE — pre-started — and only then the Triggers), FanoutClient is the caller
// that sends the RPC to a Trigger and classifies the answer.
//
// Contract:
// - deploy_fanout refuses an invalid spec (FanoutSpec::validate) before it creates anything. It creates
//   detached, named actors ("fanout/<name>/l2/<i>", ...) with max_restarts = -1, spread over the nodes that
//   match spec.labels, bottom level first; it returns once every worker is ALIVE or with the first error.
// - FanoutClient::request always ends by the deadline plus `grace` (one hop): kOk with a complete reply, kOk
//   with a partial reply (complete = false and the reply's error says what is missing), or an explicit
//   error (the Trigger did not answer: its node died). Triggers take requests round robin; one that failed
//   is skipped for eject_for (a Dispatcher), so a dead Trigger costs the requests in flight to it, not more.
#pragma once

#include <cstdint>
#include <vector>

#include "core/apps/fanout/dispatcher.h"
#include "core/apps/fanout/fanout_spec.h"
#include "core/runtime/runtime_client.h"

namespace tandem::apps {

struct FanoutDeployment {
  std::vector<runtime::ActorRef> triggers;
  std::vector<runtime::ActorRef> l1;
  std::vector<runtime::ActorRef> l2;
};

Task<Result<FanoutDeployment>> deploy_fanout(runtime::RuntimeClient& client, FanoutSpec spec,
                                             Duration ready_timeout = std::chrono::seconds(60));

// How one request ended, as the caller saw it.
struct FanoutOutcome {
  uint64_t id = 0;
  int64_t time = 0;  // what was asked for
  TimePoint start{};
  TimePoint end{};
  Errc code = Errc::kOk;  // kOk: a reply (complete or partial); else no reply
  std::string error;
  FanoutReply reply;
  bool complete() const { return code == Errc::kOk && reply.complete; }
  Duration latency() const { return end - start; }
};

class FanoutClient {
 public:
  FanoutClient(runtime::RuntimeClient& client, std::vector<runtime::ActorRef> triggers, Duration deadline,
               Duration grace = std::chrono::milliseconds(20), Duration eject_for = std::chrono::seconds(2))
      : client_(client),
        triggers_(client, client.env().clock, std::move(triggers), eject_for, 2),
        deadline_(deadline),
        grace_(grace) {}

  Task<FanoutOutcome> request(int64_t time);
  uint64_t ejections() const { return triggers_.ejections(); }

 private:
  runtime::RuntimeClient& client_;
  Dispatcher triggers_;
  Duration deadline_;
  Duration grace_;
  uint64_t next_ = 0;
};

}  // namespace tandem::apps
