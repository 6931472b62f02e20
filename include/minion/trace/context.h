#pragma once
// Context: what a call passes down to its callees so that spans they start become children
// (the seed's `ctx`). Holds the active span's SpanContext and the baggage. A small value type.
//
// Code that cannot pass a Context explicitly can make one current for the calling thread with
// `Attach()`, which returns a Scope restoring the previous one; `Context::Current()` reads it.
// Scopes must be destroyed in reverse order of creation on the thread that created them.

#include <memory>

#include "minion/trace/baggage.h"
#include "minion/trace/span_context.h"

namespace minion::trace {

class Span;
class Scope;

class Context {
 public:
  Context() = default;
  explicit Context(SpanContext span_context, std::shared_ptr<const Baggage> baggage = nullptr)
      : span_context_(std::move(span_context)), baggage_(std::move(baggage)) {}

  // The calling thread's current context (an empty Context if none was attached).
  static Context Current() noexcept;
  // The same without a copy, for hot paths: the reference is valid until the calling thread
  // attaches or detaches a context (creates or destroys a Scope).
  static const Context& CurrentRef() noexcept;

  // A copy whose active span is `span` / `span_context`.
  Context WithSpan(const Span& span) const;
  Context WithSpanContext(SpanContext span_context) const {
    return Context(std::move(span_context), baggage_);
  }
  Context WithBaggage(Baggage baggage) const {
    return Context(span_context_, std::make_shared<const Baggage>(std::move(baggage)));
  }

  // Invalid when no span is active.
  const SpanContext& span_context() const noexcept { return span_context_; }
  bool HasSpan() const noexcept { return span_context_.IsValid(); }
  const Baggage& baggage() const noexcept;
  const std::shared_ptr<const Baggage>& baggage_ptr() const noexcept { return baggage_; }

  // Makes this context current on this thread until the returned Scope is destroyed.
  [[nodiscard]] Scope Attach() const;

 private:
  SpanContext span_context_;
  std::shared_ptr<const Baggage> baggage_;
};

class Scope {
 public:
  Scope(Scope&& other) noexcept : previous_(std::move(other.previous_)), active_(other.active_) {
    other.active_ = false;
  }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;
  Scope& operator=(Scope&&) = delete;
  ~Scope();

 private:
  friend class Context;
  explicit Scope(const Context& next);
  Context previous_;
  bool active_ = true;
};

}  // namespace minion::trace
