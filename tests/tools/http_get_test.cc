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
using nlohmann::json;
using ::testing::HasSubstr;

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
    if (r.target.rfind("/to-ip/", 0) == 0) {  // /to-ip/<port>: the same server by address
      return {302, {{"Location", "http://127.0.0.1:" + r.target.substr(7) + "/hello"}}, ""};
    }
    if (r.target == "/big") return {200, {{"Content-Type", "text/plain"}}, std::string(5000, 'z')};
    if (r.target == "/binary")
      return {200, {{"Content-Type", "application/octet-stream"}}, std::string("\x00\xff\xfe", 3)};
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

TEST(HttpGetHostTest, AllowListMatchesExactNamesAndWildcardSubdomains) {
  const std::vector<std::string> list = {"api.example.com", "*.docs.example.org"};
  EXPECT_TRUE(HostAllowed(list, "api.example.com"));
  EXPECT_TRUE(HostAllowed(list, "API.Example.COM."));
  EXPECT_TRUE(HostAllowed(list, "v1.docs.example.org"));
  EXPECT_FALSE(HostAllowed(list, "docs.example.org"));
  EXPECT_FALSE(HostAllowed(list, "evildocs.example.org"));
  EXPECT_FALSE(HostAllowed(list, "api.example.com.evil.net"));
  EXPECT_FALSE(HostAllowed(list, "example.com"));
  EXPECT_FALSE(HostAllowed({}, "anything"));
}

TEST_F(HttpGetTest, HostsOffTheAllowListAreRefusedBeforeAnyConnection) {
  auto tool = MakeHttpGetTool({.allowed_hosts = {"localhost"}});
  auto ok = Get(tool, "http://localhost:" + std::to_string(server_.port()) + "/hello");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ((*ok)["body"], "hello world");
  const std::size_t seen = server_.requests().size();
  auto by_ip = Get(tool, server_.url("/hello"));
  ASSERT_FALSE(by_ip.ok());
  EXPECT_EQ(by_ip.status().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(by_ip.status().message(), HasSubstr("host \"127.0.0.1\" is not on the allow-list"));
  EXPECT_EQ(server_.requests().size(), seen);  // refused before dialling
}

TEST_F(HttpGetTest, ARedirectToAHostOffTheAllowListIsRefused) {
  auto tool = MakeHttpGetTool({.allowed_hosts = {"localhost"}});
  const std::string port = std::to_string(server_.port());
  auto r = Get(tool, "http://user:secret@localhost:" + port + "/to-ip/" + port);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(r.status().message(), HasSubstr("reached by a redirect"));
  EXPECT_THAT(r.status().message(), ::testing::Not(HasSubstr("secret")));
  // Only the first hop reached the server.
  ASSERT_EQ(server_.requests().size(), 1u);
  EXPECT_EQ(server_.requests()[0].target, "/to-ip/" + port);
}

TEST_F(HttpGetTest, AnAllowedNameThatResolvesToLoopbackIsRefusedWhenLoopbackIsNot) {
  // The name passes the list; the address it resolves to decides (DNS cannot move the call).
  auto tool = MakeHttpGetTool(
      {.allowed_hosts = {"localhost"}, .allow_loopback = false, .allow_public = true});
  auto r = Get(tool, "http://localhost:" + std::to_string(server_.port()) + "/hello");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(r.status().message(), HasSubstr("a loopback address"));
  EXPECT_TRUE(server_.requests().empty());
}

TEST_F(HttpGetTest, PrivateRangesAreRefusedUnlessAllowed) {
  auto tool = MakeHttpGetTool({.allow_loopback = false, .allow_public = true});
  for (const char* url :
       {"http://10.1.2.3:9/", "http://169.254.169.254/latest/meta-data/", "http://192.168.0.1:9/",
        "http://[fd00::1]:9/", "http://[::ffff:10.0.0.1]:9/"}) {
    auto r = Get(tool, url);
    ASSERT_FALSE(r.ok()) << url;
    EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied) << url;
    EXPECT_THAT(r.status().message(), HasSubstr("a private or reserved address")) << url;
  }
}

}  // namespace
}  // namespace minion::tools
