#include "minion/llm/openai_provider.h"

#include "minion/common/text.h"

#include <curl/curl.h>

#include <algorithm>
#include <condition_variable>
#include <ctime>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "curl/curl_easy.h"
#include "llm/chat_completions.h"
#include "llm/genai_span.h"
#include "minion/common/clock.h"
#include "minion/common/retry.h"
#include "minion/metrics/recorder.h"
#include "minion/propagation/carriers.h"
#include "minion/propagation/trace_context.h"

namespace minion::llm {
namespace {

// Bodies larger than this are not a chat completion; stop reading rather than exhaust memory.
constexpr std::size_t kMaxResponseBytes = 32u << 20;

struct Attempt {
  CURLcode curl_code = CURLE_OK;
  std::string curl_error;
  long http_status = 0;
  // A longer body is not a chat completion: the transfer stops rather than exhaust memory.
  curl::BoundedBody body{kMaxResponseBytes, curl::BoundedBody::Overflow::kAbort};
  std::string retry_after;  // the header's raw value, if any
};

std::size_t OnHeader(char* data, std::size_t size, std::size_t n, void* user) {
  auto* attempt = static_cast<Attempt*>(user);
  std::size_t len = size * n;
  std::string_view line(data, len);
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size()) {
    bool match = true;
    for (std::size_t i = 0; i < kName.size() && match; ++i) {
      match = std::tolower(static_cast<unsigned char>(line[i])) == kName[i];
    }
    if (match) {
      std::string_view value = line.substr(kName.size());
      while (!value.empty() && (value.back() == '\r' || value.back() == '\n'))
        value.remove_suffix(1);
      attempt->retry_after = std::string(value);
    }
  }
  return len;
}

struct CurlSlist {
  curl_slist* list = nullptr;
  ~CurlSlist() { curl_slist_free_all(list); }
  void Append(const std::string& s) { list = curl_slist_append(list, s.c_str()); }
};

using HeaderPairs = std::vector<std::pair<std::string, std::string>>;

Attempt PostOnce(const std::string& url, const std::string& api_key, const HeaderPairs& extra,
                 const std::string& body, std::chrono::milliseconds timeout,
                 const std::stop_token& stop) {
  Attempt attempt;
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    attempt.curl_code = CURLE_FAILED_INIT;
    attempt.curl_error = "curl_easy_init failed";
    return attempt;
  }
  CurlSlist headers;
  headers.Append("Content-Type: application/json");
  headers.Append("Accept: application/json");
  headers.Append("Expect:");  // no 100-continue round trip for large prompts
  if (!api_key.empty()) headers.Append("Authorization: Bearer " + api_key);
  for (const auto& [name, value] : extra) headers.Append(name + ": " + value);
  char error_buffer[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.list);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl::SetBaseOptions(curl, &attempt.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &attempt);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "minion/" MINION_VERSION);
  if (stop.stop_possible()) curl::AbortWhenStopRequested(curl, &stop);
  attempt.curl_code = curl_easy_perform(curl);
  if (attempt.curl_code != CURLE_OK) {
    attempt.curl_error =
        error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(attempt.curl_code);
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &attempt.http_status);
  curl_easy_cleanup(curl);
  return attempt;
}

// host and port for server.address / server.port, from a base URL.
void SetServerAttributes(trace::Span& span, const std::string& url) {
  if (!span.IsRecording()) return;
  CURLU* u = curl_url();
  if (curl_url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK) {
    char* host = nullptr;
    if (curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
      span.SetAttribute("server.address", host);
      curl_free(host);
    }
    char* port = nullptr;
    if (curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
      span.SetAttribute("server.port", std::atoll(port));
      curl_free(port);
    }
  }
  curl_url_cleanup(u);
}

std::string JoinUrl(std::string base, std::string_view path) {
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + std::string(path);
}

}  // namespace

OpenAIProvider::OpenAIProvider(OpenAIProviderOptions options) : options_(std::move(options)) {
  (void)curl::EnsureGlobalInit();  // a failure shows as curl_easy_init failing
  if (!options_.sleep) {
    default_sleep_ = true;
    options_.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  }
}

OpenAIProvider::~OpenAIProvider() = default;

Result<ChatResponse> OpenAIProvider::Chat(const trace::Context& parent,
                                          const ChatRequest& request) {
  return Chat(parent, request, request.stop);
}

