#include "curl/curl_easy.h"

#include <algorithm>

namespace minion::curl {
namespace {

std::size_t WriteBounded(char* data, std::size_t size, std::size_t n, void* user) {
  auto* body = static_cast<BoundedBody*>(user);
  const std::size_t len = size * n;
  const std::size_t room = body->limit - std::min(body->limit, body->data.size());
  if (len > room) {
    body->overflowed = true;
    if (body->overflow == BoundedBody::Overflow::kAbort) return 0;  // CURLE_WRITE_ERROR
    body->data.append(data, room);
    return body->overflow == BoundedBody::Overflow::kKeepAndStop ? 0 : len;
  }
  body->data.append(data, len);
  return len;
}

std::size_t Discard(char*, std::size_t size, std::size_t n, void*) { return size * n; }

int StopRequested(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<const std::stop_token*>(user)->stop_requested() ? 1 : 0;
}

}  // namespace

bool EnsureGlobalInit() {
  static const bool ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  return ok;
}

bool IsRetryableError(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
      return true;
    default:
      return false;
  }
}

void SetBaseOptions(CURL* easy, BoundedBody* body) {
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  if (body != nullptr) {
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &WriteBounded);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, body);
  } else {
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Discard);
  }
}

void AbortWhenStopRequested(CURL* easy, const std::stop_token* stop) {
  curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, &StopRequested);
  curl_easy_setopt(easy, CURLOPT_XFERINFODATA, const_cast<std::stop_token*>(stop));
}

}  // namespace minion::curl
