#pragma once
// The built-in tools:
//   write_file  {path, content, append?}  -> {path, bytes_written}
//   read_file   {path, max_bytes?}        -> {path, content, bytes, truncated}
//   calculator  {expression}              -> {result}
//   http_get    {url}                     -> {status, body, content_type, truncated, url}
// File tools are confined to a root directory: absolute paths, ".." that leaves the root and
// symlinks that point outside it are rejected with PermissionDenied. http_get fetches only
// hosts on its allow-list and connects only to the address classes it is allowed (loopback
// alone by default), checked on the socket actually opened, so DNS answers and redirects
// cannot move it elsewhere; refusals are PermissionDenied naming the host or address.

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "minion/common/status.h"
#include "minion/tools/tool.h"

namespace minion::tools {

struct FileToolOptions {
  std::filesystem::path root;        // must exist
  std::size_t max_bytes = 8u << 20;  // largest file read or written
};

std::shared_ptr<Tool> MakeWriteFileTool(FileToolOptions options);
std::shared_ptr<Tool> MakeReadFileTool(FileToolOptions options);
std::shared_ptr<Tool> MakeCalculatorTool();

struct HttpGetOptions {
  // Who may be fetched, checked twice: the URL's host name (and each redirect's) against
  // `allowed_hosts`, and the address of every socket actually connected against the address
  // classes below, so neither a DNS answer nor a redirect can carry a request somewhere else.
  //
  // Host names the tool may fetch, compared case-insensitively; "*.example.com" matches the
  // subdomains of example.com (not example.com itself). Empty: any host name.
  std::vector<std::string> allowed_hosts{};
  // Address classes a connection may go to. The default reaches this machine only.
  bool allow_loopback = true;  // 127.0.0.0/8, ::1
  // RFC 1918, link-local (169.254/16, where cloud metadata services live), CGNAT, ULA
  // (fc00::/7), unspecified, multicast and reserved ranges.
  bool allow_private = false;
  bool allow_public = false;  // everything else
  // Deprecated spelling of allow_public + allow_private.
  bool allow_non_loopback = false;
  std::chrono::milliseconds timeout{10000};
  std::size_t max_body_bytes = 1u << 20;  // longer bodies are cut and marked truncated
  int max_redirects = 5;
  // Send the caller's W3C traceparent/tracestate (not baggage) so the server joins the trace.
  bool inject_trace_context = true;
};
// The allow-list rules of HttpGetOptions: for one host name. Exposed for tests.
bool HostAllowed(const std::vector<std::string>& allowed_hosts, std::string_view host);
std::shared_ptr<Tool> MakeHttpGetTool(HttpGetOptions options = {});

// Registers write_file, read_file (under `root`), calculator and http_get (loopback only).
Status RegisterBuiltinTools(ToolRegistry& registry, const std::filesystem::path& root);

// The calculator's evaluator, for direct use: + - * / % ^ (right-associative power), unary
// minus/plus, parentheses, numbers with exponents, the constants pi and e, and the functions
// sqrt abs floor ceil round exp ln log10 sin cos tan min max pow. Division by zero, results
// that are not finite, unknown names and malformed input are InvalidArgument errors that say
// where. Nesting is limited (no stack overflow on hostile input).
Result<double> EvaluateExpression(std::string_view expression);

// The per-task workspace the file tools of one task are confined to: `base`/<task id>, created
// (with `base`) when missing. Characters of the id outside [A-Za-z0-9._-] become '_' and it is
// cut to 100 bytes, so a task id can never name a path outside `base`. InvalidArgument for an
// empty id; Internal when the directories cannot be created.
Result<std::filesystem::path> TaskWorkspace(const std::filesystem::path& base,
                                            std::string_view task_id);

// Resolves `relative` under `root`, rejecting escapes. Exposed for tests.
Result<std::filesystem::path> ResolveUnderRoot(const std::filesystem::path& root,
                                               const std::string& relative);

}  // namespace minion::tools
