#include "minion/agents/message.h"
#include "minion/common/json.h"

#include <array>

#include "minion/trace/ids.h"

namespace minion::agents {
namespace {

constexpr std::array<std::string_view, kMessageTypeCount> kTypeNames = {
    "request", "response", "event", "task", "query", "inform", "delegate", "result", "error"};

// Reads an optional string field; a present field of another type is an error naming it.
Status ReadString(const nlohmann::json& obj, const char* key, std::string* out, bool required) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    if (required)
      return InvalidArgumentError(std::string("message field '") + key + "' is missing");
    return Status::Ok();
  }
  if (!it->is_string()) {
    return InvalidArgumentError(std::string("message field '") + key + "' must be a string, got " +
                                it->type_name());
  }
  *out = it->get<std::string>();
  return Status::Ok();
}

Status ReadStringMap(const nlohmann::json& obj, const char* key,
                     std::map<std::string, std::string>* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return Status::Ok();
  if (!it->is_object()) {
    return InvalidArgumentError(std::string("message field '") + key + "' must be an object, got " +
                                it->type_name());
  }
  for (auto kv = it->begin(); kv != it->end(); ++kv) {
    if (!kv.value().is_string()) {
      return InvalidArgumentError(std::string("message field '") + key + "." + kv.key() +
                                  "' must be a string, got " + kv.value().type_name());
    }
    (*out)[kv.key()] = kv.value().get<std::string>();
  }
  return Status::Ok();
}

}  // namespace

std::string_view MessageTypeName(MessageType type) {
  auto i = static_cast<std::size_t>(type);
  return i < kTypeNames.size() ? kTypeNames[i] : std::string_view("unknown");
}

std::optional<MessageType> ParseMessageType(std::string_view name) {
  for (std::size_t i = 0; i < kTypeNames.size(); ++i) {
    if (kTypeNames[i] == name) return static_cast<MessageType>(i);
  }
  return std::nullopt;
}

std::string NewMessageId() {
  // Random 128-bit ids: unique across processes without coordination (Redis transport later).
  std::string id = "msg-";
  id += trace::DefaultIdGenerator().GenerateTraceId().ToHex();
  return id;
}

nlohmann::json MessageToJsonValue(const Message& m) {
  nlohmann::json j = nlohmann::json::object();
  j["id"] = m.id;
  j["type"] = std::string(MessageTypeName(m.type));
  j["from"] = m.from;
  j["to"] = m.to;
  if (!m.in_reply_to.empty()) j["in_reply_to"] = m.in_reply_to;
  j["content"] = m.content;
  if (!m.metadata.empty()) j["metadata"] = m.metadata;
  j["created_at"] = m.created_at;
  if (!m.headers.empty()) j["headers"] = m.headers;
  return j;
}

Result<std::string> SerializeMessage(const Message& message, std::size_t max_bytes) {
  // Replace invalid UTF-8 instead of throwing: content comes from models and child processes.
  std::string out = DumpJson(MessageToJsonValue(message));
  if (out.size() > max_bytes) {
    return ResourceExhaustedError("message " + message.id + " is " + std::to_string(out.size()) +
                                  " bytes, over the limit of " + std::to_string(max_bytes));
  }
  return out;
}

Result<Message> MessageFromJsonValue(const nlohmann::json& j) {
  if (!j.is_object()) {
    return InvalidArgumentError(std::string("message must be a JSON object, got ") + j.type_name());
  }
  Message m;
  MINION_RETURN_IF_ERROR(ReadString(j, "id", &m.id, true));
  if (m.id.empty()) return InvalidArgumentError("message field 'id' is empty");
  std::string type;
  MINION_RETURN_IF_ERROR(ReadString(j, "type", &type, true));
  auto parsed = ParseMessageType(type);
  if (!parsed) return InvalidArgumentError("message type '" + type + "' is unknown");
  m.type = *parsed;
  MINION_RETURN_IF_ERROR(ReadString(j, "from", &m.from, false));
  MINION_RETURN_IF_ERROR(ReadString(j, "to", &m.to, false));
  MINION_RETURN_IF_ERROR(ReadString(j, "in_reply_to", &m.in_reply_to, false));
  if (auto it = j.find("content"); it != j.end()) m.content = *it;
  MINION_RETURN_IF_ERROR(ReadStringMap(j, "metadata", &m.metadata));
  MINION_RETURN_IF_ERROR(ReadStringMap(j, "headers", &m.headers));
  if (auto it = j.find("created_at"); it != j.end() && !it->is_null()) {
    if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<std::int64_t>() >= 0)) {
      return InvalidArgumentError("message field 'created_at' must be a non-negative integer");
    }
    m.created_at = it->get<UnixNanos>();
  }
  return m;
}

Result<Message> ParseMessage(std::string_view json, std::size_t max_bytes) {
  if (json.size() > max_bytes) {
    return ResourceExhaustedError("message of " + std::to_string(json.size()) +
                                  " bytes is over the limit of " + std::to_string(max_bytes));
  }
  auto j = ParseJson(json, "message");
  if (!j.ok()) return j.status();
  return MessageFromJsonValue(*j);
}

}  // namespace minion::agents
