// The OpenAI-compatible client against a real HTTP server on 127.0.0.1 that speaks the
// chat-completions API and misbehaves on request (429, 500, malformed JSON, slow).

#include "minion/llm/openai_provider.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "llm/test_http_server.h"
#include "minion/propagation/trace_context.h"
#include "support/tracing_rig.h"

namespace minion::llm {
namespace {

using ::minion::testing::HttpRequest;
using ::minion::testing::HttpResponse;
using ::minion::testing::IntAttr;
using ::minion::testing::StrAttr;
using nlohmann::json;
using ::testing::HasSubstr;

// A completion the way OpenAI sends it, echoing the last message.
HttpResponse Completion(const HttpRequest& req) {
  json in = json::parse(req.body);
  std::string last = in["messages"].back()["content"];
  json out = {{"id", "chatcmpl-123"},
              {"object", "chat.completion"},
              {"model", in["model"].get<std::string>() + "-2024-07-18"},
              {"choices",
               {{{"index", 0},
                 {"message", {{"role", "assistant"}, {"content", "echo: " + last}}},
                 {"finish_reason", "stop"}}}},
              {"usage", {{"prompt_tokens", 11}, {"completion_tokens", 7}, {"total_tokens", 18}}}};
  return {200, {}, out.dump()};
}

HttpResponse Error(int status, const std::string& message,
                   std::vector<std::pair<std::string, std::string>> headers = {}) {
  json body = {{"error", {{"message", message}, {"type", "server_error"}}}};
  return {status, std::move(headers), body.dump()};
}

// Serves a scripted sequence of answers, then completions.
class ScriptedServer {
 public:
  ScriptedServer() : server_([this](const HttpRequest& r) { return Next(r); }) {}
  void Push(HttpResponse r) {
    std::lock_guard<std::mutex> lock(mu_);
    script_.push_back(std::move(r));
  }
  void PushForever(HttpResponse r) {
    std::lock_guard<std::mutex> lock(mu_);
    forever_ = std::move(r);
  }
  bool Start() {
    std::string error;
    bool ok = server_.Start(&error);
    EXPECT_TRUE(ok) << error;
    return ok;
  }
  minion::testing::TestHttpServer& server() { return server_; }

 private:
  HttpResponse Next(const HttpRequest& r) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!script_.empty()) {
      HttpResponse out = script_.front();
      script_.pop_front();
      return out;
    }
    if (forever_) return *forever_;
    return Completion(r);
  }
  std::mutex mu_;
  std::deque<HttpResponse> script_;
  std::optional<HttpResponse> forever_;
  minion::testing::TestHttpServer server_;
};

class OpenAIProviderTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.Start()); }

  OpenAIProviderOptions Options() {
    OpenAIProviderOptions o;
    o.base_url = server_.server().url("/v1");
    o.api_key = "sk-test-key";
    o.model = "gpt-test";
    o.timeout = std::chrono::milliseconds(5000);
    o.max_retries = 2;
    o.initial_backoff = std::chrono::milliseconds(100);
    o.max_backoff = std::chrono::milliseconds(1000);
    o.sleep = [this](std::chrono::milliseconds d) {
      std::lock_guard<std::mutex> lock(sleeps_mu_);
      sleeps_.push_back(d);
    };
    o.tracer = capture_.tracer;
    return o;
  }
  std::vector<std::chrono::milliseconds> sleeps() {
    std::lock_guard<std::mutex> lock(sleeps_mu_);
    return sleeps_;
  }
  static ChatRequest Hello() {
    ChatRequest r;
    r.messages = {{"system", "You are terse."}, {"user", "Say hello"}};
    return r;
  }
  trace::SpanData OnlySpan() {
    auto spans = capture_.Spans();
    EXPECT_EQ(spans.size(), 1u);
    return spans.empty() ? trace::SpanData{} : spans[0];
  }

  ScriptedServer server_;
  minion::testing::TracingRig capture_;
  std::mutex sleeps_mu_;
  std::vector<std::chrono::milliseconds> sleeps_;
};

