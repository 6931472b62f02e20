// Fuzz target: the OTLP/JSON decoder of `minion serve` (the body of POST /v1/traces with
// Content-Type application/json, and `--import` files). Every input must decode or fail with a
// Status, never crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "minion/store/otlp_json.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto decoded =
      minion::store::DecodeOtlpJson(std::string_view(reinterpret_cast<const char*>(data), size));
  if (decoded.ok()) (void)decoded->ByteSizeLong();  // walk what was decoded
  return 0;
}
