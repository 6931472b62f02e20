#include "minion/llm/offline_provider.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <stop_token>

#include "support/tracing_rig.h"

namespace minion::llm {
namespace {

using ::minion::testing::IntAttr;
using ::minion::testing::StrAttr;
using ::testing::HasSubstr;

class OfflineProviderTest : public ::testing::Test {
 protected:
  OfflineProvider Make() {
    OfflineProviderOptions o;
    o.tracer = capture_.tracer;
    return OfflineProvider(o);
  }
  static ChatRequest User(std::string text) {
    ChatRequest r;
    r.messages = {{"user", std::move(text)}};
    return r;
  }
  minion::testing::TracingRig capture_;
};

TEST_F(OfflineProviderTest, NameSaysOffline) {
  EXPECT_EQ(Make().Name(), "offline");
  EXPECT_EQ(Make().DefaultModel(), "offline-echo-1");
}

TEST_F(OfflineProviderTest, PlannerPromptGetsAValidJsonPlanUsingNamedCapabilities) {
  ChatRequest r;
  r.messages = {{"system",
                 "You are a planner. Reply with JSON: {\"subtasks\": [...]}. "
                 "Available capabilities: research, code_generation, testing."},
                {"user", "Build a URL shortener service"}};
  r.json_response = true;
  auto result = Make().Chat(trace::Context(), r);
  ASSERT_TRUE(result.ok());
  auto plan = nlohmann::json::parse(result->content, nullptr, false);
  ASSERT_FALSE(plan.is_discarded()) << result->content;
  ASSERT_TRUE(plan["subtasks"].is_array());
  ASSERT_EQ(plan["subtasks"].size(), 3u);
  EXPECT_EQ(plan["subtasks"][0]["capability"], "research");
  EXPECT_EQ(plan["subtasks"][1]["capability"], "code_generation");
  EXPECT_EQ(plan["subtasks"][2]["capability"], "testing");
  EXPECT_EQ(plan["subtasks"][1]["depends_on"][0], "subtask-1");
  EXPECT_THAT(plan["subtasks"][0]["description"].get<std::string>(), HasSubstr("URL shortener"));
}

TEST_F(OfflineProviderTest, PlanUsesOnlyOfferedCapabilitiesTheTaskCallsFor) {
  ChatRequest r;
  r.messages = {{"system",
                 "You are a planner. Reply with JSON only. Use only these capabilities: "
                 "code_generation, data_analysis, summarize, translation."},
                {"user",
                 "Break this task into subtasks as JSON.\nTask: churn report\n"
                 "Description: run the analysis of last month's data and summarize it"}};
  r.json_response = true;
  auto result = Make().Chat(trace::Context(), r);
  ASSERT_TRUE(result.ok());
  auto plan = nlohmann::json::parse(result->content, nullptr, false);
  ASSERT_FALSE(plan.is_discarded()) << result->content;
  ASSERT_EQ(plan["subtasks"].size(), 2u) << result->content;
  EXPECT_EQ(plan["subtasks"][0]["capability"], "data_analysis");
  EXPECT_EQ(plan["subtasks"][1]["capability"], "summarize");
  EXPECT_EQ(plan["subtasks"][1]["depends_on"][0], "subtask-1");
}

TEST_F(OfflineProviderTest, PlanFallsBackToEveryOfferedCapability) {
  ChatRequest r;
  r.messages = {{"system", "Use only these capabilities: alpha_work, beta_work."},
                {"user", "Do the thing"}};
  r.json_response = true;
  auto result = Make().Chat(trace::Context(), r);
  ASSERT_TRUE(result.ok());
  auto plan = nlohmann::json::parse(result->content);
  ASSERT_EQ(plan["subtasks"].size(), 2u);
  EXPECT_EQ(plan["subtasks"][0]["capability"], "alpha_work");
  EXPECT_EQ(plan["subtasks"][1]["capability"], "beta_work");
}

TEST_F(OfflineProviderTest, AnswersAreDeterministic) {
  auto a = Make().Chat(trace::Context(), User("Implement a function that parses dates"));
  auto b = Make().Chat(trace::Context(), User("Implement a function that parses dates"));
  auto c = Make().Chat(trace::Context(), User("Implement a function that parses times"));
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->content, b->content);
  EXPECT_EQ(a->response_id, b->response_id);
  EXPECT_NE(a->response_id, c->response_id);
}

TEST_F(OfflineProviderTest, CodeRequestGetsASkeleton) {
  auto r = Make().Chat(trace::Context(), User("Write python code to implement a CSV parser"));
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(r->content, HasSubstr("def run("));
  auto cpp = Make().Chat(trace::Context(), User("Implement a ring buffer"));
  ASSERT_TRUE(cpp.ok());
  EXPECT_THAT(cpp->content, HasSubstr("namespace generated"));
}

TEST_F(OfflineProviderTest, AnalysisRequestNamesKeyTerms) {
  auto r = Make().Chat(trace::Context(), User("Analyze the latency latency latency of checkout"));
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(r->content, HasSubstr("Key terms: latency"));
}

TEST_F(OfflineProviderTest, TokenCountsAreWordCounts) {
  ChatRequest r;
  r.messages = {{"system", "one two three"}, {"user", "  four\tfive\nsix  "}};
  auto result = Make().Chat(trace::Context(), r);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->input_tokens, 6);
  EXPECT_EQ(result->output_tokens, CountOfflineTokens(result->content));
  EXPECT_GT(result->output_tokens, 0);
}

