#pragma once
// Tracer and TracerProvider: the API instrumented code uses. The SDK (minion/sdk) implements
// them; the no-op implementations here are what the global tracer returns until one is set.

#include <chrono>
#include <initializer_list>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "minion/trace/context.h"
#include "minion/trace/span.h"

namespace minion::trace {

struct SpanStartOptions {
  SpanKind kind = SpanKind::kInternal;
  // The parent. nullptr: the thread's current context (Context::Current()).
  const Context* parent = nullptr;
  // Start a new trace even if a parent is available.
  bool new_root = false;
  // 0 means now.
  UnixNanos start_time = 0;
  // Links to other spans (batch consumers, fan-in).
  std::span<const SpanContext> links = {};
};

// Thread-safe: StartSpan may be called from any thread.
class Tracer {
 public:
  virtual ~Tracer() = default;
  virtual Span StartSpan(std::string_view name, std::initializer_list<KeyValueView> attributes,
                         const SpanStartOptions& options) noexcept = 0;
  Span StartSpan(std::string_view name, const SpanStartOptions& options = {}) noexcept {
    return StartSpan(name, {}, options);
  }
  Span StartSpan(std::string_view name, std::initializer_list<KeyValueView> attributes) noexcept {
    return StartSpan(name, attributes, SpanStartOptions{});
  }
  // False when every span would be dropped (no-op tracer, provider shut down).
  virtual bool Enabled() const noexcept { return true; }
};

// Thread-safe. Owns tracers; a Tracer stays valid while its shared_ptr lives.
class TracerProvider {
 public:
  virtual ~TracerProvider() = default;
  virtual std::shared_ptr<Tracer> GetTracer(std::string_view name, std::string_view version = {},
                                            std::string_view schema_url = {}) = 0;
  virtual bool ForceFlush(std::chrono::microseconds timeout = std::chrono::seconds(5)) noexcept {
    (void)timeout;
    return true;
  }
  virtual bool Shutdown(std::chrono::microseconds timeout = std::chrono::seconds(5)) noexcept {
    (void)timeout;
    return true;
  }
};

// Returns non-recording spans that carry the parent's context through (so propagation still
// works with tracing disabled).
class NoopTracer final : public Tracer {
 public:
  using Tracer::StartSpan;
  Span StartSpan(std::string_view name, std::initializer_list<KeyValueView> attributes,
                 const SpanStartOptions& options) noexcept override;
  bool Enabled() const noexcept override { return false; }
};

class NoopTracerProvider final : public TracerProvider {
 public:
  std::shared_ptr<Tracer> GetTracer(std::string_view, std::string_view, std::string_view) override;
};

// The documented process-wide provider (the only hidden global). Defaults to a no-op provider.
// Thread-safe; setting it does not affect tracers obtained earlier.
std::shared_ptr<TracerProvider> GetGlobalTracerProvider();
void SetGlobalTracerProvider(std::shared_ptr<TracerProvider> provider);

}  // namespace minion::trace
