#include "minion/exporters/otlp_grpc_exporter.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>

#include "minion/common/env.h"
#include "minion/otlp/proto_message.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.grpc.pb.h"

namespace minion::exporters {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using TraceService = opentelemetry::proto::collector::trace::v1::TraceService;

Result<std::string> ReadPemFile(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return InvalidArgumentError("otlp-grpc: cannot read " + std::string(what) + " file \"" + path + "\"");
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  if (buf.str().empty()) {
    return InvalidArgumentError("otlp-grpc: " + std::string(what) + " file \"" + path + "\" is empty");
  }
  return buf.str();
}

// gRPC metadata keys are lower-case tokens; values of non "-bin" keys must be printable ASCII.
// Checked up front because grpc++ would otherwise fail every call with an opaque INTERNAL.
Status ValidateMetadata(const std::string& key, const std::string& value) {
  if (key.empty()) return InvalidArgumentError("otlp-grpc: empty header name");
  if (key.starts_with("grpc-")) {
    return InvalidArgumentError("otlp-grpc: header \"" + key + "\" uses the reserved grpc- prefix");
  }
  for (char c : key) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) return InvalidArgumentError("otlp-grpc: header name \"" + key + "\" has an invalid character");
  }
  if (!key.ends_with("-bin")) {
    for (char c : value) {
      if (c < 0x20 || c > 0x7e) {
        return InvalidArgumentError("otlp-grpc: header \"" + key + "\" value is not printable ASCII");
      }
    }
  }
  return Status::Ok();
}

// The OTLP specification's retryable gRPC codes. RESOURCE_EXHAUSTED only when the server said
// when to come back (RetryInfo); otherwise it is a permanent refusal.
bool IsRetryableGrpcCode(grpc::StatusCode code, bool has_retry_info) {
  switch (code) {
    case grpc::StatusCode::CANCELLED:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::OUT_OF_RANGE:
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DATA_LOSS:
      return true;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return has_retry_info;
    default:
      return false;
  }
}

}  // namespace

Result<OtlpGrpcTarget> ResolveOtlpGrpcTarget(const OtlpExporterOptions& options) {
  std::string_view url = options.endpoint;
  while (!url.empty() && std::isspace(static_cast<unsigned char>(url.front()))) url.remove_prefix(1);
  while (!url.empty() && std::isspace(static_cast<unsigned char>(url.back()))) url.remove_suffix(1);
  OtlpGrpcTarget target;
  bool has_scheme = false;
  if (url.starts_with("https://")) {
    target.use_tls = true;
    has_scheme = true;
    url.remove_prefix(8);
  } else if (url.starts_with("http://")) {
    has_scheme = true;
    url.remove_prefix(7);
  } else if (url.find("://") != std::string_view::npos) {
    return InvalidArgumentError("otlp-grpc: endpoint \"" + options.endpoint +
                                "\" must be http://host:port, https://host:port or host:port");
  }
  // gRPC has no URL path; "host:4317/" and "host:4317/v1/traces" both mean host:4317.
  if (const auto slash = url.find('/'); slash != std::string_view::npos) url = url.substr(0, slash);
  if (url.empty() || url.front() == ':') {
    return InvalidArgumentError("otlp-grpc: endpoint \"" + options.endpoint + "\" has no host");
  }
  target.authority = std::string(url);
  // A bracketed IPv6 literal has ':' inside the brackets; look for a port after ']'.
  const auto bracket = target.authority.rfind(']');
  const auto colon = target.authority.rfind(':');
  if (colon == std::string::npos || (bracket != std::string::npos && colon < bracket)) {
    target.authority += ":4317";  // OTLP/gRPC's default port
  }
  if (!has_scheme) {
    // The specification: OTEL_EXPORTER_OTLP_INSECURE applies to scheme-less endpoints. We only
    // switch to TLS when a CA was given too, so the common "collector:4317" keeps working.
    target.use_tls = !options.insecure && !options.certificate_file.empty();
  }
  return target;
}

class OtlpGrpcExporter::Impl {
 public:
  explicit Impl(OtlpExporterOptions options) : options_(std::move(options)) {
    clock_ = options_.clock != nullptr ? options_.clock : &SystemClock();
  }

