#pragma once
// The retry toolkit every retrying client builds on (the OTLP and Jaeger exporters, the
// OpenAI-compatible client, the orchestrator's subtask retries): one backoff formula with an
// injected random source, and one Retry-After parser. Policy (which failures to retry, how many
// attempts, who waits and how) stays with each user.
//
// Attempt numbering, everywhere: attempt 1 is the first call; retry n is attempt n + 1, and the
// wait before it is Backoff::Delay(n) — so retry 1 waits about `initial`.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include "minion/common/clock.h"

namespace minion::retry {

// Uniform random numbers in [0, 1), for jitter. Inject a fixed one for reproducible delays.
using UniformRandom = std::function<double()>;
// A thread-local std::mt19937_64 seeded from std::random_device. Thread-safe.
double DefaultUniformRandom();

// Exponential backoff with jitter. The ceiling for retry n is
//   min(max, initial * multiplier^(n - 1)),
// and the delay is the ceiling scaled by a factor drawn uniformly from [jitter_low,
// jitter_high]. The default [0, 1] is "full jitter" (a uniform delay in [0, ceiling]), which
// spreads retries of many clients best; [1 - j, 1 + j] jitters around the ceiling; [1, 1] is
// no jitter. A value type, thread-safe to share.
struct Backoff {
  std::chrono::nanoseconds initial{std::chrono::milliseconds(100)};
  std::chrono::nanoseconds max{std::chrono::seconds(5)};
  double multiplier = 2.0;
  double jitter_low = 0.0;
  double jitter_high = 1.0;

  // The un-jittered delay before retry `retry` (1-based; values below 1 count as 1).
  std::chrono::nanoseconds Ceiling(int retry) const noexcept;
  // The delay before retry `retry`, with `uniform` in [0, 1) (clamped) choosing the factor.
  std::chrono::nanoseconds Delay(int retry, double uniform) const noexcept;
  // The same, drawing from `random` (null: DefaultUniformRandom).
  std::chrono::nanoseconds Delay(int retry, const UniformRandom& random) const;
};

// Parses an HTTP Retry-After value (RFC 9110): delay-seconds ("120") or an IMF-fixdate
// ("Wed, 21 Oct 2015 07:28:00 GMT"), the latter relative to `now` (Unix nanoseconds); a date in
// the past yields zero and absurd values are clamped to a year. nullopt when it is neither.
std::optional<std::chrono::nanoseconds> ParseRetryAfter(std::string_view value, UnixNanos now);

}  // namespace minion::retry
