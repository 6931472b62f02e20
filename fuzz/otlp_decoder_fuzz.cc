// Fuzz target: the OTLP/protobuf ExportTraceServiceRequest decoder (what a peer or collector
// sends to minion's receiver). Every input must decode or fail with a Status, never crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "minion/otlp/decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto decoded = minion::otlp::DecodeTraceRequestProto(
      std::string_view(reinterpret_cast<const char*>(data), size));
  if (decoded.ok()) {
    // Touch what was decoded, so a dangling resource/scope pointer shows up under ASan.
    for (const auto& span : decoded->spans) {
      if (span.resource) (void)span.resource->attributes.size();
      if (span.scope) (void)span.scope->name.size();
    }
  }
  return 0;
}
