#include "minion/llm/factory.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "minion/llm/offline_provider.h"
#include "minion/llm/openai_provider.h"

namespace minion::llm {
namespace {

EnvLookup Env(std::map<std::string, std::string> vars) {
  return [vars](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(FactoryTest, NothingSetMeansOffline) {
  auto p = MakeProviderFromEnv(Env({}));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)->Name(), "offline");
  EXPECT_EQ((*p)->DefaultModel(), "offline-echo-1");
}

TEST(FactoryTest, OllamaBaseUrlWithoutKey) {
  auto p = MakeProviderFromEnv(
      Env({{"OPENAI_BASE_URL", "http://localhost:11434/v1"}, {"MINION_LLM_MODEL", "llama3.2"}}));
  ASSERT_TRUE(p.ok());
  auto* openai = dynamic_cast<OpenAIProvider*>(p->get());
  ASSERT_NE(openai, nullptr);
  EXPECT_EQ(openai->options().base_url, "http://localhost:11434/v1");
  EXPECT_EQ(openai->options().api_key, "");
  EXPECT_EQ(openai->DefaultModel(), "llama3.2");
}

TEST(FactoryTest, MinionVariablesWinOverOpenAiOnes) {
  auto p = MakeProviderFromEnv(Env({{"OPENAI_BASE_URL", "http://a/v1"},
                                    {"MINION_LLM_BASE_URL", "http://b/v1"},
                                    {"OPENAI_API_KEY", "k1"},
                                    {"MINION_LLM_API_KEY", "k2"},
                                    {"MINION_LLM_TIMEOUT_MS", "1500"},
                                    {"MINION_LLM_MAX_RETRIES", "0"}}));
  ASSERT_TRUE(p.ok());
  auto* openai = dynamic_cast<OpenAIProvider*>(p->get());
  ASSERT_NE(openai, nullptr);
  EXPECT_EQ(openai->options().base_url, "http://b/v1");
  EXPECT_EQ(openai->options().api_key, "k2");
  EXPECT_EQ(openai->options().timeout, std::chrono::milliseconds(1500));
  EXPECT_EQ(openai->options().max_retries, 0);
  EXPECT_EQ(openai->Name(), "openai");
}

TEST(FactoryTest, KeyAloneMeansOpenAiDefaultUrl) {
  auto p = MakeProviderFromEnv(Env({{"OPENAI_API_KEY", "sk-1"}}));
  ASSERT_TRUE(p.ok());
  auto* openai = dynamic_cast<OpenAIProvider*>(p->get());
  ASSERT_NE(openai, nullptr);
  EXPECT_EQ(openai->options().base_url, "https://api.openai.com/v1");
}

TEST(FactoryTest, ExplicitOfflineWinsOverKeys) {
  auto p =
      MakeProviderFromEnv(Env({{"OPENAI_API_KEY", "sk-1"}, {"MINION_LLM_PROVIDER", "offline"}}));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)->Name(), "offline");
}

TEST(FactoryTest, InvalidValuesNameTheVariable) {
  auto bad_provider = MakeProviderFromEnv(Env({{"MINION_LLM_PROVIDER", "gpt"}}));
  ASSERT_FALSE(bad_provider.ok());
  EXPECT_THAT(bad_provider.status().message(), ::testing::HasSubstr("MINION_LLM_PROVIDER"));
  auto bad_timeout =
      MakeProviderFromEnv(Env({{"OPENAI_API_KEY", "k"}, {"MINION_LLM_TIMEOUT_MS", "10s"}}));
  ASSERT_FALSE(bad_timeout.ok());
  EXPECT_THAT(bad_timeout.status().message(), ::testing::HasSubstr("MINION_LLM_TIMEOUT_MS"));
  auto bad_url = MakeProviderFromEnv(Env({{"MINION_LLM_BASE_URL", "localhost:11434"}}));
  ASSERT_FALSE(bad_url.ok());
}

}  // namespace
}  // namespace minion::llm
