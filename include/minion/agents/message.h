#pragma once
// Message: what agents exchange over a Protocol. A value type; the `headers` map carries the
// trace context across the transport (traceparent / tracestate / baggage, W3C), so a receiver
// recovers its parent from the message itself, never from shared memory.

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "minion/common/clock.h"
#include "minion/common/status.h"

namespace minion::agents {

enum class MessageType : std::uint8_t {
  kRequest,
  kResponse,
  kEvent,
  kTask,
  kQuery,
  kInform,
  kDelegate,
  kResult,
  kError,
};
inline constexpr std::size_t kMessageTypeCount = 9;

// "request", "response", ..., "error" (the wire names and span attribute values).
std::string_view MessageTypeName(MessageType type);
std::optional<MessageType> ParseMessageType(std::string_view name);

struct Message {
  std::string id;  // unique; the protocol assigns one when empty
  MessageType type = MessageType::kEvent;
  std::string from;         // sender agent id
  std::string to;           // recipient agent id (or group name for a broadcast)
  std::string in_reply_to;  // id of the message this answers, if any
  nlohmann::json content;
  std::map<std::string, std::string> metadata;
  UnixNanos created_at = 0;                    // the protocol stamps it when 0
  std::map<std::string, std::string> headers;  // traceparent, tracestate, baggage, ...
};

// Serialised messages larger than this are rejected on both sides.
inline constexpr std::size_t kDefaultMaxMessageBytes = 4 * 1024 * 1024;

// A fresh random message id ("msg-" + 32 hex digits). Thread-safe.
std::string NewMessageId();

nlohmann::json MessageToJsonValue(const Message& message);
// Compact JSON. Fails with ResourceExhausted when the result exceeds `max_bytes`.
Result<std::string> SerializeMessage(const Message& message,
                                     std::size_t max_bytes = kDefaultMaxMessageBytes);
// Parses what SerializeMessage wrote. Rejects oversize input (ResourceExhausted), nesting
// deeper than kMaxJsonDepth (common/json.h), malformed JSON, unknown types and fields of the wrong
// type (InvalidArgument naming the field). Safe on any bytes: a peer may send anything.
Result<Message> ParseMessage(std::string_view json,
                             std::size_t max_bytes = kDefaultMaxMessageBytes);
Result<Message> MessageFromJsonValue(const nlohmann::json& value);

}  // namespace minion::agents
