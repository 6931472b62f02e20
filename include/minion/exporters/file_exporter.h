#pragma once
// FileExporter: appends each exported batch to a file as one OTLP/JSON
// ExportTraceServiceRequest per line (JSON Lines), the format the OpenTelemetry Collector's
// file exporter writes and its otlpjsonfile receiver reads back. Files rotate by size.
//
// Writes go straight to the file descriptor (no user-space buffer), so a line is in the OS
// once Export returns; ForceFlush and Shutdown also fsync it to disk. Thread-safe: Export,
// ForceFlush and Shutdown serialize on one mutex. Shutdown is idempotent.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "minion/common/status.h"
#include "minion/exporters/otlp_options.h"
#include "minion/sdk/span_exporter.h"

namespace minion::exporters {

inline constexpr std::string_view kDefaultFileExporterPath = "./minion-traces.jsonl";

// A value type.
struct FileExporterOptions {
  std::string path = std::string(kDefaultFileExporterPath);
  // The current file is rotated before a line would make it larger than this (a single line
  // larger than the limit is still written, alone in its file).
  std::uint64_t max_bytes = 64ull << 20;
  // Files kept in total, the current one included: path, path.1 (newest rotated), ...,
  // path.<max_files-1>. 1 means no history: the file is truncated when it rotates.
  std::uint32_t max_files = 5;

  using EnvLookup = env::Lookup;
  // MINION_FILE_EXPORTER_PATH, MINION_FILE_EXPORTER_MAX_BYTES (> 0),
  // MINION_FILE_EXPORTER_MAX_FILES (>= 1), from the process environment or `lookup`. An
  // invalid value fails with a message naming the variable.
  static Result<FileExporterOptions> FromEnv(const EnvLookup& lookup = nullptr);
};

struct FileExporterStats {
  std::uint64_t exported_spans = 0;
  std::uint64_t failed_spans = 0;  // in batches that could not be written
  std::uint64_t lines = 0;         // requests written
  std::uint64_t rotations = 0;
};

class FileExporter final : public sdk::SpanExporter {
 public:
  // Opens (creating or appending to) options.path. Fails with a message naming the path when
  // the directory does not exist or is not writable, or when the options are invalid.
  // The concrete type (for stats()); it converts to Result<std::unique_ptr<sdk::SpanExporter>>.
  static Result<std::unique_ptr<FileExporter>> Create(FileExporterOptions options);

  ~FileExporter() override;

  sdk::ExportResult Export(std::span<const trace::SpanDataPtr> spans,
                           std::chrono::milliseconds timeout) noexcept override;
  // fsyncs the current file.
  Status ForceFlush(std::chrono::milliseconds timeout) noexcept override;
  // fsyncs and closes the file.
  Status Shutdown(std::chrono::milliseconds timeout) noexcept override;
  std::string Name() const override { return "file"; }

  FileExporterStats stats() const;
  const FileExporterOptions& options() const;

  class Impl;

 private:
  explicit FileExporter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct ReplayStats {
  std::uint64_t lines_sent = 0;    // answered 2xx
  std::uint64_t lines_failed = 0;  // refused, unreachable, or not JSON objects
  std::string first_error;         // why the first failed line failed
};

// Replays a file written by FileExporter: POSTs each line, unchanged, to an OTLP/HTTP
// endpoint as application/json (OTLP/JSON lines are valid OTLP/HTTP JSON bodies), e.g. to
// load a captured run into a collector later. Uses `options.endpoint` (the full URL, e.g.
// http://localhost:4318/v1/traces), `headers`, `timeout` (per line) and the TLS files; one
// attempt per line. Fails only when the file cannot be read or the endpoint is not a URL.
// Built when libcurl is available (it is whenever the OTLP/HTTP exporter is).
Result<ReplayStats> ReplayOtlpJsonLines(const std::string& path,
                                        const OtlpExporterOptions& options);

}  // namespace minion::exporters
