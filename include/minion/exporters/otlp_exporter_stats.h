#pragma once
// The counters both OTLP exporters (HTTP and gRPC) report through stats(). A value type.

#include <cstdint>

namespace minion::exporters {

// Cumulative counts since the exporter was created.
struct OtlpExporterStats {
  std::uint64_t exported_spans = 0;  // accepted by the server (minus partial rejections)
  std::uint64_t failed_spans = 0;    // in batches that could not be delivered
  std::uint64_t rejected_spans = 0;  // reported by the server in partial_success
  std::uint64_t requests = 0;        // HTTP requests / RPCs attempted, retries included
  std::uint64_t retries = 0;         // requests that were retries of an earlier one
  std::uint64_t failed_exports = 0;  // Export calls that returned kFailure
  // TCP connections opened (1 while keep-alive holds). OTLP/HTTP only: grpc++ does not report
  // its connections, so the gRPC exporter leaves this 0.
  std::uint64_t connections = 0;
};

}  // namespace minion::exporters
