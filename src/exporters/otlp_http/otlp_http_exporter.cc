#include "minion/exporters/otlp_http_exporter.h"

#include <curl/curl.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string_view>

#include "curl/curl_easy.h"
#include "exporters/common/export_loop.h"
#include "minion/common/json.h"
#include "minion/otlp/encoder.h"
#include "otlp/proto_message.h"

namespace minion::exporters {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;

constexpr std::size_t kMaxResponseBytes = 1 << 20;  // a response is a small status message

Status Gzip(std::string_view in, std::string& out) {
  z_stream zs{};
  // windowBits 15 + 16 selects the gzip wrapper (RFC 1952), which Content-Encoding: gzip means.
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    return InternalError("zlib deflateInit2 failed");
  }
  out.resize(deflateBound(&zs, static_cast<uLong>(in.size())) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return InternalError("zlib deflate failed: " + std::to_string(rc));
  return Status::Ok();
}

std::string Printable(std::string_view body) {
  std::string out;
  for (char c : body.substr(0, 200)) out.push_back((c >= 0x20 && c < 0x7f) ? c : '.');
  return out;
}

}  // namespace

class OtlpHttpExporter::Impl {
 public:
  explicit Impl(OtlpExporterOptions options)
      : options_(std::move(options)),
        clock_(options_.clock != nullptr ? options_.clock : &SystemClock()),
        loop_("otlp-http", *clock_) {}

  ~Impl() {
    if (easy_ != nullptr && multi_ != nullptr) curl_multi_remove_handle(multi_, easy_);
    if (easy_ != nullptr) curl_easy_cleanup(easy_);
    if (multi_ != nullptr) curl_multi_cleanup(multi_);
    if (headers_ != nullptr) curl_slist_free_all(headers_);
  }

  Status Init() {
    if (options_.protocol == OtlpProtocol::kGrpc) {
      return InvalidArgumentError(
          "OtlpHttpExporter needs protocol http/protobuf or http/json, not grpc");
    }
    if (!options_.endpoint.starts_with("http://") && !options_.endpoint.starts_with("https://")) {
      return InvalidArgumentError("OTLP/HTTP endpoint \"" + options_.endpoint +
                                  "\" is not an http:// or https:// URL");
    }
    if (!curl::EnsureGlobalInit()) return InternalError("curl_global_init failed");
    easy_ = curl_easy_init();
    multi_ = curl_multi_init();
    if (easy_ == nullptr || multi_ == nullptr)
      return InternalError("libcurl handle allocation failed");

    const bool json = options_.protocol == OtlpProtocol::kHttpJson;
    headers_ = curl_slist_append(
        headers_, json ? "Content-Type: application/json" : "Content-Type: application/x-protobuf");
    if (options_.compression == OtlpCompression::kGzip) {
      headers_ = curl_slist_append(headers_, "Content-Encoding: gzip");
    }
    headers_ = curl_slist_append(headers_, "Expect:");  // no 100-continue round trip
    for (const auto& [k, v] : options_.headers) {
      headers_ = curl_slist_append(headers_, (k + ": " + v).c_str());
    }

    curl_easy_setopt(easy_, CURLOPT_URL, options_.endpoint.c_str());
    curl_easy_setopt(easy_, CURLOPT_POST, 1L);
    curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, headers_);
    curl_easy_setopt(easy_, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(easy_, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(easy_, CURLOPT_USERAGENT, "OTel-OTLP-Exporter-Cpp-minion/" MINION_VERSION);
    curl::SetBaseOptions(easy_, &response_);
    curl_easy_setopt(easy_, CURLOPT_HEADERFUNCTION, &Impl::OnHeader);
    curl_easy_setopt(easy_, CURLOPT_HEADERDATA, this);
    if (!options_.certificate_file.empty()) {
      curl_easy_setopt(easy_, CURLOPT_CAINFO, options_.certificate_file.c_str());
    }
    if (!options_.client_certificate_file.empty()) {
      curl_easy_setopt(easy_, CURLOPT_SSLCERT, options_.client_certificate_file.c_str());
    }
    if (!options_.client_key_file.empty()) {
      curl_easy_setopt(easy_, CURLOPT_SSLKEY, options_.client_key_file.c_str());
    }
    return Status::Ok();
  }

  sdk::ExportResult Export(std::span<const trace::SpanDataPtr> spans, milliseconds timeout) {
    if (loop_.shutdown.triggered()) return sdk::ExportResult::kFailure;
    std::unique_lock<std::mutex> export_lock(export_mu_);
    if (loop_.shutdown.triggered()) return sdk::ExportResult::kFailure;
    ExportingScope busy(*this);
    std::size_t count = 0;
    for (const auto& s : spans) count += s ? 1 : 0;
    if (count == 0) return sdk::ExportResult::kSuccess;

    const Status encoded = Encode(spans);
    if (!encoded.ok()) {
      internal::DropBatch(loop_, count, encoded);
      return sdk::ExportResult::kFailure;
    }

    const std::uint64_t deadline =
        internal::ExportDeadline(*clock_, timeout, options_.timeout, std::chrono::hours(24 * 365));
    const bool delivered = internal::ExportWithRetry(
        loop_, options_.retry, *clock_, deadline, count, options_.endpoint,
        [&](nanoseconds remaining, std::int64_t& rejected) {
          return Attempt(remaining, rejected);
        });
    return delivered ? sdk::ExportResult::kSuccess : sdk::ExportResult::kFailure;
  }

  Status Shutdown(milliseconds timeout) {
    if (!loop_.shutdown.Trigger()) return Status::Ok();  // also ends a retry wait
    if (multi_ != nullptr) curl_multi_wakeup(multi_);
    // Wait for an Export in flight to notice; it aborts its transfer at the next poll wake-up.
    // The wake-up can land before the exporting thread enters curl_multi_poll, so repeat it
    // while waiting. (A flag + condition variable rather than std::timed_mutex: TSan in GCC 12
    // does not intercept pthread_mutex_clocklock and reports false unlock errors.)
    std::unique_lock<std::mutex> lock(state_mu_);
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (exporting_) {
      if (std::chrono::steady_clock::now() >= until) {
        lock.unlock();
        loop_.failure_log.Flush();
        return DeadlineExceededError("otlp-http: an export was still running at shutdown");
      }
      if (multi_ != nullptr) curl_multi_wakeup(multi_);
      idle_cv_.wait_for(lock, milliseconds(5));
    }
    lock.unlock();
    loop_.failure_log.Flush();
    return Status::Ok();
  }

  OtlpExporterStats stats() const { return loop_.counters.Snapshot(); }

  const OtlpExporterOptions& options() const { return options_; }

 private:
  Status Encode(std::span<const trace::SpanDataPtr> spans) {
    body_.clear();
    if (options_.protocol == OtlpProtocol::kHttpJson) {
      otlp::AppendTraceRequestJson(spans, body_);
    } else {
      MINION_RETURN_IF_ERROR(otlp::AppendTraceRequestProto(spans, body_));
    }
    if (options_.compression == OtlpCompression::kGzip) {
      MINION_RETURN_IF_ERROR(Gzip(body_, gzipped_));
      body_.swap(gzipped_);
    }
    return Status::Ok();
  }

  // One HTTP POST. Classifies the outcome for RunWithRetry.
  AttemptResult Attempt(nanoseconds remaining, std::int64_t& rejected) {
    loop_.counters.CountRequest();
    response_.Clear();
    retry_after_.clear();
    const long timeout_ms = std::max<long>(
        1, static_cast<long>(std::chrono::duration_cast<milliseconds>(remaining).count()));
    curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(easy_, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, body_.data());
    curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body_.size()));

