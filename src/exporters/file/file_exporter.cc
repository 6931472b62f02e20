#include "minion/exporters/file_exporter.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>

#include "exporters/common/failure_log.h"
#include "minion/common/clock.h"
#include "minion/common/env.h"
#include "minion/otlp/encoder.h"

namespace minion::exporters {
namespace {

std::string ErrnoText(int err) { return std::strerror(err); }

Status OpenError(const std::string& path, int err) {
  const StatusCode code = err == EACCES || err == EPERM || err == EROFS
                              ? StatusCode::kPermissionDenied
                          : err == ENOENT || err == ENOTDIR ? StatusCode::kNotFound
                                                            : StatusCode::kUnavailable;
  std::string hint;
  if (code == StatusCode::kPermissionDenied) hint = " (is the directory writable?)";
  if (code == StatusCode::kNotFound) hint = " (does the directory exist?)";
  return Status(
      code, "file exporter: cannot open \"" + path + "\" for appending: " + ErrnoText(err) + hint);
}

}  // namespace

Result<FileExporterOptions> FileExporterOptions::FromEnv(const EnvLookup& lookup_in) {
  const EnvLookup lookup =
      lookup_in ? lookup_in : EnvLookup([](std::string_view name) { return env::Get(name); });
  FileExporterOptions o;
  if (auto v = lookup("MINION_FILE_EXPORTER_PATH")) o.path = *v;
  if (auto v = lookup("MINION_FILE_EXPORTER_MAX_BYTES")) {
    auto n = env::ParseInt(*v);
    if (!n.ok() || *n <= 0) {
      return InvalidArgumentError("MINION_FILE_EXPORTER_MAX_BYTES=\"" + *v +
                                  "\": want a positive number of bytes");
    }
    o.max_bytes = static_cast<std::uint64_t>(*n);
  }
  if (auto v = lookup("MINION_FILE_EXPORTER_MAX_FILES")) {
    auto n = env::ParseInt(*v);
    if (!n.ok() || *n < 1 || *n > 10000) {
      return InvalidArgumentError("MINION_FILE_EXPORTER_MAX_FILES=\"" + *v +
                                  "\": want a number from 1 to 10000");
    }
    o.max_files = static_cast<std::uint32_t>(*n);
  }
  return o;
}

class FileExporter::Impl {
 public:
  explicit Impl(FileExporterOptions options)
      : options_(std::move(options)), failure_log_("file exporter", SystemClock()) {}
  ~Impl() {
    if (fd_ >= 0) ::close(fd_);
  }

  Status Init() {
    if (options_.path.empty()) return InvalidArgumentError("file exporter: empty path");
    if (options_.max_bytes == 0)
      return InvalidArgumentError("file exporter: max_bytes must be positive");
    if (options_.max_files == 0)
      return InvalidArgumentError("file exporter: max_files must be at least 1");
    return Open();
  }

  sdk::ExportResult Export(std::span<const trace::SpanDataPtr> spans) {
    std::lock_guard<std::mutex> lock(mu_);
    if (fd_ < 0) return sdk::ExportResult::kFailure;  // shut down (or a failed reopen)
    std::size_t count = 0;
    for (const auto& s : spans) count += s ? 1 : 0;
    if (count == 0) return sdk::ExportResult::kSuccess;

    line_.clear();
    otlp::AppendTraceRequestJson(spans, line_);
    line_.push_back('\n');

    if (size_ > 0 && size_ + line_.size() > options_.max_bytes) {
      if (Status s = Rotate(); !s.ok()) return Fail(count, s);
    }
    if (Status s = WriteAll(line_); !s.ok()) return Fail(count, s);
    size_ += line_.size();
    lines_.fetch_add(1, std::memory_order_relaxed);
    exported_.fetch_add(count, std::memory_order_relaxed);
    return sdk::ExportResult::kSuccess;
  }

  Status Flush() {
    std::lock_guard<std::mutex> lock(mu_);
    return Sync();
  }

  Status Shutdown() {
    std::lock_guard<std::mutex> lock(mu_);
    if (fd_ < 0) return Status::Ok();
    failure_log_.Flush();
    Status s = Sync();
    if (::close(fd_) != 0 && s.ok())
      s = Status(StatusCode::kDataLoss, "file exporter: close: " + ErrnoText(errno));
    fd_ = -1;
    return s;
  }

  FileExporterStats stats() const {
    FileExporterStats s;
    s.exported_spans = exported_.load(std::memory_order_relaxed);
    s.failed_spans = failed_.load(std::memory_order_relaxed);
    s.lines = lines_.load(std::memory_order_relaxed);
    s.rotations = rotations_.load(std::memory_order_relaxed);
    return s;
  }

  const FileExporterOptions& options() const { return options_; }

