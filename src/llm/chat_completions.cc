#include "llm/chat_completions.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <nlohmann/json.hpp>
#include "minion/common/json.h"

namespace minion::llm::internal {
namespace {

using nlohmann::json;

std::string Trimmed(std::string_view s, std::size_t max_len) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  if (s.size() <= max_len) return std::string(s);
  return std::string(s.substr(0, max_len)) + "...";
}

json EncodeMessage(const ChatMessage& m) {
  json out{{"role", m.role}};
  if (!m.tool_calls.empty()) {
    // An assistant turn that only calls tools has null content in the API's own shape.
    out["content"] = m.content.empty() ? json(nullptr) : json(m.content);
    json calls = json::array();
    for (const auto& call : m.tool_calls) {
      calls.push_back({{"id", call.id},
                       {"type", "function"},
                       {"function", {{"name", call.name}, {"arguments", call.arguments}}}});
    }
    out["tool_calls"] = std::move(calls);
  } else {
    out["content"] = m.content;
  }
  if (!m.tool_call_id.empty()) out["tool_call_id"] = m.tool_call_id;
  return out;
}

json EncodeTool(const ToolSpec& tool) {
  json function{{"name", tool.name}};
  if (!tool.description.empty()) function["description"] = tool.description;
  json parameters = json{{"type", "object"}};
  if (!tool.parameters.empty()) {
    // The schema comes from our own tool registry; a broken one is offered as "any object"
    // rather than failing every call that offers it.
    auto parsed = ParseJson(tool.parameters, "tool parameters");
    if (parsed.ok() && parsed->is_object()) parameters = std::move(parsed).value();
  }
  function["parameters"] = std::move(parameters);
  return json{{"type", "function"}, {"function", std::move(function)}};
}

// choices[0].message.tool_calls, bounded in count and size. Ollama sends `arguments` as an
// object rather than a string; it is re-serialised so callers always see JSON text.
Status DecodeToolCalls(const json& message, std::vector<ToolCall>* out) {
  auto calls = message.find("tool_calls");
  if (calls == message.end() || calls->is_null()) return Status::Ok();
  if (!calls->is_array())
    return DataLossError("chat completions message.tool_calls is not an array");
  if (calls->size() > kMaxToolCalls) {
    return DataLossError("chat completions response asks for " + std::to_string(calls->size()) +
                         " tool calls, more than the " + std::to_string(kMaxToolCalls) +
                         " allowed");
  }
  for (std::size_t i = 0; i < calls->size(); ++i) {
    const json& c = (*calls)[i];
    const std::string where = "chat completions tool_calls[" + std::to_string(i) + "]";
    if (!c.is_object()) return DataLossError(where + " is not an object");
    if (auto type = c.find("type"); type != c.end() && type->is_string() && *type != "function") {
      return DataLossError(where + " has type \"" + Trimmed(type->get<std::string>(), 40) +
                           "\"; only \"function\" is supported");
    }
    auto function = c.find("function");
    if (function == c.end() || !function->is_object())
      return DataLossError(where + " has no function");
    ToolCall call;
    if (auto id = c.find("id"); id != c.end() && id->is_string()) call.id = id->get<std::string>();
    if (call.id.size() > kMaxToolCallIdBytes) return DataLossError(where + ".id is too long");
    // Some servers leave the id out; the reply must still name the call it answers.
    if (call.id.empty()) call.id = "call_" + std::to_string(i);
    auto name = function->find("name");
    if (name == function->end() || !name->is_string() ||
        name->get_ref<const std::string&>().empty()) {
      return DataLossError(where + " has no function name");
    }
    call.name = name->get<std::string>();
    if (call.name.size() > kMaxToolNameBytes) {
      return DataLossError(where + ".function.name is longer than " +
                           std::to_string(kMaxToolNameBytes) + " bytes");
    }
    auto args = function->find("arguments");
    if (args == function->end() || args->is_null()) {
      call.arguments = "{}";
    } else if (args->is_string()) {
      call.arguments = args->get<std::string>();
    } else {
      call.arguments = DumpJson(*args);
    }
    if (call.arguments.size() > kMaxToolArgumentBytes) {
      return DataLossError(where + ".function.arguments has " +
                           std::to_string(call.arguments.size()) + " bytes, more than the " +
                           std::to_string(kMaxToolArgumentBytes) + " allowed");
    }
    out->push_back(std::move(call));
  }
  return Status::Ok();
}

}  // namespace

