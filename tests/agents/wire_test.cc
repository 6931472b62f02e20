// The message content kinds (wire.h): round trips, and strict decoding of what a peer on the
// network might send instead.
#include "minion/agents/wire.h"

#include <gtest/gtest.h>

#include <string>

namespace minion::agents {
namespace {

using nlohmann::json;

TEST(WireTest, SubtaskRoundTripsWithItsTimeLimit) {
  Subtask s;
  s.task_id = "task-1";
  s.subtask_id = "replan/a";
  s.name = "a";
  s.capability = "code_generation";
  s.description = "write it";
  s.priority = 8;
  s.attempt = 2;
  s.input = json{{"spec", "GET /users"}};
  s.dependency_outputs = json{{"design", {{"text", "..."}}}};
  s.timeout = std::chrono::milliseconds(1500);
  auto back = DecodeSubtask(EncodeSubtask(s));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->task_id, s.task_id);
  EXPECT_EQ(back->subtask_id, s.subtask_id);
  EXPECT_EQ(back->capability, s.capability);
  EXPECT_EQ(back->priority, 8);
  EXPECT_EQ(back->attempt, 2);
  EXPECT_EQ(back->input, s.input);
  EXPECT_EQ(back->dependency_outputs, s.dependency_outputs);
  EXPECT_EQ(back->timeout, std::chrono::milliseconds(1500));
  // No limit is not sent, and reads back as none.
  s.timeout = std::chrono::milliseconds(0);
  EXPECT_FALSE(EncodeSubtask(s).contains("timeout_ms"));
  EXPECT_EQ(DecodeSubtask(EncodeSubtask(s))->timeout.count(), 0);
}

TEST(WireTest, SubtaskDecodingRejectsWrongTypesAndSizes) {
  Subtask minimal;
  minimal.task_id = "t";
  minimal.subtask_id = "s";
  minimal.capability = "c";
  const json good = EncodeSubtask(minimal);
  auto with = [&](const char* key, json value) {
    json j = good;
    j[key] = std::move(value);
    return DecodeSubtask(j).status();
  };
  EXPECT_TRUE(DecodeSubtask(good).ok());
  EXPECT_EQ(DecodeSubtask(json::array()).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeSubtask(json("text")).status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(with("subtask_id", 7).message().find("'subtask_id' must be a string, got number"),
            std::string::npos);
  EXPECT_NE(with("capability", nullptr).message().find("'capability' is missing"),
            std::string::npos);
  EXPECT_NE(with("priority", "high").message().find("'priority' must be an integer"),
            std::string::npos);
  EXPECT_NE(with("priority", 1e300).message().find("'priority' must be an integer"),
            std::string::npos);
  EXPECT_NE(with("attempt", 0).message().find("'attempt' must be an integer of at least 1"),
            std::string::npos);
  EXPECT_NE(with("attempt", 4294967296LL).message().find("'attempt'"), std::string::npos);
  EXPECT_NE(with("timeout_ms", -5).message().find("'timeout_ms'"), std::string::npos);
  EXPECT_NE(with("dependency_outputs", json::array()).message().find("must be an object"),
            std::string::npos);
  EXPECT_NE(with("task_id", std::string(kMaxWireIdBytes + 1, 'x')).message().find("over the limit"),
            std::string::npos);
  // The error quoting a bad value stays short.
  EXPECT_LT(with("attempt", std::string(100000, 'x')).message().size(), 200u);
}

TEST(WireTest, RepliesRoundTripAsResultOrError) {
  TaskReply ok{"t", "s", "w", Status::Ok(), json{{"text", "done"}}, 0, {}};
  EXPECT_EQ(ReplyType(ok), MessageType::kResult);
  auto back = DecodeReply(MessageType::kResult, EncodeReply(ok));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(back->status.ok());
  EXPECT_EQ(back->output, ok.output);
  EXPECT_EQ(back->worker_id, "w");

  TaskReply failed{"t", "s", "w", DeadlineExceededError("model too slow"), {}, 0, {}};
  EXPECT_EQ(ReplyType(failed), MessageType::kError);
  back = DecodeReply(MessageType::kError, EncodeReply(failed));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->status.code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(back->status.message(), "model too slow");
  // An error without a code is Unknown, as older workers send.
  back = DecodeReply(MessageType::kError, json{{"error", "boom"}});
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->status.code(), StatusCode::kUnknown);
}

TEST(WireTest, ReplyDecodingRejectsGarbage) {
  EXPECT_EQ(DecodeReply(MessageType::kTask, json::object()).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeReply(MessageType::kResult, json::array()).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_FALSE(DecodeReply(MessageType::kError, json{{"code", "INTERNAL"}}).ok());  // no message
  EXPECT_FALSE(DecodeReply(MessageType::kError, json{{"error", 3}}).ok());
  auto unknown =
      DecodeReply(MessageType::kError, json{{"error", "x"}, {"code", std::string(5000, 'Z')}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_LT(unknown.status().message().size(), 200u);
  // "OK" is not an error code: an error reply claiming success is malformed.
  EXPECT_FALSE(DecodeReply(MessageType::kError, json{{"error", "x"}, {"code", "OK"}}).ok());
  EXPECT_FALSE(DecodeReply(MessageType::kResult, json{{"worker_id", json::object()}}).ok());
}

TEST(WireTest, CancelRoundTripsAndLongReasonsAreCut) {
  CancelRequest c{"msg-1", "task-1", "s1", 2, std::string(10000, 'r')};
  json j = EncodeCancel(c);
  ASSERT_TRUE(j.contains("cancel"));
  auto back = DecodeCancel(j);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->message_id, "msg-1");
  EXPECT_EQ(back->attempt, 2);
  EXPECT_LE(back->reason.size(), 1100u);
  EXPECT_FALSE(DecodeCancel(json{{"cancel", {{"message_id", "m"}, {"attempt", "two"}}}}).ok());
  EXPECT_FALSE(DecodeCancel(json{{"cancel", "m"}}).ok());
}

TEST(WireTest, ParseMessageRejectsDeepNestingWithoutRecursing) {
  // A peer's message nested a million levels deep must be an error, not a stack overflow.
  std::string deep = R"({"id":"m","type":"task","content":)";
  deep.append(1000000, '[');
  deep.append(1000000, ']');
  deep += "}";
  auto parsed = ParseMessage(deep);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(parsed.status().message().find("deeper than"), std::string::npos)
      << parsed.status().message();
  // Brackets inside strings do not count.
  std::string text = R"({"id":"m","type":"task","content":")" + std::string(10000, '[') + R"("})";
  EXPECT_TRUE(ParseMessage(text).ok());
  // Moderate nesting is fine.
  std::string ok =
      R"({"id":"m","type":"task","content":)" + std::string(50, '[') + std::string(50, ']') + "}";
  EXPECT_TRUE(ParseMessage(ok).ok());
}

}  // namespace
}  // namespace minion::agents
