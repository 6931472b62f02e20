#include "llm/genai_span.h"

#include <string>
#include <vector>

namespace minion::llm::internal {

void SetRequestAttributes(trace::Span& span, std::string_view provider, std::string_view model,
                          const ChatRequest& request) {
  if (!span.IsRecording()) return;
  span.SetAttribute("gen_ai.operation.name", "chat");
  span.SetAttribute("gen_ai.provider.name", provider);
  span.SetAttribute("gen_ai.request.model", model);
  span.SetAttribute("gen_ai.request.temperature", request.temperature);
  if (request.max_tokens > 0) span.SetAttribute("gen_ai.request.max_tokens", request.max_tokens);
  span.SetAttribute("gen_ai.output.type", request.json_response ? "json" : "text");
}

void SetResponseAttributes(trace::Span& span, const ChatResponse& response) {
  if (!span.IsRecording()) return;
  if (!response.model.empty()) span.SetAttribute("gen_ai.response.model", response.model);
  if (!response.response_id.empty()) span.SetAttribute("gen_ai.response.id", response.response_id);
  if (!response.finish_reason.empty()) {
    const std::vector<std::string> reasons{response.finish_reason};
    span.SetAttribute("gen_ai.response.finish_reasons", reasons);
  }
  span.SetAttribute("gen_ai.usage.input_tokens", response.input_tokens);
  span.SetAttribute("gen_ai.usage.output_tokens", response.output_tokens);
}

}  // namespace minion::llm::internal
