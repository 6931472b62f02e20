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

}  // namespace

std::string BuildChatRequestBody(const ChatRequest& request, const std::string& model) {
  json body;
  body["model"] = model;
  json messages = json::array();
  for (const auto& m : request.messages) {
    messages.push_back({{"role", m.role}, {"content", m.content}});
  }
  body["messages"] = std::move(messages);
  body["temperature"] = request.temperature;
  if (request.max_tokens > 0) body["max_tokens"] = request.max_tokens;
  if (request.json_response) body["response_format"] = {{"type", "json_object"}};
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
  auto finish = choice.find("finish_reason");
  if (finish != choice.end() && finish->is_string()) out.finish_reason = finish->get<std::string>();
  if (auto it = doc.find("id"); it != doc.end() && it->is_string()) out.response_id = it->get<std::string>();
  if (auto it = doc.find("model"); it != doc.end() && it->is_string()) out.model = it->get<std::string>();
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
    case 400: case 422: return StatusCode::kInvalidArgument;
    case 401: return StatusCode::kUnauthenticated;
    case 403: return StatusCode::kPermissionDenied;
    case 404: return StatusCode::kNotFound;
    case 408: return StatusCode::kDeadlineExceeded;
    case 409: return StatusCode::kAborted;
    case 429: return StatusCode::kResourceExhausted;
    default: break;
  }
  if (http_status >= 500) return StatusCode::kUnavailable;
  return StatusCode::kUnknown;
}

bool IsRetryableHttp(long http_status) {
  return http_status == 408 || http_status == 409 || http_status == 429 || http_status >= 500;
}

}  // namespace minion::llm::internal
