#pragma once
// The libcurl set-up every HTTP client in minion shares: the OTLP/HTTP and Jaeger exporters, the
// OTLP/JSON file replay, the OpenAI-compatible client and the http_get tool. One place decides
// the process-wide initialisation, that libcurl never raises signals in our threaded processes,
// how much of a response body is kept, and how a transfer in flight is abandoned.
//
//   curl::BoundedBody body(1 << 20, curl::BoundedBody::Overflow::kAbort);
//   CURL* easy = curl_easy_init();
//   curl::SetBaseOptions(easy, &body);
//   curl::AbortWhenStopRequested(easy, &stop_token);  // optional
//
// Internal to the build (not installed): include as "curl/curl_easy.h".

#include <curl/curl.h>

#include <cstddef>
#include <stop_token>
#include <string>

namespace minion::curl {

// curl_global_init once per process (it is not thread-safe on every libcurl build) and never
// cleaned up, since other components of the process may still be using libcurl. False if the
// one initialisation failed.
bool EnsureGlobalInit();

// libcurl errors that mean "the server may be fine in a moment": worth a retry.
bool IsRetryableError(CURLcode code);

// A response body kept up to `limit` bytes, which a peer cannot make larger.
struct BoundedBody {
  enum class Overflow {
    kTruncate,  // keep the first `limit` bytes, read and drop the rest (bodies for messages)
    kAbort,     // stop the transfer (CURLE_WRITE_ERROR): the caller needs the whole body
    // keep the first `limit` bytes and stop the transfer (CURLE_WRITE_ERROR): the caller shows
    // a prefix and must not read on through a body that may never end (the http_get tool)
    kKeepAndStop,
  };
  BoundedBody(std::size_t limit, Overflow overflow) : limit(limit), overflow(overflow) {}
  void Clear() {
    data.clear();
    overflowed = false;
  }

  std::string data;
  std::size_t limit;
  Overflow overflow;
  bool overflowed = false;  // the peer sent more than `limit` bytes
};

// What every handle gets: CURLOPT_NOSIGNAL (libcurl must not use SIGALRM for timeouts in a
// threaded process) and the response body written into `body`, or discarded when null.
void SetBaseOptions(CURL* easy, BoundedBody* body);

// Abandons the transfer (CURLE_ABORTED_BY_CALLBACK) once `stop` is requested. libcurl polls
// this at least once a second while the transfer waits. `stop` must outlive the transfer.
void AbortWhenStopRequested(CURL* easy, const std::stop_token* stop);

}  // namespace minion::curl
