#pragma once
// SpanExporter: the plug-in point that sends finished spans somewhere (OTLP, Jaeger, stdout,
// memory). Called by one processor thread at a time; Export is never called concurrently with
// itself by minion's processors, but ForceFlush/Shutdown may come from other threads.

#include <chrono>
#include <span>
#include <string>

#include "minion/common/status.h"
#include "minion/trace/span_data.h"

namespace minion::sdk {

enum class ExportResult { kSuccess, kFailure };

class SpanExporter {
 public:
  SpanExporter() = default;
  SpanExporter(const SpanExporter&) = delete;
  SpanExporter& operator=(const SpanExporter&) = delete;
  virtual ~SpanExporter() = default;

  // Sends `spans` (read-only; the caller keeps ownership) and returns within `timeout`.
  // Retries, if any, happen inside and also within `timeout`.
  virtual ExportResult Export(std::span<const trace::SpanDataPtr> spans,
                              std::chrono::milliseconds timeout) noexcept = 0;
  virtual Status ForceFlush(std::chrono::milliseconds timeout) noexcept {
    (void)timeout;
    return Status::Ok();
  }
  // Idempotent. After Shutdown, Export returns kFailure without doing anything.
  virtual Status Shutdown(std::chrono::milliseconds timeout) noexcept = 0;
  // A short name for logs and the stdout summary: "otlp-http", "jaeger", ...
  virtual std::string Name() const = 0;
};

}  // namespace minion::sdk
