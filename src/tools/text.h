#pragma once
// Small text helpers the built-in tools share.

#include <string_view>

namespace minion::tools::internal {

// True when `s` is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF);
// JSON strings must be.
bool IsValidUtf8(std::string_view s);

}  // namespace minion::tools::internal
