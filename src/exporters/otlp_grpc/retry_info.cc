// Reading google.rpc.RetryInfo out of a grpc-status-details-bin trailer. The schema is tiny
// and fixed, so the bytes are walked with libprotobuf's wire-format reader instead of
// compiling google/rpc/*.proto (which Debian's protobuf package does not ship):
//   google.rpc.Status   { int32 code = 1; string message = 2; repeated google.protobuf.Any details
//   = 3; } google.protobuf.Any { string type_url = 1; bytes value = 2; } google.rpc.RetryInfo {
//   google.protobuf.Duration retry_delay = 1; } google.protobuf.Duration { int64 seconds = 1; int32
//   nanos = 2; }

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "minion/exporters/otlp_grpc_exporter.h"

namespace minion::exporters {
namespace {

using google::protobuf::internal::WireFormatLite;
using google::protobuf::io::CodedInputStream;

constexpr std::string_view kRetryInfoType = "google.rpc.RetryInfo";

// Reads one length-delimited field's payload into `out`.
bool ReadBytes(CodedInputStream& in, std::string& out) {
  std::uint32_t len = 0;
  return in.ReadVarint32(&len) && in.ReadString(&out, static_cast<int>(len));
}

std::optional<std::chrono::nanoseconds> ParseDuration(std::string_view bytes) {
  CodedInputStream in(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                      static_cast<int>(bytes.size()));
  std::int64_t seconds = 0;
  std::int32_t nanos = 0;
  while (std::uint32_t tag = in.ReadTag()) {
    const auto field = WireFormatLite::GetTagFieldNumber(tag);
    const auto type = WireFormatLite::GetTagWireType(tag);
    if (field == 1 && type == WireFormatLite::WIRETYPE_VARINT) {
      std::uint64_t v = 0;
      if (!in.ReadVarint64(&v)) return std::nullopt;
      seconds = static_cast<std::int64_t>(v);
    } else if (field == 2 && type == WireFormatLite::WIRETYPE_VARINT) {
      std::uint32_t v = 0;
      if (!in.ReadVarint32(&v)) return std::nullopt;
      nanos = static_cast<std::int32_t>(v);
    } else if (!WireFormatLite::SkipField(&in, tag)) {
      return std::nullopt;
    }
  }
  if (!in.ConsumedEntireMessage()) return std::nullopt;
  if (seconds < 0 || nanos < 0) return std::chrono::nanoseconds(0);
  // A year is longer than any Export deadline; clamping avoids overflow on hostile input.
  seconds = std::min<std::int64_t>(seconds, 365LL * 86400);
  return std::chrono::seconds(seconds) + std::chrono::nanoseconds(nanos);
}

std::optional<std::chrono::nanoseconds> ParseRetryInfo(std::string_view bytes) {
  CodedInputStream in(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                      static_cast<int>(bytes.size()));
  std::optional<std::chrono::nanoseconds> delay;
  while (std::uint32_t tag = in.ReadTag()) {
    if (WireFormatLite::GetTagFieldNumber(tag) == 1 &&
        WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      std::string duration;
      if (!ReadBytes(in, duration)) return std::nullopt;
      delay = ParseDuration(duration);
      if (!delay) return std::nullopt;
    } else if (!WireFormatLite::SkipField(&in, tag)) {
      return std::nullopt;
    }
  }
  if (!in.ConsumedEntireMessage()) return std::nullopt;
  // RetryInfo without retry_delay is a "retry" hint with no delay: zero.
  return delay.value_or(std::chrono::nanoseconds(0));
}

}  // namespace

std::optional<std::chrono::nanoseconds> ParseGrpcRetryDelay(std::string_view status_details) {
  if (status_details.empty()) return std::nullopt;
  CodedInputStream in(reinterpret_cast<const std::uint8_t*>(status_details.data()),
                      static_cast<int>(status_details.size()));
  std::optional<std::chrono::nanoseconds> found;
  while (std::uint32_t tag = in.ReadTag()) {
    if (WireFormatLite::GetTagFieldNumber(tag) == 3 &&
        WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      std::string any;
      if (!ReadBytes(in, any)) return std::nullopt;
      // Parse the Any: type_url then value, in any order.
      CodedInputStream any_in(reinterpret_cast<const std::uint8_t*>(any.data()),
                              static_cast<int>(any.size()));
      std::string type_url;
      std::string value;
      while (std::uint32_t any_tag = any_in.ReadTag()) {
        const auto field = WireFormatLite::GetTagFieldNumber(any_tag);
        const bool delimited =
            WireFormatLite::GetTagWireType(any_tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED;
        if (field == 1 && delimited) {
          if (!ReadBytes(any_in, type_url)) return std::nullopt;
        } else if (field == 2 && delimited) {
          if (!ReadBytes(any_in, value)) return std::nullopt;
        } else if (!WireFormatLite::SkipField(&any_in, any_tag)) {
          return std::nullopt;
        }
      }
      if (!any_in.ConsumedEntireMessage()) return std::nullopt;
      // type_url is "type.googleapis.com/google.rpc.RetryInfo"; only the part after the last
      // '/' names the type.
      const auto slash = type_url.rfind('/');
      const std::string_view type_name = slash == std::string::npos
                                             ? std::string_view(type_url)
                                             : std::string_view(type_url).substr(slash + 1);
      if (type_name == kRetryInfoType && !found) found = ParseRetryInfo(value);
    } else if (!WireFormatLite::SkipField(&in, tag)) {
      return std::nullopt;
    }
  }
  if (!in.ConsumedEntireMessage()) return std::nullopt;
  return found;
}

}  // namespace minion::exporters
