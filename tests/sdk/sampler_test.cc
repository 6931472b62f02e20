#include "minion/sdk/sampler.h"

#include <gtest/gtest.h>

#include <cmath>

#include "minion/trace/ids.h"

namespace minion::sdk {
namespace {

using trace::Context;
using trace::SpanContext;
using trace::TraceFlags;
using trace::TraceId;

SamplingDecision Decide(Sampler& s, const Context& parent, const TraceId& id) {
  return s.ShouldSample(parent, id, "op", trace::SpanKind::kInternal, {}, {}).decision;
}

TraceId IdWithLowBits(std::uint64_t low) {
  TraceId id;
  for (int i = 0; i < 8; ++i)
    id.mutable_bytes()[15 - i] = static_cast<std::uint8_t>(low >> (8 * i));
  id.mutable_bytes()[0] = 1;
  return id;
}

TEST(SamplerTest, AlwaysOnAndOff) {
  auto on = MakeAlwaysOnSampler();
  auto off = MakeAlwaysOffSampler();
  TraceId id = trace::DefaultIdGenerator().GenerateTraceId();
  EXPECT_EQ(Decide(*on, Context(), id), SamplingDecision::kRecordAndSample);
  EXPECT_EQ(Decide(*off, Context(), id), SamplingDecision::kDrop);
}

TEST(SamplerTest, RatioUsesLowerEightBytesLikeOtherSdks) {
  auto half = MakeTraceIdRatioBasedSampler(0.5);
  // (low >> 1) < 0.5 * 2^63  <=>  low < 2^63
  EXPECT_EQ(Decide(*half, Context(), IdWithLowBits(0x7fffffffffffffffULL)),
            SamplingDecision::kRecordAndSample);
  EXPECT_EQ(Decide(*half, Context(), IdWithLowBits(0x8000000000000000ULL)),
            SamplingDecision::kDrop);
  auto none = MakeTraceIdRatioBasedSampler(0.0);
  EXPECT_EQ(Decide(*none, Context(), IdWithLowBits(0)), SamplingDecision::kDrop);
  auto all = MakeTraceIdRatioBasedSampler(1.0);
  EXPECT_EQ(Decide(*all, Context(), IdWithLowBits(~0ULL)), SamplingDecision::kRecordAndSample);
}

TEST(SamplerTest, RatioIsWithinStatisticalBounds) {
  for (double ratio : {0.01, 0.1, 0.5, 0.9}) {
    auto sampler = MakeTraceIdRatioBasedSampler(ratio);
    constexpr int kN = 200000;
    int sampled = 0;
    for (int i = 0; i < kN; ++i)
      sampled += Decide(*sampler, Context(), trace::DefaultIdGenerator().GenerateTraceId()) ==
                 SamplingDecision::kRecordAndSample;
    const double sigma = std::sqrt(kN * ratio * (1 - ratio));
    EXPECT_NEAR(sampled, kN * ratio, 6 * sigma)
        << "ratio " << ratio;  // 6 sigma: ~1e-9 false failure
  }
}

TEST(SamplerTest, RatioDecisionIsDeterministicPerTraceId) {
  auto a = MakeTraceIdRatioBasedSampler(0.3);
  auto b = MakeTraceIdRatioBasedSampler(0.3);
  for (int i = 0; i < 1000; ++i) {
    TraceId id = trace::DefaultIdGenerator().GenerateTraceId();
    EXPECT_EQ(Decide(*a, Context(), id), Decide(*b, Context(), id));
  }
}

TEST(SamplerTest, RatioIsClampedAndDescribed) {
  EXPECT_EQ(MakeTraceIdRatioBasedSampler(2.0)->Description(), "TraceIdRatioBased{1.000000}");
  EXPECT_EQ(MakeTraceIdRatioBasedSampler(-1)->Description(), "TraceIdRatioBased{0.000000}");
  EXPECT_EQ(MakeTraceIdRatioBasedSampler(std::nan(""))->Description(),
            "TraceIdRatioBased{0.000000}");
}

TEST(SamplerTest, ParentBasedFollowsParentAndUsesRootForNewTraces) {
  auto sampler = MakeParentBasedSampler(MakeAlwaysOffSampler());
  TraceId id = trace::DefaultIdGenerator().GenerateTraceId();
  auto span_id = trace::DefaultIdGenerator().GenerateSpanId();
  EXPECT_EQ(Decide(*sampler, Context(), id), SamplingDecision::kDrop);  // root: AlwaysOff
  Context sampled_remote(SpanContext(id, span_id, TraceFlags(1), true));
  Context unsampled_remote(SpanContext(id, span_id, TraceFlags(0), true));
  Context sampled_local(SpanContext(id, span_id, TraceFlags(1), false));
  Context unsampled_local(SpanContext(id, span_id, TraceFlags(0), false));
  EXPECT_EQ(Decide(*sampler, sampled_remote, id), SamplingDecision::kRecordAndSample);
  EXPECT_EQ(Decide(*sampler, unsampled_remote, id), SamplingDecision::kDrop);
  EXPECT_EQ(Decide(*sampler, sampled_local, id), SamplingDecision::kRecordAndSample);
  EXPECT_EQ(Decide(*sampler, unsampled_local, id), SamplingDecision::kDrop);
  EXPECT_NE(sampler->Description().find("ParentBased{root:AlwaysOffSampler"), std::string::npos);
}

TEST(SamplerTest, ParentBasedDelegatesAreConfigurable) {
  ParentBasedOptions o;
  o.root = MakeAlwaysOnSampler();
  o.remote_parent_not_sampled = MakeAlwaysOnSampler();
  auto sampler = MakeParentBasedSampler(std::move(o));
  TraceId id = trace::DefaultIdGenerator().GenerateTraceId();
  Context unsampled_remote(
      SpanContext(id, trace::DefaultIdGenerator().GenerateSpanId(), TraceFlags(0), true));
  EXPECT_EQ(Decide(*sampler, unsampled_remote, id), SamplingDecision::kRecordAndSample);
}

}  // namespace
}  // namespace minion::sdk
