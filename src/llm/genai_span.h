#pragma once
// The GenAI semantic-convention attributes both providers put on their `llm.*` spans.

#include <string_view>

#include "minion/llm/provider.h"
#include "minion/trace/span.h"

namespace minion::llm::internal {

// Request side: gen_ai.operation.name, gen_ai.provider.name, gen_ai.request.*.
void SetRequestAttributes(trace::Span& span, std::string_view provider, std::string_view model,
                          const ChatRequest& request);
// Response side: gen_ai.response.* and gen_ai.usage.input_tokens/output_tokens, once. The older
// duplicate llm.tokens.* names are gone: backends summing both counted every token twice, and
// nothing in the tree reads them any more (the UI reads gen_ai.usage.* first; docs/usage.md).
void SetResponseAttributes(trace::Span& span, const ChatResponse& response);

}  // namespace minion::llm::internal
