#include "minion/agents/tool_loop.h"

#include <algorithm>
#include <utility>

#include "minion/common/json.h"

namespace minion::agents {
namespace {

using nlohmann::json;

std::string ErrorResult(std::string_view message) {
  return DumpJson(json{{"error", std::string(message)}});
}

// Cuts `text` to `max` bytes without splitting a UTF-8 sequence, and says so.
std::string Bounded(std::string text, std::size_t max) {
  if (text.size() <= max) return text;
  std::size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  text.resize(cut);
  text += "... [truncated: the result was longer than " + std::to_string(max) + " bytes]";
  return text;
}

// The tools offered to the model, or InvalidArgument naming an allowed tool that is missing.
Result<std::vector<llm::ToolSpec>> OfferedTools(const tools::ToolRegistry& registry,
                                                const std::vector<std::string>& allowed) {
  std::vector<tools::ToolInfo> all = registry.List();
  std::vector<llm::ToolSpec> out;
  for (const auto& name : allowed) {
    auto it = std::find_if(all.begin(), all.end(),
                           [&](const tools::ToolInfo& t) { return t.name == name; });
    if (it == all.end())
      return InvalidArgumentError("tool loop: allowed tool \"" + name + "\" is not registered");
  }
  for (const auto& info : all) {
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), info.name) == allowed.end())
      continue;
    out.push_back({info.name, info.description, DumpJson(info.input_schema)});
  }
  return out;
}

class Loop {
 public:
  Loop(const trace::Context& parent, llm::Provider& provider, const tools::ToolRegistry& registry,
       const ToolLoopOptions& options)
      : parent_(parent),
        provider_(provider),
        registry_(registry),
        options_(options),
        clock_(options.clock ? *options.clock : SystemClock()),
        start_(clock_.MonotonicNanos()) {}

  Result<ToolLoopResult> Run(llm::ChatRequest request) {
    if (options_.max_rounds < 1)
      return InvalidArgumentError("tool loop: max_rounds must be at least 1");
    MINION_ASSIGN_OR_RETURN(request.tools, OfferedTools(registry_, options_.allowed_tools));
    ToolLoopResult result;
    for (int round = 1; round <= options_.max_rounds; ++round) {
      MINION_RETURN_IF_ERROR(CheckStop(request));
      // The provider's own deadline is what is left of the loop's, so one slow call cannot
      // outlast the whole loop.
      if (options_.timeout.count() > 0) {
        auto left =
            options_.timeout - std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::nanoseconds(clock_.MonotonicNanos() - start_));
        if (left.count() < 1) left = std::chrono::milliseconds(1);
        if (request.timeout.count() <= 0 || left < request.timeout) request.timeout = left;
      }
      auto response = provider_.Chat(parent_, request);
      if (!response.ok())
        return response.status().WithContext("tool loop round " + std::to_string(round));
      if (options_.on_response) options_.on_response(*response);
      result.rounds = round;
      result.input_tokens += response->input_tokens;
      result.output_tokens += response->output_tokens;
      if (response->tool_calls.empty()) {
        result.final_response = std::move(response).value();
        return result;
      }
      if (round == options_.max_rounds) break;
      llm::ChatMessage assistant("assistant", response->content);
      assistant.tool_calls = response->tool_calls;
      request.messages.push_back(std::move(assistant));
      for (const auto& call : response->tool_calls) {
        MINION_RETURN_IF_ERROR(CheckStop(request));
        ToolCallRecord record = RunOne(call, request.tools);
        llm::ChatMessage reply("tool", record.result);
        reply.tool_call_id = call.id;
        request.messages.push_back(std::move(reply));
        result.calls.push_back(std::move(record));
      }
    }
    return ResourceExhaustedError("tool loop: the model still asked for tools after " +
                                  std::to_string(options_.max_rounds) +
                                  " rounds (the round limit); no final answer");
  }

 private:
  Status CheckStop(const llm::ChatRequest& request) const {
    if (request.stop.stop_requested()) return CancelledError("tool loop cancelled");
    if (options_.timeout.count() > 0) {
      const auto elapsed = std::chrono::nanoseconds(clock_.MonotonicNanos() - start_);
      if (elapsed >= options_.timeout) {
        return DeadlineExceededError("tool loop: the deadline of " +
                                     std::to_string(options_.timeout.count()) + " ms was reached");
      }
    }
    return Status::Ok();
  }

  ToolCallRecord RunOne(const llm::ToolCall& call, const std::vector<llm::ToolSpec>& offered) {
    ToolCallRecord record{call.id, call.name, call.arguments, false, {}};
    const bool is_offered =
        std::any_of(offered.begin(), offered.end(),
                    [&](const llm::ToolSpec& t) { return t.name == call.name; });
    if (!is_offered) {
      // Not through the registry: a made-up name must not become a span name.
      std::string names;
      for (const auto& t : offered) names += (names.empty() ? "" : ", ") + t.name;
      record.result =
          ErrorResult("unknown tool \"" + call.name + "\"; the tools you may call are: " + names);
      return record;
    }
    auto input = ParseJson(call.arguments, "the arguments of " + call.name);
    if (!input.ok()) {
      record.result =
          ErrorResult(input.status().message() + "; send a JSON object matching the tool's schema");
      return record;
    }
    auto output = registry_.Invoke(parent_, call.name, *input, call.id);
    if (!output.ok()) {
      record.result = ErrorResult(output.status().message());
      return record;
    }
    record.ok = true;
    record.result = Bounded(DumpJson(*output), options_.max_result_bytes);
    return record;
  }

  const trace::Context& parent_;
  llm::Provider& provider_;
  const tools::ToolRegistry& registry_;
  const ToolLoopOptions& options_;
  Clock& clock_;
  const std::uint64_t start_;
};

}  // namespace

Result<ToolLoopResult> RunToolLoop(const trace::Context& parent, llm::Provider& provider,
                                   const tools::ToolRegistry& registry, llm::ChatRequest request,
                                   const ToolLoopOptions& options) {
  return Loop(parent, provider, registry, options).Run(std::move(request));
}

}  // namespace minion::agents
