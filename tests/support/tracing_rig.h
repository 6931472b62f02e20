#pragma once
// The one tracing rig for tests: a real SDK TracerProvider whose spans land, synchronously, in
// an InMemorySpanExporter (visible the moment they end, no thread to wait for), and the
// queries tests ask of the finished spans. Inject `rig.tracer` into the code under test.
//
//   testing::TracingRig rig;
//   options.tracer = rig.tracer;
//   ...
//   auto spans = rig.Spans();
//   const trace::SpanData* root = testing::FindSpan(spans, "multiagent.task.x");
//   EXPECT_EQ(testing::ChildrenOf(spans, *root).size(), 2u);

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "minion/common/clock.h"
#include "minion/exporters/in_memory_exporter.h"
#include "minion/sdk/sampler.h"
#include "minion/sdk/tracer_provider.h"
#include "minion/trace/span_data.h"
#include "minion/trace/tracer.h"

namespace minion::testing {

struct TracingRig {
  // Resource service.name "test-service"; scope "minion.test" 1.0; the environment's resource
  // variables are not merged (tests must not depend on the machine).
  explicit TracingRig(std::unique_ptr<sdk::Sampler> sampler = nullptr, Clock* clock = nullptr,
                      trace::SpanLimits limits = {});
  ~TracingRig();
  TracingRig(const TracingRig&) = delete;
  TracingRig& operator=(const TracingRig&) = delete;

  std::vector<trace::SpanData> Spans() const { return spans->GetSpans(); }
  std::vector<trace::SpanData> SpansNamed(std::string_view name) const;
  void Reset() { spans->Reset(); }

  std::shared_ptr<sdk::TracerProvider> provider;
  std::shared_ptr<exporters::InMemorySpanExporter::Storage> spans;  // outlives the exporter
  std::shared_ptr<trace::Tracer> tracer;
};

// ---- Queries over finished spans ----

// The first span named `name`, or null.
const trace::SpanData* FindSpan(const std::vector<trace::SpanData>& spans, std::string_view name);
// Every span named `name`, in end order.
std::vector<const trace::SpanData*> Named(const std::vector<trace::SpanData>& spans,
                                          std::string_view name);
// The span with id `id`, or null.
const trace::SpanData* ById(const std::vector<trace::SpanData>& spans, const trace::SpanId& id);
// The spans whose parent is `parent` (same trace), in end order.
std::vector<const trace::SpanData*> ChildrenOf(const std::vector<trace::SpanData>& spans,
                                               const trace::SpanData& parent);

// Any attribute value as text ("<missing>" when absent).
std::string Str(const trace::SpanData& span, std::string_view key);
// A string attribute ("<missing>" when absent or of another type).
std::string StrAttr(const trace::SpanData& span, std::string_view key);
// An int attribute (-1 when absent or of another type).
std::int64_t IntAttr(const trace::SpanData& span, std::string_view key);
bool HasEvent(const trace::SpanData& span, std::string_view name);
bool HasExceptionEvent(const trace::SpanData& span);

}  // namespace minion::testing
