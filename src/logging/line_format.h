#pragma once
// Building one log line (JSON or text) on the calling thread. Private to minion_logging.

#include <string>
#include <string_view>

#include "minion/common/clock.h"
#include "minion/logging/log_context.h"
#include "minion/logging/logging.h"
#include "minion/trace/span_context.h"

namespace minion::logging {

// Lets the formatter read the innermost scope's fields without copying them.
struct LogContextAccess {
  static const LogContextFields* Top() noexcept;
};

namespace internal {

// Appends `text` as the inside of a JSON string: `"` `\` and control characters escaped, bytes
// that are not valid UTF-8 replaced by \ufffd (one per invalid byte).
void AppendJsonEscaped(std::string& out, std::string_view text);
// Appends `text` for a text-format line: valid UTF-8 kept, invalid bytes replaced by U+FFFD,
// control characters (line breaks included, so one entry stays one line) escaped as \n, \t,
// \xHH.
void AppendTextEscaped(std::string& out, std::string_view text);
// Appends "2026-11-29T17:30:00.123456Z" (UTC, microseconds).
void AppendRfc3339(std::string& out, UnixNanos t);

struct LineInput {
  Format format = Format::kJson;
  UnixNanos time = 0;
  Level level = Level::kInfo;
  std::string_view component;
  std::string_view message;
  const trace::SpanContext* span = nullptr;   // null or invalid: no trace ids
  const LogContextFields* context = nullptr;  // null: none
  std::span<const Field> fields;
};

// The whole line, without a trailing newline; secrets in the message and in string field
// values are redacted.
std::string FormatLine(const LineInput& in);

}  // namespace internal
}  // namespace minion::logging
