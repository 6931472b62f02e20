#include <gtest/gtest.h>
#include <stdlib.h>

#include "minion/observability/tracing.h"

namespace minion::observability {
namespace {

class ConfigTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (const char* v : {"TRACING_ENABLED", "TRACING_EXPORTER", "OTLP_ENDPOINT", "SAMPLING_RATIO", "JAEGER_URL",
                          "OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_SERVICE_NAME", "OTEL_EXPORTER_OTLP_ENDPOINT",
                          "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG",
                          "OTEL_EXPORTER_OTLP_PROTOCOL", "MINION_TAIL_SAMPLING"})
      unsetenv(v);
  }
};

TEST_F(ConfigTest, SeedVariablesApply) {
  setenv("TRACING_ENABLED", "true", 1);
  setenv("TRACING_EXPORTER", "otlp", 1);
  setenv("OTLP_ENDPOINT", "jaeger:4317", 1);
  setenv("SAMPLING_RATIO", "0.1", 1);
  auto c = TracingConfig::FromEnv();
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
  setenv("TRACING_EXPORTER", "jaeger", 1);
  setenv("OTEL_TRACES_EXPORTER", "otlp,console", 1);
  setenv("OTLP_ENDPOINT", "seed:4317", 1);
  setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318", 1);
  setenv("SAMPLING_RATIO", "0.5", 1);
  setenv("OTEL_TRACES_SAMPLER", "traceidratio", 1);
  setenv("OTEL_TRACES_SAMPLER_ARG", "0.25", 1);
  setenv("OTEL_SERVICE_NAME", "svc", 1);
  auto c = TracingConfig::FromEnv();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->exporter, "otlp,stdout");
  EXPECT_EQ(c->otlp_endpoint, "http://collector:4318");
  EXPECT_EQ(c->service_name, "svc");
  EXPECT_EQ(c->sampler, "traceidratio");
  EXPECT_DOUBLE_EQ(c->sampling_ratio, 0.25);
  EXPECT_EQ((*MakeSampler(*c))->Description(), "TraceIdRatioBased{0.250000}");
}

TEST_F(ConfigTest, OtelSdkDisabledTurnsTracingOff) {
  setenv("OTEL_SDK_DISABLED", "true", 1);
  auto c = TracingConfig::FromEnv();
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->enabled);
}

TEST_F(ConfigTest, InvalidSeedValuesAreErrorsNamingTheVariable) {
  setenv("SAMPLING_RATIO", "1.5", 1);
  auto c = TracingConfig::FromEnv();
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("SAMPLING_RATIO"), std::string::npos);
  unsetenv("SAMPLING_RATIO");
  setenv("TRACING_ENABLED", "perhaps", 1);
  EXPECT_FALSE(TracingConfig::FromEnv().ok());
}

TEST_F(ConfigTest, InvalidStandardValuesWarnAndFallBack) {
  setenv("OTEL_TRACES_SAMPLER", "sometimes", 1);
  auto c = TracingConfig::FromEnv();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->sampler, "parentbased_always_on");
  setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio", 1);
  setenv("OTEL_TRACES_SAMPLER_ARG", "abc", 1);
  c = TracingConfig::FromEnv();
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
  setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/xml", 1);
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
