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

TEST(ChatCompletionsTest, RequestCarriesToolsToolCallsAndToolReplies) {
  ChatRequest r;
  r.messages = {{"user", "write it"}};
  ChatMessage assistant("assistant", "");
  assistant.tool_calls = {{"call_1", "write_file", R"({"path":"a.txt","content":"x"})"}};
  r.messages.push_back(assistant);
  ChatMessage reply("tool", R"({"bytes_written":1})");
  reply.tool_call_id = "call_1";
  r.messages.push_back(reply);
  r.tools = {{"write_file", "Writes a file", R"({"type":"object","required":["path"]})"},
             {"noop", "", ""}};
  r.tool_choice = "auto";
  auto body = nlohmann::json::parse(BuildChatRequestBody(r, "m"));
  ASSERT_EQ(body["messages"].size(), 3u);
  const auto& a = body["messages"][1];
  EXPECT_TRUE(a["content"].is_null());
  EXPECT_EQ(a["tool_calls"][0]["id"], "call_1");
  EXPECT_EQ(a["tool_calls"][0]["type"], "function");
  EXPECT_EQ(a["tool_calls"][0]["function"]["name"], "write_file");
  EXPECT_EQ(a["tool_calls"][0]["function"]["arguments"], R"({"path":"a.txt","content":"x"})");
  EXPECT_EQ(body["messages"][2]["role"], "tool");
  EXPECT_EQ(body["messages"][2]["tool_call_id"], "call_1");
  EXPECT_FALSE(body["messages"][0].contains("tool_call_id"));
  ASSERT_EQ(body["tools"].size(), 2u);
  EXPECT_EQ(body["tools"][0]["type"], "function");
  EXPECT_EQ(body["tools"][0]["function"]["parameters"]["required"][0], "path");
  EXPECT_EQ(body["tools"][1]["function"]["parameters"], nlohmann::json({{"type", "object"}}));
  EXPECT_FALSE(body["tools"][1]["function"].contains("description"));
  EXPECT_EQ(body["tool_choice"], "auto");
  r.tool_choice = "write_file";
  body = nlohmann::json::parse(BuildChatRequestBody(r, "m"));
  EXPECT_EQ(body["tool_choice"]["function"]["name"], "write_file");
}

TEST(ChatCompletionsTest, NoToolKeysWhenNoneOffered) {
  ChatRequest r;
  r.messages = {{"user", "hi"}};
  auto body = nlohmann::json::parse(BuildChatRequestBody(r, "m"));
  EXPECT_FALSE(body.contains("tools"));
  EXPECT_FALSE(body.contains("tool_choice"));
  EXPECT_FALSE(body["messages"][0].contains("tool_calls"));
}

TEST(ChatCompletionsTest, InvalidUtf8InToolArgumentsAndResultsDoesNotAbort) {
  ChatRequest r;
  ChatMessage assistant("assistant", "");
  assistant.tool_calls = {{"c\xff", "t", std::string("{\"a\":\"\xc3\x28\"}")}};
  ChatMessage reply("tool", std::string("out \xfe"));
  reply.tool_call_id = "c\xff";
  r.messages = {{"user", "x"}, assistant, reply};
  auto body = nlohmann::json::parse(BuildChatRequestBody(r, "m"), nullptr, false);
  ASSERT_FALSE(body.is_discarded());
  EXPECT_THAT(body["messages"][2]["content"].get<std::string>(), HasSubstr("out"));
}

TEST(ChatCompletionsTest, ParsesToolCalls) {
  auto r = ParseChatResponse(R"({"id":"x","choices":[{"finish_reason":"tool_calls","message":{
      "role":"assistant","content":null,"tool_calls":[
        {"id":"call_a","type":"function","function":{"name":"calculator","arguments":"{\"expression\":\"1+1\"}"}},
        {"function":{"name":"read_file","arguments":{"path":"a.txt"}}},
        {"id":"call_c","type":"function","function":{"name":"noargs"}}]}}],
      "usage":{"prompt_tokens":5,"completion_tokens":7}})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->finish_reason, "tool_calls");
  ASSERT_EQ(r->tool_calls.size(), 3u);
  EXPECT_EQ(r->tool_calls[0].id, "call_a");
  EXPECT_EQ(r->tool_calls[0].name, "calculator");
  EXPECT_EQ(r->tool_calls[0].arguments, R"({"expression":"1+1"})");
  EXPECT_EQ(r->tool_calls[1].id, "call_1");  // missing ids are filled so a reply can name them
  EXPECT_EQ(nlohmann::json::parse(r->tool_calls[1].arguments)["path"], "a.txt");
  EXPECT_EQ(r->tool_calls[2].arguments, "{}");
  EXPECT_EQ(r->output_tokens, 7);
}

TEST(ChatCompletionsTest, MalformedArgumentsTextIsKeptForTheCallerToReport) {
  auto r = ParseChatResponse(R"({"choices":[{"message":{"tool_calls":[
      {"id":"c","function":{"name":"t","arguments":"{not json"}}]}}]})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->tool_calls[0].arguments, "{not json");
}

TEST(ChatCompletionsTest, ToolCallsBeyondTheLimitsAreErrors) {
  auto call = [](const std::string& name, const std::string& args) {
    return nlohmann::json{
        {"id", "c"}, {"type", "function"}, {"function", {{"name", name}, {"arguments", args}}}};
  };
  auto body = [&](nlohmann::json calls) {
    return nlohmann::json{{"choices", {{{"message", {{"tool_calls", calls}}}}}}}.dump();
  };
  nlohmann::json many = nlohmann::json::array();
  for (std::size_t i = 0; i <= kMaxToolCalls; ++i) many.push_back(call("t", "{}"));
  auto r = ParseChatResponse(body(many));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(r.status().message(), HasSubstr("tool calls, more than"));
  // json::array(...), not `{call(...)}`: a one-element braced list is an array in gcc but a copy
  // of the element in clang (nlohmann/json's documented initializer-list ambiguity).
  r = ParseChatResponse(
      body(nlohmann::json::array({call("t", std::string(kMaxToolArgumentBytes + 1, ' '))})));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("arguments"));
  r = ParseChatResponse(
      body(nlohmann::json::array({call(std::string(kMaxToolNameBytes + 1, 'n'), "{}")})));
  EXPECT_FALSE(r.ok());
  r = ParseChatResponse(body(nlohmann::json::array({call("", "{}")})));
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(ParseChatResponse(body(nlohmann::json::object())).ok());
  EXPECT_FALSE(ParseChatResponse(body(nlohmann::json::array({1}))).ok());
  EXPECT_FALSE(ParseChatResponse(body(nlohmann::json::array(
                                     {{{"type", "retrieval"}, {"function", {{"name", "t"}}}}})))
                   .ok());
}

}  // namespace
}  // namespace minion::llm::internal
