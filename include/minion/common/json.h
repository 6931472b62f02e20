#pragma once
// JSON at the boundary: every parse of outside input (flags, files, model replies, peers) and
// every serialisation of text that came from outside goes through these two functions.
// Parsing is bounded in depth (nlohmann's parser is iterative, but copying, comparing and
// dumping a value recurse on its depth, so a deep document overflows the stack later, far from
// where it came in). Dumping never throws: text from users and models is not trusted to be
// UTF-8, so invalid bytes become U+FFFD. Both are thread-safe (no shared state).

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

#include "minion/common/status.h"

namespace minion {

// Deeper than this is refused. Plans, messages and task inputs nest a few levels; 64 leaves
// plenty of room and keeps every recursive walk of a parsed value a few KB of stack.
inline constexpr int kMaxJsonDepth = 64;

// Parses `text`. InvalidArgument when it is not JSON ("<what> is not valid JSON") or nests
// deeper than `max_depth` arrays/objects ("<what> nests deeper than 64 levels").
Result<nlohmann::json> ParseJson(std::string_view text, std::string_view what = "input",
                                 int max_depth = kMaxJsonDepth);

// True when `text` (JSON or not) opens more than `max_depth` brackets at once outside strings;
// a cheap pre-check for text that will be parsed piecewise (model replies).
bool JsonNestsDeeperThan(std::string_view text, int max_depth = kMaxJsonDepth);

// value.dump(indent) with invalid UTF-8 replaced by U+FFFD instead of a thrown type_error.
std::string DumpJson(const nlohmann::json& value, int indent = -1);

}  // namespace minion
