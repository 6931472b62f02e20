#pragma once
// LLM providers: the plug-in point workers and planners use to ask a model something.
// Implementations are thread-safe. Each call opens an `llm.<provider>.<model>` span (CLIENT)
// under `parent` with token counts and the OpenTelemetry GenAI attributes.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

#include "minion/common/status.h"
#include "minion/trace/context.h"

namespace minion::llm {

// A function call the model asks for (chat-completions `tool_calls[i]`). `arguments` is the
// JSON text exactly as the model wrote it: it may be invalid JSON, which the caller reports
// back to the model instead of trusting it.
struct ToolCall {
  std::string id;         // the model's id for this call; a `tool` message answers it
  std::string name;       // function name
  std::string arguments;  // JSON text (an object when the model behaves)
};

// A tool offered to the model (chat-completions `tools[i]`, type "function").
struct ToolSpec {
  std::string name;
  std::string description;
  std::string parameters;  // a JSON-schema object as JSON text; empty: {"type":"object"}
};

struct ChatMessage {
  ChatMessage() = default;
  // {"user", "text"} keeps working at every call site now that tool fields exist.
  ChatMessage(std::string role_in, std::string content_in)
      : role(std::move(role_in)), content(std::move(content_in)) {}

  std::string role;  // "system", "user", "assistant", "tool"
  std::string content;
  // role "assistant": the calls the model asked for in this turn (content may be empty).
  std::vector<ToolCall> tool_calls;
  // role "tool": which call this message answers.
  std::string tool_call_id;
};

struct ChatRequest {
  std::vector<ChatMessage> messages;
  std::string model;  // empty: the provider's default
  double temperature = 0.2;
  int max_tokens = 1024;
  bool json_response = false;  // ask for a JSON object (response_format) where supported
  // Tools the model may call; empty: none offered (and no `tools` key is sent).
  std::vector<ToolSpec> tools;
  // "auto", "none", "required", or a tool's name (forces that function); empty: not sent.
  std::string tool_choice;
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
  // The calls the model asked for (finish_reason "tool_calls"); at most kMaxToolCalls.
  std::vector<ToolCall> tool_calls;
  std::string model;  // as the server reported it
  std::string finish_reason;
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  std::string response_id;
};

// Bounds on what a model may ask for in one response: more calls, or a longer arguments text,
// make the response an error (DataLoss) rather than a memory or time sink.
inline constexpr std::size_t kMaxToolCalls = 32;
inline constexpr std::size_t kMaxToolArgumentBytes = 256u << 10;
inline constexpr std::size_t kMaxToolNameBytes = 64;  // the chat-completions limit on names
inline constexpr std::size_t kMaxToolCallIdBytes = 256;

class Provider {
 public:
  virtual ~Provider() = default;
  // "openai", "offline", ... (the <provider> in the span name and gen_ai.provider.name)
  virtual std::string Name() const = 0;
  virtual std::string DefaultModel() const = 0;
  virtual Result<ChatResponse> Chat(const trace::Context& parent, const ChatRequest& request) = 0;
};

}  // namespace minion::llm
