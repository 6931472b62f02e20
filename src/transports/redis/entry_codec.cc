#include "entry_codec.h"

#include <charconv>

namespace minion::transports::redis {
namespace {

constexpr int kMaxJsonDepth = 64;

std::string Dump(const nlohmann::json& j) {
  // Content comes from models and child processes: replace invalid UTF-8 instead of throwing.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Nesting depth of JSON text, counted outside strings, so deep input is refused before a parser
// (or a later recursive walk over the value) sees it.
bool TooDeep(std::string_view text) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"')
      in_string = true;
    else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

Result<nlohmann::json> ParseJson(std::string_view field, const std::string& text) {
  if (TooDeep(text)) {
    return InvalidArgumentError("entry field '" + std::string(field) + "' nests deeper than " +
                                std::to_string(kMaxJsonDepth) + " levels");
  }
  auto j = nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded())
    return InvalidArgumentError("entry field '" + std::string(field) + "' is not valid JSON");
  return j;
}

}  // namespace

Result<std::vector<std::string>> EncodeEntry(const agents::Message& m, std::size_t max_bytes) {
  std::vector<std::string> f;
  f.reserve(24);
  auto add = [&](std::string key, std::string value) {
    f.push_back(std::move(key));
    f.push_back(std::move(value));
  };
  add("id", m.id);
  add("type", std::string(agents::MessageTypeName(m.type)));
  add("from", m.from);
  add("to", m.to);
  if (!m.in_reply_to.empty()) add("in_reply_to", m.in_reply_to);
  add("created_at", std::to_string(m.created_at));
  for (const auto& [key, value] : m.headers) {
    if (key == "traceparent" || key == "tracestate" || key == "baggage")
      add(key, value);
    else
      add("h." + key, value);
  }
  if (!m.metadata.empty()) add("metadata", Dump(nlohmann::json(m.metadata)));
  add("content", Dump(m.content));
  std::size_t total = 0;
  for (const auto& s : f) total += s.size();
  if (total > max_bytes) {
    return ResourceExhaustedError("message " + m.id + " is " + std::to_string(total) +
                                  " bytes, over the limit of " + std::to_string(max_bytes));
  }
  return f;
}

Result<agents::Message> DecodeEntry(const std::vector<std::string>& fields, std::size_t max_bytes) {
  std::size_t total = 0;
  for (const auto& s : fields) total += s.size();
  if (total > max_bytes) {
    return InvalidArgumentError("entry of " + std::to_string(total) +
                                " bytes is over the limit of " + std::to_string(max_bytes));
  }
  if (fields.size() % 2 != 0) return InvalidArgumentError("entry has an odd number of fields");
  agents::Message m;
  bool have_type = false, have_content = false;
  for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
    const std::string& k = fields[i];
    const std::string& v = fields[i + 1];
    if (k == "id")
      m.id = v;
    else if (k == "type") {
      auto t = agents::ParseMessageType(v);
      if (!t)
        return InvalidArgumentError("entry field 'type' has unknown value '" + v.substr(0, 32) +
                                    "'");
      m.type = *t;
      have_type = true;
    } else if (k == "from")
      m.from = v;
    else if (k == "to")
      m.to = v;
    else if (k == "in_reply_to")
      m.in_reply_to = v;
    else if (k == "created_at") {
      UnixNanos at = 0;
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), at);
      if (ec != std::errc() || p != v.data() + v.size()) {
        return InvalidArgumentError("entry field 'created_at' is not a non-negative integer");
      }
      m.created_at = at;
    } else if (k == "traceparent" || k == "tracestate" || k == "baggage") {
      m.headers[k] = v;
    } else if (k.rfind("h.", 0) == 0 && k.size() > 2) {
      m.headers[k.substr(2)] = v;
    } else if (k == "metadata") {
      MINION_ASSIGN_OR_RETURN(auto j, ParseJson(k, v));
      if (!j.is_object())
        return InvalidArgumentError("entry field 'metadata' must be a JSON object");
      for (auto it = j.begin(); it != j.end(); ++it) {
        if (!it->is_string())
          return InvalidArgumentError("entry field 'metadata' must map strings to strings");
        m.metadata[it.key()] = it->get<std::string>();
      }
    } else if (k == "content") {
      MINION_ASSIGN_OR_RETURN(m.content, ParseJson(k, v));
      have_content = true;
    }
    // Unknown fields are ignored: a newer sender may add some.
  }
  if (m.id.empty()) return InvalidArgumentError("entry has no 'id' field");
  if (!have_type) return InvalidArgumentError("entry has no 'type' field");
  if (!have_content) return InvalidArgumentError("entry has no 'content' field");
  return m;
}

}  // namespace minion::transports::redis
