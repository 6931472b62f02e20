#pragma once
// OtlpGrpcExporter: sends spans to an OTLP/gRPC endpoint (TraceService/Export on an
// OpenTelemetry Collector, Jaeger, Tempo, ...) over grpc++, retrying the transient status codes
// the OTLP specification lists, within each Export call's timeout.
//
// One channel is kept for the exporter's life. Plaintext for http:// and bare host:port
// endpoints (unless `insecure` is false and a CA certificate is configured); TLS for https://.
// Export is serialized internally; ForceFlush, Shutdown and stats() may be called from any
// thread. Shutdown cancels an RPC in flight or a retry wait, is bounded by its timeout and is
// idempotent.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "minion/common/status.h"
#include "minion/exporters/otlp_exporter_stats.h"
#include "minion/exporters/otlp_options.h"
#include "minion/sdk/span_exporter.h"

namespace minion::exporters {

// The counters stats() returns (the same struct as OtlpHttpExporter's; `connections` stays 0).
using OtlpGrpcExporterStats = OtlpExporterStats;

// Where and how to connect, derived from OtlpExporterOptions (exposed for tests and logs).
struct OtlpGrpcTarget {
  std::string authority;  // "host:port" as grpc++ wants it
  bool use_tls = false;
};
// "http://h:p" -> plaintext h:p; "https://h:p" -> TLS; "h:p" -> TLS only when `insecure` is
// false and a CA certificate is configured. A path after host:port is ignored (gRPC has
// none). Fails with kInvalidArgument for other schemes or an empty host.
Result<OtlpGrpcTarget> ResolveOtlpGrpcTarget(const OtlpExporterOptions& options);

// The server-requested delay in a grpc-status-details-bin payload (a serialized
// google.rpc.Status whose details hold a google.rpc.RetryInfo), or nullopt when there is none
// or the bytes are malformed.
std::optional<std::chrono::nanoseconds> ParseGrpcRetryDelay(std::string_view status_details);

class OtlpGrpcExporter final : public sdk::SpanExporter {
 public:
  // Fails with kInvalidArgument for a non-gRPC protocol, a bad endpoint or an unreadable
  // certificate/key file.
  // The concrete type (for stats()); it converts to Result<std::unique_ptr<sdk::SpanExporter>>.
  static Result<std::unique_ptr<OtlpGrpcExporter>> Create(OtlpExporterOptions options);

  ~OtlpGrpcExporter() override;

  // Returns within min(timeout, options.timeout) (plus grpc++'s cancellation latency).
  sdk::ExportResult Export(std::span<const trace::SpanDataPtr> spans,
                           std::chrono::milliseconds timeout) noexcept override;
  Status Shutdown(std::chrono::milliseconds timeout) noexcept override;
  std::string Name() const override { return "otlp-grpc"; }

  OtlpExporterStats stats() const;
  const OtlpExporterOptions& options() const;

  class Impl;

 private:
  explicit OtlpGrpcExporter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace minion::exporters
