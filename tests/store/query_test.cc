// What users type into searches: durations, times, attribute conditions, operation patterns.
#include "minion/store/query.h"

#include <gtest/gtest.h>

namespace minion::store {
namespace {

TEST(QueryParseTest, DurationsInGoUnits) {
  EXPECT_EQ(ParseDuration("10s").value(), 10'000'000'000);
  EXPECT_EQ(ParseDuration("1.5ms").value(), 1'500'000);
  EXPECT_EQ(ParseDuration("100us").value(), 100'000);
  EXPECT_EQ(ParseDuration("100µs").value(), 100'000);
  EXPECT_EQ(ParseDuration("1m30s").value(), 90'000'000'000);
  EXPECT_EQ(ParseDuration("250ns").value(), 250);
  EXPECT_EQ(ParseDuration("10").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseDuration("10 parsecs").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseDuration("").status().code(), StatusCode::kInvalidArgument);
}

TEST(QueryParseTest, Rfc3339AndNanosecondTimes) {
  EXPECT_EQ(ParseTimeNanos("1970-01-01T00:00:01Z").value(), 1'000'000'000);
  EXPECT_EQ(ParseTimeNanos("2026-11-29T17:00:00.5Z").value(), 1'795'971'600'500'000'000);
  EXPECT_EQ(ParseTimeNanos("2026-11-29T18:00:00+01:00").value(),
            ParseTimeNanos("2026-11-29T17:00:00Z").value());
  EXPECT_EQ(ParseTimeNanos("123").value(), 123);
  EXPECT_EQ(ParseTimeNanos("yesterday").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseTimeNanos("2026-13-01T00:00:00Z").status().code(), StatusCode::kInvalidArgument);
}

TEST(QueryParseTest, AttributeConditionsAsExpressionsAndJaegerJson) {
  auto c =
      ParseAttributeConditions("error=true multiagent.task.priority>7 name=\"a b\" x<=2.5").value();
  ASSERT_EQ(c.size(), 4u);
  EXPECT_EQ(c[0].key, "error");
  EXPECT_EQ(c[0].boolean, true);
  EXPECT_EQ(c[1].key, "multiagent.task.priority");
  EXPECT_EQ(c[1].op, CompareOp::kGt);
  EXPECT_EQ(c[1].number, 7.0);
  EXPECT_EQ(c[2].text, "a b");
  EXPECT_EQ(c[3].op, CompareOp::kLe);
  auto j = ParseAttributeConditions(
               R"({"multiagent.worker.id":"worker-789","multiagent.task.priority":">7"})")
               .value();
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0].key, "multiagent.task.priority");  // nlohmann orders keys
  EXPECT_EQ(j[0].op, CompareOp::kGt);
  EXPECT_EQ(j[1].text, "worker-789");
  EXPECT_EQ(ParseAttributeConditions(R"({"a":">x"})").value()[0].op,
            CompareOp::kEq);  // literal text
  EXPECT_EQ(ParseAttributeConditions("priority>high").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseAttributeConditions("novalue").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseAttributeConditions("{not json").status().code(), StatusCode::kInvalidArgument);
}

TEST(QueryParseTest, OperationPatterns) {
  EXPECT_TRUE(MatchesOperationPattern("multiagent.task.*", "multiagent.task.code_generation"));
  EXPECT_FALSE(MatchesOperationPattern("multiagent.task.*", "worker.code_generation"));
  EXPECT_TRUE(MatchesOperationPattern("*.send", "protocol.send"));
  EXPECT_TRUE(MatchesOperationPattern("w*r.*", "worker.x"));
  EXPECT_TRUE(MatchesOperationPattern("exact", "exact"));
  EXPECT_FALSE(MatchesOperationPattern("exact", "exact2"));
}

}  // namespace
}  // namespace minion::store
