#pragma once
// LLM providers: the plug-in point workers and planners use to ask a model something.
// Implementations are thread-safe. Each call opens an `llm.<provider>.<model>` span (CLIENT)
// under `parent` with token counts and the OpenTelemetry GenAI attributes.

#include <chrono>
#include <cstdint>
#include <memory>
#include <stop_token>
#include <string>
#include <vector>

#include "minion/common/status.h"
#include "minion/trace/context.h"

namespace minion::llm {

struct ChatMessage {
  std::string role;  // "system", "user", "assistant"
  std::string content;
};

struct ChatRequest {
  std::vector<ChatMessage> messages;
  std::string model;          // empty: the provider's default
  double temperature = 0.2;
  int max_tokens = 1024;
  bool json_response = false;  // ask for a JSON object (response_format) where supported
  // Not sent: when stop is requested the provider abandons the call and returns Cancelled
  // (workers pass Subtask::stop_token, so a timed-out subtask stops waiting on the model).
  std::stop_token stop;
  // Not sent: when positive, the whole call — every HTTP attempt and the waits between them —
  // ends within this time and then fails with DeadlineExceeded (workers pass
  // Subtask::time_left, so the provider's own retries stop at the subtask's deadline). Zero:
  // only the provider's per-attempt timeout and retry limits apply.
  std::chrono::milliseconds timeout{0};
};

struct ChatResponse {
  std::string content;
  std::string model;          // as the server reported it
  std::string finish_reason;
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  std::string response_id;
};

class Provider {
 public:
  virtual ~Provider() = default;
  // "openai", "offline", ... (the <provider> in the span name and gen_ai.provider.name)
  virtual std::string Name() const = 0;
  virtual std::string DefaultModel() const = 0;
  virtual Result<ChatResponse> Chat(const trace::Context& parent, const ChatRequest& request) = 0;
};

}  // namespace minion::llm
