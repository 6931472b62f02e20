// The shared libcurl set-up against a real HTTP server on 127.0.0.1: bounded bodies (cut or
// aborted), discarded bodies, and a transfer abandoned through a stop token.
#include "curl/curl_easy.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stop_token>
#include <string>
#include <thread>

#include "llm/test_http_server.h"

namespace minion::curl {
namespace {

using minion::testing::HttpRequest;
using minion::testing::HttpResponse;
using minion::testing::TestHttpServer;

class CurlEasyTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(EnsureGlobalInit()); }

  // GETs `url` with the base options; returns libcurl's result.
  CURLcode Get(const std::string& url, BoundedBody* body, const std::stop_token* stop = nullptr) {
    CURL* easy = curl_easy_init();
    EXPECT_NE(easy, nullptr);
    curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 60000L);
    SetBaseOptions(easy, body);
    if (stop != nullptr) AbortWhenStopRequested(easy, stop);
    const CURLcode rc = curl_easy_perform(easy);
    curl_easy_cleanup(easy);
    return rc;
  }
};

TEST_F(CurlEasyTest, TruncatingBodyKeepsTheFirstBytesAndReadsOn) {
  TestHttpServer server([](const HttpRequest&) {
    return HttpResponse{200, {}, std::string(10000, 'x')};
  });
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  BoundedBody body(1000, BoundedBody::Overflow::kTruncate);
  EXPECT_EQ(Get(server.url("/big"), &body), CURLE_OK);
  EXPECT_EQ(body.data, std::string(1000, 'x'));
  EXPECT_TRUE(body.overflowed);
  body.Clear();
  EXPECT_TRUE(body.data.empty());
  EXPECT_FALSE(body.overflowed);
}

TEST_F(CurlEasyTest, AbortingBodyStopsTheTransferPastTheLimit) {
  TestHttpServer server([](const HttpRequest&) {
    return HttpResponse{200, {}, std::string(10000, 'y')};
  });
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  BoundedBody body(1000, BoundedBody::Overflow::kAbort);
  EXPECT_EQ(Get(server.url("/big"), &body), CURLE_WRITE_ERROR);
  EXPECT_TRUE(body.overflowed);
  EXPECT_LE(body.data.size(), 1000u);

  BoundedBody fits(10000, BoundedBody::Overflow::kAbort);
  EXPECT_EQ(Get(server.url("/big"), &fits), CURLE_OK);
  EXPECT_EQ(fits.data.size(), 10000u);
  EXPECT_FALSE(fits.overflowed);
}

TEST_F(CurlEasyTest, KeepAndStopKeepsTheFirstBytesAndStopsTheTransfer) {
  TestHttpServer server([](const HttpRequest&) {
    return HttpResponse{200, {}, std::string(10000, 'z')};
  });
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  BoundedBody body(1000, BoundedBody::Overflow::kKeepAndStop);
  EXPECT_EQ(Get(server.url("/big"), &body), CURLE_WRITE_ERROR);
  EXPECT_EQ(body.data, std::string(1000, 'z'));
  EXPECT_TRUE(body.overflowed);

  BoundedBody fits(10000, BoundedBody::Overflow::kKeepAndStop);
  EXPECT_EQ(Get(server.url("/big"), &fits), CURLE_OK);
  EXPECT_EQ(fits.data, std::string(10000, 'z'));
  EXPECT_FALSE(fits.overflowed);
}

TEST_F(CurlEasyTest, NullBodyDiscards) {
  TestHttpServer server([](const HttpRequest&) { return HttpResponse{200, {}, "ignored"}; });
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  EXPECT_EQ(Get(server.url("/"), nullptr), CURLE_OK);
}

TEST_F(CurlEasyTest, StopTokenAbandonsAHangingTransfer) {
  TestHttpServer server([](const HttpRequest&) {
    HttpResponse hang;
    hang.hang = true;
    return hang;
  });
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  std::stop_source stop;
  const std::stop_token token = stop.get_token();
  // Requested once the server holds the request, so the abort comes from the progress hook
  // while libcurl waits, not before the transfer starts.
  std::atomic<bool> returned{false};  // ends the stopper if the transfer fails another way
  std::jthread stopper([&] {
    while (server.requests().empty() && !returned.load()) std::this_thread::yield();
    stop.request_stop();
  });
  BoundedBody body(100, BoundedBody::Overflow::kAbort);
  EXPECT_EQ(Get(server.url("/hang"), &body, &token), CURLE_ABORTED_BY_CALLBACK);
  returned.store(true);
  stopper.join();
  server.Stop();
}

TEST(CurlRetryable, TransientTransportErrorsOnly) {
  EXPECT_TRUE(IsRetryableError(CURLE_COULDNT_CONNECT));
  EXPECT_TRUE(IsRetryableError(CURLE_OPERATION_TIMEDOUT));
  EXPECT_FALSE(IsRetryableError(CURLE_OK));
  EXPECT_FALSE(IsRetryableError(CURLE_URL_MALFORMAT));
  EXPECT_FALSE(IsRetryableError(CURLE_WRITE_ERROR));
}

}  // namespace
}  // namespace minion::curl
