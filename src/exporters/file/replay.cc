// Replaying a FileExporter capture to an OTLP/HTTP endpoint. Deliberately simple (one POST per
// line, no retries): it is an operator's tool, and the per-line outcome is reported.
#include <curl/curl.h>

#include <fstream>

#include "curl/curl_easy.h"
#include "minion/exporters/file_exporter.h"

namespace minion::exporters {
Result<ReplayStats> ReplayOtlpJsonLines(const std::string& path,
                                        const OtlpExporterOptions& options) {
  if (!options.endpoint.starts_with("http://") && !options.endpoint.starts_with("https://")) {
    return InvalidArgumentError("replay: endpoint \"" + options.endpoint +
                                "\" is not an http(s):// URL");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("replay: cannot read \"" + path + "\"");

  if (!curl::EnsureGlobalInit()) return InternalError("replay: curl_global_init failed");
  CURL* easy = curl_easy_init();
  if (easy == nullptr) return InternalError("replay: curl_easy_init failed");
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  headers = curl_slist_append(headers, "Expect:");
  for (const auto& [k, v] : options.headers)
    headers = curl_slist_append(headers, (k + ": " + v).c_str());
  curl_easy_setopt(easy, CURLOPT_URL, options.endpoint.c_str());
  curl_easy_setopt(easy, CURLOPT_POST, 1L);
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout.count()));
  curl::SetBaseOptions(easy, nullptr);  // the response bodies are not read
  if (!options.certificate_file.empty())
    curl_easy_setopt(easy, CURLOPT_CAINFO, options.certificate_file.c_str());
  if (!options.client_certificate_file.empty()) {
    curl_easy_setopt(easy, CURLOPT_SSLCERT, options.client_certificate_file.c_str());
  }
  if (!options.client_key_file.empty())
    curl_easy_setopt(easy, CURLOPT_SSLKEY, options.client_key_file.c_str());

  ReplayStats stats;
  auto failed = [&](std::string why) {
    ++stats.lines_failed;
    if (stats.first_error.empty()) stats.first_error = std::move(why);
  };
  std::string line;
  std::uint64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    if (line.front() != '{') {
      failed("line " + std::to_string(number) + " is not a JSON object");
      continue;
    }
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, line.data());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(line.size()));
    const CURLcode rc = curl_easy_perform(easy);
    long http = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &http);
    if (rc != CURLE_OK) {
      failed("line " + std::to_string(number) + ": " + curl_easy_strerror(rc));
    } else if (http < 200 || http >= 300) {
      failed("line " + std::to_string(number) + ": HTTP " + std::to_string(http));
    } else {
      ++stats.lines_sent;
    }
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(easy);
  return stats;
}

}  // namespace minion::exporters
