#pragma once
// Samplers decide, when a span starts, whether it is recorded and sampled. Thread-safe and
// stateless after construction.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "minion/trace/context.h"
#include "minion/trace/span_data.h"

namespace minion::sdk {

enum class SamplingDecision { kDrop, kRecordOnly, kRecordAndSample };

struct SamplingResult {
  SamplingDecision decision = SamplingDecision::kDrop;
  // Replaces the parent's tracestate when set; null keeps it.
  std::shared_ptr<const trace::TraceState> trace_state;
  std::vector<trace::Attribute> attributes;  // added to the span when recorded
};

class Sampler {
 public:
  virtual ~Sampler() = default;
  virtual SamplingResult ShouldSample(const trace::Context& parent, const trace::TraceId& trace_id,
                                      std::string_view name, trace::SpanKind kind,
                                      std::span<const trace::KeyValueView> attributes,
                                      std::span<const trace::SpanContext> links) noexcept = 0;
  // "AlwaysOnSampler", "TraceIdRatioBased{0.100000}", "ParentBased{root:...}"
  virtual std::string Description() const = 0;
};

std::unique_ptr<Sampler> MakeAlwaysOnSampler();
std::unique_ptr<Sampler> MakeAlwaysOffSampler();
// The trace-id ratio rule, the one place it is written (the head sampler below and tail
// sampling both use it): a trace is kept when its id's lower 8 bytes, read big-endian and
// shifted right by one, fall below ratio * 2^63 — the rule the Go and Java SDKs use, so
// services agree on one trace. `ratio` is clamped to [0, 1] (NaN counts as 0).
// TraceIdRatioBound computes the bound once; TraceIdBelowBound is the per-trace test.
std::uint64_t TraceIdRatioBound(double ratio) noexcept;
bool TraceIdBelowBound(const trace::TraceId& trace_id, std::uint64_t bound) noexcept;
inline bool TraceIdRatioKeeps(const trace::TraceId& trace_id, double ratio) noexcept {
  return TraceIdBelowBound(trace_id, TraceIdRatioBound(ratio));
}

// Samples by the trace-id ratio rule above.
std::unique_ptr<Sampler> MakeTraceIdRatioBasedSampler(double ratio);

struct ParentBasedOptions {
  std::unique_ptr<Sampler> root;
  std::unique_ptr<Sampler> remote_parent_sampled;      // default AlwaysOn
  std::unique_ptr<Sampler> remote_parent_not_sampled;  // default AlwaysOff
  std::unique_ptr<Sampler> local_parent_sampled;       // default AlwaysOn
  std::unique_ptr<Sampler> local_parent_not_sampled;   // default AlwaysOff
};
std::unique_ptr<Sampler> MakeParentBasedSampler(std::unique_ptr<Sampler> root);
std::unique_ptr<Sampler> MakeParentBasedSampler(ParentBasedOptions options);

}  // namespace minion::sdk