Result<ChatResponse> OpenAIProvider::Chat(const trace::Context& parent, const ChatRequest& request,
                                          std::stop_token stop) {
  const std::string model = request.model.empty() ? options_.model : request.model;
  auto started = observability::StartLlmSpan(observability::TracerOrGlobal(options_.tracer), parent,
                                             options_.provider_name, model, "chat");
  trace::Span& span = started.span;
  internal::SetRequestAttributes(span, options_.provider_name, model, request);
  const std::string request_url = JoinUrl(options_.base_url, "/chat/completions");
  SetServerAttributes(span, request_url);
  // Messages and span events name the endpoint without its credentials (user:password@).
  const std::string url = text::RedactUrls(request_url);

  auto fail = [&](Status status, std::string_view error_type) -> Result<ChatResponse> {
    span.SetAttribute("error.type", error_type);
    observability::EndSpan(span, status);
    return status;
  };

  if (request.messages.empty()) {
    return fail(InvalidArgumentError("chat request has no messages"), "invalid_request");
  }
  const std::string body = internal::BuildChatRequestBody(request, model);
  HeaderPairs trace_headers;
  if (options_.inject_trace_context) {
    propagation::HttpHeaderCarrier carrier(trace_headers);
    propagation::W3CTraceContextPropagator().Inject(started.context, carrier);
  }

  Status last_error;
  std::string last_error_type;
  auto cancelled = [&] {
    return fail(CancelledError("chat completions request to " + url + " was cancelled"),
                "cancelled");
  };
  // The caller's deadline (request.timeout) bounds every attempt and every wait between them:
  // nested retries below an orchestrator that itself retries must not multiply its timeout.
  using Steady = std::chrono::steady_clock;
  const bool has_deadline = request.timeout.count() > 0;
  const Steady::time_point deadline = Steady::now() + request.timeout;
  auto time_left = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Steady::now());
  };
  auto deadline_reached = [&](int attempts) {
    std::string message = "chat completions request to " + url + ": the caller's deadline of " +
                          std::to_string(request.timeout.count()) + " ms was reached after " +
                          std::to_string(attempts) + (attempts == 1 ? " attempt" : " attempts");
    if (!last_error.ok()) message += " (last error: " + last_error.message() + ")";
    return fail(DeadlineExceededError(message), "timeout");
  };
  if (options_.retry_budget) options_.retry_budget->Deposit();
  for (int attempt_no = 0;; ++attempt_no) {
    if (stop.stop_requested()) return cancelled();
    std::chrono::milliseconds attempt_timeout = options_.timeout;
    if (has_deadline) {
      auto left = time_left();
      if (left.count() <= 0) return deadline_reached(attempt_no);
      attempt_timeout = std::min(attempt_timeout, left);
    }
    Attempt attempt =
        PostOnce(request_url, options_.api_key, trace_headers, body, attempt_timeout, stop);
    if (attempt.curl_code == CURLE_ABORTED_BY_CALLBACK && stop.stop_requested()) return cancelled();
    std::optional<std::chrono::milliseconds> retry_after;
    bool retryable = false;
    if (attempt.curl_code != CURLE_OK) {
      if (attempt.body.overflowed) {
        return fail(ResourceExhaustedError("chat completions response from " + url + " exceeds " +
                                           std::to_string(kMaxResponseBytes) + " bytes"),
                    "response_too_large");
      }
      if (attempt.curl_code == CURLE_OPERATION_TIMEDOUT) {
        last_error =
            DeadlineExceededError("chat completions request to " + url + " timed out after " +
                                  std::to_string(attempt_timeout.count()) + " ms");
        last_error_type = "timeout";
      } else {
        last_error = UnavailableError("chat completions request to " + url +
                                      " failed: " + attempt.curl_error);
        last_error_type = "transport";
      }
      retryable = true;
    } else {
      span.SetAttribute("http.response.status_code", attempt.http_status);
      if (attempt.http_status >= 200 && attempt.http_status < 300) {
        Result<ChatResponse> parsed = internal::ParseChatResponse(attempt.body.data);
        if (!parsed.ok()) {
          return fail(parsed.status().WithContext("from " + url), "invalid_response");
        }
        if (parsed->model.empty()) parsed->model = model;
        internal::SetResponseAttributes(span, *parsed);
        observability::EndSpan(span);
        return parsed;
      }
      last_error =
          Status(internal::StatusCodeForHttp(attempt.http_status),
                 "chat completions: HTTP " + std::to_string(attempt.http_status) + " from " + url +
                     ": " + internal::ExtractErrorMessage(attempt.body.data));
      last_error_type = std::to_string(attempt.http_status);
      retryable = internal::IsRetryableHttp(attempt.http_status);
      if (!attempt.retry_after.empty()) {
        if (auto wait = retry::ParseRetryAfter(attempt.retry_after, SystemClock().Now())) {
          retry_after = std::chrono::duration_cast<std::chrono::milliseconds>(*wait);
        }
      }
    }
    if (!retryable || attempt_no >= options_.max_retries) break;

    // Retry number attempt_no + 1, without jitter (one client's retries against its own
    // endpoint; the server's Retry-After is what spreads load).
    retry::Backoff backoff;
    backoff.initial = options_.initial_backoff;
    backoff.max = options_.max_backoff;
    backoff.jitter_low = backoff.jitter_high = 1.0;
    std::chrono::milliseconds delay =
        std::chrono::duration_cast<std::chrono::milliseconds>(backoff.Ceiling(attempt_no + 1));
    if (retry_after) {
      if (*retry_after > options_.max_retry_after) {
        last_error = last_error.WithContext(
            "server asked to retry after " + std::to_string(retry_after->count()) +
            " ms, more than the " + std::to_string(options_.max_retry_after.count()) +
            " ms allowed");
        break;
      }
      delay = *retry_after;
    }
    if (has_deadline && time_left() <= delay) return deadline_reached(attempt_no + 1);
    if (options_.retry_budget && !options_.retry_budget->TryWithdraw()) {
      span.AddEvent("retry_budget_exhausted",
                    {{"retry.attempt", attempt_no + 1}, {"error.type", last_error_type}});
      metrics::GlobalRecorder().Retry("llm:" + options_.provider_name, "budget_exhausted");
      last_error =
          last_error.WithContext("retry budget exhausted after " + std::to_string(attempt_no + 1) +
                                 (attempt_no == 0 ? " attempt" : " attempts"));
      break;
    }
    if (options_.retry_budget)
      metrics::GlobalRecorder().Retry("llm:" + options_.provider_name, "retried");
    span.AddEvent("gen_ai.client.retry",
                  {{"retry.attempt", attempt_no + 1},
                   {"retry.delay_ms", static_cast<std::int64_t>(delay.count())},
                   {"error.type", last_error_type}});
    if (default_sleep_ && stop.stop_possible()) {
      std::mutex mu;
      std::condition_variable_any cv;
      std::unique_lock lock(mu);
      cv.wait_for(lock, stop, delay, [] { return false; });
    } else {
      options_.sleep(delay);
    }
  }
  return fail(last_error, last_error_type);
}

}  // namespace minion::llm
