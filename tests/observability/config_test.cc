#include <gtest/gtest.h>

#include <map>
#include <string>

#include "minion/observability/setup.h"
#include "support/scoped_env.h"

namespace minion::observability {
namespace {

// TracingConfig::FromEnv reads the variables set here through an injected lookup; the process
// environment is only changed (and restored) where code reads it directly (MakeExporter).
class ConfigTest : public ::testing::Test {
 protected:
  void Set(const std::string& name, const std::string& value) { vars_[name] = value; }
  void Unset(const std::string& name) { vars_.erase(name); }
  Result<TracingConfig> FromEnv() const {
    return TracingConfig::FromEnv(TracingConfig(), minion::testing::MapLookup(vars_));
  }

  std::map<std::string, std::string, std::less<>> vars_;
  minion::testing::ScopedEnv env_;
};

TEST_F(ConfigTest, SeedVariablesApply) {
  Set("TRACING_ENABLED", "true");
  Set("TRACING_EXPORTER", "otlp");
  Set("OTLP_ENDPOINT", "jaeger:4317");
  Set("SAMPLING_RATIO", "0.1");
  auto c = FromEnv();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->enabled);
  EXPECT_EQ(c->exporter, "otlp");
  EXPECT_EQ(c->otlp_endpoint, "jaeger:4317");
  EXPECT_DOUBLE_EQ(c->sampling_ratio, 0.1);
  auto sampler = MakeSampler(*c);
  ASSERT_TRUE(sampler.ok());
  EXPECT_EQ((*sampler)->Description().rfind("ParentBased{root:TraceIdRatioBased{0.100000}", 0), 0u);
}

TEST_F(ConfigTest, StandardVariablesWinOverSeedVariables) {
  Set("TRACING_EXPORTER", "jaeger");
  Set("OTEL_TRACES_EXPORTER", "otlp,console");
  Set("OTLP_ENDPOINT", "seed:4317");
  Set("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318");
  Set("SAMPLING_RATIO", "0.5");
  Set("OTEL_TRACES_SAMPLER", "traceidratio");
  Set("OTEL_TRACES_SAMPLER_ARG", "0.25");
  Set("OTEL_SERVICE_NAME", "svc");
  auto c = FromEnv();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->exporter, "otlp,stdout");
  EXPECT_EQ(c->otlp_endpoint, "http://collector:4318");
  EXPECT_EQ(c->service_name, "svc");
  EXPECT_EQ(c->sampler, "traceidratio");
  EXPECT_DOUBLE_EQ(c->sampling_ratio, 0.25);
  EXPECT_EQ((*MakeSampler(*c))->Description(), "TraceIdRatioBased{0.250000}");
}

TEST_F(ConfigTest, OtelSdkDisabledTurnsTracingOff) {
  Set("OTEL_SDK_DISABLED", "true");
  auto c = FromEnv();
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->enabled);
}

TEST_F(ConfigTest, InvalidSeedValuesAreErrorsNamingTheVariable) {
  Set("SAMPLING_RATIO", "1.5");
  auto c = FromEnv();
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("SAMPLING_RATIO"), std::string::npos);
  Unset("SAMPLING_RATIO");
  Set("TRACING_ENABLED", "perhaps");
  EXPECT_FALSE(FromEnv().ok());
}

TEST_F(ConfigTest, InvalidStandardValuesWarnAndFallBack) {
  Set("OTEL_TRACES_SAMPLER", "sometimes");
  auto c = FromEnv();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->sampler, "parentbased_always_on");
  Set("OTEL_TRACES_SAMPLER", "parentbased_traceidratio");
  Set("OTEL_TRACES_SAMPLER_ARG", "abc");
  c = FromEnv();
  ASSERT_TRUE(c.ok());
  EXPECT_DOUBLE_EQ(c->sampling_ratio, 1.0);
}

TEST_F(ConfigTest, UnknownExporterIsAClearError) {
  TracingConfig c;
  c.exporter = "zipkin2";
  Status s = InitGlobalTracer(c);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("unknown exporter 'zipkin2'"), std::string::npos) << s.ToString();
}

// A bad standard variable warns (naming it, its value and the default used) and falls back:
// the specification's rule, the same for every OTEL_* variable (docs/configuration.md).
TEST_F(ConfigTest, BadOtlpProtocolWarnsAndFallsBackToTheDefault) {
  env_.Set("OTEL_EXPORTER_OTLP_PROTOCOL", "http/xml");
  ::testing::internal::CaptureStderr();
  auto e = MakeExporter("otlp-http", TracingConfig());
  const std::string err = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_NE(err.find("OTEL_EXPORTER_OTLP_PROTOCOL=\"http/xml\""), std::string::npos) << err;
  EXPECT_NE(err.find("using http/protobuf"), std::string::npos) << err;
}

TEST_F(ConfigTest, SamplerNamesMapToSamplers) {
  TracingConfig c;
  for (auto [name, want] : std::vector<std::pair<std::string, std::string>>{
           {"always_on", "AlwaysOnSampler"},
           {"always_off", "AlwaysOffSampler"},
           {"parentbased_always_off", "ParentBased{root:AlwaysOffSampler"}}) {
    c.sampler = name;
    EXPECT_EQ((*MakeSampler(c))->Description().rfind(want, 0), 0u) << name;
  }
  c.sampler = "";
  c.sampling_ratio = 1.0;
  EXPECT_EQ((*MakeSampler(c))->Description().rfind("ParentBased{root:AlwaysOnSampler", 0), 0u);
}

}  // namespace
}  // namespace minion::observability
