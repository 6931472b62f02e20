#include "minion/trace/context.h"

namespace minion::trace {
namespace {

Context& CurrentSlot() {
  thread_local Context current;
  return current;
}

const Baggage& EmptyBaggage() {
  static const Baggage* empty = new Baggage();
  return *empty;
}

const TraceState& EmptyTraceState() {
  static const TraceState* empty = new TraceState();
  return *empty;
}

}  // namespace

const SpanContext& SpanContext::Invalid() {
  static const SpanContext* invalid = new SpanContext();
  return *invalid;
}

const TraceState& SpanContext::trace_state() const noexcept {
  return trace_state_ ? *trace_state_ : EmptyTraceState();
}

Context Context::Current() noexcept { return CurrentSlot(); }

const Context& Context::CurrentRef() noexcept { return CurrentSlot(); }

const Baggage& Context::baggage() const noexcept { return baggage_ ? *baggage_ : EmptyBaggage(); }

Scope Context::Attach() const { return Scope(*this); }

Scope::Scope(const Context& next) : previous_(CurrentSlot()) { CurrentSlot() = next; }

Scope::~Scope() {
  if (active_) CurrentSlot() = std::move(previous_);
}

}  // namespace minion::trace