TEST_F(OfflineProviderTest, MaxTokensTruncatesWithLengthFinishReason) {
  ChatRequest r = User("Implement a ring buffer");
  r.max_tokens = 5;
  auto result = Make().Chat(trace::Context(), r);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->output_tokens, 5);
  EXPECT_EQ(result->finish_reason, "length");
}

TEST_F(OfflineProviderTest, SpanCarriesGenAiAttributes) {
  auto result = Make().Chat(trace::Context(), User("hello there"));
  ASSERT_TRUE(result.ok());
  auto spans = capture_.Spans();
  ASSERT_EQ(spans.size(), 1u);
  const auto& span = spans[0];
  EXPECT_EQ(span.name, "llm.offline.offline-echo-1");
  EXPECT_EQ(span.kind, trace::SpanKind::kClient);
  EXPECT_EQ(StrAttr(span, "gen_ai.provider.name"), "offline");
  EXPECT_EQ(StrAttr(span, "gen_ai.operation.name"), "chat");
  EXPECT_EQ(StrAttr(span, "gen_ai.request.model"), "offline-echo-1");
  EXPECT_EQ(StrAttr(span, "gen_ai.response.model"), "offline-echo-1");
  EXPECT_EQ(IntAttr(span, "gen_ai.usage.input_tokens"), 2);
  EXPECT_EQ(IntAttr(span, "gen_ai.usage.output_tokens"), result->output_tokens);
  EXPECT_EQ(IntAttr(span, "llm.tokens.input"), -1);  // counted once, under gen_ai.usage.* only
}

TEST_F(OfflineProviderTest, EmptyRequestIsAnErrorSpan) {
  auto result = Make().Chat(trace::Context(), ChatRequest{});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  auto spans = capture_.Spans();
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].status, trace::SpanStatusCode::kError);
}

TEST_F(OfflineProviderTest, StopRequestedBeforeTheCallIsCancelled) {
  std::stop_source stop;
  ChatRequest r = User("Implement a ring buffer");
  r.stop = stop.get_token();
  ASSERT_TRUE(Make().Chat(trace::Context(), r).ok());  // not stopped: answers as usual
  stop.request_stop();
  auto result = Make().Chat(trace::Context(), r);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kCancelled);
  auto spans = capture_.Spans();
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[1].status, trace::SpanStatusCode::kError);
  EXPECT_EQ(StrAttr(spans[1], "error.type"), "cancelled");
}

}  // namespace
}  // namespace minion::llm
