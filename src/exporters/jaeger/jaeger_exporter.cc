#include "minion/exporters/jaeger_exporter.h"

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <stop_token>
#include <utility>
#include <vector>

#include "curl/curl_easy.h"
#include "exporters/common/failure_log.h"
#include "exporters/jaeger/jaeger_thrift.h"
#include "minion/common/clock.h"

namespace minion::exporters {
namespace {

using std::chrono::milliseconds;

}  // namespace

class JaegerExporter::Impl {
 public:
  explicit Impl(JaegerExporterOptions options)
      : options_(std::move(options)),
        clock_(options_.clock != nullptr ? options_.clock : &SystemClock()),
        policy_(options_.retry),
        failure_log_("jaeger exporter", *clock_, internal::FailureLog::kDefaultInterval,
                     [](std::string_view line) {
                       std::fprintf(stderr, "minion %.*s\n", static_cast<int>(line.size()),
                                    line.data());
                     }) {
    // Backoff waits end early on Shutdown, unless the caller injected its own wait.
    if (!policy_.sleep) {
      policy_.sleep = [this](std::chrono::nanoseconds d) { return WaitUnlessShutdown(d); };
    }
  }

  ~Impl() {
    if (headers_ != nullptr) curl_slist_free_all(headers_);
    if (curl_ != nullptr) curl_easy_cleanup(curl_);
  }

  Status Init() {
    (void)curl::EnsureGlobalInit();  // a failure shows as curl_easy_init failing
    curl_ = curl_easy_init();
    if (curl_ == nullptr) return InternalError("jaeger exporter: curl_easy_init failed");
    headers_ = curl_slist_append(headers_, "Content-Type: application/x-thrift");
    // Without this, libcurl waits for "100 Continue" before sending large bodies, a round trip
    // the collector does not need.
    headers_ = curl_slist_append(headers_, "Expect:");
    for (const auto& [name, value] : options_.headers) {
      headers_ = curl_slist_append(headers_, (name + ": " + value).c_str());
    }
    curl_easy_setopt(curl_, CURLOPT_URL, options_.endpoint.c_str());
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers_);
    curl_easy_setopt(curl_, CURLOPT_POST, 1L);
    curl::SetBaseOptions(curl_, &response_);
    // Lets Shutdown abort a request in flight instead of waiting out its timeout.
    curl::AbortWhenStopRequested(curl_, &stop_token_);
    if (!options_.username.empty()) {
      curl_easy_setopt(curl_, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
      curl_easy_setopt(curl_, CURLOPT_USERNAME, options_.username.c_str());
      curl_easy_setopt(curl_, CURLOPT_PASSWORD, options_.password.c_str());
    }
    return Status::Ok();
  }

  sdk::ExportResult Export(std::span<const trace::SpanDataPtr> spans, milliseconds timeout) {
    if (shutdown_.load(std::memory_order_acquire)) return sdk::ExportResult::kFailure;
    if (spans.empty()) return sdk::ExportResult::kSuccess;
    const std::uint64_t deadline =
        clock_->MonotonicNanos() +
        static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count());

    if (!Acquire(timeout)) return sdk::ExportResult::kFailure;
    struct Release {
      Impl* impl;
      ~Release() { impl->ReleaseBusy(); }
    } release{this};

    // One Batch per resource; almost always a single group, so keep the grouping cheap.
    groups_.clear();
    for (const auto& span : spans) {
      if (span == nullptr) continue;
      auto it = std::find_if(groups_.begin(), groups_.end(),
                             [&](const auto& g) { return g.first == span->resource; });
      if (it == groups_.end()) {
        groups_.emplace_back(span->resource, std::vector<const trace::SpanData*>{});
        it = groups_.end() - 1;
      }
      it->second.push_back(span.get());
    }
    bool ok = true;
    for (const auto& [resource, group] : groups_) {
      body_.clear();
      jaeger::EncodeBatch(resource, group, &body_);
      Status s = PostWithRetries(deadline);
      if (!s.ok()) {
        ok = false;
        // A copy: clang 14 cannot capture a structured binding (the fuzz build uses clang).
        const std::size_t dropped = group.size();
        failure_log_.Report([&] {
          return "jaeger exporter: dropped " + std::to_string(dropped) + " spans: " + s.ToString();
        });
      }
    }
    return ok ? sdk::ExportResult::kSuccess : sdk::ExportResult::kFailure;
  }

  Status Shutdown(milliseconds timeout) {
    std::unique_lock lock(mu_);
    shutdown_.store(true, std::memory_order_release);
    stop_.request_stop();
    cv_.notify_all();  // cuts a backoff wait short; the progress callback aborts a transfer
    if (!cv_.wait_for(lock, timeout, [&] { return !busy_; })) {
      failure_log_.Flush();
      return DeadlineExceededError("jaeger exporter: an export is still running");
    }
    failure_log_.Flush();
    if (headers_ != nullptr) curl_slist_free_all(headers_);
    headers_ = nullptr;
    if (curl_ != nullptr) curl_easy_cleanup(curl_);
    curl_ = nullptr;
    return Status::Ok();
  }

