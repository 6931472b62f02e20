#pragma once
// OtlpHttpExporter: sends spans to an OTLP/HTTP endpoint (an OpenTelemetry Collector, Jaeger,
// Tempo, ...) as binary protobuf or OTLP/JSON, optionally gzip-compressed, retrying transient
// failures within each Export call's timeout.
//
// One libcurl handle is kept for the exporter's life so the TCP (and TLS) connection is reused.
// Export is serialized internally; ForceFlush, Shutdown and stats() may be called from any
// thread. Shutdown interrupts a retry wait or a request in flight and is idempotent.

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "minion/common/status.h"
#include "minion/exporters/otlp_exporter_stats.h"
#include "minion/exporters/otlp_options.h"
#include "minion/sdk/span_exporter.h"

namespace minion::exporters {

class OtlpHttpExporter final : public sdk::SpanExporter {
 public:
  // Fails with kInvalidArgument for a gRPC protocol or an endpoint that is not an
  // http(s):// URL, and with kInternal if libcurl cannot be initialized.
  // The concrete type (for stats()); it converts to Result<std::unique_ptr<sdk::SpanExporter>>.
  static Result<std::unique_ptr<OtlpHttpExporter>> Create(OtlpExporterOptions options);

  ~OtlpHttpExporter() override;

  // Returns within min(timeout, options.timeout) (plus libcurl's abort latency of a few ms).
  sdk::ExportResult Export(std::span<const trace::SpanDataPtr> spans,
                           std::chrono::milliseconds timeout) noexcept override;
  Status Shutdown(std::chrono::milliseconds timeout) noexcept override;
  std::string Name() const override { return "otlp-http"; }

  OtlpExporterStats stats() const;
  const OtlpExporterOptions& options() const;

  class Impl;

 private:
  explicit OtlpHttpExporter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace minion::exporters
