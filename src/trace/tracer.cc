#include "minion/trace/tracer.h"

#include <atomic>
#include <mutex>

namespace minion::trace {

Span NoopTracer::StartSpan(std::string_view, std::initializer_list<KeyValueView>,
                           const SpanStartOptions& options) noexcept {
  if (options.new_root) return Span();
  // Carry the parent through so that context still propagates with tracing off.
  if (options.parent) return Span(options.parent->span_context());
  return Span(Context::CurrentRef().span_context());
}

std::shared_ptr<Tracer> NoopTracerProvider::GetTracer(std::string_view, std::string_view,
                                                      std::string_view) {
  static std::shared_ptr<Tracer> tracer = std::make_shared<NoopTracer>();
  return tracer;
}

namespace {
std::mutex& GlobalMutex() {
  static std::mutex* mu = new std::mutex();
  return *mu;
}
std::shared_ptr<TracerProvider>& GlobalSlot() {
  static auto* slot = new std::shared_ptr<TracerProvider>(std::make_shared<NoopTracerProvider>());
  return *slot;
}
}  // namespace

std::shared_ptr<TracerProvider> GetGlobalTracerProvider() {
  std::lock_guard<std::mutex> lock(GlobalMutex());
  return GlobalSlot();
}

void SetGlobalTracerProvider(std::shared_ptr<TracerProvider> provider) {
  std::lock_guard<std::mutex> lock(GlobalMutex());
  GlobalSlot() = provider ? std::move(provider) : std::make_shared<NoopTracerProvider>();
}

}  // namespace minion::trace
