#include "minion/sdk/resource.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include "support/scoped_env.h"

namespace minion::sdk {
namespace {

std::string Str(const trace::Resource& r, std::string_view key) {
  const auto* v = r.attributes.Find(key);
  return v ? trace::AttributeValueToString(*v) : "<missing>";
}

// BuildResource reads the process environment; ScopedEnv restores it after each test.
class ResourceTest : public ::testing::Test {
 protected:
  minion::testing::ScopedEnv env_;
};

TEST_F(ResourceTest, DefaultsDescribeTheSdk) {
  auto r = DefaultResource();
  EXPECT_EQ(Str(r, "telemetry.sdk.name"), "minion");
  EXPECT_EQ(Str(r, "telemetry.sdk.language"), "cpp");
  EXPECT_EQ(Str(r, "service.name").rfind("unknown_service:", 0), 0u);
  // Each process is told apart: a random instance id (UUID text), its pid and host.
  EXPECT_EQ(Str(r, "service.instance.id").size(), 36u);
  EXPECT_EQ(Str(r, "service.instance.id"), Str(DefaultResource(), "service.instance.id"));
  EXPECT_EQ(Str(r, "process.pid"), std::to_string(getpid()));
  EXPECT_FALSE(Str(r, "host.name").empty());
}

TEST_F(ResourceTest, EnvironmentWinsAndServiceNameVariableWinsOverAttributes) {
  env_.Set("OTEL_RESOURCE_ATTRIBUTES",
           "service.name=from-attrs, deployment.environment.name=prod,team=a%2Cb");
  trace::Resource code;
  code.attributes.Set("service.name", "from-code");
  code.attributes.Set("service.version", "1.2.3");
  auto r = BuildResource(code);
  EXPECT_EQ(Str(r, "service.name"), "from-attrs");
  EXPECT_EQ(Str(r, "service.version"), "1.2.3");
  EXPECT_EQ(Str(r, "deployment.environment.name"), "prod");
  EXPECT_EQ(Str(r, "team"), "a,b");
  env_.Set("OTEL_SERVICE_NAME", "from-service-name");
  EXPECT_EQ(Str(BuildResource(code), "service.name"), "from-service-name");
}

TEST_F(ResourceTest, MalformedAttributesAreRejectedWhole) {
  env_.Set("OTEL_RESOURCE_ATTRIBUTES", "good=1,bad");
  auto r = ResourceFromEnv();
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("\"bad\" is not key=value"), std::string::npos);
  trace::Resource code;
  code.attributes.Set("service.name", "svc");
  auto built = BuildResource(code);
  EXPECT_EQ(Str(built, "good"), "<missing>");
  EXPECT_EQ(Str(built, "service.name"), "svc");
  env_.Set("OTEL_RESOURCE_ATTRIBUTES", "k=%zz");
  EXPECT_FALSE(ResourceFromEnv().ok());
}

}  // namespace
}  // namespace minion::sdk
