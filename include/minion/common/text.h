#pragma once
// Small text helpers shared by configuration parsers (environment variables, OTLP headers,
// resource attributes). ASCII only: these formats are ASCII by specification.

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

}  // namespace minion::text
