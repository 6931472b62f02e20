#include "minion/llm/factory.h"

#include <charconv>
#include <cstdlib>

#include "minion/llm/offline_provider.h"
#include "minion/llm/openai_provider.h"

namespace minion::llm {
namespace {

std::optional<std::string> NonEmpty(const EnvLookup& getenv, const std::string& name) {
  auto v = getenv(name);
  if (v && v->empty()) return std::nullopt;
  return v;
}

std::optional<std::string> FirstOf(const EnvLookup& getenv, const std::string& a,
                                   const std::string& b) {
  if (auto v = NonEmpty(getenv, a)) return v;
  return NonEmpty(getenv, b);
}

Result<long long> ParseNonNegative(const std::string& name, const std::string& value) {
  long long out = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
  if (ec != std::errc() || ptr != value.data() + value.size() || out < 0) {
    return InvalidArgumentError(name + "=\"" + value + "\" is not a non-negative integer");
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<Provider>> MakeProviderFromEnv(const EnvLookup& getenv) {
  auto base_url = FirstOf(getenv, "MINION_LLM_BASE_URL", "OPENAI_BASE_URL");
  auto api_key = FirstOf(getenv, "MINION_LLM_API_KEY", "OPENAI_API_KEY");
  auto model = NonEmpty(getenv, "MINION_LLM_MODEL");
  std::string kind;
  if (auto p = NonEmpty(getenv, "MINION_LLM_PROVIDER")) {
    kind = *p;
  } else {
    kind = (base_url || api_key) ? "openai" : "offline";
  }

  if (kind == "offline") {
    OfflineProviderOptions options;
    if (model) options.model = *model;
    return std::unique_ptr<Provider>(std::make_unique<OfflineProvider>(std::move(options)));
  }
  if (kind != "openai" && kind != "ollama" && kind != "vllm" && kind != "llamacpp") {
    return InvalidArgumentError("MINION_LLM_PROVIDER=\"" + kind +
                                "\" is unknown; use openai, ollama, vllm, llamacpp or offline");
  }
  OpenAIProviderOptions options;
  options.provider_name = kind;
  if (base_url) {
    options.base_url = *base_url;
  } else if (kind == "ollama") {
    options.base_url = "http://localhost:11434/v1";
  }
  if (options.base_url.rfind("http://", 0) != 0 && options.base_url.rfind("https://", 0) != 0) {
    return InvalidArgumentError("LLM base URL \"" + options.base_url +
                                "\" must start with http:// or https://");
  }
  if (api_key) options.api_key = *api_key;
  if (model) options.model = *model;
  if (auto v = NonEmpty(getenv, "MINION_LLM_TIMEOUT_MS")) {
    MINION_ASSIGN_OR_RETURN(long long ms, ParseNonNegative("MINION_LLM_TIMEOUT_MS", *v));
    if (ms == 0) return InvalidArgumentError("MINION_LLM_TIMEOUT_MS must be positive");
    options.timeout = std::chrono::milliseconds(ms);
  }
  if (auto v = NonEmpty(getenv, "MINION_LLM_MAX_RETRIES")) {
    MINION_ASSIGN_OR_RETURN(long long n, ParseNonNegative("MINION_LLM_MAX_RETRIES", *v));
    options.max_retries = static_cast<int>(std::min<long long>(n, 100));
  }
  // HTTP retries share one budget per provider (20% of calls, bucket of 10), like the
  // orchestrator's subtask retries: a failing server does not get 1 + max_retries times the load.
  options.retry_budget = std::make_shared<resilience::RetryBudget>();
  return std::unique_ptr<Provider>(std::make_unique<OpenAIProvider>(std::move(options)));
}

Result<std::unique_ptr<Provider>> MakeProviderFromEnv() { return MakeProviderFromEnv(env::Get); }

}  // namespace minion::llm
