#include <gtest/gtest.h>

#include <map>

#include "minion/exporters/otlp_options.h"
#include "support/scoped_env.h"

namespace minion::exporters {
namespace {

// A fake environment: FromEnv reads only through the lookup, never the process environment.
struct FakeEnv {
  std::map<std::string, std::string, std::less<>> vars;
  OtlpExporterOptions::EnvLookup Lookup() const {
    return [this](std::string_view name) -> std::optional<std::string> {
      auto it = vars.find(name);
      if (it == vars.end()) return std::nullopt;
      return it->second;
    };
  }
};

TEST(OtlpOptionsTest, DefaultsFollowTheSpecification) {
  FakeEnv env;
  auto o = OtlpExporterOptions::FromEnv("http/protobuf", env.Lookup());
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->protocol, OtlpProtocol::kHttpProtobuf);
  EXPECT_EQ(o->endpoint, "http://localhost:4318/v1/traces");
  EXPECT_EQ(o->timeout, std::chrono::milliseconds(10000));
  EXPECT_EQ(o->compression, OtlpCompression::kNone);
  EXPECT_TRUE(o->headers.empty());
  EXPECT_FALSE(o->insecure);
}

TEST(OtlpOptionsTest, GrpcDefaultEndpoint) {
  FakeEnv env;
  auto o = OtlpExporterOptions::FromEnv("grpc", env.Lookup());
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->protocol, OtlpProtocol::kGrpc);
  EXPECT_EQ(o->endpoint, "http://localhost:4317");
}

