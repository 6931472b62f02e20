// The OpenAI-compatible client's HTTP retries under a retry budget, against a real local server
// that answers 503 to everything: without a budget every call costs 1 + max_retries requests;
// with one, a burst of failing calls adds at most the bucket plus `ratio` per call, the
// refused retries say "retry budget exhausted" in the error, a span event and
// minion_retries_total{outcome="budget_exhausted"}; once the server recovers, calls succeed
// and refill the bucket.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>

#include "llm/test_http_server.h"
#include "minion/exporters/in_memory_exporter.h"
#include "minion/llm/factory.h"
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

struct FaultyServer {
  std::atomic<bool> failing{true};
  std::atomic<int> requests{0};
  TestHttpServer server{[this](const HttpRequest&) {
    requests.fetch_add(1);
    return failing.load() ? HttpResponse{503, {}, R"({"error":{"message":"overloaded"}})"}
                          : Completion();
  }};
};

OpenAIProviderOptions Options(const TestHttpServer& server,
                              std::shared_ptr<resilience::RetryBudget> budget) {
  OpenAIProviderOptions o;
  o.base_url = server.url("/v1");
  o.model = "m";
  o.max_retries = 2;
  o.timeout = std::chrono::seconds(30);
  o.sleep = [](std::chrono::milliseconds) {};  // the backoff is not under test
  o.retry_budget = std::move(budget);
  return o;
}

ChatRequest Hello() {
  ChatRequest r;
  r.messages = {{"user", "hello"}};
  return r;
}

constexpr int kCalls = 50;

TEST(OpenAIRetryBudgetTest, WithoutABudgetEveryFailingCallCostsOnePlusMaxRetriesRequests) {
  FaultyServer s;
  std::string error;
  ASSERT_TRUE(s.server.Start(&error)) << error;
  OpenAIProvider provider(Options(s.server, nullptr));
  for (int i = 0; i < kCalls; ++i) {
    auto r = provider.Chat(trace::Context(), Hello());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
  }
  EXPECT_EQ(s.requests.load(), kCalls * 3);
}

TEST(OpenAIRetryBudgetTest, ABurstOf5xxCannotMultiplyTheLoadUnderABudget) {
  FaultyServer s;
  std::string error;
  ASSERT_TRUE(s.server.Start(&error)) << error;

  auto exporter = std::make_unique<exporters::InMemorySpanExporter>();
  auto spans = exporter->storage();
  sdk::TracerProviderOptions to;
  to.processors.push_back(std::make_unique<sdk::SimpleSpanProcessor>(std::move(exporter)));
  to.merge_environment_resource = false;
  auto tracer_provider = sdk::TracerProvider::Create(std::move(to));
  auto metrics = std::make_shared<metrics::PrometheusMetrics>();
  metrics::SetGlobalRecorder(metrics);

  constexpr double kRatio = 0.2;
  constexpr double kBucket = 10;
  auto budget = std::make_shared<resilience::RetryBudget>(kRatio, kBucket);
  OpenAIProviderOptions o = Options(s.server, budget);
  o.tracer = tracer_provider->GetTracer("retry-budget-test");
  OpenAIProvider provider(o);

  int exhausted = 0;
  for (int i = 0; i < kCalls; ++i) {
    auto r = provider.Chat(trace::Context(), Hello());
    ASSERT_FALSE(r.ok());
    if (r.status().message().find("retry budget exhausted") != std::string::npos) ++exhausted;
  }
  const int requests = s.requests.load();
  // First attempts, plus at most the starting bucket and what the calls deposited.
  EXPECT_GE(requests, kCalls);
  EXPECT_LE(requests, kCalls + static_cast<int>(kBucket + kRatio * kCalls)) << requests;
  EXPECT_LT(requests, kCalls * 3 / 2) << "the budget must bound the burst well below 3x";
  EXPECT_GT(requests, kCalls) << "the bucket starts full: some retries happen";
  EXPECT_GT(exhausted, kCalls / 2);

  // Every refused retry is visible: a span event on its llm span and a metric.
  int events = 0;
  for (const auto& span : spans->GetSpans()) {
    for (const auto& e : span.events) events += e.name == "retry_budget_exhausted";
  }
  EXPECT_EQ(events, exhausted);
  const std::string text = metrics->Serialize();
  EXPECT_NE(text.find("minion_retries_total{name=\"llm:openai\",outcome=\"budget_exhausted\"} " +
                      std::to_string(exhausted)),
            std::string::npos)
      << text;

  // The server recovers: calls succeed on their first attempt and refill the bucket.
  s.failing = false;
  const int before = s.requests.load();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(provider.Chat(trace::Context(), Hello()).ok());
  EXPECT_EQ(s.requests.load() - before, 10);
  EXPECT_GE(budget->tokens(), 10 * kRatio - 1e-9);
  metrics::SetGlobalRecorder(nullptr);
}

TEST(OpenAIRetryBudgetTest, TheFactoryGivesEachProviderABudget) {
  FaultyServer s;
  std::string error;
  ASSERT_TRUE(s.server.Start(&error)) << error;
  const std::string base = s.server.url("/v1");
  auto provider = MakeProviderFromEnv([&](std::string_view name) -> std::optional<std::string> {
    const std::string n(name);
    if (n == "MINION_LLM_PROVIDER") return "openai";
    if (n == "OPENAI_BASE_URL" || n == "MINION_LLM_BASE_URL") return base;
    return std::nullopt;
  });
  ASSERT_TRUE(provider.ok()) << provider.status().ToString();
  auto* openai = dynamic_cast<OpenAIProvider*>(provider->get());
  ASSERT_NE(openai, nullptr);
  ASSERT_NE(openai->options().retry_budget, nullptr);
}

}  // namespace
}  // namespace minion::llm
