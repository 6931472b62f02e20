#pragma once
// ResilienceConfig: which policies guard which calls, from code or from a YAML file
// (`minion run|coordinator --resilience FILE`). The defaults are safe: a circuit breaker on
// every LLM provider, every tool and every worker (failure rate 50% over 20 calls with at
// least 10, or 5 consecutive failures; open 30 s; 3 probes), no rate limit and no bulkhead
// unless configured. The file format:
//
//   llm:                      # around every LLM provider call
//     circuit_breaker:
//       window_size: 20
//       minimum_calls: 10
//       failure_rate_threshold: 0.5
//       consecutive_failures: 5
//       slow_call_duration: 60s     # durations: 250ms, 30s, 2m, or a number of seconds
//       slow_call_rate_threshold: 1.0
//       open_duration: 30s
//       half_open_max_calls: 3
//     rate_limiter: {rate_per_second: 5, burst: 10}
//     bulkhead: {max_concurrent: 8}
//   tools: {...}              # one breaker (and limiter, bulkhead) per tool name
//   workers: {...}            # one breaker per worker, used by the orchestrator's routing
//
// `circuit_breaker: off` disables the breaker of a section. Unknown keys are errors (a typo
// must not silently leave the defaults in place).

#include <optional>
#include <string>

#include "minion/common/status.h"
#include "minion/resilience/circuit_breaker.h"
#include "minion/resilience/limits.h"

namespace minion::resilience {

struct PolicyConfig {
  std::optional<CircuitBreakerOptions> circuit_breaker = CircuitBreakerOptions{};  // nullopt: off
  std::optional<RateLimiterOptions> rate_limiter;                                  // nullopt: none
  std::optional<std::size_t> bulkhead_max_concurrent;                              // nullopt: none
};

struct ResilienceConfig {
  PolicyConfig llm;
  PolicyConfig tools;
  PolicyConfig workers;

  // Parses YAML text; errors name the key and say what was expected. `source` names the text
  // in messages (a file name).
  static Result<ResilienceConfig> Parse(const std::string& yaml,
                                        const std::string& source = "resilience config");
  static Result<ResilienceConfig> FromFile(const std::string& path);
};

// "250ms", "30s", "2m", "1h", "1.5s" or a plain number of seconds.
Result<std::chrono::nanoseconds> ParseDuration(const std::string& text);

}  // namespace minion::resilience
