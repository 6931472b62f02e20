#pragma once
// Small text helpers shared by configuration parsers (environment variables, OTLP headers,
// resource attributes), and the output guards every printed or exported message goes through:
// bounded length, secrets redacted, terminal control characters escaped. Thread-safe.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "minion/common/status.h"

namespace minion::text {

// Without leading and trailing spaces, tabs and line breaks.
std::string_view Trim(std::string_view s);
std::string AsciiLower(std::string_view s);
// Decodes %XX escapes (either case); a malformed escape is an InvalidArgument error.
Result<std::string> PercentDecode(std::string_view s);
// Parses the "key1=value1,key2=value2" lists of OTEL_RESOURCE_ATTRIBUTES and
// OTEL_EXPORTER_OTLP_HEADERS: items trimmed, both sides %-decoded, empty items skipped. An item
// without '=' or with an empty key is an error quoting the item.
Result<std::vector<std::pair<std::string, std::string>>> ParseKeyValueList(std::string_view list);

// Messages longer than this are cut by Truncate (a cycle of 50,000 plan steps once made a
// 489 KB error line).
inline constexpr std::size_t kMaxMessageBytes = 4096;

// `s` when it fits in `max_bytes`, else its first bytes (never splitting a UTF-8 sequence)
// followed by "... (N more bytes)".
std::string Truncate(std::string_view s, std::size_t max_bytes = kMaxMessageBytes);

// Removes credentials from every URL in `s`: "scheme://user:secret@host" becomes
// "scheme://REDACTED@host". Text without "://" is returned unchanged.
std::string RedactUrls(std::string_view s);

// For a human reading a terminal: C0 controls (except newline and tab when `keep_newlines`),
// DEL and the C1 range's ESC-like bytes are written as \xNN / \n, so a task name or a model's
// reply cannot move the cursor, recolour or retitle the terminal, or break the trace tree.
std::string EscapeControl(std::string_view s, bool keep_newlines = false);

}  // namespace minion::text
