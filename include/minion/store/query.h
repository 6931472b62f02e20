#pragma once
// Search conditions shared by the Jaeger v3 and v1 query APIs, and the parsers for what users
// type: durations ("10s"), RFC 3339 times, attribute conditions (`key=value`, `key>7`, or
// Jaeger's JSON object) and operation patterns (`multiagent.task.*`).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "minion/common/status.h"

namespace minion::store {

enum class CompareOp { kEq, kGt, kGe, kLt, kLe };

struct AttributeCondition {
  std::string key;
  CompareOp op = CompareOp::kEq;
  std::string text;              // the value as typed
  std::optional<double> number;  // the value as a number when it parses as one
  std::optional<bool> boolean;   // "true"/"false"
};

struct TraceQuery {
  std::string service;    // "" = any (then at least one attribute condition is needed)
  std::string operation;  // exact name, or a pattern when it contains '*'; "" = any
  std::vector<AttributeCondition> attributes;
  std::int64_t start_min_ns = 0;  // 0 = unbounded
  std::int64_t start_max_ns = 0;
  std::int64_t duration_min_ns = 0;
  std::int64_t duration_max_ns = 0;
  int limit = 20;
};

inline constexpr int kMaxTraceLimit = 1000;

// "10s", "1.5ms", "100us", "100µs", "250ns", "2m", "1h" (Go's time.ParseDuration units,
// several terms allowed: "1m30s"). Result in nanoseconds.
Result<std::int64_t> ParseDuration(std::string_view text);
// RFC 3339 ("2026-11-29T17:00:00Z", "...T17:00:00.123+01:00") or an integer (nanoseconds).
Result<std::int64_t> ParseTimeNanos(std::string_view text);
// Either a JSON object of strings ({"error":"true","multiagent.task.priority":">7"}) or a list
// of conditions separated by spaces (error=true multiagent.task.priority>7 key="a b").
Result<std::vector<AttributeCondition>> ParseAttributeConditions(std::string_view text);
// One condition (`key=value`, `key>7`, ...).
Result<AttributeCondition> ParseAttributeCondition(std::string_view text);
// Does `name` match the operation pattern (`*` = any run of characters)?
bool MatchesOperationPattern(std::string_view pattern, std::string_view name);

}  // namespace minion::store