  Status Init() {
    if (options_.protocol != OtlpProtocol::kGrpc) {
      return InvalidArgumentError(std::string("OtlpGrpcExporter needs protocol grpc, not ") +
                                  std::string(OtlpProtocolName(options_.protocol)));
    }
    MINION_ASSIGN_OR_RETURN(target_, ResolveOtlpGrpcTarget(options_));
    for (const auto& [k, v] : options_.headers) {
      std::string key = k;
      std::transform(key.begin(), key.end(), key.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      MINION_RETURN_IF_ERROR(ValidateMetadata(key, v));
      metadata_.emplace_back(std::move(key), v);
    }

    std::shared_ptr<grpc::ChannelCredentials> creds;
    if (target_.use_tls) {
      grpc::SslCredentialsOptions ssl;
      if (!options_.certificate_file.empty()) {
        MINION_ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadPemFile(options_.certificate_file, "CA certificate"));
      }
      if (options_.client_key_file.empty() != options_.client_certificate_file.empty()) {
        return InvalidArgumentError(
            "otlp-grpc: mTLS needs both a client key and a client certificate (got only one)");
      }
      if (!options_.client_key_file.empty()) {
        MINION_ASSIGN_OR_RETURN(ssl.pem_private_key, ReadPemFile(options_.client_key_file, "client key"));
        MINION_ASSIGN_OR_RETURN(ssl.pem_cert_chain,
                                ReadPemFile(options_.client_certificate_file, "client certificate"));
      }
      creds = grpc::SslCredentials(ssl);
    } else {
      creds = grpc::InsecureChannelCredentials();
    }
    if (creds == nullptr) return InternalError("otlp-grpc: could not create channel credentials");

    grpc::ChannelArguments args;
    args.SetUserAgentPrefix("OTel-OTLP-Exporter-Cpp-minion/" MINION_VERSION);
    // Our retry loop implements the OTLP policy (RetryInfo, Export deadline); grpc++'s own
    // retries would multiply attempts and hide them from the counters.
    args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
    // A collector that restarts should be reached again within seconds, not grpc's default
    // two minutes of reconnect backoff; each attempt already fails fast while disconnected.
    // GRPC_ARG_MIN_RECONNECT_BACKOFF_MS is left alone on purpose: grpc also uses it as the
    // connection-attempt timeout (TCP + TLS + HTTP/2 SETTINGS), and a small value makes slow
    // handshakes fail ("timed out before receiving SETTINGS frame"). The RPC deadline bounds
    // the wait anyway.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
    // Each exporter owns its connection state rather than sharing the process-wide pool.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    if (options_.compression == OtlpCompression::kGzip) {
      args.SetCompressionAlgorithm(GRPC_COMPRESS_GZIP);
    }
    channel_ = grpc::CreateCustomChannel(target_.authority, creds, args);
    if (channel_ == nullptr) return InternalError("otlp-grpc: could not create a channel to " + target_.authority);
    stub_ = TraceService::NewStub(channel_);
    return Status::Ok();
  }

  sdk::ExportResult Export(std::span<const trace::SpanDataPtr> spans, milliseconds timeout) {
    if (shutdown_.load(std::memory_order_acquire)) return sdk::ExportResult::kFailure;
    std::lock_guard<std::mutex> export_lock(export_mu_);
    if (shutdown_.load(std::memory_order_acquire)) return sdk::ExportResult::kFailure;
    SetExporting(true);
    struct Done {
      Impl* self;
      ~Done() { self->SetExporting(false); }
    } done{this};
    std::size_t count = 0;
    for (const auto& s : spans) count += s ? 1 : 0;
    if (count == 0) return sdk::ExportResult::kSuccess;

    otlp::BuildTraceRequest(spans, request_);

    // Clamped to a day so "no timeout" (milliseconds::max()) cannot overflow the nanosecond
    // deadline arithmetic below.
    const milliseconds budget =
        std::clamp(std::min(timeout, options_.timeout), milliseconds(0), milliseconds(std::chrono::hours(24)));
    const std::uint64_t deadline =
        clock_->MonotonicNanos() + static_cast<std::uint64_t>(nanoseconds(budget).count());
    RetryPolicy policy = options_.retry;
    if (!policy.sleep) {
      policy.sleep = [this](nanoseconds d) {
        std::unique_lock<std::mutex> lock(wait_mu_);
        return !wait_cv_.wait_for(lock, d, [this] { return shutdown_.load(); });
      };
    }
    int attempt_no = 0;
    std::int64_t rejected = 0;
    const RetryOutcome outcome = RunWithRetry(policy, *clock_, deadline, [&](nanoseconds remaining) {
      if (attempt_no++ > 0) retries_.fetch_add(1, std::memory_order_relaxed);
      return Attempt(remaining, rejected);
    });
    if (!outcome.status.ok()) {
      env::Warn("otlp-grpc: failed to export " + std::to_string(count) + " spans to " +
                target_.authority + " after " + std::to_string(outcome.attempts) +
                " attempt(s): " + outcome.status.ToString());
      failed_.fetch_add(count, std::memory_order_relaxed);
      failed_exports_.fetch_add(1, std::memory_order_relaxed);
      return sdk::ExportResult::kFailure;
    }
    const auto rejected_u =
        static_cast<std::uint64_t>(std::clamp<std::int64_t>(rejected, 0, static_cast<std::int64_t>(count)));
    rejected_.fetch_add(rejected_u, std::memory_order_relaxed);
    exported_.fetch_add(count - rejected_u, std::memory_order_relaxed);
    return sdk::ExportResult::kSuccess;
  }

  Status Shutdown(milliseconds timeout) {
    if (shutdown_.exchange(true, std::memory_order_acq_rel)) return Status::Ok();
    {
      std::lock_guard<std::mutex> lock(ctx_mu_);
      if (in_flight_ != nullptr) in_flight_->TryCancel();
    }
    {
      std::lock_guard<std::mutex> lock(wait_mu_);  // pairs with the wait predicate
    }
    wait_cv_.notify_all();
    // An Export in flight sees CANCELLED (or wakes from its retry wait) and returns. A
    // condition variable rather than std::timed_mutex::try_lock_for, which ThreadSanitizer
    // (gcc 12) cannot follow.
    std::unique_lock<std::mutex> lock(state_mu_);
    if (!idle_cv_.wait_for(lock, timeout, [this] { return !exporting_; })) {
      return DeadlineExceededError("otlp-grpc: an export was still running at shutdown");
    }
    return Status::Ok();
  }

  // Waits (unbounded) for an Export still running after a timed-out Shutdown; it was
  // cancelled, so this is grpc++'s cancellation latency, and the stub must outlive the call.
  void WaitIdle() { std::lock_guard<std::mutex> lock(export_mu_); }

  OtlpGrpcExporterStats stats() const {
    OtlpGrpcExporterStats s;
    s.exported_spans = exported_.load(std::memory_order_relaxed);
    s.failed_spans = failed_.load(std::memory_order_relaxed);
    s.rejected_spans = rejected_.load(std::memory_order_relaxed);
    s.requests = requests_.load(std::memory_order_relaxed);
    s.retries = retries_.load(std::memory_order_relaxed);
    s.failed_exports = failed_exports_.load(std::memory_order_relaxed);
    return s;
  }

  const OtlpExporterOptions& options() const { return options_; }

 private:
  void SetExporting(bool on) {
    {
      std::lock_guard<std::mutex> lock(state_mu_);
      exporting_ = on;
    }
    if (!on) idle_cv_.notify_all();
  }

  // One RPC, classified for RunWithRetry.
  AttemptResult Attempt(nanoseconds remaining, std::int64_t& rejected) {
    requests_.fetch_add(1, std::memory_order_relaxed);
    grpc::ClientContext ctx;
    // grpc++ deadlines are wall-clock; `remaining` is already bounded by the Export timeout.
    ctx.set_deadline(std::chrono::system_clock::now() + remaining);
    for (const auto& [k, v] : metadata_) ctx.AddMetadata(k, v);
    if (options_.compression == OtlpCompression::kGzip) ctx.set_compression_algorithm(GRPC_COMPRESS_GZIP);
    {
      std::lock_guard<std::mutex> lock(ctx_mu_);
      if (shutdown_.load(std::memory_order_acquire)) {
        return {AttemptOutcome::kPermanent, CancelledError("exporter shut down"), std::nullopt};
      }
      in_flight_ = &ctx;
    }
    otlp::ExportTraceServiceResponse response;
    const grpc::Status st = stub_->Export(&ctx, request_, &response);
    {
      std::lock_guard<std::mutex> lock(ctx_mu_);
      in_flight_ = nullptr;
    }

    AttemptResult r;
    if (st.ok()) {
      if (response.has_partial_success()) {
        const auto& ps = response.partial_success();
        rejected = ps.rejected_spans();
        if (ps.rejected_spans() > 0 || !ps.error_message().empty()) {
          env::Warn("otlp-grpc: server rejected " + std::to_string(ps.rejected_spans()) + " spans" +
                    (ps.error_message().empty() ? "" : ": " + ps.error_message()));
        }
      }
      return r;
    }
    r.status = Status(static_cast<StatusCode>(st.error_code()),
                      "TraceService/Export to " + target_.authority + ": " + st.error_message());
    if (shutdown_.load(std::memory_order_acquire)) {
      r.outcome = AttemptOutcome::kPermanent;
      r.status = CancelledError("exporter shut down during the RPC");
      return r;
    }
    const auto retry_delay = ParseGrpcRetryDelay(st.error_details());
    if (IsRetryableGrpcCode(st.error_code(), retry_delay.has_value())) {
      r.outcome = AttemptOutcome::kRetryable;
      r.retry_after = retry_delay;
    } else {
      r.outcome = AttemptOutcome::kPermanent;
    }
    return r;
  }

  const OtlpExporterOptions options_;
  Clock* clock_;
  OtlpGrpcTarget target_;
  std::vector<std::pair<std::string, std::string>> metadata_;  // lower-cased keys
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<TraceService::Stub> stub_;

  // Lock order: export_mu_ before state_mu_ / ctx_mu_ / wait_mu_ (each of those is taken alone
  // for short sections and never while waiting on an RPC).
  std::mutex export_mu_;  // serializes Export; guards request_
  otlp::ExportTraceServiceRequest request_;  // reused: Clear() keeps nested messages' memory
  std::mutex state_mu_;   // guards exporting_
  std::condition_variable idle_cv_;
  bool exporting_ = false;

  std::atomic<bool> shutdown_{false};
  std::mutex ctx_mu_;  // guards in_flight_; never held while waiting for an RPC
  grpc::ClientContext* in_flight_ = nullptr;
  std::mutex wait_mu_;  // only for wait_cv_
  std::condition_variable wait_cv_;

  // Counters: relaxed, they are statistics with no ordering duty.
  std::atomic<std::uint64_t> exported_{0};
  std::atomic<std::uint64_t> failed_{0};
  std::atomic<std::uint64_t> rejected_{0};
  std::atomic<std::uint64_t> requests_{0};
  std::atomic<std::uint64_t> retries_{0};
  std::atomic<std::uint64_t> failed_exports_{0};
};

