#pragma once
// Configuration shared by the OTLP exporters (HTTP and gRPC), with the specification's
// environment variables (OTEL_EXPORTER_OTLP_* and the trace-specific OTEL_EXPORTER_OTLP_TRACES_*,
// which win).

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "minion/common/env.h"
#include "minion/common/status.h"
#include "minion/exporters/retry.h"

namespace minion::exporters {

enum class OtlpProtocol { kGrpc, kHttpProtobuf, kHttpJson };
enum class OtlpCompression { kNone, kGzip };

std::string_view OtlpProtocolName(OtlpProtocol p);  // "grpc", "http/protobuf", "http/json"
Result<OtlpProtocol> ParseOtlpProtocol(std::string_view text);

inline constexpr std::string_view kDefaultOtlpHttpEndpoint = "http://localhost:4318/v1/traces";
inline constexpr std::string_view kDefaultOtlpGrpcEndpoint = "http://localhost:4317";
// OTEL_EXPORTER_OTLP_TIMEOUT=0 ("no limit"): the Export call's own timeout is what bounds it.
inline constexpr std::chrono::milliseconds kNoTimeout = std::chrono::hours(24);

// A value type. `endpoint` is the complete URL the exporter uses: for HTTP the full URL
// including the /v1/traces path; for gRPC the server's URL (http:// = plaintext, https:// =
// TLS) or host:port.
struct OtlpExporterOptions {
  std::string endpoint = std::string(kDefaultOtlpHttpEndpoint);
  OtlpProtocol protocol = OtlpProtocol::kHttpProtobuf;
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds timeout{10000};  // per Export call, retries included
  OtlpCompression compression = OtlpCompression::kNone;
  std::string certificate_file;         // PEM CA bundle to verify the server with
  std::string client_key_file;          // PEM private key for mTLS
  std::string client_certificate_file;  // PEM certificate for mTLS
  bool insecure = false;                // gRPC without TLS when the endpoint has no scheme
  RetryPolicy retry;
  Clock* clock = nullptr;  // null: SystemClock(); used for deadlines and Retry-After

  // Returns a variable's value, or nullopt when unset. Empty values count as unset.
  using EnvLookup = env::Lookup;

  // Options from the environment (the process environment, or `lookup` in tests).
  // `default_protocol` applies when neither *_PROTOCOL variable is set ("http/protobuf" per
  // the specification; the gRPC exporter passes "grpc"). An invalid value is not an error
  // (the specification: warn and use the default): a warning naming the variable, the value
  // and the default used goes to stderr and, when given, to `warnings`. Header values are
  // never quoted (they carry tokens). The Result stays for callers; it is always OK today.
  static Result<OtlpExporterOptions> FromEnv(std::string_view default_protocol = "http/protobuf",
                                             const EnvLookup& lookup = nullptr,
                                             std::vector<std::string>* warnings = nullptr);
};

// Parses OTEL_EXPORTER_OTLP_HEADERS syntax: comma-separated key=value, both %-decoded and
// trimmed of surrounding whitespace.
Result<std::vector<std::pair<std::string, std::string>>> ParseOtlpHeaders(std::string_view text);

}  // namespace minion::exporters
