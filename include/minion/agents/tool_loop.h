#pragma once
// The tool-calling loop a worker runs with a model: send the request with the tools the worker
// may use; while the model answers with tool calls, run each through a ToolRegistry (one
// `tool.<name>` span each, under `parent`) and send the results back as `tool` messages; stop
// at the model's final answer or at the round limit.
//
// What the model gets wrong goes back to it, never crashes the worker: an unknown or
// not-allowed tool, arguments that are not JSON or do not match the tool's schema, and a tool
// that fails all become a `tool` message {"error": "..."} the model can act on. What the model
// cannot fix ends the loop with an error: the provider failing, the round limit, the caller's
// stop request or deadline.
//
// RunToolLoop is a function with no state of its own; it is thread-safe when the provider and
// registry are (both are, by their contracts).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "minion/common/clock.h"
#include "minion/common/status.h"
#include "minion/llm/provider.h"
#include "minion/tools/tool.h"
#include "minion/trace/context.h"

namespace minion::agents {

struct ToolLoopOptions {
  // Model calls in one loop. A model that still asks for tools in the last one ends the loop
  // with ResourceExhausted ("round limit"), so a confused model cannot spin forever.
  int max_rounds = 8;
  // Tools the model may call, by name; empty: every tool in the registry. Only these are
  // offered, and a call to any other is answered with an error message.
  std::vector<std::string> allowed_tools;
  // A tool result longer than this (as JSON text) is cut before it goes back to the model.
  std::size_t max_result_bytes = 64u << 10;
  // The whole loop (model calls and tools) ends within this time: DeadlineExceeded; each model
  // call's ChatRequest::timeout is set to what is left of it. Zero: no limit beyond the
  // request's own. Measured on `clock` (null: SystemClock()).
  std::chrono::milliseconds timeout{0};
  Clock* clock = nullptr;
  // Called with every answer the model gives, as soon as it arrives: a caller counting usage
  // sees each call's tokens once, also when a later round fails.
  std::function<void(const llm::ChatResponse&)> on_response;
};

// One tool call the model made, as the loop handled it.
struct ToolCallRecord {
  std::string id;
  std::string name;
  std::string arguments;  // as the model sent them
  bool ok = false;
  std::string result;  // the JSON text sent back to the model (a result or {"error":...})
};

struct ToolLoopResult {
  llm::ChatResponse final_response;   // the answer without tool calls
  std::vector<ToolCallRecord> calls;  // in the order they ran
  int rounds = 0;                     // model calls made
  // Summed over every model call of the loop.
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
};

// Runs the loop. `request` holds the conversation so far (system and user messages) and the
// caller's stop token; its `tools` are replaced by the registry's (filtered by
// allowed_tools). Errors: the provider's error (with context), Cancelled when request.stop is
// requested, DeadlineExceeded past options.timeout, ResourceExhausted at the round limit,
// InvalidArgument for max_rounds < 1 or an allowed tool the registry does not have.
Result<ToolLoopResult> RunToolLoop(const trace::Context& parent, llm::Provider& provider,
                                   const tools::ToolRegistry& registry, llm::ChatRequest request,
                                   const ToolLoopOptions& options = {});

}  // namespace minion::agents
