#pragma once
// The GenAI semantic-convention attributes both providers put on their `llm.*` spans.

#include <string_view>

#include "minion/llm/provider.h"
#include "minion/trace/span.h"

namespace minion::llm::internal {

// Request side: gen_ai.operation.name, gen_ai.provider.name, gen_ai.request.*.
void SetRequestAttributes(trace::Span& span, std::string_view provider, std::string_view model,
                          const ChatRequest& request);
// Response side: gen_ai.response.*, gen_ai.usage.*, and the seed's llm.tokens.input/output.
void SetResponseAttributes(trace::Span& span, const ChatResponse& response);

}  // namespace minion::llm::internal
