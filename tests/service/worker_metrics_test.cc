// `minion worker --metrics-listen` as a real process on a real redis-server: tasks go through
// it from a coordinator in this process, and its /metrics counts them (checked series by
// series, and with `promtool check metrics`); /healthz follows the Redis connection (200 up,
// 503 while Redis is stopped, 200 again after it restarts); SIGTERM still exits 0.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "minion/agents/coordinator.h"
#include "minion/transports/redis_streams_protocol.h"
#include "service/child_process.h"
#include "service/http_client.h"
#include "service/metrics_text.h"
#include "transports/redis/redis_server.h"

namespace minion {
namespace {

using nlohmann::json;
using testing::ChildProcess;
using testing::HttpCall;
using testing::MetricValue;
using testing::RedisServer;

constexpr const char* kCapability = "code_generation";

std::string Slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class WorkerMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    redis_ = RedisServer::Start();
    ASSERT_NE(redis_, nullptr) << "redis-server could not be started";
    dir_ = redis_->dir();
  }

  // A worker answering with the input echoed back, failing subtasks whose input says
  // "fail": true (exit status 3).
  void StartWorker(const std::string& name) {
    std::vector<std::string> argv = {
        MINION_CLI,
        "worker",
        "--transport",
        redis_->Url(),
        "--capability",
        kCapability,
        "--name",
        name,
        "--concurrency",
        "4",
        "--exec",
        R"(in=$(cat); case "$in" in *'"fail":true'*) exit 3;; esac; printf '%s' "$in")",
        "--metrics-listen",
        "127.0.0.1:0",
        "--exporter",
        "none"};
    worker_ = std::make_unique<ChildProcess>(argv, std::map<std::string, std::string>{},
                                             dir_ + "/" + name + ".log");
    const std::string line = worker_->ReadLine(std::chrono::seconds(60));
    const std::string prefix = "minion worker metrics listening on http://";
    ASSERT_EQ(line.rfind(prefix, 0), 0u) << "got: '" << line << "'\n" << Log(name);
    base_ = "http://" + line.substr(prefix.size());
  }

  std::string Log(const std::string& name) { return Slurp(dir_ + "/" + name + ".log"); }

  std::unique_ptr<transports::RedisStreamsProtocol> Connect() {
    transports::RedisStreamsOptions o;
    o.endpoint = transports::RedisEndpoint::Parse(redis_->Url()).value();
    o.block = std::chrono::milliseconds(100);
    auto p = transports::RedisStreamsProtocol::Connect(o);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return p.ok() ? std::move(p).value() : nullptr;
  }

