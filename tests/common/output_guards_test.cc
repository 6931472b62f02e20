// The guards every outside text passes through (issue 8): depth-bounded JSON parsing, JSON
// dumping that survives invalid UTF-8, bounded messages, URL credentials redacted, terminal
// control characters escaped.
#include <gtest/gtest.h>

#include "minion/common/json.h"
#include "minion/common/status.h"
#include "minion/common/text.h"

namespace minion {
namespace {

std::string Nested(std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST(ParseJsonTest, AcceptsUpToTheDepthLimitAndRefusesBeyond) {
  EXPECT_TRUE(ParseJson(Nested(kMaxJsonDepth)).ok());
  auto deep = ParseJson(Nested(kMaxJsonDepth + 1), "--input");
  ASSERT_FALSE(deep.ok());
  EXPECT_EQ(deep.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(deep.status().message().find("--input nests deeper than 64"), std::string::npos)
      << deep.status().message();
  // Far deeper than any stack could copy: refused at parse time, nothing deep is built.
  EXPECT_FALSE(ParseJson(Nested(1000000)).ok());
  EXPECT_FALSE(ParseJson("{\"a\": [1, 2", "workflow").ok());
  EXPECT_EQ(ParseJson("{\"a\": [1, {\"b\": \"c\"}]}").value()["a"][1]["b"], "c");
}

TEST(ParseJsonTest, NestsDeeperThanIgnoresBracketsInStrings) {
  EXPECT_FALSE(JsonNestsDeeperThan("\"" + std::string(500, '[') + "\"", 64));
  EXPECT_TRUE(JsonNestsDeeperThan("text " + Nested(65) + " more", 64));
  EXPECT_FALSE(JsonNestsDeeperThan(Nested(64), 64));
}

TEST(DumpJsonTest, ReplacesInvalidUtf8InsteadOfThrowing) {
  nlohmann::json j = {{"name", std::string("caf\xe9 \xff")}};
  EXPECT_THROW((void)j.dump(), nlohmann::json::type_error);  // what used to abort the process
  const std::string out = DumpJson(j);
  EXPECT_NE(out.find("caf\xef\xbf\xbd"), std::string::npos) << out;
  EXPECT_TRUE(nlohmann::json::accept(out));
}

TEST(TruncateTest, CutsLongMessagesWithACountOnAUtf8Boundary) {
  EXPECT_EQ(text::Truncate("short", 10), "short");
  const std::string long_text = std::string(9, 'a') + "\xc3\xa9" + std::string(100, 'b');
  const std::string cut = text::Truncate(long_text, 10);
  EXPECT_EQ(cut, std::string(9, 'a') + "... (102 more bytes)");
  const Status big = InvalidArgumentError(std::string(500000, 'x'));
  EXPECT_LT(big.ToString().size(), text::kMaxMessageBytes + 100);
  EXPECT_NE(big.ToString().find("more bytes)"), std::string::npos);
}

TEST(RedactUrlsTest, RemovesUserinfoFromEveryUrl) {
  EXPECT_EQ(text::RedactUrls("POST http://alice:s3cret@host:4318/v1/traces: refused"),
            "POST http://REDACTED@host:4318/v1/traces: refused");
  EXPECT_EQ(text::RedactUrls("a https://tok@h/x and grpc://u:p@h2:4317"),
            "a https://REDACTED@h/x and grpc://REDACTED@h2:4317");
  EXPECT_EQ(text::RedactUrls("endpoint \"http://u:p@h\""), "endpoint \"http://REDACTED@h\"");
  // A password containing '@' is still removed whole.
  EXPECT_EQ(text::RedactUrls("http://u:p@ss@h/"), "http://REDACTED@h/");
  EXPECT_EQ(text::RedactUrls("no url, user@example.com"), "no url, user@example.com");
  EXPECT_EQ(text::RedactUrls("http://host/path?q=a@b"), "http://host/path?q=a@b");
  EXPECT_EQ(CancelledError("GET https://bob:pw@example.com/").ToString(),
            "CANCELLED: GET https://REDACTED@example.com/");
}

TEST(EscapeControlTest, EscapesTerminalControlsAndKeepsText) {
  EXPECT_EQ(text::EscapeControl("plain caf\xc3\xa9"), "plain caf\xc3\xa9");
  EXPECT_EQ(text::EscapeControl("\x1b[31mred\x07"), "\\x1b[31mred\\x07");
  EXPECT_EQ(text::EscapeControl("a\nb\tc\rd"), "a\\nb\\tc\\rd");
  EXPECT_EQ(text::EscapeControl("a\nb", /*keep_newlines=*/true), "a\nb");
  EXPECT_EQ(text::EscapeControl("x\xc2\x9b"
                                "2J"),
            "x\\u009b2J");  // C1 CSI
  EXPECT_EQ(text::EscapeControl(std::string("\x7f", 1)), "\\x7f");
}

}  // namespace
}  // namespace minion
