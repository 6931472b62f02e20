#include "minion/exporters/otlp_grpc_exporter.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "exporters/common/export_loop.h"
#include "minion/otlp/encoder.h"
#include "otlp/proto_message.h"

namespace minion::exporters {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
// The full method name of TraceService/Export, as the generated stub would send it.
constexpr std::string_view kExportMethod =
    "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

Result<std::string> ReadPemFile(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return InvalidArgumentError("otlp-grpc: cannot read " + std::string(what) + " file \"" + path +
                                "\"");
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  if (buf.str().empty()) {
    return InvalidArgumentError("otlp-grpc: " + std::string(what) + " file \"" + path +
                                "\" is empty");
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
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok)
      return InvalidArgumentError("otlp-grpc: header name \"" + key +
                                  "\" has an invalid character");
  }
  if (!key.ends_with("-bin")) {
    for (char c : value) {
      if (c < 0x20 || c > 0x7e) {
        return InvalidArgumentError("otlp-grpc: header \"" + key +
                                    "\" value is not printable ASCII");
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
  while (!url.empty() && std::isspace(static_cast<unsigned char>(url.front())))
    url.remove_prefix(1);
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
  explicit Impl(OtlpExporterOptions options)
      : options_(std::move(options)),
        clock_(options_.clock != nullptr ? options_.clock : &SystemClock()),
        loop_("otlp-grpc", *clock_) {}

  ~Impl() {
    // Every call finished before its Attempt returned, so only the shutdown event is left.
    cq_.Shutdown();
    void* tag = nullptr;
    bool ok = false;
    while (cq_.Next(&tag, &ok)) {
    }
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
        MINION_ASSIGN_OR_RETURN(ssl.pem_root_certs,
                                ReadPemFile(options_.certificate_file, "CA certificate"));
      }
      if (options_.client_key_file.empty() != options_.client_certificate_file.empty()) {
        return InvalidArgumentError(
            "otlp-grpc: mTLS needs both a client key and a client certificate (got only one)");
      }
      if (!options_.client_key_file.empty()) {
        MINION_ASSIGN_OR_RETURN(ssl.pem_private_key,
                                ReadPemFile(options_.client_key_file, "client key"));
        MINION_ASSIGN_OR_RETURN(ssl.pem_cert_chain, ReadPemFile(options_.client_certificate_file,
                                                                "client certificate"));
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
    if (channel_ == nullptr)
      return InternalError("otlp-grpc: could not create a channel to " + target_.authority);
    stub_ = std::make_unique<grpc::GenericStub>(channel_);
    return Status::Ok();
  }

  sdk::ExportResult Export(std::span<const trace::SpanDataPtr> spans, milliseconds timeout) {
    if (loop_.shutdown.triggered()) return sdk::ExportResult::kFailure;
    std::lock_guard<std::mutex> export_lock(export_mu_);
    if (loop_.shutdown.triggered()) return sdk::ExportResult::kFailure;
    SetExporting(true);
    struct Done {
      Impl* self;
      ~Done() { self->SetExporting(false); }
    } done{this};
    std::size_t count = 0;
    for (const auto& s : spans) count += s ? 1 : 0;
    if (count == 0) return sdk::ExportResult::kSuccess;

    grpc::ByteBuffer request;
    if (Status encoded = Encode(spans, request); !encoded.ok()) {
      internal::DropBatch(loop_, count, encoded);
      return sdk::ExportResult::kFailure;
    }

    // Capped at a day: grpc++ deadlines are wall-clock time points.
    const std::uint64_t deadline =
        internal::ExportDeadline(*clock_, timeout, options_.timeout, std::chrono::hours(24));
    const bool delivered = internal::ExportWithRetry(
        loop_, options_.retry, *clock_, deadline, count, target_.authority,
        [&](nanoseconds remaining, std::int64_t& rejected) {
          return Attempt(request, remaining, rejected);
        });
    return delivered ? sdk::ExportResult::kSuccess : sdk::ExportResult::kFailure;
  }

  Status Shutdown(milliseconds timeout) {
    if (!loop_.shutdown.Trigger()) return Status::Ok();  // also ends a retry wait
    {
      std::lock_guard<std::mutex> lock(ctx_mu_);
      if (in_flight_ != nullptr) in_flight_->TryCancel();
    }
    // An Export in flight sees CANCELLED (or wakes from its retry wait) and returns. A
    // condition variable rather than std::timed_mutex::try_lock_for, which ThreadSanitizer
    // (gcc 12) cannot follow.
    std::unique_lock<std::mutex> lock(state_mu_);
    const bool idle = idle_cv_.wait_for(lock, timeout, [this] { return !exporting_; });
    lock.unlock();
    loop_.failure_log.Flush();
    if (!idle) return DeadlineExceededError("otlp-grpc: an export was still running at shutdown");
    return Status::Ok();
  }

  // Waits (unbounded) for an Export still running after a timed-out Shutdown; it was
  // cancelled, so this is grpc++'s cancellation latency, and the stub must outlive the call.
  void WaitIdle() { std::lock_guard<std::mutex> lock(export_mu_); }

  OtlpExporterStats stats() const { return loop_.counters.Snapshot(); }

  const OtlpExporterOptions& options() const { return options_; }

 private:
  void SetExporting(bool on) {
    {
      std::lock_guard<std::mutex> lock(state_mu_);
      exporting_ = on;
    }
    if (!on) idle_cv_.notify_all();
  }

  // Encodes with the hand-written protobuf writer (src/otlp, tested byte-for-byte against
  // libprotobuf) and hands the bytes to grpc++ without a copy. The generated stub would
  // instead build and serialize libprotobuf messages, which bench/otlp_encode_bench measures
  // at about 2.7x the cost per span. The buffer is owned by the slice: grpc's transport may
  // hold a reference after the call has completed (e.g. a cancelled write still queued), so
  // it is freed when grpc drops the last reference, not when Export returns.
  Status Encode(std::span<const trace::SpanDataPtr> spans, grpc::ByteBuffer& request) {
    auto body = std::make_unique<std::string>();
    body->reserve(last_request_size_);
    MINION_RETURN_IF_ERROR(otlp::AppendTraceRequestProto(spans, *body));
    last_request_size_ = body->size();
    char* data = body->data();
    const std::size_t size = body->size();
    grpc::Slice slice(data, size, &DeleteString, body.release());
    request = grpc::ByteBuffer(&slice, 1);
    return Status::Ok();
  }
  static void DeleteString(void* s) { delete static_cast<std::string*>(s); }

  // One RPC, classified for RunWithRetry.
  AttemptResult Attempt(const grpc::ByteBuffer& request, nanoseconds remaining,
                        std::int64_t& rejected) {
    loop_.counters.CountRequest();
    grpc::ClientContext ctx;
    // grpc++ deadlines are wall-clock; `remaining` is already bounded by the Export timeout.
    ctx.set_deadline(std::chrono::system_clock::now() + remaining);
    for (const auto& [k, v] : metadata_) ctx.AddMetadata(k, v);
    if (options_.compression == OtlpCompression::kGzip)
      ctx.set_compression_algorithm(GRPC_COMPRESS_GZIP);
    {
      std::lock_guard<std::mutex> lock(ctx_mu_);
      if (loop_.shutdown.triggered()) {
        return {AttemptOutcome::kPermanent, CancelledError("exporter shut down"), std::nullopt};
      }
      in_flight_ = &ctx;
    }
    grpc::ByteBuffer response;
    const grpc::Status st = Call(ctx, request, response);
    {
      std::lock_guard<std::mutex> lock(ctx_mu_);
      in_flight_ = nullptr;
    }

    AttemptResult r;
    if (st.ok()) {
      rejected = ReadPartialSuccess(response);
      return r;
    }
    r.status = Status(static_cast<StatusCode>(st.error_code()),
                      "TraceService/Export to " + target_.authority + ": " + st.error_message());
    if (loop_.shutdown.triggered()) {
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

  // A blocking unary call through the generic stub: started on our completion queue and
  // waited for on this thread, as grpc++'s own BlockingUnaryCall does (the generic API has no
  // synchronous form). Exports are serialized, so at most one call is on cq_ at a time.
  grpc::Status Call(grpc::ClientContext& ctx, const grpc::ByteBuffer& request,
                    grpc::ByteBuffer& response) {
    grpc::Status st;
    auto call = stub_->PrepareUnaryCall(&ctx, method_, request, &cq_);
    call->StartCall();
    call->Finish(&response, &st, this);
    void* tag = nullptr;
    bool ok = false;
    // Finish always completes (the deadline or a cancellation ends the call); `ok` is always
    // true for Finish, and the status says how the call ended.
    if (!cq_.Next(&tag, &ok) || tag != this) {
      return grpc::Status(grpc::StatusCode::INTERNAL, "completion queue shut down");
    }
    return st;
  }

  // The number of spans an ExportTraceServiceResponse reports as rejected (0 if none or
  // unparseable), logging the server's message.
  std::int64_t ReadPartialSuccess(const grpc::ByteBuffer& response) {
    if (response.Length() == 0) return 0;  // the usual answer: an empty message
    std::vector<grpc::Slice> slices;
    if (!response.Dump(&slices).ok()) return 0;
    std::string bytes;
    bytes.reserve(response.Length());
    for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
    otlp::ExportTraceServiceResponse parsed;
    if (!parsed.ParseFromString(bytes) || !parsed.has_partial_success()) return 0;
    const auto& ps = parsed.partial_success();
    if (ps.rejected_spans() > 0 || !ps.error_message().empty()) {
      loop_.failure_log.Report([&] {
        return "otlp-grpc: server rejected " + std::to_string(ps.rejected_spans()) + " spans" +
               (ps.error_message().empty() ? "" : ": " + ps.error_message());
      });
    }
    return ps.rejected_spans();
  }

  const OtlpExporterOptions options_;
  Clock* const clock_;
  OtlpGrpcTarget target_;
  std::vector<std::pair<std::string, std::string>> metadata_;  // lower-cased keys
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<grpc::GenericStub> stub_;
  const std::string method_{kExportMethod};  // grpc++ keeps a pointer to it during the call setup
  grpc::CompletionQueue cq_;                 // used only by the Export holding export_mu_

  // Lock order: export_mu_ before state_mu_ / ctx_mu_ (each of those is taken alone for short
  // sections and never while waiting on an RPC).
  std::mutex export_mu_;               // serializes Export; guards last_request_size_
  std::size_t last_request_size_ = 0;  // the previous request's size, to reserve the next
  std::mutex state_mu_;                // guards exporting_
  std::condition_variable idle_cv_;
  bool exporting_ = false;

  std::mutex ctx_mu_;  // guards in_flight_; never held while waiting for an RPC
  grpc::ClientContext* in_flight_ = nullptr;

  internal::ExportState loop_;  // shutdown signal, counters, failure log
};

OtlpGrpcExporter::OtlpGrpcExporter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

OtlpGrpcExporter::~OtlpGrpcExporter() {
  (void)impl_->Shutdown(milliseconds(1000));
  impl_->WaitIdle();
}

Result<std::unique_ptr<OtlpGrpcExporter>> OtlpGrpcExporter::Create(OtlpExporterOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  MINION_RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<OtlpGrpcExporter>(new OtlpGrpcExporter(std::move(impl)));
}

sdk::ExportResult OtlpGrpcExporter::Export(std::span<const trace::SpanDataPtr> spans,
                                           milliseconds timeout) noexcept {
  return impl_->Export(spans, timeout);
}

Status OtlpGrpcExporter::Shutdown(milliseconds timeout) noexcept {
  return impl_->Shutdown(timeout);
}

OtlpExporterStats OtlpGrpcExporter::stats() const { return impl_->stats(); }
const OtlpExporterOptions& OtlpGrpcExporter::options() const { return impl_->options(); }

}  // namespace minion::exporters