  // Another process registering: nothing crosses to this one, so poll with a deadline.
  bool WaitForWorkers(transports::RedisStreamsProtocol& p, std::size_t n) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      auto w = p.ListWorkers();
      if (w.ok() && w->size() >= n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  // GET /healthz until its status is `want` (the worker notices Redis on its own schedule).
  testing::ClientResponse AwaitHealth(long want) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    testing::ClientResponse r;
    while (std::chrono::steady_clock::now() < deadline) {
      r = HttpCall("GET", base_ + "/healthz", "", {}, 30);
      if (r.status == want) return r;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return r;
  }

  std::unique_ptr<RedisServer> redis_;
  std::string dir_;
  std::unique_ptr<ChildProcess> worker_;
  std::string base_;
};

TEST_F(WorkerMetricsTest, MetricsCountTheSubtasksHealthFollowsRedisAndSigtermExitsZero) {
  ASSERT_NO_FATAL_FAILURE(StartWorker("w1"));
  auto protocol = std::shared_ptr<transports::RedisStreamsProtocol>(Connect());
  ASSERT_NE(protocol, nullptr);
  ASSERT_TRUE(WaitForWorkers(*protocol, 1)) << Log("w1");

  auto health = AwaitHealth(200);
  ASSERT_EQ(health.status, 200) << health.body << health.error;
  auto h = json::parse(health.body);
  EXPECT_EQ(h["redis"], "up");
  EXPECT_EQ(h["worker"], "w1");

  // Before any work: the series exist, at zero.
  auto before = HttpCall("GET", base_ + "/metrics");
  ASSERT_EQ(before.status, 200) << before.error;
  EXPECT_EQ(before.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(MetricValue(before.body, R"(minion_worker_subtasks_handled_total{agent_id="w1"})"), 0.0)
      << before.body;

  agents::CoordinatorOptions o;
  o.id = "coord-" + std::to_string(::getpid());
  o.protocol = protocol;
  o.orchestrator.subtask_timeout = std::chrono::seconds(60);
  o.orchestrator.retry.max_attempts = 1;  // a failure is final: counted once
  auto coordinator = agents::Coordinator::Create(std::move(o));
  ASSERT_TRUE(coordinator.ok()) << coordinator.status().ToString();
  agents::WorkerMetadata remote;
  remote.agent_id = transports::RedisStreamsProtocol::CapabilityAgentId(kCapability);
  remote.role = "remote";
  remote.capabilities = {kCapability};
  ASSERT_TRUE((*coordinator)->registry().Add(remote).ok());

  constexpr int kGood = 12;
  constexpr int kBad = 3;
  std::size_t good_subtasks = 0;
  std::size_t bad_subtasks = 0;
  for (int i = 0; i < kGood + kBad; ++i) {
    const bool fail = i >= kGood;
    agents::TaskRequest r;
    r.name = "task " + std::to_string(i);
    r.type = kCapability;
    r.input = json{{"fail", fail}};
    agents::TaskResult result = (*coordinator)->ExecuteTask(r);
    ASSERT_EQ(result.ok(), !fail) << i << ": " << result.status.ToString() << "\n" << Log("w1");
    (fail ? bad_subtasks : good_subtasks) += result.subtasks.size();
  }
  ASSERT_GT(good_subtasks, 0u);
  ASSERT_GT(bad_subtasks, 0u);

  auto after = HttpCall("GET", base_ + "/metrics");
  ASSERT_EQ(after.status, 200) << after.error;
  const std::string& m = after.body;
  const double total = static_cast<double>(good_subtasks + bad_subtasks);
  EXPECT_EQ(MetricValue(m, R"(minion_worker_subtasks_handled_total{agent_id="w1"})"), total) << m;
  EXPECT_EQ(MetricValue(m, R"(minion_worker_subtasks_failed_total{agent_id="w1"})"),
            static_cast<double>(bad_subtasks))
      << m;
  EXPECT_EQ(MetricValue(m, R"(minion_worker_subtasks_in_flight{agent_id="w1"})"), 0.0) << m;
  EXPECT_EQ(MetricValue(m, R"(minion_worker_redeliveries_total{agent_id="w1"})"), 0.0) << m;
  // The Go original's agent families, recorded by the Worker inside this process.
  EXPECT_EQ(
      MetricValue(
          m,
          R"(minion_agent_executions_total{agent_id="w1",agent_name="external",status="succeeded"})"),
      static_cast<double>(good_subtasks))
      << m;
  EXPECT_EQ(
      MetricValue(
          m,
          R"(minion_agent_executions_total{agent_id="w1",agent_name="external",status="failed"})"),
      static_cast<double>(bad_subtasks))
      << m;
  EXPECT_EQ(
      MetricValue(m, R"(minion_agent_duration_seconds_count{agent_id="w1",agent_name="external"})"),
      total)
      << m;
  EXPECT_EQ(MetricValue(m, "minion_health_status"), 1.0) << m;

  // The Prometheus project's own linter accepts the exposition.
  const std::string path = dir_ + "/worker.prom";
  std::ofstream(path) << m;
  const std::string report = dir_ + "/promtool.out";
  const int rc =
      std::system(("promtool check metrics < '" + path + "' > '" + report + "' 2>&1").c_str());
  EXPECT_EQ(rc, 0) << "promtool check metrics failed:\n" << Slurp(report);

  ASSERT_TRUE((*coordinator)->Shutdown().ok());
  ASSERT_TRUE(protocol->Shutdown().ok());

  // Redis goes away: /healthz says so (503) and the health gauge drops; back once it restarts.
  redis_->Stop();
  auto down = AwaitHealth(503);
  ASSERT_EQ(down.status, 503) << down.body << down.error;
  auto d = json::parse(down.body);
  EXPECT_EQ(d["status"], "unavailable");
  EXPECT_EQ(d["redis"], "down");
  EXPECT_FALSE(d.value("error", "").empty()) << down.body;
  auto metrics_down = HttpCall("GET", base_ + "/metrics");
  EXPECT_EQ(MetricValue(metrics_down.body, "minion_health_status"), 0.0) << metrics_down.body;
  ASSERT_TRUE(redis_->Restart());
  auto up = AwaitHealth(200);
  EXPECT_EQ(up.status, 200) << up.body << up.error;

  EXPECT_EQ(worker_->Stop(SIGTERM), 0) << Log("w1");  // exit status 0 (wait status 0)
}

TEST_F(WorkerMetricsTest, ABadMetricsAddressIsRefusedWithExitStatus2) {
  ChildProcess bad({MINION_CLI, "worker", "--transport", redis_->Url(), "--capability", kCapability,
                    "--exec", "cat", "--metrics-listen", "127.0.0.1:notaport"},
                   {}, dir_ + "/bad.log");
  EXPECT_EQ(bad.ReadLine(std::chrono::seconds(60)), "");  // exits without printing an address
  const int status = bad.Stop(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2) << status << "\n" << Log("bad");
  EXPECT_NE(Log("bad").find("--metrics-listen"), std::string::npos) << Log("bad");
}

}  // namespace
}  // namespace minion
