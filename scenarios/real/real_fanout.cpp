// The "fanout" kind on the real world: the strategy fan-out app (core/apps/fanout) on one runtime cluster — the
// service's head node runs `tandem head` (the control store; no resources, so no worker lands there, as in
// sim), each worker node a `tandem node` with the service's worker_cpus — deployed by the driver at deploy_at
// with the same deploy_fanout() as the sim instance (every worker pre-started, Triggers last, retried every
// scenario second up to ten times). Each client node is a FanoutClient in the driver (its own round robin over
// the Triggers, as in sim) on the driver's RuntimeClient, so the same request outcomes, figures and checks
// come out.
//
// Every time of the service (L1 and L2 medians, deadline, hop margin, worker start-up, ejection, the client's
// grace) is divided by the time scale; every time recorded is in scenario time.
#include <algorithm>
#include <map>
#include <memory>
#include <optional>

#include "core/apps/fanout/deploy.h"
#include "scenarios/real/real_service.h"
#include "scenarios/services/fanout.h"

namespace tandem::scenarios::real_world {
namespace {

using namespace std::chrono_literals;

constexpr int kMaxDeployAttempts = 10;  // as the sim instance
constexpr Duration kMinGrace = 5ms;     // one real hop back from the Trigger, however compressed the run

class RealFanout final : public RealService {
 public:
  RealFanout(const Scenario& scenario, const FanoutServiceConfig& config, double time_scale)
      : scenario_(scenario), config_(config), time_scale_(time_scale) {}

  std::vector<GroupPlan> groups() const override {
    GroupPlan group;
    group.name = config_.name;
    group.head = config_.head;
    group.nodes = config_.workers;
    std::vector<NodeId> members{config_.head};
    members.insert(members.end(), config_.workers.begin(), config_.workers.end());
    for (NodeId node : members) {
      // The head runs the control store only: every actor lands on a worker (as the sim instance).
      group.resources[node] =
          node == config_.head ? runtime::ResourceSet{} : runtime::ResourceSet{{"CPU", config_.worker_cpus}};
      group.labels[node] = {{"cluster", scenario_.index.cluster_name(scenario_.index.cluster_of(node))},
                            {"node", scenario_.index.node_name(node)}};
    }
    return {group};
  }

  Status deploy(RealHost& host) override {
    host_ = &host;
    spec_ = config_.spec;
    spec_.l1_time.median = std::max<Duration>(host.scaled(spec_.l1_time.median), 1us);
    spec_.l2_time.median = std::max<Duration>(host.scaled(spec_.l2_time.median), 1us);
    spec_.deadline = host.scaled(spec_.deadline);
    spec_.hop_margin = host.scaled(spec_.hop_margin);
    spec_.worker_startup = host.scaled(spec_.worker_startup);
    spec_.eject_for = host.scaled(spec_.eject_for);
    grace_ = std::max(kMinGrace, host.scaled(kFanoutClientGrace));
    client_eject_for_ = host.scaled(2s);  // FanoutClient's default, as the sim instance uses it
    host.at(config_.deploy_at, [this] { deploy_once(); });
    return {};
  }

  void issue(NodeId client) override {
    reports::RequestLog& requests = host_->record().requests;
    const auto id =
        requests.begin(0, client, TimePoint(host_->scenario_now()), fanout_request_budget(config_.spec));
    ++issued_;
    if (!deployment_) {
      ++tally_.failed;
      ++ended_;
      requests.end(id, Errc::kUnavailable, TimePoint(host_->scenario_now()), 1);
      return;
    }
    std::unique_ptr<apps::FanoutClient>& fanout = clients_[client];
    if (!fanout) {
      fanout = std::make_unique<apps::FanoutClient>(host_->runtime(0), deployment_->triggers, spec_.deadline,
                                                    grace_, client_eject_for_);
    }
    host_->scope().spawn(one_request(*fanout, id, next_time_++));
  }

  void operate(const ServiceOperation&) override {
    TANDEM_CHECK(false, "real_world_problems() refuses operations on a fanout service");
  }

  void kill_actor(const std::string&, size_t span) override { skip_actor_kill(host_->record(), span); }

  bool all_ended() const override { return ended_ == issued_; }

  void finish(reports::RunRecord& record) override {
    tally_.write(record, config_.name, config_.workers.size(), time_scale_);
    record.figures["fanout." + config_.name + ".deploy_attempts"] = static_cast<double>(deploy_attempts_ + 1);
  }

  void stop() override { clients_.clear(); }

  Duration heartbeat_period() const override { return config_.heartbeat; }
  uint32_t heartbeat_miss_limit() const override { return 5; }  // as the sim instance's control store

 private:
  void deploy_once() {
    if (!host_->up(config_.head)) {
      retry_deploy("the head node is down");
      return;
    }
    host_->announce("deploy fanout " + config_.name);
    host_->scope().spawn(run_deploy());
  }

  void retry_deploy(const std::string& why) {
    host_->note(config_.head, "fanout " + config_.name + " deploy: " + why);
    if (++deploy_attempts_ < kMaxDeployAttempts) host_->at(host_->scenario_now() + 1s, [this] { deploy_once(); });
  }

  Task<void> run_deploy() {
    Result<apps::FanoutDeployment> deployed =
        co_await apps::deploy_fanout(host_->runtime(0), spec_, host_->scaled(std::chrono::seconds(60)));
    if (!deployed.ok()) {
      retry_deploy(deployed.error().to_string());
      co_return;
    }
    deployment_ = std::move(deployed).value();
    host_->note(config_.head, "fanout " + config_.name + " deployed: every worker pre-started");
  }

  Task<void> one_request(apps::FanoutClient& client, reports::RequestLog::RequestId id, int64_t time) {
    const apps::FanoutOutcome outcome = co_await client.request(time);
    const Errc code = tally_.add(outcome);
    ++ended_;
    host_->record().requests.end(id, code, TimePoint(host_->scenario_now()), 1);
  }

  const Scenario& scenario_;
  const FanoutServiceConfig& config_;  // scenario times
  double time_scale_;
  RealHost* host_ = nullptr;
  apps::FanoutSpec spec_;  // real times
  Duration grace_{};
  Duration client_eject_for_{};
  std::optional<apps::FanoutDeployment> deployment_;
  std::map<NodeId, std::unique_ptr<apps::FanoutClient>> clients_;  // one per client node, as in sim
  int deploy_attempts_ = 0;
  int64_t next_time_ = 0;
  uint64_t issued_ = 0;
  uint64_t ended_ = 0;
  FanoutTally tally_;  // max_latency in real time
};

}  // namespace

std::unique_ptr<RealService> make_real_fanout(const Scenario& scenario, const ServiceSpec& spec, double time_scale) {
  const FanoutServiceConfig* config = fanout_config(spec);
  TANDEM_CHECK(config != nullptr, "make_real_fanout() of a service that is not of kind fanout");
  return std::make_unique<RealFanout>(scenario, *config, time_scale);
}

}  // namespace tandem::scenarios::real_world
