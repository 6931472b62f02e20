#pragma once
// The chat-completions wire format, apart from the HTTP plumbing so it can be tested alone.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "minion/common/status.h"
#include "minion/llm/provider.h"

namespace minion::llm::internal {

// The JSON body for POST /chat/completions: messages (with assistant tool_calls and `tool`
// replies), tools and tool_choice when set. Invalid UTF-8 anywhere becomes U+FFFD.
std::string BuildChatRequestBody(const ChatRequest& request, const std::string& model);

// Parses a 2xx body: choices[0].message.content and tool_calls, finish_reason, usage, id,
// model. A body that is not JSON or has no choices, or tool calls beyond the limits in
// provider.h (count, name, id and arguments sizes), is a DataLoss error that says which.
Result<ChatResponse> ParseChatResponse(std::string_view body);

// error.message from an error body ({"error":{"message":...}}, Ollama's {"error":"..."}), or a
// trimmed prefix of the raw body when it is not JSON.
std::string ExtractErrorMessage(std::string_view body);

// The status code an HTTP error maps to (401 -> UNAUTHENTICATED, 429 -> RESOURCE_EXHAUSTED...).
StatusCode StatusCodeForHttp(long http_status);
// 408, 409, 429 and 5xx are worth another attempt.
bool IsRetryableHttp(long http_status);

}  // namespace minion::llm::internal
