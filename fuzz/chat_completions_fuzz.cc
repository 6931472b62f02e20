// Fuzz target: what an OpenAI-compatible endpoint sends back: a response body (success and
// error shapes) and a Retry-After header.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "llm/chat_completions.h"
#include "minion/common/retry.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  (void)minion::llm::internal::ParseChatResponse(body);
  (void)minion::llm::internal::ExtractErrorMessage(body);
  (void)minion::retry::ParseRetryAfter(body.substr(0, 64), 1700000000);
  return 0;
}
