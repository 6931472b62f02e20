#pragma once
// Samplers decide, when a span starts, whether it is recorded and sampled. Thread-safe and
// stateless after construction.

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
// Samples when the trace id's lower 8 bytes, read big-endian and shifted right by one, fall
// below ratio * 2^63 — the rule the Go and Java SDKs use, so services agree on one trace.
// `ratio` is clamped to [0, 1].
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
