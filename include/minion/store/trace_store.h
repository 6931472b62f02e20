#pragma once
// TraceStore: spans received over OTLP, kept in one SQLite database (WAL) and queried by trace
// id or by search (service, operation pattern, duration, time window, attribute conditions with
// numeric comparisons). The storage behind `minion serve`.
//
// Writes go through a bounded queue to one writer thread, which commits several queued requests
// per transaction (group commit). Each request is all-or-nothing: Write() returns OK only once
// every span of it is durable in the WAL, and a request refused for a full queue stores nothing.
// Queries run on their own read connections concurrently with writing (WAL readers see the
// last committed state). Retention deletes in small transactions on the writer thread, between
// ingest batches, so neither ingest nor queries stop.
//
// Thread safety: every method may be called from any thread concurrently.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "minion/common/clock.h"
#include "minion/common/status.h"
#include "minion/store/query.h"

// The OTLP messages are the store's data model: what arrives is what is kept and answered.
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "opentelemetry/proto/trace/v1/trace.pb.h"

namespace minion::store {

using ExportRequest = opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;
using TracesData = opentelemetry::proto::trace::v1::TracesData;

struct StoreOptions {
  std::string path = "minion-traces.db";  // ":memory:" is not supported (readers need the file)
  // Spans waiting for the writer; a Write() that would exceed it fails with kResourceExhausted.
  std::size_t max_queued_spans = 200'000;
  // Retention: spans older than this are deleted (0 = keep). Measured against `clock`.
  std::chrono::seconds retention{0};
  // Oldest data is deleted while the database's used pages exceed this (0 = no limit).
  std::uint64_t max_db_bytes = 0;
  // How often the writer looks at retention when it is otherwise idle.
  std::chrono::milliseconds retention_interval{10'000};
  std::size_t reader_connections = 4;
  // WAL size in pages (16 KiB each in a new database: 32 MiB) from which a background thread
  // copies the WAL into the database while the writer goes on; at twice this the writer
  // checkpoints itself so the WAL can start over (it stays below about twice this size).
  std::size_t checkpoint_pages = 2048;
  Clock* clock = nullptr;  // null = SystemClock()
  // Hooks: called on the writer thread before each commit (fault tests), and on the caller's
  // thread, outside the store's locks, when a request is refused for a full queue (`minion
  // serve` logs it; tests count it).
  std::function<void()> before_commit;
  std::function<void()> on_refused;
};

struct Operation {
  std::string name;
  int kind = 0;  // OTLP SpanKind number, 0 = unspecified
};

struct StoreStats {
  std::uint64_t spans_written = 0;
  std::uint64_t requests_written = 0;
  std::uint64_t requests_refused = 0;  // queue full
  std::uint64_t spans_deleted = 0;     // by retention
  std::uint64_t queued_spans = 0;
  // CPU time of the writer thread so far: the one thread every stored span passes through, so
  // spans_written / writer_cpu_seconds is the ingest ceiling when decoding runs elsewhere.
  double writer_cpu_seconds = 0;
};

class TraceStore {
 public:
  static Result<std::unique_ptr<TraceStore>> Open(StoreOptions options);
  virtual ~TraceStore() = default;
  TraceStore(const TraceStore&) = delete;
  TraceStore& operator=(const TraceStore&) = delete;

  // Validates `request` (ids, sizes) and queues it; blocks until it is committed or failed.
  // kInvalidArgument: bad ids (nothing stored). kResourceExhausted: queue full, retry later
  // (a request is admitted into an empty queue whatever its size, so none is refused forever).
  // kUnavailable: shutting down. kInternal: SQLite failed (nothing of the request stored).
  virtual Status Write(ExportRequest request) = 0;

  virtual Result<std::vector<std::string>> Services() = 0;
  // Operations of `service`; kind < 0 = all kinds.
  virtual Result<std::vector<Operation>> Operations(const std::string& service, int kind) = 0;
  // kNotFound when no span of the trace is stored.
  virtual Result<TracesData> GetTrace(const std::string& trace_id_bytes) = 0;
  // Matching traces, newest first, each complete; one TracesData per trace.
  virtual Result<std::vector<TracesData>> FindTraces(const TraceQuery& query) = 0;

  // Runs retention now (also runs by itself every retention_interval). Returns spans deleted.
  virtual Result<std::uint64_t> EnforceRetention() = 0;
  virtual StoreStats Stats() const = 0;
  // Bytes the database uses (pages in use x page size).
  virtual Result<std::uint64_t> UsedBytes() = 0;
  // Drains the queue (commits what is queued), stops the writer. Idempotent.
  virtual void Shutdown() = 0;

 protected:
  TraceStore() = default;
};

}  // namespace minion::store
