// The circuit breaker around the real OpenAI-compatible client, against a local HTTP server
// that fails on demand: it opens after the threshold, rejects without a network request (an
// ERROR span saying so), half-opens after the open duration, closes after successful probes;
// every step visible in the trace and in the Prometheus exposition.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>

#include "llm/test_http_server.h"
#include "minion/exporters/in_memory_exporter.h"
#include "minion/llm/guarded_provider.h"
#include "minion/llm/openai_provider.h"
#include "minion/metrics/prometheus_metrics.h"
#include "minion/sdk/simple_span_processor.h"
#include "minion/sdk/tracer_provider.h"

namespace minion::llm {
namespace {

using minion::testing::HttpRequest;
using minion::testing::HttpResponse;
using minion::testing::TestHttpServer;
using nlohmann::json;

HttpResponse Completion() {
  json out = {{"id", "chatcmpl-1"},
              {"object", "chat.completion"},
              {"model", "m"},
              {"choices",
               {{{"index", 0},
                 {"message", {{"role", "assistant"}, {"content", "ok"}}},
                 {"finish_reason", "stop"}}}},
              {"usage", {{"prompt_tokens", 3}, {"completion_tokens", 2}, {"total_tokens", 5}}}};
  return {200, {}, out.dump()};
}

double Sample(const std::string& text, const std::string& series) {
  auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

TEST(GuardedProviderTest, BreakerOpensRejectsWithoutANetworkCallHalfOpensAndCloses) {
  std::atomic<bool> failing{true};
  TestHttpServer server([&](const HttpRequest&) {
    return failing.load() ? HttpResponse{503, {}, R"({"error":{"message":"overloaded"}})"}
                          : Completion();
  });
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;

  auto exporter = std::make_unique<exporters::InMemorySpanExporter>();
  auto spans = exporter->storage();
  sdk::TracerProviderOptions to;
  to.processors.push_back(std::make_unique<sdk::SimpleSpanProcessor>(std::move(exporter)));
  to.merge_environment_resource = false;
  auto tracer_provider = sdk::TracerProvider::Create(std::move(to));
  auto tracer = tracer_provider->GetTracer("resilience-test");

  auto metrics = std::make_shared<metrics::PrometheusMetrics>();
  metrics::SetGlobalRecorder(metrics);

  OpenAIProviderOptions oo;
  oo.base_url = server.url("/v1");
  oo.model = "m";
  oo.max_retries = 0;  // the breaker, not the client's retries, is under test
  oo.timeout = std::chrono::seconds(30);
  oo.tracer = tracer;
  auto openai = std::make_shared<OpenAIProvider>(oo);

  SimulatedClock clock;
  resilience::CircuitBreakerOptions bo;
  bo.window_size = 10;
  bo.minimum_calls = 10;
  bo.consecutive_failures = 3;
  bo.open_duration = std::chrono::seconds(30);
  bo.half_open_max_calls = 2;
  auto breaker = std::make_shared<resilience::CircuitBreaker>("llm:openai", bo, &clock);
  GuardOptions go;
  go.breaker = breaker;
  go.tracer = tracer;
  GuardedProvider guarded(openai, go);

  ChatRequest request;
  request.messages = {{"user", "hi"}};
  trace::Context root;
  for (int i = 0; i < 3; ++i) {
    auto r = guarded.Chat(root, request);
    ASSERT_FALSE(r.ok());
    EXPECT_FALSE(resilience::CircuitBreaker::IsRejection(r.status())) << r.status().ToString();
  }
  EXPECT_EQ(breaker->state(), resilience::BreakerState::kOpen);
  EXPECT_EQ(server.requests().size(), 3u);

  // Open: rejected at once, no request reaches the server.
  const auto t0 = std::chrono::steady_clock::now();
  auto rejected = guarded.Chat(root, request);
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(rejected.ok());
  EXPECT_TRUE(resilience::CircuitBreaker::IsRejection(rejected.status()))
      << rejected.status().ToString();
  EXPECT_EQ(server.requests().size(), 3u);
  std::printf("rejection took %.1f us\n", std::chrono::duration<double, std::micro>(took).count());

  // The rejected call is an ERROR span that says why, with the rejection event.
  auto all = spans->GetSpans();
  const trace::SpanData& last = all.back();
  EXPECT_EQ(last.name, "llm.openai.m");
  EXPECT_EQ(last.status, trace::SpanStatusCode::kError);
  EXPECT_NE(last.status_description.find("circuit breaker 'llm:openai' is open"), std::string::npos)
      << last.status_description;
  bool rejection_event = false;
  for (const auto& e : last.events) rejection_event |= e.name == "resilience.rejected";
  EXPECT_TRUE(rejection_event);
  // The transition to open was traced with its reason.
  bool opened = false;
  for (const auto& s : all) {
    if (s.name != "circuit_breaker.llm:openai") continue;
    for (const auto& e : s.events) {
      if (e.name == "circuit_breaker.state_change") opened = true;
    }
  }
  EXPECT_TRUE(opened);

  // After the open duration: half-open, two successful probes close it.
  failing = false;
  clock.Advance(std::chrono::seconds(30));
  ASSERT_TRUE(guarded.Chat(root, request).ok());
  EXPECT_EQ(breaker->state(), resilience::BreakerState::kHalfOpen);
  ASSERT_TRUE(guarded.Chat(root, request).ok());
  EXPECT_EQ(breaker->state(), resilience::BreakerState::kClosed);
  EXPECT_EQ(server.requests().size(), 5u);

  const std::string text = metrics->Serialize();
  EXPECT_EQ(Sample(text, "minion_circuit_breaker_state{name=\"llm:openai\"}"), 0);
  EXPECT_EQ(Sample(text,
                   "minion_circuit_breaker_transitions_total{from=\"closed\",name=\"llm:openai\","
                   "to=\"open\"}"),
            1);
  EXPECT_EQ(Sample(text,
                   "minion_circuit_breaker_transitions_total{from=\"open\",name=\"llm:openai\",to="
                   "\"half_open\"}"),
            1);
  EXPECT_EQ(Sample(text,
                   "minion_circuit_breaker_transitions_total{from=\"half_open\",name=\"llm:"
                   "openai\",to=\"closed\"}"),
            1);
  EXPECT_EQ(
      Sample(text, "minion_circuit_breaker_rejections_total{name=\"llm:openai\",reason=\"open\"}"),
      1);
  EXPECT_EQ(
      Sample(text, "minion_llm_requests_total{model=\"m\",provider=\"openai\",status=\"success\"}"),
      2);
  EXPECT_EQ(
      Sample(text, "minion_llm_requests_total{model=\"m\",provider=\"openai\",status=\"error\"}"),
      3);
  EXPECT_EQ(
      Sample(text,
             "minion_llm_requests_total{model=\"m\",provider=\"openai\",status=\"rejected\"}"),
      1);
  EXPECT_EQ(Sample(text, "minion_llm_tokens_total{model=\"m\",provider=\"openai\",type=\"input\"}"),
            6);
  metrics::SetGlobalRecorder(nullptr);
  tracer_provider->Shutdown();
}

}  // namespace
}  // namespace minion::llm