std::string BuildChatRequestBody(const ChatRequest& request, const std::string& model) {
  json body;
  body["model"] = model;
  json messages = json::array();
  for (const auto& m : request.messages) messages.push_back(EncodeMessage(m));
  body["messages"] = std::move(messages);
  body["temperature"] = request.temperature;
  if (request.max_tokens > 0) body["max_tokens"] = request.max_tokens;
  if (request.json_response) body["response_format"] = {{"type", "json_object"}};
  if (!request.tools.empty()) {
    json tools = json::array();
    for (const auto& t : request.tools) tools.push_back(EncodeTool(t));
    body["tools"] = std::move(tools);
  }
  if (request.tool_choice == "auto" || request.tool_choice == "none" ||
      request.tool_choice == "required") {
    body["tool_choice"] = request.tool_choice;
  } else if (!request.tool_choice.empty()) {
    body["tool_choice"] = {{"type", "function"}, {"function", {{"name", request.tool_choice}}}};
  }
  // Invalid UTF-8 in a prompt must not abort the call: replace it, the model copes.
  return DumpJson(body);
}

Result<ChatResponse> ParseChatResponse(std::string_view body) {
  auto parsed = ParseJson(body, "chat completions response");
  if (!parsed.ok()) return DataLossError(parsed.status().message() + ": " + Trimmed(body, 200));
  const json doc = std::move(parsed).value();
  if (!doc.is_object()) return DataLossError("chat completions response is not a JSON object");
  auto choices = doc.find("choices");
  if (choices == doc.end() || !choices->is_array() || choices->empty()) {
    return DataLossError("chat completions response has no choices: " + Trimmed(body, 200));
  }
  const json& choice = (*choices)[0];
  if (!choice.is_object()) return DataLossError("chat completions choices[0] is not an object");
  ChatResponse out;
  auto message = choice.find("message");
  if (message == choice.end() || !message->is_object()) {
    return DataLossError("chat completions choices[0] has no message");
  }
  auto content = message->find("content");
  if (content != message->end() && content->is_string()) {
    out.content = content->get<std::string>();
  } else if (content != message->end() && !content->is_null()) {
    return DataLossError("chat completions choices[0].message.content is not a string");
  }
  MINION_RETURN_IF_ERROR(DecodeToolCalls(*message, &out.tool_calls));
  auto finish = choice.find("finish_reason");
  if (finish != choice.end() && finish->is_string()) out.finish_reason = finish->get<std::string>();
  if (auto it = doc.find("id"); it != doc.end() && it->is_string())
    out.response_id = it->get<std::string>();
  if (auto it = doc.find("model"); it != doc.end() && it->is_string())
    out.model = it->get<std::string>();
  if (auto usage = doc.find("usage"); usage != doc.end() && usage->is_object()) {
    if (auto it = usage->find("prompt_tokens"); it != usage->end() && it->is_number_integer()) {
      out.input_tokens = it->get<std::int64_t>();
    }
    if (auto it = usage->find("completion_tokens"); it != usage->end() && it->is_number_integer()) {
      out.output_tokens = it->get<std::int64_t>();
    }
  }
  return out;
}

std::string ExtractErrorMessage(std::string_view body) {
  auto parsed = ParseJson(body, "error body");
  if (parsed.ok() && parsed->is_object()) {
    const json& doc = *parsed;
    auto err = doc.find("error");
    if (err != doc.end()) {
      if (err->is_string()) return err->get<std::string>();
      if (err->is_object()) {
        auto msg = err->find("message");
        if (msg != err->end() && msg->is_string()) return msg->get<std::string>();
      }
    }
    if (auto msg = doc.find("message"); msg != doc.end() && msg->is_string()) {
      return msg->get<std::string>();
    }
  }
  return Trimmed(body, 200);
}

StatusCode StatusCodeForHttp(long http_status) {
  switch (http_status) {
    case 400:
    case 422:
      return StatusCode::kInvalidArgument;
    case 401:
      return StatusCode::kUnauthenticated;
    case 403:
      return StatusCode::kPermissionDenied;
    case 404:
      return StatusCode::kNotFound;
    case 408:
      return StatusCode::kDeadlineExceeded;
    case 409:
      return StatusCode::kAborted;
    case 429:
      return StatusCode::kResourceExhausted;
    default:
      break;
  }
  if (http_status >= 500) return StatusCode::kUnavailable;
  return StatusCode::kUnknown;
}

bool IsRetryableHttp(long http_status) {
  return http_status == 408 || http_status == 409 || http_status == 429 || http_status >= 500;
}

}  // namespace minion::llm::internal
