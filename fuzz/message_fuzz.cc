// Fuzz target: an agent protocol message as it arrives from a transport (JSON text). Decoded
// messages are serialised again: content from peers is not trusted to be UTF-8.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "minion/agents/message.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto message =
      minion::agents::ParseMessage(std::string_view(reinterpret_cast<const char*>(data), size),
                                   minion::agents::kDefaultMaxMessageBytes);
  if (message.ok())
    (void)minion::agents::SerializeMessage(*message, minion::agents::kDefaultMaxMessageBytes);
  return 0;
}
