#include <gtest/gtest.h>

#include "minion/logging/redact.h"

namespace minion::logging {
namespace {

TEST(RedactTest, SecretsAreReplacedAndTheRestKept) {
  const std::pair<std::string, std::string> cases[] = {
      {"GET https://user:pw@host/x", "GET https://[REDACTED]@host/x"},
      {"redis://:secretpw@127.0.0.1:6379/0", "redis://[REDACTED]@127.0.0.1:6379/0"},
      {"Authorization: Bearer abc.def", "Authorization: Bearer [REDACTED]"},
      {"authorization=Basic dXNlcjpwdw==, next", "authorization=Basic [REDACTED], next"},
      {"password=hunter2 user=bob", "password=[REDACTED] user=bob"},
      {"{\"api_key\": \"sk-1\", \"model\": \"m\"}",
       "{\"api_key\": \"[REDACTED]\", \"model\": \"m\"}"},
      {"OPENAI_API_KEY=sk-xyz", "OPENAI_API_KEY=[REDACTED]"},
      {"x-api-key: k1", "x-api-key: [REDACTED]"},
      {"refresh_token='t0k' rest", "refresh_token='[REDACTED]' rest"},
      {"input_tokens=5 max_tokens: 7", "input_tokens=5 max_tokens: 7"},
      {"no secrets at all", "no secrets at all"},
      {"mail bob@example.com", "mail bob@example.com"},
      {"http://host/path@x", "http://host/path@x"},
      {"token:", "token:"},
  };
  for (const auto& [in, want] : cases) EXPECT_EQ(RedactSecrets(in), want) << in;
}

TEST(RedactTest, SecretKeys) {
  EXPECT_TRUE(IsSecretKey("api_key"));
  EXPECT_TRUE(IsSecretKey("X-Api-Key"));
  EXPECT_TRUE(IsSecretKey("Authorization"));
  EXPECT_TRUE(IsSecretKey("db_password"));
  EXPECT_FALSE(IsSecretKey("tokens"));
  EXPECT_FALSE(IsSecretKey("model"));
}

TEST(RedactTest, NothingToRedactLeavesTheOutputAlone) {
  std::string out = "prefix";
  EXPECT_FALSE(RedactSecretsTo("plain text", out));
  EXPECT_EQ(out, "prefix");
  EXPECT_TRUE(RedactSecretsTo("password=x", out));
  EXPECT_EQ(out, "prefixpassword=[REDACTED]");
}

}  // namespace
}  // namespace minion::logging
