// Fuzz target: workflow files (YAML and JSON), as `minion run --workflow` reads them. The
// first byte picks the format; the rest is the file. Depth, alias expansion and size are
// bounded by the parser, so every input must load or fail with a Status.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "minion/agents/planner.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  if (data[0] & 1) {
    (void)minion::agents::DeclarativePlanner::FromJson(text);
  } else {
    (void)minion::agents::DeclarativePlanner::FromYaml(text);
  }
  return 0;
}
