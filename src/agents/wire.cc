#include "minion/agents/wire.h"

#include <limits>

namespace minion::agents {
namespace {

using nlohmann::json;

// A present field of another type, or an over-long one, is an error naming it; absent or null
// is allowed unless `required`.
Status ReadString(const json& obj, std::string_view what, const char* key, std::string* out,
                  bool required, std::size_t max_bytes = kMaxWireIdBytes) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    if (!required) return Status::Ok();
    return InvalidArgumentError(std::string(what) + " field '" + key + "' is missing");
  }
  if (!it->is_string()) {
    return InvalidArgumentError(std::string(what) + " field '" + key + "' must be a string, got " +
                                it->type_name());
  }
  const auto& s = it->get_ref<const std::string&>();
  if (s.size() > max_bytes) {
    return InvalidArgumentError(std::string(what) + " field '" + key + "' is " +
                                std::to_string(s.size()) + " bytes, over the limit of " +
                                std::to_string(max_bytes));
  }
  *out = s;
  return Status::Ok();
}

template <typename Int>
Status ReadInt(const json& obj, std::string_view what, const char* key, Int* out, Int min) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return Status::Ok();
  bool fits = false;
  if (it->is_number_unsigned()) {
    fits = it->get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<Int>::max());
  } else if (it->is_number_integer()) {
    auto v = it->get<std::int64_t>();
    fits = v >= static_cast<std::int64_t>(min) &&
           (std::is_unsigned_v<Int> ||
            v <= static_cast<std::int64_t>(std::numeric_limits<Int>::max()));
  }
  if (!fits) {
    return InvalidArgumentError(
        std::string(what) + " field '" + key + "' must be an integer of at least " +
        std::to_string(min) + ", got " +
        it->dump(-1, ' ', false, json::error_handler_t::replace).substr(0, 64));
  }
  *out = it->get<Int>();
  return Status::Ok();
}

std::optional<StatusCode> CodeFromName(std::string_view name) {
  for (int c = 0; c <= 16; ++c) {
    if (StatusCodeName(static_cast<StatusCode>(c)) == name) return static_cast<StatusCode>(c);
  }
  return std::nullopt;
}

}  // namespace

json EncodeSubtask(const Subtask& s) {
  json j{{"task_id", s.task_id},
         {"subtask_id", s.subtask_id},
         {"name", s.name},
         {"capability", s.capability},
         {"description", s.description},
         {"priority", s.priority},
         {"attempt", s.attempt},
         {"input", s.input},
         {"dependency_outputs", s.dependency_outputs}};
  if (s.timeout.count() > 0) j["timeout_ms"] = s.timeout.count();
  return j;
}

Result<Subtask> DecodeSubtask(const json& j) {
  constexpr std::string_view kWhat = "subtask";
  if (!j.is_object()) {
    return InvalidArgumentError(std::string("subtask must be a JSON object, got ") + j.type_name());
  }
  Subtask s;
  MINION_RETURN_IF_ERROR(ReadString(j, kWhat, "task_id", &s.task_id, false));
  MINION_RETURN_IF_ERROR(ReadString(j, kWhat, "subtask_id", &s.subtask_id, true));
  MINION_RETURN_IF_ERROR(ReadString(j, kWhat, "name", &s.name, false));
  MINION_RETURN_IF_ERROR(ReadString(j, kWhat, "capability", &s.capability, true));
  // Descriptions are prose (from users or models): bounded by the message size only.
  MINION_RETURN_IF_ERROR(ReadString(j, kWhat, "description", &s.description, false,
                                    std::numeric_limits<std::size_t>::max()));
  MINION_RETURN_IF_ERROR(
      ReadInt(j, kWhat, "priority", &s.priority, std::numeric_limits<int>::min()));
  MINION_RETURN_IF_ERROR(ReadInt(j, kWhat, "attempt", &s.attempt, 1));
  std::int64_t timeout_ms = 0;
  MINION_RETURN_IF_ERROR(ReadInt<std::int64_t>(j, kWhat, "timeout_ms", &timeout_ms, 0));
  s.timeout = std::chrono::milliseconds(timeout_ms);
  if (auto it = j.find("input"); it != j.end()) s.input = *it;
  if (auto it = j.find("dependency_outputs"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) {
      return InvalidArgumentError(
          std::string("subtask field 'dependency_outputs' must be an object, got ") +
          it->type_name());
    }
    s.dependency_outputs = *it;
  }
  return s;
}

