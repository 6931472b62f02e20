#pragma once
// Builds the provider the environment describes, so binaries need no LLM flags:
//
//   MINION_LLM_PROVIDER      "openai" or "offline"; unset: "openai" when a base URL or an API
//                            key is set, otherwise "offline"
//   MINION_LLM_BASE_URL      or OPENAI_BASE_URL (default https://api.openai.com/v1;
//                            Ollama: http://localhost:11434/v1)
//   MINION_LLM_API_KEY       or OPENAI_API_KEY
//   MINION_LLM_MODEL         default gpt-4o-mini (openai), offline-echo-1 (offline)
//   MINION_LLM_TIMEOUT_MS    per attempt, default 60000
//   MINION_LLM_MAX_RETRIES   default 2
//
// An invalid value (unknown provider, non-numeric timeout) is an error naming the variable.

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "minion/common/env.h"
#include "minion/common/status.h"
#include "minion/llm/provider.h"

namespace minion::llm {

Result<std::unique_ptr<Provider>> MakeProviderFromEnv();

// The same, reading variables through `getenv` (tests pass a map lookup).
using EnvLookup = env::Lookup;
Result<std::unique_ptr<Provider>> MakeProviderFromEnv(const EnvLookup& getenv);

}  // namespace minion::llm
