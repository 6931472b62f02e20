#pragma once
// OfflineProvider: a deterministic provider that needs no network, for demos, tests and
// air-gapped runs. It answers from the prompt's shape: a planner prompt that asks for JSON
// subtasks gets a valid JSON plan, a coding request a code skeleton, an analysis request an
// analysis, anything else a short summary. The same request always gets the same answer.
// When tools are offered it drives the tool loop the same way a model would, deterministically:
// a coding request asks for write_file (generated/<task slug>.cc or .py, the skeleton as
// content), then, once that succeeded, storage_insert of an artifact record (collection
// "artifacts", key = the file's path), then answers with the skeleton and where it was saved.
// Token counts are counted (whitespace-separated words), not invented. Its spans are named
// `llm.offline.<model>` so nobody mistakes its output for a real model's. Thread-safe.

#include <optional>
#include <string>

#include "minion/llm/provider.h"
#include "minion/observability/tracing.h"

namespace minion::llm {

struct OfflineProviderOptions {
  std::string model = "offline-echo-1";
  // Where spans go; null: observability::GetTracer() at each call.
  std::shared_ptr<trace::Tracer> tracer;
};

class OfflineProvider final : public Provider {
 public:
  OfflineProvider() : OfflineProvider(OfflineProviderOptions{}) {}
  explicit OfflineProvider(OfflineProviderOptions options) : options_(std::move(options)) {}

  std::string Name() const override { return "offline"; }
  std::string DefaultModel() const override { return options_.model; }
  Result<ChatResponse> Chat(const trace::Context& parent, const ChatRequest& request) override;

 private:
  OfflineProviderOptions options_;
};

// The token count the offline provider reports for `text`: its whitespace-separated words.
std::int64_t CountOfflineTokens(std::string_view text);

}  // namespace minion::llm
