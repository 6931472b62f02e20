#pragma once
// StdoutSpanExporter writes spans to a std::ostream (std::cout by default), either as a
// readable tree per trace — the seed's "Distributed Trace Flow" — or as JSON lines, one span
// per line. Thread-safe.

#include <iosfwd>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "minion/sdk/span_exporter.h"

namespace minion::exporters {

enum class StdoutFormat { kTree, kJsonLines };

class StdoutSpanExporter final : public sdk::SpanExporter {
 public:
  // `out` must outlive the exporter. In tree mode a trace is printed when its local root span
  // (no parent, or a remote one) arrives; spans still waiting are printed on ForceFlush/Shutdown.
  explicit StdoutSpanExporter(std::ostream& out, StdoutFormat format = StdoutFormat::kTree);
  StdoutSpanExporter();  // std::cout, tree

  sdk::ExportResult Export(std::span<const trace::SpanDataPtr> spans,
                           std::chrono::milliseconds timeout) noexcept override;
  Status ForceFlush(std::chrono::milliseconds timeout) noexcept override;
  Status Shutdown(std::chrono::milliseconds timeout) noexcept override;
  std::string Name() const override {
    return format_ == StdoutFormat::kTree ? "stdout" : "stdout-json";
  }

 private:
  void PrintPendingLocked();

  std::ostream& out_;
  const StdoutFormat format_;
  std::mutex mu_;
  std::map<trace::TraceId, std::vector<trace::SpanData>> pending_;  // guarded by mu_
  bool shut_down_ = false;                                          // guarded by mu_
};

// Renders spans as one tree per trace: each span with its component, kind, duration, status
// and attributes, children ordered by start time. Spans whose parent is absent are roots.
std::string FormatTraceTree(const std::vector<trace::SpanData>& spans);
// One span as a single-line JSON object (ids in hex, times in ns since the epoch).
std::string FormatSpanJson(const trace::SpanData& span);

}  // namespace minion::exporters