TEST_F(OpenAIProviderTest, SendsChatCompletionRequestAndParsesResponse) {
  OpenAIProvider provider(Options());
  ChatRequest request = Hello();
  request.temperature = 0.5;
  request.max_tokens = 64;
  request.json_response = true;
  auto result = provider.Chat(trace::Context(), request);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->content, "echo: Say hello");
  EXPECT_EQ(result->model, "gpt-test-2024-07-18");
  EXPECT_EQ(result->finish_reason, "stop");
  EXPECT_EQ(result->input_tokens, 11);
  EXPECT_EQ(result->output_tokens, 7);
  EXPECT_EQ(result->response_id, "chatcmpl-123");

  auto requests = server_.server().requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/v1/chat/completions");
  EXPECT_EQ(requests[0].headers["authorization"], "Bearer sk-test-key");
  EXPECT_THAT(requests[0].headers["content-type"], HasSubstr("application/json"));
  json body = json::parse(requests[0].body);
  EXPECT_EQ(body["model"], "gpt-test");
  EXPECT_EQ(body["temperature"], 0.5);
  EXPECT_EQ(body["max_tokens"], 64);
  EXPECT_EQ(body["response_format"]["type"], "json_object");
  ASSERT_EQ(body["messages"].size(), 2u);
  EXPECT_EQ(body["messages"][0]["role"], "system");
  EXPECT_EQ(body["messages"][1]["content"], "Say hello");

  trace::SpanData span = OnlySpan();
  EXPECT_EQ(span.name, "llm.openai.gpt-test");
  EXPECT_EQ(span.kind, trace::SpanKind::kClient);
  EXPECT_NE(span.status, trace::SpanStatusCode::kError);
  EXPECT_EQ(StrAttr(span, "gen_ai.operation.name"), "chat");
  EXPECT_EQ(StrAttr(span, "gen_ai.provider.name"), "openai");
  EXPECT_EQ(StrAttr(span, "gen_ai.request.model"), "gpt-test");
  EXPECT_EQ(StrAttr(span, "gen_ai.response.model"), "gpt-test-2024-07-18");
  EXPECT_EQ(StrAttr(span, "gen_ai.response.id"), "chatcmpl-123");
  EXPECT_EQ(IntAttr(span, "gen_ai.usage.input_tokens"), 11);
  EXPECT_EQ(IntAttr(span, "gen_ai.usage.output_tokens"), 7);
  // Counted once: the older duplicate llm.tokens.* names are no longer written.
  EXPECT_EQ(IntAttr(span, "llm.tokens.input"), -1);
  EXPECT_EQ(IntAttr(span, "llm.tokens.output"), -1);
  EXPECT_EQ(IntAttr(span, "server.port"), server_.server().port());
  EXPECT_EQ(StrAttr(span, "server.address"), "127.0.0.1");
  auto* reasons = span.FindAttribute("gen_ai.response.finish_reasons");
  ASSERT_NE(reasons, nullptr);
  ASSERT_TRUE(std::holds_alternative<std::vector<std::string>>(*reasons));
  EXPECT_EQ(std::get<std::vector<std::string>>(*reasons), std::vector<std::string>{"stop"});
}

TEST_F(OpenAIProviderTest, SpanIsChildOfTheCallersContext) {
  OpenAIProvider provider(Options());
  auto parent =
      observability::StartSpan(*capture_.tracer, trace::Context(), "worker.code_generation",
                               observability::Component::kWorker);
  ASSERT_TRUE(provider.Chat(parent.context, Hello()).ok());
  parent.span.End();
  auto llm = capture_.SpansNamed("llm.openai.gpt-test");
  ASSERT_EQ(llm.size(), 1u);
  EXPECT_EQ(llm[0].trace_id, parent.span.GetContext().trace_id());
  EXPECT_EQ(llm[0].parent_span_id, parent.span.GetContext().span_id());
}

TEST_F(OpenAIProviderTest, TraceparentHeaderNamesTheLlmSpan) {
  OpenAIProvider provider(Options());
  ASSERT_TRUE(provider.Chat(trace::Context(), Hello()).ok());
  trace::SpanData span = OnlySpan();
  char expected[propagation::kTraceParentSize];
  propagation::FormatTraceParent(span.context(), expected);
  EXPECT_EQ(server_.server().requests()[0].headers["traceparent"],
            std::string(expected, sizeof expected));
  EXPECT_EQ(server_.server().requests()[0].headers.count("baggage"), 0u);

  auto options = Options();
  options.inject_trace_context = false;
  OpenAIProvider quiet(options);
  ASSERT_TRUE(quiet.Chat(trace::Context(), Hello()).ok());
  EXPECT_EQ(server_.server().requests()[1].headers.count("traceparent"), 0u);
}

TEST_F(OpenAIProviderTest, RequestModelOverridesDefault) {
  OpenAIProvider provider(Options());
  ChatRequest request = Hello();
  request.model = "llama3.2";
  ASSERT_TRUE(provider.Chat(trace::Context(), request).ok());
  EXPECT_EQ(json::parse(server_.server().requests()[0].body)["model"], "llama3.2");
  EXPECT_EQ(OnlySpan().name, "llm.openai.llama3.2");
}

