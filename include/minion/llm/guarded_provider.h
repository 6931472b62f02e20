#pragma once
// GuardedProvider: a Provider decorator that puts the resilience policies around every model
// call and counts it in the process-wide metrics recorder (minion_llm_*). Policies, all
// optional, checked in this order: rate limiter, bulkhead, circuit breaker. A call refused by
// any of them is never sent: it gets its own `llm.<provider>.<model>` CLIENT span with status
// ERROR saying which policy refused it and why, and an event `resilience.rejected`. A breaker
// state change caused by a call is recorded as a `circuit_breaker.state_change` event (from,
// to, reason) on a `circuit_breaker.<name>` span under the call's parent, so the trace shows
// when and why the breaker moved. Thread-safe.

#include <memory>
#include <string>

#include "minion/llm/provider.h"
#include "minion/observability/tracing.h"
#include "minion/resilience/circuit_breaker.h"
#include "minion/resilience/limits.h"

namespace minion::llm {

struct GuardOptions {
  std::shared_ptr<resilience::CircuitBreaker> breaker;    // null: none
  std::shared_ptr<resilience::RateLimiter> rate_limiter;  // null: none
  std::shared_ptr<resilience::Bulkhead> bulkhead;         // null: none
  std::shared_ptr<trace::Tracer> tracer;  // null: observability::GetTracer() at each span
  // Which failures count against the breaker: by default all but InvalidArgument (our own bad
  // request) and Cancelled (the caller gave up), which say nothing about the provider's health.
  std::function<bool(const Status&)> is_failure;
};

class GuardedProvider final : public Provider {
 public:
  GuardedProvider(std::shared_ptr<Provider> inner, GuardOptions options = {});

  std::string Name() const override { return inner_->Name(); }
  std::string DefaultModel() const override { return inner_->DefaultModel(); }
  Result<ChatResponse> Chat(const trace::Context& parent, const ChatRequest& request) override;

  Provider& inner() { return *inner_; }

 private:
  Result<ChatResponse> Reject(const trace::Context& parent, const std::string& model,
                              std::string_view policy, const Status& why);

  std::shared_ptr<Provider> inner_;
  GuardOptions options_;
};

}  // namespace minion::llm
