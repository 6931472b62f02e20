#include "minion/agents/message.h"

#include <gtest/gtest.h>

namespace minion::agents {
namespace {

TEST(MessageTest, RoundTripsEveryField) {
  Message m;
  m.id = "msg-1";
  m.type = MessageType::kDelegate;
  m.from = "a";
  m.to = "b";
  m.in_reply_to = "msg-0";
  m.content = {{"x", 1}, {"y", {1, 2, 3}}};
  m.metadata = {{"k", "v"}};
  m.created_at = 1234567890123ULL;
  m.headers = {{"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}};
  auto text = SerializeMessage(m);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  auto back = ParseMessage(*text);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->id, m.id);
  EXPECT_EQ(back->type, MessageType::kDelegate);
  EXPECT_EQ(back->from, "a");
  EXPECT_EQ(back->to, "b");
  EXPECT_EQ(back->in_reply_to, "msg-0");
  EXPECT_EQ(back->content, m.content);
  EXPECT_EQ(back->metadata, m.metadata);
  EXPECT_EQ(back->created_at, m.created_at);
  EXPECT_EQ(back->headers, m.headers);
}

TEST(MessageTest, EveryTypeNameParsesBack) {
  for (std::size_t i = 0; i < kMessageTypeCount; ++i) {
    auto t = static_cast<MessageType>(i);
    auto parsed = ParseMessageType(MessageTypeName(t));
    ASSERT_TRUE(parsed.has_value()) << MessageTypeName(t);
    EXPECT_EQ(*parsed, t);
  }
  EXPECT_EQ(MessageTypeName(MessageType::kTask), "task");
  EXPECT_EQ(MessageTypeName(MessageType::kResult), "result");
  EXPECT_FALSE(ParseMessageType("bogus").has_value());
}

TEST(MessageTest, RejectsMalformedInputWithClearErrors) {
  auto bad_json = ParseMessage("{not json");
  EXPECT_EQ(bad_json.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad_json.status().message().find("not valid JSON"), std::string::npos);

  auto not_object = ParseMessage("[1,2]");
  EXPECT_NE(not_object.status().message().find("JSON object"), std::string::npos);

  auto missing_id = ParseMessage(R"({"type":"task"})");
  EXPECT_NE(missing_id.status().message().find("'id'"), std::string::npos);

  auto bad_type = ParseMessage(R"({"id":"m","type":"teleport"})");
  EXPECT_NE(bad_type.status().message().find("teleport"), std::string::npos);

  auto wrong_field = ParseMessage(R"({"id":"m","type":"task","from":5})");
  EXPECT_NE(wrong_field.status().message().find("'from' must be a string"), std::string::npos);

  auto bad_header = ParseMessage(R"({"id":"m","type":"task","headers":{"traceparent":1}})");
  EXPECT_NE(bad_header.status().message().find("headers.traceparent"), std::string::npos);

  auto negative_time = ParseMessage(R"({"id":"m","type":"task","created_at":-5})");
  EXPECT_NE(negative_time.status().message().find("created_at"), std::string::npos);
}

TEST(MessageTest, EnforcesSizeLimitBothWays) {
  Message m;
  m.id = "big";
  m.type = MessageType::kInform;
  m.content = std::string(1000, 'x');
  auto out = SerializeMessage(m, 500);
  EXPECT_EQ(out.status().code(), StatusCode::kResourceExhausted);
  auto ok = SerializeMessage(m, 5000);
  ASSERT_TRUE(ok.ok());
  auto in = ParseMessage(*ok, 500);
  EXPECT_EQ(in.status().code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(ParseMessage(*ok, 5000).ok());
}

TEST(MessageTest, NewIdsAreUnique) {
  EXPECT_NE(NewMessageId(), NewMessageId());
  EXPECT_EQ(NewMessageId().rfind("msg-", 0), 0u);
}

}  // namespace
}  // namespace minion::agents
