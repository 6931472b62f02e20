#pragma once
// Exports each span synchronously as it ends, one at a time (a mutex serialises Export). For
// tests and debugging; production code wants BatchSpanProcessor, which never blocks the caller.

#include <memory>
#include <mutex>

#include "minion/sdk/span_exporter.h"
#include "minion/sdk/span_processor.h"

namespace minion::sdk {

class SimpleSpanProcessor final : public SpanProcessor {
 public:
  explicit SimpleSpanProcessor(std::unique_ptr<SpanExporter> exporter,
                               std::chrono::milliseconds export_timeout = std::chrono::seconds(30));
  void OnEnd(trace::SpanDataPtr span) noexcept override;
  Status ForceFlush(std::chrono::milliseconds timeout) noexcept override;
  Status Shutdown(std::chrono::milliseconds timeout) noexcept override;

 private:
  std::mutex mu_;
  std::unique_ptr<SpanExporter> exporter_;  // guarded by mu_
  std::chrono::milliseconds export_timeout_;
  bool shut_down_ = false;  // guarded by mu_
};

}  // namespace minion::sdk
