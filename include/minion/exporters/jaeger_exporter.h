#pragma once
// JaegerExporter: sends spans to a Jaeger collector as a Thrift `Batch` (binary protocol)
// POSTed to its HTTP endpoint (/api/traces, Content-Type application/x-thrift), the format the
// Jaeger clients' HTTP sender uses. The mapping follows the OpenTelemetry specification's
// "OpenTelemetry to Jaeger Transformation" (ids as big-endian i64 halves, µs times, span.kind,
// otel.status_code / error=true, events as logs, links as FOLLOWS_FROM references).
//
// Note: Jaeger 1.35 and later also accepts OTLP directly (gRPC on 4317, HTTP on 4318); with a
// current Jaeger, the OTLP exporters are the better choice. This exporter exists for
// collectors that only speak the Jaeger Thrift HTTP API (14268).
//
// Export is retried on HTTP 429/502/503/504 and on connection errors, with exponential
// backoff and jitter, all within the Export timeout; other statuses fail at once. Each span
// resource (normally one per provider) becomes its own Batch. Exports are serialised
// internally; ForceFlush/Shutdown may come from any thread. Shutdown interrupts a backoff wait
// or a request in flight.

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "minion/common/clock.h"
#include "minion/common/status.h"
#include "minion/exporters/retry.h"
#include "minion/sdk/span_exporter.h"

namespace minion::exporters {

struct JaegerExporterOptions {
  // The collector's Thrift-over-HTTP endpoint.
  std::string endpoint = "http://localhost:14268/api/traces";
  // Upper bound for one HTTP request; the Export timeout bounds all attempts together.
  std::chrono::milliseconds timeout{10000};
  // Extra request headers (e.g. an API key for a gateway in front of the collector).
  std::map<std::string, std::string> headers;
  // HTTP basic authentication, sent when `username` is non-empty.
  std::string username;
  std::string password;
  // Attempts, backoff and jitter (shared with the OTLP exporters). When `retry.sleep` is
  // null the exporter waits on its shutdown signal, so Shutdown cuts a backoff short.
  RetryPolicy retry;
  // Not owned; null: SystemClock(). Used for the Export deadline.
  Clock* clock = nullptr;
};

class JaegerExporter final : public sdk::SpanExporter {
 public:
  // Rejects an endpoint that is not http:// or https:// and a non-positive timeout.
  // The concrete type; it converts to Result<std::unique_ptr<sdk::SpanExporter>>.
  static Result<std::unique_ptr<JaegerExporter>> Create(JaegerExporterOptions options);
  ~JaegerExporter() override;

  sdk::ExportResult Export(std::span<const trace::SpanDataPtr> spans,
                           std::chrono::milliseconds timeout) noexcept override;
  Status Shutdown(std::chrono::milliseconds timeout) noexcept override;
  std::string Name() const override { return "jaeger"; }

  class Impl;  // libcurl and the retry loop; private to the .cc

 private:
  explicit JaegerExporter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace minion::exporters
