#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "minion/tools/builtin.h"
#include "tools/text.h"

namespace minion::tools {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// True when `path` is `root` or below it, comparing whole components.
bool IsWithin(const fs::path& root, const fs::path& path) {
  auto r = root.begin();
  auto p = path.begin();
  for (; r != root.end(); ++r, ++p) {
    if (r->empty()) continue;  // a trailing separator on root
    if (p == path.end() || *r != *p) return false;
  }
  return true;
}

Status ErrnoStatus(const std::string& what, int err) {
  std::string msg = what + ": " + std::strerror(err);
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return NotFoundError(msg);
    case EACCES:
    case EPERM:
      return Status(StatusCode::kPermissionDenied, msg);
    case ELOOP:
      return Status(StatusCode::kPermissionDenied, msg + " (symlinks are not followed)");
    case ENOSPC:
    case EDQUOT:
      return ResourceExhaustedError(msg);
    case EISDIR:
      return InvalidArgumentError(msg);
    default:
      return InternalError(msg);
  }
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

std::string Relative(const fs::path& root, const fs::path& full) {
  return full.lexically_relative(root).generic_string();
}

class WriteFileTool final : public Tool {
 public:
  explicit WriteFileTool(FileToolOptions options) : options_(std::move(options)) {}
  std::string Name() const override { return "write_file"; }
  std::string Description() const override {
    return "Writes UTF-8 text to a file under the workspace root, creating directories as needed.";
  }
  json InputSchema() const override {
    return {
        {"type", "object"},
        {"properties",
         {{"path", {{"type", "string"}, {"description", "path relative to the workspace root"}}},
          {"content", {{"type", "string"}}},
          {"append", {{"type", "boolean"}, {"description", "append instead of replacing"}}}}},
        {"required", {"path", "content"}},
        {"additionalProperties", false}};
  }
  Result<json> Invoke(const trace::Context&, const json& input) override {
    const std::string& content = input["content"].get_ref<const std::string&>();
    if (content.size() > options_.max_bytes) {
      return InvalidArgumentError("content has " + std::to_string(content.size()) +
                                  " bytes, more than the " + std::to_string(options_.max_bytes) +
                                  " allowed");
    }
    MINION_ASSIGN_OR_RETURN(fs::path target,
                            ResolveUnderRoot(options_.root, input["path"].get<std::string>()));
    std::error_code ec;
    fs::create_directories(target.parent_path(), ec);
    if (ec) return InternalError("creating " + target.parent_path().string() + ": " + ec.message());
    // Re-check after creating directories: a directory that appeared as a symlink meanwhile
    // must not carry the write outside the root.
    MINION_ASSIGN_OR_RETURN(target,
                            ResolveUnderRoot(options_.root, input["path"].get<std::string>()));
    const bool append = input.value("append", false);
    Fd f;
    f.fd =
        ::open(target.c_str(),
               O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (append ? O_APPEND : O_TRUNC), 0644);
    if (f.fd < 0) return ErrnoStatus("opening " + target.string(), errno);
    std::size_t written = 0;
    while (written < content.size()) {
      ssize_t n = ::write(f.fd, content.data() + written, content.size() - written);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoStatus("writing " + target.string(), errno);
      written += static_cast<std::size_t>(n);
    }
    return json{{"path", Relative(RootCanonical(), target)}, {"bytes_written", written}};
  }