MessageType ReplyType(const TaskReply& reply) {
  return reply.status.ok() ? MessageType::kResult : MessageType::kError;
}

json EncodeReply(const TaskReply& r) {
  json j{{"subtask_id", r.subtask_id}, {"task_id", r.task_id}, {"worker_id", r.worker_id}};
  if (r.delivery_count > 0) j["delivery_count"] = r.delivery_count;
  if (!r.usage.empty()) j["usage"] = EncodeUsage(r.usage);
  if (r.status.ok()) {
    j["output"] = r.output;
  } else {
    j["error"] = r.status.message();
    j["code"] = std::string(StatusCodeName(r.status.code()));
  }
  return j;
}

Result<TaskReply> DecodeReply(MessageType type, const json& j) {
  constexpr std::string_view kWhat = "reply";
  if (type != MessageType::kResult && type != MessageType::kError) {
    return InvalidArgumentError("a reply must be a result or error message, got " +
                                std::string(MessageTypeName(type)));
  }
  if (!j.is_object()) {
    return InvalidArgumentError(std::string("reply content must be a JSON object, got ") +
                                j.type_name());
  }
  TaskReply r;
  MINION_RETURN_IF_ERROR(ReadString(j, kWhat, "subtask_id", &r.subtask_id, false));
  MINION_RETURN_IF_ERROR(ReadString(j, kWhat, "task_id", &r.task_id, false));
  MINION_RETURN_IF_ERROR(ReadString(j, kWhat, "worker_id", &r.worker_id, false));
  MINION_RETURN_IF_ERROR(ReadInt<std::int64_t>(j, kWhat, "delivery_count", &r.delivery_count, 0));
  if (auto it = j.find("usage"); it != j.end()) {
    auto usage = DecodeUsage(*it);
    if (!usage.ok()) return usage.status().WithContext("reply field 'usage'");
    r.usage = std::move(usage).value();
  }
  if (type == MessageType::kResult) {
    if (auto it = j.find("output"); it != j.end()) r.output = *it;
    return r;
  }
  std::string error, code_name;
  MINION_RETURN_IF_ERROR(
      ReadString(j, kWhat, "error", &error, true, std::numeric_limits<std::size_t>::max()));
  MINION_RETURN_IF_ERROR(ReadString(j, kWhat, "code", &code_name, false));
  StatusCode code = StatusCode::kUnknown;
  if (!code_name.empty()) {
    auto parsed = CodeFromName(code_name);
    if (!parsed || *parsed == StatusCode::kOk) {
      return InvalidArgumentError("reply field 'code' is not an error code: '" +
                                  code_name.substr(0, 64) + "'");
    }
    code = *parsed;
  }
  r.status = Status(code, std::move(error));
  return r;
}

json EncodeCancel(const CancelRequest& c) {
  // Reasons quote error messages of any length; the decoder accepts up to 4096 bytes.
  constexpr std::size_t kMaxReason = 1024;
  std::string reason =
      c.reason.size() > kMaxReason ? c.reason.substr(0, kMaxReason) + "..." : c.reason;
  return json{{"cancel",
               {{"message_id", c.message_id},
                {"task_id", c.task_id},
                {"subtask_id", c.subtask_id},
                {"attempt", c.attempt},
                {"reason", std::move(reason)}}}};
}

Result<CancelRequest> DecodeCancel(const json& content) {
  constexpr std::string_view kWhat = "cancel";
  if (!content.is_object())
    return InvalidArgumentError("cancel message content must be a JSON object");
  auto it = content.find("cancel");
  if (it == content.end() || !it->is_object()) {
    return InvalidArgumentError("cancel message content has no 'cancel' object");
  }
  CancelRequest c;
  MINION_RETURN_IF_ERROR(ReadString(*it, kWhat, "message_id", &c.message_id, true));
  if (c.message_id.empty()) return InvalidArgumentError("cancel field 'message_id' is empty");
  MINION_RETURN_IF_ERROR(ReadString(*it, kWhat, "task_id", &c.task_id, false));
  MINION_RETURN_IF_ERROR(ReadString(*it, kWhat, "subtask_id", &c.subtask_id, false));
  MINION_RETURN_IF_ERROR(ReadString(*it, kWhat, "reason", &c.reason, false, 4096));
  MINION_RETURN_IF_ERROR(ReadInt(*it, kWhat, "attempt", &c.attempt, 0));
  return c;
}

}  // namespace minion::agents
