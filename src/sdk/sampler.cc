#include "minion/sdk/sampler.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace minion::sdk {
namespace {

class AlwaysOnSampler final : public Sampler {
 public:
  SamplingResult ShouldSample(const trace::Context&, const trace::TraceId&, std::string_view,
                              trace::SpanKind, std::span<const trace::KeyValueView>,
                              std::span<const trace::SpanContext>) noexcept override {
    return {SamplingDecision::kRecordAndSample, nullptr, {}};
  }
  std::string Description() const override { return "AlwaysOnSampler"; }
};

class AlwaysOffSampler final : public Sampler {
 public:
  SamplingResult ShouldSample(const trace::Context&, const trace::TraceId&, std::string_view,
                              trace::SpanKind, std::span<const trace::KeyValueView>,
                              std::span<const trace::SpanContext>) noexcept override {
    return {SamplingDecision::kDrop, nullptr, {}};
  }
  std::string Description() const override { return "AlwaysOffSampler"; }
};

}  // namespace

std::uint64_t TraceIdRatioBound(double ratio) noexcept {
  if (!(ratio > 0)) return 0;                       // also catches NaN
  if (ratio >= 1.0) return std::uint64_t{1} << 63;  // every id passes
  // ratio * 2^63 in long double: exact, so the bound is the same on every platform.
  return static_cast<std::uint64_t>(static_cast<long double>(ratio) * 9223372036854775808.0L);
}

bool TraceIdBelowBound(const trace::TraceId& trace_id, std::uint64_t bound) noexcept {
  std::uint64_t low = 0;
  for (int i = 8; i < 16; ++i) low = (low << 8) | trace_id.data()[i];  // big-endian
  return (low >> 1) < bound;
}

namespace {

class TraceIdRatioBasedSampler final : public Sampler {
 public:
  explicit TraceIdRatioBasedSampler(double ratio) {
    if (!(ratio > 0)) ratio = 0;  // also catches NaN
    ratio_ = std::min(ratio, 1.0);
    bound_ = TraceIdRatioBound(ratio_);
  }
  SamplingResult ShouldSample(const trace::Context&, const trace::TraceId& trace_id,
                              std::string_view, trace::SpanKind,
                              std::span<const trace::KeyValueView>,
                              std::span<const trace::SpanContext>) noexcept override {
    return {TraceIdBelowBound(trace_id, bound_) ? SamplingDecision::kRecordAndSample
                                                : SamplingDecision::kDrop,
            nullptr,
            {}};
  }
  std::string Description() const override {
    char buf[64];
    std::snprintf(buf, sizeof buf, "TraceIdRatioBased{%f}", ratio_);
    return buf;
  }

 private:
  double ratio_;
  std::uint64_t bound_;
};

class ParentBasedSampler final : public Sampler {
 public:
  explicit ParentBasedSampler(ParentBasedOptions o)
      : root_(o.root ? std::move(o.root) : MakeAlwaysOnSampler()),
        remote_sampled_(o.remote_parent_sampled ? std::move(o.remote_parent_sampled)
                                                : MakeAlwaysOnSampler()),
        remote_not_sampled_(o.remote_parent_not_sampled ? std::move(o.remote_parent_not_sampled)
                                                        : MakeAlwaysOffSampler()),
        local_sampled_(o.local_parent_sampled ? std::move(o.local_parent_sampled)
                                              : MakeAlwaysOnSampler()),
        local_not_sampled_(o.local_parent_not_sampled ? std::move(o.local_parent_not_sampled)
                                                      : MakeAlwaysOffSampler()) {}

  SamplingResult ShouldSample(const trace::Context& parent, const trace::TraceId& trace_id,
                              std::string_view name, trace::SpanKind kind,
                              std::span<const trace::KeyValueView> attributes,
                              std::span<const trace::SpanContext> links) noexcept override {
    const trace::SpanContext& p = parent.span_context();
    Sampler* delegate;
    if (!p.IsValid())
      delegate = root_.get();
    else if (p.IsRemote())
      delegate = p.IsSampled() ? remote_sampled_.get() : remote_not_sampled_.get();
    else
      delegate = p.IsSampled() ? local_sampled_.get() : local_not_sampled_.get();
    return delegate->ShouldSample(parent, trace_id, name, kind, attributes, links);
  }
  std::string Description() const override {
    return "ParentBased{root:" + root_->Description() +
           ",remoteParentSampled:" + remote_sampled_->Description() +
           ",remoteParentNotSampled:" + remote_not_sampled_->Description() +
           ",localParentSampled:" + local_sampled_->Description() +
           ",localParentNotSampled:" + local_not_sampled_->Description() + "}";
  }

 private:
  std::unique_ptr<Sampler> root_, remote_sampled_, remote_not_sampled_, local_sampled_,
      local_not_sampled_;
};

}  // namespace

std::unique_ptr<Sampler> MakeAlwaysOnSampler() { return std::make_unique<AlwaysOnSampler>(); }
std::unique_ptr<Sampler> MakeAlwaysOffSampler() { return std::make_unique<AlwaysOffSampler>(); }
std::unique_ptr<Sampler> MakeTraceIdRatioBasedSampler(double ratio) {
  return std::make_unique<TraceIdRatioBasedSampler>(ratio);
}
std::unique_ptr<Sampler> MakeParentBasedSampler(std::unique_ptr<Sampler> root) {
  ParentBasedOptions o;
  o.root = std::move(root);
  return MakeParentBasedSampler(std::move(o));
}
std::unique_ptr<Sampler> MakeParentBasedSampler(ParentBasedOptions options) {
  return std::make_unique<ParentBasedSampler>(std::move(options));
}

}  // namespace minion::sdk