 private:
  fs::path RootCanonical() const {
    std::error_code ec;
    auto p = fs::canonical(options_.root, ec);
    return ec ? options_.root : p;
  }
  FileToolOptions options_;
};

class ReadFileTool final : public Tool {
 public:
  explicit ReadFileTool(FileToolOptions options) : options_(std::move(options)) {}
  std::string Name() const override { return "read_file"; }
  std::string Description() const override {
    return "Reads a UTF-8 text file under the workspace root.";
  }
  json InputSchema() const override {
    return {
        {"type", "object"},
        {"properties",
         {{"path", {{"type", "string"}, {"description", "path relative to the workspace root"}}},
          {"max_bytes", {{"type", "integer"}, {"description", "read at most this many bytes"}}}}},
        {"required", {"path"}},
        {"additionalProperties", false}};
  }
  Result<json> Invoke(const trace::Context&, const json& input) override {
    std::size_t limit = options_.max_bytes;
    if (input.contains("max_bytes")) {
      auto requested = input["max_bytes"].get<std::int64_t>();
      if (requested <= 0) return InvalidArgumentError("max_bytes must be positive");
      limit = std::min<std::size_t>(limit, static_cast<std::size_t>(requested));
    }
    MINION_ASSIGN_OR_RETURN(fs::path target,
                            ResolveUnderRoot(options_.root, input["path"].get<std::string>()));
    Fd f;
    f.fd = ::open(target.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (f.fd < 0) return ErrnoStatus("opening " + target.string(), errno);
    struct stat st;
    if (::fstat(f.fd, &st) != 0) return ErrnoStatus("stat " + target.string(), errno);
    if (!S_ISREG(st.st_mode))
      return InvalidArgumentError(target.string() + " is not a regular file");
    std::string content;
    content.resize(std::min<std::size_t>(limit, static_cast<std::size_t>(st.st_size)) + 1);
    std::size_t got = 0;
    while (got < content.size()) {
      ssize_t n = ::read(f.fd, content.data() + got, content.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoStatus("reading " + target.string(), errno);
      if (n == 0) break;
      got += static_cast<std::size_t>(n);
    }
    // One byte past the limit tells a truncated read from a file of exactly `limit` bytes.
    const bool truncated = got > limit;
    content.resize(std::min(got, limit));
    if (!internal::IsValidUtf8(content)) {
      // A cut in the middle of a multi-byte character is ours, not the file's: trim it.
      std::size_t keep = content.size();
      for (int back = 0; back < 3 && keep > 0 && truncated; ++back) {
        if (internal::IsValidUtf8(std::string_view(content).substr(0, keep - 1))) {
          content.resize(keep - 1);
          break;
        }
        --keep;
      }
      if (!internal::IsValidUtf8(content)) {
        return InvalidArgumentError(target.string() + " is not UTF-8 text");
      }
    }
    return json{{"path", input["path"]},
                {"content", content},
                {"bytes", content.size()},
                {"truncated", truncated}};
  }

 private:
  FileToolOptions options_;
};

}  // namespace

Result<fs::path> ResolveUnderRoot(const fs::path& root, const std::string& relative) {
  if (relative.empty()) return InvalidArgumentError("path is empty");
  if (relative.find('\0') != std::string::npos) return InvalidArgumentError("path contains NUL");
  fs::path rel(relative);
  if (rel.is_absolute() || rel.has_root_name() || rel.has_root_directory()) {
    return Status(StatusCode::kPermissionDenied,
                  "path \"" + relative + "\" is absolute; give one relative to the workspace root");
  }
  std::error_code ec;
  fs::path root_canon = fs::canonical(root, ec);
  if (ec) return FailedPreconditionError("workspace root " + root.string() + ": " + ec.message());
  fs::path lexical = (root_canon / rel).lexically_normal();
  if (!IsWithin(root_canon, lexical) || lexical == root_canon) {
    return Status(StatusCode::kPermissionDenied,
                  "path \"" + relative + "\" leaves the workspace root");
  }
  // Symlinks among the existing components could still point elsewhere.
  fs::path resolved = fs::weakly_canonical(lexical, ec);
  if (ec) return InternalError("resolving " + lexical.string() + ": " + ec.message());
  if (!IsWithin(root_canon, resolved) || resolved == root_canon) {
    return Status(StatusCode::kPermissionDenied,
                  "path \"" + relative + "\" resolves outside the workspace root");
  }
  return resolved;
}

std::shared_ptr<Tool> MakeWriteFileTool(FileToolOptions options) {
  return std::make_shared<WriteFileTool>(std::move(options));
}
std::shared_ptr<Tool> MakeReadFileTool(FileToolOptions options) {
  return std::make_shared<ReadFileTool>(std::move(options));
}

}  // namespace minion::tools