 private:
  // Exports are serialised with a busy flag rather than a timed mutex so Shutdown can wait
  // with a timeout (std::timed_mutex's timed lock is invisible to ThreadSanitizer on GCC 12).
  bool Acquire(milliseconds timeout) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return !busy_ || shutdown_.load(); })) return false;
    if (shutdown_.load() || curl_ == nullptr) return false;
    busy_ = true;
    return true;
  }
  void ReleaseBusy() {
    {
      std::lock_guard lock(mu_);
      busy_ = false;
    }
    cv_.notify_all();
  }

  // One POST of body_, classified for RunWithRetry.
  AttemptResult PostOnce(std::chrono::nanoseconds remaining) {
    AttemptResult r;
    response_.Clear();
    const auto per_request = std::max<std::int64_t>(
        1, std::min<std::int64_t>(options_.timeout.count(),
                                  std::chrono::duration_cast<milliseconds>(remaining).count()));
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body_.data());
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body_.size()));
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, static_cast<long>(per_request));
    const CURLcode rc = curl_easy_perform(curl_);
    if (rc != CURLE_OK) {
      r.outcome =
          curl::IsRetryableError(rc) ? AttemptOutcome::kRetryable : AttemptOutcome::kPermanent;
      r.status = UnavailableError("POST " + options_.endpoint + ": " + curl_easy_strerror(rc));
      return r;
    }
    long status = 0;
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status < 300) return r;
    std::string msg = "POST " + options_.endpoint + ": HTTP " + std::to_string(status);
    if (!response_.data.empty()) msg += ": " + response_.data;
    if (IsRetryableHttpStatus(static_cast<int>(status))) {
      r.outcome = AttemptOutcome::kRetryable;
      r.status = UnavailableError(std::move(msg));
      curl_off_t retry_after = 0;
      if (curl_easy_getinfo(curl_, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK &&
          retry_after > 0) {
        r.retry_after = std::chrono::seconds(retry_after);
      }
      return r;
    }
    // Any other status (400 above all): the collector rejected the batch; sending the same
    // bytes again cannot help.
    r.outcome = AttemptOutcome::kPermanent;
    r.status = InvalidArgumentError(std::move(msg));
    return r;
  }

  Status PostWithRetries(std::uint64_t deadline) {
    RetryOutcome outcome =
        RunWithRetry(policy_, *clock_, deadline,
                     [this](std::chrono::nanoseconds remaining) { return PostOnce(remaining); });
    return outcome.status;
  }

  bool WaitUnlessShutdown(std::chrono::nanoseconds d) {
    std::unique_lock lock(mu_);
    return !cv_.wait_for(lock, d, [&] { return shutdown_.load(std::memory_order_acquire); });
  }

  const JaegerExporterOptions options_;
  Clock* const clock_;
  RetryPolicy policy_;
  internal::FailureLog failure_log_;  // "dropped N spans" lines, at most one per 10 s

  std::mutex mu_;
  std::condition_variable cv_;         // busy_ cleared, or shutdown_ set
  bool busy_ = false;                  // guarded by mu_: an Export owns the members below
  std::atomic<bool> shutdown_{false};  // written under mu_
  std::stop_source stop_;  // requested with shutdown_; read lock-free by the curl callback
  std::stop_token stop_token_ = stop_.get_token();

  // Used only by the Export holding busy_ (and by Shutdown once busy_ is clear).
  CURL* curl_ = nullptr;
  curl_slist* headers_ = nullptr;
  std::string body_;  // reused across exports
  // Only the start of an error body is useful in a message.
  curl::BoundedBody response_{512, curl::BoundedBody::Overflow::kTruncate};
  std::vector<std::pair<const trace::Resource*, std::vector<const trace::SpanData*>>> groups_;
};

Result<std::unique_ptr<JaegerExporter>> JaegerExporter::Create(JaegerExporterOptions options) {
  const std::string& e = options.endpoint;
  if (e.rfind("http://", 0) != 0 && e.rfind("https://", 0) != 0) {
    return InvalidArgumentError("jaeger exporter: endpoint \"" + e +
                                "\" must start with http:// or https://");
  }
  if (options.timeout <= milliseconds(0)) {
    return InvalidArgumentError("jaeger exporter: timeout must be positive");
  }
  auto impl = std::make_unique<Impl>(std::move(options));
  MINION_RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<JaegerExporter>(new JaegerExporter(std::move(impl)));
}

JaegerExporter::JaegerExporter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
JaegerExporter::~JaegerExporter() = default;

sdk::ExportResult JaegerExporter::Export(std::span<const trace::SpanDataPtr> spans,
                                         milliseconds timeout) noexcept {
  try {
    return impl_->Export(spans, timeout);
  } catch (const std::exception& e) {  // allocation failure while encoding
    std::fprintf(stderr, "minion jaeger exporter: export failed: %s\n", e.what());
    return sdk::ExportResult::kFailure;
  }
}

Status JaegerExporter::Shutdown(milliseconds timeout) noexcept { return impl_->Shutdown(timeout); }

}  // namespace minion::exporters
