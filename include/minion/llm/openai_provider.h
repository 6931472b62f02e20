#pragma once
// OpenAIProvider: a client for the OpenAI chat-completions API (POST {base_url}/chat/completions)
// that also speaks to the servers that copy it: Ollama (http://localhost:11434/v1), vLLM and the
// llama.cpp server. Retries 429 and 5xx answers (and transport failures) with exponential
// backoff that honours Retry-After. Thread-safe: each Chat call uses its own connection.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>

#include "minion/llm/provider.h"
#include "minion/observability/tracing.h"
#include "minion/resilience/retry.h"

namespace minion::llm {

struct OpenAIProviderOptions {
  // Up to and including the version segment: "https://api.openai.com/v1".
  std::string base_url = "https://api.openai.com/v1";
  std::string api_key;  // empty: no Authorization header (local servers)
  std::string model = "gpt-4o-mini";
  // The whole of one HTTP attempt (connect, send, wait, read).
  std::chrono::milliseconds timeout{60000};
  // Attempts after the first one; 0 disables retrying.
  int max_retries = 2;

  // Backoff before retry n (1 = the first retry) is retry::Backoff's ceiling without jitter,
  // initial_backoff * 2^(n-1) at most max_backoff, unless the server sent Retry-After, which wins
  // (capped at max_retry_after: a server asking for longer gets the error instead of a stalled
  // worker).
  std::chrono::milliseconds initial_backoff{500};
  std::chrono::milliseconds max_backoff{8000};
  std::chrono::milliseconds max_retry_after{60000};
  // Bounds the retries across every call sharing it (resilience::RetryBudget: each call deposits
  // `ratio`, each retry withdraws a token), so a burst of 5xx cannot multiply the load on a
  // struggling server by 1 + max_retries. Empty bucket: the failure is returned at once, with
  // "retry budget exhausted" in the error and a span event. Null: no budget (max_retries only).
  // MakeProviderFromEnv gives each provider one (20% of calls, bucket of 10).
  std::shared_ptr<resilience::RetryBudget> retry_budget;
  // How the provider waits between attempts; tests inject one that records and returns.
  std::function<void(std::chrono::milliseconds)> sleep;
  // The <provider> in span names and gen_ai.provider.name ("openai" for every compatible
  // server unless told otherwise, e.g. "ollama").
  std::string provider_name = "openai";
  // Send the llm span's W3C traceparent/tracestate with each request (never baggage, which may
  // hold data not meant for a third party), so a tracing proxy or self-hosted server joins the
  // trace.
  bool inject_trace_context = true;
  // Where spans go; null: observability::GetTracer() at each call.
  std::shared_ptr<trace::Tracer> tracer;
};

class OpenAIProvider final : public Provider {
 public:
  explicit OpenAIProvider(OpenAIProviderOptions options);
  ~OpenAIProvider() override;

  std::string Name() const override { return options_.provider_name; }
  std::string DefaultModel() const override { return options_.model; }
  // Honours request.stop as the overload below does.
  Result<ChatResponse> Chat(const trace::Context& parent, const ChatRequest& request) override;
  // Chat that gives up when `stop` is requested (pass Subtask::stop_token from a worker): the
  // HTTP request in flight is aborted from libcurl's transfer-progress callback, which libcurl
  // calls at least once a second even while waiting for the server, so the call returns within
  // about a second; no retry starts, the default backoff wait is cut short (an injected
  // `sleep` is not), and the call fails with Cancelled (error.type "cancelled").
  Result<ChatResponse> Chat(const trace::Context& parent, const ChatRequest& request,
                            std::stop_token stop);

  const OpenAIProviderOptions& options() const { return options_; }

 private:
  OpenAIProviderOptions options_;
  bool default_sleep_ = false;  // options_.sleep is ours, so a stop request may interrupt it
};

}  // namespace minion::llm