TEST_F(OpenAIProviderTest, NoAuthorizationHeaderWithoutKey) {
  auto options = Options();
  options.api_key.clear();
  OpenAIProvider provider(options);
  ASSERT_TRUE(provider.Chat(trace::Context(), Hello()).ok());
  EXPECT_EQ(server_.server().requests()[0].headers.count("authorization"), 0u);
}

TEST_F(OpenAIProviderTest, RetriesTooManyRequestsHonouringRetryAfter) {
  server_.Push(Error(429, "Rate limit reached", {{"Retry-After", "3"}}));
  OpenAIProvider provider(Options());
  auto result = provider.Chat(trace::Context(), Hello());
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(server_.server().requests().size(), 2u);
  EXPECT_THAT(sleeps(), ::testing::ElementsAre(std::chrono::milliseconds(3000)));
  trace::SpanData span = OnlySpan();
  EXPECT_NE(span.status, trace::SpanStatusCode::kError);
  ASSERT_EQ(span.events.size(), 1u);
  EXPECT_EQ(span.events[0].name, "gen_ai.client.retry");
}

TEST_F(OpenAIProviderTest, RetriesServerErrorsWithExponentialBackoff) {
  server_.Push(Error(500, "boom"));
  server_.Push(Error(502, "bad gateway"));
  OpenAIProvider provider(Options());
  auto result = provider.Chat(trace::Context(), Hello());
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(server_.server().requests().size(), 3u);
  EXPECT_THAT(sleeps(), ::testing::ElementsAre(std::chrono::milliseconds(100),
                                               std::chrono::milliseconds(200)));
}

TEST_F(OpenAIProviderTest, GivesUpAfterMaxRetriesWithServerMessage) {
  server_.PushForever(Error(503, "The engine is currently overloaded"));
  OpenAIProvider provider(Options());
  auto result = provider.Chat(trace::Context(), Hello());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(result.status().message(), HasSubstr("HTTP 503"));
  EXPECT_THAT(result.status().message(), HasSubstr("The engine is currently overloaded"));
  EXPECT_EQ(server_.server().requests().size(), 3u);  // 1 + max_retries
  EXPECT_EQ(sleeps().size(), 2u);
  trace::SpanData span = OnlySpan();
  EXPECT_EQ(span.status, trace::SpanStatusCode::kError);
  EXPECT_THAT(span.status_description, HasSubstr("overloaded"));
  EXPECT_TRUE(minion::testing::HasEvent(span, "exception"));
  EXPECT_EQ(StrAttr(span, "error.type"), "503");
  EXPECT_EQ(IntAttr(span, "http.response.status_code"), 503);
}

TEST_F(OpenAIProviderTest, ClientErrorsAreNotRetriedAndCarryServerMessage) {
  server_.Push(Error(401, "Incorrect API key provided: sk-test-key"));
  OpenAIProvider provider(Options());
  auto result = provider.Chat(trace::Context(), Hello());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(result.status().message(), HasSubstr("Incorrect API key provided"));
  EXPECT_EQ(server_.server().requests().size(), 1u);
  EXPECT_TRUE(sleeps().empty());
  EXPECT_EQ(OnlySpan().status, trace::SpanStatusCode::kError);
}

TEST_F(OpenAIProviderTest, OllamaStyleStringErrorIsReported) {
  server_.Push({404, {}, R"({"error":"model \"nope\" not found, try pulling it first"})"});
  OpenAIProvider provider(Options());
  auto result = provider.Chat(trace::Context(), Hello());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(result.status().message(), HasSubstr("try pulling it first"));
}

TEST_F(OpenAIProviderTest, MalformedJsonIsAnError) {
  server_.Push({200, {}, R"({"id": "chatcmpl-1", "choices": [ )"});
  OpenAIProvider provider(Options());
  auto result = provider.Chat(trace::Context(), Hello());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(result.status().message(), HasSubstr("not valid JSON"));
  trace::SpanData span = OnlySpan();
  EXPECT_EQ(span.status, trace::SpanStatusCode::kError);
  EXPECT_TRUE(minion::testing::HasEvent(span, "exception"));
}

TEST_F(OpenAIProviderTest, MissingChoicesIsAnError) {
  server_.Push({200, {}, R"({"id": "chatcmpl-1", "object": "chat.completion", "choices": []})"});
  OpenAIProvider provider(Options());
  auto result = provider.Chat(trace::Context(), Hello());
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), HasSubstr("no choices"));
  EXPECT_EQ(OnlySpan().status, trace::SpanStatusCode::kError);
}

