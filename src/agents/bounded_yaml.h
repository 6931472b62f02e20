#pragma once
// The one YAML loader of the agents component (workflows, worker files, external tool files):
// YAML text to JSON within fixed limits, and a bounded file read. yaml-cpp keeps an alias as a
// shared node, so a few hundred bytes ("a: &a [x, x], b: &b [*a, *a], ...") can describe an
// exponential tree; the conversion counts every node it visits and every scalar byte it copies
// and gives up past the budget, so an alias bomb is an error rather than a memory sink. Depth
// is bounded like any JSON input (kMaxJsonDepth), so no recursion follows the input's depth
// beyond that.

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "minion/common/status.h"

namespace minion::agents::internal {

inline constexpr std::size_t kMaxYamlNodes = 100000;
inline constexpr std::size_t kMaxYamlBytes = std::size_t{16} << 20;

// Parses `text` as YAML and converts it; unquoted scalars that read as integers, numbers or
// booleans become those, quoted ones stay strings. InvalidArgument naming `what` ("workflow",
// "workers file", ...) for YAML syntax errors, for more than kMaxYamlNodes nodes or kMaxYamlBytes
// of scalar text after aliases are expanded, and for nesting deeper than kMaxJsonDepth.
Result<nlohmann::json> YamlToJson(std::string_view text, std::string_view what);

// Reads at most `max_bytes` of `path`: NotFound when it cannot be opened, InvalidArgument when
// it is larger (the message names the file and the limit).
Result<std::string> ReadBoundedFile(const std::filesystem::path& path, std::size_t max_bytes);

// True when `text` should be read as JSON: its first non-blank byte is '{' or '['. (YAML is a
// superset of JSON in theory, but JSON's own parser gives better errors for JSON files.)
bool LooksLikeJson(std::string_view text);

}  // namespace minion::agents::internal
