#pragma once
// SpanProcessor: sees every recording span at start and end and decides what happens to it
// (export now, batch, hold for tail sampling). Implementations are thread-safe: OnStart/OnEnd
// are called concurrently from application threads and must not block them.

#include <chrono>
#include <memory>
#include <vector>

#include "minion/common/status.h"
#include "minion/trace/context.h"
#include "minion/trace/span_data.h"

namespace minion::sdk {

class SpanProcessor {
 public:
  SpanProcessor() = default;
  SpanProcessor(const SpanProcessor&) = delete;
  SpanProcessor& operator=(const SpanProcessor&) = delete;
  virtual ~SpanProcessor() = default;

  // Whether OnStart needs calling; lets the tracer skip a virtual call per span.
  virtual bool WantsOnStart() const noexcept { return false; }
  virtual void OnStart(trace::SpanData& span, const trace::Context& parent) noexcept {
    (void)span;
    (void)parent;
  }
  // Takes ownership of the ended span's record.
  virtual void OnEnd(trace::SpanDataPtr span) noexcept = 0;
  virtual Status ForceFlush(std::chrono::milliseconds timeout) noexcept = 0;
  // Idempotent; flushes what is queued within `timeout`, then stops background work.
  virtual Status Shutdown(std::chrono::milliseconds timeout) noexcept = 0;
};

// Fans spans out to several processors (each but the last receives a copy).
class MultiSpanProcessor final : public SpanProcessor {
 public:
  explicit MultiSpanProcessor(std::vector<std::unique_ptr<SpanProcessor>> processors);
  bool WantsOnStart() const noexcept override { return wants_on_start_; }
  void OnStart(trace::SpanData& span, const trace::Context& parent) noexcept override;
  void OnEnd(trace::SpanDataPtr span) noexcept override;
  Status ForceFlush(std::chrono::milliseconds timeout) noexcept override;
  Status Shutdown(std::chrono::milliseconds timeout) noexcept override;

 private:
  std::vector<std::unique_ptr<SpanProcessor>> processors_;
  bool wants_on_start_ = false;
};

}  // namespace minion::sdk