 private:
  Status Open() {
    fd_ = ::open(options_.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0) return OpenError(options_.path, errno);
    struct stat st {};
    if (::fstat(fd_, &st) != 0)
      return Status(StatusCode::kUnavailable, "file exporter: fstat: " + ErrnoText(errno));
    if (!S_ISREG(st.st_mode)) {
      ::close(fd_);
      fd_ = -1;
      return InvalidArgumentError("file exporter: \"" + options_.path + "\" is not a regular file");
    }
    size_ = static_cast<std::uint64_t>(st.st_size);
    return Status::Ok();
  }

  Status Sync() {
    if (fd_ < 0) return Status::Ok();
    if (::fsync(fd_) != 0)
      return Status(StatusCode::kDataLoss,
                    "file exporter: fsync \"" + options_.path + "\": " + ErrnoText(errno));
    return Status::Ok();
  }

  // path.(n-1) is dropped, path.k becomes path.(k+1), path becomes path.1, and a fresh path
  // is opened. The old file is fsynced first so a rotated file is complete on disk.
  Status Rotate() {
    MINION_RETURN_IF_ERROR(Sync());
    if (options_.max_files == 1) {
      if (::ftruncate(fd_, 0) != 0)
        return Status(StatusCode::kUnavailable, "file exporter: truncate: " + ErrnoText(errno));
      size_ = 0;
      rotations_.fetch_add(1, std::memory_order_relaxed);
      return Status::Ok();
    }
    ::close(fd_);
    fd_ = -1;
    for (std::uint32_t k = options_.max_files - 1; k >= 2; --k) {
      const std::string from = options_.path + "." + std::to_string(k - 1);
      const std::string to = options_.path + "." + std::to_string(k);
      if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT) {
        env::Warn("file exporter: rename " + from + " -> " + to + ": " + ErrnoText(errno));
      }
    }
    const std::string first = options_.path + ".1";
    if (::rename(options_.path.c_str(), first.c_str()) != 0) {
      const int err = errno;
      MINION_RETURN_IF_ERROR(Open());  // keep writing to the unrotated file
      return Status(StatusCode::kUnavailable, "file exporter: rename " + options_.path + " -> " +
                                                  first + ": " + ErrnoText(err));
    }
    rotations_.fetch_add(1, std::memory_order_relaxed);
    return Open();
  }

  Status WriteAll(std::string_view data) {
    std::size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = ::write(fd_, data.data() + done, data.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        const int err = errno;
        // Cut a partial line off so every line in the file stays a complete JSON document.
        if (done > 0 && ::ftruncate(fd_, static_cast<off_t>(size_)) != 0) {
          env::Warn("file exporter: could not remove a partial line: " + ErrnoText(errno));
        }
        return Status(StatusCode::kUnavailable,
                      "file exporter: write \"" + options_.path + "\": " + ErrnoText(err));
      }
      done += static_cast<std::size_t>(n);
    }
    return Status::Ok();
  }

  sdk::ExportResult Fail(std::size_t count, const Status& s) {
    // Rate-limited: a full disk fails every batch.
    failure_log_.Report([&] {
      return "file exporter: dropping " + std::to_string(count) + " spans: " + s.ToString();
    });
    failed_.fetch_add(count, std::memory_order_relaxed);
    return sdk::ExportResult::kFailure;
  }

  const FileExporterOptions options_;
  internal::FailureLog failure_log_;  // "dropping N spans" lines, at most one per 10 s
  std::mutex mu_;                     // guards everything below except the counters
  int fd_ = -1;
  std::uint64_t size_ = 0;  // bytes in the current file
  std::string line_;        // reused encoding buffer

  // Counters: relaxed, they are statistics with no ordering duty.
  std::atomic<std::uint64_t> exported_{0};
  std::atomic<std::uint64_t> failed_{0};
  std::atomic<std::uint64_t> lines_{0};
  std::atomic<std::uint64_t> rotations_{0};
};

FileExporter::FileExporter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FileExporter::~FileExporter() { (void)impl_->Shutdown(); }

Result<std::unique_ptr<FileExporter>> FileExporter::Create(FileExporterOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  MINION_RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<FileExporter>(new FileExporter(std::move(impl)));
}

sdk::ExportResult FileExporter::Export(std::span<const trace::SpanDataPtr> spans,
                                       std::chrono::milliseconds timeout) noexcept {
  (void)timeout;  // a local write; fsync is left to ForceFlush so Export stays fast
  return impl_->Export(spans);
}

Status FileExporter::ForceFlush(std::chrono::milliseconds timeout) noexcept {
  (void)timeout;
  return impl_->Flush();
}

Status FileExporter::Shutdown(std::chrono::milliseconds timeout) noexcept {
  (void)timeout;
  return impl_->Shutdown();
}

FileExporterStats FileExporter::stats() const { return impl_->stats(); }
const FileExporterOptions& FileExporter::options() const { return impl_->options(); }

}  // namespace minion::exporters
