#include "minion/llm/guarded_provider.h"

#include "minion/common/clock.h"
#include "minion/logging/logging.h"
#include "minion/metrics/recorder.h"

namespace minion::llm {
namespace {

bool DefaultIsFailure(const Status& s) {
  return !s.ok() && s.code() != StatusCode::kInvalidArgument && s.code() != StatusCode::kCancelled;
}

// Transitions caused on this thread during one guarded call, so they can be traced under that
// call's parent (breaker listeners run synchronously on the calling thread).
thread_local std::vector<resilience::BreakerTransition>* tls_transitions = nullptr;

}  // namespace

GuardedProvider::GuardedProvider(std::shared_ptr<Provider> inner, GuardOptions options)
    : inner_(std::move(inner)), options_(std::move(options)) {
  if (!options_.is_failure) options_.is_failure = DefaultIsFailure;
  if (options_.breaker) {
    const std::string provider = inner_->Name();
    options_.breaker->AddListener([provider](const resilience::BreakerTransition& t) {
      metrics::Recorder& r = metrics::GlobalRecorder();
      r.BreakerState(t.name, static_cast<int>(t.to));
      r.BreakerTransition(t.name, resilience::BreakerStateName(t.from),
                          resilience::BreakerStateName(t.to));
      logging::Log(
          t.to == resilience::BreakerState::kOpen ? logging::Level::kWarn : logging::Level::kInfo,
          "resilience", "circuit breaker state change",
          {{"breaker", t.name},
           {"from", resilience::BreakerStateName(t.from)},
           {"to", resilience::BreakerStateName(t.to)},
           {"reason", t.reason},
           {"provider", provider}});
      if (tls_transitions != nullptr) {
        tls_transitions->push_back(t);
        tls_transitions->back().name = {};  // the name's storage is the breaker's; not needed
      }
    });
    metrics::GlobalRecorder().BreakerState(options_.breaker->name(),
                                           static_cast<int>(options_.breaker->state()));
  }
}

Result<ChatResponse> GuardedProvider::Reject(const trace::Context& parent, const std::string& model,
                                             std::string_view policy, const Status& why) {
  auto [ctx, span] = observability::StartLlmSpan(observability::TracerOrGlobal(options_.tracer),
                                                 parent, inner_->Name(), model);
  span.SetAttribute("error.type", std::string(policy) + "_rejected");
  span.AddEvent("resilience.rejected",
                {{"resilience.policy", std::string(policy)}, {"resilience.reason", why.message()}});
  observability::EndSpan(span, why);
  metrics::Recorder& r = metrics::GlobalRecorder();
  r.LlmRequest(inner_->Name(), model, "rejected", 0, 0, 0, 0);
  r.LlmError(inner_->Name(), model, std::string(policy) + "_rejected");
  return why;
}

Result<ChatResponse> GuardedProvider::Chat(const trace::Context& parent,
                                           const ChatRequest& request) {
  const std::string model = request.model.empty() ? inner_->DefaultModel() : request.model;
  metrics::Recorder& recorder = metrics::GlobalRecorder();
  if (options_.rate_limiter) {
    if (Status s = options_.rate_limiter->TryAcquire(); !s.ok()) {
      recorder.RateLimited(options_.rate_limiter->name());
      return Reject(parent, model, "rate_limiter", s);
    }
  }
  resilience::Bulkhead::Slot slot;
  if (options_.bulkhead) {
    auto acquired = options_.bulkhead->TryAcquire();
    if (!acquired.ok()) {
      recorder.BulkheadRejection(options_.bulkhead->name());
      return Reject(parent, model, "bulkhead", acquired.status());
    }
    slot = std::move(acquired).value();
  }

  std::vector<resilience::BreakerTransition> transitions;
  tls_transitions = &transitions;
  std::optional<resilience::CircuitBreaker::Permit> permit;
  Status rejected;
  if (options_.breaker) {
    auto p = options_.breaker->TryAcquire();
    if (p.ok()) {
      permit = *p;
    } else {
      rejected = p.status();
      recorder.BreakerRejection(options_.breaker->name(), "open");
    }
  }
  Result<ChatResponse> result = InternalError("unreachable");
  double seconds = 0;
  if (rejected.ok()) {
    const std::uint64_t start = SystemClock().MonotonicNanos();
    result = inner_->Chat(parent, request);
    seconds = static_cast<double>(SystemClock().MonotonicNanos() - start) / 1e9;
    if (permit) {
      if (options_.is_failure(result.status())) {
        options_.breaker->OnFailure(*permit);
      } else {
        options_.breaker->OnSuccess(*permit);
      }
    }
  }
  tls_transitions = nullptr;

  if (!transitions.empty()) {
    auto [ctx, span] = observability::StartSpan(
        observability::TracerOrGlobal(options_.tracer), parent,
        "circuit_breaker." + options_.breaker->name(), observability::Component::kLlm);
    for (const auto& t : transitions) {
      span.AddEvent("circuit_breaker.state_change",
                    {{"circuit_breaker.name", options_.breaker->name()},
                     {"circuit_breaker.from", std::string(resilience::BreakerStateName(t.from))},
                     {"circuit_breaker.to", std::string(resilience::BreakerStateName(t.to))},
                     {"circuit_breaker.reason", t.reason}});
    }
    observability::EndSpan(span);
  }
  if (!rejected.ok()) return Reject(parent, model, "circuit_breaker", rejected);

  const std::string& model_label = model;  // the requested model: bounded by configuration
  if (result.ok()) {
    recorder.LlmRequest(inner_->Name(), model_label, "success", seconds, result->input_tokens,
                        result->output_tokens, 0);
  } else {
    recorder.LlmRequest(inner_->Name(), model_label, "error", seconds, 0, 0, 0);
    recorder.LlmError(inner_->Name(), model_label,
                      metrics::ErrorType(static_cast<int>(result.status().code())));
  }
  return result;
}

}  // namespace minion::llm
