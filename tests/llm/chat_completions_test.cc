#include "llm/chat_completions.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace minion::llm::internal {
namespace {

using ::testing::HasSubstr;

TEST(ChatCompletionsTest, RequestBodyOmitsResponseFormatUnlessAsked) {
  ChatRequest r;
  r.messages = {{"user", "hi"}};
  auto body = nlohmann::json::parse(BuildChatRequestBody(r, "m"));
  EXPECT_FALSE(body.contains("response_format"));
  EXPECT_EQ(body["max_tokens"], 1024);
  r.max_tokens = 0;
  body = nlohmann::json::parse(BuildChatRequestBody(r, "m"));
  EXPECT_FALSE(body.contains("max_tokens"));
}

TEST(ChatCompletionsTest, InvalidUtf8InPromptDoesNotAbort) {
  ChatRequest r;
  r.messages = {{"user", std::string("bad \xff\xfe bytes")}};
  auto body = nlohmann::json::parse(BuildChatRequestBody(r, "m"), nullptr, false);
  ASSERT_FALSE(body.is_discarded());
  EXPECT_THAT(body["messages"][0]["content"].get<std::string>(), HasSubstr("bytes"));
}

TEST(ChatCompletionsTest, NullContentIsEmptyNotAnError) {
  auto r = ParseChatResponse(
      R"({"choices":[{"message":{"role":"assistant","content":null},"finish_reason":"tool_calls"}]})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->content, "");
  EXPECT_EQ(r->finish_reason, "tool_calls");
  EXPECT_EQ(r->input_tokens, 0);
}

TEST(ChatCompletionsTest, RejectsShapesThatAreNotACompletion) {
  EXPECT_FALSE(ParseChatResponse("[]").ok());
  EXPECT_FALSE(ParseChatResponse(R"({"choices":{}})").ok());
  EXPECT_FALSE(ParseChatResponse(R"({"choices":[1]})").ok());
  EXPECT_FALSE(ParseChatResponse(R"({"choices":[{"text":"legacy"}]})").ok());
  EXPECT_FALSE(ParseChatResponse(R"({"choices":[{"message":{"content":42}}]})").ok());
}

TEST(ChatCompletionsTest, ErrorMessageFromEachKnownShape) {
  EXPECT_EQ(ExtractErrorMessage(R"({"error":{"message":"quota","type":"x"}})"), "quota");
  EXPECT_EQ(ExtractErrorMessage(R"({"error":"model not found"})"), "model not found");
  EXPECT_EQ(ExtractErrorMessage(R"({"message":"vllm says no"})"), "vllm says no");
  EXPECT_EQ(ExtractErrorMessage("  <html>Bad Gateway</html>\n"), "<html>Bad Gateway</html>");
  EXPECT_THAT(ExtractErrorMessage(std::string(500, 'x')), HasSubstr("..."));
}

TEST(ChatCompletionsTest, HttpStatusMapping) {
  EXPECT_EQ(StatusCodeForHttp(400), StatusCode::kInvalidArgument);
  EXPECT_EQ(StatusCodeForHttp(401), StatusCode::kUnauthenticated);
  EXPECT_EQ(StatusCodeForHttp(429), StatusCode::kResourceExhausted);
  EXPECT_EQ(StatusCodeForHttp(503), StatusCode::kUnavailable);
  EXPECT_TRUE(IsRetryableHttp(429));
  EXPECT_TRUE(IsRetryableHttp(500));
  EXPECT_FALSE(IsRetryableHttp(400));
  EXPECT_FALSE(IsRetryableHttp(401));
}

}  // namespace
}  // namespace minion::llm::internal
