// Fuzz target: a Redis stream entry as XREADGROUP hands it to a consumer. Any client of the Redis
// server can XADD to the stream, so every field is untrusted. The input is the entry's fields
// (field, value, field, value...) separated by the byte 0x1E, which lets values hold NUL.
// A decoded entry must survive the way back: encoded again (content is not trusted to be UTF-8)
// and decoded again with the same id, type, addresses, timestamp and headers.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "transports/redis/entry_codec.h"

namespace {

constexpr std::size_t kMaxEntryBytes = 1 << 20;

std::vector<std::string> SplitFields(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> fields(1);
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] == 0x1E)
      fields.emplace_back();
    else
      fields.back().push_back(static_cast<char>(data[i]));
  }
  return fields;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace redis = minion::transports::redis;
  auto decoded = redis::DecodeEntry(SplitFields(data, size), kMaxEntryBytes);
  if (!decoded.ok()) return 0;
  // Re-encoding may grow the JSON (invalid UTF-8 becomes U+FFFD): give it room.
  auto encoded = redis::EncodeEntry(*decoded, 4 * kMaxEntryBytes);
  if (!encoded.ok()) __builtin_trap();
  auto again = redis::DecodeEntry(*encoded, 4 * kMaxEntryBytes);
  if (!again.ok()) __builtin_trap();
  const auto& a = *decoded;
  const auto& b = *again;
  if (a.id != b.id || a.type != b.type || a.from != b.from || a.to != b.to ||
      a.in_reply_to != b.in_reply_to || a.created_at != b.created_at || a.headers != b.headers) {
    __builtin_trap();
  }
  return 0;
}