TEST(OtlpOptionsTest, GenericEndpointIsABaseUrlForHttp) {
  FakeEnv env;
  env.vars["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://collector:4318";
  EXPECT_EQ(OtlpExporterOptions::FromEnv("http/protobuf", env.Lookup())->endpoint,
            "http://collector:4318/v1/traces");
  env.vars["OTEL_EXPORTER_OTLP_ENDPOINT"] = "https://collector:4318/base/";
  EXPECT_EQ(OtlpExporterOptions::FromEnv("http/protobuf", env.Lookup())->endpoint,
            "https://collector:4318/base/v1/traces");
}

TEST(OtlpOptionsTest, TracesEndpointIsUsedAsIsAndWins) {
  FakeEnv env;
  env.vars["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://generic:4318";
  env.vars["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = "http://specific:9999/custom/path";
  EXPECT_EQ(OtlpExporterOptions::FromEnv("http/protobuf", env.Lookup())->endpoint,
            "http://specific:9999/custom/path");
}

TEST(OtlpOptionsTest, GrpcEndpointIsUsedAsIs) {
  FakeEnv env;
  env.vars["OTEL_EXPORTER_OTLP_ENDPOINT"] = "https://collector:4317";
  auto o = OtlpExporterOptions::FromEnv("http/protobuf", env.Lookup());
  env.vars["OTEL_EXPORTER_OTLP_PROTOCOL"] = "grpc";
  o = OtlpExporterOptions::FromEnv("http/protobuf", env.Lookup());
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->endpoint, "https://collector:4317");
  env.vars["OTEL_EXPORTER_OTLP_ENDPOINT"] = "collector:4317";
  EXPECT_EQ(OtlpExporterOptions::FromEnv("http/protobuf", env.Lookup())->endpoint,
            "collector:4317");
}

TEST(OtlpOptionsTest, TracesProtocolBeatsGenericAndDefault) {
  FakeEnv env;
  env.vars["OTEL_EXPORTER_OTLP_PROTOCOL"] = "grpc";
  env.vars["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] = "http/json";
  auto o = OtlpExporterOptions::FromEnv("http/protobuf", env.Lookup());
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->protocol, OtlpProtocol::kHttpJson);
  EXPECT_EQ(o->endpoint, "http://localhost:4318/v1/traces");
  env.vars.erase("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL");
  EXPECT_EQ(OtlpExporterOptions::FromEnv("http/protobuf", env.Lookup())->protocol,
            OtlpProtocol::kGrpc);
}

TEST(OtlpOptionsTest, EmptyValueCountsAsUnset) {
  FakeEnv env;
  env.vars["OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"] = "";
  env.vars["OTEL_EXPORTER_OTLP_TIMEOUT"] = "2500";
  EXPECT_EQ(OtlpExporterOptions::FromEnv("http/protobuf", env.Lookup())->timeout,
            std::chrono::milliseconds(2500));
}

TEST(OtlpOptionsTest, HeadersArePercentDecodedAndSpecificReplacesGeneric) {
  FakeEnv env;
  env.vars["OTEL_EXPORTER_OTLP_HEADERS"] = "generic=1";
  env.vars["OTEL_EXPORTER_OTLP_TRACES_HEADERS"] =
      " api-key = secret%20value , Authorization=Basic%20dXNlcjpwYXNz%3D%3D,,x-empty=";
  auto o = OtlpExporterOptions::FromEnv("http/protobuf", env.Lookup());
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  ASSERT_EQ(o->headers.size(), 3u);
  EXPECT_EQ(o->headers[0], (std::pair<std::string, std::string>{"api-key", "secret value"}));
  EXPECT_EQ(o->headers[1],
            (std::pair<std::string, std::string>{"Authorization", "Basic dXNlcjpwYXNz=="}));
  EXPECT_EQ(o->headers[2], (std::pair<std::string, std::string>{"x-empty", ""}));
}

TEST(OtlpOptionsTest, TimeoutCompressionTlsAndInsecure) {
  FakeEnv env;
  env.vars["OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"] = "1500";
  env.vars["OTEL_EXPORTER_OTLP_COMPRESSION"] = "gzip";
  env.vars["OTEL_EXPORTER_OTLP_CERTIFICATE"] = "/etc/ca.pem";
  env.vars["OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY"] = "/etc/key.pem";
  env.vars["OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"] = "/etc/cert.pem";
  env.vars["OTEL_EXPORTER_OTLP_INSECURE"] = "true";
  auto o = OtlpExporterOptions::FromEnv("http/protobuf", env.Lookup());
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->timeout, std::chrono::milliseconds(1500));
  EXPECT_EQ(o->compression, OtlpCompression::kGzip);
  EXPECT_EQ(o->certificate_file, "/etc/ca.pem");
  EXPECT_EQ(o->client_key_file, "/etc/key.pem");
  EXPECT_EQ(o->client_certificate_file, "/etc/cert.pem");
  EXPECT_TRUE(o->insecure);
  env.vars["OTEL_EXPORTER_OTLP_TRACES_COMPRESSION"] = "none";
  EXPECT_EQ(OtlpExporterOptions::FromEnv("http/protobuf", env.Lookup())->compression,
            OtlpCompression::kNone);
}

// Each invalid value is the specification's "warn and use the default": the options are
// built, the field keeps its default, and the warning names the variable, the value (except
// for headers, whose value is never shown) and the value used instead.
struct InvalidCase {
  const char* name;
  const char* value;
  const char* used;  // appears in the warning after "using "
};

class OtlpOptionsInvalidTest : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(OtlpOptionsInvalidTest, WarnsNamingVariableValueAndDefault) {
  FakeEnv env;
  env.vars[GetParam().name] = GetParam().value;
  std::vector<std::string> warnings;
  auto o = OtlpExporterOptions::FromEnv("http/protobuf", env.Lookup(), &warnings);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  const OtlpExporterOptions defaults;
  EXPECT_EQ(o->protocol, defaults.protocol);
  EXPECT_EQ(o->endpoint, defaults.endpoint);
  EXPECT_EQ(o->timeout, defaults.timeout);
  EXPECT_EQ(o->compression, defaults.compression);
  EXPECT_TRUE(o->headers.empty());
  EXPECT_EQ(o->insecure, defaults.insecure);
  ASSERT_EQ(warnings.size(), 1u);
  const std::string& w = warnings[0];
  EXPECT_NE(w.find(GetParam().name), std::string::npos) << w;
  EXPECT_NE(w.find(std::string("using ") + GetParam().used), std::string::npos) << w;
  if (std::string_view(GetParam().name).find("HEADERS") == std::string_view::npos) {
    EXPECT_NE(w.find(GetParam().value), std::string::npos) << w;
  } else {
    EXPECT_EQ(w.find(GetParam().value), std::string::npos) << "a header value was printed: " << w;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Variables, OtlpOptionsInvalidTest,
    ::testing::Values(InvalidCase{"OTEL_EXPORTER_OTLP_PROTOCOL", "http/thrift", "http/protobuf"},
                      InvalidCase{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "HTTP", "http/protobuf"},
                      InvalidCase{"OTEL_EXPORTER_OTLP_TIMEOUT", "10s", "10000"},
                      InvalidCase{"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "-5", "10000"},
                      InvalidCase{"OTEL_EXPORTER_OTLP_COMPRESSION", "brotli", "none"},
                      InvalidCase{"OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318",
                                  "http://localhost:4318/v1/traces"},
                      InvalidCase{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "ftp://x/v1/traces",
                                  "http://localhost:4318/v1/traces"},
                      InvalidCase{"OTEL_EXPORTER_OTLP_HEADERS", "novalue", "no headers"},
                      InvalidCase{"OTEL_EXPORTER_OTLP_TRACES_HEADERS", "k=%zz", "no headers"},
                      InvalidCase{"OTEL_EXPORTER_OTLP_HEADERS", "Authorization=Bearer tok%zzen",
                                  "no headers"},
                      InvalidCase{"OTEL_EXPORTER_OTLP_INSECURE", "maybe", "false"}));

TEST(OtlpOptionsTest, TimeoutZeroMeansNoLimitOfItsOwn) {
  FakeEnv env;
  env.vars["OTEL_EXPORTER_OTLP_TIMEOUT"] = "0";
  auto o = OtlpExporterOptions::FromEnv("http/protobuf", env.Lookup());
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->timeout, kNoTimeout);
}

TEST(OtlpOptionsTest, ReadsTheProcessEnvironmentByDefault) {
  minion::testing::ScopedEnv env;
  env.Set("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "1234");
  auto o = OtlpExporterOptions::FromEnv();
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->timeout, std::chrono::milliseconds(1234));
}

}  // namespace
}  // namespace minion::exporters
