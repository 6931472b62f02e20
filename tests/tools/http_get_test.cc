// http_get against a real HTTP server on 127.0.0.1.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "llm/test_http_server.h"
#include "minion/propagation/trace_context.h"
#include "minion/tools/builtin.h"

namespace minion::tools {
namespace {

using ::minion::testing::HttpRequest;
using ::minion::testing::HttpResponse;
using ::testing::HasSubstr;
using nlohmann::json;

class HttpGetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(server_.Start(&error)) << error;
  }
  static HttpResponse Handle(const HttpRequest& r) {
    if (r.target == "/hello") return {200, {{"Content-Type", "text/plain"}}, "hello world"};
    if (r.target == "/missing") return {404, {{"Content-Type", "text/plain"}}, "no such page"};
    if (r.target == "/to-hello") return {302, {{"Location", "/hello"}}, ""};
    if (r.target == "/to-outside") return {302, {{"Location", "http://192.0.2.1/"}}, ""};
    if (r.target == "/big") return {200, {{"Content-Type", "text/plain"}}, std::string(5000, 'z')};
    if (r.target == "/binary") return {200, {{"Content-Type", "application/octet-stream"}}, std::string("\x00\xff\xfe", 3)};
    return {500, {}, ""};
  }
  Result<json> Get(const std::shared_ptr<Tool>& tool, const std::string& url) {
    return tool->Invoke(trace::Context(), {{"url", url}});
  }
  minion::testing::TestHttpServer server_{&HttpGetTest::Handle};
  std::shared_ptr<Tool> tool_ = MakeHttpGetTool();
};

TEST_F(HttpGetTest, FetchesFromLoopback) {
  auto r = Get(tool_, server_.url("/hello"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["status"], 200);
  EXPECT_EQ((*r)["body"], "hello world");
  EXPECT_EQ((*r)["content_type"], "text/plain");
  EXPECT_EQ((*r)["truncated"], false);
  ASSERT_EQ(server_.requests().size(), 1u);
  EXPECT_EQ(server_.requests()[0].method, "GET");
}

TEST_F(HttpGetTest, SendsTheCallersTraceparent) {
  constexpr std::string_view kParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  trace::SpanContext parent;
  ASSERT_TRUE(propagation::ParseTraceParent(kParent, &parent));
  ASSERT_TRUE(tool_->Invoke(trace::Context(parent), {{"url", server_.url("/hello")}}).ok());
  ASSERT_EQ(server_.requests().size(), 1u);
  EXPECT_EQ(server_.requests()[0].headers["traceparent"], kParent);
}

TEST_F(HttpGetTest, HttpErrorStatusIsAResultNotAFailure) {
  auto r = Get(tool_, server_.url("/missing"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)["status"], 404);
  EXPECT_EQ((*r)["body"], "no such page");
}

TEST_F(HttpGetTest, FollowsRedirectsOnLoopback) {
  auto r = Get(tool_, server_.url("/to-hello"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["body"], "hello world");
}

TEST_F(HttpGetTest, NonLoopbackAddressesAreRefused) {
  // 192.0.2.0/24 is TEST-NET-1: never routed, and never dialled, because the check comes first.
  auto direct = Get(tool_, "http://192.0.2.1:8080/");
  ASSERT_FALSE(direct.ok());
  EXPECT_EQ(direct.status().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(direct.status().message(), HasSubstr("192.0.2.1"));
  auto redirected = Get(tool_, server_.url("/to-outside"));
  ASSERT_FALSE(redirected.ok());
  EXPECT_EQ(redirected.status().code(), StatusCode::kPermissionDenied);
}

TEST_F(HttpGetTest, OtherSchemesAreRejected) {
  auto r = Get(tool_, "file:///etc/passwd");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(HttpGetTest, LongBodiesAreTruncated) {
  auto small = MakeHttpGetTool({.max_body_bytes = 100});
  auto r = Get(small, server_.url("/big"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["body"].get<std::string>().size(), 100u);
  EXPECT_EQ((*r)["truncated"], true);
}

TEST_F(HttpGetTest, BinaryBodiesAreRefused) {
  auto r = Get(tool_, server_.url("/binary"));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("not UTF-8"));
}

TEST_F(HttpGetTest, ConnectionRefusedIsUnavailable) {
  const std::string url = server_.url("/hello");
  server_.Stop();
  auto r = Get(tool_, url);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace minion::tools
