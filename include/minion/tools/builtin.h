#pragma once
// The built-in tools:
//   write_file  {path, content, append?}  -> {path, bytes_written}
//   read_file   {path, max_bytes?}        -> {path, content, bytes, truncated}
//   calculator  {expression}              -> {result}
//   http_get    {url}                     -> {status, body, content_type, truncated}
// File tools are confined to a root directory: absolute paths, ".." that leaves the root and
// symlinks that point outside it are rejected with PermissionDenied. http_get connects only
// to loopback addresses unless told otherwise (checked on the socket actually opened, so DNS
// answers and redirects cannot move it elsewhere).

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>

#include "minion/common/status.h"
#include "minion/tools/tool.h"

namespace minion::tools {

struct FileToolOptions {
  std::filesystem::path root;               // must exist
  std::size_t max_bytes = 8u << 20;         // largest file read or written
};

std::shared_ptr<Tool> MakeWriteFileTool(FileToolOptions options);
std::shared_ptr<Tool> MakeReadFileTool(FileToolOptions options);
std::shared_ptr<Tool> MakeCalculatorTool();

struct HttpGetOptions {
  bool allow_non_loopback = false;
  std::chrono::milliseconds timeout{10000};
  std::size_t max_body_bytes = 1u << 20;  // longer bodies are cut and marked truncated
  // Send the caller's W3C traceparent/tracestate (not baggage) so the server joins the trace.
  bool inject_trace_context = true;
};
std::shared_ptr<Tool> MakeHttpGetTool(HttpGetOptions options = {});

// Registers write_file, read_file (under `root`), calculator and http_get (loopback only).
Status RegisterBuiltinTools(ToolRegistry& registry, const std::filesystem::path& root);

// The calculator's evaluator, for direct use: + - * / % ^ (right-associative power), unary
// minus/plus, parentheses, numbers with exponents, the constants pi and e, and the functions
// sqrt abs floor ceil round exp ln log10 sin cos tan min max pow. Division by zero, results
// that are not finite, unknown names and malformed input are InvalidArgument errors that say
// where. Nesting is limited (no stack overflow on hostile input).
Result<double> EvaluateExpression(std::string_view expression);

// Resolves `relative` under `root`, rejecting escapes. Exposed for tests.
Result<std::filesystem::path> ResolveUnderRoot(const std::filesystem::path& root,
                                               const std::string& relative);

}  // namespace minion::tools
