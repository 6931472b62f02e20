// Tool calls behind per-tool circuit breakers and rate limiters (ToolRegistry::SetPolicy): a
// failing tool is cut off after the threshold without being called, the refusal is an ERROR
// span with a `resilience.rejected` event, other tools are unaffected, and after the open
// duration a successful probe closes it again.
#include <gtest/gtest.h>

#include <atomic>

#include "minion/exporters/in_memory_exporter.h"
#include "minion/sdk/simple_span_processor.h"
#include "minion/sdk/tracer_provider.h"
#include "minion/tools/tool.h"

namespace minion::tools {
namespace {

using nlohmann::json;

class FlakyTool final : public Tool {
 public:
  explicit FlakyTool(std::string name) : name_(std::move(name)) {}
  std::string Name() const override { return name_; }
  std::string Description() const override { return "fails while told to"; }
  json InputSchema() const override { return {{"type", "object"}}; }
  Result<json> Invoke(const trace::Context&, const json&) override {
    ++calls;
    if (failing) return UnavailableError("backend down");
    return json{{"ok", true}};
  }
  std::atomic<int> calls{0};
  std::atomic<bool> failing{true};

 private:
  std::string name_;
};

TEST(ToolGuardTest, BreakerCutsOffAFailingToolAndRecovers) {
  auto exporter = std::make_unique<exporters::InMemorySpanExporter>();
  auto spans = exporter->storage();
  sdk::TracerProviderOptions to;
  to.processors.push_back(std::make_unique<sdk::SimpleSpanProcessor>(std::move(exporter)));
  to.merge_environment_resource = false;
  auto provider = sdk::TracerProvider::Create(std::move(to));

  SimulatedClock clock;
  ToolRegistry registry(provider->GetTracer("tool-guard-test"));
  auto flaky = std::make_shared<FlakyTool>("flaky");
  auto fine = std::make_shared<FlakyTool>("fine");
  fine->failing = false;
  ASSERT_TRUE(registry.Register(flaky).ok());
  ASSERT_TRUE(registry.Register(fine).ok());
  resilience::PolicyConfig policy;
  policy.circuit_breaker->consecutive_failures = 3;
  policy.circuit_breaker->open_duration = std::chrono::seconds(5);
  policy.circuit_breaker->half_open_max_calls = 1;
  registry.SetPolicy(policy, &clock);

  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(registry.Invoke({}, "flaky", json::object()).status().code(),
              StatusCode::kUnavailable);
  EXPECT_EQ(flaky->calls, 3);
  auto refused = registry.Invoke({}, "flaky", json::object());
  EXPECT_EQ(flaky->calls, 3) << "an open breaker must not call the tool";
  EXPECT_NE(refused.status().message().find("circuit breaker 'tool:flaky' is open"),
            std::string::npos)
      << refused.status().message();
  const auto last = spans->GetSpans().back();
  EXPECT_EQ(last.name, "tool.flaky");
  EXPECT_EQ(last.status, trace::SpanStatusCode::kError);
  ASSERT_FALSE(last.events.empty());
  bool rejected_event = false;
  for (const auto& e : last.events) rejected_event |= e.name == "resilience.rejected";
  EXPECT_TRUE(rejected_event);
  // Input errors are the caller's, not the tool's: they never reach or trip the breaker.
  EXPECT_TRUE(registry.Invoke({}, "fine", json::object()).ok());

  flaky->failing = false;
  clock.Advance(std::chrono::seconds(5));
  EXPECT_TRUE(registry.Invoke({}, "flaky", json::object()).ok());
  EXPECT_TRUE(registry.Invoke({}, "flaky", json::object()).ok());
  EXPECT_EQ(flaky->calls, 5);
  provider->Shutdown();
}

TEST(ToolGuardTest, RateLimiterRefusesBeyondTheBurst) {
  SimulatedClock clock;
  ToolRegistry registry;
  auto fine = std::make_shared<FlakyTool>("fine");
  fine->failing = false;
  ASSERT_TRUE(registry.Register(fine).ok());
  resilience::PolicyConfig policy;
  policy.circuit_breaker.reset();
  policy.rate_limiter = resilience::RateLimiterOptions{.rate_per_second = 1, .burst = 2};
  registry.SetPolicy(policy, &clock);
  EXPECT_TRUE(registry.Invoke({}, "fine", json::object()).ok());
  EXPECT_TRUE(registry.Invoke({}, "fine", json::object()).ok());
  auto limited = registry.Invoke({}, "fine", json::object());
  EXPECT_EQ(limited.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(fine->calls, 2);
  clock.Advance(std::chrono::seconds(1));
  EXPECT_TRUE(registry.Invoke({}, "fine", json::object()).ok());
}

}  // namespace
}  // namespace minion::tools
