#pragma once
// libcurl pieces shared by the exporters that POST over HTTP (OTLP/HTTP, Jaeger, the file
// replay). Header-only so that minion_otlp_exporter_common (which the gRPC exporter links too)
// needs no libcurl; each user links CURL::libcurl itself.

#include <curl/curl.h>

namespace minion::exporters::internal {

// curl_global_init once per process (it is not thread-safe on every libcurl build). Never
// cleaned up: other exporters in the process may still use libcurl. False if it failed.
inline bool EnsureCurlGlobalInit() {
  static const bool ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  return ok;
}

// libcurl errors that mean "the server may be fine in a moment": worth a retry.
inline bool IsRetryableCurlError(CURLcode code) {
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

}  // namespace minion::exporters::internal