    const CURLcode code = Perform();
    long new_connections = 0;
    if (curl_easy_getinfo(easy_, CURLINFO_NUM_CONNECTS, &new_connections) == CURLE_OK &&
        new_connections > 0) {
      loop_.counters.CountConnections(static_cast<std::uint64_t>(new_connections));
    }
    AttemptResult r;
    if (code != CURLE_OK) {
      if (loop_.shutdown.triggered()) {
        r.outcome = AttemptOutcome::kPermanent;
        r.status = CancelledError("exporter shut down during the request");
        return r;
      }
      r.outcome =
          curl::IsRetryableError(code) ? AttemptOutcome::kRetryable : AttemptOutcome::kPermanent;
      r.status = UnavailableError(std::string("POST ") + options_.endpoint + ": " +
                                  curl_easy_strerror(code));
      return r;
    }
    long http = 0;
    curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &http);
    if (http >= 200 && http < 300) {
      rejected = ReadPartialSuccess();
      return r;
    }
    r.status =
        Status(IsRetryableHttpStatus(static_cast<int>(http)) ? StatusCode::kUnavailable
                                                             : StatusCode::kFailedPrecondition,
               "HTTP " + std::to_string(http) + " from " + options_.endpoint +
                   (response_.data.empty() ? "" : ": " + Printable(response_.data)));
    if (IsRetryableHttpStatus(static_cast<int>(http))) {
      r.outcome = AttemptOutcome::kRetryable;
      if (!retry_after_.empty()) r.retry_after = ParseRetryAfter(retry_after_, clock_->Now());
    } else {
      r.outcome = AttemptOutcome::kPermanent;
    }
    return r;
  }

  // Runs the transfer through the multi interface so Shutdown can interrupt it at once
  // (curl_multi_wakeup) instead of waiting for libcurl's next progress callback.
  CURLcode Perform() {
    if (curl_multi_add_handle(multi_, easy_) != CURLM_OK) return CURLE_FAILED_INIT;
    CURLcode result = CURLE_OK;
    bool done = false;
    while (!done) {
      int running = 0;
      if (curl_multi_perform(multi_, &running) != CURLM_OK) {
        result = CURLE_FAILED_INIT;
        break;
      }
      int queued = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi_, &queued)) {
        if (msg->msg == CURLMSG_DONE) {
          result = msg->data.result;
          done = true;
        }
      }
      if (done) break;
      if (loop_.shutdown.triggered()) {
        result = CURLE_ABORTED_BY_CALLBACK;
        break;
      }
      curl_multi_poll(multi_, nullptr, 0, 100, nullptr);
    }
    curl_multi_remove_handle(multi_, easy_);
    return result;
  }

  // The number of spans a 2xx response reports as rejected (0 if none or unparseable).
  std::int64_t ReadPartialSuccess() {
    if (response_.data.empty()) return 0;
    std::int64_t rejected = 0;
    std::string message;
    if (options_.protocol == OtlpProtocol::kHttpJson) {
      // The collector's reply is outside input: depth-bounded like every parse (ParseJson).
      auto j = ParseJson(response_.data, "response").value_or(nlohmann::json());
      if (j.is_object() && j.contains("partialSuccess") && j["partialSuccess"].is_object()) {
        const auto& ps = j["partialSuccess"];
        if (ps.contains("rejectedSpans")) {
          const auto& v = ps["rejectedSpans"];
          // int64 is a string in the JSON mapping; accept a number too.
          if (v.is_string()) {
            rejected = std::strtoll(v.get<std::string>().c_str(), nullptr, 10);
          } else if (v.is_number_integer()) {
            rejected = v.get<std::int64_t>();
          }
        }
        if (ps.contains("errorMessage") && ps["errorMessage"].is_string()) {
          message = ps["errorMessage"].get<std::string>();
        }
      }
    } else {
      otlp::ExportTraceServiceResponse resp;
      if (resp.ParseFromString(response_.data) && resp.has_partial_success()) {
        rejected = resp.partial_success().rejected_spans();
        message = resp.partial_success().error_message();
      }
    }
    if (rejected > 0 || !message.empty()) {
      loop_.failure_log.Report([&] {
        return "otlp-http: server rejected " + std::to_string(rejected) + " spans" +
               (message.empty() ? "" : ": " + message);
      });
    }
    return rejected;
  }

  static size_t OnHeader(char* data, size_t size, size_t n, void* self_ptr) {
    auto* self = static_cast<Impl*>(self_ptr);
    const size_t len = size * n;
    std::string_view line(data, len);
    constexpr std::string_view kName = "retry-after:";
    if (line.size() > kName.size()) {
      bool match = true;
      for (size_t i = 0; i < kName.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(line[i])) != kName[i]) {
          match = false;
          break;
        }
      }
      if (match) {
        line.remove_prefix(kName.size());
        while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
        self->retry_after_.assign(line);
      }
    }
    return len;
  }

  const OtlpExporterOptions options_;
  Clock* const clock_;
  CURL* easy_ = nullptr;
  CURLM* multi_ = nullptr;
  curl_slist* headers_ = nullptr;

  std::mutex export_mu_;  // serializes Export; guards the buffers and the curl handle

  // Marks an Export in progress so Shutdown can wait for it with a deadline.
  class ExportingScope {
   public:
    explicit ExportingScope(Impl& impl) : impl_(impl) {
      std::lock_guard<std::mutex> lock(impl_.state_mu_);
      impl_.exporting_ = true;
    }
    ~ExportingScope() {
      {
        std::lock_guard<std::mutex> lock(impl_.state_mu_);
        impl_.exporting_ = false;
      }
      impl_.idle_cv_.notify_all();
    }

   private:
    Impl& impl_;
  };
  std::mutex state_mu_;  // guards exporting_; never held while export_mu_ is acquired
  std::condition_variable idle_cv_;
  bool exporting_ = false;
  std::string body_;
  std::string gzipped_;
  // Only the start of a response matters (a status message), so longer ones are cut.
  curl::BoundedBody response_{kMaxResponseBytes, curl::BoundedBody::Overflow::kTruncate};
  std::string retry_after_;

  internal::ExportState loop_;  // shutdown signal, counters, failure log
};

OtlpHttpExporter::OtlpHttpExporter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
OtlpHttpExporter::~OtlpHttpExporter() { (void)Shutdown(milliseconds(1000)); }

Result<std::unique_ptr<OtlpHttpExporter>> OtlpHttpExporter::Create(OtlpExporterOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  MINION_RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<OtlpHttpExporter>(new OtlpHttpExporter(std::move(impl)));
}

sdk::ExportResult OtlpHttpExporter::Export(std::span<const trace::SpanDataPtr> spans,
                                           milliseconds timeout) noexcept {
  try {
    return impl_->Export(spans, timeout);
  } catch (...) {
    // Only std::bad_alloc can get here; the SpanExporter contract is noexcept.
    return sdk::ExportResult::kFailure;
  }
}

Status OtlpHttpExporter::Shutdown(milliseconds timeout) noexcept {
  return impl_->Shutdown(timeout);
}
OtlpExporterStats OtlpHttpExporter::stats() const { return impl_->stats(); }
const OtlpExporterOptions& OtlpHttpExporter::options() const { return impl_->options(); }

}  // namespace minion::exporters
