// Fuzz target: what an OpenAI-compatible endpoint sends back: a response body (success and
// error shapes, tool calls) and a Retry-After header. A parsed response is fed back as the
// next request's assistant turn, as the tool loop does, so the encoder sees hostile text too.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "llm/chat_completions.h"
#include "minion/common/retry.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  auto parsed = minion::llm::internal::ParseChatResponse(body);
  if (parsed.ok()) {
    minion::llm::ChatRequest next;
    minion::llm::ChatMessage assistant("assistant", parsed->content);
    assistant.tool_calls = parsed->tool_calls;
    next.messages.push_back(std::move(assistant));
    for (const auto& call : parsed->tool_calls) {
      minion::llm::ChatMessage reply("tool", call.arguments);
      reply.tool_call_id = call.id;
      next.messages.push_back(std::move(reply));
    }
    (void)minion::llm::internal::BuildChatRequestBody(next, parsed->model);
  }
  (void)minion::llm::internal::ExtractErrorMessage(body);
  (void)minion::retry::ParseRetryAfter(body.substr(0, 64), 1700000000);
  return 0;
}