OtlpGrpcExporter::OtlpGrpcExporter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

OtlpGrpcExporter::~OtlpGrpcExporter() {
  (void)impl_->Shutdown(milliseconds(1000));
  impl_->WaitIdle();
}

Result<std::unique_ptr<OtlpGrpcExporter>> OtlpGrpcExporter::CreateGrpc(OtlpExporterOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  MINION_RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<OtlpGrpcExporter>(new OtlpGrpcExporter(std::move(impl)));
}

Result<std::unique_ptr<sdk::SpanExporter>> OtlpGrpcExporter::Create(OtlpExporterOptions options) {
  MINION_ASSIGN_OR_RETURN(auto exporter, CreateGrpc(std::move(options)));
  return std::unique_ptr<sdk::SpanExporter>(std::move(exporter));
}

sdk::ExportResult OtlpGrpcExporter::Export(std::span<const trace::SpanDataPtr> spans,
                                           milliseconds timeout) noexcept {
  return impl_->Export(spans, timeout);
}

Status OtlpGrpcExporter::Shutdown(milliseconds timeout) noexcept { return impl_->Shutdown(timeout); }

OtlpGrpcExporterStats OtlpGrpcExporter::stats() const { return impl_->stats(); }
const OtlpExporterOptions& OtlpGrpcExporter::options() const { return impl_->options(); }

}  // namespace minion::exporters