TEST_F(OpenAIProviderTest, SlowServerTimesOut) {
  server_.PushForever({200, {}, "", /*hang=*/true});
  auto options = Options();
  options.timeout = std::chrono::milliseconds(300);
  options.max_retries = 1;
  OpenAIProvider provider(options);
  auto result = provider.Chat(trace::Context(), Hello());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_THAT(result.status().message(), HasSubstr("timed out"));
  EXPECT_EQ(server_.server().requests().size(), 2u);  // timeouts are retried too
  trace::SpanData span = OnlySpan();
  EXPECT_EQ(span.status, trace::SpanStatusCode::kError);
  EXPECT_EQ(StrAttr(span, "error.type"), "timeout");
}

// The caller's limit (a worker passes its subtask's) bounds every attempt and every retry: a
// hanging model with a 60 s per-attempt timeout and 2 retries would otherwise hold the call for
// 3 minutes.
TEST_F(OpenAIProviderTest, CallerTimeoutBoundsAttemptsAndRetries) {
  server_.PushForever({200, {}, "", /*hang=*/true});
  auto options = Options();
  options.timeout = std::chrono::seconds(60);
  options.max_retries = 2;
  OpenAIProvider provider(options);
  ChatRequest request = Hello();
  request.timeout = std::chrono::milliseconds(400);
  const auto start = std::chrono::steady_clock::now();
  auto result = provider.Chat(trace::Context(), request);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_THAT(result.status().message(),
              HasSubstr("deadline of 400 ms was reached after 1 attempt"));
  EXPECT_THAT(result.status().message(), HasSubstr("timed out after"));  // the time left, ~400 ms
  // The call waited for the limit rather than failing early. Not to the microsecond: the
  // deadline is computed on the provider's clock and libcurl keeps whole-millisecond timers,
  // so it can end a millisecond or two before 400 ms by this test's steady_clock.
  EXPECT_GE(elapsed, std::chrono::milliseconds(390));
  EXPECT_LT(elapsed, std::chrono::seconds(30))
      << "the caller's limit did not bound the call";  // generous
  EXPECT_EQ(server_.server().requests().size(), 1u);   // no retry was started past the limit
  EXPECT_TRUE(sleeps().empty());
  EXPECT_EQ(StrAttr(OnlySpan(), "error.type"), "timeout");
}

// Retries still happen while the limit leaves room for them.
TEST_F(OpenAIProviderTest, CallerTimeoutLeavesRoomForQuickRetries) {
  server_.Push(Error(500, "try again"));
  auto options = Options();
  OpenAIProvider provider(options);
  ChatRequest request = Hello();
  request.timeout = std::chrono::seconds(30);
  auto result = provider.Chat(trace::Context(), request);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(server_.server().requests().size(), 2u);
  EXPECT_EQ(sleeps().size(), 1u);
}

TEST_F(OpenAIProviderTest, RetryAfterBeyondTheCapFailsWithoutWaiting) {
  server_.Push(Error(429, "slow down", {{"Retry-After", "3600"}}));
  auto options = Options();
  options.max_retry_after = std::chrono::seconds(60);
  OpenAIProvider provider(options);
  auto result = provider.Chat(trace::Context(), Hello());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(result.status().message(), HasSubstr("retry after 3600000 ms"));
  EXPECT_TRUE(sleeps().empty());
  EXPECT_EQ(server_.server().requests().size(), 1u);
}

TEST_F(OpenAIProviderTest, ConnectionRefusedIsUnavailable) {
  auto options = Options();
  options.max_retries = 1;
  server_.server().Stop();  // nothing listens on the port any more
  OpenAIProvider provider(options);
  auto result = provider.Chat(trace::Context(), Hello());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(sleeps().size(), 1u);
  EXPECT_EQ(StrAttr(OnlySpan(), "error.type"), "transport");
}

TEST_F(OpenAIProviderTest, EmptyRequestIsRejectedBeforeTheNetwork) {
  OpenAIProvider provider(Options());
  auto result = provider.Chat(trace::Context(), ChatRequest{});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(server_.server().requests().empty());
  EXPECT_EQ(OnlySpan().status, trace::SpanStatusCode::kError);
}

TEST_F(OpenAIProviderTest, ConcurrentChatsFromManyThreads) {
  OpenAIProvider provider(Options());
  constexpr int kThreads = 4;
  constexpr int kCalls = 10;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCalls; ++i) {
        ChatRequest r;
        r.messages = {{"user", "thread " + std::to_string(t) + " call " + std::to_string(i)}};
        auto result = provider.Chat(trace::Context(), r);
        if (result.ok() && result->content == "echo: " + r.messages[0].content) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kThreads * kCalls);
  EXPECT_EQ(capture_.Spans().size(), static_cast<std::size_t>(kThreads * kCalls));
}

}  // namespace
}  // namespace minion::llm
