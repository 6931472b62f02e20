#include <gtest/gtest.h>

#include "minion/resilience/config.h"

namespace minion::resilience {
namespace {

TEST(ResilienceConfigTest, DefaultsAreSafe) {
  auto c = ResilienceConfig::Parse("");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c->llm.circuit_breaker.has_value());
  EXPECT_EQ(c->llm.circuit_breaker->consecutive_failures, 5);
  EXPECT_FALSE(c->llm.rate_limiter.has_value());
  EXPECT_TRUE(c->workers.circuit_breaker.has_value());
}

TEST(ResilienceConfigTest, ParsesEverySection) {
  auto c = ResilienceConfig::Parse(R"(
llm:
  circuit_breaker:
    window_size: 10
    minimum_calls: 4
    failure_rate_threshold: 0.25
    consecutive_failures: 2
    open_duration: 1500ms
    slow_call_duration: 2m
    half_open_max_calls: 1
  rate_limiter: {rate_per_second: 5, burst: 20}
  bulkhead: {max_concurrent: 8}
tools:
  circuit_breaker: off
workers:
  circuit_breaker: {open_duration: 10}
)");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->llm.circuit_breaker->window_size, 10u);
  EXPECT_EQ(c->llm.circuit_breaker->failure_rate_threshold, 0.25);
  EXPECT_EQ(c->llm.circuit_breaker->open_duration, std::chrono::milliseconds(1500));
  EXPECT_EQ(c->llm.circuit_breaker->slow_call_duration, std::chrono::minutes(2));
  EXPECT_EQ(c->llm.rate_limiter->burst, 20);
  EXPECT_EQ(*c->llm.bulkhead_max_concurrent, 8u);
  EXPECT_FALSE(c->tools.circuit_breaker.has_value());
  EXPECT_EQ(c->workers.circuit_breaker->open_duration, std::chrono::seconds(10));
}

TEST(ResilienceConfigTest, ErrorsNameTheKey) {
  const std::pair<const char*, const char*> cases[] = {
      {"llm: {circuit_breaker: {window_sise: 3}}",
       "llm.circuit_breaker: unknown key 'window_sise'"},
      {"llm: {circuit_breaker: {open_duration: soon}}",
       "llm.circuit_breaker.open_duration: 'soon' is not a duration"},
      {"llm: {circuit_breaker: {failure_rate_threshold: 2}}",
       "failure_rate_threshold must be in (0, 1]"},
      {"workers: {bulkhead: {max_concurrent: 0}}",
       "workers.bulkhead.max_concurrent: must be an integer >= 1"},
      {"llm: {rate_limiter: {rate_per_second: -1}}",
       "llm.rate_limiter.rate_per_second: must be positive"},
      {"storage: {}", "unknown key 'storage'"},
      {"llm: [1, 2", "not valid YAML"},
      {"llm: {circuit_breaker: {window_size: 2.5}}",
       "window_size: expected a non-negative integer"},
  };
  for (const auto& [yaml, want] : cases) {
    auto c = ResilienceConfig::Parse(yaml, "r.yaml");
    ASSERT_FALSE(c.ok()) << yaml;
    EXPECT_NE(c.status().message().find(want), std::string::npos)
        << yaml << " -> " << c.status().message();
  }
  EXPECT_EQ(ResilienceConfig::FromFile("/nonexistent/r.yaml").status().code(),
            StatusCode::kNotFound);
}

}  // namespace
}  // namespace minion::resilience
