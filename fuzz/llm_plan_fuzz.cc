// Fuzz target: a model's plan reply, as the LLM planner reads it: find the JSON in the prose
// (ExtractJson), then read and validate the plan (ParsePlanJson).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "minion/agents/planner.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto value =
      minion::agents::ExtractJson(std::string_view(reinterpret_cast<const char*>(data), size));
  if (value.ok()) (void)minion::agents::ParsePlanJson(*value);
  return 0;
}
