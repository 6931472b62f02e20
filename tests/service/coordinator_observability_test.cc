// `minion coordinator` as a real process, what its /metrics says about itself:
// - the tracing pipeline's health, fed by the live batch processor and exporter: with the
//   OTLP/HTTP exporter pointed at a port where nothing listens, export failures and lost spans
//   are counted and every task still succeeds; pointed at the OpenTelemetry project's own
//   decoder (tests/interop/node/otlp_receiver.js), the spans counted as exported are exactly
//   the spans the receiver decoded, in as many export calls as it got requests;
// - minion_llm_cost_total{provider,model} equals the cost the tasks reported, with a price
//   file and a local OpenAI-compatible server that reports token usage.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "exporters/otlp_http/node_receiver.h"
#include "llm/test_http_server.h"
#include "service/child_process.h"
#include "service/http_client.h"
#include "service/metrics_text.h"

namespace minion {
namespace {

using nlohmann::json;
using testing::ChildProcess;
using testing::ClientResponse;
using testing::HttpCall;
using testing::MetricValue;

std::string Slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A port nothing listens on: bound, read and closed (a connection there is refused).
int DeadPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

class CoordinatorObservabilityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("minion-observability-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    coordinator_.reset();
    std::filesystem::remove_all(dir_);
  }

  void StartCoordinator(std::vector<std::string> extra, std::map<std::string, std::string> env) {
    std::vector<std::string> argv = {MINION_CLI,    "coordinator",  "--listen",
                                     "127.0.0.1:0", "--log-format", "json"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    env.emplace("OTEL_BSP_SCHEDULE_DELAY", "50");
    env.emplace("MINION_LLM_PROVIDER", "offline");
    coordinator_ = std::make_unique<ChildProcess>(argv, env, (dir_ / "stderr").string());
    const std::string line = coordinator_->ReadLine(std::chrono::seconds(60));
    const std::string prefix = "minion coordinator listening on http://";
    ASSERT_EQ(line.rfind(prefix, 0), 0u) << "got: '" << line << "'\nstderr:\n"
                                         << Slurp(dir_ / "stderr");
    base_ = "http://" + line.substr(prefix.size());
  }

  json RunTask(const std::string& name) {
    auto r = HttpCall("POST", base_ + "/v1/tasks?wait=true",
                      json{{"name", name}, {"type", "code_generation"}}.dump(),
                      {"Content-Type: application/json"});
    EXPECT_EQ(r.status, 200) << r.body << r.error;
    auto j = json::parse(r.body, nullptr, false);
    EXPECT_TRUE(j.is_object()) << r.body;
    EXPECT_EQ(j.value("status", ""), "succeeded") << r.body;
    return j;
  }

  std::string Metrics() {
    auto m = HttpCall("GET", base_ + "/metrics");
    EXPECT_EQ(m.status, 200) << m.error;
    return m.body;
  }

  // Scrapes until `done` holds (another process exports on its own schedule); the last body.
  std::string AwaitMetrics(const std::function<bool(const std::string&)>& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    std::string body;
    while (std::chrono::steady_clock::now() < deadline) {
      body = Metrics();
      if (done(body)) return body;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return body;
  }

  std::filesystem::path dir_;
  std::unique_ptr<ChildProcess> coordinator_;
  std::string base_;
};

double Value(const std::string& body, const std::string& series) {
  return MetricValue(body, series).value_or(-1);
}

TEST_F(CoordinatorObservabilityTest, ExportFailuresToADeadCollectorAreCountedAndTasksSucceed) {
  const std::string endpoint = "http://127.0.0.1:" + std::to_string(DeadPort());
  ASSERT_NO_FATAL_FAILURE(StartCoordinator(
      {"--exporter", "otlp-http"}, {{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", endpoint + "/v1/traces"},
                                    {"OTEL_EXPORTER_OTLP_TIMEOUT", "2000"}}));
  constexpr int kTasks = 5;
  for (int i = 0; i < kTasks; ++i) RunTask("task " + std::to_string(i));

  const std::string failures = R"(minion_tracing_export_failures_total{exporter="otlp-http"})";
  const std::string dropped = R"(minion_tracing_spans_dropped_total{exporter="otlp-http"})";
  const std::string exported = R"(minion_tracing_spans_exported_total{exporter="otlp-http"})";
  const std::string queued = R"(minion_tracing_queue_size{exporter="otlp-http"})";
  // Every task's spans were sent and lost: at least one span per task counted as dropped.
  const std::string m = AwaitMetrics(
      [&](const std::string& b) { return Value(b, dropped) >= kTasks && Value(b, queued) == 0; });
  EXPECT_GE(Value(m, failures), 1) << m;
  EXPECT_GE(Value(m, dropped), kTasks) << m;
  EXPECT_EQ(Value(m, exported), 0) << m;
  EXPECT_EQ(Value(m, queued), 0) << m;
  EXPECT_GE(Value(m, R"(minion_tracing_export_duration_seconds_count{exporter="otlp-http"})"),
            Value(m, failures))
      << m;
  // The application is unaffected: still healthy, still answering.
  EXPECT_EQ(HttpCall("GET", base_ + "/healthz").status, 200);
  EXPECT_EQ(Value(m, R"(minion_multiagent_tasks_total{status="succeeded"})"), kTasks) << m;
  EXPECT_EQ(coordinator_->Stop(SIGTERM), 0) << Slurp(dir_ / "stderr");
}

TEST_F(CoordinatorObservabilityTest, SpansCountedAsExportedAreTheSpansTheReceiverDecoded) {
  exporters::testing::NodeReceiver receiver;
  ASSERT_GT(receiver.port(), 0);
  ASSERT_NO_FATAL_FAILURE(StartCoordinator(
      {"--exporter", "otlp-http"}, {{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", receiver.Endpoint()}}));
  constexpr int kTasks = 6;
  for (int i = 0; i < kTasks; ++i) RunTask("task " + std::to_string(i));

  const std::string exported = R"(minion_tracing_spans_exported_total{exporter="otlp-http"})";
  const std::string queued = R"(minion_tracing_queue_size{exporter="otlp-http"})";
  const std::string calls = R"(minion_tracing_export_duration_seconds_count{exporter="otlp-http"})";
  int received_spans = 0;
  int requests = 0;
  auto drain = [&] {
    while (receiver.Pending() > 0) {
      auto j = receiver.NextJson(std::chrono::seconds(1));
      if (!j) break;
      ++requests;
      EXPECT_FALSE(j->contains("error")) << j->dump();
      for (const auto& rs : (*j)["request"].value("resourceSpans", json::array()))
        for (const auto& ss : rs.value("scopeSpans", json::array()))
          received_spans += static_cast<int>(ss.value("spans", json::array()).size());
    }
  };
  // Both sides settle: nothing queued, and what was counted as exported has arrived.
  const std::string m = AwaitMetrics([&](const std::string& b) {
    drain();
    return Value(b, queued) == 0 && Value(b, exported) > 0 &&
           Value(b, exported) == received_spans && Value(b, calls) == requests;
  });
  EXPECT_GE(received_spans, kTasks) << "at least a task span per task";
  EXPECT_EQ(Value(m, exported), received_spans) << m;
  EXPECT_EQ(Value(m, calls), requests) << m;
  EXPECT_EQ(Value(m, R"(minion_tracing_export_failures_total{exporter="otlp-http"})"), 0) << m;
  EXPECT_EQ(Value(m, R"(minion_tracing_spans_dropped_total{exporter="otlp-http"})"), 0) << m;
  EXPECT_EQ(Value(m, queued), 0) << m;
  EXPECT_EQ(coordinator_->Stop(SIGTERM), 0) << Slurp(dir_ / "stderr");
}

TEST_F(CoordinatorObservabilityTest, LlmCostCounterEqualsTheCostTheTasksReported) {
  // An OpenAI-compatible server that reports 300 input and 200 output tokens per call.
  minion::testing::TestHttpServer llm([](const minion::testing::HttpRequest&) {
    json out = {
        {"id", "chatcmpl-1"},
        {"object", "chat.completion"},
        {"model", "priced-model"},
        {"choices",
         {{{"index", 0},
           {"message", {{"role", "assistant"}, {"content", "done"}}},
           {"finish_reason", "stop"}}}},
        {"usage", {{"prompt_tokens", 300}, {"completion_tokens", 200}, {"total_tokens", 500}}}};
    return minion::testing::HttpResponse{200, {}, out.dump()};
  });
  std::string error;
  ASSERT_TRUE(llm.Start(&error)) << error;
  const auto prices = dir_ / "prices.json";
  std::ofstream(prices)
      << R"({"priced-model": {"input_per_million": 3, "output_per_million": 15}})";
  ASSERT_NO_FATAL_FAILURE(
      StartCoordinator({"--prices", prices.string()}, {{"MINION_LLM_PROVIDER", "openai"},
                                                       {"MINION_LLM_BASE_URL", llm.url("/v1")},
                                                       {"MINION_LLM_MODEL", "priced-model"}}));
  constexpr int kTasks = 4;
  double reported = 0;
  for (int i = 0; i < kTasks; ++i) {
    json j = RunTask("task " + std::to_string(i));
    ASSERT_TRUE(j["usage"]["cost_usd"].is_number()) << j.dump();
    reported += j["usage"]["cost_usd"].get<double>();
  }
  // 300 x 3 + 200 x 15 = 3900 USD per million tokens' worth: 0.0039 per call.
  const double per_call = (300 * 3.0 + 200 * 15.0) / 1e6;
  EXPECT_GT(reported, 0);
  EXPECT_NEAR(std::fmod(reported / per_call + 0.5, 1.0), 0.5, 1e-6) << "whole calls: " << reported;
  const std::string m = Metrics();
  const auto counted =
      MetricValue(m, R"(minion_llm_cost_total{model="priced-model",provider="openai"})");
  ASSERT_TRUE(counted.has_value()) << m;
  EXPECT_NEAR(*counted, reported, 1e-9) << m;
  EXPECT_EQ(coordinator_->Stop(SIGTERM), 0) << Slurp(dir_ / "stderr");
}

}  // namespace
}  // namespace minion
